//! 处置记录 — what the bureau did about a finding: the disposal events of a parcel's idle
//! land (《闲置土地处置办法》, DOMAIN.md §1), its 批而未供 and under-use findings, and
//! conflict-ledger rows, and the rules an event must keep.
//!
//! Events are never changed or removed: a correction is a new event that supersedes an earlier
//! one. A feature's [`Disposition`] is what its events add up to, replayed in effective-date
//! order; [`replay`] refuses a history that breaks a rule, naming the rule.
//!
//! ```
//! use landwatch::model::disposal::{replay, Method, NewEvent, Status, Subject};
//! let e = |id, status, method, date: &str| {
//!     NewEvent {
//!         status,
//!         method,
//!         effective_date: date.parse().unwrap(),
//!         ..NewEvent::example(Subject::Idle, "parcels", "P-1")
//!     }
//!     .recorded(id, "2024-10-01T00:00:00Z".into())
//! };
//! let history = [
//!     e(1, Status::Investigating, None, "2024-03-01"),
//!     e(2, Status::Confirmed, None, "2024-04-01"),
//!     e(3, Status::Disposed, Some(Method::Started), "2024-09-01"),
//! ];
//! let d = replay(&history).unwrap();
//! assert_eq!(d.status, Some(Status::Disposed));
//! assert_eq!(d.started_on, Some("2024-09-01".parse().unwrap()));
//! // Going back from 已处置 is refused, with the rule.
//! let wrong = [history[2].clone(), e(4, Status::Investigating, None, "2024-10-01")];
//! assert!(replay(&wrong).unwrap_err().to_string().contains("已处置"));
//! ```

use crate::analysis::dates::period_end;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// What an event is about (记录对象).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// 闲置土地 — a parcel's idle-land finding.
    Idle,
    /// 批而未供 — approved, not supplied.
    ApprovedNotSupplied,
    /// 低效用地 — a parcel's under-use finding.
    Underused,
    /// 差异图斑台账 — a conflict-ledger row (its feature id is the ledger id).
    Conflict,
}

/// 处置状态 — where a case stands, in the order of the procedure (Art. 5, 9, 10, 12, 14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 疑似 — a suspicion (a computed finding, or a report).
    Suspected,
    /// 调查中 — under investigation (第五条: 调查通知书 within 30 days).
    Investigating,
    /// 已认定 — confirmed by a 闲置土地认定书 (第九条).
    Confirmed,
    /// 处置中 — a disposal under way (第十二条, 第十四条).
    Disposing,
    /// 已处置 — disposed of; final.
    Disposed,
}

/// 处置方式 — how a case is disposed of (《闲置土地处置办法》第十二条, 第十四条).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// 动工开发 — development started: the idle clock stops.
    Started,
    /// 延长动工开发期限 — the start date extended, at most one year (第十二条第一项).
    Extended,
    /// 调整土地用途、规划条件 — use or planning conditions changed (第十二条第二项).
    UseChanged,
    /// 临时使用 — government-arranged temporary use, at most two years (第十二条第三项).
    TemporaryUse,
    /// 征缴土地闲置费 — the idle-land fee collected (第十四条第一项).
    FeeCollected,
    /// 无偿收回 — recovered without compensation (第十四条第二项).
    Recovered,
    /// 协议有偿收回 — negotiated paid recovery (第十二条第四项) [U].
    PaidRecovery,
    /// 置换土地 — land swap (第十二条第五项) [U].
    Swapped,
}

macro_rules! named {
    ($ty:ident, $what:literal, $($v:ident = $s:literal / $zh:literal),+ $(,)?) => {
        impl $ty {
            /// Every value, in order.
            pub const ALL: &'static [$ty] = &[$($ty::$v),+];
            /// Its name in files, URLs and the store.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$v => $s),+ }
            }
            /// The Chinese label.
            pub fn label_zh(self) -> &'static str {
                match self { $($ty::$v => $zh),+ }
            }
            /// Every name, for messages.
            pub fn names() -> String {
                $ty::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = DisposalError;
            /// The English name or the Chinese label.
            fn from_str(s: &str) -> Result<$ty, DisposalError> {
                let t = s.trim();
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == t || v.label_zh() == t)
                    .ok_or_else(|| DisposalError::Unknown {
                        what: $what,
                        value: s.to_string(),
                        known: $ty::names(),
                    })
            }
        }
    };
}

