//! 低效用地 — under-used industrial land: the control indicators of 《工业项目建设用地控制指标》
//! (DOMAIN.md §3, the edition chosen by supply date) and the local under-used rules (§2).
//!
//! When a parcel records neither its floor area nor its coverage, the figures are derived from
//! the buildings standing on it (exact intersection) and the reason says so.

use super::context::{BuiltFigures, Context, ParcelRef};
use super::dates::{full_years_passed, happened_by, years_between};
use crate::model::records::Parcel;
use crate::model::value::{m2_to_hectares, m2_to_mu};
use crate::rules::Rules;
use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One reason a parcel is under-used.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reason {
    /// The indicator (Chinese name).
    pub indicator: String,
    /// A stable key (far_industry_min, coverage_min …).
    pub key: &'static str,
    /// The parcel's value.
    pub value: Value,
    /// The threshold it misses.
    pub threshold: Value,
    /// The unit of both.
    pub unit: &'static str,
    /// The rule and its source.
    pub rule: String,
    /// How the value was obtained, when not recorded directly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The assumption the value rests on (假定), when it is not all recorded: a reason with
    /// one is a lower bound, not a finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assumption: Option<String>,
}

/// What a flagged parcel is: 低效, or a flag that rests only on assumptions and needs the
/// missing records before anyone can say (需补充数据).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 低效用地: at least one reason stands on recorded figures.
    Underused,
    /// 需补充数据: every reason rests on an assumption.
    NeedsData,
}

impl Verdict {
    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Verdict::Underused => "低效",
            Verdict::NeedsData => "需补充数据",
        }
    }

    /// The verdict of a parcel's reasons.
    pub fn of(reasons: &[Reason]) -> Verdict {
        if reasons.iter().all(|r| r.assumption.is_some()) {
            Verdict::NeedsData
        } else {
            Verdict::Underused
        }
    }
}

/// A figure and where it came from.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Figure {
    value: f64,
    derived: bool,
}

fn figure(recorded: Option<f64>, computed: impl FnOnce() -> Option<(f64, bool)>) -> Option<Figure> {
    recorded
        .map(|value| Figure {
            value,
            derived: false,
        })
        .or_else(|| computed().map(|(value, derived)| Figure { value, derived }))
}

fn done(p: &Parcel, as_of: NaiveDate) -> bool {
    happened_by(p.actual_completion, as_of).is_some()
}

