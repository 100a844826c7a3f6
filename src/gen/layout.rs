//! The geometry of generated parks: blocks between roads, parcels inside blocks, the
//! L-shaped boundary, and the places where the data is deliberately imperfect.
//!
//! Coordinates are CGCS2000 3° Gauss-Krüger zone 35 (EPSG:4523) metres.

use geo::{BooleanOps, Coord, LineString, MultiPolygon, Polygon, Rect};
use rand::{Rng, RngExt};

/// Road width between blocks, metres.
pub const ROAD: f64 = 24.0;

/// 园区类型 — industry-led or industry-city integration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParkType {
    /// 工业主导型.
    IndustryLed,
    /// 产城融合型.
    Integrated,
}

impl ParkType {
    /// The Chinese name written to the data.
    pub fn label(self) -> &'static str {
        match self {
            ParkType::IndustryLed => "工业主导型",
            ParkType::Integrated => "产城融合型",
        }
    }
}

/// The planned function of a block (控规 use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockUse {
    /// 一类工业.
    M1,
    /// 二类工业.
    M2,
    /// 三类工业.
    M3,
    /// 物流仓储.
    W1,
    /// 二类居住.
    R2,
    /// 中小学.
    A33,
    /// 行政办公.
    A1,
    /// 医院.
    A51,
    /// 商业.
    B1,
    /// 公园绿地.
    G1,
    /// 防护绿地.
    G2,
    /// 供应设施.
    U1,
}

impl BlockUse {
    /// Whether parcels here are firms judged by industrial indicators.
    pub fn is_industrial(self) -> bool {
        matches!(
            self,
            BlockUse::M1 | BlockUse::M2 | BlockUse::M3 | BlockUse::W1
        )
    }

    /// GB 50137-2011 code and name (控规).
    pub fn urban_code(self) -> (&'static str, &'static str) {
        match self {
            BlockUse::M1 => ("M1", "一类工业用地"),
            BlockUse::M2 => ("M2", "二类工业用地"),
            BlockUse::M3 => ("M3", "三类工业用地"),
            BlockUse::W1 => ("W1", "一类物流仓储用地"),
            BlockUse::R2 => ("R2", "二类居住用地"),
            BlockUse::A33 => ("A33", "中小学用地"),
            BlockUse::A1 => ("A1", "行政办公用地"),
            BlockUse::A51 => ("A51", "医院用地"),
            BlockUse::B1 => ("B1", "商业用地"),
            BlockUse::G1 => ("G1", "公园绿地"),
            BlockUse::G2 => ("G2", "防护绿地"),
            BlockUse::U1 => ("U12", "供电用地"),
        }
    }

    /// GB/T 21010-2017 code and name (土规).
    pub fn land_code(self) -> (&'static str, &'static str) {
        match self {
            BlockUse::M1 | BlockUse::M2 | BlockUse::M3 => ("0601", "工业用地"),
            BlockUse::W1 => ("0604", "仓储用地"),
            BlockUse::R2 => ("0701", "城镇住宅用地"),
            BlockUse::A33 => ("0803", "教育用地"),
            BlockUse::A1 => ("0801", "机关团体用地"),
            BlockUse::A51 => ("0805", "医疗卫生用地"),
            BlockUse::B1 => ("0505", "商务金融用地"),
            BlockUse::G1 | BlockUse::G2 => ("0810", "公园与绿地"),
            BlockUse::U1 => ("0809", "公用设施用地"),
        }
    }

    /// YDYH-2023 code and name (the parcel's current use, 用地性质).
    pub fn territorial_code(self) -> (&'static str, &'static str) {
        match self {
            BlockUse::M1 => ("100101", "一类工业用地"),
            BlockUse::M2 => ("100102", "二类工业用地"),
            BlockUse::M3 => ("100103", "三类工业用地"),
            BlockUse::W1 => ("110101", "一类物流仓储用地"),
            BlockUse::R2 => ("070102", "二类城镇住宅用地"),
            BlockUse::A33 => ("080403", "中小学用地"),
            BlockUse::A1 => ("0801", "机关团体用地"),
            BlockUse::A51 => ("080601", "医院用地"),
            BlockUse::B1 => ("0901", "商业用地"),
            BlockUse::G1 => ("1401", "公园绿地"),
            BlockUse::G2 => ("1402", "防护绿地"),
            BlockUse::U1 => ("1303", "供电用地"),
        }
    }
}

