//! Rule packs (规则包): the thresholds, weights and bounds analysis applies, as data.
//!
//! Each pack in `data/rules/` cites its source and marks its certainty ([V] checked against the
//! text, [S] secondary, [U] unverified default). The packs are built into the binary; `--rules
//! DIR` replaces any of them with a file of the same name from DIR.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Where a pack's numbers come from.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Source {
    /// The document's title.
    pub title: String,
    /// Its reference (文号).
    pub reference: String,
    /// V, S or U.
    pub verified: String,
}

/// 《闲置土地处置办法》 case A.
#[derive(Clone, Debug, Deserialize)]
pub struct CaseA {
    /// Citation.
    pub article: String,
    /// Full years past the agreed start.
    pub years: u32,
}

/// Which area counts for case B.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaBasis {
    /// 已开发面积 ÷ 应开发面积.
    Land,
    /// Building footprint ÷ land area.
    Footprint,
}

/// 《闲置土地处置办法》 case B.
#[derive(Clone, Debug, Deserialize)]
pub struct CaseB {
    /// Citation.
    pub article: String,
    /// Developed share below which the parcel may be idle.
    pub developed_share_below: f64,
    /// Invested share below which the parcel may be idle.
    pub invested_share_below: f64,
    /// Full years of suspension.
    pub suspended_years: u32,
    /// Which area counts.
    pub area_basis: AreaBasis,
}

/// A cited article with a rate.
#[derive(Clone, Debug, Deserialize)]
pub struct Fee {
    /// Citation.
    pub article: String,
    /// Share of the land price.
    pub rate: f64,
}

/// A cited article with a number of years.
#[derive(Clone, Debug, Deserialize)]
pub struct Recovery {
    /// Citation.
    pub article: String,
    /// Full years.
    pub years: u32,
}

/// One Art. 8 cause and the words that name it.
#[derive(Clone, Debug, Deserialize)]
pub struct Cause {
    /// The item (第八条第二项 …).
    pub item: String,
    /// Words that identify it in a 政府原因 value.
    pub keywords: Vec<String>,
}

/// Art. 8 government causes.
#[derive(Clone, Debug, Deserialize)]
pub struct Government {
    /// Citation.
    pub article: String,
    /// Values that mean "no government cause".
    pub none_words: Vec<String>,
    /// The causes, matched in order.
    #[serde(rename = "cause")]
    pub causes: Vec<Cause>,
}

/// Disposal status words.
#[derive(Clone, Debug, Deserialize)]
pub struct Disposed {
    /// Words in 处置状态 that mean disposed.
    pub keywords: Vec<String>,
}

/// 批而未供.
#[derive(Clone, Debug, Deserialize)]
pub struct ApprovedNotSupplied {
    /// Citation.
    pub article: String,
    /// Certainty.
    pub verified: String,
    /// Full years after approval.
    pub years: u32,
    /// Words in 供地状态 that mean not supplied.
    pub unsupplied_words: Vec<String>,
}

/// The idle-land pack.
#[derive(Clone, Debug, Deserialize)]
pub struct IdleRules {
    /// Source.
    pub source: Source,
    /// Case A.
    pub case_a: CaseA,
    /// Case B.
    pub case_b: CaseB,
    /// Art. 14(1).
    pub fee: Fee,
    /// Art. 14(2).
    pub recovery: Recovery,
    /// Art. 8.
    pub government: Government,
    /// Disposed parcels.
    pub disposed: Disposed,
    /// 批而未供.
    pub approved_not_supplied: ApprovedNotSupplied,
}

/// One edition of the industrial control indicators.
#[derive(Clone, Debug, Deserialize)]
pub struct ControlPack {
    /// Source.
    pub source: Source,
    /// Parcels supplied on or after this date use this pack (until the next one).
    pub applies_from: NaiveDate,
    /// Citation.
    pub article: String,
    /// 建筑系数 minimum.
    pub coverage_min: f64,
    /// 行政办公及生活服务设施用地比重 maximum.
    pub office_land_share_max: f64,
    /// 绿地率 maximum.
    pub green_ratio_max: f64,
    /// 配套设施建筑面积比例 maximum.
    pub service_floor_share_max: f64,
    /// 投资强度 minimum, 万元/公顷 (land price included).
    pub investment_intensity_min: f64,
    /// Certainty of that minimum.
    pub investment_intensity_verified: String,
    /// FAR minimum by GB/T 4754-2002 division.
    pub far_min: BTreeMap<String, f64>,
}

