//! 开发区土地集约利用评价 — the intensive-use indicators of each park (DOMAIN.md §4), with
//! their inputs, units and the reference values of one national evaluation round.
//!
//! Land-status classes come from the parcels clipped to the park: A built-up (parcels
//! completed by the evaluation date, plus the roads of the park's urban or territorial plan,
//! which are not parcels), B1 supplied but not yet built, B21 approved and ready but not
//! supplied, C red lines (ecological and basic farmland) inside the park, D supplied (parcels,
//! and the plan's roads, allocated by 划拨), G suspected idle.
//!
//! The 规程 counts every piece of land ready for supply (已达到供地条件) in 开发率 and 供应率:
//! A, B1 and B21. DOMAIN.md §4 writes A + B21; without B1 the land supplied but not yet built
//! sits in D only, and 供应率 = D ÷ (A + B21) exceeds 100 % in any park that is still building.

use super::context::{clip_to, Context, ParcelRef, ParkRef};
use super::dates::happened_by;
use super::idle::{assess, Assessment, Finding};
use crate::catalog::Layer;
use crate::model::land_class::Category;
use crate::model::records::Records;
use crate::model::value::m2_to_hectares;
use crate::model::{PlanKind, RedlineKind, Role};
use crate::rules::Rules;
use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// One indicator of one park.
#[derive(Clone, Debug, Serialize)]
pub struct Indicator {
    /// Stable key (development_rate …).
    pub key: &'static str,
    /// Chinese name (土地开发率 …).
    pub name: &'static str,
    /// The formula in words.
    pub formula: &'static str,
    /// Its value: none when the denominator is zero, or when no input it sums was recorded
    /// (then `missing` names the fields).
    pub value: Option<f64>,
    /// The fields that would be needed for a value that is missing because nothing was
    /// recorded (缺少字段): a park without records is unknown, not 0.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<&'static str>,
    /// Unit.
    pub unit: &'static str,
    /// The figures it is computed from.
    pub inputs: Map<String, Value>,
    /// The national reference value (a benchmark, not a limit).
    pub benchmark: Option<f64>,
}

/// One park's indicators.
#[derive(Clone, Debug, Serialize)]
pub struct ParkIndicators {
    /// 园区编号.
    pub id: String,
    /// 园区名称.
    pub name: Option<String>,
    /// 工业主导型 or 产城融合型, derived from its shares.
    #[serde(rename = "type")]
    pub park_type: String,
    /// The 园区类型 recorded, when it differs from the derived type it is shown here.
    pub recorded_type: Option<String>,
    /// The indicators.
    pub indicators: Vec<Indicator>,
}

/// The report.
#[derive(Clone, Debug, Serialize)]
pub struct IndicatorsReport {
    /// Evaluation date.
    pub as_of: NaiveDate,
    /// Parks.
    pub parks: Vec<ParkIndicators>,
    /// The pack's source.
    pub source: crate::rules::Source,
}

/// The areas and sums an indicator set is computed from (m², 万元).
#[derive(Clone, Debug, Default)]
struct Tallies {
    park_m2: f64,
    a: f64,
    a1: f64,
    a2: f64,
    roads: f64,
    b1: f64,
    b21: f64,
    c: f64,
    d: f64,
    g: f64,
    floor: f64,
    footprint: f64,
    industrial_floor: f64,
    industrial_coverage: f64,
    industrial_investment: f64,
    industrial_tax: f64,
    total_tax: f64,
    /// Built industrial parcels inside the park recording 已投资 or 出让价款.
    investment_recorded: usize,
    /// Whether any industrial parcel (or the park) records a tax.
    industrial_tax_recorded: bool,
    /// Whether any parcel (or the park) records a tax.
    tax_recorded: bool,
}