/// A deliberate imperfection of one parcel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quirk {
    /// Drawn as a self-intersecting bow-tie.
    BowTie,
    /// Reaches 40 m beyond the park boundary.
    Straddles,
    /// Drawn 20 m over its neighbour.
    Overlaps,
}

/// A parcel's outline and quirk.
#[derive(Clone, Debug)]
pub struct ParcelShape {
    /// The outline (possibly invalid, by design).
    pub polygon: Polygon,
    /// What is wrong with it, if anything.
    pub quirk: Option<Quirk>,
}

/// A block between roads.
#[derive(Clone, Debug)]
pub struct Block {
    /// Its extent.
    pub rect: Rect,
    /// Planned function.
    pub use_: BlockUse,
    /// Its parcels (none for blocks not yet supplied).
    pub parcels: Vec<ParcelShape>,
}

/// One generated park.
#[derive(Clone, Debug)]
pub struct ParkLayout {
    /// The L-shaped boundary (园区四至).
    pub boundary: Polygon,
    /// Blocks.
    pub blocks: Vec<Block>,
    /// The road network: boundary minus blocks.
    pub roads: MultiPolygon,
}

fn rect_poly(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon {
    Rect::new((x0, y0), (x1, y1)).to_polygon()
}

fn pick_use(rng: &mut impl Rng, kind: ParkType) -> BlockUse {
    use BlockUse::*;
    let table: &[(BlockUse, u32)] = match kind {
        ParkType::IndustryLed => &[
            (M1, 34),
            (M2, 24),
            (M3, 6),
            (W1, 8),
            (R2, 4),
            (A33, 2),
            (A1, 2),
            (A51, 1),
            (B1, 5),
            (G1, 6),
            (G2, 4),
            (U1, 4),
        ],
        ParkType::Integrated => &[
            (M1, 24),
            (M2, 5),
            (W1, 4),
            (R2, 30),
            (A33, 5),
            (A1, 3),
            (A51, 2),
            (B1, 12),
            (G1, 9),
            (G2, 2),
            (U1, 4),
        ],
    };
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (u, w) in table {
        if r < *w {
            return *u;
        }
        r -= w;
    }
    M1
}

fn split(rng: &mut impl Rng, lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let mut cuts = vec![lo];
    for i in 1..n {
        let base = lo + (hi - lo) * i as f64 / n as f64;
        let jitter = (hi - lo) / n as f64 * 0.15;
        cuts.push(base + rng.random_range(-jitter..jitter));
    }
    cuts.push(hi);
    cuts
}

/// Lay out a park with its lower-left corner at `origin` and exactly `parcels` parcels,
/// quirks placed when `quirks` is set. Blocks beyond the last parcel stay unsupplied.
pub fn lay_out(
    rng: &mut impl Rng,
    origin: Coord,
    kind: ParkType,
    parcels: usize,
    quirks: bool,
) -> ParkLayout {
    // About 4 parcels per block, with spare blocks; a grid that falls short is grown.
    let mut spare = 1.2;
    loop {
        if let Some(park) = try_lay_out(rng, origin, kind, parcels, quirks, spare) {
            return park;
        }
        spare += 0.2;
    }
}

fn try_lay_out(
    rng: &mut impl Rng,
    origin: Coord,
    kind: ParkType,
    parcels: usize,
    quirks: bool,
    spare: f64,
) -> Option<ParkLayout> {
    let blocks_needed = (parcels as f64 / 4.0 * spare).ceil().max(4.0) as usize;
    let nx = ((blocks_needed as f64 * 1.1).sqrt().ceil() as usize).max(2);
    let ny = (blocks_needed as f64 / nx as f64 / 0.9).ceil().max(2.0) as usize;
    let widths: Vec<f64> = (0..nx).map(|_| rng.random_range(260.0..340.0)).collect();
    let heights: Vec<f64> = (0..ny).map(|_| rng.random_range(260.0..340.0)).collect();
    let xs: Vec<f64> = widths
        .iter()
        .scan(origin.x + ROAD / 2.0, |x, w| {
            let start = *x;
            *x += w + ROAD;
            Some(start)
        })
        .collect();
    let ys: Vec<f64> = heights
        .iter()
        .scan(origin.y + ROAD / 2.0, |y, h| {
            let start = *y;
            *y += h + ROAD;
            Some(start)
        })
        .collect();
    let width: f64 = widths.iter().sum::<f64>() + ROAD * nx as f64;
    let height: f64 = heights.iter().sum::<f64>() + ROAD * ny as f64;
    // The top-right quarter is cut away: parks are rarely rectangles.
    let (cx, cy) = (nx - nx / 4, ny - ny / 4);
    let notch_x = xs[cx] - ROAD / 2.0;
    let notch_y = ys[cy] - ROAD / 2.0;
    let (x1, y1) = (origin.x + width, origin.y + height);
    let boundary = Polygon::new(
        LineString::from(vec![
            (origin.x, origin.y),
            (x1, origin.y),
            (x1, notch_y),
            (notch_x, notch_y),
            (notch_x, y1),
            (origin.x, y1),
            (origin.x, origin.y),
        ]),
        vec![],
    );

    // Blocks first, then parcels in a random order of blocks: the blocks left unsupplied
    // lie scattered through the park, as they do in a real one.
    let mut blocks = vec![];
    let mut divisions = vec![];
    for j in 0..ny {
        for i in 0..nx {
            if i >= cx && j >= cy {
                continue;
            }
            let rect = Rect::new((xs[i], ys[j]), (xs[i] + widths[i], ys[j] + heights[j]));
            let use_ = pick_use(rng, kind);
            divisions.push(match use_ {
                BlockUse::G1 | BlockUse::G2 | BlockUse::U1 | BlockUse::A33 | BlockUse::A51 => {
                    (1, 1)
                }
                BlockUse::R2 | BlockUse::B1 | BlockUse::A1 => (rng.random_range(1..=2), 2),
                _ => (rng.random_range(2..=4), 2),
            });
            blocks.push(Block {
                rect,
                use_,
                parcels: vec![],
            });
        }
    }
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    for k in (1..order.len()).rev() {
        order.swap(k, rng.random_range(0..=k));
    }
    let mut remaining = parcels;
    for b in order {
        if remaining == 0 {
            break;
        }
        let (cols, rows) = divisions[b];
        let rect = blocks[b].rect;
        let cuts_x = split(rng, rect.min().x, rect.max().x, cols);
        let cuts_y = split(rng, rect.min().y, rect.max().y, rows);
        'fill: for r in 0..rows {
            for c in 0..cols {
                if remaining == 0 {
                    break 'fill;
                }
                remaining -= 1;
                blocks[b].parcels.push(ParcelShape {
                    polygon: rect_poly(cuts_x[c], cuts_y[r], cuts_x[c + 1], cuts_y[r + 1]),
                    quirk: None,
                });
            }
        }
    }
    if remaining > 0 {
        return None;
    }
    if quirks {
        place_quirks(&mut blocks, &boundary);
    }
    let block_polys = MultiPolygon(blocks.iter().map(|b| b.rect.to_polygon()).collect());
    let roads = boundary.difference(&block_polys);
    Some(ParkLayout {
        boundary,
        blocks,
        roads,
    })
}