/// GB/T 4754-2017 → 2002 divisions.
#[derive(Clone, Debug, Deserialize)]
pub struct IndustryTable {
    /// Source.
    pub source: Source,
    /// 2017 prefix → 2002 division.
    pub to_2002: BTreeMap<String, String>,
}

/// An industry code's digits: a leading section letter (门类, "C3982" for manufacturing)
/// dropped.
fn code_digits(code: &str) -> &str {
    let code = code.trim();
    code.strip_prefix(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(code)
}

impl IndustryTable {
    /// The 2002 division of a 2017 code (longest matching prefix).
    pub fn division_2002(&self, code_2017: &str) -> Option<&str> {
        let code = code_digits(code_2017);
        (1..=code.len().min(4))
            .rev()
            .find_map(|n| code.get(..n).and_then(|p| self.to_2002.get(p)))
            .map(String::as_str)
    }

    /// Whether a code is malformed, or names manufacturing (divisions 13–43, where the
    /// control indicators table FAR minimums) without resolving to a 2002 division — `29`
    /// alone is rubber or plastics, which the 2002 table tells apart.
    pub fn unresolved(&self, code_2017: &str) -> bool {
        let code = code_digits(code_2017);
        if code.is_empty() || code.len() > 4 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return true;
        }
        let manufacturing = code
            .get(..2)
            .and_then(|d| d.parse::<u32>().ok())
            .is_some_and(|d| (13..=43).contains(&d));
        manufacturing && self.division_2002(code).is_none()
    }
}

/// A threshold below which a figure is under-used.
#[derive(Clone, Debug, Deserialize)]
pub struct Below {
    /// Citation.
    pub article: String,
    /// The threshold.
    pub below: f64,
}

/// Years past a date.
#[derive(Clone, Debug, Deserialize)]
pub struct YearsRule {
    /// Citation.
    pub article: String,
    /// Full years.
    pub years: u32,
}

/// Investment after completion.
#[derive(Clone, Debug, Deserialize)]
pub struct InvestmentRule {
    /// Citation.
    pub article: String,
    /// Full years since completion.
    pub years: u32,
    /// Share of the contract's investment.
    pub share_below: f64,
}

/// Production stopped.
#[derive(Clone, Debug, Deserialize)]
pub struct StoppedRule {
    /// Citation.
    pub article: String,
    /// Full years stopped.
    pub years: u32,
    /// 生产状态 words that mean stopped.
    pub words: Vec<String>,
}

/// Prohibited industries.
#[derive(Clone, Debug, Deserialize)]
pub struct ProhibitedRule {
    /// Citation.
    pub article: String,
    /// 产业政策类别 values.
    pub categories: Vec<String>,
}

/// The under-used land pack.
#[derive(Clone, Debug, Deserialize)]
pub struct UnderusedRules {
    /// Source.
    pub source: Source,
    /// A building whose part inside a parcel is at most this (m²) is a neighbour's building
    /// crossing the parcel edge by a drawing sliver, and does not count on the parcel.
    pub building_sliver_tolerance_m2: f64,
    /// FAR floor.
    pub far: Below,
    /// Tax per mu floor.
    pub tax_per_mu: Below,
    /// Overdue completion.
    pub overdue: YearsRule,
    /// Investment after completion.
    pub investment: InvestmentRule,
    /// Production stopped.
    pub stopped: StoppedRule,
    /// Prohibited industries.
    pub prohibited: ProhibitedRule,
}

/// One 亩均 indicator.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PerMuIndicator {
    /// Key (tax_per_mu …).
    pub key: String,
    /// Chinese name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Weight (points).
    pub weight: f64,
    /// Benchmark value (score = weight × value / benchmark).
    pub benchmark: f64,
}

/// Class cut-offs.
#[derive(Clone, Debug, Deserialize)]
pub struct Classes {
    /// A: top share.
    #[serde(rename = "A")]
    pub a: f64,
    /// B: cumulative share.
    #[serde(rename = "B")]
    pub b: f64,
    /// C: cumulative share.
    #[serde(rename = "C")]
    pub c: f64,
}

/// Small-firm scoring.
#[derive(Clone, Debug, Deserialize)]
pub struct SmallFirms {
    /// 企业规模 words that mean small.
    pub size_words: Vec<String>,
    /// Their indicators.
    #[serde(rename = "indicator")]
    pub indicators: Vec<PerMuIndicator>,
}

/// Ranking scope.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PerMuScope {
    /// All firms together.
    All,
    /// Firms within each park.
    Park,
}

