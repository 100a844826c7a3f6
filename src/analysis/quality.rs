//! 数据质量 — what is wrong with the parcel data itself: recorded areas that disagree with the
//! drawing, parcels outside every park, codes no system knows, attributes that contradict
//! each other, and overlapping parcels.

use super::context::{classify, Context, ParcelRef, ParkRef};
use crate::geom::clip::intersection_area;
use crate::model::Role;
use crate::rules::Rules;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One problem found.
#[derive(Clone, Debug, Serialize)]
pub struct Issue {
    /// What kind (area_mismatch, outside_parks, park_mismatch, unknown_park, unknown_code,
    /// unknown_industry_code, start_before_contract …).
    pub kind: &'static str,
    /// The layer.
    pub layer: String,
    /// The parcel.
    pub id: String,
    /// Its park, when it has one.
    pub park_id: Option<String>,
    /// What is wrong, in words.
    pub message: String,
    /// The figures.
    pub figures: Value,
}

/// The Chinese name of an issue kind, for tables.
pub fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "area_mismatch" => "面积不符",
        "outside_parks" => "不在园区内",
        "unknown_park" => "所属园区不存在",
        "park_mismatch" => "所属园区与位置不符",
        "unknown_code" => "地类代码无法识别",
        "unknown_industry_code" => "行业代码无法对照",
        "start_before_contract" => "动工早于签约",
        "completion_before_start" => "竣工早于动工",
        "agreed_completion_before_start" => "约定竣工早于约定动工",
        "invested_exceeds_total" => "已投资超过总投资",
        "developed_exceeds_planned" => "已开发面积超过应开发面积",
        "far_inconsistent" => "容积率与建筑面积不符",
        "overlap" => "宗地重叠",
        _ => "其他",
    }
}

/// The report.
#[derive(Clone, Debug, Serialize)]
pub struct QualityReport {
    /// Problems, parcel by parcel.
    pub issues: Vec<Issue>,
    /// Problems per kind.
    pub summary: BTreeMap<&'static str, usize>,
    /// Parcels checked.
    pub parcels_checked: usize,
}