named!(
    Subject,
    "subject",
    Idle = "idle" / "闲置土地",
    ApprovedNotSupplied = "approved_not_supplied" / "批而未供",
    Underused = "underused" / "低效用地",
    Conflict = "conflict" / "差异图斑",
);
named!(
    Status,
    "status",
    Suspected = "suspected" / "疑似",
    Investigating = "investigating" / "调查中",
    Confirmed = "confirmed" / "已认定",
    Disposing = "disposing" / "处置中",
    Disposed = "disposed" / "已处置",
);
named!(
    Method,
    "method",
    Started = "started" / "动工",
    Extended = "extended" / "延期动工",
    UseChanged = "use_changed" / "调整用途",
    TemporaryUse = "temporary_use" / "临时使用",
    FeeCollected = "fee_collected" / "征缴闲置费",
    Recovered = "recovered" / "无偿收回",
    PaidRecovery = "paid_recovery" / "有偿收回",
    Swapped = "swapped" / "置换",
);

impl Subject {
    /// Whether the subject is a parcel's finding (its feature id is a 宗地编号 of a parcel
    /// layer), rather than a conflict-ledger row.
    pub fn is_parcel(self) -> bool {
        self != Subject::Conflict
    }
}

impl Method {
    /// Whether the method ends the case (已处置): the land is developed, taken back or
    /// swapped. The others keep it 处置中 until one of these follows.
    pub fn ends_case(self) -> bool {
        matches!(
            self,
            Method::Started | Method::Recovered | Method::PaidRecovery | Method::Swapped
        )
    }

    /// The longest term `until` may set, in years from the effective date, and the rule.
    pub fn term_limit(self) -> Option<(u32, &'static str)> {
        match self {
            Method::Extended => Some((1, RULE_EXTENSION)),
            Method::TemporaryUse => Some((2, RULE_TEMPORARY_USE)),
            _ => None,
        }
    }
}

const RULE_EXTENSION: &str = "《闲置土地处置办法》第十二条第一项：延长动工开发期限最长不得超过一年";
const RULE_TEMPORARY_USE: &str = "《闲置土地处置办法》第十二条第三项：临时使用期限最长不得超过两年";
const RULE_ORDER: &str = "《闲置土地处置办法》第五条、第九条、第十二条、第十四条：疑似 → 调查中（调查通知书）→ 已认定（闲置土地认定书）→ 处置中 → 已处置，逐步推进（已认定可直接已处置），不能跳过调查与认定，不能倒退，已处置为终态";
const RULE_METHOD: &str = "处置方式（第十二条、第十四条）只用于「处置中」与「已处置」：已处置须为动工、无偿收回、有偿收回或置换；延期动工、调整用途、临时使用、征缴闲置费为处置中";
const RULE_FEE: &str = "《闲置土地处置办法》第十四条第一项：征缴土地闲置费须记录征缴金额（万元）";