/// The under-used reasons of one industrial parcel of `area_m2`, as of `as_of`. `built` is
/// asked for only when the parcel lacks floor area or coverage.
pub fn assess(
    p: &Parcel,
    area_m2: f64,
    built: &mut dyn FnMut() -> Option<BuiltFigures>,
    rules: &Rules,
    as_of: NaiveDate,
) -> Vec<Reason> {
    let mut reasons = vec![];
    let u = &rules.underused;
    let pack = rules.control_for(p.contract_date);
    let mut push = |indicator: &str,
                    key,
                    value: Value,
                    threshold: Value,
                    unit,
                    rule: String,
                    note: Option<String>,
                    assumption: Option<String>| {
        reasons.push(Reason {
            indicator: indicator.to_string(),
            key,
            value,
            threshold,
            unit,
            rule,
            note,
            assumption,
        })
    };
    let derived_note = |b: &BuiltFigures| {
        format!(
            "宗地未记录，由宗地上 {} 栋建筑推算（与宗地精确相交）",
            b.buildings
        )
    };

    if done(p, as_of) && area_m2 > 0.0 {
        let mut derived_from: Option<BuiltFigures> = None;
        let mut derive = || {
            if derived_from.is_none() {
                derived_from = built();
            }
            derived_from
        };
        let far = figure(p.far, || {
            p.floor_area.map(|fa| (fa / area_m2, false)).or_else(|| {
                derive()
                    .filter(|b| b.buildings > 0)
                    .map(|b| (b.floor_area_m2 / area_m2, true))
            })
        });
        let coverage = figure(p.coverage, || {
            p.footprint_area
                .map(|fp| (fp / area_m2, false))
                .or_else(|| {
                    derive()
                        .filter(|b| b.buildings > 0)
                        .map(|b| (b.footprint_m2 / area_m2, true))
                })
        });
        let note_for = |f: Figure| {
            f.derived
                .then(|| derived_from.as_ref().map(derived_note))
                .flatten()
        };
        // Floor area derived from buildings without 层数 counts each as one storey: the
        // smallest it can be, so a FAR below a floor is then a lower bound, not a finding.
        let storey_assumption = far.filter(|f| f.derived).and_then(|_| {
            derived_from.filter(|b| b.assumed_one_storey > 0).map(|b| {
                format!(
                    "{} 栋建筑未记录层数与建筑面积，按一层计，容积率为下限",
                    b.assumed_one_storey
                )
            })
        });
        if let Some(f) = far {
            let division = p
                .industry_code
                .as_deref()
                .and_then(|c| rules.industries.division_2002(c));
            if let Some((div, min)) = division.and_then(|d| pack.far_min.get(d).map(|m| (d, *m))) {
                if f.value < min {
                    push(
                        "容积率",
                        "far_industry_min",
                        json!(f.value),
                        json!(min),
                        "",
                        format!(
                            "{}：行业（GB/T 4754-2002 第{div}大类，由行业代码{}对照）容积率下限",
                            pack.article,
                            p.industry_code.as_deref().unwrap_or("")
                        ),
                        note_for(f),
                        storey_assumption.clone(),
                    );
                }
            }
            if f.value < u.far.below {
                push(
                    "容积率",
                    "far_below",
                    json!(f.value),
                    json!(u.far.below),
                    "",
                    u.far.article.clone(),
                    note_for(f),
                    storey_assumption.clone(),
                );
            }
        }
        if let Some(c) = coverage {
            if c.value < pack.coverage_min {
                push(
                    "建筑系数",
                    "coverage_min",
                    json!(c.value),
                    json!(pack.coverage_min),
                    "比例",
                    format!(
                        "{}：建筑系数不低于{:.0}%",
                        pack.article,
                        pack.coverage_min * 100.0
                    ),
                    note_for(c),
                    None,
                );
            }
        }
        for (value, max, indicator, key, what) in [
            (
                p.office_land_share,
                pack.office_land_share_max,
                "行政办公及生活服务设施用地所占比重",
                "office_land_share_max",
                "不超过",
            ),
            (
                p.green_ratio,
                pack.green_ratio_max,
                "绿地率",
                "green_ratio_max",
                "不超过",
            ),
            (
                p.service_floor_share,
                pack.service_floor_share_max,
                "配套设施建筑面积比例",
                "service_floor_share_max",
                "不超过",
            ),
        ] {
            if let Some(v) = value.filter(|v| *v > max) {
                push(
                    indicator,
                    key,
                    json!(v),
                    json!(max),
                    "比例",
                    format!("{}：{indicator}{what}{:.0}%", pack.article, max * 100.0),
                    None,
                    None,
                );
            }
        }
        if let Some(invested) = p.invested {
            let intensity = (invested + p.land_price.unwrap_or(0.0)) / m2_to_hectares(area_m2);
            if intensity < pack.investment_intensity_min {
                push(
                    "投资强度",
                    "investment_intensity_min",
                    json!(intensity),
                    json!(pack.investment_intensity_min),
                    "万元/公顷",
                    format!(
                        "{}：投资强度下限（[{}] 默认值，请按地区等别和行业核定）",
                        pack.article, pack.investment_intensity_verified
                    ),
                    Some("（已投资 + 出让价款）÷ 宗地面积".into()),
                    None,
                );
            }
        }
        if let Some(tax) = p.tax {
            let per_mu = tax / m2_to_mu(area_m2);
            if per_mu < u.tax_per_mu.below {
                push(
                    "亩均税收",
                    "tax_per_mu_below",
                    json!(per_mu),
                    json!(u.tax_per_mu.below),
                    "万元/亩",
                    u.tax_per_mu.article.clone(),
                    None,
                    None,
                );
            }
        }
        if let (Some(completed), Some(invested), Some(total)) =
            (p.actual_completion, p.invested, p.total_investment)
        {
            if total > 0.0
                && full_years_passed(completed, u.investment.years, as_of)
                && invested / total < u.investment.share_below
            {
                push(
                    "投资完成比例",
                    "investment_share_below",
                    json!(invested / total),
                    json!(u.investment.share_below),
                    "比例",
                    u.investment.article.clone(),
                    None,
                    None,
                );
            }
        }
        if p.production_status
            .as_deref()
            .is_some_and(|s| u.stopped.words.iter().any(|w| s.contains(w.as_str())))
        {
            if let Some(since) = p.production_stopped_since {
                if full_years_passed(since, u.stopped.years, as_of) {
                    push(
                        "停产年限",
                        "production_stopped",
                        json!(years_between(since, as_of)),
                        json!(u.stopped.years),
                        "年",
                        u.stopped.article.clone(),
                        Some(format!(
                            "{}，自 {since} 起",
                            p.production_status.as_deref().unwrap_or("")
                        )),
                        None,
                    );
                }
            }
        }
    }
    if happened_by(p.actual_start, as_of).is_some() && !done(p, as_of) {
        if let Some(due) = p.agreed_completion {
            if full_years_passed(due, u.overdue.years, as_of) {
                push(
                    "超期未竣工年限",
                    "overdue_completion",
                    json!(years_between(due, as_of)),
                    json!(u.overdue.years),
                    "年",
                    u.overdue.article.clone(),
                    Some(format!("约定竣工日期 {due}")),
                    None,
                );
            }
        }
    }
    if let Some(policy) = p.industry_policy.as_deref().filter(|c| {
        u.prohibited
            .categories
            .iter()
            .any(|w| c.contains(w.as_str()))
    }) {
        push(
            "产业政策类别",
            "prohibited_industry",
            json!(policy),
            json!(u.prohibited.categories),
            "",
            u.prohibited.article.clone(),
            None,
            None,
        );
    }
    reasons
}

