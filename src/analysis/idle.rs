//! 闲置土地 — idle land under 《闲置土地处置办法》 (DOMAIN.md §1), and 批而未供.
//!
//! Every finding is a suspicion (疑似闲置) with the article, the dates and the figures behind
//! it, enough to write the 调查通知书 from. A parcel whose dates are missing is reported as
//! "cannot assess" with the missing field named, never silently passed.

use super::context::{BuiltFigures, Context, ParcelRef};
use super::dates::{first_day_after, full_years_passed, happened_by, years_between};
use crate::model::disposal::{Disposition, Status, Subject};
use crate::model::records::Parcel;
use crate::model::value::m2_to_mu;
use crate::rules::{AreaBasis, IdleRules};
use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What kind of idle land.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// 第二条 case A: not started a full year after the agreed start.
    NotStarted,
    /// 第二条 case B: started, too little built or invested, suspended a full year.
    Stalled,
    /// 批而未供: approved, not supplied.
    ApprovedNotSupplied,
}

impl Finding {
    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Finding::NotStarted => "未动工开发满一年",
            Finding::Stalled => "已动工但中止开发满一年",
            Finding::ApprovedNotSupplied => "批而未供",
        }
    }
}

/// Which disposal the finding leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Track {
    /// 第十四条第一项: idle-land fee, 20 % of the land price.
    Fee,
    /// 第十四条第二项: recovery without compensation.
    Recovery,
    /// 第八条、第十二条: government cause, negotiated disposal.
    Negotiated,
}

impl Track {
    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Track::Fee => "征缴土地闲置费",
            Track::Recovery => "无偿收回",
            Track::Negotiated => "协商处置",
        }
    }
}

/// A suspected idle parcel and the figures behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IdleFinding {
    /// Which case.
    pub finding: Finding,
    /// Which disposal (none for 批而未供).
    pub track: Option<Track>,
    /// The day idleness is counted from.
    pub idle_since: NaiveDate,
    /// Calendar years idle as of the evaluation date.
    pub years_idle: f64,
    /// Days idle.
    pub idle_days: i64,
    /// 土地闲置费, 万元 (fee track with a known land price).
    pub fee_wan: Option<f64>,
    /// The articles that apply.
    pub rule: String,
    /// The Art. 8 item, when a government cause is recorded.
    pub government_cause: Option<String>,
    /// Dates and figures the finding rests on.
    pub inputs: Map<String, Value>,
}

/// What became of one parcel.
#[derive(Clone, Debug, PartialEq)]
pub enum Assessment {
    /// Suspected idle.
    Idle(IdleFinding),
    /// Cannot tell: these fields are missing.
    CannotAssess {
        /// The missing fields (Chinese names).
        missing: Vec<&'static str>,
        /// Why they matter.
        reason: String,
    },
    /// Already disposed of (处置状态), not flagged again.
    Disposed,
    /// Not idle.
    NotIdle,
}

fn contains_any(text: Option<&str>, words: &[String]) -> bool {
    text.is_some_and(|t| words.iter().any(|w| t.contains(w.as_str())))
}

/// Whether a parcel is recorded as not supplied (未供).
pub fn unsupplied(p: &Parcel, rules: &IdleRules) -> bool {
    contains_any(
        p.supply_status.as_deref(),
        &rules.approved_not_supplied.unsupplied_words,
    )
}

/// What a recorded 政府原因 / 闲置原因 says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// An Art. 8 item (or force majeure) it names.
    Article8(String),
    /// Text that names none of them: a reason to check, not a ground for negotiation.
    Unclassified(String),
}

/// The Art. 8 item a 政府原因 value names, if it says anything at all.
pub fn government_cause(text: Option<&str>, rules: &IdleRules) -> Option<Cause> {
    let t = text?.trim();
    if t.is_empty() || rules.government.none_words.iter().any(|w| w == t) {
        return None;
    }
    Some(
        rules
            .government
            .causes
            .iter()
            .find(|c| c.keywords.iter().any(|k| t.contains(k.as_str())))
            .map_or_else(
                || Cause::Unclassified(t.to_string()),
                |c| Cause::Article8(c.item.clone()),
            ),
    )
}

fn date(d: Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| Value::String(d.to_string()))
}

fn num(x: Option<f64>) -> Value {
    x.map_or(Value::Null, |v| json!(v))
}

fn share(part: Option<f64>, whole: Option<f64>) -> Option<f64> {
    match (part, whole) {
        (Some(p), Some(w)) if w > 0.0 => Some(p / w),
        _ => None,
    }
}

