//! `underused` — 低效用地: the face of [`crate::analysis::underused`].

use super::{
    flat, value_cell, Analysis, CheckError, CollectionSpec, Info, Kind, MapFeature, Param, Query,
    Queryable, Report,
};
use crate::analysis::underused::{underused, UnderusedReport};
use crate::analysis::Context;
use crate::catalog::Catalog;
use crate::model::Role;
use crate::report::table::{Cell, Table};
use crate::rules::Rules;
use serde_json::json;
use std::sync::Arc;

/// 低效用地.
#[derive(Debug)]
pub struct Underused;

/// What the collection serves.
const COLLECTION: CollectionSpec = CollectionSpec {
    queryables: &[
        Queryable::text("park_id", "所属园区"),
        Queryable::text("holder", "权利人"),
        Queryable::text("industry_code", "行业代码"),
        Queryable::text("verdict", "结论"),
        Queryable::new("reason_count", "原因数", Kind::Integer),
        Queryable::new("area_mu", "面积(亩)", Kind::Number),
    ],
    tile_keys: &[
        "id",
        "park_id",
        "holder",
        "reason_count",
        "reasons",
        "verdict",
        "verdict_zh",
    ],
    date_property: None,
};

/// What the check is.
const INFO: Info = Info {
    id: "underused",
    aliases: &[],
    title_zh: "低效用地",
    description: "低效用地: industrial parcels missing a control indicator or a local under-used rule, with the figures; as_of sets the evaluation date",
    rule_packs: &[
            "control_2008.toml",
            "control_2023.toml",
            "industries.toml",
            "underused.toml",
        ],
    params: &[Param::AsOf, Param::Park],
    collection: Some(COLLECTION),
};

impl Analysis for Underused {
    fn info(&self) -> &'static Info {
        &INFO
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
        Ok(Arc::new(underused(ctx, rules, q.as_of, q.park.as_deref())))
    }
}

impl Report for UnderusedReport {
    fn tables(&self) -> Vec<Table> {
        let r = self;
        let mut t = Table::new(
            "低效用地",
            &[
                "宗地编号",
                "所属园区",
                "权利人",
                "行业代码",
                "面积(亩)",
                "结论",
                "指标",
                "数值",
                "阈值",
                "单位",
                "依据",
                "说明",
                "假定",
            ],
        );
        for p in &r.parcels {
            for reason in &p.reasons {
                t.push(vec![
                    p.id.as_str().into(),
                    Cell::text(p.park_id.clone()),
                    Cell::text(p.holder.clone()),
                    Cell::text(p.industry_code.clone()),
                    Cell::num(Some(p.area_mu), 2),
                    p.verdict.label_zh().into(),
                    reason.indicator.as_str().into(),
                    value_cell(&reason.value),
                    value_cell(&reason.threshold),
                    reason.unit.into(),
                    reason.rule.as_str().into(),
                    Cell::text(reason.note.clone()),
                    Cell::text(reason.assumption.clone()),
                ]);
            }
        }
        let mut s = Table::new("汇总", &["项目", "数量"]);
        s.push(vec![
            "检查的工业宗地".into(),
            Cell::Int(r.summary.parcels_checked as i64),
        ]);
        s.push(vec!["低效宗地".into(), Cell::Int(r.summary.flagged as i64)]);
        s.push(vec![
            "低效宗地面积(亩)".into(),
            Cell::num(Some(r.summary.flagged_area_mu), 2),
        ]);
        s.push(vec![
            "需补充数据宗地（仅凭假定，不计入低效）".into(),
            Cell::Int(r.summary.needs_data as i64),
        ]);
        for (k, n) in &r.summary.by_reason {
            let name = r
                .parcels
                .iter()
                .flat_map(|p| &p.reasons)
                .find(|x| x.key == *k)
                .map_or(*k, |x| x.indicator.as_str());
            s.push(vec![
                format!("原因：{name}（{k}）").into(),
                Cell::Int(*n as i64),
            ]);
        }
        vec![t, s]
    }

    fn map_features(&self, catalog: &Catalog) -> Vec<MapFeature> {
        self.parcels
            .iter()
            .filter_map(|p| {
                let layer = catalog.layer(&p.layer)?;
                let index = layer.by_fid(p.fid)?;
                let mut props = flat(json!({
                    "id": p.id, "park_id": p.park_id, "holder": p.holder, "industry_code": p.industry_code,
                    "area_mu": p.area_mu, "reason_count": p.reasons.len(),
                    "verdict": p.verdict, "verdict_zh": p.verdict.label_zh(),
                }));
                props.insert(
                    "reasons".into(),
                    json!(p.reasons.iter().map(|x| x.indicator.clone()).collect::<Vec<_>>().join("；")),
                );
                props.insert(
                    "reasons_json".into(),
                    json!(serde_json::to_string(&p.reasons).expect("serialisable")),
                );
                Some(MapFeature::stored(layer, index, props))
            })
            .collect()
    }
}