/// One under-used parcel.
#[derive(Clone, Debug, Serialize)]
pub struct UnderusedParcel {
    /// 宗地编号.
    pub id: String,
    /// 所属园区.
    pub park_id: Option<String>,
    /// Layer.
    pub layer: String,
    /// Store fid.
    pub fid: i64,
    /// 权利人.
    pub holder: Option<String>,
    /// 行业代码.
    pub industry_code: Option<String>,
    /// Planar area, m².
    pub area_m2: f64,
    /// The same in 亩.
    pub area_mu: f64,
    /// 低效, or 需补充数据 when every reason rests on an assumption.
    pub verdict: Verdict,
    /// Why it is under-used.
    pub reasons: Vec<Reason>,
}

/// Totals.
#[derive(Clone, Debug, Default, Serialize)]
pub struct UnderusedSummary {
    /// Industrial parcels checked.
    pub parcels_checked: usize,
    /// Parcels judged 低效: at least one reason on recorded figures.
    pub flagged: usize,
    /// Their area, m².
    pub flagged_area_m2: f64,
    /// Parcels whose every reason rests on an assumption (需补充数据), listed but not
    /// counted as 低效.
    pub needs_data: usize,
    /// The same in 亩.
    pub flagged_area_mu: f64,
    /// Parcels per reason.
    pub by_reason: BTreeMap<&'static str, usize>,
}

/// The under-used land report.
#[derive(Clone, Debug, Serialize)]
pub struct UnderusedReport {
    /// Evaluation date.
    pub as_of: NaiveDate,
    /// Flagged parcels.
    pub parcels: Vec<UnderusedParcel>,
    /// Totals.
    pub summary: UnderusedSummary,
    /// The packs' sources.
    pub sources: Vec<crate::rules::Source>,
}

