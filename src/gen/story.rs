//! The life story of each generated parcel — contract, start, stall, idle, disposal, output —
//! written as the attributes a bureau's parcel table carries (DOMAIN.md §8), in the mixed
//! formats such tables have (2019/3/5, 20190305, 2019年3月5日; 1,234万元; 35%).

use super::layout::BlockUse;
use super::shapefile::{FieldType, Val};
use chrono::{Months, NaiveDate};
use rand::{Rng, RngExt};

/// The date the generated data describes ("data as of").
pub fn anchor() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).expect("valid date")
}

/// Parcel columns, in the order [`Parcel::values`] fills them. Names longer than 10 GBK
/// bytes are cut by the DBF format, as in real files.
pub const PARCEL_FIELDS: &[(&str, FieldType)] = &[
    ("宗地编号", FieldType::Text(24)),
    ("权利人", FieldType::Text(60)),
    ("所属园区", FieldType::Text(12)),
    ("用地性质", FieldType::Text(10)),
    ("用地名称", FieldType::Text(30)),
    ("供地方式", FieldType::Text(8)),
    ("供地状态", FieldType::Text(8)),
    ("批准文号", FieldType::Text(40)),
    ("批准日期", FieldType::Text(20)),
    ("合同签订日期", FieldType::Date),
    ("约定动工日期", FieldType::Text(20)),
    ("约定竣工日期", FieldType::Text(20)),
    ("实际动工日期", FieldType::Text(20)),
    ("实际竣工日期", FieldType::Text(20)),
    ("停工日期", FieldType::Text(20)),
    ("宗地面积", FieldType::Real(2)),
    ("应开发面积", FieldType::Real(2)),
    ("已开发面积", FieldType::Real(2)),
    ("出让价款", FieldType::Text(24)),
    ("总投资", FieldType::Real(2)),
    ("已投资", FieldType::Real(2)),
    ("建筑面积", FieldType::Real(2)),
    ("建筑基底面积", FieldType::Real(2)),
    ("容积率", FieldType::Real(2)),
    ("建筑系数", FieldType::Text(10)),
    ("绿地率", FieldType::Real(3)),
    ("行政办公及生活服务设施用地比例", FieldType::Real(3)),
    ("配套设施建筑面积比例", FieldType::Real(3)),
    ("税收", FieldType::Real(2)),
    ("营业收入", FieldType::Real(2)),
    ("工业增加值", FieldType::Real(2)),
    ("工业总产值", FieldType::Real(2)),
    ("综合能耗", FieldType::Real(2)),
    ("用电量", FieldType::Real(2)),
    ("排放当量", FieldType::Real(3)),
    ("从业人数", FieldType::Int),
    ("研发经费", FieldType::Real(2)),
    ("行业代码", FieldType::Text(6)),
    ("产业政策类别", FieldType::Text(10)),
    ("企业规模", FieldType::Text(8)),
    ("生产状态", FieldType::Text(8)),
    ("停产日期", FieldType::Text(20)),
    ("政府原因", FieldType::Text(40)),
    ("处置状态", FieldType::Text(16)),
];

/// What happened on a parcel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Story {
    /// Built on time, producing.
    Productive,
    /// Built, but the floor-area ratio is below the industry minimum.
    LowFar,
    /// Built, but the building coverage is below 30 %.
    LowCoverage,
    /// Built, but pays little tax per mu.
    LowTax,
    /// Not started 1–2 years after the agreed start (闲置, fee).
    NotStarted,
    /// Not started more than 2 years after the agreed start (闲置, recovery).
    LongNotStarted,
    /// Started, then stalled with little built and invested (case B).
    Stalled,
    /// Not started for a government reason (Art. 8).
    GovernmentDelay,
    /// Idle once, already disposed of.
    Disposed,
    /// Recently supplied; its start date has not come yet, or it is being built on time.
    Recent,
    /// Started but unfinished two years past the agreed completion.
    Overdue,
    /// Built; production stopped more than a year ago.
    Stopped,
    /// Not started, and the agreed start date was never recorded.
    MissingDates,
    /// Approved but never supplied (批而未供).
    Unsupplied,
}

