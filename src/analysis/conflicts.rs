//! 多规合一 — plan conflicts (规划冲突), red-line checks and the conflict ledger
//! (差异图斑台账), DOMAIN.md §6.
//!
//! **两规比对**: two land-use layers (by default the 土规 as `a` and the 控规 as `b`; any two
//! layers with land-use codes, parcels included) are overlaid exactly, feature by feature, in
//! the analysis CRS, within each park and — without a park — outside the parks too. Every
//! piece (`park ∩ a-feature ∩ b-feature`) falls into one of four classes by whether each side
//! is construction land ([`crate::rules::ConflictRules`], per classification system); only the
//! two one-sided classes are 差异图斑, and a both-construction piece whose functional
//! categories differ is a `category_mismatch`.
//!
//! **Hard conflicts**, per offending layer (every plan and every parcel layer): construction
//! land inside the ecological red line or on permanent basic farmland, urban construction
//! outside the urban development boundary, parcel area outside its park's 四至, and 二类/三类
//! industry within the 产业过渡区 distance of residential land.
//!
//! Every conflict is a ledger row that owns its polygon (planar, and lon/lat for serving) and
//! a deterministic id ([`ledger_id`]). Pieces below the sliver floor are kept and flagged,
//! never dropped and never counted as conflicts.

use super::context::{codes, feature_id, widen, Context, ParkRef};
use crate::catalog::{Catalog, Layer};
use crate::geom::clip::{intersect, polygons, subtract};
use crate::geom::Transform;
use crate::model::land_class::{
    lookup, lookup_name, parse_code, table_code, Category, ClassSystem, ParsedCode,
};
use crate::model::records::Records;
use crate::model::value::{m2_to_hectares, m2_to_mu};
use crate::model::{PlanKind, RedlineKind, Role};
use crate::rules::{ConflictRules, Construction, Source};
use geo::algorithm::buffer::{BufferStyle, LineJoin};
use geo::{
    unary_union, Area, BooleanOps, BoundingRect, Buffer, Centroid, Contains, Distance, Euclidean,
    Geometry, InteriorPoint, Intersects, MultiPolygon, Rect,
};
use rayon::prelude::*;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Pieces smaller than this (m²) are numerical residue of the overlay (edges that touch),
/// not pieces of land.
const EMPTY_M2: f64 = 1e-6;

/// The angle between the segments of a buffer's round corners: 0.02 rad (about 79 per quarter
/// circle) keeps the buffer's area within 1e-4 of the true circle's at its corners.
const ARC_STEP_RAD: f64 = 0.02;

/// The type of a ledger row (差异类型).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConflictType {
    /// 土规建设·城规非建设 — `a` plans construction, `b` does not (差异图斑).
    AOnlyConstruction,
    /// 城规建设·土规非建设 — `b` plans construction, `a` does not (差异图斑).
    BOnlyConstruction,
    /// 用地性质不一致 — both construction, different functional categories.
    CategoryMismatch,
    /// 建设用地占用生态保护红线.
    EcologicalRedline,
    /// 建设用地占用永久基本农田.
    BasicFarmland,
    /// 城镇建设用地超出城镇开发边界.
    OutsideUrbanBoundary,
    /// 宗地超出园区四至.
    OutsidePark,
    /// 二类/三类工业用地位于产业过渡区内 (too close to residential land).
    IndustrialBuffer,
}

impl ConflictType {
    /// Every type, in ledger order.
    pub const ALL: [ConflictType; 8] = [
        ConflictType::AOnlyConstruction,
        ConflictType::BOnlyConstruction,
        ConflictType::CategoryMismatch,
        ConflictType::EcologicalRedline,
        ConflictType::BasicFarmland,
        ConflictType::OutsideUrbanBoundary,
        ConflictType::OutsidePark,
        ConflictType::IndustrialBuffer,
    ];

    /// The id in JSON, URLs and the rule pack.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictType::AOnlyConstruction => "a_only_construction",
            ConflictType::BOnlyConstruction => "b_only_construction",
            ConflictType::CategoryMismatch => "category_mismatch",
            ConflictType::EcologicalRedline => "ecological_redline",
            ConflictType::BasicFarmland => "basic_farmland",
            ConflictType::OutsideUrbanBoundary => "outside_urban_boundary",
            ConflictType::OutsidePark => "outside_park",
            ConflictType::IndustrialBuffer => "industrial_buffer",
        }
    }

    /// The Chinese name (差异类型名称).
    pub fn label_zh(self) -> &'static str {
        match self {
            ConflictType::AOnlyConstruction => "土规建设·城规非建设",
            ConflictType::BOnlyConstruction => "城规建设·土规非建设",
            ConflictType::CategoryMismatch => "用地性质不一致",
            ConflictType::EcologicalRedline => "建设用地占用生态保护红线",
            ConflictType::BasicFarmland => "建设用地占用永久基本农田",
            ConflictType::OutsideUrbanBoundary => "城镇建设用地超出城镇开发边界",
            ConflictType::OutsidePark => "宗地超出园区四至",
            ConflictType::IndustrialBuffer => "二类/三类工业用地位于产业过渡区",
        }
    }

    /// Whether the type's sliver floor is the red-line one (a control line: the three lines
    /// and the park's approved 四至) rather than the ordinary one.
    fn control_line(self) -> bool {
        matches!(
            self,
            ConflictType::EcologicalRedline
                | ConflictType::BasicFarmland
                | ConflictType::OutsideUrbanBoundary
                | ConflictType::OutsidePark
        )
    }
}

impl Serialize for ConflictType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::str::FromStr for ConflictType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConflictType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let ids: Vec<&str> = ConflictType::ALL.iter().map(|t| t.as_str()).collect();
                format!("unknown conflict type '{s}': use one of {}", ids.join(", "))
            })
    }
}

/// The four classes of a two-plan comparison (分类结果).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PieceClass {
    /// 两规均为建设用地.
    BothConstruction,
    /// `a` construction only.
    AOnlyConstruction,
    /// `b` construction only.
    BOnlyConstruction,
    /// 两规均为非建设用地.
    BothNonConstruction,
}

impl PieceClass {
    /// The id in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PieceClass::BothConstruction => "both_construction",
            PieceClass::AOnlyConstruction => "a_only_construction",
            PieceClass::BOnlyConstruction => "b_only_construction",
            PieceClass::BothNonConstruction => "both_non_construction",
        }
    }

    fn of(a: bool, b: bool) -> PieceClass {
        match (a, b) {
            (true, true) => PieceClass::BothConstruction,
            (true, false) => PieceClass::AOnlyConstruction,
            (false, true) => PieceClass::BOnlyConstruction,
            (false, false) => PieceClass::BothNonConstruction,
        }
    }
}

impl Serialize for PieceClass {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What a recorded use was judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The land-use code in the layer's classification system.
    Code,
    /// A 土地用途区 / 建设用地管制区 named in the code or name field.
    Zone,
    /// The land-use name alone (approximate).
    Name,
    /// Nothing usable: the piece cannot be judged.
    Unknown,
}

/// What one feature's recorded use means for 多规合一.
#[derive(Clone, Debug, Serialize)]
pub struct Judged {
    /// The code as written (the zone or name when there is no code).
    pub code: Option<String>,
    /// The code's parse: primary, compatible uses, village suffix.
    pub parse: Option<ParsedCode>,
    /// The class name in its system, else the recorded name.
    pub name: Option<String>,
    /// The classification system (`YDYH-2023` …), `用途区` for zones.
    pub system: Option<&'static str>,
    /// Functional category (`unclassified` when unknown).
    pub category: Category,
    /// Construction land, and of which kind; `None` when it cannot be judged.
    pub construction: Option<Construction>,
    /// 二类/三类 industry (2 or 3).
    pub pollution_class: Option<u8>,
    /// What it was judged by.
    pub basis: Basis,
}

impl Judged {
    /// Whether a use of `category` is compatible with this one: the primary use's category, or
    /// one of the compound code's compatible uses.
    pub fn allows(&self, category: Category, system: Option<ClassSystem>) -> bool {
        self.category == category
            || self.parse.as_ref().is_some_and(|p| {
                p.compatible.iter().any(|c| {
                    system
                        .and_then(|s| lookup(s, c))
                        .is_some_and(|l| l.category == category)
                })
            })
    }
}

/// The category of a code, or of its longest known prefix (local 8-digit extensions).
fn category_of(system: ClassSystem, code: &str) -> Option<crate::model::LandClass> {
    let mut end = code.len();
    while end >= 1 {
        if let Some(c) = code.get(..end).and_then(|p| lookup(system, p)) {
            return Some(c);
        }
        end -= 1;
    }
    None
}