/// Check every industrial parcel (of one park, when given).
pub fn underused(
    ctx: &Context<'_>,
    rules: &Rules,
    as_of: NaiveDate,
    park: Option<&str>,
) -> UnderusedReport {
    let refs: Vec<ParcelRef<'_>> = ctx.parcels().collect();
    let checked: Vec<(ParcelRef<'_>, Option<String>, Vec<Reason>)> = refs
        .into_par_iter()
        .filter_map(|r| {
            if ctx.cancelled() {
                return None;
            }
            let mut park_id = None;
            if let Some(want) = park {
                park_id = ctx.park_id_of(&r);
                if park_id.as_deref() != Some(want) {
                    return None;
                }
            }
            if !ctx.is_industrial(&r) {
                return None;
            }
            let reasons = assess(
                r.parcel(),
                r.area_m2(),
                &mut || ctx.built_figures(&r, rules.underused.building_sliver_tolerance_m2),
                rules,
                as_of,
            );
            if park_id.is_none() && !reasons.is_empty() {
                park_id = ctx.park_id_of(&r);
            }
            Some((r, park_id, reasons))
        })
        .collect();
    let mut summary = UnderusedSummary {
        parcels_checked: checked.len(),
        ..UnderusedSummary::default()
    };
    let mut parcels = vec![];
    for (r, park_id, reasons) in checked {
        if reasons.is_empty() {
            continue;
        }
        let p = r.parcel();
        let verdict = Verdict::of(&reasons);
        match verdict {
            Verdict::Underused => {
                summary.flagged += 1;
                summary.flagged_area_m2 += r.area_m2();
            }
            Verdict::NeedsData => summary.needs_data += 1,
        }
        for reason in &reasons {
            *summary.by_reason.entry(reason.key).or_default() += 1;
        }
        parcels.push(UnderusedParcel {
            id: p.id.to_string(),
            park_id,
            layer: r.layer.info.name.clone(),
            fid: r.fid(),
            holder: p.holder.as_deref().map(str::to_string),
            industry_code: p.industry_code.as_deref().map(str::to_string),
            area_m2: r.area_m2(),
            area_mu: m2_to_mu(r.area_m2()),
            verdict,
            reasons,
        });
    }
    summary.flagged_area_mu = m2_to_mu(summary.flagged_area_m2);
    let mut sources = vec![
        rules.underused.source.clone(),
        rules.industries.source.clone(),
    ];
    sources.extend(rules.control.iter().map(|c| c.source.clone()));
    UnderusedReport {
        as_of,
        parcels,
        summary,
        sources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A completed 2015 plant of 20,000 m² (30 亩) making electronics (2017 code 3982 →
    /// 2002 division 40, FAR floor 1.0), meeting every indicator.
    fn plant() -> Parcel {
        Parcel {
            id: "E1".into(),
            contract_date: Some(d("2015-03-01")),
            actual_start: Some(d("2015-09-01")),
            agreed_completion: Some(d("2017-09-01")),
            actual_completion: Some(d("2017-06-01")),
            industry_code: Some("3982".into()),
            far: Some(1.2),
            coverage: Some(0.45),
            green_ratio: Some(0.15),
            office_land_share: Some(0.05),
            service_floor_share: Some(0.10),
            invested: Some(6_000.0),
            total_investment: Some(6_000.0),
            land_price: Some(600.0),
            tax: Some(450.0), // 15 万元/亩
            ..Parcel::default()
        }
    }

    fn keys(r: &[Reason]) -> Vec<&'static str> {
        r.iter().map(|r| r.key).collect()
    }

    fn run(p: &Parcel, built: Option<BuiltFigures>, as_of: &str) -> Vec<Reason> {
        assess(
            p,
            20_000.0,
            &mut || built,
            &crate::rules::Rules::builtin(),
            d(as_of),
        )
    }

    #[test]
    fn a_plant_meeting_every_indicator_is_not_flagged() {
        assert!(run(&plant(), None, "2024-01-01").is_empty());
    }

    #[test]
    fn each_control_indicator_by_hand() {
        let far = run(
            &Parcel {
                far: Some(0.9),
                ..plant()
            },
            None,
            "2024-01-01",
        );
        // 0.9 < 1.0 both as the division-40 floor and as the local rule.
        assert_eq!(keys(&far), ["far_industry_min", "far_below"]);
        assert_eq!(far[0].threshold, 1.0);
        assert!(far[0].rule.contains("第40大类"), "{}", far[0].rule);

        // Division 26 (chemicals, 2017 code 2614) has a 0.6 floor: 0.9 fails only the local 1.0.
        let chem = run(
            &Parcel {
                far: Some(0.9),
                industry_code: Some("2614".into()),
                ..plant()
            },
            None,
            "2024-01-01",
        );
        assert_eq!(keys(&chem), ["far_below"]);

        let cov = run(
            &Parcel {
                coverage: Some(0.29),
                ..plant()
            },
            None,
            "2024-01-01",
        );
        assert_eq!(keys(&cov), ["coverage_min"]);
        assert_eq!(cov[0].threshold, 0.3);
        // Exactly 30 % meets the 2008 floor.
        assert!(run(
            &Parcel {
                coverage: Some(0.30),
                ..plant()
            },
            None,
            "2024-01-01"
        )
        .is_empty());
        // Supplied in 2024, the 2023 pack's 40 % floor applies.
        let late = run(
            &Parcel {
                coverage: Some(0.35),
                contract_date: Some(d("2024-01-01")),
                ..plant()
            },
            None,
            "2030-01-01",
        );
        assert_eq!(keys(&late), ["coverage_min"]);
        assert_eq!(late[0].threshold, 0.4);

        let office = run(
            &Parcel {
                office_land_share: Some(0.08),
                green_ratio: Some(0.21),
                service_floor_share: Some(0.16),
                ..plant()
            },
            None,
            "2024-01-01",
        );
        assert_eq!(
            keys(&office),
            [
                "office_land_share_max",
                "green_ratio_max",
                "service_floor_share_max"
            ]
        );

        // (6,000 + 600) 万元 over 2 ha = 3,300 万元/公顷 ≥ 1,200; (1,000 + 600) / 2 = 800 < 1,200.
        let poor = run(
            &Parcel {
                invested: Some(1_000.0),
                ..plant()
            },
            None,
            "2024-01-01",
        );
        assert!(keys(&poor).contains(&"investment_intensity_min"));
        let intensity = poor
            .iter()
            .find(|r| r.key == "investment_intensity_min")
            .unwrap();
        assert_eq!(intensity.value, 800.0);
    }

    #[test]
    fn tax_overdue_stopped_and_prohibited() {
        // 60 万元 over 30 亩 = 2 万元/亩 < 5.
        let tax = run(
            &Parcel {
                tax: Some(60.0),
                ..plant()
            },
            None,
            "2024-01-01",
        );
        assert_eq!(keys(&tax), ["tax_per_mu_below"]);
        assert_eq!(tax[0].value, 2.0);

        let building = Parcel {
            actual_completion: None,
            agreed_completion: Some(d("2020-05-01")),
            ..plant()
        };
        assert!(run(&building, None, "2022-05-01").is_empty());
        let overdue = run(&building, None, "2022-05-02");
        assert_eq!(keys(&overdue), ["overdue_completion"]);

        let stopped = Parcel {
            production_status: Some("停产".into()),
            production_stopped_since: Some(d("2022-03-01")),
            ..plant()
        };
        assert!(run(&stopped, None, "2023-03-01").is_empty());
        assert_eq!(
            keys(&run(&stopped, None, "2023-03-02")),
            ["production_stopped"]
        );

        let banned = run(
            &Parcel {
                industry_policy: Some("淘汰类".into()),
                ..plant()
            },
            None,
            "2024-01-01",
        );
        assert_eq!(keys(&banned), ["prohibited_industry"]);

        // Completed in mid-2017, 45 % of the contract invested: under-used two years on.
        let half = Parcel {
            invested: Some(2_700.0),
            ..plant()
        };
        assert!(keys(&run(&half, None, "2024-01-01")).contains(&"investment_share_below"));
        assert!(!keys(&run(&half, None, "2019-06-01")).contains(&"investment_share_below"));
    }

    #[test]
    fn missing_figures_are_derived_from_buildings_and_said_so() {
        let bare = Parcel {
            far: None,
            coverage: None,
            floor_area: None,
            footprint_area: None,
            ..plant()
        };
        // 5,000 m² footprint (25 %), 16,000 m² floor area (FAR 0.8).
        let built = Some(BuiltFigures {
            footprint_m2: 5_000.0,
            floor_area_m2: 16_000.0,
            buildings: 3,
            assumed_one_storey: 0,
        });
        let r = run(&bare, built, "2024-01-01");
        assert_eq!(keys(&r), ["far_industry_min", "far_below", "coverage_min"]);
        assert_eq!(r[0].value, 0.8);
        assert_eq!(r[2].value, 0.25);
        assert!(r
            .iter()
            .all(|x| x.note.as_deref().unwrap().contains("3 栋建筑")));
        assert!(r.iter().all(|x| x.assumption.is_none()));
        assert_eq!(Verdict::of(&r), Verdict::Underused);
        // Recorded figures win over buildings.
        let recorded = Parcel {
            floor_area: Some(30_000.0),
            footprint_area: Some(9_000.0),
            ..bare
        };
        assert!(run(&recorded, built, "2024-01-01").is_empty());
    }

    /// Two completed electronics plants (FAR floor 1.0) of 100 × 200 = 20,000 m² that record
    /// no figures, so they come from the buildings:
    /// - E1: one 100 × 100 building without 层数 (FAR 0.5 only if it has one storey; 建筑系数
    ///   50 % passes), and a neighbour's building crossing E1's edge by 0.5 × 1 = 0.5 m²;
    /// - E2: one 50 × 80 building of 3 storeys (建筑系数 20 % < 30 %, FAR 0.6 recorded).
    ///
    /// E1's only flags rest on the one-storey assumption: 需补充数据, not 低效, and the sliver
    /// does not count as a building. E2 is 低效 on recorded figures.
    #[test]
    fn a_flag_resting_on_the_storey_assumption_needs_data() {
        use crate::analysis::testing::{parcel, park, rect, Builder};
        use crate::model::records::Building;
        let plant = |id: &str| Parcel {
            contract_date: Some(d("2015-03-01")),
            actual_start: Some(d("2015-09-01")),
            actual_completion: Some(d("2017-06-01")),
            industry_code: Some("3982".into()),
            ..parcel(id, "100101", "K1")
        };
        let cat = Builder::new()
            .parks(
                "parks",
                vec![(park("K1", "工业主导型"), rect(-100.0, -100.0, 500.0, 500.0))],
            )
            .parcels(
                "parcels",
                vec![
                    (plant("E1"), rect(0.0, 0.0, 100.0, 200.0)),
                    (plant("E2"), rect(200.0, 0.0, 300.0, 200.0)),
                ],
            )
            .buildings(
                "buildings",
                vec![
                    (Building::default(), rect(0.0, 0.0, 100.0, 100.0)),
                    (Building::default(), rect(-20.0, 150.0, 0.5, 151.0)),
                    (
                        Building {
                            floors: Some(3.0),
                            ..Building::default()
                        },
                        rect(200.0, 0.0, 250.0, 80.0),
                    ),
                ],
            )
            .build();
        let ctx = Context::new(&cat);
        let rules = crate::rules::Rules::builtin();
        assert_eq!(rules.underused.building_sliver_tolerance_m2, 1.0);
        let r = underused(&ctx, &rules, d("2024-01-01"), None);
        let e1 = r.parcels.iter().find(|p| p.id == "E1").unwrap();
        assert_eq!(keys(&e1.reasons), ["far_industry_min", "far_below"]);
        assert_eq!(e1.reasons[0].value, 0.5);
        // One building, not two: the 0.5 m² sliver is below the tolerance.
        assert!(e1.reasons[0].note.as_deref().unwrap().contains("1 栋建筑"));
        assert!(e1.reasons[0]
            .assumption
            .as_deref()
            .unwrap()
            .contains("按一层计"));
        assert_eq!(e1.verdict, Verdict::NeedsData);
        let e2 = r.parcels.iter().find(|p| p.id == "E2").unwrap();
        assert_eq!(
            keys(&e2.reasons),
            ["far_industry_min", "far_below", "coverage_min"]
        );
        assert_eq!(e2.reasons[2].value, 0.2);
        assert!((e2.reasons[0].value.as_f64().unwrap() - 0.6).abs() < 1e-12);
        assert!(e2.reasons.iter().all(|x| x.assumption.is_none()));
        assert_eq!(e2.verdict, Verdict::Underused);
        assert_eq!((r.summary.flagged, r.summary.needs_data), (1, 1));
        assert_eq!(r.summary.flagged_area_m2, 20_000.0);
        // Without the tolerance the sliver would count as a second building.
        let p = ctx.parcels().find(|p| &*p.parcel().id == "E1").unwrap();
        assert_eq!(ctx.built_figures(&p, 0.0).unwrap().buildings, 2);
        assert_eq!(ctx.built_figures(&p, 1.0).unwrap().buildings, 1);
    }
}
