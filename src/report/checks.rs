//! The report tables and map features of each check.

use super::geojson::write_feature;
use super::table::{Cell, Table};
use crate::analysis::idle::IdleReport;
use crate::analysis::indicators::IndicatorsReport;
use crate::analysis::intensity::UnderusedReport;
use crate::analysis::mujun::MujunReport;
use crate::analysis::quality::QualityReport;
use crate::analysis::zoning::{LayerShares, ZoningReport};
use crate::analysis::CheckReport;
use crate::catalog::Catalog;
use crate::model::value::{m2_to_hectares, m2_to_mu};
use serde_json::{json, Map, Value};

fn idle_tables(r: &IdleReport) -> Vec<Table> {
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

fn value_cell(v: &Value) -> Cell {
    match v {
        Value::Number(n) => Cell::num(n.as_f64(), 4),
        Value::String(s) => s.as_str().into(),
        Value::Null => Cell::Empty,
        other => other.to_string().into(),
    }
}

fn underused_tables(r: &UnderusedReport) -> Vec<Table> {
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

fn mujun_tables(r: &MujunReport) -> Vec<Table> {
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

fn share_rows(
    t: &mut Table,
    park: &str,
    name: &Option<String>,
    kind: &str,
    layer: &str,
    shares: &[crate::analysis::zoning::CategoryShare],
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

fn zoning_tables(r: &ZoningReport) -> Vec<Table> {
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
    let mut straddle = Table::new(
        "跨界宗地",
        &[
            "园区编号",
            "图层",
            "宗地编号",
            "园区内面积(㎡)",
            "园区外面积(㎡)",
        ],
    );
    let mut overlaps = Table::new(
        "重叠宗地",
        &["园区编号", "图层", "宗地A", "宗地B", "重叠面积(㎡)"],
    );
    let mut buffer = Table::new(
        "产业过渡区",
        &[
            "园区编号",
            "工业宗地",
            "污染类别",
            "居住宗地",
            "距离(m)",
            "要求(m)",
        ],
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
        for s in &p.straddling {
            straddle.push(vec![
                p.id.as_str().into(),
                s.layer.as_str().into(),
                s.id.as_str().into(),
                Cell::num(Some(s.inside_m2), 2),
                Cell::num(Some(s.outside_m2), 2),
            ]);
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
        for b in &p.buffer {
            buffer.push(vec![
                p.id.as_str().into(),
                b.industrial.as_str().into(),
                Cell::Int(i64::from(b.pollution_class)),
                b.residential.as_str().into(),
                Cell::num(Some(b.distance_m), 1),
                Cell::num(Some(b.required_m), 1),
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
    vec![parks, t, straddle, overlaps, buffer, unknown]
}

fn indicator_tables(r: &IndicatorsReport) -> Vec<Table> {
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

fn quality_tables(r: &QualityReport) -> Vec<Table> {
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

/// The tables of a check's report.
pub fn tables(r: &CheckReport) -> Vec<Table> {
    match r {
        CheckReport::Idle(r) => idle_tables(r),
        CheckReport::Underused(r) => underused_tables(r),
        CheckReport::Mujun(r) => mujun_tables(r),
        CheckReport::Zoning(r) => zoning_tables(r),
        CheckReport::Indicators(r) => indicator_tables(r),
        CheckReport::Quality(r) => quality_tables(r),
    }
}

/// Flatten a JSON object into scalar properties (nested objects as `parent_child`, arrays as
/// JSON text), as QGIS reads them best.
fn flatten(prefix: &str, v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}_{k}")
                };
                flatten(&key, x, out);
            }
        }
        Value::Array(_) => {
            out.insert(prefix.to_string(), Value::String(v.to_string()));
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// One map feature: a layer's feature (by fid) with properties.
pub struct MapFeature {
    /// The catalog layer.
    pub layer: String,
    /// Its fid.
    pub fid: i64,
    /// Properties.
    pub properties: Map<String, Value>,
}

/// The features a check puts on a map: flagged parcels, or park polygons with their figures.
pub fn map_features(r: &CheckReport, catalog: &Catalog) -> Vec<MapFeature> {
    let flat = |v: Value| {
        let mut m = Map::new();
        flatten("", &v, &mut m);
        m
    };
    let park_fid = |id: &str| {
        catalog.by_role(crate::model::Role::Parks).find_map(|l| {
            let i = l.parks()?.iter().position(|p| &*p.id == id)?;
            Some((l.info.name.clone(), l.features[i].fid))
        })
    };
    let parcel_fid = |layer: &str, id: &str| {
        let l = catalog.layer(layer)?;
        let i = l.parcels()?.iter().position(|p| &*p.id == id)?;
        Some(l.features[i].fid)
    };
    match r {
        CheckReport::Idle(r) => r
            .parcels
            .iter()
            .map(|p| {
                let mut props = flat(serde_json::to_value(p).expect("serialisable"));
                props.insert("finding_zh".into(), json!(p.finding.finding.label_zh()));
                props.insert("track_zh".into(), json!(p.finding.track.map(|t| t.label_zh())));
                MapFeature { layer: p.layer.clone(), fid: p.fid, properties: props }
            })
            .collect(),
        CheckReport::Underused(r) => r
            .parcels
            .iter()
            .map(|p| {
                let mut props = flat(json!({
                    "id": p.id, "park_id": p.park_id, "holder": p.holder, "industry_code": p.industry_code,
                    "area_mu": p.area_mu, "reason_count": p.reasons.len(),
                    "verdict": p.verdict, "verdict_zh": p.verdict.label_zh(),
                }));
                props.insert("reasons".into(), json!(p.reasons.iter().map(|x| x.indicator.clone()).collect::<Vec<_>>().join("；")));
                props.insert("reasons_json".into(), json!(serde_json::to_string(&p.reasons).expect("serialisable")));
                MapFeature { layer: p.layer.clone(), fid: p.fid, properties: props }
            })
            .collect(),
        CheckReport::Mujun(r) => r
            .firms
            .iter()
            .flat_map(|f| {
                let parcels_layer = catalog.by_role(crate::model::Role::Parcels).next().map(|l| l.info.name.clone()).unwrap_or_default();
                f.parcels.iter().filter_map(move |id| {
                    let fid = parcel_fid(&parcels_layer, id)?;
                    let props = flat(json!({"firm": f.id, "parcel": id, "class": f.class, "score": f.score, "rank": f.rank, "park_id": f.park_id}));
                    Some(MapFeature { layer: parcels_layer.clone(), fid, properties: props })
                })
            })
            .collect(),
        CheckReport::Zoning(r) => r
            .parks
            .iter()
            .filter_map(|p| {
                let (layer, fid) = park_fid(&p.id)?;
                let mut props = flat(json!({"id": p.id, "name": p.name, "type": p.park_type, "area_ha": p.area_ha, "pass": p.pass,
                    "straddling": p.straddling.len(), "overlaps": p.overlaps.len(), "buffer_conflicts": p.buffer.len()}));
                for c in &p.categories {
                    props.insert(format!("share_{}", c.category), json!(c.share));
                    props.insert(format!("pass_{}", c.category), json!(c.pass));
                }
                Some(MapFeature { layer, fid, properties: props })
            })
            .collect(),
        CheckReport::Indicators(r) => r
            .parks
            .iter()
            .filter_map(|p| {
                let (layer, fid) = park_fid(&p.id)?;
                let mut props = flat(json!({"id": p.id, "name": p.name, "type": p.park_type}));
                for i in &p.indicators {
                    props.insert(i.key.into(), json!(i.value));
                    if !i.missing.is_empty() {
                        props.insert(format!("{}_missing", i.key), json!(i.missing.join("、")));
                    }
                }
                Some(MapFeature { layer, fid, properties: props })
            })
            .collect(),
        CheckReport::Quality(r) => r
            .issues
            .iter()
            .filter_map(|i| {
                let fid = parcel_fid(&i.layer, &i.id)?;
                let props = flat(json!({"kind": i.kind, "id": i.id, "park_id": i.park_id, "message": i.message}));
                Some(MapFeature { layer: i.layer.clone(), fid, properties: props })
            })
            .collect(),
    }
}

/// Write map features as a GeoJSON FeatureCollection (lon/lat).
pub fn write_geojson(features: &[MapFeature], catalog: &Catalog, out: &mut String) {
    out.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    let mut first = true;
    for (n, f) in features.iter().enumerate() {
        let geometry = catalog
            .layer(&f.layer)
            .and_then(|l| l.by_fid(f.fid).map(|i| l.features[i].lonlat.clone()))
            .flatten();
        if !first {
            out.push(',');
        }
        first = false;
        let props = serde_json::to_string(&f.properties).expect("serialisable");
        write_feature(out, n as i64 + 1, geometry.as_ref(), &props);
    }
    out.push_str("]}");
}