/// The 亩均论英雄 (per-mu evaluation) pack.
#[derive(Clone, Debug, Deserialize)]
pub struct PerMuRules {
    /// Source.
    pub source: Source,
    /// Ranking scope.
    pub scope: PerMuScope,
    /// Years since completion before a firm is graded.
    pub startup_years: u32,
    /// Class cut-offs.
    pub classes: Classes,
    /// Most points one indicator gives, as a multiple of its weight (none: unbounded).
    #[serde(default)]
    pub points_cap: Option<f64>,
    /// Indicators of regular firms.
    #[serde(rename = "indicator")]
    pub indicators: Vec<PerMuIndicator>,
    /// Small firms.
    pub small: SmallFirms,
}

/// A share bound.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Bound {
    /// Minimum share, if any.
    pub min: Option<f64>,
    /// Maximum share, if any.
    pub max: Option<f64>,
}

/// The zoning pack.
#[derive(Clone, Debug, Deserialize)]
pub struct ZoningRules {
    /// Source.
    pub source: Source,
    /// Overlaps below this are ignored, m².
    pub overlap_tolerance_m2: f64,
    /// Bounds by park type, by category.
    pub types: BTreeMap<String, BTreeMap<String, Bound>>,
    /// Bounds by park id, by category (replacing the type's).
    #[serde(default)]
    pub parks: BTreeMap<String, BTreeMap<String, Bound>>,
}

impl ZoningRules {
    /// The bound of a category for a park of a type, with per-park overrides.
    pub fn bound(&self, park_id: &str, park_type: &str, category: &str) -> Option<Bound> {
        self.parks
            .get(park_id)
            .and_then(|b| b.get(category))
            .or_else(|| self.types.get(park_type).and_then(|b| b.get(category)))
            .copied()
    }
}

/// Benchmarks of the intensive-use indicators.
#[derive(Clone, Debug, Deserialize)]
pub struct IndicatorRules {
    /// Source.
    pub source: Source,
    /// 工业主导型 threshold on A2/A.
    pub industry_led_industrial_share: f64,
    /// 工业主导型 ceiling on A1/A.
    pub industry_led_residential_share: f64,
    /// Reference values by indicator key.
    pub benchmarks: BTreeMap<String, f64>,
}

/// The data-quality pack.
#[derive(Clone, Debug, Deserialize)]
pub struct QualityRules {
    /// Source.
    pub source: Source,
    /// Recorded vs drawn area tolerance (share).
    pub area_tolerance: f64,
}

/// What counts as construction land (建设用地) in one classification system, or on a 土规's
/// 用途区 / 建设用地管制区: codes by prefix, the longest listed prefix deciding.
#[derive(Clone, Debug, Deserialize)]
pub struct ConstructionRule {
    /// Prefixes of construction land.
    pub construction: Vec<String>,
    /// Longer prefixes that are not (1006 农村道路 in GB/T 21010).
    #[serde(default)]
    pub not_construction: Vec<String>,
    /// Construction land that is rural, not urban (农村宅基地): it may lie outside the urban
    /// development boundary.
    #[serde(default)]
    pub rural: Vec<String>,
    /// Citation.
    pub source: String,
    /// V, S or U.
    pub verified: String,
}

/// Whether land is construction land, and of which kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Construction {
    /// 城镇建设用地.
    Urban,
    /// 村庄建设用地 (农村宅基地, `v` codes).
    Rural,
    /// 非建设用地.
    No,
}

impl Construction {
    /// Construction land of either kind.
    pub fn is_construction(self) -> bool {
        self != Construction::No
    }
}

fn longest(list: &[String], code: &str) -> Option<usize> {
    list.iter()
        .filter(|p| code.starts_with(p.as_str()))
        .map(String::len)
        .max()
}

impl ConstructionRule {
    /// Judge a code (primary, upper-case, as the system's table holds it); `village` is its
    /// `v` suffix.
    pub fn judge(&self, code: &str, village: bool) -> Construction {
        let yes = longest(&self.construction, code);
        let no = longest(&self.not_construction, code);
        match (yes, no) {
            (Some(y), n) if n.is_none_or(|n| n < y) => {
                if village || longest(&self.rural, code).is_some() {
                    Construction::Rural
                } else {
                    Construction::Urban
                }
            }
            _ => Construction::No,
        }
    }

    /// Judge a 用途区 / 管制区 name: the zone listed in the value, longest first; `None` when the
    /// value names no listed zone.
    pub fn judge_zone(&self, value: &str) -> Option<Construction> {
        let hit = |list: &[String]| {
            list.iter()
                .filter(|z| value.contains(z.as_str()))
                .map(String::len)
                .max()
        };
        match (hit(&self.construction), hit(&self.not_construction)) {
            (None, None) => None,
            (Some(y), n) if n.is_none_or(|n| n < y) => Some(if hit(&self.rural).is_some() {
                Construction::Rural
            } else {
                Construction::Urban
            }),
            _ => Some(Construction::No),
        }
    }
}

