//! 亩均论英雄 — per-mu evaluation (PerMu) of industrial firms (DOMAIN.md §2).
//!
//! A firm is a 权利人 with its industrial parcels; its land is all of them (unbuilt land dilutes
//! its figures, which is the point). score = Σ weight × value ÷ benchmark over the configured
//! indicators; small firms (规下) use their own two and are ranked among themselves. Firms are
//! classed A/B/C/D by cumulative share from the top of their ranking; firms under construction
//! or producing for less than the start-up period are not graded.

use super::context::{Context, ParcelRef};
use super::dates::{full_years_passed, happened_by};
use crate::model::value::m2_to_mu;
use crate::rules::{PerMuIndicator, PerMuRules, PerMuScope};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

/// The summed figures of one firm.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FirmFigures {
    /// Land, 亩.
    pub area_mu: f64,
    /// 税收, 万元.
    pub tax: f64,
    /// 工业增加值, 万元.
    pub value_added: f64,
    /// 营业收入, 万元.
    pub revenue: f64,
    /// 综合能耗, 吨标煤.
    pub energy: f64,
    /// 排放当量.
    pub emissions: f64,
    /// 用电量, 万千瓦时.
    pub electricity: f64,
    /// 从业人数.
    pub employees: f64,
    /// 研发经费, 万元.
    pub rd_expense: f64,
}

impl FirmFigures {
    /// The value of an indicator, when its denominator is known and positive.
    pub fn indicator(&self, key: &str) -> Option<f64> {
        let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
        match key {
            "tax_per_mu" => ratio(self.tax, self.area_mu),
            "value_added_per_mu" => ratio(self.value_added, self.area_mu),
            "revenue_per_mu" => ratio(self.revenue, self.area_mu),
            "value_added_per_energy" => ratio(self.value_added, self.energy),
            "value_added_per_emission" => ratio(self.value_added, self.emissions),
            "labour_productivity" => ratio(self.value_added, self.employees),
            "rd_share" => ratio(self.rd_expense, self.revenue),
            "tax_per_electricity" => ratio(self.tax, self.electricity),
            _ => None,
        }
    }
}

/// One indicator's contribution.
#[derive(Clone, Debug, Serialize)]
pub struct Points {
    /// Key.
    pub key: String,
    /// Chinese name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// The firm's value (none when it cannot be computed).
    pub value: Option<f64>,
    /// The benchmark.
    pub benchmark: f64,
    /// The weight.
    pub weight: f64,
    /// weight × value ÷ benchmark (0 when the value is missing).
    pub points: f64,
}

/// Score figures against indicators: each scores weight × value ÷ benchmark, at most
/// `cap` × its weight, so one outstanding figure cannot outweigh all the others.
pub fn score(
    figures: &FirmFigures,
    indicators: &[PerMuIndicator],
    cap: Option<f64>,
) -> (f64, Vec<Points>) {
    let points: Vec<Points> = indicators
        .iter()
        .map(|i| {
            let value = figures.indicator(&i.key);
            Points {
                key: i.key.clone(),
                name: i.name.clone(),
                unit: i.unit.clone(),
                value,
                benchmark: i.benchmark,
                weight: i.weight,
                points: value.map_or(0.0, |v| {
                    let ratio = v / i.benchmark;
                    i.weight * cap.map_or(ratio, |c| ratio.min(c))
                }),
            }
        })
        .collect();
    (points.iter().map(|p| p.points).sum(), points)
}

/// The class of the firm at 1-based `rank` among `n` graded firms.
pub fn class_of(rank: usize, n: usize, rules: &PerMuRules) -> &'static str {
    let share = rank as f64 / n as f64;
    let c = &rules.classes;
    if share <= c.a + 1e-12 {
        "A"
    } else if share <= c.b + 1e-12 {
        "B"
    } else if share <= c.c + 1e-12 {
        "C"
    } else {
        "D"
    }
}