/// Assess one parcel of `land_area_m2` (planar) as of `as_of`. `built` are figures derived
/// from buildings, used for the footprint basis when the parcel records none.
pub fn assess(
    p: &Parcel,
    land_area_m2: f64,
    built: Option<BuiltFigures>,
    rules: &IdleRules,
    as_of: NaiveDate,
) -> Assessment {
    // The figures are written only for flagged parcels: most parcels are not idle.
    let base = || {
        let mut inputs = Map::new();
        inputs.insert("area_m2".into(), json!(land_area_m2));
        inputs.insert("area_mu".into(), json!(m2_to_mu(land_area_m2)));
        inputs
    };

    let actual_start = happened_by(p.actual_start, as_of);
    let suspended_since = happened_by(p.suspended_since, as_of);

    // Disposed of (处置状态 已处置): not flagged again, whatever the case.
    if contains_any(p.disposal_status.as_deref(), &rules.disposed.keywords) {
        return Assessment::Disposed;
    }

    // 批而未供: not supplied now, or supplied after the evaluation date (an approved parcel
    // whose contract was signed later was approved, not supplied, on that day).
    let ans = &rules.approved_not_supplied;
    let supplied_later = p.approval_date.is_some() && p.contract_date.is_some_and(|c| c > as_of);
    if unsupplied(p, rules) || supplied_later {
        let Some(approved) = p.approval_date else {
            return Assessment::CannotAssess {
                missing: vec!["批准日期"],
                reason: "宗地未供，但未记录批准日期，无法计算批而未供年限".into(),
            };
        };
        if !full_years_passed(approved, ans.years, as_of) {
            return Assessment::NotIdle;
        }
        let mut inputs = base();
        inputs.insert("approval_date".into(), date(Some(approved)));
        inputs.insert("approval_no".into(), json!(p.approval_no.as_deref()));
        inputs.insert("supply_status".into(), json!(p.supply_status.as_deref()));
        inputs.insert(
            format!("{}_years_on", ans.years),
            date(Some(first_day_after(approved, ans.years))),
        );
        return Assessment::Idle(IdleFinding {
            finding: Finding::ApprovedNotSupplied,
            track: None,
            idle_since: approved,
            years_idle: years_between(approved, as_of),
            idle_days: (as_of - approved).num_days(),
            fee_wan: None,
            rule: ans.article.clone(),
            government_cause: None,
            inputs,
        });
    }
    if happened_by(p.actual_completion, as_of).is_some() {
        return Assessment::NotIdle;
    }

    // Case A (not started) or case B (started, stalled): which, since when, what it rests on.
    let (finding, since, years_needed, case_article, shares) = match actual_start {
        None => {
            let Some(start) = p.agreed_start else {
                return Assessment::CannotAssess {
                    missing: vec!["约定动工日期"],
                    reason: "宗地未动工，但未记录约定动工日期，无法计算闲置期".into(),
                };
            };
            (
                Finding::NotStarted,
                start,
                rules.case_a.years,
                &rules.case_a.article,
                None,
            )
        }
        Some(_) => {
            let b = &rules.case_b;
            let Some(suspended) = suspended_since else {
                // Started, not suspended: construction is going on.
                return Assessment::NotIdle;
            };
            let developed = match b.area_basis {
                AreaBasis::Land => share(
                    p.developed_area,
                    p.planned_dev_area
                        .or(p.recorded_area)
                        .or(Some(land_area_m2)),
                ),
                AreaBasis::Footprint => share(
                    p.footprint_area.or(built.map(|f| f.footprint_m2)),
                    Some(land_area_m2),
                ),
            };
            let invested = share(p.invested, p.total_investment);
            let low_area = developed.is_some_and(|s| s < b.developed_share_below);
            let low_investment = invested.is_some_and(|s| s < b.invested_share_below);
            if !(low_area || low_investment) {
                // Either test alone makes the case: one that cannot be run leaves it open.
                let mut missing = vec![];
                if developed.is_none() {
                    missing.push(match b.area_basis {
                        AreaBasis::Land => "已开发面积",
                        AreaBasis::Footprint => "建筑基底面积",
                    });
                }
                if invested.is_none() {
                    missing.extend(["已投资", "总投资"]);
                }
                if missing.is_empty() {
                    return Assessment::NotIdle;
                }
                return Assessment::CannotAssess {
                    missing,
                    reason: "停工已满一年，未记录的已开发面积比例或已投资比例可能低于第二条标准"
                        .into(),
                };
            }
            (
                Finding::Stalled,
                suspended,
                b.suspended_years,
                &b.article,
                Some((developed, invested)),
            )
        }
    };
    if !full_years_passed(since, years_needed, as_of) {
        return Assessment::NotIdle;
    }

    let mut inputs = base();
    inputs.insert("contract_date".into(), date(p.contract_date));
    inputs.insert("agreed_start".into(), date(p.agreed_start));
    inputs.insert("actual_start".into(), date(p.actual_start));
    if let Some((developed, invested)) = shares {
        inputs.insert("suspended_since".into(), date(p.suspended_since));
        inputs.insert("area_basis".into(), json!(rules.case_b.area_basis));
        match rules.case_b.area_basis {
            AreaBasis::Land => {
                inputs.insert("developed_area_m2".into(), num(p.developed_area));
                inputs.insert("planned_dev_area_m2".into(), num(p.planned_dev_area));
            }
            AreaBasis::Footprint => {
                let (footprint, source) = match (p.footprint_area, built) {
                    (Some(f), _) => (Some(f), "宗地记录（建筑基底面积）"),
                    (None, Some(b)) => (Some(b.footprint_m2), "由建筑图层推算"),
                    (None, None) => (None, "未记录"),
                };
                inputs.insert("footprint_m2".into(), num(footprint));
                inputs.insert("footprint_source".into(), json!(source));
            }
        }
        inputs.insert("developed_share".into(), num(developed));
        inputs.insert("invested_wan".into(), num(p.invested));
        inputs.insert("total_investment_wan".into(), num(p.total_investment));
        inputs.insert("invested_share".into(), num(invested));
    }
    let recorded_cause = government_cause(p.gov_cause.as_deref(), rules);
    let cause = match recorded_cause {
        Some(Cause::Article8(item)) => Some(item),
        Some(Cause::Unclassified(text)) => {
            inputs.insert(
                "cause_note".into(),
                json!(format!(
                    "记录的原因「{text}」不属于第八条所列政府原因：选择协商处置前请核实"
                )),
            );
            None
        }
        None => None,
    };
    let track = if cause.is_some() {
        Track::Negotiated
    } else if full_years_passed(since, rules.recovery.years, as_of) {
        Track::Recovery
    } else {
        Track::Fee
    };
    let fee_wan = match track {
        Track::Fee => p.land_price.map(|price| price * rules.fee.rate),
        _ => None,
    };
    if track == Track::Fee && p.land_price.is_none() {
        inputs.insert(
            "fee_note".into(),
            json!("未记录出让价款，无法计算土地闲置费"),
        );
    }
    inputs.insert("land_price_wan".into(), num(p.land_price));
    inputs.insert("gov_cause".into(), json!(p.gov_cause.as_deref()));
    inputs.insert(
        format!("{years_needed}_years_on"),
        date(Some(first_day_after(since, years_needed))),
    );
    inputs.insert(
        format!("{}_years_on", rules.recovery.years),
        date(Some(first_day_after(since, rules.recovery.years))),
    );
    let track_article = match track {
        Track::Fee => &rules.fee.article,
        Track::Recovery => &rules.recovery.article,
        Track::Negotiated => &rules.government.article,
    };
    Assessment::Idle(IdleFinding {
        finding,
        track: Some(track),
        idle_since: since,
        years_idle: years_between(since, as_of),
        idle_days: (as_of - since).num_days(),
        fee_wan,
        rule: format!("{case_article}；{track_article}"),
        government_cause: cause,
        inputs,
    })
}