fn parcel_issues(ctx: &Context<'_>, r: &ParcelRef<'_>, rules: &Rules) -> Vec<Issue> {
    let p = r.parcel();
    let park_id = ctx.park_id_of(r);
    let mut out = vec![];
    let mut issue = |kind, message: String, figures: Value| {
        out.push(Issue {
            kind,
            layer: r.layer.info.name.clone(),
            id: p.id.to_string(),
            park_id: park_id.clone(),
            message,
            figures,
        })
    };
    let drawn = r.area_m2();
    if let Some(recorded) = p.recorded_area.filter(|_| drawn > 0.0) {
        let diff = (recorded - drawn) / drawn;
        if diff.abs() > rules.quality.area_tolerance {
            issue(
                "area_mismatch",
                format!(
                    "宗地面积 {recorded:.2} ㎡ 与图形面积 {drawn:.2} ㎡ 相差 {:+.1}%（容差 {:.0}%）",
                    diff * 100.0,
                    rules.quality.area_tolerance * 100.0
                ),
                json!({"recorded_m2": recorded, "drawn_m2": drawn, "difference_share": diff}),
            );
        }
    }
    // Where the parcel lies is read from its geometry: 所属园区 is what the record claims.
    let f = &r.layer.features[r.index];
    let overlaps = |k: &ParkRef<'_>| {
        let kf = &k.layer.features[k.index];
        match (kf.planar.as_ref(), f.planar.as_ref(), kf.bbox, f.bbox) {
            (Some(a), Some(b), Some(ba), Some(bb)) => {
                geo::Intersects::intersects(&ba, &bb) && intersection_area(a, b) > 0.0
            }
            _ => false,
        }
    };
    let around = ctx.park_around(r);
    let in_a_park = around.is_some() || ctx.parks().iter().any(overlaps);
    if !in_a_park && !ctx.parks().is_empty() {
        issue(
            "outside_parks",
            "宗地不在任何园区四至范围内".into(),
            json!({"area_m2": drawn, "recorded_park": p.park_id.as_deref()}),
        );
    }
    if let Some(recorded) = p.park_id.as_deref().filter(|_| in_a_park) {
        let lies_in = around.map(|k| k.park().id.to_string());
        match ctx.park(recorded) {
            None => issue(
                "unknown_park",
                format!("所属园区 {recorded} 不是库中的园区"),
                json!({"recorded_park": recorded, "lies_in": lies_in}),
            ),
            // A parcel whose interior point lies in its recorded park meets it: the exact
            // overlay is only needed for the others.
            Some(k) if !around.is_some_and(|a| std::ptr::eq(a, k)) && !overlaps(k) => issue(
                "park_mismatch",
                format!(
                    "所属园区为 {recorded}，但宗地位于 {}",
                    lies_in.as_deref().unwrap_or("其他园区")
                ),
                json!({"recorded_park": recorded, "lies_in": lies_in}),
            ),
            Some(_) => {}
        }
    }
    let code = p.land_use_code.as_deref();
    if classify(r.layer, code, p.land_use_name.as_deref()).is_none() {
        let why = match (r.layer.info.land_system, code) {
            (_, None) => "无地类代码，也无可识别的地类名称".to_string(),
            (None, Some(c)) => {
                format!("地类代码 {c}：图层的分类体系未确定")
            }
            (Some(s), Some(c)) => format!("地类代码 {c} 不在 {s} 中"),
        };
        issue(
            "unknown_code",
            why,
            json!({"code": code, "system": r.layer.info.land_system.map(|s| s.as_str())}),
        );
    }
    if let Some(c) = p.industry_code.as_deref() {
        if rules.industries.unresolved(c) {
            issue(
                "unknown_industry_code",
                format!("行业代码 {c} 对应不到 GB/T 4754-2002 制造业大类，未检查行业容积率下限（控制指标）；请记录 3 位或 4 位 GB/T 4754-2017 代码"),
                json!({"industry_code": c}),
            );
        }
    }
    let mut contradiction = |kind, ok: bool, message: String, figures: Value| {
        if !ok {
            issue(kind, message, figures);
        }
    };
    if let (Some(start), Some(contract)) = (p.actual_start, p.contract_date) {
        contradiction(
            "start_before_contract",
            start >= contract,
            format!("实际动工日期 {start} 早于合同签订日期 {contract}"),
            json!({"actual_start": start, "contract_date": contract}),
        );
    }
    if let (Some(start), Some(done)) = (p.actual_start, p.actual_completion) {
        contradiction(
            "completion_before_start",
            done >= start,
            format!("实际竣工日期 {done} 早于实际动工日期 {start}"),
            json!({"actual_start": start, "actual_completion": done}),
        );
    }
    if let (Some(start), Some(done)) = (p.agreed_start, p.agreed_completion) {
        contradiction(
            "agreed_completion_before_start",
            done >= start,
            format!("约定竣工日期 {done} 早于约定动工日期 {start}"),
            json!({"agreed_start": start, "agreed_completion": done}),
        );
    }
    if let (Some(invested), Some(total)) = (p.invested, p.total_investment) {
        contradiction(
            "invested_exceeds_total",
            invested <= total * 1.000_001,
            format!("已投资 {invested:.2} 万元 超过总投资 {total:.2} 万元"),
            json!({"invested_wan": invested, "total_investment_wan": total}),
        );
    }
    if let (Some(developed), Some(planned)) = (p.developed_area, p.planned_dev_area) {
        contradiction(
            "developed_exceeds_planned",
            developed <= planned * 1.000_001,
            format!("已开发面积 {developed:.2} ㎡ 超过应开发面积 {planned:.2} ㎡"),
            json!({"developed_area_m2": developed, "planned_dev_area_m2": planned}),
        );
    }
    if let (Some(far), Some(floor), Some(recorded)) = (p.far, p.floor_area, p.recorded_area) {
        let computed = floor / recorded;
        contradiction(
            "far_inconsistent",
            recorded <= 0.0 || (far - computed).abs() <= 0.05 * computed.max(far),
            format!("容积率 {far:.2} 与 建筑面积 ÷ 宗地面积 = {computed:.2} 不符"),
            json!({"far": far, "floor_area_m2": floor, "recorded_area_m2": recorded, "computed_far": computed}),
        );
    }
    out
}