/// 产业过渡区 distance.
#[derive(Clone, Debug, Deserialize)]
pub struct IndustrialBuffer {
    /// 二类/三类 industry closer than this to residential land conflicts, m.
    pub distance_m: f64,
    /// V, S or U.
    pub verified: String,
}

/// The 多规合一 pack: construction land per system, sliver floors, the 产业过渡区 distance
/// and the suggested adjustment per conflict type.
#[derive(Clone, Debug, Deserialize)]
pub struct ConflictRules {
    /// Source.
    pub source: Source,
    /// Comparison pieces below this are slivers, m².
    pub sliver_min_area_m2: f64,
    /// Red-line and farmland pieces below this are slivers, m².
    pub redline_min_area_m2: f64,
    /// 产业过渡区.
    pub industrial_buffer: IndustrialBuffer,
    /// Construction land by system (`YDYH-2023` …).
    pub systems: BTreeMap<String, ConstructionRule>,
    /// Construction land on 土地用途区 / 建设用地管制区.
    pub zones: ConstructionRule,
    /// 调入 / 调出 / 保留 / 协调 by conflict type id.
    pub suggestions: BTreeMap<String, String>,
}

impl ConflictRules {
    /// The rule of a classification system.
    pub fn system(&self, system: crate::model::ClassSystem) -> Option<&ConstructionRule> {
        self.systems.get(system.as_str())
    }
}

/// Every pack.
#[derive(Clone, Debug)]
pub struct Rules {
    /// Idle land.
    pub idle: IdleRules,
    /// Control indicators, oldest first.
    pub control: Vec<ControlPack>,
    /// Industry code mapping.
    pub industries: IndustryTable,
    /// Under-used land.
    pub underused: UnderusedRules,
    /// 亩均 evaluation.
    pub per_mu: PerMuRules,
    /// Zoning bounds.
    pub zoning: ZoningRules,
    /// Intensive-use benchmarks.
    pub indicators: IndicatorRules,
    /// Data quality.
    pub quality: QualityRules,
    /// 多规合一 conflicts and compliance review.
    pub conflicts: ConflictRules,
    /// Where each pack was read from.
    pub origins: Vec<String>,
}

/// A pack that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("rule pack {file}: {why}")]
pub struct RulesError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub why: String,
}

const BUILTIN: &[(&str, &str)] = &[
    ("idle.toml", include_str!("../../data/rules/idle.toml")),
    (
        "control_2008.toml",
        include_str!("../../data/rules/control_2008.toml"),
    ),
    (
        "control_2023.toml",
        include_str!("../../data/rules/control_2023.toml"),
    ),
    (
        "industries.toml",
        include_str!("../../data/rules/industries.toml"),
    ),
    (
        "underused.toml",
        include_str!("../../data/rules/underused.toml"),
    ),
    ("mujun.toml", include_str!("../../data/rules/mujun.toml")),
    ("zoning.toml", include_str!("../../data/rules/zoning.toml")),
    (
        "indicators.toml",
        include_str!("../../data/rules/indicators.toml"),
    ),
    (
        "quality.toml",
        include_str!("../../data/rules/quality.toml"),
    ),
    (
        "conflicts.toml",
        include_str!("../../data/rules/conflicts.toml"),
    ),
];