/// An event that breaks a rule, or a value that is not one.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DisposalError {
    /// A name that is none of the known ones.
    #[error("unknown {what} '{value}'; known: {known}")]
    Unknown {
        /// What was named (subject, status, method).
        what: &'static str,
        /// The value given.
        value: String,
        /// The names there are.
        known: String,
    },
    /// A required field is empty.
    #[error("{field} is empty: every event names it")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A status that cannot follow the one before (the procedure runs one way).
    #[error("event {id}: 「{}」 cannot follow 「{}」 (effective {date}); rule: {RULE_ORDER}", .to.label_zh(), .from.map_or("无记录", |s| s.label_zh()))]
    Transition {
        /// The event (0 for one not yet recorded).
        id: i64,
        /// The status before, if any.
        from: Option<Status>,
        /// The status asked for.
        to: Status,
        /// Its effective date.
        date: NaiveDate,
    },
    /// A method given with a status it does not belong to, or missing where one is needed.
    #[error("event {id}: status 「{}」 with method {}; rule: {RULE_METHOD}", .status.label_zh(), .method.map_or("(none)".to_string(), |m| format!("「{}」", m.label_zh())))]
    Method {
        /// The event.
        id: i64,
        /// Its status.
        status: Status,
        /// Its method.
        method: Option<Method>,
    },
    /// An extension or temporary use longer than the law allows, or without its end date.
    #[error("event {id}: 「{}」 {}; rule: {rule}", .method.label_zh(), match .until { Some(u) => format!("until {u} is more than {years} year(s) after the effective date {date} (at most {max})", max = period_end(*.date, *.years)), None => "needs `until`, the date its term ends (the new start deadline, or the end of the temporary use)".to_string() })]
    Term {
        /// The event.
        id: i64,
        /// Extended or temporary use.
        method: Method,
        /// The effective date.
        date: NaiveDate,
        /// The end of the term asked for.
        until: Option<NaiveDate>,
        /// The longest term, in years.
        years: u32,
        /// The rule.
        rule: &'static str,
    },
    /// A second extension: the law allows one, of at most a year.
    #[error("event {id}: the start date was already extended by event {earlier}; rule: {RULE_EXTENSION}（仅可延长一次）")]
    ExtendedTwice {
        /// The event.
        id: i64,
        /// The earlier extension.
        earlier: i64,
    },
    /// `until` given to a method without a term, or not after the effective date.
    #[error("event {id}: `until` {until} {why}")]
    Until {
        /// The event.
        id: i64,
        /// The date given.
        until: NaiveDate,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A fee event without its amount, or an amount that is no sum of money.
    #[error("event {id}: amount_wan {}; rule: {RULE_FEE}", .amount.map_or("is missing".to_string(), |a| format!("{a} is not a sum of money (≥ 0 万元)")))]
    Amount {
        /// The event.
        id: i64,
        /// The amount given.
        amount: Option<f64>,
    },
    /// A correction of an event that is not this feature's, or is already corrected.
    #[error("event supersedes {supersedes}: {why}")]
    Supersedes {
        /// The event named.
        supersedes: i64,
        /// What is wrong.
        why: String,
    },
}

impl DisposalError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            DisposalError::Transition { .. } => "record the missing steps first, or supersede the wrong event (--supersedes ID)".into(),
            DisposalError::Method { .. } => format!("methods ending a case: started, recovered, paid_recovery, swapped (status disposed); others: extended, use_changed, temporary_use, fee_collected (status disposing); known: {}", Method::names()),
            DisposalError::Term { .. } => "give --until within the term".into(),
            DisposalError::Supersedes { .. } => "list the feature's events (landwatch event list --feature-id ID) and name one of them".into(),
            _ => return None,
        })
    }
}

/// An event to record (处置记录): what the bureau did, before the store gives it its id and
/// recording time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// What it is about.
    pub subject: Subject,
    /// The layer the feature is in (`conflicts` for ledger rows).
    pub layer: String,
    /// The feature's id (宗地编号, or the ledger id).
    pub feature_id: String,
    /// The status it puts the case in.
    pub status: Status,
    /// How the case is disposed of, for 处置中 and 已处置.
    pub method: Option<Method>,
    /// The day it took effect (the document's date).
    pub effective_date: NaiveDate,
    /// The end of its term: the new start deadline of an extension, the end of a temporary use.
    pub until: Option<NaiveDate>,
    /// 文号 — 调查通知书, 闲置土地认定书, 征缴决定书, 收回决定书 ….
    pub document_no: Option<String>,
    /// Amount in 万元 (fee collected, compensation paid).
    pub amount_wan: Option<f64>,
    /// 备注.
    pub note: Option<String>,
    /// Who records it.
    pub recorded_by: String,
    /// The earlier event of the same case it corrects, if any.
    pub supersedes: Option<i64>,
}