/// The missing fields of a sum with no recorded input.
const INVESTMENT_FIELDS: &[&str] = &["已投资（宗地）", "出让价款（宗地）"];
const INDUSTRIAL_TAX_FIELDS: &[&str] = &["税收（工业宗地）", "工业税收（园区）"];
const TAX_FIELDS: &[&str] = &["税收（宗地）", "税收总额（园区）"];

/// A ratio of a sum that is unknown when none of its inputs was recorded.
fn recorded_ratio(
    recorded: bool,
    a: f64,
    b: f64,
    fields: &'static [&'static str],
) -> (Option<f64>, Vec<&'static str>) {
    if recorded {
        (ratio(a, b), vec![])
    } else {
        (None, fields.to_vec())
    }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

fn parcel_figures(
    ctx: &Context<'_>,
    r: &ParcelRef<'_>,
    tolerance_m2: f64,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    let p = r.parcel();
    let area = r.area_m2();
    let mut built = None;
    let mut derive = || *built.get_or_insert_with(|| ctx.built_figures(r, tolerance_m2));
    let floor = p.floor_area.or(p.far.map(|f| f * area)).or_else(|| {
        derive()
            .filter(|b| b.buildings > 0)
            .map(|b| b.floor_area_m2)
    });
    let footprint = p
        .footprint_area
        .or_else(|| derive().filter(|b| b.buildings > 0).map(|b| b.footprint_m2))
        .or(p.coverage.map(|c| c * area));
    // 建筑系数 counts structures and yards too: prefer the recorded ratio.
    let coverage_area = p.coverage.map(|c| c * area).or(footprint);
    (floor, footprint, coverage_area)
}

fn tally(
    ctx: &Context<'_>,
    park: &ParkRef<'_>,
    rules: &Rules,
    as_of: NaiveDate,
) -> (Tallies, Vec<String>) {
    let mut t = Tallies {
        park_m2: park.area_m2(),
        ..Tallies::default()
    };
    let mut notes = vec![];
    let mut parcel_tax = 0.0;
    for layer in ctx.catalog.by_role(Role::Parcels) {
        for (index, inside) in clip_to(park, layer) {
            let r = ParcelRef { layer, index };
            let p = r.parcel();
            let share = inside / r.area_m2().max(f64::MIN_POSITIVE);
            let category = ctx.land_class(&r).map(|c| c.category);
            let industrial = matches!(category, Some(Category::Industrial | Category::Logistics));
            let supplied = match assess(p, r.area_m2(), None, &rules.idle, as_of) {
                Assessment::Idle(f) if f.finding == Finding::ApprovedNotSupplied => false,
                Assessment::Idle(_) => {
                    t.g += inside;
                    true
                }
                _ => !super::idle::unsupplied(p, &rules.idle),
            };
            let built = happened_by(p.actual_completion, as_of).is_some();
            // Land ready for supply (已达到供地条件) is A, B1 (supplied, not yet built) and B21
            // (not supplied).
            match (supplied, built) {
                (true, true) => t.d += inside,
                (true, false) => {
                    t.d += inside;
                    t.b1 += inside;
                }
                (false, true) => {}
                (false, false) => t.b21 += inside,
            }
            parcel_tax += p.tax.unwrap_or(0.0) * share;
            t.tax_recorded |= p.tax.is_some();
            if industrial {
                t.industrial_tax += p.tax.unwrap_or(0.0) * share;
                t.industrial_tax_recorded |= p.tax.is_some();
            }
            if !built {
                continue;
            }
            t.a += inside;
            match category {
                Some(Category::Residential) => t.a1 += inside,
                Some(Category::Industrial | Category::Logistics) => t.a2 += inside,
                _ => {}
            }
            let (floor, footprint, coverage_area) =
                parcel_figures(ctx, &r, rules.underused.building_sliver_tolerance_m2);
            t.floor += floor.unwrap_or(0.0) * share;
            t.footprint += footprint.unwrap_or(0.0) * share;
            if industrial {
                t.industrial_floor += floor.unwrap_or(0.0) * share;
                t.industrial_coverage += coverage_area.unwrap_or(0.0) * share;
                t.industrial_investment +=
                    (p.invested.unwrap_or(0.0) + p.land_price.unwrap_or(0.0)) * share;
                if p.invested.is_some() || p.land_price.is_some() {
                    t.investment_recorded += 1;
                }
            }
        }
    }
    // Roads are not parcels: take them from the park's urban (or territorial) plan.
    let plan: Option<&std::sync::Arc<Layer>> = ctx
        .catalog
        .by_role(Role::Plan)
        .find(|l| matches!(l.records, Records::Plan(Some(PlanKind::Urban), _)))
        .or_else(|| {
            ctx.catalog
                .by_role(Role::Plan)
                .find(|l| matches!(l.records, Records::Plan(Some(PlanKind::Territorial), _)))
        });
    if let Some(plan) = plan {
        if let Records::Plan(_, zones) = &plan.records {
            for (i, inside) in clip_to(park, plan) {
                let class = super::context::classify(
                    plan,
                    zones[i].land_use_code.as_deref(),
                    zones[i].land_use_name.as_deref(),
                );
                if class.map(|c| c.category) == Some(Category::Transport) {
                    t.roads += inside;
                }
            }
        }
        notes.push(format!(
            "A 与 D 含规划图层 {} 中的道路 {:.0} ㎡，按已建成、已供应（划拨）计",
            plan.info.name, t.roads
        ));
        t.a += t.roads;
        t.d += t.roads;
    } else {
        notes.push("无城市规划图层：道路未计入 A，开发率与建成率偏低".into());
    }
    for layer in ctx.catalog.by_role(Role::Redline) {
        if let Records::Redline(kind, zones) = &layer.records {
            for (i, inside) in clip_to(park, layer) {
                if matches!(
                    zones[i].kind_or(*kind),
                    Some(RedlineKind::Ecological | RedlineKind::Farmland)
                ) {
                    t.c += inside;
                }
            }
        }
    }
    let record = park.park();
    t.total_tax = record.tax.unwrap_or(parcel_tax);
    t.tax_recorded |= record.tax.is_some();
    if let Some(tax) = record.industrial_tax {
        t.industrial_tax = tax;
        t.industrial_tax_recorded = true;
    }
    notes.push(match (record.tax, t.tax_recorded) {
        (Some(_), _) => "综合地均税收取园区税收总额".into(),
        (None, true) => "综合地均税收为宗地税收之和（园区未记录税收总额）".into(),
        (None, false) => "园区与宗地均未记录税收，地均税收未知".into(),
    });
    (t, notes)
}

fn indicators(t: &Tallies, rules: &Rules) -> Vec<Indicator> {
    let b = &rules.indicators.benchmarks;
    let ha = m2_to_hectares;
    let mk = |key: &'static str, name, formula, (value, missing), unit, inputs: Value| Indicator {
        key,
        name,
        formula,
        value,
        missing,
        unit,
        inputs: match inputs {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        benchmark: b.get(key).copied(),
    };
    vec![
        mk(
            "development_rate",
            "土地开发率",
            "(A + B1 + B21) ÷ (园区面积 − C)",
            (ratio(t.a + t.b1 + t.b21, t.park_m2 - t.c), vec![]),
            "比例",
            json!({"A_m2": t.a, "B1_m2": t.b1, "B21_m2": t.b21, "park_m2": t.park_m2, "C_m2": t.c}),
        ),
        mk(
            "supply_rate",
            "土地供应率",
            "D ÷ (A + B1 + B21)",
            (ratio(t.d, t.a + t.b1 + t.b21), vec![]),
            "比例",
            json!({"D_m2": t.d, "A_m2": t.a, "B1_m2": t.b1, "B21_m2": t.b21}),
        ),
        mk(
            "built_rate",
            "土地建成率",
            "A ÷ D",
            (ratio(t.a, t.d), vec![]),
            "比例",
            json!({"A_m2": t.a, "D_m2": t.d}),
        ),
        mk(
            "industrial_share",
            "工业用地率",
            "A2 ÷ A",
            (ratio(t.a2, t.a), vec![]),
            "比例",
            json!({"A2_m2": t.a2, "A_m2": t.a}),
        ),
        mk(
            "composite_far",
            "综合容积率",
            "总建筑面积 ÷ A",
            (ratio(t.floor, t.a), vec![]),
            "",
            json!({"floor_area_m2": t.floor, "A_m2": t.a}),
        ),
        mk(
            "building_density",
            "建筑密度",
            "建筑基底面积 ÷ A",
            (ratio(t.footprint, t.a), vec![]),
            "比例",
            json!({"footprint_m2": t.footprint, "A_m2": t.a}),
        ),
        mk(
            "industrial_far",
            "工业用地综合容积率",
            "工业建筑面积 ÷ A2",
            (ratio(t.industrial_floor, t.a2), vec![]),
            "",
            json!({"industrial_floor_area_m2": t.industrial_floor, "A2_m2": t.a2}),
        ),
        mk(
            "industrial_coverage",
            "工业用地建筑系数",
            "工业建（构）筑物及堆场占地 ÷ A2",
            (ratio(t.industrial_coverage, t.a2), vec![]),
            "比例",
            json!({"industrial_coverage_m2": t.industrial_coverage, "A2_m2": t.a2}),
        ),
        mk(
            "industrial_investment_intensity",
            "工业用地固定资产投入强度",
            "工业累计固定资产投资（含土地价款） ÷ A2",
            recorded_ratio(
                t.investment_recorded > 0,
                t.industrial_investment,
                ha(t.a2),
                INVESTMENT_FIELDS,
            ),
            "万元/公顷",
            json!({"industrial_investment_wan": t.industrial_investment, "A2_ha": ha(t.a2)}),
        ),
        mk(
            "industrial_tax_intensity",
            "工业用地地均税收",
            "工业税收 ÷ A2",
            recorded_ratio(
                t.industrial_tax_recorded,
                t.industrial_tax,
                ha(t.a2),
                INDUSTRIAL_TAX_FIELDS,
            ),
            "万元/公顷",
            json!({"industrial_tax_wan": t.industrial_tax, "A2_ha": ha(t.a2)}),
        ),
        mk(
            "composite_tax_intensity",
            "综合地均税收",
            "二三产业税收 ÷ A",
            recorded_ratio(t.tax_recorded, t.total_tax, ha(t.a), TAX_FIELDS),
            "万元/公顷",
            json!({"tax_wan": t.total_tax, "A_ha": ha(t.a)}),
        ),
        mk(
            "idle_rate",
            "土地闲置率",
            "G ÷ D",
            (ratio(t.g, t.d), vec![]),
            "比例",
            json!({"G_m2": t.g, "D_m2": t.d}),
        ),
    ]
}

/// The indicators of every park (or one), parks in parallel.
pub fn park_indicators(
    ctx: &Context<'_>,
    rules: &Rules,
    as_of: NaiveDate,
    park: Option<&str>,
) -> IndicatorsReport {
    let parks = ctx
        .parks()
        .par_iter()
        .filter(|p| !ctx.cancelled() && park.is_none_or(|want| &*p.park().id == want))
        .map(|p| {
            let (t, notes) = tally(ctx, p, rules, as_of);
            let mut list = indicators(&t, rules);
            for i in &mut list {
                i.inputs.insert("notes".into(), json!(notes));
            }
            let ir = &rules.indicators;
            let industry_led = ratio(t.a2, t.a)
                .is_some_and(|s| s > ir.industry_led_industrial_share)
                && ratio(t.a1, t.a).is_none_or(|s| s < ir.industry_led_residential_share);
            let record = p.park();
            ParkIndicators {
                id: record.id.to_string(),
                name: record.name.as_deref().map(str::to_string),
                park_type: if industry_led {
                    "工业主导型"
                } else {
                    "产城融合型"
                }
                .into(),
                recorded_type: record.park_type.as_deref().map(str::to_string),
                indicators: list,
            }
        })
        .collect();
    IndicatorsReport {
        as_of,
        parks,
        source: rules.indicators.source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{parcel, park, rect, Builder};
    use crate::model::records::Parcel;
    use crate::model::ClassSystem;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A 1,000 × 1,000 m park:
    /// - I1 built industry 400×500 = 200,000 m², floor 240,000, coverage 0.5, invested 9,000 +
    ///   land 1,000 万元, tax 600 万元;
    /// - R1 built housing 200×500 = 100,000 m², floor 250,000, footprint 25,000;
    /// - I2 supplied industry, not started since 2020 (idle), 100×500 = 50,000 m²;
    /// - U1 approved 2015, not supplied, 100×500 = 50,000 m² (B21);
    /// - roads in the 控规: 100×1,000 = 100,000 m²; an ecological red line 100×100 inside (C).
    fn catalog() -> crate::catalog::Catalog {
        let done = |id: &str, code: &str| Parcel {
            supply_status: Some("已供".into()),
            contract_date: Some(d("2012-01-01")),
            agreed_start: Some(d("2012-06-01")),
            actual_start: Some(d("2012-07-01")),
            actual_completion: Some(d("2014-07-01")),
            ..parcel(id, code, "K1")
        };
        Builder::new()
            .parks(
                "parks",
                vec![(park("K1", "工业主导型"), rect(0.0, 0.0, 1000.0, 1000.0))],
            )
            .parcels(
                "parcels",
                vec![
                    (
                        Parcel {
                            floor_area: Some(240_000.0),
                            coverage: Some(0.5),
                            invested: Some(9_000.0),
                            land_price: Some(1_000.0),
                            tax: Some(600.0),
                            ..done("I1", "100101")
                        },
                        rect(0.0, 0.0, 400.0, 500.0),
                    ),
                    (
                        Parcel {
                            floor_area: Some(250_000.0),
                            footprint_area: Some(25_000.0),
                            ..done("R1", "070102")
                        },
                        rect(400.0, 0.0, 600.0, 500.0),
                    ),
                    (
                        Parcel {
                            supply_status: Some("已供".into()),
                            agreed_start: Some(d("2020-01-01")),
                            land_price: Some(300.0),
                            ..parcel("I2", "100101", "K1")
                        },
                        rect(600.0, 0.0, 700.0, 500.0),
                    ),
                    (
                        Parcel {
                            supply_status: Some("未供".into()),
                            approval_date: Some(d("2015-01-01")),
                            ..parcel("U1", "100101", "K1")
                        },
                        rect(700.0, 0.0, 800.0, 500.0),
                    ),
                ],
            )
            .plan(
                "kg",
                ClassSystem::Gb50137,
                "urban",
                vec![("S1", rect(0.0, 500.0, 100.0, 1500.0))],
            )
            .redline(
                "eco",
                "ecological",
                vec![rect(900.0, 900.0, 1000.0, 1000.0)],
            )
            .build()
    }

    #[test]
    fn every_indicator_by_hand() {
        let cat = catalog();
        let ctx = Context::new(&cat);
        let rules = Rules::builtin();
        let r = park_indicators(&ctx, &rules, d("2024-01-01"), None);
        let k = &r.parks[0];
        let v = |key: &str| {
            k.indicators
                .iter()
                .find(|i| i.key == key)
                .unwrap()
                .value
                .unwrap()
        };
        let near = |a: f64, b: f64| (a - b).abs() < 1e-9;
        // A = 200,000 + 100,000 + roads 50,000 (half the road strip lies inside) = 350,000.
        // B1 = 50,000 (I2, supplied, not built); B21 = 50,000 (U1); C = 10,000;
        // D = 200,000 + 100,000 + 50,000 (I2) + roads 50,000 = 400,000; G = 50,000.
        assert!(near(v("development_rate"), 450_000.0 / 990_000.0));
        assert!(near(v("supply_rate"), 400_000.0 / 450_000.0));
        assert!(near(v("built_rate"), 350_000.0 / 400_000.0));
        assert!(near(v("industrial_share"), 200_000.0 / 350_000.0));
        assert!(near(v("composite_far"), 490_000.0 / 350_000.0));
        // Footprints: I1 has only a coverage (0.5 × 200,000), R1 records 25,000.
        assert!(near(v("building_density"), 125_000.0 / 350_000.0));
        assert!(near(v("industrial_far"), 1.2));
        assert!(near(v("industrial_coverage"), 0.5));
        assert!(near(v("industrial_investment_intensity"), 10_000.0 / 20.0));
        assert!(near(v("industrial_tax_intensity"), 600.0 / 20.0));
        assert!(near(v("composite_tax_intensity"), 600.0 / 35.0));
        assert!(near(v("idle_rate"), 50_000.0 / 400_000.0));
        // A2/A = 57 % > 30 %, but housing is 29 % of A (≥ 25 %): 产城融合型, whatever it records.
        assert_eq!(k.park_type, "产城融合型");
        assert_eq!(k.recorded_type.as_deref(), Some("工业主导型"));
        let dev = k
            .indicators
            .iter()
            .find(|i| i.key == "development_rate")
            .unwrap();
        assert_eq!(dev.benchmark, Some(0.8946));
        assert_eq!(dev.inputs["C_m2"], 10_000.0);
    }

    /// A park whose parcels record no investment, land price or tax, and whose record has no
    /// tax either: the three sums are unknown, with the fields named, in JSON and in the CSV.
    #[test]
    fn no_recorded_investment_or_tax_is_unknown_not_zero() {
        let cat = Builder::new()
            .parks(
                "parks",
                vec![(park("K1", "工业主导型"), rect(0.0, 0.0, 1000.0, 1000.0))],
            )
            .parcels(
                "parcels",
                vec![(
                    Parcel {
                        supply_status: Some("已供".into()),
                        contract_date: Some(d("2012-01-01")),
                        actual_start: Some(d("2012-07-01")),
                        actual_completion: Some(d("2014-07-01")),
                        floor_area: Some(100_000.0),
                        ..parcel("I1", "100101", "K1")
                    },
                    rect(0.0, 0.0, 500.0, 200.0),
                )],
            )
            .build();
        let ctx = Context::new(&cat);
        let r = park_indicators(&ctx, &Rules::builtin(), d("2024-01-01"), None);
        let get = |key: &str| r.parks[0].indicators.iter().find(|i| i.key == key).unwrap();
        for (key, field) in [
            ("industrial_investment_intensity", "已投资（宗地）"),
            ("industrial_tax_intensity", "工业税收（园区）"),
            ("composite_tax_intensity", "税收总额（园区）"),
        ] {
            let i = get(key);
            assert_eq!(i.value, None, "{key}");
            assert!(i.missing.contains(&field), "{key}: {:?}", i.missing);
            let json = serde_json::to_value(i).unwrap();
            assert!(json["value"].is_null(), "{key}");
        }
        // What was recorded still counts: 100,000 m² floor over 100,000 m² of A2.
        assert_eq!(get("industrial_far").value, Some(1.0));
        assert!(get("industrial_far").missing.is_empty());
        let tables = crate::checks::Report::tables(&r);
        let mut csv = vec![];
        crate::report::table::write_csv(&mut csv, &tables[0]).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        let row = csv
            .lines()
            .find(|l| l.contains("工业用地地均税收"))
            .unwrap();
        // The value cell is empty and the last column says what is missing.
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[4], "", "{row}");
        assert!(
            row.ends_with("未记录税收（工业宗地）、工业税收（园区），数值未知"),
            "{row}"
        );
    }
}
