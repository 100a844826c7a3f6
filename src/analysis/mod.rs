//! Analysis (分析): pure functions over a catalog snapshot and the rule packs — no files, no
//! HTTP, no GDAL. [`run`] is what the command line and the server call.

pub mod compliance;
pub mod conflicts;
pub mod context;
pub mod dates;
pub mod idle;
pub mod indicators;
pub mod intensity;
pub mod mujun;
pub mod quality;
#[cfg(test)]
pub mod testing;
pub mod zoning;

pub use context::Context;

use crate::rules::Rules;
use chrono::NaiveDate;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// The checks landwatch runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Check {
    /// 闲置土地.
    Idle,
    /// 低效用地.
    Underused,
    /// 亩均论英雄.
    Mujun,
    /// 园区用地结构.
    Zoning,
    /// 集约利用评价指标.
    Indicators,
    /// 数据质量.
    Quality,
}

impl Check {
    /// Every check.
    pub const ALL: [Check; 6] = [
        Check::Idle,
        Check::Underused,
        Check::Mujun,
        Check::Zoning,
        Check::Indicators,
        Check::Quality,
    ];

    /// The name on the command line and in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Idle => "idle",
            Check::Underused => "underused",
            Check::Mujun => "mujun",
            Check::Zoning => "zoning",
            Check::Indicators => "indicators",
            Check::Quality => "quality",
        }
    }

    /// The Chinese title.
    pub fn title_zh(self) -> &'static str {
        match self {
            Check::Idle => "疑似闲置土地",
            Check::Underused => "低效用地",
            Check::Mujun => "亩均效益评价",
            Check::Zoning => "园区用地结构",
            Check::Indicators => "土地集约利用评价指标",
            Check::Quality => "数据质量检查",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Check {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Check::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!("unknown check '{s}': use idle, underused, mujun, zoning, indicators or quality")
            })
    }
}

/// The result of a check.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum CheckReport {
    /// 闲置土地.
    Idle(idle::IdleReport),
    /// 低效用地.
    Underused(intensity::UnderusedReport),
    /// 亩均论英雄.
    Mujun(mujun::MujunReport),
    /// 园区用地结构.
    Zoning(zoning::ZoningReport),
    /// 集约利用评价指标.
    Indicators(indicators::IndicatorsReport),
    /// 数据质量.
    Quality(quality::QualityReport),
}

/// Run a check over a snapshot (for one park, when given) as of a date.
pub fn run(
    check: Check,
    ctx: &Context<'_>,
    rules: &Rules,
    as_of: NaiveDate,
    park: Option<&str>,
) -> CheckReport {
    match check {
        Check::Idle => CheckReport::Idle(idle::idle(ctx, &rules.idle, as_of, park)),
        Check::Underused => CheckReport::Underused(intensity::underused(ctx, rules, as_of, park)),
        Check::Mujun => CheckReport::Mujun(mujun::mujun(ctx, &rules.mujun, as_of, park)),
        Check::Zoning => {
            CheckReport::Zoning(zoning::zoning(ctx, &rules.zoning, &rules.indicators, park))
        }
        Check::Indicators => {
            CheckReport::Indicators(indicators::park_indicators(ctx, rules, as_of, park))
        }
        Check::Quality => CheckReport::Quality(quality::quality(ctx, rules, park)),
    }
}

/// Today in China (UTC+8), the default evaluation date.
pub fn today() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}