/// One recorded event, as stored: its id, what was recorded, and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Its id in the store (increasing in recording order).
    pub id: i64,
    /// What was recorded.
    #[serde(flatten)]
    pub entry: NewEvent,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded_at: String,
}

impl std::ops::Deref for Event {
    type Target = NewEvent;
    fn deref(&self) -> &NewEvent {
        &self.entry
    }
}

impl NewEvent {
    /// An event with placeholder values, for examples and tests: suspected on 2024-01-01.
    pub fn example(subject: Subject, layer: &str, feature_id: &str) -> NewEvent {
        NewEvent {
            subject,
            layer: layer.into(),
            feature_id: feature_id.into(),
            status: Status::Suspected,
            method: None,
            effective_date: NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date"),
            until: None,
            document_no: None,
            amount_wan: None,
            note: None,
            recorded_by: "example".into(),
            supersedes: None,
        }
    }

    /// The event as it is stored, with its id and recording time.
    pub fn recorded(&self, id: i64, recorded_at: String) -> Event {
        Event {
            id,
            entry: self.clone(),
            recorded_at,
        }
    }

    /// The case this event belongs to.
    pub fn key(&self) -> CaseKey {
        CaseKey {
            subject: self.subject,
            layer: self.layer.clone(),
            feature_id: self.feature_id.clone(),
        }
    }

    /// Check the event on its own (`id` names it in messages): names present, method and
    /// status in step, terms and amounts within the law.
    pub fn check_alone(&self, id: i64) -> Result<(), DisposalError> {
        for (field, v) in [
            ("layer", &self.layer),
            ("feature_id", &self.feature_id),
            ("recorded_by", &self.recorded_by),
        ] {
            if v.trim().is_empty() {
                return Err(DisposalError::Empty { field });
            }
        }
        let method_ok = match (self.status, self.method) {
            (Status::Disposed, Some(m)) => m.ends_case(),
            (Status::Disposing, Some(m)) => !m.ends_case(),
            (Status::Disposed | Status::Disposing, None) => false,
            (_, m) => m.is_none(),
        };
        if !method_ok {
            return Err(DisposalError::Method {
                id,
                status: self.status,
                method: self.method,
            });
        }
        match (self.method.and_then(Method::term_limit), self.until) {
            (Some((years, rule)), until) => {
                let within = until.is_some_and(|u| u <= period_end(self.effective_date, years));
                if !within {
                    return Err(DisposalError::Term {
                        id,
                        method: self.method.expect("a method with a term"),
                        date: self.effective_date,
                        until,
                        years,
                        rule,
                    });
                }
            }
            (None, Some(until)) => {
                return Err(DisposalError::Until {
                    id,
                    until,
                    why: "is only for extended and temporary_use",
                })
            }
            (None, None) => {}
        }
        if let Some(until) = self.until.filter(|u| *u <= self.effective_date) {
            return Err(DisposalError::Until {
                id,
                until,
                why: "must be after the effective date",
            });
        }
        let bad_amount = self.amount_wan.is_some_and(|a| !a.is_finite() || a < 0.0);
        let fee_without = self.method == Some(Method::FeeCollected) && self.amount_wan.is_none();
        if bad_amount || fee_without {
            return Err(DisposalError::Amount {
                id,
                amount: self.amount_wan,
            });
        }
        Ok(())
    }
}

/// The case an event belongs to: one subject of one feature.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CaseKey {
    /// What it is about.
    pub subject: Subject,
    /// The layer.
    pub layer: String,
    /// The feature id.
    pub feature_id: String,
}

