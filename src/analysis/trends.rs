//! 动态减少 — how the stock of idle land (闲置土地) and of approved-but-unsupplied land
//! (批而未供) changed, per park and period: at the start, newly suspected, disposed of (by
//! method), at the end, in count and area, with `start + new − disposed = end` exactly; the
//! 土地闲置率 and 批而未供率 at each period's end, and the idle-land fees collected.
//!
//! The stock on a day is what the idle check finds on that day (its `--as-of`), with the
//! events in force by then. A parcel that enters and leaves within one period — found idle
//! and disposed of before the period ended — is counted as new and as disposed when its
//! disposal is recorded as an event; without one it cannot be seen between the period's ends.
//!
//! Areas are planar (the analysis CRS); each parcel's area is rounded to 0.01 m² before it
//! is added, so the balance holds to the hundredth of a square metre, not about it.

use super::context::{Context, ParcelRef};
use super::idle::{assess_recorded, Assessment, Finding, SUBJECTS};
use crate::model::disposal::{in_force, Method, Status};
use crate::rules::IdleRules;
use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// How long each period is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
    /// Calendar years.
    Year,
}

impl Period {
    /// Its name in URLs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Year => "year",
        }
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Period::Month => "月",
            Period::Quarter => "季度",
            Period::Year => "年",
        }
    }

    /// The first day of the period after the one holding `day`.
    fn next_start(self, day: NaiveDate) -> NaiveDate {
        let months = match self {
            Period::Month => 1,
            Period::Quarter => 3,
            Period::Year => 12,
        };
        let index = day.year() * 12 + day.month0() as i32;
        let next = (index / months + 1) * months;
        NaiveDate::from_ymd_opt(next / 12, (next % 12) as u32 + 1, 1).expect("a first day")
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Period {
    type Err = String;
    fn from_str(s: &str) -> Result<Period, String> {
        match s {
            "month" | "月" => Ok(Period::Month),
            "quarter" | "季度" => Ok(Period::Quarter),
            "year" | "年" => Ok(Period::Year),
            _ => Err(format!("'{s}' is no period: use month, quarter or year")),
        }
    }
}

/// The periods from `from` to `to` (both included): calendar periods, the first and the
/// last cut at `from` and `to`.
///
/// ```
/// use landwatch::analysis::trends::{periods, Period};
/// let d = |s: &str| s.parse().unwrap();
/// assert_eq!(
///     periods(d("2025-02-15"), d("2025-07-31"), Period::Quarter),
///     vec![(d("2025-02-15"), d("2025-03-31")), (d("2025-04-01"), d("2025-06-30")), (d("2025-07-01"), d("2025-07-31"))]
/// );
/// ```
pub fn periods(from: NaiveDate, to: NaiveDate, period: Period) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = vec![];
    let mut start = from;
    while start <= to {
        let next = period.next_start(start);
        let end = next.pred_opt().expect("a day before").min(to);
        out.push((start, end));
        start = next;
    }
    out
}

/// The balance of one stock over one period.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Flow {
    /// Parcels in the stock the day before the period starts.
    pub start_count: u64,
    /// Parcels that entered it during the period.
    pub new_count: u64,
    /// Parcels that left it (disposed of) during the period.
    pub disposed_count: u64,
    /// Parcels in it on the period's last day.
    pub end_count: u64,
    /// Their areas, m².
    pub start_area_m2: f64,
    /// m².
    pub new_area_m2: f64,
    /// m².
    pub disposed_area_m2: f64,
    /// m².
    pub end_area_m2: f64,
}

/// Count and area.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tally {
    /// Parcels.
    pub count: u64,
    /// Their area, m².
    pub area_m2: f64,
}

/// How a parcel left a stock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// By a recorded disposal method (the last one in force at the period's end).
    Method(Method),
    /// 批而未供 supplied: the contract was signed (合同签订日期).
    Supplied,
    /// The file's dates: a start or completion recorded in the parcel layer.
    FileDates,
    /// Anything else (the file changed, a recorded cause of government delay …).
    Other,
}

impl Exit {
    /// The key in JSON (`started`, `supplied`, `file_dates`, `other`).
    pub fn key(self) -> &'static str {
        match self {
            Exit::Method(m) => m.as_str(),
            Exit::Supplied => "supplied",
            Exit::FileDates => "file_dates",
            Exit::Other => "other",
        }
    }

    /// The exit of a key [`Exit::key`] gave.
    pub fn from_key(key: &str) -> Option<Exit> {
        match key {
            "supplied" => Some(Exit::Supplied),
            "file_dates" => Some(Exit::FileDates),
            "other" => Some(Exit::Other),
            m => m.parse().ok().map(Exit::Method),
        }
    }

    /// The Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Exit::Method(m) => m.label_zh(),
            Exit::Supplied => "已供地",
            Exit::FileDates => "宗地数据记录动工或竣工",
            Exit::Other => "其他",
        }
    }
}

