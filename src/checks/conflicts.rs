//! `conflicts` — 多规合一: 两规比对, red-line conflicts and the 差异图斑台账, the face of
//! [`crate::analysis::conflicts`]. Every ledger row owns its polygon, so the collection
//! serves geometry no layer holds, under the row's deterministic id.

use super::{
    flat, Analysis, CheckError, CollectionSpec, FeatureId, Info, Kind, MapFeature, OwnedGeometry,
    Param, Query, Queryable, Report, Shape,
};
use crate::analysis::conflicts::{conflicts, ByClass, ConflictOptions, ConflictReport};
use crate::analysis::Context;
use crate::catalog::Catalog;
use crate::model::records::Records;
use crate::model::value::m2_to_hectares;
use crate::model::{PlanKind, Role};
use crate::report::table::{Cell, Table};
use crate::rules::Rules;
use geo::{Geometry, MultiPolygon};
use serde_json::json;
use std::sync::Arc;

/// 多规合一冲突检查.
#[derive(Debug)]
pub struct Conflicts;

/// What the check is.
const INFO: Info = Info {
    id: "conflicts",
    aliases: &[],
    title_zh: "多规合一差异图斑",
    description: "多规合一: the 土规 and the 控规 (or any two land-use layers) overlaid into four classes, construction land in the ecological red line, on basic farmland or outside the urban development boundary, parcel land outside its park and 二类/三类 industry in the 产业过渡区 — one ledger row (差异图斑台账) per conflict polygon with a stable id",
    rule_packs: &["conflicts.toml"],
    params: &[Param::Park, Param::Compare, Param::Kind],
    collection: Some(CollectionSpec {
        queryables: &[
            Queryable::text("type", "差异类型"),
            Queryable::text("park_id", "所属园区"),
            Queryable::text("layer", "图层"),
            Queryable::boolean("sliver", "碎图斑"),
            Queryable::new("area_m2", "面积(㎡)", Kind::Number),
        ],
        tile_keys: &[
            "id",
            "type",
            "type_zh",
            "layer",
            "park_id",
            "area_m2",
            "area_mu",
            "sliver",
            "code",
            "other_code",
        ],
        date_property: None,
    }),
};

/// `A,B` as two names.
fn pair(param: &'static str, v: &str) -> Result<(String, String), CheckError> {
    match v.split(',').map(str::trim).collect::<Vec<_>>()[..] {
        [a, b] if !a.is_empty() && !b.is_empty() => Ok((a.to_string(), b.to_string())),
        _ => Err(CheckError::BadParam {
            param,
            why: format!("'{v}' is not two names separated by a comma (A,B)"),
        }),
    }
}

/// The layers `--kind A,B` names: the first plan layer of each kind.
fn layers_of_kinds(catalog: &Catalog, v: &str) -> Result<(String, String), CheckError> {
    let (a, b) = pair("kind", v)?;
    let layer = |k: &str| {
        let kind = PlanKind::ALL
            .into_iter()
            .find(|p| p.as_str() == k)
            .ok_or_else(|| CheckError::BadParam {
                param: "kind",
                why: format!(
                    "'{k}' is not a plan kind: use {}",
                    PlanKind::ALL.map(|p| p.as_str()).join(", ")
                ),
            })?;
        catalog
            .by_role(Role::Plan)
            .find(|l| matches!(&l.records, Records::Plan(Some(x), _) if *x == kind))
            .map(|l| l.info.name.clone())
            .ok_or_else(|| CheckError::BadParam {
                param: "kind",
                why: format!(
                    "the store has no plan layer of kind {k} ({}): ingest one with --role plan --kind {k}",
                    kind.label_zh()
                ),
            })
    };
    Ok((layer(&a)?, layer(&b)?))
}

impl Analysis for Conflicts {
    fn info(&self) -> &'static Info {
        &INFO
    }
    fn layers(&self) -> &'static [Role] {
        &[Role::Parks, Role::Parcels, Role::Plan, Role::Redline]
    }

    fn run(
        &self,
        ctx: &Context<'_>,
        rules: &Rules,
        q: &Query,
    ) -> Result<Arc<dyn Report>, CheckError> {
        let compare = match (q.option(Param::Compare), q.option(Param::Kind)) {
            (Some(_), Some(_)) => {
                return Err(CheckError::BadParam {
                    param: "kind",
                    why: "give either compare (two layers) or kind (two plan kinds), not both"
                        .into(),
                })
            }
            (Some(c), None) => Some(pair("compare", c)?),
            (None, Some(k)) => Some(layers_of_kinds(ctx.catalog, k)?),
            (None, None) => None,
        };
        let opts = ConflictOptions {
            park: q.park.clone(),
            compare,
        };
        Ok(Arc::new(conflicts(ctx, &rules.conflicts, &opts)?))
    }
}

fn class_rows(t: &mut Table, label: &str, a: &ByClass<f64>, n: &ByClass<usize>, total: f64) {
    let share = |v: f64| (total > 0.0).then(|| v / total);
    for (name, area, count) in [
        ("两规均为建设用地", a.both_construction, n.both_construction),
        (
            "土规建设·城规非建设",
            a.a_only_construction,
            n.a_only_construction,
        ),
        (
            "城规建设·土规非建设",
            a.b_only_construction,
            n.b_only_construction,
        ),
        (
            "两规均为非建设用地",
            a.both_non_construction,
            n.both_non_construction,
        ),
    ] {
        t.push(vec![
            label.into(),
            name.into(),
            Cell::Int(count as i64),
            Cell::num(Some(area), 2),
            Cell::num(Some(m2_to_hectares(area)), 4),
            Cell::percent(share(area)),
        ]);
    }
}