/// The subjects whose events the idle check reads.
pub const SUBJECTS: &[Subject] = &[Subject::Idle, Subject::ApprovedNotSupplied];

/// The parcel as its events (处置记录) left it on the evaluation date: the events' status
/// replaces the file's 处置状态, an extension moves the date the idle clock runs from (the
/// agreed start), and a recorded 动工 is the start, unless the file records an earlier one.
pub fn with_disposition(p: &Parcel, d: &Disposition) -> Parcel {
    let mut out = p.clone();
    out.disposal_status = d.label_zh().map(String::into_boxed_str);
    if let Some(from) = d.clock_from {
        out.agreed_start = Some(from);
    }
    if let Some(started) = d.started_on {
        out.actual_start = Some(p.actual_start.map_or(started, |s| s.min(started)));
    }
    out
}

/// Assess one parcel of the snapshot as of `as_of`, with its recorded events in force by
/// then (see [`with_disposition`]); returns the events' disposition too, when it has some.
pub fn assess_recorded(
    ctx: &Context<'_>,
    r: &ParcelRef<'_>,
    rules: &IdleRules,
    as_of: NaiveDate,
) -> (Assessment, Option<Disposition>) {
    let events = &ctx.catalog.dispositions;
    let recorded = r.parcel();
    let disposition = (!events.is_empty())
        .then(|| events.on(&r.layer.info.name, &recorded.id, SUBJECTS, as_of))
        .flatten();
    let adjusted = disposition.as_ref().map(|d| with_disposition(recorded, d));
    let p = adjusted.as_ref().unwrap_or(recorded);
    let footprint_basis = rules.case_b.area_basis == AreaBasis::Footprint;
    let built = if footprint_basis && p.actual_start.is_some() && p.footprint_area.is_none() {
        // Every square metre of footprint counts as development here: a sliver can only
        // lower a Case B finding, never make one.
        ctx.built_figures(r, 0.0)
    } else {
        None
    };
    let a = match disposition.as_ref().and_then(|d| d.status) {
        Some(Status::Disposed) => Assessment::Disposed,
        _ => assess(p, r.area_m2(), built, rules, as_of),
    };
    (a, disposition)
}