/// One park (or the whole store, `park_id` null) over one period.
#[derive(Clone, Debug, Serialize)]
pub struct TrendPeriod {
    /// The period's first day.
    pub start: NaiveDate,
    /// Its last day.
    pub end: NaiveDate,
    /// The park; null for every parcel of the store.
    pub park_id: Option<String>,
    /// 闲置土地 (第二条 cases A and B).
    pub idle: Flow,
    /// 批而未供.
    pub approved_not_supplied: Flow,
    /// 土地闲置率 at the end: idle ÷ supplied land (by area); null without supplied land.
    pub land_idle_rate: Option<f64>,
    /// 批而未供率 at the end: 批而未供 ÷ approved land (by area); null without approved land.
    pub approved_not_supplied_rate: Option<f64>,
    /// Supplied land at the end, m² (the denominator of 土地闲置率).
    pub supplied_area_m2: f64,
    /// Approved land at the end, m² (the denominator of 批而未供率).
    pub approved_area_m2: f64,
    /// 土地闲置费 collected during the period (fee_collected events), 万元.
    pub fees_collected_wan: f64,
    /// How idle parcels left the stock, by method.
    pub idle_disposed_by: BTreeMap<&'static str, Tally>,
    /// How 批而未供 parcels left the stock.
    pub approved_not_supplied_disposed_by: BTreeMap<&'static str, Tally>,
}

/// The trends report.
#[derive(Clone, Debug, Serialize)]
pub struct TrendsReport {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
    /// The period length.
    pub period: Period,
    /// Per period, each park then the whole store.
    pub periods: Vec<TrendPeriod>,
    /// What the figures rest on.
    pub basis: Vec<&'static str>,
}

const BASIS: [&str; 4] = [
    "存量为各日期疑似闲置土地检查（--as-of）的结果，计入当日有效的处置记录；期初为期间首日前一日",
    "土地闲置率 = 期末闲置土地面积 ÷ 期末已供应土地面积（供地状态非未供且合同签订日期不晚于期末，未记录合同日期的已供宗地计入）",
    "批而未供率 = 期末批而未供面积 ÷ 期末已批准建设用地面积（批准日期不晚于期末；未记录批准日期的已供宗地计入）",
    "面积为分析坐标系平面面积，逐宗取至 0.01 m² 后相加，故 期初 + 新增 − 处置 = 期末 精确成立",
];

/// Which stock a parcel is in on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stock {
    None,
    Idle,
    Unsupplied,
}

fn stock_on(ctx: &Context<'_>, r: &ParcelRef<'_>, rules: &IdleRules, day: NaiveDate) -> Stock {
    match assess_recorded(ctx, r, rules, day).0 {
        Assessment::Idle(f) if f.finding == Finding::ApprovedNotSupplied => Stock::Unsupplied,
        Assessment::Idle(_) => Stock::Idle,
        _ => Stock::None,
    }
}

/// Sums in hundredths of a square metre.
#[derive(Clone, Debug, Default)]
struct Balance {
    counts: [u64; 4],
    areas: [i64; 4],
    exits: BTreeMap<Exit, (u64, i64)>,
}

impl Balance {
    fn add(&mut self, slot: usize, area: i64) {
        self.counts[slot] += 1;
        self.areas[slot] += area;
    }

    fn flow(&self) -> Flow {
        let m2 = |i: usize| self.areas[i] as f64 / 100.0;
        Flow {
            start_count: self.counts[0],
            new_count: self.counts[1],
            disposed_count: self.counts[2],
            end_count: self.counts[3],
            start_area_m2: m2(0),
            new_area_m2: m2(1),
            disposed_area_m2: m2(2),
            end_area_m2: m2(3),
        }
    }

    fn exits(&self) -> BTreeMap<&'static str, Tally> {
        self.exits
            .iter()
            .map(|(e, (n, a))| {
                (
                    e.key(),
                    Tally {
                        count: *n,
                        area_m2: *a as f64 / 100.0,
                    },
                )
            })
            .collect()
    }
}

#[derive(Clone, Debug, Default)]
struct Group {
    idle: Balance,
    unsupplied: Balance,
    supplied: i64,
    approved: i64,
    fees_wan: f64,
}