impl Rules {
    /// The file names of the packs (`idle.toml` …).
    pub fn pack_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(name, _)| *name).collect()
    }

    /// The packs built into landwatch.
    pub fn builtin() -> Rules {
        Rules::load(None).expect("built-in rule packs are valid")
    }

    /// The built-in packs, with any of the same name in `dir` taking their place.
    pub fn load(dir: Option<&Path>) -> Result<Rules, RulesError> {
        if let Some(d) = dir {
            if !d.is_dir() {
                return Err(RulesError {
                    file: d.display().to_string(),
                    why: "is not a directory of rule packs".into(),
                });
            }
        }
        let mut origins = vec![];
        let mut texts = BTreeMap::new();
        for (name, text) in BUILTIN {
            let custom = dir.map(|d| d.join(name)).filter(|p| p.exists());
            let text = match &custom {
                Some(p) => {
                    origins.push(format!("{name}: {}", p.display()));
                    std::fs::read_to_string(p).map_err(|e| RulesError {
                        file: p.display().to_string(),
                        why: e.to_string(),
                    })?
                }
                None => {
                    origins.push(format!("{name}: built in"));
                    (*text).to_string()
                }
            };
            texts.insert(*name, (custom.map(|p| p.display().to_string()), text));
        }
        fn parse<T: serde::de::DeserializeOwned>(
            texts: &BTreeMap<&str, (Option<String>, String)>,
            name: &str,
        ) -> Result<T, RulesError> {
            let (path, text) = &texts[name];
            toml::from_str(text).map_err(|e| RulesError {
                file: path.clone().unwrap_or_else(|| format!("{name} (built in)")),
                why: e.to_string(),
            })
        }
        let mut control: Vec<ControlPack> = vec![
            parse(&texts, "control_2008.toml")?,
            parse(&texts, "control_2023.toml")?,
        ];
        control.sort_by_key(|c| c.applies_from);
        let conflicts: ConflictRules = parse(&texts, "conflicts.toml")?;
        if let Some(missing) = crate::model::ClassSystem::ALL
            .into_iter()
            .find(|s| conflicts.system(*s).is_none())
        {
            return Err(RulesError {
                file: texts["conflicts.toml"]
                    .0
                    .clone()
                    .unwrap_or_else(|| "conflicts.toml (built in)".into()),
                why: format!(
                    "[systems.\"{missing}\"] is missing: say what counts as construction land in every classification system"
                ),
            });
        }
        Ok(Rules {
            idle: parse(&texts, "idle.toml")?,
            control,
            industries: parse(&texts, "industries.toml")?,
            underused: parse(&texts, "underused.toml")?,
            per_mu: parse(&texts, "mujun.toml")?,
            zoning: parse(&texts, "zoning.toml")?,
            indicators: parse(&texts, "indicators.toml")?,
            quality: parse(&texts, "quality.toml")?,
            conflicts,
            origins,
        })
    }

    /// The control-indicator pack for a parcel supplied on `date` (the oldest when unknown).
    pub fn control_for(&self, date: Option<NaiveDate>) -> &ControlPack {
        let first = &self.control[0];
        match date {
            None => first,
            Some(d) => self
                .control
                .iter()
                .rev()
                .find(|c| c.applies_from <= d)
                .unwrap_or(first),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_packs_parse_and_cite_their_sources() {
        let r = Rules::builtin();
        assert_eq!(r.idle.fee.rate, 0.2);
        assert_eq!(r.idle.recovery.years, 2);
        assert!(r.idle.case_a.article.contains("第二条"));
        assert_eq!(r.control.len(), 2);
        assert_eq!(r.control[0].coverage_min, 0.30);
        assert_eq!(r.control[1].source.verified, "U");
        let weights: f64 = r.per_mu.indicators.iter().map(|i| i.weight).sum();
        assert_eq!(weights, 100.0);
        assert!(r.zoning.types.contains_key("工业主导型"));
    }

    #[test]
    fn industry_codes_map_by_longest_prefix() {
        let r = Rules::builtin();
        assert_eq!(r.industries.division_2002("2922"), Some("30"));
        assert_eq!(r.industries.division_2002("2911"), Some("29"));
        assert_eq!(r.industries.division_2002("3670"), Some("37"));
        assert_eq!(r.industries.division_2002("3982"), Some("40"));
        assert_eq!(r.industries.division_2002("C3982"), Some("40"));
        assert_eq!(r.industries.division_2002("0111"), None);
        for (code, unresolved) in [
            ("29", true),
            ("abc", true),
            ("2921", false),
            ("C3982", false),
            ("5112", false),
        ] {
            assert_eq!(r.industries.unresolved(code), unresolved, "{code}");
        }
    }

    #[test]
    fn the_control_pack_follows_the_supply_date() {
        let r = Rules::builtin();
        let d = |s: &str| Some(s.parse::<NaiveDate>().unwrap());
        assert_eq!(r.control_for(d("2015-01-01")).coverage_min, 0.30);
        assert_eq!(r.control_for(d("2024-01-01")).coverage_min, 0.40);
        assert_eq!(r.control_for(None).coverage_min, 0.30);
    }

    #[test]
    fn a_rules_dir_replaces_packs_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let text = include_str!("../../data/rules/quality.toml").replace("0.05", "0.10");
        std::fs::write(dir.path().join("quality.toml"), text).unwrap();
        let r = Rules::load(Some(dir.path())).unwrap();
        assert_eq!(r.quality.area_tolerance, 0.10);
        assert!(r.origins.iter().any(|o| o.starts_with("quality.toml: /")));
        std::fs::write(dir.path().join("idle.toml"), "nonsense = [").unwrap();
        let e = Rules::load(Some(dir.path())).unwrap_err();
        assert!(e.to_string().contains("idle.toml"), "{e}");
    }
}