fn place_quirks(blocks: &mut [Block], boundary: &Polygon) {
    let min_x = boundary
        .exterior()
        .0
        .iter()
        .map(|c| c.x)
        .fold(f64::MAX, f64::min);
    // Bow-ties: two industrial parcels drawn with crossed vertices.
    let mut bow_ties = 0;
    for b in blocks.iter_mut().filter(|b| b.use_.is_industrial()).skip(3) {
        if let Some(p) = b.parcels.last_mut() {
            let c = &p.polygon.exterior().0;
            p.polygon = Polygon::new(LineString::from(vec![c[0], c[2], c[1], c[3], c[0]]), vec![]);
            p.quirk = Some(Quirk::BowTie);
            bow_ties += 1;
        }
        if bow_ties == 2 {
            break;
        }
    }
    // One parcel on the west edge reaches 40 m beyond the boundary.
    if let Some(b) = blocks
        .iter_mut()
        .filter(|b| {
            (b.rect.min().x - min_x - ROAD / 2.0).abs() < 1.0
                && b.use_.is_industrial()
                && !b.parcels.is_empty()
        })
        .nth(1)
    {
        if let Some(p) = b.parcels.first_mut() {
            let r = geo::BoundingRect::bounding_rect(&p.polygon).expect("non-empty");
            p.polygon = rect_poly(
                r.min().x - ROAD / 2.0 - 40.0,
                r.min().y,
                r.max().x,
                r.max().y,
            );
            p.quirk = Some(Quirk::Straddles);
        }
    }
    // One parcel drawn 20 m into its neighbour.
    if let Some(b) = blocks
        .iter_mut()
        .filter(|b| b.parcels.len() >= 2 && b.use_.is_industrial())
        .nth(5)
    {
        let p = &mut b.parcels[0];
        let r = geo::BoundingRect::bounding_rect(&p.polygon).expect("non-empty");
        p.polygon = rect_poly(r.min().x, r.min().y, r.max().x + 20.0, r.max().y);
        p.quirk = Some(Quirk::Overlaps);
    }
}