/// What one parcel did in one period.
struct Movement {
    idle: [bool; 4],
    unsupplied: [bool; 4],
    exit_idle: Option<Exit>,
    exit_unsupplied: Option<Exit>,
    supplied: bool,
    approved: bool,
    fees_wan: f64,
}

fn between(d: Option<NaiveDate>, start: NaiveDate, end: NaiveDate) -> bool {
    d.is_some_and(|d| d >= start && d <= end)
}

/// How a parcel that left `stock` during (start, end] left it.
fn exit_of(
    ctx: &Context<'_>,
    r: &ParcelRef<'_>,
    stock: Stock,
    start: NaiveDate,
    end: NaiveDate,
) -> Exit {
    let p = r.parcel();
    let d = ctx
        .catalog
        .dispositions
        .on(&r.layer.info.name, &p.id, SUBJECTS, end);
    if let Some(m) = d.and_then(|d| d.method) {
        return Exit::Method(m);
    }
    if stock == Stock::Unsupplied && between(p.contract_date, start, end) {
        return Exit::Supplied;
    }
    if between(p.actual_start, start, end) || between(p.actual_completion, start, end) {
        return Exit::FileDates;
    }
    Exit::Other
}

/// The parcel's movement over one period, from its stock the day before and at the end.
fn movement(
    ctx: &Context<'_>,
    r: &ParcelRef<'_>,
    rules: &IdleRules,
    (start, end): (NaiveDate, NaiveDate),
    (before, after): (Stock, Stock),
) -> Movement {
    let p = r.parcel();
    let events = ctx
        .catalog
        .dispositions
        .of_feature(&r.layer.info.name, &p.id);
    let in_force = in_force(events);
    // Found and disposed of within the period: a disposal recorded in it, on a parcel in
    // neither end's stock, that was in a stock the day before the disposal.
    let passing = if before == Stock::None && after == Stock::None {
        in_force
            .iter()
            .filter(|e| {
                SUBJECTS.contains(&e.subject)
                    && e.status == Status::Disposed
                    && between(Some(e.effective_date), start, end)
            })
            .find_map(|e| {
                let day = e.effective_date.pred_opt()?;
                let s = stock_on(ctx, r, rules, day);
                (s != Stock::None).then_some(s)
            })
    } else {
        None
    };
    let flags = |s: Stock| -> [bool; 4] {
        let was = before == s;
        let is = after == s;
        let through = passing == Some(s);
        [was, (!was && is) || through, (was && !is) || through, is]
    };
    let idle = flags(Stock::Idle);
    let unsupplied = flags(Stock::Unsupplied);
    let exit = |f: [bool; 4], s: Stock| f[2].then(|| exit_of(ctx, r, s, start, end));
    let supplied = !super::idle::unsupplied(p, rules) && p.contract_date.is_none_or(|c| c <= end);
    let approved = p.approval_date.map_or(supplied, |a| a <= end);
    let fees_wan = in_force
        .iter()
        .filter(|e| {
            e.method == Some(Method::FeeCollected) && between(Some(e.effective_date), start, end)
        })
        .filter_map(|e| e.amount_wan)
        .sum();
    Movement {
        exit_idle: exit(idle, Stock::Idle),
        exit_unsupplied: exit(unsupplied, Stock::Unsupplied),
        idle,
        unsupplied,
        supplied,
        approved,
        fees_wan,
    }
}