/// Judge feature `i` of a land-use layer: by its code in the layer's system, else by a zone
/// it names, else by its name.
pub fn judge(layer: &Layer, i: usize, rules: &ConflictRules) -> Judged {
    let (code, name) = codes(layer, i);
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let system = layer.info.land_system;
    if let (Some(system), Some(raw)) = (system, code) {
        if let (Some(rule), Some(parse), Some(key)) = (
            rules.system(system),
            parse_code(raw),
            table_code(system, raw),
        ) {
            if let Some(class) = category_of(system, &key) {
                return Judged {
                    code: Some(raw.to_string()),
                    construction: Some(rule.judge(&key, parse.village)),
                    parse: Some(parse),
                    name: Some(class.name.to_string()).filter(|n| !n.is_empty()),
                    system: Some(system.as_str()),
                    category: class.category,
                    pollution_class: class.pollution_class,
                    basis: Basis::Code,
                };
            }
        }
    }
    for value in [code, name].into_iter().flatten() {
        if let Some(c) = rules.zones.judge_zone(value) {
            return Judged {
                code: Some(value.to_string()),
                parse: None,
                name: Some(value.to_string()),
                system: Some("用途区"),
                category: Category::Unclassified,
                construction: Some(c),
                pollution_class: None,
                basis: Basis::Zone,
            };
        }
    }
    if let Some(class) = name.and_then(lookup_name) {
        let n = name.unwrap_or_default();
        let rural = ["农村", "村庄", "宅基地"].iter().any(|w| n.contains(w));
        return Judged {
            code: code.map(str::to_string),
            parse: code.and_then(parse_code),
            name: name.map(str::to_string),
            system: None,
            category: class.category,
            construction: Some(match (class.category.is_construction(), rural) {
                (false, _) => Construction::No,
                (true, true) => Construction::Rural,
                (true, false) => Construction::Urban,
            }),
            pollution_class: class.pollution_class,
            basis: Basis::Name,
        };
    }
    Judged {
        code: code.map(str::to_string),
        parse: code.and_then(parse_code),
        name: name.map(str::to_string),
        system: system.map(ClassSystem::as_str),
        category: Category::Unclassified,
        construction: None,
        pollution_class: None,
        basis: Basis::Unknown,
    }
}

/// The part of a judgement the hard-conflict checks need, computed once per feature.
#[derive(Clone, Copy)]
struct Use {
    construction: Option<Construction>,
    category: Category,
    pollution: Option<u8>,
}

/// Every feature of a land-use layer judged, in parallel.
fn uses(layer: &Layer, rules: &ConflictRules) -> Vec<Use> {
    (0..layer.features.len())
        .into_par_iter()
        .map(|i| {
            let j = judge(layer, i, rules);
            Use {
                construction: j.construction,
                category: j.category,
                pollution: j.pollution_class,
            }
        })
        .collect()
}

/// Areas (m²) or counts by class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ByClass<T> {
    /// 两规均为建设用地.
    pub both_construction: T,
    /// 土规建设·城规非建设.
    pub a_only_construction: T,
    /// 城规建设·土规非建设.
    pub b_only_construction: T,
    /// 两规均为非建设用地.
    pub both_non_construction: T,
}

impl<T: Copy + std::ops::AddAssign> ByClass<T> {
    fn get_mut(&mut self, c: PieceClass) -> &mut T {
        match c {
            PieceClass::BothConstruction => &mut self.both_construction,
            PieceClass::AOnlyConstruction => &mut self.a_only_construction,
            PieceClass::BOnlyConstruction => &mut self.b_only_construction,
            PieceClass::BothNonConstruction => &mut self.both_non_construction,
        }
    }

    fn add(&mut self, other: &ByClass<T>) {
        self.both_construction += other.both_construction;
        self.a_only_construction += other.a_only_construction;
        self.b_only_construction += other.b_only_construction;
        self.both_non_construction += other.both_non_construction;
    }
}

impl ByClass<f64> {
    /// The four areas together.
    pub fn total(&self) -> f64 {
        self.both_construction
            + self.a_only_construction
            + self.b_only_construction
            + self.both_non_construction
    }
}

/// One cell of the pair matrix: code of `a` × code of `b`.
#[derive(Clone, Debug, Serialize)]
pub struct Pair {
    /// `a`'s code as written (its zone or name without a code).
    pub a_code: Option<String>,
    /// `b`'s code.
    pub b_code: Option<String>,
    /// The class the pair falls in (`None` when a side cannot be judged).
    pub class: Option<PieceClass>,
    /// Functional categories differ within both-construction.
    pub category_mismatch: bool,
    /// Pieces (地块个数).
    pub count: usize,
    /// Their area, m².
    pub area_m2: f64,
}

/// One comparison of two layers within one park (or, with `park_id` null, over the whole
/// common extent: every park plus the land outside them).
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Layer `a` (土规 by default).
    pub a: String,
    /// Layer `b` (控规 by default).
    pub b: String,
    /// The park; null for the whole common extent.
    pub park_id: Option<String>,
    /// The area compared: park ∩ cover(a) ∩ cover(b), m² (exact union of each layer's
    /// features). For the whole extent: the parks' extents plus the pieces outside parks.
    pub extent_m2: f64,
    /// Park area where `a` or `b` has no feature (not compared, not classified), m².
    pub uncovered_m2: Option<f64>,
    /// Area of each class, m² (slivers included). With `unclassified_m2` and
    /// `double_counted_m2` they make `extent_m2`.
    pub classes: ByClass<f64>,
    /// Pieces of each class.
    pub counts: ByClass<usize>,
    /// Of those, slivers (below the pack's minimum area).
    pub sliver_counts: ByClass<usize>,
    /// Their area, m².
    pub sliver_m2: ByClass<f64>,
    /// Area where a side's use cannot be judged (unknown code, no code), m².
    pub unclassified_m2: f64,
    /// Area counted more than once because features of one layer overlap each other, m².
    pub double_counted_m2: f64,
    /// Both-construction pieces whose functional categories differ: count and m².
    pub category_mismatch_count: usize,
    /// Their area, m².
    pub category_mismatch_m2: f64,
    /// The pair matrix, by area (largest first).
    pub pairs: Vec<Pair>,
}

/// One ledger row (差异图斑台账): a conflict polygon with both sides' uses and the bureau's
/// empty workflow columns. The polygon is owned, so the row can be served as a feature.
#[derive(Clone, Debug, Serialize)]
pub struct Conflict {
    /// Deterministic id ([`ledger_id`]).
    pub id: String,
    /// 差异类型代码.
    #[serde(rename = "type")]
    pub kind: ConflictType,
    /// 差异类型名称.
    pub type_zh: &'static str,
    /// The offending layer (`a` for comparison rows).
    pub layer: String,
    /// The other layer: `b`, the red-line layer, the park layer, or the residential layer.
    pub other_layer: Option<String>,
    /// The park the piece lies in (null outside every park).
    pub park_id: Option<String>,
    /// Area, m².
    pub area_m2: f64,
    /// The same in 公顷.
    pub area_ha: f64,
    /// The same in 亩.
    pub area_mu: f64,
    /// How the area was measured.
    pub measured: String,
    /// Below the sliver floor: kept, not counted as a conflict.
    pub sliver: bool,
    /// The offending feature's id.
    pub feature_id: String,
    /// The other feature's id (b's zone, the red-line feature, the residential land).
    pub other_feature_id: Option<String>,
    /// The offending feature's code as written.
    pub code: Option<String>,
    /// Its parse.
    pub code_parse: Option<ParsedCode>,
    /// Its class name.
    pub name: Option<String>,
    /// Its classification system.
    pub system: Option<&'static str>,
    /// Its functional category.
    pub category: Category,
    /// The other side's code (b's, or the residential land's).
    pub other_code: Option<String>,
    /// Its class name.
    pub other_name: Option<String>,
    /// Its classification system.
    pub other_system: Option<&'static str>,
    /// Its functional category.
    pub other_category: Option<Category>,
    /// The parcel involved (宗地编号), when a side is a parcel layer.
    pub parcel_id: Option<String>,
    /// The red-line feature (编号) occupied.
    pub redline_id: Option<String>,
    /// Its name.
    pub redline_name: Option<String>,
    /// For `industrial_buffer`: the distance to the residential land, m.
    pub distance_m: Option<f64>,
    /// For `industrial_buffer`: the distance required, m.
    pub required_m: Option<f64>,
    /// Suggested adjustment from the rule pack: 调入 / 调出 / 保留 / 协调.
    pub suggestion: String,
    /// 协调方式 — the bureau's, empty until it decides.
    pub coordination: Option<String>,
    /// 调整缘由 — the bureau's.
    pub adjustment_reason: Option<String>,
    /// 处置状态 — the bureau's.
    pub disposal_status: Option<String>,
    /// The polygon in the analysis CRS (planar metres).
    #[serde(skip)]
    pub planar: MultiPolygon,
    /// The polygon in lon/lat (CGCS2000), by the inverse of the analysis transform; `None`
    /// when it cannot be transformed.
    #[serde(skip)]
    pub lonlat: Option<MultiPolygon>,
}