fn pick_story(rng: &mut impl Rng, industrial: bool) -> Story {
    use Story::*;
    let table: &[(Story, u32)] = if industrial {
        &[
            (Productive, 520),
            (LowFar, 60),
            (LowCoverage, 50),
            (LowTax, 80),
            (NotStarted, 30),
            (LongNotStarted, 30),
            (Stalled, 30),
            (GovernmentDelay, 20),
            (Disposed, 15),
            (Recent, 60),
            (Overdue, 30),
            (Stopped, 30),
            (MissingDates, 10),
            (Unsupplied, 20),
        ]
    } else {
        &[
            (Productive, 850),
            (Recent, 60),
            (NotStarted, 30),
            (LongNotStarted, 20),
            (MissingDates, 10),
            (Unsupplied, 30),
        ]
    };
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (s, w) in table {
        if r < *w {
            return *s;
        }
        r -= w;
    }
    Productive
}

/// Industries firms are drawn from: GB/T 4754-2017 code and the FAR minimum the 2008
/// control indicators set for it (through its 2002 code), so stories can sit above or
/// below it. 3670 汽车零部件, 3982 电子电路, 3922 通信终端, 3831 电线电缆, 2710 化学原料药,
/// 2614 有机化学原料, 3311 金属结构, 1431 米面制品, 1810 机织服装, 2231 纸容器,
/// 2922 塑料板管, 3021 水泥制品.
const INDUSTRIES: &[(&str, f64)] = &[
    ("3670", 0.7),
    ("3982", 1.0),
    ("3922", 1.0),
    ("3831", 0.7),
    ("2710", 0.7),
    ("2614", 0.6),
    ("3311", 0.7),
    ("1431", 1.0),
    ("1810", 1.0),
    ("2231", 0.8),
    ("2922", 1.0),
    ("3021", 0.7),
];

const FIRM_WORDS: &[&str] = &[
    "川南", "沱江", "甜城", "蜀通", "天府", "华鑫", "金瑞", "宏达", "众诚", "博远", "恒信", "新材",
    "汇丰", "远航", "锦程", "盛世", "正和", "顺达", "瑞丰", "嘉禾",
];
const FIRM_KINDS: &[&str] = &[
    "科技",
    "机械",
    "电子",
    "化工",
    "材料",
    "食品",
    "制造",
    "实业",
    "新能源",
    "精密",
];

/// One building to draw inside a parcel.
#[derive(Clone, Debug)]
pub struct BuildingSpec {
    /// Share of the parcel's footprint.
    pub footprint_share: f64,
    /// Storeys.
    pub floors: u32,
    /// Height, m (single storeys above 8 m count double for FAR).
    pub height: f64,
    /// 建筑用途.
    pub use_: &'static str,
}

/// A generated parcel: its attribute values and the buildings on it.
pub struct Parcel {
    /// Values in [`PARCEL_FIELDS`] order.
    pub values: Vec<Val>,
    /// Total building footprint, m² (0 when nothing is built).
    pub footprint: f64,
    /// Tax paid, 万元 (0 before production).
    pub tax: f64,
    /// Buildings.
    pub buildings: Vec<BuildingSpec>,
}

fn months(d: NaiveDate, m: i32) -> NaiveDate {
    if m >= 0 {
        d.checked_add_months(Months::new(m as u32))
            .expect("in range")
    } else {
        d.checked_sub_months(Months::new((-m) as u32))
            .expect("in range")
    }
}

fn days(d: NaiveDate, n: i64) -> NaiveDate {
    d + chrono::Duration::days(n)
}

/// A date written the way bureau spreadsheets mix them.
fn date_text(rng: &mut impl Rng, d: NaiveDate) -> Val {
    Val::Text(match rng.random_range(0..20) {
        0..=11 => d.format("%Y-%m-%d").to_string(),
        12..=14 => d.format("%Y/%-m/%-d").to_string(),
        15..=16 => d.format("%Y%m%d").to_string(),
        _ => d.format("%Y年%-m月%-d日").to_string(),
    })
}

fn opt_date(rng: &mut impl Rng, d: Option<NaiveDate>) -> Val {
    d.map_or(Val::Null, |d| date_text(rng, d))
}

