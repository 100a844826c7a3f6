//! `events` — 处置记录: the recorded events as a collection, each on its parcel's geometry
//! (none for a ledger row, or for a feature no longer in its layer), readable and filterable
//! like any layer. The history itself is [`crate::model::disposal`]'s.

use super::{
    flat, Analysis, ById, CheckError, CollectionSpec, FeatureId, Info, Kind, MapFeature, Param,
    Query, Queryable, Report, Shape,
};
use crate::analysis::context::ParcelRef;
use crate::analysis::Context;
use crate::catalog::Catalog;
use crate::model::disposal::Event;
use crate::report::events::table;
use crate::report::table::{Cell, Table};
use crate::rules::Rules;
use serde::Serialize;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;

/// 处置记录.
#[derive(Debug)]
pub struct Events;

const COLLECTION: CollectionSpec = CollectionSpec {
    queryables: &[
        Queryable::text("subject", "对象"),
        Queryable::text("layer", "图层"),
        Queryable::text("feature_id", "要素编号"),
        Queryable::text("status", "状态"),
        Queryable::text("method", "处置方式"),
        Queryable::new("effective_date", "生效日期", Kind::Date),
        Queryable::text("document_no", "文号"),
        Queryable::new("amount_wan", "金额(万元)", Kind::Number),
        Queryable::text("recorded_by", "记录人"),
        Queryable::text("park_id", "所属园区"),
        Queryable::boolean("in_force", "有效（未被更正）"),
        Queryable::boolean("located", "要素仍在图层中"),
    ],
    tile_keys: &[
        "id",
        "subject",
        "feature_id",
        "status",
        "status_zh",
        "method",
        "effective_date",
    ],
    date_property: Some("effective_date"),
};

const INFO: Info = Info {
    id: "events",
    aliases: &[],
    title_zh: "处置记录",
    description: "处置记录: every recorded event (investigation, 认定, extension, fee, recovery …) with its status, method, effective date and document, on its parcel; append-only, corrections supersede",
    rule_packs: &["idle.toml"],
    params: &[Param::Park],
    collection: Some(COLLECTION),
};

/// One event with where it stands.
#[derive(Debug, Serialize)]
pub struct EventRow {
    /// The event.
    #[serde(flatten)]
    pub event: Event,
    /// The park of its parcel.
    pub park_id: Option<String>,
    /// Not superseded by a correction.
    pub in_force: bool,
    /// Whether its feature is in its layer (false: orphaned by a re-ingest, or a ledger row).
    pub located: bool,
    #[serde(skip)]
    index: Option<usize>,
}

/// The event history.
#[derive(Debug, Serialize)]
pub struct EventsReport {
    /// Every event, in recording order.
    pub events: Vec<EventRow>,
}

impl Analysis for Events {
    fn info(&self) -> &'static Info {
        &INFO
    }
    fn reads_events(&self) -> bool {
        true
    }

    fn run(
        &self,
        ctx: &Context<'_>,
        _rules: &Rules,
        q: &Query,
    ) -> Result<Arc<dyn Report>, CheckError> {
        let d = &ctx.catalog.dispositions;
        let mut ids = ById::new(ctx.catalog);
        let mut all: Vec<&Event> = d
            .layers()
            .flat_map(|l| d.features_of(l))
            .flat_map(|(_, events)| events)
            .collect();
        all.sort_by_key(|e| e.id);
        let superseded: HashSet<i64> = all.iter().filter_map(|e| e.supersedes).collect();
        let mut events = vec![];
        for e in all {
            let found = ids.get(&e.layer, &e.feature_id);
            let park_id = found.and_then(|(layer, index)| {
                layer
                    .parcels()
                    .and_then(|_| ctx.park_id_of(&ParcelRef { layer, index }))
            });
            if q.park.is_some() && park_id != q.park {
                continue;
            }
            events.push(EventRow {
                event: e.clone(),
                park_id,
                in_force: !superseded.contains(&e.id),
                located: found.is_some(),
                index: found.map(|(_, i)| i),
            });
        }
        Ok(Arc::new(EventsReport { events }))
    }
}

impl Report for EventsReport {
    fn tables(&self) -> Vec<Table> {
        let events: Vec<Event> = self.events.iter().map(|r| r.event.clone()).collect();
        let mut t = table(&events);
        t.headers
            .extend(["所属园区", "有效", "要素仍在图层中"].map(String::from));
        for (row, r) in t.rows.iter_mut().zip(&self.events) {
            row.push(Cell::text(r.park_id.clone()));
            row.push(
                if r.in_force {
                    "是"
                } else {
                    "否（已更正）"
                }
                .into(),
            );
            row.push(if r.located { "是" } else { "否" }.into());
        }
        vec![t]
    }

    fn map_features(&self, catalog: &Catalog) -> Vec<MapFeature> {
        self.events
            .iter()
            .map(|r| {
                let e = &r.event;
                let mut props = flat(serde_json::to_value(r).expect("serialisable"));
                props.insert("subject_zh".into(), json!(e.subject.label_zh()));
                props.insert("status_zh".into(), json!(e.status.label_zh()));
                props.insert("method_zh".into(), json!(e.method.map(|m| m.label_zh())));
                let shape = match (catalog.layer(&e.layer), r.index) {
                    (Some(layer), Some(i)) => Shape::Stored(Arc::clone(layer), i),
                    _ => Shape::Absent,
                };
                MapFeature {
                    id: FeatureId::Fid(e.id),
                    shape,
                    properties: props,
                }
            })
            .collect()
    }
}