/// Check every parcel (of one park, when given).
pub fn quality(ctx: &Context<'_>, rules: &Rules, park: Option<&str>) -> QualityReport {
    let refs: Vec<ParcelRef<'_>> = ctx.parcels().collect();
    let per_parcel: Vec<Vec<Issue>> = refs
        .par_iter()
        .filter(|r| {
            !ctx.cancelled() && park.is_none_or(|want| ctx.park_id_of(r).as_deref() == Some(want))
        })
        .map(|r| parcel_issues(ctx, r, rules))
        .collect();
    let checked = per_parcel.len();
    let mut issues: Vec<Issue> = per_parcel.into_iter().flatten().collect();
    // Overlaps, once per pair, within each parcel layer.
    for layer in ctx.catalog.by_role(Role::Parcels) {
        let pairs: Vec<Issue> = (0..layer.features.len())
            .into_par_iter()
            .flat_map_iter(|i| {
                let f = &layer.features[i];
                let mut found = vec![];
                if ctx.cancelled() {
                    return found;
                }
                let (Some(bi), Some(gi)) = (f.bbox, f.planar.as_ref()) else {
                    return found;
                };
                for j in layer.in_box(&bi) {
                    if j <= i {
                        continue;
                    }
                    let g = &layer.features[j];
                    let Some(bj) = g.bbox else { continue };
                    let w = bi.max().x.min(bj.max().x) - bi.min().x.max(bj.min().x);
                    let h = bi.max().y.min(bj.max().y) - bi.min().y.max(bj.min().y);
                    if w <= 0.0 || h <= 0.0 {
                        continue;
                    }
                    let Some(gj) = g.planar.as_ref() else {
                        continue;
                    };
                    let area = intersection_area(gi, gj);
                    if area > rules.zoning.overlap_tolerance_m2 {
                        let a = ParcelRef { layer, index: i };
                        let b = ParcelRef { layer, index: j };
                        found.push(Issue {
                            kind: "overlap",
                            layer: layer.info.name.clone(),
                            id: a.parcel().id.to_string(),
                            park_id: ctx.park_id_of(&a),
                            message: format!(
                                "与宗地 {} 重叠 {area:.2} ㎡（面积重复计算）",
                                b.parcel().id
                            ),
                            figures: json!({"other": &*b.parcel().id, "overlap_m2": area}),
                        });
                    }
                }
                found
            })
            .collect();
        issues.extend(
            pairs
                .into_iter()
                .filter(|i| park.is_none_or(|want| i.park_id.as_deref() == Some(want))),
        );
    }
    let mut summary = BTreeMap::new();
    for i in &issues {
        *summary.entry(i.kind).or_default() += 1;
    }
    QualityReport {
        issues,
        summary,
        parcels_checked: checked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{parcel, park, rect, Builder};
    use crate::model::records::Parcel;

    fn industry(id: &str, code: &str) -> Parcel {
        Parcel {
            industry_code: Some(code.into()),
            ..parcel(id, "100101", "K1")
        }
    }

    #[test]
    fn each_kind_of_problem() {
        let d = |s: &str| s.parse().ok();
        let cat = Builder::new()
            .parks(
                "parks",
                vec![
                    (park("K1", "工业主导型"), rect(0.0, 0.0, 1000.0, 1000.0)),
                    (park("K2", "工业主导型"), rect(2000.0, 0.0, 3000.0, 1000.0)),
                ],
            )
            .parcels(
                "parcels",
                vec![
                    // 10,000 m² drawn, 11,000 recorded: +10 %.
                    (
                        Parcel {
                            recorded_area: Some(11_000.0),
                            ..parcel("A", "100101", "K1")
                        },
                        rect(0.0, 0.0, 100.0, 100.0),
                    ),
                    // Exactly 5 % off is within tolerance.
                    (
                        Parcel {
                            recorded_area: Some(10_500.0),
                            ..parcel("B", "100101", "K1")
                        },
                        rect(200.0, 0.0, 300.0, 100.0),
                    ),
                    // Recorded in K1, drawn far outside every park.
                    (
                        parcel("C", "100101", "K1"),
                        rect(5000.0, 0.0, 5100.0, 100.0),
                    ),
                    // Recorded in K1, drawn in K2.
                    (
                        parcel("G", "100101", "K1"),
                        rect(2000.0, 0.0, 2100.0, 100.0),
                    ),
                    // Recorded in a park the store does not have.
                    (parcel("H", "100101", "K7"), rect(0.0, 500.0, 100.0, 600.0)),
                    (parcel("D", "ZZ9", "K1"), rect(400.0, 0.0, 500.0, 100.0)),
                    (
                        Parcel {
                            contract_date: d("2020-05-01"),
                            actual_start: d("2020-04-01"),
                            invested: Some(120.0),
                            total_investment: Some(100.0),
                            ..parcel("E", "100101", "K1")
                        },
                        rect(600.0, 0.0, 700.0, 100.0),
                    ),
                    (parcel("F", "100101", "K1"), rect(650.0, 50.0, 750.0, 150.0)),
                    // 行业代码: 29 alone is rubber or plastics; 2921, C3982 and 5112
                    // (wholesale, no FAR minimum) resolve or need none; 'abc' is no code.
                    (industry("I", "29"), rect(0.0, 800.0, 50.0, 850.0)),
                    (industry("J", "2921"), rect(100.0, 800.0, 150.0, 850.0)),
                    (industry("K", "C3982"), rect(200.0, 800.0, 250.0, 850.0)),
                    (industry("L", "abc"), rect(300.0, 800.0, 350.0, 850.0)),
                    (industry("M", "5112"), rect(400.0, 800.0, 450.0, 850.0)),
                ],
            )
            .build();
        let ctx = Context::new(&cat);
        let r = quality(&ctx, &Rules::builtin(), None);
        let kinds = |id: &str| -> Vec<&str> {
            let mut k: Vec<&str> = r
                .issues
                .iter()
                .filter(|i| i.id == id)
                .map(|i| i.kind)
                .collect();
            k.sort();
            k
        };
        assert_eq!(kinds("A"), ["area_mismatch"]);
        assert!(kinds("B").is_empty());
        assert_eq!(kinds("C"), ["outside_parks"]);
        assert_eq!(kinds("G"), ["park_mismatch"]);
        let g = r.issues.iter().find(|i| i.id == "G").unwrap();
        assert_eq!(g.figures["lies_in"], "K2");
        assert_eq!(kinds("H"), ["unknown_park"]);
        assert_eq!(kinds("D"), ["unknown_code"]);
        assert_eq!(
            kinds("E"),
            ["invested_exceeds_total", "overlap", "start_before_contract"]
        );
        let overlap = r.issues.iter().find(|i| i.kind == "overlap").unwrap();
        assert_eq!(overlap.figures["other"], "F");
        assert_eq!(overlap.figures["overlap_m2"], 2_500.0);
        assert_eq!(r.summary["area_mismatch"], 1);
        assert_eq!(kinds("I"), ["unknown_industry_code"]);
        assert_eq!(kinds("L"), ["unknown_industry_code"]);
        for fine in ["J", "K", "M"] {
            assert!(kinds(fine).is_empty(), "{fine}: {:?}", kinds(fine));
        }
        assert_eq!(r.parcels_checked, 13);
    }
}