/// One type's totals.
#[derive(Clone, Debug, Serialize)]
pub struct TypeSummary {
    /// Type id.
    #[serde(rename = "type")]
    pub kind: ConflictType,
    /// Chinese name.
    pub type_zh: &'static str,
    /// Conflicts (slivers excluded).
    pub count: usize,
    /// Their area, m².
    pub area_m2: f64,
    /// The same in 亩.
    pub area_mu: f64,
    /// Slivers of this type.
    pub slivers: usize,
    /// Their area, m².
    pub sliver_m2: f64,
}

/// Totals of the ledger.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Conflicts (slivers excluded).
    pub conflicts: usize,
    /// Slivers kept in the ledger.
    pub slivers: usize,
    /// Per type, every type listed.
    pub by_type: Vec<TypeSummary>,
    /// The comparison's layers (`a`, `b`), when there is one.
    pub compared: Option<(String, String)>,
    /// Ordinary sliver floor, m².
    pub sliver_min_area_m2: f64,
    /// Red-line sliver floor, m².
    pub redline_min_area_m2: f64,
    /// 产业过渡区 distance, m.
    pub buffer_distance_m: f64,
    /// How areas are measured.
    pub measured: String,
    /// What was not checked, and why (a missing plan or red line is never "no conflict").
    pub not_checked: Vec<String>,
}

/// The conflicts report.
#[derive(Clone, Debug, Serialize)]
pub struct ConflictReport {
    /// Two-plan comparisons: one per park, and the whole common extent without `--park`.
    pub comparisons: Vec<Comparison>,
    /// The ledger.
    pub conflicts: Vec<Conflict>,
    /// Totals.
    pub summary: Summary,
    /// The pack's source.
    pub source: Source,
}

/// What to compare.
#[derive(Clone, Debug, Default)]
pub struct ConflictOptions {
    /// One park only.
    pub park: Option<String>,
    /// Layers `a` and `b` by name; default: the `land_use` plan and the `urban` plan.
    pub compare: Option<(String, String)>,
}

/// A comparison that cannot be run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConflictError {
    /// `--compare` names a layer the store lacks.
    #[error("no layer named '{0}' in the store: `landwatch info` lists them")]
    NoLayer(String),
    /// `--compare` names a layer without land-use codes.
    #[error("layer '{layer}' is a {role} layer: compare plan or parcel layers, which carry land-use codes")]
    NotLandUse {
        /// The layer.
        layer: String,
        /// Its role.
        role: Role,
    },
    /// `--compare A,A`.
    #[error("compare two different layers, not '{0}' with itself")]
    SameLayer(String),
    /// `--park` names no park.
    #[error("no park with id '{0}'")]
    NoPark(String),
    /// The snapshot has no analysis CRS (an empty store).
    #[error("the store holds no layers to analyse")]
    Empty,
}

/// The deterministic ledger id of a conflict piece: 16 hex digits of a 64-bit FNV-1a hash of
/// the type id, both layers' names and both source features' own ids (宗地编号, 图斑编号 —
/// not store fids, which change on re-ingest), and a fingerprint of the piece: its area
/// rounded to 1 m² and its centroid rounded to 1 m.
///
/// The same inputs always give the same id; a piece keeps its id when another part of either
/// plan changes, since nothing outside its two source features enters the hash. It changes
/// when the piece itself changes by a square metre or moves by a metre (then it is a
/// different polygon for the ledger), or when a source feature is renumbered. FNV-1a is
/// written out here so the id never depends on the standard library's hasher.
pub fn ledger_id(
    kind: ConflictType,
    layer: &str,
    feature: &str,
    other_layer: Option<&str>,
    other_feature: Option<&str>,
    piece: &MultiPolygon,
) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes.iter().chain([&0x1f]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(kind.as_str().as_bytes());
    eat(layer.as_bytes());
    eat(feature.as_bytes());
    eat(other_layer.unwrap_or("").as_bytes());
    eat(other_feature.unwrap_or("").as_bytes());
    let area = piece.unsigned_area().round() as i64;
    eat(&area.to_le_bytes());
    if let Some(c) = piece.centroid() {
        eat(&(c.x().round() as i64).to_le_bytes());
        eat(&(c.y().round() as i64).to_le_bytes());
    }
    format!("{h:016x}")
}

fn planar(layer: &Layer, i: usize) -> Option<std::borrow::Cow<'_, MultiPolygon>> {
    layer.features[i].planar.as_ref().map(polygons)
}

/// The code a pair-matrix row shows: the code as written, else the name (a zone, a use).
fn pair_code(layer: &Layer, i: usize) -> Option<&str> {
    let (code, name) = codes(layer, i);
    code.or(name).map(str::trim).filter(|c| !c.is_empty())
}

/// A piece before it becomes a row.
struct Piece {
    kind: ConflictType,
    layer: Arc<Layer>,
    index: usize,
    other_layer: Option<Arc<Layer>>,
    other_index: Option<usize>,
    other: Option<Judged>,
    redline: Option<(String, Option<String>)>,
    park_id: Option<String>,
    distance: Option<(f64, f64)>,
    geometry: MultiPolygon,
}

/// Layers `a` and `b` of a comparison.
type LayerPair = (Arc<Layer>, Arc<Layer>);

/// The two layers compared: by name, or the 土规 and the 控规.
fn compared_layers(
    catalog: &Catalog,
    compare: Option<&(String, String)>,
    not_checked: &mut Vec<String>,
) -> Result<Option<LayerPair>, ConflictError> {
    let named = |name: &str| -> Result<Arc<Layer>, ConflictError> {
        let l = catalog
            .layers
            .iter()
            .find(|l| l.info.name == name)
            .ok_or_else(|| ConflictError::NoLayer(name.to_string()))?;
        match l.info.role {
            Role::Plan | Role::Parcels => Ok(l.clone()),
            role => Err(ConflictError::NotLandUse {
                layer: name.to_string(),
                role,
            }),
        }
    };
    if let Some((a, b)) = compare {
        if a == b {
            return Err(ConflictError::SameLayer(a.clone()));
        }
        return Ok(Some((named(a)?, named(b)?)));
    }
    let of_kind = |kind: PlanKind| {
        catalog
            .by_role(Role::Plan)
            .find(|l| matches!(&l.records, Records::Plan(Some(k), _) if *k == kind))
            .cloned()
    };
    match (of_kind(PlanKind::LandUse), of_kind(PlanKind::Urban)) {
        (Some(a), Some(b)) => Ok(Some((a, b))),
        (a, b) => {
            for (missing, kind) in [
                (a.is_none(), PlanKind::LandUse),
                (b.is_none(), PlanKind::Urban),
            ] {
                if missing {
                    not_checked.push(format!(
                        "两规比对：库中没有 {} 类规划图层（{}）；请用 --role plan --kind {} 入库，或用 --compare 指定两个图层",
                        kind.as_str(),
                        kind.label_zh(),
                        kind.as_str()
                    ));
                }
            }
            Ok(None)
        }
    }
}