/// What a feature's events add up to (on a date, or now).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Disposition {
    /// The status of the last event in force; none without events.
    pub status: Option<Status>,
    /// The method of the last event that had one.
    pub method: Option<Method>,
    /// The day the status took effect.
    pub since: Option<NaiveDate>,
    /// The new start deadline of an extension: the idle clock runs from it.
    pub clock_from: Option<NaiveDate>,
    /// The day a recorded 动工 took effect: the idle clock stops.
    pub started_on: Option<NaiveDate>,
    /// Fees collected, 万元.
    pub fees_wan: f64,
    /// The events in force (not superseded), in effective order.
    pub events: usize,
}

impl Disposition {
    /// The status as the 处置状态 column writes it: 「已处置（动工）」.
    pub fn label_zh(&self) -> Option<String> {
        let s = self.status?;
        Some(match self.method {
            Some(m) if matches!(s, Status::Disposing | Status::Disposed) => {
                format!("{}（{}）", s.label_zh(), m.label_zh())
            }
            _ => s.label_zh().to_string(),
        })
    }
}

/// The events of one case that are in force: superseded events left out, the rest in
/// effective-date order (recording order within a day).
pub fn in_force(history: &[Event]) -> Vec<&Event> {
    let superseded: std::collections::HashSet<i64> =
        history.iter().filter_map(|e| e.supersedes).collect();
    let mut out: Vec<&Event> = history
        .iter()
        .filter(|e| !superseded.contains(&e.id))
        .collect();
    out.sort_by_key(|e| (e.effective_date, e.id));
    out
}

/// Replay one case's events (all of one [`CaseKey`], in any order), refusing a history
/// that breaks a rule.
pub fn replay(history: &[Event]) -> Result<Disposition, DisposalError> {
    replay_until(history, None)
}

/// Replay the events in force that took effect by `as_of` (all of them when `None`).
pub fn replay_until(
    history: &[Event],
    as_of: Option<NaiveDate>,
) -> Result<Disposition, DisposalError> {
    let mut d = Disposition::default();
    let mut extension: Option<i64> = None;
    for e in in_force(history) {
        if as_of.is_some_and(|day| e.effective_date > day) {
            break;
        }
        e.check_alone(e.id)?;
        if !may_follow(d.status, e.status) {
            return Err(DisposalError::Transition {
                id: e.id,
                from: d.status,
                to: e.status,
                date: e.effective_date,
            });
        }
        match e.method {
            Some(Method::Extended) => {
                if let Some(earlier) = extension {
                    return Err(DisposalError::ExtendedTwice { id: e.id, earlier });
                }
                extension = Some(e.id);
                d.clock_from = e.until;
            }
            Some(Method::Started) => d.started_on = Some(e.effective_date),
            Some(Method::FeeCollected) => d.fees_wan += e.amount_wan.unwrap_or(0.0),
            _ => {}
        }
        if e.method.is_some() {
            d.method = e.method;
        }
        if d.status != Some(e.status) {
            d.since = Some(e.effective_date);
        }
        d.status = Some(e.status);
        d.events += 1;
    }
    Ok(d)
}

/// Whether a case in `from` may move to `to`: to the next step of the procedure, or stay
/// (a further document of the same step); from 已认定 straight to 已处置 (a recovery needs no
/// 处置中); never back, never out of 已处置. A case without events may be opened at any step
/// (cases begun before they were recorded here).
pub fn may_follow(from: Option<Status>, to: Status) -> bool {
    use Status::*;
    match from {
        None => true,
        Some(Disposed) => false,
        Some(f) => {
            to == f
                || matches!(
                    (f, to),
                    (Suspected, Investigating)
                        | (Investigating, Confirmed)
                        | (Confirmed, Disposing | Disposed)
                        | (Disposing, Disposed)
                )
        }
    }
}

/// Check that `new` may be recorded after `history` (the case's events so far): the
/// superseded event is the case's own and not corrected yet, and the replayed history with
/// `new` keeps every rule.
pub fn check_append(history: &[Event], new: &Event) -> Result<Disposition, DisposalError> {
    new.check_alone(new.id)?;
    if let Some(s) = new.supersedes {
        let why = if !history.iter().any(|e| e.id == s) {
            Some("it is not an event of this feature and subject".to_string())
        } else {
            history
                .iter()
                .find(|e| e.supersedes == Some(s))
                .map(|e| format!("it was already superseded by event {}", e.id))
        };
        if let Some(why) = why {
            return Err(DisposalError::Supersedes { supersedes: s, why });
        }
    }
    let mut all = history.to_vec();
    all.push(new.clone());
    replay(&all)
}