/// One flagged parcel in the report.
#[derive(Clone, Debug, Serialize)]
pub struct IdleParcel {
    /// 宗地编号.
    pub id: String,
    /// 所属园区.
    pub park_id: Option<String>,
    /// The layer it is in.
    pub layer: String,
    /// Its store fid.
    pub fid: i64,
    /// 权利人.
    pub holder: Option<String>,
    /// 疑似 — a suspicion until 认定; the status of its recorded events when it has some.
    pub status: &'static str,
    /// 处置状态: what its events say on the evaluation date (调查中, 已认定, 处置中（延期动工）…),
    /// else what the file records, when it records something.
    pub disposal_status: Option<String>,
    /// The finding and its figures.
    #[serde(flatten)]
    pub finding: IdleFinding,
}

/// A parcel that could not be assessed.
#[derive(Clone, Debug, Serialize)]
pub struct Unassessed {
    /// 宗地编号.
    pub id: String,
    /// 所属园区.
    pub park_id: Option<String>,
    /// The layer.
    pub layer: String,
    /// Store fid.
    pub fid: i64,
    /// Missing fields.
    pub missing: Vec<&'static str>,
    /// Why they matter.
    pub reason: String,
}

/// Counts and areas of one group.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Tally {
    /// Parcels.
    pub count: usize,
    /// Their planar area, m².
    pub area_m2: f64,
    /// The same in 亩.
    pub area_mu: f64,
}

impl Tally {
    fn add(&mut self, area_m2: f64) {
        self.count += 1;
        self.area_m2 += area_m2;
        self.area_mu = m2_to_mu(self.area_m2);
    }
}

/// Totals of the idle report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IdleSummary {
    /// Parcels assessed.
    pub parcels_assessed: usize,
    /// By finding.
    pub by_finding: BTreeMap<Finding, Tally>,
    /// By track.
    pub by_track: BTreeMap<Track, Tally>,
    /// Sum of idle-land fees, 万元.
    pub fee_total_wan: f64,
    /// Parcels already disposed of (not flagged).
    pub disposed_excluded: usize,
    /// Parcels that could not be assessed.
    pub cannot_assess: usize,
}

/// The idle-land report.
#[derive(Clone, Debug, Serialize)]
pub struct IdleReport {
    /// The evaluation date.
    pub as_of: NaiveDate,
    /// Flagged parcels.
    pub parcels: Vec<IdleParcel>,
    /// Totals.
    pub summary: IdleSummary,
    /// Parcels that could not be assessed.
    pub cannot_assess: Vec<Unassessed>,
    /// The rule pack's source.
    pub source: crate::rules::Source,
}

