//! The event history (处置记录) as the store keeps it: append-only, one table per store,
//! read by filter; written through [`super::StoreWriter::append_event`], which checks the
//! event against the case's history (the rules of [`crate::model::disposal`]) in the same
//! transaction that stores it, so two writers can never both extend one history.

use crate::model::disposal::{replay, CaseKey, Disposition, Event, Method, Status, Subject};
use chrono::NaiveDate;
use serde::Serialize;

/// Which events to list; every field left `None` matches all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventFilter {
    /// One subject.
    pub subject: Option<Subject>,
    /// One layer.
    pub layer: Option<String>,
    /// One feature (宗地编号 or ledger id).
    pub feature_id: Option<String>,
    /// Events putting a case in this status.
    pub status: Option<Status>,
    /// Events of this method.
    pub method: Option<Method>,
    /// Effective on or after this day.
    pub effective_from: Option<NaiveDate>,
    /// Effective on or before this day.
    pub effective_to: Option<NaiveDate>,
}

impl EventFilter {
    /// The events of one case.
    pub fn case(key: &CaseKey) -> EventFilter {
        EventFilter {
            subject: Some(key.subject),
            layer: Some(key.layer.clone()),
            feature_id: Some(key.feature_id.clone()),
            ..EventFilter::default()
        }
    }

    /// Whether an event passes the filter.
    pub fn matches(&self, e: &Event) -> bool {
        self.subject.is_none_or(|s| s == e.subject)
            && self.layer.as_ref().is_none_or(|l| *l == e.layer)
            && self.feature_id.as_ref().is_none_or(|f| *f == e.feature_id)
            && self.status.is_none_or(|s| s == e.status)
            && self.method.is_none_or(|m| Some(m) == e.method)
            && self.effective_from.is_none_or(|d| e.effective_date >= d)
            && self.effective_to.is_none_or(|d| e.effective_date <= d)
    }
}

/// Where one case stands now, and the version a write must name (`If-Match`) to extend it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaseStatus {
    /// The case.
    #[serde(flatten)]
    pub key: CaseKey,
    /// What its events add up to.
    #[serde(flatten)]
    pub disposition: Disposition,
    /// The id of the case's last recorded event, 0 when it has none: it changes with every
    /// event recorded for the case and never comes back.
    pub version: i64,
}

impl CaseStatus {
    /// The status of a case from all its recorded events.
    pub fn of(key: CaseKey, history: &[Event]) -> CaseStatus {
        CaseStatus {
            key,
            disposition: replay(history).unwrap_or_default(),
            version: history.iter().map(|e| e.id).max().unwrap_or(0),
        }
    }
}