/// Every event of a store, by case, for analyses: what each feature's events add up to on
/// a date.
#[derive(Debug, Default)]
pub struct Dispositions {
    by_layer: HashMap<String, HashMap<String, Vec<Event>>>,
    count: usize,
    latest: i64,
}

impl Dispositions {
    /// Index events (any order).
    pub fn new(events: Vec<Event>) -> Dispositions {
        let mut by_layer: HashMap<String, HashMap<String, Vec<Event>>> = HashMap::new();
        let count = events.len();
        let latest = events.iter().map(|e| e.id).max().unwrap_or(0);
        for e in events {
            by_layer
                .entry(e.layer.clone())
                .or_default()
                .entry(e.feature_id.clone())
                .or_default()
                .push(e);
        }
        Dispositions {
            by_layer,
            count,
            latest,
        }
    }

    /// Which events these are: their number and the newest id (events are only ever
    /// appended, so the two tell one history from another).
    pub fn version(&self) -> (usize, i64) {
        (self.count, self.latest)
    }

    /// How many events there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The events of one feature of a layer, every subject, in recording order.
    pub fn of_feature(&self, layer: &str, feature_id: &str) -> &[Event] {
        self.by_layer
            .get(layer)
            .and_then(|m| m.get(feature_id))
            .map_or(&[], Vec::as_slice)
    }

    /// The features of a layer that have events.
    pub fn features_of(&self, layer: &str) -> impl Iterator<Item = (&str, &[Event])> {
        self.by_layer
            .get(layer)
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
    }

    /// The layers events name.
    pub fn layers(&self) -> impl Iterator<Item = &str> {
        self.by_layer.keys().map(String::as_str)
    }

