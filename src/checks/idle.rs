//! `idle` — 疑似闲置土地 (《闲置土地处置办法》) and 批而未供: the face of [`crate::analysis::idle`].

use super::{
    flat, value_cell, Analysis, CheckError, CollectionSpec, Info, Kind, MapFeature, Param, Query,
    Queryable, Report,
};
use crate::analysis::idle::{idle, IdleReport};
use crate::analysis::Context;
use crate::catalog::Catalog;
use crate::model::value::{m2_to_hectares, m2_to_mu};
use crate::model::Role;
use crate::report::table::{Cell, Table};
use crate::rules::Rules;
use serde_json::{json, Value};
use std::sync::Arc;

/// 闲置土地.
#[derive(Debug)]
pub struct Idle;

/// What the collection serves.
const COLLECTION: CollectionSpec = CollectionSpec {
    queryables: &[
        Queryable::text("park_id", "所属园区"),
        Queryable::text("finding", "认定类型"),
        Queryable::text("track", "处置路径"),
        Queryable::text("holder", "权利人"),
        Queryable::new("idle_since", "闲置起算日", Kind::Date),
        Queryable::new("years_idle", "闲置年限(年)", Kind::Number),
        Queryable::new("fee_wan", "土地闲置费(万元)", Kind::Number),
    ],
    tile_keys: &[
        "id",
        "park_id",
        "holder",
        "finding",
        "finding_zh",
        "track",
        "track_zh",
        "years_idle",
        "fee_wan",
    ],
    date_property: Some("idle_since"),
};

/// What the check is.
const INFO: Info = Info {
    id: "idle",
    aliases: &[],
    title_zh: "疑似闲置土地",
    description: "疑似闲置土地 under 《闲置土地处置办法》, with the article, dates and figures behind each finding; as_of sets the evaluation date",
    rule_packs: &["idle.toml"],
    params: &[Param::AsOf, Param::Park],
    collection: Some(COLLECTION),
};

impl Analysis for Idle {
    fn info(&self) -> &'static Info {
        &INFO
    }
    fn reads_events(&self) -> bool {
        true
    }
    fn layers(&self) -> &'static [Role] {
        &[Role::Parks, Role::Parcels, Role::Buildings]
    }
    fn run(
        &self,
        ctx: &Context<'_>,
        rules: &Rules,
        q: &Query,
    ) -> Result<Arc<dyn Report>, CheckError> {
        Ok(Arc::new(idle(ctx, &rules.idle, q.as_of, q.park.as_deref())))
    }
}

impl Report for IdleReport {
    fn tables(&self) -> Vec<Table> {
        let r = self;
        let mut t = Table::new(
            "疑似闲置土地",
            &[
                "宗地编号",
                "所属园区",
                "权利人",
                "认定类型",
                "处置路径",
                "闲置起算日",
                "闲置年限(年)",
                "闲置天数",
                "面积(亩)",
                "面积(公顷)",
                "出让价款(万元)",
                "土地闲置费(万元)",
                "合同签订日期",
                "约定动工日期",
                "实际动工日期",
                "停工日期",
                "批准日期",
                "已开发比例(%)",
                "已投资比例(%)",
                "政府原因",
                "依据",
                "状态",
                "处置状态",
            ],
        );
        for p in &r.parcels {
            let f = &p.finding;
            let area = f.inputs.get("area_m2").and_then(Value::as_f64);
            let input = |key: &str| f.inputs.get(key).map_or(Cell::Empty, value_cell);
            t.push(vec![
                p.id.as_str().into(),
                Cell::text(p.park_id.clone()),
                Cell::text(p.holder.clone()),
                f.finding.label_zh().into(),
                Cell::text(f.track.map(|t| t.label_zh())),
                Cell::Date(f.idle_since),
                Cell::num(Some(f.years_idle), 2),
                Cell::Int(f.idle_days),
                Cell::num(area.map(m2_to_mu), 2),
                Cell::num(area.map(m2_to_hectares), 4),
                Cell::num(f.inputs.get("land_price_wan").and_then(Value::as_f64), 2),
                Cell::num(f.fee_wan, 2),
                input("contract_date"),
                input("agreed_start"),
                input("actual_start"),
                input("suspended_since"),
                input("approval_date"),
                Cell::percent(f.inputs.get("developed_share").and_then(Value::as_f64)),
                Cell::percent(f.inputs.get("invested_share").and_then(Value::as_f64)),
                Cell::text(f.government_cause.clone()),
                f.rule.as_str().into(),
                p.status.into(),
                Cell::text(p.disposal_status.clone()),
            ]);
        }
        let mut u = Table::new("无法判定", &["宗地编号", "所属园区", "缺少字段", "说明"]);
        for c in &r.cannot_assess {
            u.push(vec![
                c.id.as_str().into(),
                Cell::text(c.park_id.clone()),
                c.missing.join("、").into(),
                c.reason.as_str().into(),
            ]);
        }
        let mut s = Table::new("汇总", &["类别", "宗数", "面积(亩)", "面积(公顷)"]);
        for (k, v) in &r.summary.by_finding {
            s.push(vec![
                k.label_zh().into(),
                Cell::Int(v.count as i64),
                Cell::num(Some(v.area_mu), 2),
                Cell::num(Some(m2_to_hectares(v.area_m2)), 4),
            ]);
        }
        for (k, v) in &r.summary.by_track {
            s.push(vec![
                format!("处置路径：{}", k.label_zh()).into(),
                Cell::Int(v.count as i64),
                Cell::num(Some(v.area_mu), 2),
                Cell::num(Some(m2_to_hectares(v.area_m2)), 4),
            ]);
        }
        s.push(vec![
            "已处置（不再列入）".into(),
            Cell::Int(r.summary.disposed_excluded as i64),
            Cell::Empty,
            Cell::Empty,
        ]);
        s.push(vec![
            "无法判定".into(),
            Cell::Int(r.summary.cannot_assess as i64),
            Cell::Empty,
            Cell::Empty,
        ]);
        s.push(vec![
            "土地闲置费合计(万元)".into(),
            Cell::Empty,
            Cell::num(Some(r.summary.fee_total_wan), 2),
            Cell::Empty,
        ]);
        vec![t, u, s]
    }

    fn map_features(&self, catalog: &Catalog) -> Vec<MapFeature> {
        self.parcels
            .iter()
            .filter_map(|p| {
                let layer = catalog.layer(&p.layer)?;
                let index = layer.by_fid(p.fid)?;
                let mut props = flat(serde_json::to_value(p).expect("serialisable"));
                props.insert("finding_zh".into(), json!(p.finding.finding.label_zh()));
                props.insert(
                    "track_zh".into(),
                    json!(p.finding.track.map(|t| t.label_zh())),
                );
                Some(MapFeature::stored(layer, index, props))
            })
            .collect()
    }
}
