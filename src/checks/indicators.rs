//! `indicators` — 开发区土地集约利用评价指标: the face of [`crate::analysis::indicators`].

use super::{flat, Analysis, ById, CheckError, Info, MapFeature, Param, Query, Report};
use crate::analysis::indicators::{park_indicators, IndicatorsReport};
use crate::analysis::Context;
use crate::catalog::Catalog;
use crate::model::Role;
use crate::report::table::{Cell, Table};
use crate::rules::Rules;
use serde_json::{json, Value};
use std::sync::Arc;

/// 集约利用评价指标.
#[derive(Debug)]
pub struct Indicators;

/// What the check is.
const INFO: Info = Info {
    id: "indicators",
    aliases: &[],
    title_zh: "土地集约利用评价指标",
    description: "开发区土地集约利用评价: each park's development, supply, built-up and idle rates, intensity and efficiency indicators, with their inputs and national reference values",
    rule_packs: &["indicators.toml"],
    params: &[Param::AsOf, Param::Park],
    collection: None,
};

impl Analysis for Indicators {
    fn info(&self) -> &'static Info {
        &INFO
    }
    fn layers(&self) -> &'static [Role] {
        &[
            Role::Parks,
            Role::Parcels,
            Role::Buildings,
            Role::Plan,
            Role::Redline,
        ]
    }
    fn run(
        &self,
        ctx: &Context<'_>,
        rules: &Rules,
        q: &Query,
    ) -> Result<Arc<dyn Report>, CheckError> {
        Ok(Arc::new(park_indicators(
            ctx,
            rules,
            q.as_of,
            q.park.as_deref(),
        )))
    }
}

impl Report for IndicatorsReport {
    fn tables(&self) -> Vec<Table> {
        let r = self;
        let mut t = Table::new(
            "集约利用指标",
            &[
                "园区编号",
                "园区名称",
                "园区类型",
                "指标",
                "数值",
                "单位",
                "全国参考值",
                "计算式",
                "计算依据",
                "说明",
            ],
        );
        for p in &r.parks {
            for i in &p.indicators {
                let note = (!i.missing.is_empty())
                    .then(|| format!("未记录{}，数值未知", i.missing.join("、")));
                let inputs: Vec<String> = i
                    .inputs
                    .iter()
                    .filter_map(|(k, v)| match v {
                        Value::Number(x) => Some(format!("{k} = {:.2}", x.as_f64()?)),
                        Value::String(t) => Some(format!("{k} = {t}")),
                        _ => None,
                    })
                    .collect();
                t.push(vec![
                    p.id.as_str().into(),
                    Cell::text(p.name.clone()),
                    p.park_type.as_str().into(),
                    i.name.into(),
                    Cell::num(i.value, 4),
                    i.unit.into(),
                    Cell::num(i.benchmark, 4),
                    i.formula.into(),
                    inputs.join("; ").into(),
                    Cell::text(note),
                ]);
            }
        }
        vec![t]
    }

    fn map_features(&self, catalog: &Catalog) -> Vec<MapFeature> {
        let mut by_id = ById::new(catalog);
        self.parks
            .iter()
            .filter_map(|p| {
                let (layer, index) = by_id.park(&p.id)?;
                let mut props = flat(json!({"id": p.id, "name": p.name, "type": p.park_type}));
                for i in &p.indicators {
                    props.insert(i.key.into(), json!(i.value));
                    if !i.missing.is_empty() {
                        props.insert(format!("{}_missing", i.key), json!(i.missing.join("、")));
                    }
                }
                Some(MapFeature::stored(layer, index, props))
            })
            .collect()
    }
}