impl Report for ConflictReport {
    fn tables(&self) -> Vec<Table> {
        let mut ledger = Table::new(
            "差异图斑台账",
            &[
                "图斑编号",
                "差异类型代码",
                "差异类型",
                "图层",
                "对比图层",
                "所属园区",
                "面积(㎡)",
                "面积(公顷)",
                "面积(亩)",
                "面积口径",
                "碎图斑",
                "要素编号",
                "对比要素编号",
                "用地代码",
                "用地名称",
                "分类体系",
                "用地类别",
                "对比用地代码",
                "对比用地名称",
                "对比分类体系",
                "对比用地类别",
                "宗地编号",
                "红线要素编号",
                "红线要素名称",
                "距离(m)",
                "要求距离(m)",
                "建议调整",
                "协调方式",
                "调整缘由",
                "处置状态",
            ],
        );
        for c in &self.conflicts {
            ledger.push(vec![
                c.id.as_str().into(),
                c.kind.as_str().into(),
                c.type_zh.into(),
                c.layer.as_str().into(),
                Cell::text(c.other_layer.clone()),
                Cell::text(c.park_id.clone()),
                Cell::num(Some(c.area_m2), 2),
                Cell::num(Some(c.area_ha), 4),
                Cell::num(Some(c.area_mu), 2),
                c.measured.as_str().into(),
                (if c.sliver { "是" } else { "否" }).into(),
                c.feature_id.as_str().into(),
                Cell::text(c.other_feature_id.clone()),
                Cell::text(c.code.clone()),
                Cell::text(c.name.clone()),
                Cell::text(c.system),
                c.category.label_zh().into(),
                Cell::text(c.other_code.clone()),
                Cell::text(c.other_name.clone()),
                Cell::text(c.other_system),
                Cell::text(c.other_category.map(|k| k.label_zh())),
                Cell::text(c.parcel_id.clone()),
                Cell::text(c.redline_id.clone()),
                Cell::text(c.redline_name.clone()),
                Cell::num(c.distance_m, 1),
                Cell::num(c.required_m, 1),
                c.suggestion.as_str().into(),
                Cell::text(c.coordination.clone()),
                Cell::text(c.adjustment_reason.clone()),
                Cell::text(c.disposal_status.clone()),
            ]);
        }
        let mut classes = Table::new(
            "两规比对",
            &[
                "范围",
                "分类结果",
                "地块个数",
                "面积(㎡)",
                "面积(公顷)",
                "占比(%)",
            ],
        );
        let mut pairs = Table::new(
            "用地对照",
            &[
                "范围",
                "图层A代码",
                "图层B代码",
                "分类结果",
                "用地性质不一致",
                "地块个数",
                "面积(㎡)",
            ],
        );
        for c in &self.comparisons {
            let label = match &c.park_id {
                Some(p) => format!("园区 {p}（{} × {}）", c.a, c.b),
                None => format!("全部比对范围（{} × {}）", c.a, c.b),
            };
            class_rows(&mut classes, &label, &c.classes, &c.counts, c.extent_m2);
            for p in &c.pairs {
                pairs.push(vec![
                    label.as_str().into(),
                    Cell::text(p.a_code.clone()),
                    Cell::text(p.b_code.clone()),
                    Cell::text(p.class.map(|k| k.as_str())),
                    (if p.category_mismatch { "是" } else { "否" }).into(),
                    Cell::Int(p.count as i64),
                    Cell::num(Some(p.area_m2), 2),
                ]);
            }
        }
        let mut summary = Table::new(
            "汇总",
            &[
                "差异类型代码",
                "差异类型",
                "图斑数",
                "面积(㎡)",
                "面积(亩)",
                "碎图斑数",
                "碎图斑面积(㎡)",
            ],
        );
        for t in &self.summary.by_type {
            summary.push(vec![
                t.kind.as_str().into(),
                t.type_zh.into(),
                Cell::Int(t.count as i64),
                Cell::num(Some(t.area_m2), 2),
                Cell::num(Some(t.area_mu), 2),
                Cell::Int(t.slivers as i64),
                Cell::num(Some(t.sliver_m2), 2),
            ]);
        }
        for n in &self.summary.not_checked {
            summary.push(vec![
                "not_checked".into(),
                "未检查".into(),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                n.as_str().into(),
            ]);
        }
        vec![ledger, classes, pairs, summary]
    }

    /// Every ledger row with its own polygon, under its ledger id.
    fn map_features(&self, _catalog: &Catalog) -> Vec<MapFeature> {
        self.conflicts
            .iter()
            .filter_map(|c| {
                let lonlat = c.lonlat.clone()?;
                let mut props = flat(serde_json::to_value(c).expect("serialisable"));
                props.insert("category_zh".into(), json!(c.category.label_zh()));
                props.insert(
                    "other_category_zh".into(),
                    json!(c.other_category.map(|k| k.label_zh())),
                );
                Some(MapFeature {
                    id: FeatureId::Text(c.id.as_str().into()),
                    shape: Shape::Owned(Arc::new(OwnedGeometry::new(
                        Geometry::MultiPolygon(lonlat),
                        Some(Geometry::MultiPolygon(MultiPolygon::clone(&c.planar))),
                    ))),
                    properties: props,
                })
            })
            .collect()
    }
}