/// Building footprints inside a parcel: `shares` of `footprint` m² each, side by side along
/// the parcel's longer axis, 8 m from its edges.
pub fn buildings_in(parcel: &Polygon, footprint: f64, shares: &[f64]) -> Vec<Polygon> {
    let Some(r) = geo::BoundingRect::bounding_rect(parcel) else {
        return vec![];
    };
    let (x0, y0, x1, y1) = (
        r.min().x + 8.0,
        r.min().y + 8.0,
        r.max().x - 8.0,
        r.max().y - 8.0,
    );
    if x1 <= x0 || y1 <= y0 || shares.is_empty() {
        return vec![];
    }
    let n = shares.len() as f64;
    let gap = 6.0;
    let along_x = x1 - x0 >= y1 - y0;
    let (long, short) = if along_x {
        (x1 - x0, y1 - y0)
    } else {
        (y1 - y0, x1 - x0)
    };
    let slot = (long - gap * (n - 1.0)) / n;
    let mut out = vec![];
    let mut pos = 0.0;
    for share in shares {
        let depth = (footprint * share / slot).min(short);
        let (a, b) = (pos, pos + slot);
        out.push(if along_x {
            rect_poly(x0 + a, y0, x0 + b, y0 + depth)
        } else {
            rect_poly(x0, y0 + a, x0 + depth, y0 + b)
        });
        pos = b + gap;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Validation};
    use rand::SeedableRng;

    #[test]
    fn parks_have_the_parcels_asked_for_and_roads_fill_the_rest() {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
        let park = lay_out(
            &mut rng,
            Coord {
                x: 35_450_000.0,
                y: 3_325_000.0,
            },
            ParkType::IndustryLed,
            900,
            true,
        );
        let n: usize = park.blocks.iter().map(|b| b.parcels.len()).sum();
        assert_eq!(n, 900);
        let blocks: f64 = park
            .blocks
            .iter()
            .map(|b| b.rect.to_polygon().unsigned_area())
            .sum();
        let total = park.boundary.unsigned_area();
        assert!((park.roads.unsigned_area() + blocks - total).abs() < 1e-3 * total);
        let quirks: Vec<Quirk> = park
            .blocks
            .iter()
            .flat_map(|b| b.parcels.iter().filter_map(|p| p.quirk))
            .collect();
        assert_eq!(quirks.iter().filter(|q| **q == Quirk::BowTie).count(), 2);
        assert!(quirks.contains(&Quirk::Straddles) && quirks.contains(&Quirk::Overlaps));
        for b in &park.blocks {
            for p in &b.parcels {
                assert_eq!(p.polygon.is_valid(), p.quirk != Some(Quirk::BowTie));
            }
        }
    }
}