/// Assess every parcel (of one park, when `park` is given) as of `as_of`.
pub fn idle(
    ctx: &Context<'_>,
    rules: &IdleRules,
    as_of: NaiveDate,
    park: Option<&str>,
) -> IdleReport {
    let refs: Vec<ParcelRef<'_>> = ctx.parcels().collect();
    type Assessed<'a> = (
        ParcelRef<'a>,
        Option<String>,
        Assessment,
        Option<Disposition>,
    );
    let assessed: Vec<Assessed<'_>> = refs
        .into_par_iter()
        .filter_map(|r| {
            if ctx.cancelled() {
                return None;
            }
            // The park is looked up only where it matters: a park filter, or a finding.
            let mut park_id = None;
            if let Some(want) = park {
                park_id = ctx.park_id_of(&r);
                if park_id.as_deref() != Some(want) {
                    return None;
                }
            }
            let (a, disposition) = assess_recorded(ctx, &r, rules, as_of);
            if park_id.is_none()
                && matches!(a, Assessment::Idle(_) | Assessment::CannotAssess { .. })
            {
                park_id = ctx.park_id_of(&r);
            }
            Some((r, park_id, a, disposition))
        })
        .collect();
    let mut summary = IdleSummary {
        parcels_assessed: assessed.len(),
        ..IdleSummary::default()
    };
    let mut parcels = vec![];
    let mut cannot_assess = vec![];
    for (r, park_id, a, disposition) in assessed {
        let p = r.parcel();
        match a {
            Assessment::Idle(f) => {
                summary
                    .by_finding
                    .entry(f.finding)
                    .or_default()
                    .add(r.area_m2());
                if let Some(t) = f.track {
                    summary.by_track.entry(t).or_default().add(r.area_m2());
                }
                summary.fee_total_wan += f.fee_wan.unwrap_or(0.0);
                parcels.push(IdleParcel {
                    id: p.id.to_string(),
                    park_id,
                    layer: r.layer.info.name.clone(),
                    fid: r.fid(),
                    holder: p.holder.as_deref().map(str::to_string),
                    status: disposition
                        .as_ref()
                        .and_then(|d| d.status)
                        .map_or(Status::Suspected.label_zh(), Status::label_zh),
                    disposal_status: match &disposition {
                        Some(d) => d.label_zh(),
                        None => p.disposal_status.as_deref().map(str::to_string),
                    },
                    finding: f,
                });
            }
            Assessment::CannotAssess { missing, reason } => {
                summary.cannot_assess += 1;
                cannot_assess.push(Unassessed {
                    id: p.id.to_string(),
                    park_id,
                    layer: r.layer.info.name.clone(),
                    fid: r.fid(),
                    missing,
                    reason,
                });
            }
            Assessment::Disposed => summary.disposed_excluded += 1,
            Assessment::NotIdle => {}
        }
    }
    IdleReport {
        as_of,
        parcels,
        summary,
        cannot_assess,
        source: rules.source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rules() -> IdleRules {
        Rules::builtin().idle
    }

    fn not_started(agreed: &str) -> Parcel {
        Parcel {
            id: "P".into(),
            supply_status: Some("已供".into()),
            contract_date: Some(d("2019-01-10")),
            agreed_start: Some(d(agreed)),
            land_price: Some(500.0),
            ..Parcel::default()
        }
    }

    fn finding(a: Assessment) -> IdleFinding {
        match a {
            Assessment::Idle(f) => f,
            other => panic!("expected a finding, got {other:?}"),
        }
    }

    #[test]
    fn case_a_one_year_boundary_day_by_day() {
        let p = not_started("2020-03-05");
        let r = rules();
        // The year is complete at the end of 2021-03-05.
        assert_eq!(
            assess(&p, 10_000.0, None, &r, d("2021-03-04")),
            Assessment::NotIdle
        );
        assert_eq!(
            assess(&p, 10_000.0, None, &r, d("2021-03-05")),
            Assessment::NotIdle
        );
        let f = finding(assess(&p, 10_000.0, None, &r, d("2021-03-06")));
        assert_eq!(f.finding, Finding::NotStarted);
        assert_eq!(f.track, Some(Track::Fee));
        assert_eq!(f.idle_since, d("2020-03-05"));
        assert_eq!(f.idle_days, 366);
        // 20 % of the 500 万元 land price.
        assert_eq!(f.fee_wan, Some(100.0));
        assert!(
            f.rule.contains("第二条") && f.rule.contains("第十四条第一项"),
            "{}",
            f.rule
        );
        assert_eq!(f.inputs["1_years_on"], "2021-03-06");
    }

    #[test]
    fn case_a_two_year_boundary_moves_to_recovery() {
        let p = not_started("2020-03-05");
        let r = rules();
        assert_eq!(
            finding(assess(&p, 1.0, None, &r, d("2022-03-04"))).track,
            Some(Track::Fee)
        );
        assert_eq!(
            finding(assess(&p, 1.0, None, &r, d("2022-03-05"))).track,
            Some(Track::Fee)
        );
        let f = finding(assess(&p, 1.0, None, &r, d("2022-03-06")));
        assert_eq!(f.track, Some(Track::Recovery));
        assert_eq!(f.fee_wan, None);
        assert!(f.rule.contains("第十四条第二项"));
        assert_eq!(f.years_idle, 2.0 + 1.0 / 365.0);
    }

    #[test]
    fn a_29_february_start_counts_to_the_end_of_february() {
        let p = not_started("2020-02-29");
        let r = rules();
        for before in ["2021-02-27", "2021-02-28"] {
            assert_eq!(
                assess(&p, 1.0, None, &r, d(before)),
                Assessment::NotIdle,
                "{before}"
            );
        }
        assert_eq!(
            finding(assess(&p, 1.0, None, &r, d("2021-03-01"))).track,
            Some(Track::Fee)
        );
        assert_eq!(
            finding(assess(&p, 1.0, None, &r, d("2022-02-28"))).track,
            Some(Track::Fee)
        );
        assert_eq!(
            finding(assess(&p, 1.0, None, &r, d("2022-03-01"))).track,
            Some(Track::Recovery)
        );
    }

    #[test]
    fn government_causes_and_force_majeure_are_negotiated() {
        let r = rules();
        for (text, item) in [
            ("规划调整(第八条第二项)", "第八条第二项"),
            ("未按约定交付土地", "第八条第一项"),
            ("文物保护", "第八条第五项"),
            ("地震，不可抗力", "不可抗力"),
        ] {
            let mut p = not_started("2018-01-01");
            p.gov_cause = Some(text.into());
            let f = finding(assess(&p, 1.0, None, &r, d("2024-01-01")));
            assert_eq!(f.track, Some(Track::Negotiated), "{text}");
            assert!(
                f.government_cause.as_deref().unwrap().contains(item),
                "{text}: {:?}",
                f.government_cause
            );
            assert_eq!(f.fee_wan, None);
            assert!(f.rule.contains("第八条"));
        }
        let mut p = not_started("2018-01-01");
        p.gov_cause = Some("无".into());
        assert_eq!(
            finding(assess(&p, 1.0, None, &r, d("2024-01-01"))).track,
            Some(Track::Recovery)
        );
        // The holder's own reason is no Art. 8 cause: Art. 14 applies, with a note to check it.
        p.gov_cause = Some("企业资金困难".into());
        let f = finding(assess(&p, 1.0, None, &r, d("2024-01-01")));
        assert_eq!(f.track, Some(Track::Recovery));
        assert_eq!(f.government_cause, None);
        assert!(f.inputs["cause_note"]
            .as_str()
            .unwrap()
            .contains("企业资金困难"));
    }

    #[test]
    fn events_after_the_evaluation_date_had_not_happened() {
        let r = rules();
        // Started in 2023, but on 2021-01-01 it had not: not started, two full years past
        // 2018-01-01 → recovery track.
        let mut p = not_started("2018-01-01");
        p.actual_start = Some(d("2023-01-01"));
        let f = finding(assess(&p, 1.0, None, &r, d("2021-01-01")));
        assert_eq!(f.finding, Finding::NotStarted);
        assert_eq!(f.track, Some(Track::Recovery));
        assert_eq!(
            assess(&p, 1.0, None, &r, d("2023-01-01")),
            Assessment::NotIdle
        );
        // Completed in 2022: on 2021-06-01 a suspension since 2019 still counts.
        let mut p = not_started("2018-01-01");
        p.actual_start = Some(d("2018-03-01"));
        p.suspended_since = Some(d("2019-05-01"));
        p.developed_area = Some(1_000.0);
        p.planned_dev_area = Some(10_000.0);
        p.actual_completion = Some(d("2022-01-01"));
        assert_eq!(
            finding(assess(&p, 1.0, None, &r, d("2021-06-01"))).finding,
            Finding::Stalled
        );
        assert_eq!(
            assess(&p, 1.0, None, &r, d("2022-01-01")),
            Assessment::NotIdle
        );
        // Suspended only after the evaluation date: construction was going on.
        p.actual_completion = None;
        assert_eq!(
            assess(&p, 1.0, None, &r, d("2019-04-30")),
            Assessment::NotIdle
        );
    }

    #[test]
    fn case_b_with_one_test_unrecorded_cannot_be_assessed() {
        let r = rules();
        let mut p = not_started("2018-01-01");
        p.actual_start = Some(d("2018-03-01"));
        p.suspended_since = Some(d("2019-05-01"));
        p.developed_area = Some(6_000.0);
        p.planned_dev_area = Some(10_000.0); // 60 %: the area test is not met
        match assess(&p, 1.0, None, &r, d("2024-01-01")) {
            Assessment::CannotAssess { missing, .. } => {
                assert_eq!(missing, vec!["已投资", "总投资"])
            }
            other => panic!("{other:?}"),
        }
        p.invested = Some(100.0);
        p.total_investment = Some(1_000.0); // 10 % < 25 %
        assert_eq!(
            finding(assess(&p, 1.0, None, &r, d("2024-01-01"))).finding,
            Finding::Stalled
        );
        p.invested = Some(500.0); // 50 %
        assert_eq!(
            assess(&p, 1.0, None, &r, d("2024-01-01")),
            Assessment::NotIdle
        );
    }

    #[test]
    fn case_b_started_then_stalled() {
        let r = rules();
        let stalled = Parcel {
            id: "B".into(),
            agreed_start: Some(d("2018-06-01")),
            actual_start: Some(d("2018-07-01")),
            suspended_since: Some(d("2022-05-10")),
            planned_dev_area: Some(30_000.0),
            developed_area: Some(9_000.0), // 30 % < 1/3
            invested: Some(3_000.0),
            total_investment: Some(10_000.0), // 30 % ≥ 25 %
            land_price: Some(800.0),
            ..Parcel::default()
        };
        for not_yet in ["2023-05-09", "2023-05-10"] {
            assert_eq!(
                assess(&stalled, 30_000.0, None, &r, d(not_yet)),
                Assessment::NotIdle,
                "{not_yet}"
            );
        }
        // Two full years suspended: the recovery track, from the day after 2024-05-10.
        assert_eq!(
            finding(assess(&stalled, 30_000.0, None, &r, d("2024-05-10"))).track,
            Some(Track::Fee)
        );
        assert_eq!(
            finding(assess(&stalled, 30_000.0, None, &r, d("2024-05-11"))).track,
            Some(Track::Recovery)
        );
        let f = finding(assess(&stalled, 30_000.0, None, &r, d("2023-05-11")));
        assert_eq!(f.finding, Finding::Stalled);
        assert_eq!(f.idle_since, d("2022-05-10"));
        assert_eq!(f.track, Some(Track::Fee));
        assert_eq!(f.fee_wan, Some(160.0));
        assert_eq!(f.inputs["developed_share"], 0.3);
        // Exactly a third developed and a quarter invested is not below either bound.
        let enough = Parcel {
            developed_area: Some(10_000.0),
            invested: Some(2_500.0),
            ..stalled.clone()
        };
        assert_eq!(
            assess(&enough, 30_000.0, None, &r, d("2024-01-01")),
            Assessment::NotIdle
        );
        // Low investment alone suffices.
        let poor = Parcel {
            developed_area: Some(20_000.0),
            invested: Some(2_000.0),
            ..stalled.clone()
        };
        assert_eq!(
            finding(assess(&poor, 30_000.0, None, &r, d("2024-06-01"))).track,
            Some(Track::Recovery)
        );
        // Still building (no suspension date): not idle.
        let building = Parcel {
            suspended_since: None,
            ..stalled.clone()
        };
        assert_eq!(
            assess(&building, 30_000.0, None, &r, d("2024-06-01")),
            Assessment::NotIdle
        );
    }

    #[test]
    fn case_b_on_a_footprint_basis_uses_the_buildings() {
        let mut r = rules();
        r.case_b.area_basis = AreaBasis::Footprint;
        let p = Parcel {
            id: "F".into(),
            actual_start: Some(d("2019-01-01")),
            suspended_since: Some(d("2020-01-01")),
            ..Parcel::default()
        };
        let built = |m2: f64| {
            Some(BuiltFigures {
                footprint_m2: m2,
                floor_area_m2: m2,
                buildings: 1,
                assumed_one_storey: 0,
            })
        };
        let f = finding(assess(&p, 9_000.0, built(2_000.0), &r, d("2022-01-01")));
        assert_eq!(f.inputs["footprint_m2"], 2_000.0);
        assert_eq!(f.inputs["footprint_source"], "由建筑图层推算");
        // 4,000 / 9,000 ≥ 1/3, and the investment unrecorded: open.
        assert!(matches!(
            assess(&p, 9_000.0, built(4_000.0), &r, d("2022-01-01")),
            Assessment::CannotAssess { .. }
        ));
        let invested_half = Parcel {
            invested: Some(500.0),
            total_investment: Some(1_000.0),
            ..p.clone()
        };
        assert_eq!(
            assess(&invested_half, 9_000.0, built(4_000.0), &r, d("2022-01-01")),
            Assessment::NotIdle
        );
        match assess(&p, 9_000.0, None, &r, d("2022-01-01")) {
            Assessment::CannotAssess { missing, .. } => assert!(missing.contains(&"建筑基底面积")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_dates_disposed_parcels_and_completed_ones() {
        let r = rules();
        let mut p = not_started("2018-01-01");
        p.agreed_start = None;
        match assess(&p, 1.0, None, &r, d("2024-01-01")) {
            Assessment::CannotAssess { missing, .. } => assert_eq!(missing, vec!["约定动工日期"]),
            other => panic!("{other:?}"),
        }
        let mut p = not_started("2018-01-01");
        p.disposal_status = Some("已处置(收回)".into());
        assert_eq!(
            assess(&p, 1.0, None, &r, d("2024-01-01")),
            Assessment::Disposed
        );
        // Approved land disposed of (e.g. 撤回批文) is not flagged as 批而未供 either.
        p.supply_status = Some("未供".into());
        p.approval_date = Some(d("2015-01-01"));
        assert_eq!(
            assess(&p, 1.0, None, &r, d("2024-01-01")),
            Assessment::Disposed
        );
        let mut p = not_started("2018-01-01");
        p.actual_start = Some(d("2018-02-01"));
        p.actual_completion = Some(d("2020-02-01"));
        assert_eq!(
            assess(&p, 1.0, None, &r, d("2024-01-01")),
            Assessment::NotIdle
        );
    }

    #[test]
    fn approved_but_not_supplied() {
        let r = rules();
        let p = Parcel {
            id: "U".into(),
            supply_status: Some("未供".into()),
            approval_date: Some(d("2021-04-01")),
            ..Parcel::default()
        };
        // Two full years after 2021-04-01: the day before, the day of, the day after.
        for not_yet in ["2023-03-31", "2023-04-01"] {
            assert_eq!(
                assess(&p, 1.0, None, &r, d(not_yet)),
                Assessment::NotIdle,
                "{not_yet}"
            );
        }
        let f = finding(assess(&p, 1.0, None, &r, d("2023-04-02")));
        assert_eq!(f.finding, Finding::ApprovedNotSupplied);
        assert_eq!(f.track, None);
        assert_eq!(f.idle_since, d("2021-04-01"));
        // Approved after the evaluation date: not yet approved land.
        assert_eq!(
            assess(&p, 1.0, None, &r, d("2021-03-31")),
            Assessment::NotIdle
        );
        // Supplied since: approved-not-supplied until its contract, not after.
        let supplied = Parcel {
            supply_status: Some("已供".into()),
            contract_date: Some(d("2024-05-10")),
            agreed_start: Some(d("2024-11-10")),
            ..p.clone()
        };
        let before = finding(assess(&supplied, 1.0, None, &r, d("2024-05-09")));
        assert_eq!(before.finding, Finding::ApprovedNotSupplied);
        assert_eq!(
            assess(&supplied, 1.0, None, &r, d("2024-05-10")),
            Assessment::NotIdle
        );
        let no_date = Parcel {
            approval_date: None,
            ..p
        };
        assert!(matches!(
            assess(&no_date, 1.0, None, &r, d("2023-04-02")),
            Assessment::CannotAssess { .. }
        ));
    }

    #[test]
    fn events_win_over_the_file_and_replay_by_date() {
        use crate::analysis::testing::{rect, Builder};
        use crate::model::disposal::{Method, NewEvent};
        let ev = |id, status, method, date: &str, until: Option<&str>| {
            NewEvent {
                status,
                method,
                effective_date: d(date),
                until: until.map(d),
                ..NewEvent::example(Subject::Idle, "parcels", "P")
            }
            .recorded(id, "2025-01-01T00:00:00Z".into())
        };
        let mut p = not_started("2020-03-05");
        // The file says disposed; the events say otherwise and win.
        p.disposal_status = Some("已处置".into());
        let catalog = Builder::new()
            .parcels("parcels", vec![(p, rect(0.0, 0.0, 100.0, 100.0))])
            .events(vec![
                ev(1, Status::Confirmed, None, "2021-06-01", None),
                ev(
                    2,
                    Status::Disposing,
                    Some(Method::Extended),
                    "2021-07-01",
                    Some("2022-07-01"),
                ),
                ev(
                    3,
                    Status::Disposed,
                    Some(Method::Started),
                    "2024-02-01",
                    None,
                ),
            ])
            .build();
        let ctx = Context::new(&catalog);
        let on = |date: &str| idle(&ctx, &rules(), d(date), None);
        // Before any event the file's 已处置 does not count: events exist for the parcel,
        // but none is in force, so the file decides.
        assert_eq!(on("2021-05-31").summary.disposed_excluded, 1);
        let confirmed = on("2021-06-30");
        assert_eq!(confirmed.parcels.len(), 1);
        assert_eq!(confirmed.parcels[0].status, "已认定");
        assert_eq!(confirmed.parcels[0].finding.idle_since, d("2020-03-05"));
        // The extension moves the clock to 2022-07-01: not idle until a full year after it.
        assert!(on("2021-07-01").parcels.is_empty());
        assert!(on("2023-07-01").parcels.is_empty());
        let again = on("2023-07-02");
        assert_eq!(again.parcels[0].finding.idle_since, d("2022-07-01"));
        assert_eq!(
            again.parcels[0].disposal_status.as_deref(),
            Some("处置中（延期动工）")
        );
        // 动工 ends it.
        let done = on("2024-02-01");
        assert!(done.parcels.is_empty());
        assert_eq!(done.summary.disposed_excluded, 1);
    }
}