    /// What the events of `subjects` of one feature add up to by `as_of`; `None` when it has
    /// none in force by then. A history that breaks a rule (the store edited by hand) counts
    /// up to the event that breaks it.
    pub fn on(
        &self,
        layer: &str,
        feature_id: &str,
        subjects: &[Subject],
        as_of: NaiveDate,
    ) -> Option<Disposition> {
        let events = self.of_feature(layer, feature_id);
        if events.is_empty() {
            return None;
        }
        let mine: Vec<Event> = events
            .iter()
            .filter(|e| subjects.contains(&e.subject))
            .cloned()
            .collect();
        let d = replay_until(&mine, Some(as_of)).unwrap_or_else(|_| {
            // Count what is valid: replay event by event until the first refusal.
            let mut ok = vec![];
            let mut last = Disposition::default();
            for e in in_force(&mine) {
                if e.effective_date > as_of {
                    break;
                }
                ok.push(e.clone());
                match replay(&ok) {
                    Ok(d) => last = d,
                    Err(_) => break,
                }
            }
            last
        });
        (d.events > 0).then_some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn ev(id: i64, status: Status, method: Option<Method>, date: &str) -> Event {
        NewEvent {
            status,
            method,
            effective_date: d(date),
            ..NewEvent::example(Subject::Idle, "parcels", "P-1")
        }
        .recorded(id, "2024-12-01T00:00:00Z".into())
    }

    /// The same event, changed.
    fn with(mut e: Event, change: impl FnOnce(&mut NewEvent)) -> Event {
        change(&mut e.entry);
        e
    }

    #[test]
    fn the_procedure_runs_forward_and_ends_at_disposed() {
        assert!(may_follow(None, Status::Confirmed));
        assert!(may_follow(Some(Status::Suspected), Status::Investigating));
        assert!(may_follow(Some(Status::Disposing), Status::Disposing));
        assert!(!may_follow(Some(Status::Confirmed), Status::Investigating));
        assert!(!may_follow(Some(Status::Disposed), Status::Disposed));
        // No disposal without 认定, no 认定 without investigation.
        assert!(!may_follow(Some(Status::Investigating), Status::Disposing));
        assert!(!may_follow(Some(Status::Suspected), Status::Confirmed));
        assert!(may_follow(Some(Status::Confirmed), Status::Disposed));
        let h = [
            ev(1, Status::Confirmed, None, "2024-01-10"),
            ev(2, Status::Investigating, None, "2024-02-10"),
        ];
        let e = replay(&h).unwrap_err();
        assert!(matches!(e, DisposalError::Transition { id: 2, .. }), "{e}");
        assert!(e.to_string().contains("第九条"), "{e}");
    }

    #[test]
    fn events_replay_in_effective_order_whatever_the_recording_order() {
        // Recorded late: the investigation (id 2) took effect before the confirmation (id 1).
        let h = [
            ev(1, Status::Confirmed, None, "2024-03-01"),
            ev(2, Status::Investigating, None, "2024-02-01"),
        ];
        let r = replay(&h).unwrap();
        assert_eq!(r.status, Some(Status::Confirmed));
        assert_eq!(r.since, Some(d("2024-03-01")));
        let early = replay_until(&h, Some(d("2024-02-15"))).unwrap();
        assert_eq!(early.status, Some(Status::Investigating));
        assert_eq!(replay_until(&h, Some(d("2024-01-31"))).unwrap().events, 0);
    }

    #[test]
    fn methods_belong_to_their_statuses() {
        let bad = [
            ev(
                1,
                Status::Investigating,
                Some(Method::Started),
                "2024-01-01",
            ),
            ev(1, Status::Disposed, None, "2024-01-01"),
            ev(
                1,
                Status::Disposed,
                Some(Method::FeeCollected),
                "2024-01-01",
            ),
            ev(1, Status::Disposing, Some(Method::Recovered), "2024-01-01"),
        ];
        for e in bad {
            assert!(
                matches!(e.check_alone(1), Err(DisposalError::Method { .. })),
                "{e:?}"
            );
        }
        let mut fee = ev(
            1,
            Status::Disposing,
            Some(Method::FeeCollected),
            "2024-01-01",
        );
        assert!(matches!(
            fee.check_alone(1),
            Err(DisposalError::Amount { amount: None, .. })
        ));
        fee.entry.amount_wan = Some(-1.0);
        assert!(fee.check_alone(1).is_err());
        fee.entry.amount_wan = Some(100.0);
        fee.check_alone(1).unwrap();
    }

    #[test]
    fn an_extension_is_one_of_at_most_a_year_and_moves_the_clock() {
        let mut ext = ev(2, Status::Disposing, Some(Method::Extended), "2024-03-05");
        let e = ext.check_alone(1).unwrap_err();
        assert!(e.to_string().contains("needs `until`"), "{e}");
        // 满一年 after 2024-03-05 ends on 2025-03-05: that day is allowed, the next is not.
        ext.entry.until = Some(d("2025-03-06"));
        let e = ext.check_alone(1).unwrap_err();
        assert!(e.to_string().contains("第十二条第一项"), "{e}");
        assert!(e.to_string().contains("2025-03-05"), "{e}");
        ext.entry.until = Some(d("2025-03-05"));
        ext.check_alone(1).unwrap();
        let h = [ev(1, Status::Confirmed, None, "2024-02-01"), ext.clone()];
        let r = replay(&h).unwrap();
        assert_eq!(r.clock_from, Some(d("2025-03-05")));
        assert_eq!(r.label_zh().unwrap(), "处置中（延期动工）");
        let mut again = ext.clone();
        again.id = 3;
        again.entry.effective_date = d("2024-06-01");
        again.entry.until = Some(d("2025-01-01"));
        let mut h2 = h.to_vec();
        h2.push(again);
        assert!(matches!(
            replay(&h2),
            Err(DisposalError::ExtendedTwice { id: 3, earlier: 2 })
        ));
        let mut temp = ev(
            4,
            Status::Disposing,
            Some(Method::TemporaryUse),
            "2024-01-01",
        );
        temp.entry.until = Some(d("2026-01-02"));
        assert!(temp
            .check_alone(1)
            .unwrap_err()
            .to_string()
            .contains("两年"));
        temp.entry.until = Some(d("2026-01-01"));
        temp.check_alone(1).unwrap();
    }

    #[test]
    fn a_correction_replaces_the_event_it_supersedes() {
        let h = vec![
            ev(1, Status::Investigating, None, "2024-01-01"),
            ev(2, Status::Disposed, Some(Method::Recovered), "2024-02-01"),
        ];
        // Disposed is final: a further step is refused …
        let next = ev(3, Status::Disposing, Some(Method::UseChanged), "2024-03-01");
        assert!(check_append(&h, &next).is_err());
        // … but a correction of the wrong event is not.
        let fix = with(ev(3, Status::Confirmed, None, "2024-02-01"), |n| {
            n.supersedes = Some(2)
        });
        let r = check_append(&h, &fix).unwrap();
        assert_eq!(r.status, Some(Status::Confirmed));
        let mut h2 = h.clone();
        h2.push(fix);
        let twice = with(ev(4, Status::Confirmed, None, "2024-02-01"), |n| {
            n.supersedes = Some(2)
        });
        assert!(check_append(&h2, &twice)
            .unwrap_err()
            .to_string()
            .contains("already superseded by event 3"));
        let elsewhere = with(ev(5, Status::Confirmed, None, "2024-02-01"), |n| {
            n.supersedes = Some(99)
        });
        assert!(check_append(&h2, &elsewhere).is_err());
    }

    #[test]
    fn names_parse_in_english_and_chinese() {
        assert_eq!("已认定".parse::<Status>().unwrap(), Status::Confirmed);
        assert_eq!(
            "temporary_use".parse::<Method>().unwrap(),
            Method::TemporaryUse
        );
        assert_eq!(
            "批而未供".parse::<Subject>().unwrap(),
            Subject::ApprovedNotSupplied
        );
        let e = "closed".parse::<Status>().unwrap_err().to_string();
        assert!(e.contains("suspected, investigating"), "{e}");
    }

    #[test]
    fn dispositions_answer_per_feature_and_date() {
        let all = Dispositions::new(vec![
            ev(1, Status::Investigating, None, "2024-01-01"),
            with(ev(2, Status::Confirmed, None, "2024-01-01"), |n| {
                n.feature_id = "P-2".into()
            }),
            ev(3, Status::Disposed, Some(Method::Started), "2024-05-01"),
            ev(4, Status::Confirmed, None, "2024-03-01"),
        ]);
        assert_eq!(all.len(), 4);
        let on = |date| all.on("parcels", "P-1", &[Subject::Idle], d(date));
        assert_eq!(on("2023-12-31"), None);
        let status = |date| on(date).unwrap().status.unwrap();
        assert_eq!(status("2024-02-29"), Status::Investigating);
        assert_eq!(status("2024-04-30"), Status::Confirmed);
        let done = on("2024-05-01").unwrap();
        assert_eq!(done.started_on, Some(d("2024-05-01")));
        assert_eq!(done.label_zh().unwrap(), "已处置（动工）");
        assert_eq!(
            all.on("parcels", "P-1", &[Subject::Underused], d("2025-01-01")),
            None
        );
        // A history edited into breaking a rule counts up to the event that breaks it.
        let broken = Dispositions::new(vec![
            ev(1, Status::Investigating, None, "2024-01-01"),
            ev(2, Status::Disposed, Some(Method::Started), "2024-05-01"),
        ]);
        let d2 = broken.on("parcels", "P-1", &[Subject::Idle], d("2024-06-01"));
        assert_eq!(d2.unwrap().status, Some(Status::Investigating));
    }
}