/// Pieces of `a × b` where `a_features` are `a`'s features already cut to the region (a park,
/// or the land outside every park), and the comparison's classes and pairs; the caller
/// measures the extent.
fn compare_in(
    (a, ua): (&Arc<Layer>, &[Use]),
    (b, ub): (&Arc<Layer>, &[Use]),
    a_features: &[(usize, MultiPolygon)],
    park_id: Option<&str>,
    rules: &ConflictRules,
    pieces: &mut Vec<Piece>,
) -> Comparison {
    let mut cmp = Comparison {
        a: a.info.name.clone(),
        b: b.info.name.clone(),
        park_id: park_id.map(str::to_string),
        extent_m2: 0.0,
        uncovered_m2: None,
        classes: ByClass::default(),
        counts: ByClass::default(),
        sliver_counts: ByClass::default(),
        sliver_m2: ByClass::default(),
        unclassified_m2: 0.0,
        double_counted_m2: 0.0,
        category_mismatch_count: 0,
        category_mismatch_m2: 0.0,
        pairs: vec![],
    };
    let mut pairs: BTreeMap<(Option<&str>, Option<&str>), Pair> = BTreeMap::new();
    for (i, ga) in a_features {
        let Some(bbox) = a.features[*i].bbox else {
            continue;
        };
        let ja = ua[*i];
        for j in b.in_box(&bbox) {
            let Some(gb) = planar(b, j) else { continue };
            let piece = intersect(ga, &gb);
            let area = piece.unsigned_area();
            if area <= EMPTY_M2 {
                continue;
            }
            let jb = ub[j];
            let class = match (ja.construction, jb.construction) {
                (Some(x), Some(y)) => {
                    Some(PieceClass::of(x.is_construction(), y.is_construction()))
                }
                _ => None,
            };
            let mismatch = class == Some(PieceClass::BothConstruction)
                && ja.category != Category::Unclassified
                && jb.category != Category::Unclassified
                && ja.category != jb.category;
            let (ca, cb) = (pair_code(a, *i), pair_code(b, j));
            let pair = pairs.entry((ca, cb)).or_insert_with(|| Pair {
                a_code: ca.map(str::to_string),
                b_code: cb.map(str::to_string),
                class,
                category_mismatch: mismatch,
                count: 0,
                area_m2: 0.0,
            });
            pair.count += 1;
            pair.area_m2 += area;
            let Some(class) = class else {
                cmp.unclassified_m2 += area;
                continue;
            };
            let sliver = area < rules.sliver_min_area_m2;
            *cmp.classes.get_mut(class) += area;
            *cmp.counts.get_mut(class) += 1;
            if sliver {
                *cmp.sliver_m2.get_mut(class) += area;
                *cmp.sliver_counts.get_mut(class) += 1;
            }
            if mismatch {
                cmp.category_mismatch_count += 1;
                cmp.category_mismatch_m2 += area;
            }
            let kind = match class {
                PieceClass::AOnlyConstruction => ConflictType::AOnlyConstruction,
                PieceClass::BOnlyConstruction => ConflictType::BOnlyConstruction,
                PieceClass::BothConstruction if mismatch => ConflictType::CategoryMismatch,
                _ => continue,
            };
            pieces.push(Piece {
                kind,
                layer: a.clone(),
                index: *i,
                other_layer: Some(b.clone()),
                other_index: Some(j),
                other: Some(judge(b, j, rules)),
                redline: None,
                park_id: park_id.map(str::to_string),
                distance: None,
                geometry: piece,
            });
        }
    }
    let mut pairs: Vec<Pair> = pairs.into_values().collect();
    pairs.sort_by(|x, y| y.area_m2.total_cmp(&x.area_m2));
    cmp.pairs = pairs;
    cmp
}

/// The features of `layer` inside `park`, clipped to it.
fn clipped_to_park(layer: &Layer, park: &ParkRef<'_>) -> Vec<(usize, MultiPolygon)> {
    let pf = &park.layer.features[park.index];
    let (Some(bbox), Some(pg)) = (pf.bbox, pf.planar.as_ref()) else {
        return vec![];
    };
    let pg = polygons(pg);
    layer
        .in_box(&bbox)
        .into_iter()
        .filter_map(|i| {
            let own = planar(layer, i)?;
            let g = intersect(&own, &pg);
            (g.unsigned_area() > EMPTY_M2).then_some((i, g))
        })
        .collect()
}

fn one_park(
    a: (&Arc<Layer>, &[Use]),
    b: (&Arc<Layer>, &[Use]),
    park: &ParkRef<'_>,
    rules: &ConflictRules,
) -> (Comparison, Vec<Piece>) {
    let mut pieces = vec![];
    let a_in = clipped_to_park(a.0, park);
    let b_in = clipped_to_park(b.0, park);
    let mut cmp = compare_in(a, b, &a_in, Some(&park.park().id), rules, &mut pieces);
    let cover_a = unary_union(a_in.iter().map(|(_, g)| g));
    let cover_b = unary_union(b_in.iter().map(|(_, g)| g));
    cmp.extent_m2 = intersect(&cover_a, &cover_b).unsigned_area();
    cmp.uncovered_m2 = Some((park.area_m2() - cmp.extent_m2).max(0.0));
    cmp.double_counted_m2 = (cmp.classes.total() + cmp.unclassified_m2 - cmp.extent_m2).max(0.0);
    (cmp, pieces)
}

/// The parks' planar polygons and their boxes, for telling which park a piece lies in.
struct ParkIndex {
    parks: Vec<(String, Rect, MultiPolygon)>,
}

impl ParkIndex {
    fn new(ctx: &Context<'_>) -> ParkIndex {
        ParkIndex {
            parks: ctx
                .parks()
                .iter()
                .filter_map(|p| {
                    let g = polygons(p.planar()?).into_owned();
                    Some((p.park().id.to_string(), g.bounding_rect()?, g))
                })
                .collect(),
        }
    }

    /// The park a piece's interior point lies in.
    fn park_of(&self, piece: &MultiPolygon) -> Option<String> {
        let pt = piece.interior_point()?;
        self.parks
            .iter()
            .find(|(_, r, g)| r.intersects(&pt) && g.contains(&pt))
            .map(|(id, _, _)| id.clone())
    }

    /// Every park polygon whose box meets `r`.
    fn meeting(&self, r: &Rect) -> Vec<&MultiPolygon> {
        self.parks
            .iter()
            .filter(|(_, b, _)| b.intersects(r))
            .map(|(_, _, g)| g)
            .collect()
    }
}

/// The red-line features of one kind: (layer, index).
fn redlines(catalog: &Catalog, kind: RedlineKind) -> Vec<(Arc<Layer>, usize)> {
    catalog
        .by_role(Role::Redline)
        .flat_map(|l| {
            let Records::Redline(layer_kind, zones) = &l.records else {
                return vec![];
            };
            zones
                .iter()
                .enumerate()
                .filter(|(_, z)| z.kind_or(*layer_kind) == Some(kind))
                .map(|(i, _)| (l.clone(), i))
                .collect()
        })
        .collect()
}

fn redline_name(layer: &Layer, i: usize) -> Option<String> {
    match &layer.records {
        Records::Redline(_, v) => v[i].name.as_deref().map(str::to_string),
        _ => None,
    }
}

/// The features of `layer` to check: all, or those whose box meets the park's (one park asked).
fn in_scope(layer: &Layer, scope: Option<&Rect>) -> Vec<usize> {
    match scope {
        Some(r) => layer.in_box(r),
        None => (0..layer.features.len()).collect(),
    }
}

/// Construction land of `layer` inside the red-line features (ecological or farmland).
fn inside_redlines(
    layer: &Arc<Layer>,
    used: &[Use],
    lines: &[(Arc<Layer>, usize)],
    kind: ConflictType,
) -> Vec<Piece> {
    lines
        .par_iter()
        .flat_map_iter(|(rl, r)| {
            let (Some(rbox), Some(rg)) = (rl.features[*r].bbox, planar(rl, *r)) else {
                return vec![];
            };
            layer
                .in_box(&rbox)
                .into_iter()
                .filter(|&i| {
                    used[i]
                        .construction
                        .is_some_and(Construction::is_construction)
                })
                .filter_map(|i| {
                    let own = planar(layer, i)?;
                    let piece = intersect(&own, &rg);
                    (piece.unsigned_area() > EMPTY_M2).then(|| Piece {
                        kind,
                        layer: layer.clone(),
                        index: i,
                        other_layer: Some(rl.clone()),
                        other_index: Some(*r),
                        other: None,
                        redline: Some((feature_id(rl, *r), redline_name(rl, *r))),
                        park_id: None,
                        distance: None,
                        geometry: piece,
                    })
                })
                .collect()
        })
        .collect()
}

