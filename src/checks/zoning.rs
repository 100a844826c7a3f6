//! `zoning` — 园区用地结构: the face of [`crate::analysis::zoning`].

use super::{
    flat, Analysis, ById, CheckError, CollectionSpec, Info, Kind, MapFeature, Param, Query,
    Queryable, Report,
};
use crate::analysis::zoning::{zoning, CategoryShare, LayerShares, ZoningReport};
use crate::analysis::Context;
use crate::catalog::Catalog;
use crate::model::value::m2_to_hectares;
use crate::model::Role;
use crate::report::table::{Cell, Table};
use crate::rules::Rules;
use serde_json::json;
use std::sync::Arc;

/// 园区用地结构.
#[derive(Debug)]
pub struct Zoning;

/// What the collection serves.
const COLLECTION: CollectionSpec = CollectionSpec {
    queryables: &[
        Queryable::text("id", "园区编号"),
        Queryable::text("type", "园区类型"),
        Queryable::boolean("pass", "结构达标"),
        Queryable::new("area_ha", "面积(公顷)", Kind::Number),
    ],
    tile_keys: &["id", "name", "type", "pass"],
    date_property: None,
};

/// What the check is.
const INFO: Info = Info {
    id: "zoning",
    aliases: &[],
    title_zh: "园区用地结构",
    description:
        "园区用地结构: each park with its functional land shares against the bounds of its type",
    rule_packs: &["zoning.toml", "indicators.toml"],
    params: &[Param::AsOf, Param::Park],
    collection: Some(COLLECTION),
};

impl Analysis for Zoning {
    fn info(&self) -> &'static Info {
        &INFO
    }
    fn layers(&self) -> &'static [Role] {
        &[Role::Parks, Role::Parcels, Role::Plan]
    }
    fn parcel_fields(&self) -> Option<&'static [&'static str]> {
        Some(&["id", "park_id", "land_use_code", "land_use_name"])
    }
    fn run(
        &self,
        ctx: &Context<'_>,
        rules: &Rules,
        q: &Query,
    ) -> Result<Arc<dyn Report>, CheckError> {
        Ok(Arc::new(zoning(
            ctx,
            &rules.zoning,
            &rules.indicators,
            q.park.as_deref(),
        )))
    }
}

impl Report for ZoningReport {
    fn tables(&self) -> Vec<Table> {
        let r = self;
        let mut t = Table::new(
            "用地结构",
            &[
                "园区编号",
                "园区名称",
                "口径",
                "图层",
                "用地类别",
                "面积(公顷)",
                "面积(亩)",
                "占比(%)",
                "下限(%)",
                "上限(%)",
                "结论",
                "余量(百分点)",
            ],
        );
        let mut overlaps = Table::new(
            "重叠宗地",
            &["园区编号", "图层", "宗地A", "宗地B", "重叠面积(㎡)"],
        );
        let mut unknown = Table::new(
            "未识别地类",
            &["园区编号", "图层", "地类代码", "宗数", "面积(㎡)"],
        );
        let mut parks = Table::new(
            "园区",
            &[
                "园区编号",
                "园区名称",
                "园区类型",
                "类型来源",
                "面积(公顷)",
                "面积(亩)",
                "宗地覆盖(公顷)",
                "未覆盖(公顷)",
                "现状达标",
            ],
        );
        for p in &r.parks {
            parks.push(vec![
                p.id.as_str().into(),
                Cell::text(p.name.clone()),
                p.park_type.as_str().into(),
                p.type_source.as_str().into(),
                Cell::num(Some(p.area_ha), 4),
                Cell::num(Some(p.area_mu), 2),
                Cell::num(Some(m2_to_hectares(p.covered_m2)), 4),
                Cell::num(Some(m2_to_hectares(p.uncovered_m2)), 4),
                (if p.pass { "达标" } else { "不达标" }).into(),
            ]);
            share_rows(
                &mut t,
                &p.id,
                &p.name,
                "现状(宗地)",
                &p.layers.join("、"),
                &p.categories,
            );
            for LayerShares {
                layer,
                kind,
                categories,
                ..
            } in &p.plans
            {
                share_rows(
                    &mut t,
                    &p.id,
                    &p.name,
                    &format!("规划({kind})"),
                    layer,
                    categories,
                );
            }
            for o in &p.overlaps {
                overlaps.push(vec![
                    p.id.as_str().into(),
                    o.layer.as_str().into(),
                    o.a.as_str().into(),
                    o.b.as_str().into(),
                    Cell::num(Some(o.area_m2), 2),
                ]);
            }
            for u in p
                .unknown_codes
                .iter()
                .chain(p.plans.iter().flat_map(|l| &l.unknown_codes))
            {
                unknown.push(vec![
                    p.id.as_str().into(),
                    u.layer.as_str().into(),
                    u.code.as_str().into(),
                    Cell::Int(u.count as i64),
                    Cell::num(Some(u.area_m2), 2),
                ]);
            }
        }
        vec![parks, t, overlaps, unknown]
    }

    fn map_features(&self, catalog: &Catalog) -> Vec<MapFeature> {
        let mut by_id = ById::new(catalog);
        self.parks
            .iter()
            .filter_map(|p| {
                let (layer, index) = by_id.park(&p.id)?;
                let mut props = flat(json!({"id": p.id, "name": p.name, "type": p.park_type, "area_ha": p.area_ha, "pass": p.pass,
                    "overlaps": p.overlaps.len()}));
                for c in &p.categories {
                    props.insert(format!("share_{}", c.category), json!(c.share));
                    props.insert(format!("pass_{}", c.category), json!(c.pass));
                }
                Some(MapFeature::stored(layer, index, props))
            })
            .collect()
    }
}

fn share_rows(
    t: &mut Table,
    park: &str,
    name: &Option<String>,
    kind: &str,
    layer: &str,
    shares: &[CategoryShare],
) {
    for c in shares {
        t.push(vec![
            park.into(),
            Cell::text(name.clone()),
            kind.into(),
            layer.into(),
            c.label.into(),
            Cell::num(Some(c.area_ha), 4),
            Cell::num(Some(c.area_mu), 2),
            Cell::percent(Some(c.share)),
            Cell::percent(c.min),
            Cell::percent(c.max),
            (if c.min.is_none() && c.max.is_none() {
                "—"
            } else if c.pass {
                "达标"
            } else {
                "不达标"
            })
            .into(),
            Cell::percent(c.margin),
        ]);
    }
}