fn money_text(rng: &mut impl Rng, wan: f64) -> Val {
    Val::Text(match rng.random_range(0..10) {
        0..=6 => format!("{wan:.2}"),
        7..=8 => {
            let s = format!("{wan:.2}");
            let (int, frac) = s.split_once('.').expect("has a point");
            let mut grouped = String::new();
            for (i, ch) in int.chars().enumerate() {
                if i > 0 && (int.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(ch);
            }
            format!("{grouped}.{frac}万元")
        }
        _ => format!("{:.0}元", wan * 10_000.0),
    })
}

fn ratio_text(rng: &mut impl Rng, r: f64) -> Val {
    Val::Text(match rng.random_range(0..10) {
        0..=4 => format!("{r:.2}"),
        5..=8 => format!("{:.0}%", r * 100.0),
        _ => format!("{:.0}", r * 100.0),
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Write the story of one parcel of `area_m2` in a block of `use_`.
pub fn parcel(rng: &mut impl Rng, id: &str, park: &str, use_: BlockUse, area_m2: f64) -> Parcel {
    let industrial = use_.is_industrial();
    let story = pick_story(rng, industrial);
    let a = anchor();
    let mu = area_m2 / (10_000.0 / 15.0);
    let (code, name) = use_.territorial_code();
    let (industry, min_far) = INDUSTRIES[rng.random_range(0..INDUSTRIES.len())];
    let holder = format!(
        "{}{}{}{}有限公司",
        ["四川", "内江", "资中", "成都", "自贡", "宜宾"][rng.random_range(0..6)],
        FIRM_WORDS[rng.random_range(0..FIRM_WORDS.len())],
        FIRM_KINDS[rng.random_range(0..FIRM_KINDS.len())],
        if industrial { "" } else { "发展" }
    );

    // Dates.
    let approval = days(
        NaiveDate::from_ymd_opt(2008, 1, 1).expect("valid"),
        rng.random_range(0..5000),
    );
    let mut contract = match story {
        Story::Recent => months(a, -rng.random_range(2..14)),
        Story::Unsupplied => approval,
        _ => {
            let latest = months(a, -40);
            let span = (latest - approval).num_days().max(30);
            days(approval, rng.random_range(30..span.max(31)))
        }
    };
    let planned_start = months(contract, rng.random_range(6..=12));
    let mut agreed_start = planned_start;
    let mut actual_start = None;
    let mut actual_completion = None;
    let mut suspended = None;
    let mut built_share: f64 = 1.0;
    let mut invested_share = rng.random_range(0.95..1.1f64).min(1.0);
    let mut gov_cause = "";
    let mut disposal = "";
    let mut production = "正常";
    let mut stopped_since = None;
    match story {
        Story::NotStarted | Story::GovernmentDelay | Story::LongNotStarted | Story::Disposed => {
            let back = if story == Story::NotStarted {
                rng.random_range(13..=22)
            } else {
                rng.random_range(26..=60)
            };
            agreed_start = months(a, -back);
            built_share = 0.0;
            invested_share = 0.0;
            if story == Story::GovernmentDelay {
                gov_cause = [
                    "规划调整(第八条第二项)",
                    "未按约定交付土地(第八条第一项)",
                    "文物保护(第八条第五项)",
                    "不可抗力",
                ][rng.random_range(0..4)];
            }
            if story == Story::Disposed {
                disposal = ["已处置", "已处置(动工)", "已处置(收回)"][rng.random_range(0..3)];
            }
        }
        Story::Stalled => {
            agreed_start = months(a, -rng.random_range(40..=70));
            actual_start = Some(days(agreed_start, rng.random_range(0..90)));
            suspended = Some(months(a, -rng.random_range(14..=36)));
            built_share = rng.random_range(0.08..0.3);
            invested_share = rng.random_range(0.08..0.24);
        }
        Story::Overdue => {
            agreed_start = months(a, -rng.random_range(60..=80));
            actual_start = Some(days(agreed_start, rng.random_range(0..60)));
            built_share = rng.random_range(0.5..0.9);
            invested_share = rng.random_range(0.4..0.9);
        }
        Story::Recent => {
            if agreed_start < a && rng.random_bool(0.6) {
                actual_start = Some(days(agreed_start, rng.random_range(0..60)));
                built_share = rng.random_range(0.2..0.7);
                invested_share = rng.random_range(0.3..0.7);
            } else {
                built_share = 0.0;
                invested_share = 0.0;
            }
        }
        Story::Unsupplied | Story::MissingDates => {
            built_share = 0.0;
            invested_share = 0.0;
        }
        _ => {
            actual_start = Some(days(agreed_start, rng.random_range(0..120)));
        }
    }
    if agreed_start != planned_start {
        // The story moved the start date: the contract came six months to a year before it.
        contract = months(agreed_start, -rng.random_range(6..=12));
    }
    let approval = approval.min(days(contract, -30));
    let agreed_completion = months(agreed_start, rng.random_range(24..=36));
    let complete = matches!(
        story,
        Story::Productive | Story::LowFar | Story::LowCoverage | Story::LowTax | Story::Stopped
    );
    if complete {
        actual_completion = Some(days(agreed_completion, -rng.random_range(0..180)));
        if story == Story::Stopped {
            production = if rng.random_bool(0.7) {
                "停产"
            } else {
                "半停产"
            };
            stopped_since = Some(months(a, -rng.random_range(13..=30)));
        }
    }
    let supplied = story != Story::Unsupplied;

    // Land and money.
    let price_per_mu = if industrial {
        rng.random_range(12.0..30.0)
    } else {
        rng.random_range(120.0..400.0)
    };
    let land_price = mu * price_per_mu;
    let total_investment = mu
        * if industrial {
            rng.random_range(180.0..450.0)
        } else {
            rng.random_range(300.0..900.0)
        };
    let invested = total_investment * invested_share;

    // Buildings.
    let coverage = match story {
        Story::LowCoverage => rng.random_range(0.12..0.27),
        _ if industrial => rng.random_range(0.38..0.6),
        _ => rng.random_range(0.2..0.35),
    } * built_share.min(1.0);
    let far_target = if industrial {
        match story {
            Story::LowFar => min_far * rng.random_range(0.4..0.8),
            // Most plants also clear the local 1.0 floor for under-used land.
            _ => min_far.max(1.0) * rng.random_range(1.02..1.8),
        }
    } else {
        rng.random_range(1.5..3.2)
    } * built_share;
    let footprint = coverage * area_m2;
    let mut buildings = vec![];
    if footprint > 0.0 {
        let n = rng.random_range(1..=3usize);
        let floors_needed = (far_target / coverage.max(0.01)).max(1.0);
        for k in 0..n {
            let main = k == 0;
            let floors = if industrial && main {
                floors_needed.round().max(1.0) as u32
            } else {
                (floors_needed * rng.random_range(0.7..1.3))
                    .round()
                    .max(1.0) as u32
            };
            let tall_hall = industrial && floors == 1 && rng.random_bool(0.3);
            buildings.push(BuildingSpec {
                footprint_share: 1.0 / n as f64,
                floors,
                height: if tall_hall {
                    rng.random_range(9.0..14.0)
                } else {
                    floors as f64 * rng.random_range(3.2..4.5)
                },
                use_: if industrial {
                    ["生产", "生产", "仓储", "办公", "配套"]
                        [if main { 0 } else { rng.random_range(1..5) }]
                } else {
                    match use_ {
                        BlockUse::R2 => "住宅",
                        BlockUse::B1 => "商业",
                        _ => "公共服务",
                    }
                },
            });
        }
    }
    // Floor area as the FAR rule counts it: single storeys above 8 m count twice.
    let floor_area: f64 = buildings
        .iter()
        .map(|b| {
            let counted = if b.floors == 1 && b.height > 8.0 {
                2.0
            } else {
                b.floors as f64
            };
            footprint * b.footprint_share * counted
        })
        .sum();

    // Output and tax (firms only once producing).
    let producing = complete && industrial;
    let tax_per_mu = match story {
        Story::LowTax => rng.random_range(0.5..3.0),
        Story::Stopped => rng.random_range(0.0..1.5),
        _ => rng.random_range(8.0..40.0),
    };
    let tax = if producing { mu * tax_per_mu } else { 0.0 };
    let revenue = tax * rng.random_range(12.0..25.0);
    let value_added = revenue * rng.random_range(0.2..0.35);
    let energy = value_added * rng.random_range(0.2..0.8);

    let recorded_area = if rng.random_bool(0.02) {
        area_m2 * rng.random_range(1.08..1.2)
    } else {
        area_m2
    };
    let recorded_area = round2(recorded_area);
    // Some completed parcels lack floor-area figures: analysis derives them from buildings.
    let figures_missing = complete && rng.random_bool(0.1);
    let first_start_quirk = rng.random_bool(0.005);
    let actual_start = if first_start_quirk {
        Some(days(contract, -rng.random_range(30..200)))
    } else {
        actual_start
    };
    let invested = if rng.random_bool(0.005) {
        total_investment * rng.random_range(1.1..1.4)
    } else {
        invested
    };
    let num = |x: f64| Val::Real(round2(x));
    let blank_or = |cond: bool, v: Val| if cond { v } else { Val::Null };

    let values = vec![
        id.into(),
        if supplied { holder.into() } else { Val::Null },
        park.into(),
        code.into(),
        name.into(),
        if !supplied {
            Val::Null
        } else if matches!(
            use_,
            BlockUse::A33
                | BlockUse::A1
                | BlockUse::A51
                | BlockUse::G1
                | BlockUse::G2
                | BlockUse::U1
        ) {
            "划拨".into()
        } else {
            "出让".into()
        },
        (if supplied { "已供" } else { "未供" }).into(),
        format!(
            "川府土〔{}〕{}号",
            approval.format("%Y"),
            rng.random_range(10..400)
        )
        .into(),
        date_text(rng, approval),
        if supplied {
            Val::Date(contract)
        } else {
            Val::Null
        },
        if supplied && story != Story::MissingDates {
            date_text(rng, agreed_start)
        } else {
            Val::Null
        },
        if supplied {
            date_text(rng, agreed_completion)
        } else {
            Val::Null
        },
        opt_date(rng, actual_start),
        opt_date(rng, actual_completion),
        opt_date(rng, suspended),
        Val::Real(recorded_area),
        blank_or(supplied, num(area_m2)),
        blank_or(supplied, num(area_m2 * built_share)),
        if supplied {
            money_text(rng, land_price)
        } else {
            Val::Null
        },
        blank_or(supplied, num(total_investment)),
        blank_or(supplied, num(invested)),
        blank_or(!figures_missing && floor_area > 0.0, num(floor_area)),
        blank_or(!figures_missing && footprint > 0.0, num(footprint)),
        blank_or(
            !figures_missing && floor_area > 0.0,
            num(floor_area / area_m2),
        ),
        if !figures_missing && footprint > 0.0 {
            ratio_text(rng, coverage)
        } else {
            Val::Null
        },
        blank_or(
            supplied,
            Val::Real(if rng.random_bool(0.03) {
                rng.random_range(0.21..0.3)
            } else {
                rng.random_range(0.08..0.18)
            }),
        ),
        blank_or(
            supplied && industrial,
            Val::Real(if rng.random_bool(0.03) {
                rng.random_range(0.08..0.12)
            } else {
                rng.random_range(0.02..0.07)
            }),
        ),
        blank_or(
            supplied && industrial,
            Val::Real(if rng.random_bool(0.03) {
                rng.random_range(0.16..0.25)
            } else {
                rng.random_range(0.04..0.14)
            }),
        ),
        blank_or(producing, num(tax)),
        blank_or(producing, num(revenue)),
        blank_or(producing, num(value_added)),
        blank_or(producing, num(revenue * rng.random_range(1.0..1.2))),
        blank_or(producing, num(energy)),
        blank_or(producing, num(energy * rng.random_range(3.0..8.0))),
        blank_or(
            producing,
            Val::Real((value_added * rng.random_range(0.001..0.01) * 1000.0).round() / 1000.0),
        ),
        blank_or(
            producing,
            Val::Int((mu * rng.random_range(1.0..6.0)).round() as i64),
        ),
        blank_or(producing, num(revenue * rng.random_range(0.01..0.06))),
        blank_or(industrial && supplied, industry.into()),
        blank_or(
            industrial && supplied,
            (match rng.random_range(0..100) {
                0 => "淘汰类",
                1..=2 => "限制类",
                3..=40 => "鼓励类",
                _ => "允许类",
            })
            .into(),
        ),
        blank_or(
            producing,
            (if rng.random_bool(0.7) {
                "规上"
            } else {
                "规下"
            })
            .into(),
        ),
        blank_or(supplied, production.into()),
        opt_date(rng, stopped_since),
        gov_cause.into(),
        disposal.into(),
    ];
    debug_assert_eq!(values.len(), PARCEL_FIELDS.len());
    Parcel {
        values,
        footprint,
        tax,
        buildings,
    }
}