/// Urban construction land of `layer` outside every urban development boundary feature.
fn outside_boundary(
    layer: &Arc<Layer>,
    used: &[Use],
    bounds: &[(Arc<Layer>, usize)],
    scope: Option<&Rect>,
) -> Vec<Piece> {
    // The boundary features by layer, to be found through each layer's R-tree.
    let mut by_layer: Vec<(&Arc<Layer>, Vec<bool>)> = vec![];
    for (l, i) in bounds {
        if !by_layer.iter().any(|(x, _)| Arc::ptr_eq(x, l)) {
            by_layer.push((l, vec![false; l.features.len()]));
        }
        let entry = by_layer
            .iter_mut()
            .find(|(x, _)| Arc::ptr_eq(x, l))
            .expect("just added");
        entry.1[*i] = true;
    }
    in_scope(layer, scope)
        .into_par_iter()
        .filter(|&i| used[i].construction == Some(Construction::Urban))
        .filter_map(|i| {
            let bbox = layer.features[i].bbox?;
            let g = planar(layer, i)?;
            let meeting: Vec<std::borrow::Cow<'_, MultiPolygon>> = by_layer
                .iter()
                .flat_map(|(l, mask)| {
                    l.in_box(&bbox)
                        .into_iter()
                        .filter(|&j| mask[j])
                        .filter_map(|j| planar(l, j))
                })
                .collect();
            let meeting: Vec<&MultiPolygon> = meeting.iter().map(|g| g.as_ref()).collect();
            let piece = subtract(&g, &meeting);
            (piece.unsigned_area() > EMPTY_M2).then(|| Piece {
                kind: ConflictType::OutsideUrbanBoundary,
                layer: layer.clone(),
                index: i,
                other_layer: None,
                other_index: None,
                other: None,
                redline: None,
                park_id: None,
                distance: None,
                geometry: piece,
            })
        })
        .collect()
}

/// Parcel area outside the parcel's own park (its 所属园区, else the park around it).
/// With one park asked (`scope`: its id and box), only the parcels recorded as its own or
/// lying near it.
fn outside_parks(ctx: &Context<'_>, scope: Option<(&str, &Rect)>) -> Vec<Piece> {
    let parcels: Vec<_> = ctx
        .parcels()
        .filter(|p| {
            scope.is_none_or(|(id, r)| {
                p.parcel().park_id.as_deref() == Some(id)
                    || p.layer.features[p.index]
                        .bbox
                        .is_some_and(|b| b.intersects(r))
            })
        })
        .collect();
    parcels
        .par_iter()
        .filter_map(|p| {
            let park = ctx.park_of(p)?;
            let g = polygons(p.planar()?).into_owned();
            let pg = polygons(park.planar()?);
            let piece = subtract(&g, &[&*pg]);
            (piece.unsigned_area() > EMPTY_M2).then(|| Piece {
                kind: ConflictType::OutsidePark,
                layer: p.layer.clone(),
                index: p.index,
                other_layer: Some(park.layer.clone()),
                other_index: Some(park.index),
                other: None,
                redline: None,
                park_id: Some(park.park().id.to_string()),
                distance: None,
                geometry: piece,
            })
        })
        .collect()
}

/// 二类/三类 industry of `layer` within `distance` of residential land of the same layer: the
/// industrial land inside the buffer around the residential land.
fn industrial_buffer(
    layer: &Arc<Layer>,
    used: &[Use],
    distance: f64,
    rules: &ConflictRules,
    scope: Option<&Rect>,
) -> Vec<Piece> {
    in_scope(layer, scope)
        .into_par_iter()
        .filter(|&i| used[i].pollution.is_some_and(|p| p >= 2))
        .flat_map_iter(|i| {
            let f = &layer.features[i];
            let (Some(bbox), Some(gi)) = (f.bbox, planar(layer, i)) else {
                return vec![];
            };
            layer
                .in_box(&widen(bbox, distance))
                .into_iter()
                .filter_map(|j| {
                    if j == i || used[j].category != Category::Residential {
                        return None;
                    }
                    let gj = planar(layer, j)?;
                    let (gi, gj) = (gi.as_ref(), gj.as_ref());
                    let d = if gi.intersects(gj) {
                        0.0
                    } else {
                        Euclidean.distance(gi, gj)
                    };
                    if d >= distance {
                        return None;
                    }
                    let zone = gj.buffer_with_style(
                        BufferStyle::new(distance).line_join(LineJoin::Round(ARC_STEP_RAD)),
                    );
                    let piece = gi.intersection(&zone);
                    (piece.unsigned_area() > EMPTY_M2).then(|| Piece {
                        kind: ConflictType::IndustrialBuffer,
                        layer: layer.clone(),
                        index: i,
                        other_layer: Some(layer.clone()),
                        other_index: Some(j),
                        other: Some(judge(layer, j, rules)),
                        redline: None,
                        park_id: None,
                        distance: Some((d, distance)),
                        geometry: piece,
                    })
                })
                .collect()
        })
        .collect()
}

fn parcel_id(layer: &Layer, i: usize) -> Option<String> {
    matches!(layer.records, Records::Parcels(_)).then(|| feature_id(layer, i))
}

fn to_row(
    p: Piece,
    rules: &ConflictRules,
    measured: &str,
    parks: &ParkIndex,
    to_lonlat: Option<&Transform>,
) -> Conflict {
    let j = judge(&p.layer, p.index, rules);
    let fid = feature_id(&p.layer, p.index);
    let other_fid = p
        .other_layer
        .as_ref()
        .zip(p.other_index)
        .map(|(l, i)| feature_id(l, i));
    let other_name = p.other_layer.as_ref().map(|l| l.info.name.clone());
    let id = ledger_id(
        p.kind,
        &p.layer.info.name,
        &fid,
        other_name.as_deref(),
        other_fid.as_deref(),
        &p.geometry,
    );
    let area = p.geometry.unsigned_area();
    let floor = if p.kind.control_line() {
        rules.redline_min_area_m2
    } else {
        rules.sliver_min_area_m2
    };
    let parcel = parcel_id(&p.layer, p.index).or_else(|| {
        p.other_layer
            .as_ref()
            .zip(p.other_index)
            .and_then(|(l, i)| parcel_id(l, i))
    });
    let lonlat = to_lonlat.and_then(|t| {
        let mut g = Geometry::MultiPolygon(p.geometry.clone());
        t.geometry(&mut g).ok()?;
        match g {
            Geometry::MultiPolygon(m) => Some(m),
            _ => None,
        }
    });
    Conflict {
        id,
        kind: p.kind,
        type_zh: p.kind.label_zh(),
        layer: p.layer.info.name.clone(),
        other_layer: other_name,
        park_id: p.park_id.or_else(|| parks.park_of(&p.geometry)),
        area_m2: area,
        area_ha: m2_to_hectares(area),
        area_mu: m2_to_mu(area),
        measured: measured.to_string(),
        sliver: area < floor,
        feature_id: fid,
        other_feature_id: other_fid,
        code: j.code,
        code_parse: j.parse,
        name: j.name,
        system: j.system,
        category: j.category,
        other_code: p.other.as_ref().and_then(|o| o.code.clone()),
        other_name: p.other.as_ref().and_then(|o| o.name.clone()),
        other_system: p.other.as_ref().and_then(|o| o.system),
        other_category: p.other.as_ref().map(|o| o.category),
        parcel_id: parcel,
        redline_id: p.redline.as_ref().map(|r| r.0.clone()),
        redline_name: p.redline.and_then(|r| r.1),
        distance_m: p.distance.map(|d| d.0),
        required_m: p.distance.map(|d| d.1),
        suggestion: rules
            .suggestions
            .get(p.kind.as_str())
            .cloned()
            .unwrap_or_else(|| "协调".into()),
        coordination: None,
        adjustment_reason: None,
        disposal_status: None,
        planar: p.geometry,
        lonlat,
    }
}

fn summarise(conflicts: &[Conflict]) -> Vec<TypeSummary> {
    ConflictType::ALL
        .iter()
        .map(|&kind| {
            let mut s = TypeSummary {
                kind,
                type_zh: kind.label_zh(),
                count: 0,
                area_m2: 0.0,
                area_mu: 0.0,
                slivers: 0,
                sliver_m2: 0.0,
            };
            for c in conflicts.iter().filter(|c| c.kind == kind) {
                if c.sliver {
                    s.slivers += 1;
                    s.sliver_m2 += c.area_m2;
                } else {
                    s.count += 1;
                    s.area_m2 += c.area_m2;
                }
            }
            s.area_mu = m2_to_mu(s.area_m2);
            s
        })
        .collect()
}