/// The trends of every park (or of `park`) and of the whole store, from `from` to `to`.
pub fn trends(
    ctx: &Context<'_>,
    rules: &IdleRules,
    from: NaiveDate,
    to: NaiveDate,
    period: Period,
    park: Option<&str>,
) -> TrendsReport {
    let spans = periods(from, to, period);
    let mut days: Vec<NaiveDate> = vec![from.pred_opt().expect("a day before")];
    days.extend(spans.iter().map(|(_, end)| *end));
    let refs: Vec<ParcelRef<'_>> = ctx.parcels().collect();
    // Per parcel: its park, its area in hundredths of m², and each period's movement.
    let rows: Vec<(Option<String>, i64, Vec<Movement>)> = refs
        .par_iter()
        .filter_map(|r| {
            if ctx.cancelled() {
                return None;
            }
            let park_id = ctx.park_id_of(r);
            if park.is_some() && park_id.as_deref() != park {
                return None;
            }
            let stocks: Vec<Stock> = days.iter().map(|d| stock_on(ctx, r, rules, *d)).collect();
            let moves = spans
                .iter()
                .enumerate()
                .map(|(k, span)| movement(ctx, r, rules, *span, (stocks[k], stocks[k + 1])))
                .collect();
            Some((park_id, (r.area_m2() * 100.0).round() as i64, moves))
        })
        .collect();
    let keys: Vec<Option<String>> = match park {
        Some(p) => vec![Some(p.to_string())],
        None => {
            let mut ids: Vec<Option<String>> = ctx
                .parks()
                .iter()
                .map(|k| Some(k.park().id.to_string()))
                .collect();
            ids.sort();
            ids.dedup();
            ids.push(None);
            ids
        }
    };
    let mut out = vec![];
    for (k, (start, end)) in spans.iter().enumerate() {
        let mut groups: BTreeMap<Option<&str>, Group> = BTreeMap::new();
        for (park_id, area, moves) in &rows {
            let m = &moves[k];
            let mut targets = vec![park_id.as_deref()];
            if park.is_none() {
                targets.push(None);
            }
            targets.dedup();
            for t in targets {
                let g = groups.entry(t).or_default();
                for (slot, (i, u)) in m.idle.iter().zip(&m.unsupplied).enumerate() {
                    if *i {
                        g.idle.add(slot, *area);
                    }
                    if *u {
                        g.unsupplied.add(slot, *area);
                    }
                }
                for (exit, b) in [
                    (m.exit_idle, &mut g.idle),
                    (m.exit_unsupplied, &mut g.unsupplied),
                ] {
                    if let Some(e) = exit {
                        let x = b.exits.entry(e).or_default();
                        x.0 += 1;
                        x.1 += area;
                    }
                }
                g.supplied += if m.supplied { *area } else { 0 };
                g.approved += if m.approved { *area } else { 0 };
                g.fees_wan += m.fees_wan;
            }
        }
        for key in &keys {
            let g = groups.get(&key.as_deref()).cloned().unwrap_or_default();
            let rate = |part: i64, whole: i64| (whole > 0).then(|| part as f64 / whole as f64);
            out.push(TrendPeriod {
                start: *start,
                end: *end,
                park_id: key.clone(),
                idle: g.idle.flow(),
                approved_not_supplied: g.unsupplied.flow(),
                land_idle_rate: rate(g.idle.areas[3], g.supplied),
                approved_not_supplied_rate: rate(g.unsupplied.areas[3], g.approved),
                supplied_area_m2: g.supplied as f64 / 100.0,
                approved_area_m2: g.approved as f64 / 100.0,
                fees_collected_wan: g.fees_wan,
                idle_disposed_by: g.idle.exits(),
                approved_not_supplied_disposed_by: g.unsupplied.exits(),
            });
        }
    }
    TrendsReport {
        from,
        to,
        period,
        periods: out,
        basis: BASIS.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{parcel, park, rect, Builder};
    use crate::model::disposal::{Event, NewEvent, Subject};
    use crate::model::records::Parcel;
    use crate::rules::Rules;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn not_started(id: &str, agreed: &str) -> Parcel {
        Parcel {
            supply_status: Some("已供".into()),
            contract_date: Some(d("2021-06-01")),
            agreed_start: Some(d(agreed)),
            ..parcel(id, "100101", "K1")
        }
    }

    fn ev(id: i64, feature: &str, status: Status, method: Option<Method>, date: &str) -> Event {
        NewEvent {
            status,
            method,
            effective_date: d(date),
            amount_wan: (method == Some(Method::FeeCollected)).then_some(12.5),
            ..NewEvent::example(Subject::Idle, "parcels", feature)
        }
        .recorded(id, "2024-07-01T00:00:00Z".into())
    }

    /// Worked by hand (areas in m²): D idle since 2023-01-02 (30000), A idle from 2024-03-02
    /// (10000), C 批而未供 from 2024-01-11 (5000), E idle from 2024-04-11 and started on
    /// 2024-06-01 (5000), B idle only from 2024-08-16 (20000). D is recovered on 2024-05-20,
    /// A is charged 12.5 万元 on 2024-05-01.
    #[test]
    fn the_stock_balances_on_hand_worked_numbers() {
        let unsupplied = Parcel {
            supply_status: Some("未供".into()),
            approval_date: Some(d("2022-01-10")),
            ..parcel("C", "100101", "K1")
        };
        let catalog = Builder::new()
            .parks(
                "parks",
                vec![(park("K1", "工业主导型"), rect(0.0, 0.0, 1000.0, 1000.0))],
            )
            .parcels(
                "parcels",
                vec![
                    (not_started("A", "2023-03-01"), rect(0.0, 0.0, 100.0, 100.0)),
                    (
                        not_started("B", "2023-08-15"),
                        rect(100.0, 0.0, 300.0, 100.0),
                    ),
                    (unsupplied, rect(300.0, 0.0, 350.0, 100.0)),
                    (
                        not_started("D", "2022-01-01"),
                        rect(0.0, 200.0, 300.0, 300.0),
                    ),
                    (
                        not_started("E", "2023-04-10"),
                        rect(0.0, 400.0, 100.0, 450.0),
                    ),
                ],
            )
            .events(vec![
                ev(1, "D", Status::Investigating, None, "2024-02-01"),
                ev(2, "D", Status::Confirmed, None, "2024-03-01"),
                ev(
                    3,
                    "D",
                    Status::Disposed,
                    Some(Method::Recovered),
                    "2024-05-20",
                ),
                ev(4, "E", Status::Confirmed, None, "2024-04-20"),
                ev(
                    5,
                    "E",
                    Status::Disposed,
                    Some(Method::Started),
                    "2024-06-01",
                ),
                ev(6, "A", Status::Confirmed, None, "2024-04-01"),
                ev(
                    7,
                    "A",
                    Status::Disposing,
                    Some(Method::FeeCollected),
                    "2024-05-01",
                ),
            ])
            .build();
        let ctx = Context::new(&catalog);
        let r = trends(
            &ctx,
            &Rules::builtin().idle,
            d("2024-01-01"),
            d("2024-06-30"),
            Period::Quarter,
            None,
        );
        // Two quarters, each for K1 and for the whole store (the same parcels).
        assert_eq!(r.periods.len(), 4);
        let flow = |c: [u64; 4], a: [f64; 4]| Flow {
            start_count: c[0],
            new_count: c[1],
            disposed_count: c[2],
            end_count: c[3],
            start_area_m2: a[0],
            new_area_m2: a[1],
            disposed_area_m2: a[2],
            end_area_m2: a[3],
        };
        for p in &r.periods {
            assert!(p.park_id.is_none() || p.park_id.as_deref() == Some("K1"));
            assert_eq!(p.supplied_area_m2, 65000.0);
            assert_eq!(p.approved_area_m2, 70000.0);
            assert_eq!(p.approved_not_supplied_rate, Some(5000.0 / 70000.0));
        }
        let q1 = &r.periods[0];
        assert_eq!((q1.start, q1.end), (d("2024-01-01"), d("2024-03-31")));
        assert_eq!(
            q1.idle,
            flow([1, 1, 0, 2], [30000.0, 10000.0, 0.0, 40000.0])
        );
        assert_eq!(
            q1.approved_not_supplied,
            flow([0, 1, 0, 1], [0.0, 5000.0, 0.0, 5000.0])
        );
        assert_eq!(q1.land_idle_rate, Some(40000.0 / 65000.0));
        assert_eq!(q1.fees_collected_wan, 0.0);
        let q2 = &r.periods[2];
        assert_eq!(q2.start, d("2024-04-01"));
        // E came and went within the quarter: new and disposed.
        assert_eq!(
            q2.idle,
            flow([2, 1, 2, 1], [40000.0, 5000.0, 35000.0, 10000.0])
        );
        assert_eq!(q2.land_idle_rate, Some(10000.0 / 65000.0));
        assert_eq!(q2.fees_collected_wan, 12.5);
        let by = |k: &str| q2.idle_disposed_by.get(k).cloned();
        assert_eq!(
            by("recovered"),
            Some(Tally {
                count: 1,
                area_m2: 30000.0
            })
        );
        assert_eq!(
            by("started"),
            Some(Tally {
                count: 1,
                area_m2: 5000.0
            })
        );
        assert_eq!(q2.idle_disposed_by.len(), 2);
        assert_eq!(r.periods[3].idle, q2.idle);
        // One park only.
        let k1 = trends(
            &ctx,
            &Rules::builtin().idle,
            d("2024-01-01"),
            d("2024-06-30"),
            Period::Year,
            Some("K1"),
        );
        assert_eq!(k1.periods.len(), 1);
        assert_eq!(
            k1.periods[0].idle,
            flow([1, 2, 2, 1], [30000.0, 15000.0, 35000.0, 10000.0])
        );
    }

    #[test]
    fn periods_follow_the_calendar() {
        let p = periods(d("2024-11-15"), d("2025-02-01"), Period::Month);
        assert_eq!(
            p,
            vec![
                (d("2024-11-15"), d("2024-11-30")),
                (d("2024-12-01"), d("2024-12-31")),
                (d("2025-01-01"), d("2025-01-31")),
                (d("2025-02-01"), d("2025-02-01")),
            ]
        );
        assert_eq!(
            periods(d("2024-01-01"), d("2025-12-31"), Period::Year).len(),
            2
        );
        assert!(periods(d("2025-01-02"), d("2025-01-01"), Period::Year).is_empty());
    }
}
