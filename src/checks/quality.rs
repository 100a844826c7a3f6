//! `quality` — 数据质量: the face of [`crate::analysis::quality`].

use super::{flat, Analysis, ById, CheckError, Info, MapFeature, Param, Query, Report};
use crate::analysis::quality::{quality, QualityReport};
use crate::analysis::Context;
use crate::catalog::Catalog;
use crate::model::Role;
use crate::report::table::{Cell, Table};
use crate::rules::Rules;
use serde_json::json;
use std::sync::Arc;

/// 数据质量.
#[derive(Debug)]
pub struct Quality;

/// What the check is.
const INFO: Info = Info {
    id: "quality",
    aliases: &[],
    title_zh: "数据质量检查",
    description: "数据质量: recorded areas that disagree with the drawing, parcels outside every park, unknown codes, contradicting attributes and overlapping parcels",
    rule_packs: &["quality.toml"],
    params: &[Param::AsOf, Param::Park],
    collection: None,
};

impl Analysis for Quality {
    fn info(&self) -> &'static Info {
        &INFO
    }
    fn layers(&self) -> &'static [Role] {
        &[Role::Parks, Role::Parcels]
    }
    fn run(
        &self,
        ctx: &Context<'_>,
        rules: &Rules,
        q: &Query,
    ) -> Result<Arc<dyn Report>, CheckError> {
        Ok(Arc::new(quality(ctx, rules, q.park.as_deref())))
    }
}

impl Report for QualityReport {
    fn tables(&self) -> Vec<Table> {
        let r = self;
        let mut t = Table::new(
            "数据质量",
            &["问题类型", "图层", "宗地编号", "所属园区", "说明"],
        );
        for i in &r.issues {
            t.push(vec![
                crate::analysis::quality::kind_zh(i.kind).into(),
                i.layer.as_str().into(),
                i.id.as_str().into(),
                Cell::text(i.park_id.clone()),
                i.message.as_str().into(),
            ]);
        }
        let mut s = Table::new("汇总", &["问题类型", "数量"]);
        for (k, n) in &r.summary {
            s.push(vec![
                crate::analysis::quality::kind_zh(k).into(),
                Cell::Int(*n as i64),
            ]);
        }
        vec![t, s]
    }

    fn map_features(&self, catalog: &Catalog) -> Vec<MapFeature> {
        let mut by_id = ById::new(catalog);
        self.issues
            .iter()
            .filter_map(|i| {
                let (layer, index) = by_id.get(&i.layer, &i.id)?;
                let props = flat(
                    json!({"kind": i.kind, "id": i.id, "park_id": i.park_id, "message": i.message}),
                );
                Some(MapFeature::stored(layer, index, props))
            })
            .collect()
    }
}