/// Compare the plans, check the red lines and build the ledger, over every park (or one).
pub fn conflicts(
    ctx: &Context<'_>,
    rules: &ConflictRules,
    opts: &ConflictOptions,
) -> Result<ConflictReport, ConflictError> {
    let catalog = ctx.catalog;
    let crs = catalog.analysis_crs.as_ref().ok_or(ConflictError::Empty)?;
    let parks: Vec<&ParkRef<'_>> = match &opts.park {
        Some(id) => vec![ctx
            .park(id)
            .ok_or_else(|| ConflictError::NoPark(id.clone()))?],
        None => ctx.parks().iter().collect(),
    };
    let mut not_checked = vec![];
    let pair = compared_layers(catalog, opts.compare.as_ref(), &mut not_checked)?;
    let park_index = ParkIndex::new(ctx);
    // Every feature of every land-use layer judged once.
    let land_use: Vec<(&Arc<Layer>, Vec<Use>)> = catalog
        .layers
        .iter()
        .filter(|l| matches!(l.info.role, Role::Plan | Role::Parcels))
        .map(|l| (l, uses(l, rules)))
        .collect();
    let used = |l: &Arc<Layer>| -> &[Use] {
        &land_use
            .iter()
            .find(|(x, _)| Arc::ptr_eq(x, l))
            .expect("compared layers are land-use layers")
            .1
    };
    let mut comparisons = vec![];
    let mut pieces: Vec<Piece> = vec![];
    if let Some((a, b)) = &pair {
        let (a, b) = ((a, used(a)), (b, used(b)));
        let per_park: Vec<(Comparison, Vec<Piece>)> = parks
            .par_iter()
            .filter(|_| !ctx.cancelled())
            .map(|p| one_park(a, b, p, rules))
            .collect();
        let mut whole = None;
        if opts.park.is_none() {
            // The land outside every park, feature by feature.
            let outside: Vec<(usize, MultiPolygon)> = (0..a.0.features.len())
                .into_par_iter()
                .filter(|_| !ctx.cancelled())
                .filter_map(|i| {
                    let g = planar(a.0, i)?;
                    let r = g.bounding_rect()?;
                    let rest = subtract(&g, &park_index.meeting(&r));
                    (rest.unsigned_area() > EMPTY_M2).then_some((i, rest))
                })
                .collect();
            let mut rest = vec![];
            let mut w = compare_in(a, b, &outside, None, rules, &mut rest);
            w.extent_m2 = w.classes.total() + w.unclassified_m2;
            for (c, _) in &per_park {
                w.extent_m2 += c.extent_m2;
                w.classes.add(&c.classes);
                w.counts.add(&c.counts);
                w.sliver_counts.add(&c.sliver_counts);
                w.sliver_m2.add(&c.sliver_m2);
                w.unclassified_m2 += c.unclassified_m2;
                w.double_counted_m2 += c.double_counted_m2;
                w.category_mismatch_count += c.category_mismatch_count;
                w.category_mismatch_m2 += c.category_mismatch_m2;
                for p in &c.pairs {
                    match w
                        .pairs
                        .iter_mut()
                        .find(|q| q.a_code == p.a_code && q.b_code == p.b_code)
                    {
                        Some(q) => {
                            q.count += p.count;
                            q.area_m2 += p.area_m2;
                        }
                        None => w.pairs.push(p.clone()),
                    }
                }
            }
            w.pairs.sort_by(|x, y| y.area_m2.total_cmp(&x.area_m2));
            pieces.extend(rest);
            whole = Some(w);
        }
        for (c, p) in per_park {
            comparisons.push(c);
            pieces.extend(p);
        }
        comparisons.extend(whole);
    }

    // Hard conflicts, per offending layer; with one park asked, only near it.
    let scope = opts
        .park
        .as_ref()
        .and_then(|_| parks.first())
        .and_then(|p| p.layer.features[p.index].bbox);
    let scope = scope.as_ref();
    for (kind, line) in [
        (ConflictType::EcologicalRedline, RedlineKind::Ecological),
        (ConflictType::BasicFarmland, RedlineKind::Farmland),
    ] {
        let all = redlines(catalog, line);
        if all.is_empty() {
            not_checked.push(format!(
                "{}：库中没有 {} 类控制线图层（{}），未检查",
                kind.as_str(),
                line.as_str(),
                line.label_zh()
            ));
            continue;
        }
        let lines: Vec<_> = all
            .into_iter()
            .filter(|(l, i)| {
                scope.is_none_or(|r| l.features[*i].bbox.is_some_and(|b| b.intersects(r)))
            })
            .collect();
        for (layer, used) in &land_use {
            pieces.extend(inside_redlines(layer, used, &lines, kind));
        }
    }
    let bounds = redlines(catalog, RedlineKind::UrbanBoundary);
    if bounds.is_empty() {
        not_checked.push(
            "outside_urban_boundary：库中没有 urban_boundary 类控制线图层（城镇开发边界），未检查"
                .into(),
        );
    } else {
        for (layer, used) in &land_use {
            pieces.extend(outside_boundary(layer, used, &bounds, scope));
        }
    }
    if ctx.parks().is_empty() {
        not_checked.push("outside_park：库中没有园区图层（园区四至），未检查".into());
    } else {
        pieces.extend(outside_parks(ctx, opts.park.as_deref().zip(scope)));
    }
    let distance = rules.industrial_buffer.distance_m;
    for (layer, used) in &land_use {
        pieces.extend(industrial_buffer(layer, used, distance, rules, scope));
    }

    let measured = format!("平面面积，{}", crs.label);
    let to_lonlat = Transform::new(&crs.definition, "EPSG:4490").ok();
    let mut rows: Vec<Conflict> = pieces
        .into_par_iter()
        .map(|p| to_row(p, rules, &measured, &park_index, to_lonlat.as_ref()))
        .filter(|c| {
            opts.park
                .as_deref()
                .is_none_or(|want| c.park_id.as_deref() == Some(want))
        })
        .collect();
    rows.sort_by(|x, y| {
        (
            x.kind,
            &x.park_id,
            &x.layer,
            &x.feature_id,
            &x.other_feature_id,
            &x.id,
        )
            .cmp(&(
                y.kind,
                &y.park_id,
                &y.layer,
                &y.feature_id,
                &y.other_feature_id,
                &y.id,
            ))
    });
    let by_type = summarise(&rows);
    let summary = Summary {
        conflicts: rows.iter().filter(|c| !c.sliver).count(),
        slivers: rows.iter().filter(|c| c.sliver).count(),
        by_type,
        compared: pair.map(|(a, b)| (a.info.name.clone(), b.info.name.clone())),
        sliver_min_area_m2: rules.sliver_min_area_m2,
        redline_min_area_m2: rules.redline_min_area_m2,
        buffer_distance_m: distance,
        measured,
        not_checked,
    };
    Ok(ConflictReport {
        comparisons,
        conflicts: rows,
        summary,
        source: rules.source.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{parcel, park, rect, Builder};
    use crate::rules::Rules;

    fn near(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    /// A 1 km² park K1 with every class, hard conflict and sliver worked out by hand.
    ///
    /// 土规 `tg` (GB/T 21010): T1 0601 工业 x 0–500; T2 0103 旱地 x 500–1000, y 0–500;
    /// T3 0701 住宅 x 500–1000, y 500–1000.
    /// 控规 `kg` (GB 50137): K1 M2 x 0–400; K2 E2 x 400–499.5; K3 R2 x 499.5–1000, y 0–300;
    /// K4 E1 x 500–1000, y 300–500; K5 B1 x 500–1000, y 500–1000. Nothing of `kg` covers
    /// x 499.5–500, y 300–1000 (350 m² uncovered).
    ///
    /// both_construction = T1∩K1 400,000 + T1∩K3 150 (a sliver, 工业 vs 居住) + T3∩K5 250,000
    /// (居住 vs 商业) = 650,150; a_only = T1∩K2 99,500; b_only = T2∩K3 150,000;
    /// both_non = T2∩K4 100,000; together 999,650 = 1,000,000 − 350.
    ///
    /// Red lines: ecological 900–1100 × 900–1100 (T3 and K5 10,000 m² each); farmland
    /// 0–100 × 0–100 (T1, K1 10,000 each) and 999.5–1000.5 × 0–1 (K3 0.5 m², a red-line
    /// sliver); urban boundary −10–1010 × −10–800 (T1, T3, K5 100,000 each and K1 80,000
    /// outside; parcel P4 2,000; rural P3 0703 is not urban construction).
    /// Parcels (YDYH-2023): P1 100102 二类工业 100–300²; P2 070102 住宅 20 m east of it
    /// (P1 inside the 50 m buffer: 30 × 200 = 6,000 m²); P3 0703 宅基地 outside the boundary;
    /// P4 100101 straddling the park (2,500 m² outside).
    fn catalog(k4: &str) -> Catalog {
        Builder::new()
            .parks(
                "parks",
                vec![(park("K1", "产城融合型"), rect(0.0, 0.0, 1000.0, 1000.0))],
            )
            .plan(
                "tg",
                ClassSystem::Gbt21010,
                "land_use",
                vec![
                    ("0601", rect(0.0, 0.0, 500.0, 1000.0)),
                    ("0103", rect(500.0, 0.0, 1000.0, 500.0)),
                    ("0701", rect(500.0, 500.0, 1000.0, 1000.0)),
                ],
            )
            .plan(
                "kg",
                ClassSystem::Gb50137,
                "urban",
                vec![
                    ("M2", rect(0.0, 0.0, 400.0, 1000.0)),
                    ("E2", rect(400.0, 0.0, 499.5, 1000.0)),
                    ("R2", rect(499.5, 0.0, 1000.0, 300.0)),
                    (k4, rect(500.0, 300.0, 1000.0, 500.0)),
                    ("B1", rect(500.0, 500.0, 1000.0, 1000.0)),
                ],
            )
            .parcels(
                "parcels",
                vec![
                    (
                        parcel("P1", "100102", "K1"),
                        rect(100.0, 100.0, 300.0, 300.0),
                    ),
                    (
                        parcel("P2", "070102", "K1"),
                        rect(320.0, 100.0, 420.0, 300.0),
                    ),
                    (parcel("P3", "0703", "K1"), rect(0.0, 850.0, 50.0, 900.0)),
                    (
                        parcel("P4", "100101", "K1"),
                        rect(950.0, 400.0, 1050.0, 450.0),
                    ),
                ],
            )
            .redline(
                "eco",
                "ecological",
                vec![rect(900.0, 900.0, 1100.0, 1100.0)],
            )
            .redline(
                "jbnt",
                "farmland",
                vec![rect(0.0, 0.0, 100.0, 100.0), rect(999.5, 0.0, 1000.5, 1.0)],
            )
            .redline(
                "kfbj",
                "urban_boundary",
                vec![rect(-10.0, -10.0, 1010.0, 800.0)],
            )
            .build()
    }

    fn run(cat: &Catalog, opts: &ConflictOptions) -> ConflictReport {
        let ctx = Context::new(cat);
        conflicts(&ctx, &Rules::builtin().conflicts, opts).unwrap()
    }

    fn rows(r: &ConflictReport, kind: ConflictType) -> Vec<&Conflict> {
        r.conflicts.iter().filter(|c| c.kind == kind).collect()
    }

    #[test]
    fn every_class_by_hand() {
        let cat = catalog("E1");
        let r = run(&cat, &ConflictOptions::default());
        assert_eq!(r.comparisons.len(), 2, "the park and the whole extent");
        let k = &r.comparisons[0];
        assert_eq!((k.a.as_str(), k.b.as_str()), ("tg", "kg"));
        assert_eq!(k.park_id.as_deref(), Some("K1"));
        assert!(near(k.classes.both_construction, 650_150.0), "{k:?}");
        assert!(near(k.classes.a_only_construction, 99_500.0));
        assert!(near(k.classes.b_only_construction, 150_000.0));
        assert!(near(k.classes.both_non_construction, 100_000.0));
        assert!(near(k.extent_m2, 999_650.0) && near(k.uncovered_m2.unwrap(), 350.0));
        assert!((k.classes.total() - k.extent_m2).abs() < 1.0);
        assert_eq!(k.counts.both_construction, 3);
        assert_eq!(k.sliver_counts.both_construction, 1);
        assert!(near(k.sliver_m2.both_construction, 150.0));
        assert_eq!(k.category_mismatch_count, 2);
        assert!(near(k.category_mismatch_m2, 250_150.0));
        let pair = k
            .pairs
            .iter()
            .find(|p| p.a_code.as_deref() == Some("0601") && p.b_code.as_deref() == Some("E2"))
            .unwrap();
        assert_eq!(pair.class, Some(PieceClass::AOnlyConstruction));
        assert_eq!(pair.count, 1);
        assert!(near(pair.area_m2, 99_500.0));
        // Nothing of either plan lies outside the park: the whole extent is the park's.
        let w = &r.comparisons[1];
        assert!(w.park_id.is_none() && near(w.extent_m2, k.extent_m2));
        assert!(near(w.classes.total(), k.classes.total()));

        let a_only = rows(&r, ConflictType::AOnlyConstruction);
        assert_eq!(a_only.len(), 1);
        let c = a_only[0];
        assert_eq!(
            (c.feature_id.as_str(), c.other_feature_id.as_deref()),
            ("Z1", Some("Z2"))
        );
        assert_eq!(
            (c.code.as_deref(), c.other_code.as_deref()),
            (Some("0601"), Some("E2"))
        );
        assert_eq!(c.system, Some("GBT21010-2017"));
        assert_eq!(c.other_system, Some("GB50137-2011"));
        assert_eq!(c.category, Category::Industrial);
        assert!(near(c.area_mu, 99_500.0 * 15.0 / 10_000.0));
        assert!(near(c.area_ha, 9.95));
        assert!(!c.sliver && c.suggestion == "协调" && c.coordination.is_none());
        assert!(c.measured.contains("平面面积"));
        assert!(near(c.planar.unsigned_area(), 99_500.0));
        let b_only = rows(&r, ConflictType::BOnlyConstruction);
        assert_eq!(b_only.len(), 1);
        assert!(near(b_only[0].area_m2, 150_000.0));
        let mismatch = rows(&r, ConflictType::CategoryMismatch);
        assert_eq!(mismatch.len(), 2);
        let sliver: Vec<_> = mismatch.iter().filter(|c| c.sliver).collect();
        assert_eq!(sliver.len(), 1);
        assert!(near(sliver[0].area_m2, 150.0));
        // Slivers are kept, not counted.
        let s = r
            .summary
            .by_type
            .iter()
            .find(|t| t.kind == ConflictType::CategoryMismatch)
            .unwrap();
        assert_eq!((s.count, s.slivers), (1, 1));
    }

    #[test]
    fn each_hard_conflict_by_hand() {
        let cat = catalog("E1");
        let r = run(&cat, &ConflictOptions::default());
        let areas = |kind: ConflictType| -> Vec<(String, String, f64, bool)> {
            let mut v: Vec<_> = rows(&r, kind)
                .iter()
                .map(|c| (c.layer.clone(), c.feature_id.clone(), c.area_m2, c.sliver))
                .collect();
            v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            v
        };
        let eco = areas(ConflictType::EcologicalRedline);
        assert_eq!(eco.len(), 2, "{eco:?}");
        assert_eq!((eco[0].0.as_str(), eco[0].1.as_str()), ("kg", "Z5"));
        assert_eq!((eco[1].0.as_str(), eco[1].1.as_str()), ("tg", "Z3"));
        assert!(eco.iter().all(|e| near(e.2, 10_000.0) && !e.3));
        let c = rows(&r, ConflictType::EcologicalRedline)[0];
        assert_eq!(c.redline_id.as_deref(), Some("R1"));
        assert_eq!(c.other_layer.as_deref(), Some("eco"));
        assert_eq!(c.park_id.as_deref(), Some("K1"));

        let farm = areas(ConflictType::BasicFarmland);
        assert_eq!(farm.len(), 3, "{farm:?}");
        assert_eq!((farm[0].1.as_str(), farm[1].1.as_str()), ("Z1", "Z3"));
        assert!(near(farm[0].2, 10_000.0) && !farm[0].3);
        // 0.5 m² under the 1 m² red-line floor: kept as a sliver.
        assert!(near(farm[1].2, 0.5) && farm[1].3);
        assert_eq!(farm[2].0, "tg");
        assert!(near(farm[2].2, 10_000.0));

        let out = areas(ConflictType::OutsideUrbanBoundary);
        let want = [
            ("kg", "Z1", 80_000.0),
            ("kg", "Z5", 100_000.0),
            ("parcels", "P4", 2_000.0),
            ("tg", "Z1", 100_000.0),
            ("tg", "Z3", 100_000.0),
        ];
        assert_eq!(out.len(), want.len(), "{out:?}");
        for (got, (layer, id, m2)) in out.iter().zip(want) {
            assert_eq!((got.0.as_str(), got.1.as_str()), (layer, id));
            assert!(near(got.2, m2), "{got:?}");
        }

        let park = rows(&r, ConflictType::OutsidePark);
        assert_eq!(park.len(), 1);
        assert_eq!(park[0].parcel_id.as_deref(), Some("P4"));
        assert!(near(park[0].area_m2, 2_500.0));

        let buf = rows(&r, ConflictType::IndustrialBuffer);
        assert_eq!(buf.len(), 1);
        let b = buf[0];
        assert_eq!(
            (b.feature_id.as_str(), b.other_feature_id.as_deref()),
            ("P1", Some("P2"))
        );
        assert!(near(b.distance_m.unwrap(), 20.0) && b.required_m == Some(50.0));
        assert!((b.area_m2 - 6_000.0).abs() < 1e-3, "{}", b.area_m2);
        assert_eq!(b.other_category, Some(Category::Residential));
        assert!(r.summary.not_checked.is_empty());
    }

    #[test]
    fn ids_are_stable_across_runs_and_unrelated_changes() {
        let first = run(&catalog("E1"), &ConflictOptions::default());
        let again = run(&catalog("E1"), &ConflictOptions::default());
        let ids = |r: &ConflictReport| -> Vec<String> {
            r.conflicts.iter().map(|c| c.id.clone()).collect()
        };
        assert_eq!(ids(&first), ids(&again));
        let mut unique = ids(&first);
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), first.conflicts.len());
        // K4 turns from water into 公园绿地: T2∩K4 becomes a new 差异图斑, the others keep
        // their ids.
        let changed = run(&catalog("G1"), &ConflictOptions::default());
        let b_only = rows(&changed, ConflictType::BOnlyConstruction);
        assert_eq!(b_only.len(), 2);
        let a_first = rows(&first, ConflictType::AOnlyConstruction)[0];
        let a_changed = rows(&changed, ConflictType::AOnlyConstruction)[0];
        assert_eq!(a_first.id, a_changed.id);
        let kept = ids(&first)
            .into_iter()
            .filter(|id| changed.conflicts.iter().any(|c| &c.id == id))
            .count();
        assert_eq!(kept, first.conflicts.len());
    }

    #[test]
    fn one_park_gets_the_rows_the_whole_run_gives_it() {
        let cat = catalog("E1");
        let whole = run(&cat, &ConflictOptions::default());
        let one = run(
            &cat,
            &ConflictOptions {
                park: Some("K1".into()),
                compare: None,
            },
        );
        let ids = |r: &ConflictReport| -> Vec<String> {
            r.conflicts
                .iter()
                .filter(|c| c.park_id.as_deref() == Some("K1"))
                .map(|c| c.id.clone())
                .collect()
        };
        assert_eq!(ids(&one), ids(&whole));
        assert_eq!(one.conflicts.len(), ids(&one).len());
        assert!(one.conflicts.len() >= 15);
    }

    #[test]
    fn one_park_compare_named_layers_and_errors() {
        let cat = catalog("E1");
        let r = run(
            &cat,
            &ConflictOptions {
                park: Some("K1".into()),
                compare: Some(("parcels".into(), "kg".into())),
            },
        );
        assert_eq!(r.comparisons.len(), 1);
        let k = &r.comparisons[0];
        // Parcels cover 40,000 + 20,000 + 2,500 + 2,500 m² of the park.
        assert!(near(k.extent_m2, 65_000.0), "{}", k.extent_m2);
        assert!(r
            .conflicts
            .iter()
            .all(|c| c.park_id.as_deref() == Some("K1")));
        // Parcel rows name the parcel.
        assert!(r
            .conflicts
            .iter()
            .filter(|c| c.layer == "parcels")
            .all(|c| c.parcel_id.as_deref() == Some(c.feature_id.as_str())));
        let ctx = Context::new(&cat);
        let rules = Rules::builtin().conflicts;
        let err = |park: Option<&str>, a: &str, b: &str| {
            conflicts(
                &ctx,
                &rules,
                &ConflictOptions {
                    park: park.map(str::to_string),
                    compare: Some((a.into(), b.into())),
                },
            )
            .unwrap_err()
        };
        assert_eq!(
            err(None, "tg", "nope"),
            ConflictError::NoLayer("nope".into())
        );
        assert!(matches!(
            err(None, "eco", "kg"),
            ConflictError::NotLandUse { .. }
        ));
        assert_eq!(err(None, "kg", "kg"), ConflictError::SameLayer("kg".into()));
        assert_eq!(
            err(Some("X"), "tg", "kg"),
            ConflictError::NoPark("X".into())
        );
    }

    #[test]
    fn the_same_code_in_two_systems_and_the_2020_edition() {
        // 1001 is 工业 in YDYH-2023 and 铁路 in GB/T 21010: both construction, categories
        // differ. 0601 is a 乡村道路 (not construction) in YDYH-2023 and 工业 in GB/T 21010.
        // 1311 is 干渠 (→ 1705 沟渠, water) in YDYH-2020 and 水工设施 in YDYH-2023.
        let cat = Builder::new()
            .parks(
                "parks",
                vec![(park("K", "工业主导型"), rect(0.0, 0.0, 300.0, 100.0))],
            )
            .plan(
                "new",
                ClassSystem::Ydyh2023,
                "land_use",
                vec![
                    ("1001", rect(0.0, 0.0, 100.0, 100.0)),
                    ("0601", rect(100.0, 0.0, 200.0, 100.0)),
                    ("1311", rect(200.0, 0.0, 300.0, 100.0)),
                ],
            )
            .plan(
                "old",
                ClassSystem::Gbt21010,
                "urban",
                vec![
                    ("1001", rect(0.0, 0.0, 100.0, 100.0)),
                    ("0601", rect(100.0, 0.0, 200.0, 100.0)),
                ],
            )
            .plan(
                "trial",
                ClassSystem::Ydyh2020,
                "territorial",
                vec![("1311", rect(200.0, 0.0, 300.0, 100.0))],
            )
            .build();
        let r = run(&cat, &ConflictOptions::default());
        let k = &r.comparisons[0];
        assert!(near(k.classes.both_construction, 10_000.0));
        assert!(near(k.classes.b_only_construction, 10_000.0));
        assert!(near(k.uncovered_m2.unwrap(), 10_000.0));
        let m = rows(&r, ConflictType::CategoryMismatch);
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].category, m[0].other_category),
            (Category::Industrial, Some(Category::Transport))
        );
        let r = run(
            &cat,
            &ConflictOptions {
                park: None,
                compare: Some(("new".into(), "trial".into())),
            },
        );
        let k = &r.comparisons[0];
        assert!(near(k.classes.a_only_construction, 10_000.0), "{k:?}");
        let c = rows(&r, ConflictType::AOnlyConstruction)[0];
        assert_eq!(c.other_system, Some("YDYH-2020"));
        assert_eq!(c.other_name.as_deref(), Some("沟渠"));
    }

    #[test]
    fn compound_codes_zones_and_village_codes_are_judged_by_their_primary_use() {
        let rules = Rules::builtin().conflicts;
        let cat = Builder::new()
            .plan(
                "p",
                ClassSystem::Ydyh2023,
                "urban",
                vec![
                    ("0701/09", rect(0.0, 0.0, 1.0, 1.0)),
                    ("100101(080403)", rect(0.0, 0.0, 1.0, 1.0)),
                    ("1207v", rect(0.0, 0.0, 1.0, 1.0)),
                    ("0703", rect(0.0, 0.0, 1.0, 1.0)),
                    ("城镇建设用地区", rect(0.0, 0.0, 1.0, 1.0)),
                    ("有条件建设区", rect(0.0, 0.0, 1.0, 1.0)),
                    ("07010201", rect(0.0, 0.0, 1.0, 1.0)),
                    ("0601", rect(0.0, 0.0, 1.0, 1.0)),
                ],
            )
            .build();
        let layer = &cat.layers[0];
        let j: Vec<Judged> = (0..8).map(|i| judge(layer, i, &rules)).collect();
        assert_eq!(j[0].category, Category::Residential);
        assert_eq!(j[0].parse.as_ref().unwrap().compatible, vec!["09"]);
        assert!(j[0].allows(Category::Commercial, Some(ClassSystem::Ydyh2023)));
        assert!(!j[0].allows(Category::Industrial, Some(ClassSystem::Ydyh2023)));
        assert_eq!(j[1].category, Category::Industrial);
        assert_eq!(j[1].pollution_class, Some(1));
        assert_eq!(j[1].construction, Some(Construction::Urban));
        assert_eq!(j[2].construction, Some(Construction::Rural));
        assert_eq!(j[2].category, Category::Transport);
        assert_eq!(j[3].construction, Some(Construction::Rural));
        assert_eq!(
            (j[4].basis, j[4].construction),
            (Basis::Zone, Some(Construction::Urban))
        );
        assert_eq!(
            (j[5].basis, j[5].construction),
            (Basis::Zone, Some(Construction::No))
        );
        // A local 8-digit extension takes its category from its longest known prefix.
        assert_eq!(
            (j[6].category, j[6].construction),
            (Category::Residential, Some(Construction::Urban))
        );
        assert_eq!(j[7].construction, Some(Construction::No));
    }
}