/// One evaluated firm.
#[derive(Clone, Debug, Serialize)]
pub struct Firm {
    /// The firm (权利人).
    pub id: String,
    /// Its score (none when ungraded).
    pub score: Option<f64>,
    /// A, B, C, D or "ungraded".
    pub class: String,
    /// Why it is ungraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ungraded: Option<String>,
    /// Rank among graded firms of its scope.
    pub rank: Option<usize>,
    /// The park of its largest parcel.
    pub park_id: Option<String>,
    /// Whether it was scored as a small firm (规下).
    pub small: bool,
    /// Its parcels.
    pub parcels: Vec<String>,
    /// Its summed figures.
    pub figures: FirmFigures,
    /// Points per indicator.
    pub indicators: Vec<Points>,
}

/// The per-mu evaluation (亩均论英雄).
#[derive(Clone, Debug, Serialize)]
pub struct PerMuReport {
    /// Evaluation date.
    pub as_of: NaiveDate,
    /// Firms, best first within each scope; ungraded last.
    pub firms: Vec<Firm>,
    /// Firms per class.
    pub summary: BTreeMap<String, usize>,
    /// The pack's source.
    pub source: crate::rules::Source,
}

struct Group<'a> {
    parcels: Vec<ParcelRef<'a>>,
}

/// Evaluate every firm with industrial land (in one park, when given).
pub fn per_mu(
    ctx: &Context<'_>,
    rules: &PerMuRules,
    as_of: NaiveDate,
    park: Option<&str>,
) -> PerMuReport {
    let mut groups: BTreeMap<String, Group<'_>> = BTreeMap::new();
    for r in ctx.parcels().filter(|r| ctx.is_industrial(r)) {
        let Some(holder) = r
            .parcel()
            .holder
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
        else {
            continue;
        };
        groups
            .entry(holder.to_string())
            .or_insert_with(|| Group { parcels: vec![] })
            .parcels
            .push(r);
    }
    let mut firms: Vec<Firm> = vec![];
    for (holder, g) in groups {
        if ctx.cancelled() {
            break;
        }
        let largest = g
            .parcels
            .iter()
            .max_by(|a, b| a.area_m2().total_cmp(&b.area_m2()))
            .expect("a group has parcels");
        let park_id = ctx.park_id_of(largest);
        let mut f = FirmFigures::default();
        let mut small = false;
        let mut earliest_completion: Option<NaiveDate> = None;
        for r in &g.parcels {
            let p = r.parcel();
            f.area_mu += m2_to_mu(r.area_m2());
            f.tax += p.tax.unwrap_or(0.0);
            f.value_added += p.value_added.unwrap_or(0.0);
            f.revenue += p.revenue.unwrap_or(0.0);
            f.energy += p.energy.unwrap_or(0.0);
            f.emissions += p.emissions.unwrap_or(0.0);
            f.electricity += p.electricity.unwrap_or(0.0);
            f.employees += p.employees.unwrap_or(0.0);
            f.rd_expense += p.rd_expense.unwrap_or(0.0);
            small |= p.firm_size.as_deref().is_some_and(|s| {
                rules
                    .small
                    .size_words
                    .iter()
                    .any(|w| s.contains(w.as_str()))
            });
            if let Some(c) = happened_by(p.actual_completion, as_of) {
                earliest_completion = Some(earliest_completion.map_or(c, |e| e.min(c)));
            }
        }
        let ungraded = match earliest_completion {
            None => Some("在建企业：尚无竣工宗地".to_string()),
            Some(c) if !full_years_passed(c, rules.startup_years, as_of) => Some(format!(
                "新投产企业：自 {c} 投产，不满 {} 年",
                rules.startup_years
            )),
            _ => None,
        };
        let indicators = if small {
            &rules.small.indicators
        } else {
            &rules.indicators
        };
        let (s, points) = score(&f, indicators, rules.points_cap);
        firms.push(Firm {
            id: holder,
            score: ungraded.is_none().then_some(s),
            class: "ungraded".into(),
            ungraded,
            rank: None,
            park_id,
            small,
            parcels: g
                .parcels
                .iter()
                .map(|r| r.parcel().id.to_string())
                .collect(),
            figures: f,
            indicators: points,
        });
    }
    // Rank within each scope — all firms together, or each park on its own — with small
    // firms (scored on other indicators) ranked among themselves.
    let scope_of = |f: &Firm| {
        let size = if f.small { "规下" } else { "规上" };
        match rules.scope {
            PerMuScope::All => size.to_string(),
            PerMuScope::Park => format!("{}/{size}", f.park_id.clone().unwrap_or_default()),
        }
    };
    firms.sort_by(|a, b| {
        scope_of(a)
            .cmp(&scope_of(b))
            .then(
                b.score
                    .unwrap_or(f64::NEG_INFINITY)
                    .total_cmp(&a.score.unwrap_or(f64::NEG_INFINITY)),
            )
            .then(a.id.cmp(&b.id))
    });
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for f in firms.iter().filter(|f| f.score.is_some()) {
        *counts.entry(scope_of(f)).or_default() += 1;
    }
    let mut position: BTreeMap<String, usize> = BTreeMap::new();
    for f in firms.iter_mut().filter(|f| f.score.is_some()) {
        let scope = scope_of(f);
        let rank = position.entry(scope.clone()).or_default();
        *rank += 1;
        f.rank = Some(*rank);
        f.class = class_of(*rank, counts[&scope], rules).to_string();
    }
    // One park's firms keep the class they have among all: ranked first, filtered after.
    firms.retain(|f| park.is_none_or(|want| f.park_id.as_deref() == Some(want)));
    let mut summary = BTreeMap::new();
    for f in &firms {
        *summary.entry(f.class.clone()).or_default() += 1;
    }
    PerMuReport {
        as_of,
        firms,
        summary,
        source: rules.source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;

    #[test]
    fn scores_by_hand() {
        let rules = Rules::builtin().per_mu;
        // 30 亩, 600 万元 tax (20/亩 = the benchmark), 2,400 万元 value added (80/亩 = benchmark),
        // 800 吨标煤 (3.0 = benchmark), 12 当量 (200 = benchmark), 96 people (25 = benchmark),
        // R&D 3 % of 8,000 revenue (= benchmark): every indicator scores its full weight.
        let f = FirmFigures {
            area_mu: 30.0,
            tax: 600.0,
            value_added: 2_400.0,
            revenue: 8_000.0,
            energy: 800.0,
            emissions: 12.0,
            electricity: 1_000.0,
            employees: 96.0,
            rd_expense: 240.0,
        };
        let (s, points) = score(&f, &rules.indicators, rules.points_cap);
        assert!((s - 100.0).abs() < 1e-9, "{s}");
        assert_eq!(points.len(), 6);
        // Half the tax: the 30-point indicator scores 15.
        let (s, _) = score(
            &FirmFigures {
                tax: 300.0,
                ..f.clone()
            },
            &rules.indicators,
            rules.points_cap,
        );
        assert!((s - 85.0).abs() < 1e-9, "{s}");
        // No energy recorded: that indicator scores nothing rather than dividing by zero.
        let (s, points) = score(
            &FirmFigures {
                energy: 0.0,
                ..f.clone()
            },
            &rules.indicators,
            rules.points_cap,
        );
        assert!((s - 80.0).abs() < 1e-9, "{s}");
        assert_eq!(points[2].value, None);
        // Small firms: 600/30 = 20 per mu (benchmark 10 → 2 × 50 points, capped at 1.5 × 50 =
        // 75), 600/1,000 = 0.6 per 万千瓦时 (benchmark 0.5 → 1.2 × 50 = 60 points).
        assert_eq!(rules.points_cap, Some(1.5));
        let (s, _) = score(&f, &rules.small.indicators, rules.points_cap);
        assert!((s - 135.0).abs() < 1e-9, "{s}");
        let (s, _) = score(&f, &rules.small.indicators, None);
        assert!((s - 160.0).abs() < 1e-9, "{s}");
    }

    #[test]
    fn firms_are_summed_graded_and_ranked() {
        use crate::analysis::testing::{parcel, park, rect, Builder};
        use crate::model::records::Parcel;
        let d = |s: &str| s.parse::<NaiveDate>().ok();
        let plant = |id: &str, holder: &str, tax: f64, done: &str| Parcel {
            holder: Some(holder.into()),
            actual_completion: d(done),
            tax: Some(tax),
            ..parcel(id, "100101", "K1")
        };
        // Each parcel is 100 × 200 m = 20,000 m² = 30 亩.
        let cat = Builder::new()
            .parks(
                "parks",
                vec![
                    (park("K1", "工业主导型"), rect(0.0, 0.0, 2000.0, 2000.0)),
                    (park("K2", "工业主导型"), rect(3000.0, 0.0, 4000.0, 2000.0)),
                ],
            )
            .parcels(
                "parcels",
                vec![
                    (
                        plant("A1", "甲公司", 600.0, "2015-01-01"),
                        rect(0.0, 0.0, 100.0, 200.0),
                    ),
                    (
                        plant("A2", "甲公司", 0.0, "2016-01-01"),
                        rect(100.0, 0.0, 200.0, 200.0),
                    ),
                    (
                        // In the other park.
                        Parcel {
                            park_id: Some("K2".into()),
                            ..plant("B1", "乙公司", 900.0, "2015-01-01")
                        },
                        rect(3000.0, 0.0, 3100.0, 200.0),
                    ),
                    (
                        plant("C1", "丙公司", 900.0, "2024-06-01"),
                        rect(300.0, 0.0, 400.0, 200.0),
                    ),
                    (
                        Parcel {
                            actual_completion: None,
                            ..plant("D1", "丁公司", 0.0, "2015-01-01")
                        },
                        rect(400.0, 0.0, 500.0, 200.0),
                    ),
                    (
                        Parcel {
                            firm_size: Some("规下".into()),
                            ..plant("E1", "戊公司", 60.0, "2015-01-01")
                        },
                        rect(500.0, 0.0, 600.0, 200.0),
                    ),
                ],
            )
            .build();
        let ctx = Context::new(&cat);
        let r = per_mu(
            &ctx,
            &Rules::builtin().per_mu,
            d("2025-01-01").unwrap(),
            None,
        );
        let firm = |id: &str| r.firms.iter().find(|f| f.id == id).unwrap();
        // 甲: 600 万元 over 60 亩 = 10/亩 → 30 × 10 / 20 = 15 points (no other figures).
        assert_eq!(firm("甲公司").figures.area_mu, 60.0);
        assert!((firm("甲公司").score.unwrap() - 15.0).abs() < 1e-9);
        // 乙: 900 over 30 亩 = 30/亩 → 45 points, ranked first of the two regular firms.
        assert_eq!(firm("乙公司").rank, Some(1));
        assert_eq!(firm("乙公司").class, "B"); // 1 of 2 = 50 % → B
        assert_eq!(firm("甲公司").class, "D"); // 2 of 2 = 100 % → D
        assert!(firm("丙公司")
            .ungraded
            .as_deref()
            .unwrap()
            .contains("新投产"));
        assert!(firm("丁公司").ungraded.as_deref().unwrap().contains("在建"));
        assert_eq!(firm("丙公司").class, "ungraded");
        // The small firm ranks on its own: first of one.
        assert!(firm("戊公司").small);
        assert_eq!(
            (firm("戊公司").rank, firm("戊公司").class.as_str()),
            (Some(1), "D")
        );
        // One park's report keeps the classes firms have among all parks.
        let k1 = per_mu(
            &ctx,
            &Rules::builtin().per_mu,
            d("2025-01-01").unwrap(),
            Some("K1"),
        );
        assert!(k1.firms.iter().all(|f| f.id != "乙公司"));
        let jia = k1.firms.iter().find(|f| f.id == "甲公司").unwrap();
        assert_eq!((jia.rank, jia.class.as_str()), (Some(2), "D"));
    }

    #[test]
    fn classes_by_cumulative_share() {
        let rules = Rules::builtin().per_mu;
        let classes: Vec<&str> = (1..=20).map(|r| class_of(r, 20, &rules)).collect();
        // 20 firms: ranks 1–5 A (25 %), 6–14 B (70 %), 15–19 C (95 %), 20 D.
        assert_eq!(classes.iter().filter(|c| **c == "A").count(), 5);
        assert_eq!(classes.iter().filter(|c| **c == "B").count(), 9);
        assert_eq!(classes.iter().filter(|c| **c == "C").count(), 5);
        assert_eq!(classes[19], "D");
    }
}
