//! `mujun` — 亩均论英雄, the per-mu evaluation of firms: the face of
//! [`crate::analysis::per_mu`]. The id stays `mujun`, the name bureaus use.

use super::{flat, Analysis, ById, CheckError, Info, MapFeature, Param, Query, Report};
use crate::analysis::per_mu::{per_mu, PerMuReport};
use crate::analysis::Context;
use crate::catalog::Catalog;
use crate::model::Role;
use crate::report::table::{Cell, Table};
use crate::rules::Rules;
use serde_json::json;
use std::sync::Arc;

/// 亩均论英雄 — per-mu evaluation.
#[derive(Debug)]
pub struct PerMu;

/// What the check is.
const INFO: Info = Info {
    id: "mujun",
    aliases: &["per_mu"],
    title_zh: "亩均效益评价",
    description: "亩均论英雄: each firm's weighted per-mu score (tax, value added, revenue, energy, labour, R&D per mu of its industrial land) and its A/B/C/D class",
    rule_packs: &["mujun.toml"],
    params: &[Param::AsOf, Param::Park],
    collection: None,
};

impl Analysis for PerMu {
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
        Ok(Arc::new(per_mu(
            ctx,
            &rules.per_mu,
            q.as_of,
            q.park.as_deref(),
        )))
    }
}

impl Report for PerMuReport {
    fn tables(&self) -> Vec<Table> {
        let r = self;
        let mut headers: Vec<String> = [
            "排名",
            "企业",
            "等级",
            "综合得分",
            "所属园区",
            "用地(亩)",
            "规下企业",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let keys: Vec<(String, String)> = r
            .firms
            .iter()
            .find(|f| !f.small)
            .or(r.firms.first())
            .map(|f| {
                f.indicators
                    .iter()
                    .map(|i| (i.key.clone(), format!("{}({})", i.name, i.unit)))
                    .collect()
            })
            .unwrap_or_default();
        headers.extend(keys.iter().map(|(_, h)| h.clone()));
        headers.push("未评级原因".into());
        let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut t = Table::new("亩均效益评价", &refs);
        for f in &r.firms {
            let mut row = vec![
                Cell::num(f.rank.map(|r| r as f64), 0),
                f.id.as_str().into(),
                f.class.as_str().into(),
                Cell::num(f.score, 2),
                Cell::text(f.park_id.clone()),
                Cell::num(Some(f.figures.area_mu), 2),
                (if f.small { "是" } else { "否" }).into(),
            ];
            for (k, _) in &keys {
                row.push(Cell::num(f.figures.indicator(k), 4));
            }
            row.push(Cell::text(f.ungraded.clone()));
            t.push(row);
        }
        let mut s = Table::new("汇总", &["等级", "企业数"]);
        for (k, n) in &r.summary {
            s.push(vec![k.as_str().into(), Cell::Int(*n as i64)]);
        }
        vec![t, s]
    }

    /// Every parcel of every firm, with the firm's class (one id map per layer, built once).
    fn map_features(&self, catalog: &Catalog) -> Vec<MapFeature> {
        let Some(parcels) = catalog.by_role(Role::Parcels).next() else {
            return vec![];
        };
        let mut by_id = ById::new(catalog);
        let mut out = vec![];
        for f in &self.firms {
            for id in &f.parcels {
                let Some((layer, index)) = by_id.get(&parcels.info.name, id) else {
                    continue;
                };
                let props = flat(
                    json!({"firm": f.id, "parcel": id, "class": f.class, "score": f.score, "rank": f.rank, "park_id": f.park_id}),
                );
                out.push(MapFeature::stored(layer, index, props));
            }
        }
        out
    }
}
