//! Mapbox Vector Tiles 2.1 (矢量瓦片): Web Mercator tile geometry and the protobuf encoding,
//! written here so no second GDAL or protobuf stack is pulled in.
//!
//! Geometry arrives in lon/lat, is projected to spherical Web Mercator (the tiling scheme of
//! every web map, used for display only — never for areas), scaled to the tile's 4096-unit
//! grid, clipped to the tile plus a buffer, simplified and encoded.

use geo::{Coord, Geometry, LineString, Polygon};
use std::collections::HashMap;

/// Tile grid units per tile side.
pub const EXTENT: u32 = 4096;
/// Grid units drawn beyond each tile edge, so strokes join across tiles.
pub const BUFFER: i32 = 64;
const EARTH_RADIUS: f64 = 6_378_137.0;
const ORIGIN: f64 = std::f64::consts::PI * EARTH_RADIUS;

/// A tile address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Zoom.
    pub z: u8,
    /// Column.
    pub x: u32,
    /// Row (from the top).
    pub y: u32,
}

impl TileId {
    /// A tile, if the address exists.
    pub fn new(z: u8, x: u32, y: u32) -> Option<TileId> {
        let n = 1u64 << z.min(30);
        (z <= 24 && u64::from(x) < n && u64::from(y) < n).then_some(TileId { z, x, y })
    }

    fn size(self) -> f64 {
        2.0 * ORIGIN / f64::from(1u32 << self.z)
    }

    /// The tile's Web Mercator bounds: (min x, min y, max x, max y).
    pub fn mercator_bounds(self) -> (f64, f64, f64, f64) {
        let s = self.size();
        let minx = -ORIGIN + f64::from(self.x) * s;
        let maxy = ORIGIN - f64::from(self.y) * s;
        (minx, maxy - s, minx + s, maxy)
    }

    /// The tile's lon/lat bounds, widened by the buffer.
    pub fn lonlat_bounds(self) -> geo::Rect {
        let (x0, y0, x1, y1) = self.mercator_bounds();
        let pad = self.size() * f64::from(BUFFER) / f64::from(EXTENT);
        let (lon0, lat0) = unproject(x0 - pad, y0 - pad);
        let (lon1, lat1) = unproject(x1 + pad, y1 + pad);
        geo::Rect::new((lon0, lat0), (lon1, lat1))
    }

    /// Tile grid units per metre of Web Mercator.
    fn scale(self) -> f64 {
        f64::from(EXTENT) / self.size()
    }
}

/// Spherical Web Mercator of a lon/lat point.
pub fn project(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78);
    let x = lon.to_radians() * EARTH_RADIUS;
    let y = (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
        .tan()
        .ln()
        * EARTH_RADIUS;
    (x, y)
}

fn unproject(x: f64, y: f64) -> (f64, f64) {
    let lon = (x / EARTH_RADIUS).to_degrees();
    let lat = (2.0 * (y / EARTH_RADIUS).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
    (lon.clamp(-180.0, 180.0), lat)
}

type Ring = Vec<(i32, i32)>;

/// Geometry in tile grid units.
#[derive(Clone, Debug, PartialEq)]
pub enum TileGeometry {
    /// Points.
    Points(Vec<(i32, i32)>),
    /// Lines.
    Lines(Vec<Ring>),
    /// Polygons: each a list of rings, exterior first.
    Polygons(Vec<Vec<Ring>>),
}

fn to_grid(tile: TileId, c: &Coord) -> (f64, f64) {
    let (x0, _, _, y1) = tile.mercator_bounds();
    let (mx, my) = project(c.x, c.y);
    let s = tile.scale();
    ((mx - x0) * s, (y1 - my) * s)
}

/// Sutherland–Hodgman clipping of a closed ring to [lo, hi]².
fn clip_ring(ring: &[(f64, f64)], lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let mut pts = ring.to_vec();
    type Edge = (
        fn((f64, f64), f64) -> bool,
        fn((f64, f64), (f64, f64), f64) -> (f64, f64),
        f64,
    );
    let lerp_x =
        |a: (f64, f64), b: (f64, f64), x: f64| (x, a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0));
    let lerp_y =
        |a: (f64, f64), b: (f64, f64), y: f64| (a.0 + (b.0 - a.0) * (y - a.1) / (b.1 - a.1), y);
    let edges: [Edge; 4] = [
        (|p, v| p.0 >= v, lerp_x, lo),
        (|p, v| p.0 <= v, lerp_x, hi),
        (|p, v| p.1 >= v, lerp_y, lo),
        (|p, v| p.1 <= v, lerp_y, hi),
    ];
    for (inside, cut, v) in edges {
        if pts.is_empty() {
            break;
        }
        let mut out = Vec::with_capacity(pts.len() + 4);
        for i in 0..pts.len() {
            let cur = pts[i];
            let prev = pts[(i + pts.len() - 1) % pts.len()];
            match (inside(prev, v), inside(cur, v)) {
                (true, true) => out.push(cur),
                (true, false) => out.push(cut(prev, cur, v)),
                (false, true) => {
                    out.push(cut(prev, cur, v));
                    out.push(cur);
                }
                (false, false) => {}
            }
        }
        pts = out;
    }
    pts
}

/// Ramer–Douglas–Peucker on grid points (closed rings keep their first point).
fn simplify(points: &[(i32, i32)], tolerance: f64) -> Vec<(i32, i32)> {
    if points.len() <= 3 {
        return points.to_vec();
    }
    let mut keep = vec![false; points.len()];
    keep[0] = true;
    keep[points.len() - 1] = true;
    let mut stack = vec![(0usize, points.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        let (ax, ay) = (f64::from(points[a].0), f64::from(points[a].1));
        let (bx, by) = (f64::from(points[b].0), f64::from(points[b].1));
        let (dx, dy) = (bx - ax, by - ay);
        let len = (dx * dx + dy * dy).sqrt();
        let mut worst = (0.0, 0);
        for (i, p) in points.iter().enumerate().take(b).skip(a + 1) {
            let (px, py) = (f64::from(p.0), f64::from(p.1));
            let d = if len == 0.0 {
                ((px - ax).powi(2) + (py - ay).powi(2)).sqrt()
            } else {
                ((px - ax) * dy - (py - ay) * dx).abs() / len
            };
            if d > worst.0 {
                worst = (d, i);
            }
        }
        if worst.0 > tolerance {
            keep[worst.1] = true;
            stack.push((a, worst.1));
            stack.push((worst.1, b));
        }
    }
    points
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(p, _)| *p)
        .collect()
}

fn quantize(points: &[(f64, f64)]) -> Ring {
    let mut out: Ring = Vec::with_capacity(points.len());
    for p in points {
        let q = (p.0.round() as i32, p.1.round() as i32);
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    out
}

/// Twice the signed area in grid units (y down): positive for a clockwise-looking ring.
fn signed_area2(ring: &[(i32, i32)]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum()
}

fn tile_ring(tile: TileId, ls: &LineString, exterior: bool) -> Option<Ring> {
    let mut pts: Vec<(f64, f64)> = ls.0.iter().map(|c| to_grid(tile, c)).collect();
    if pts.first() == pts.last() {
        pts.pop();
    }
    let lo = -f64::from(BUFFER);
    let hi = f64::from(EXTENT as i32 + BUFFER);
    let clipped = clip_ring(&pts, lo, hi);
    let mut ring = quantize(&clipped);
    while ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    let mut closed = ring.clone();
    if let Some(f) = ring.first() {
        closed.push(*f);
    }
    let mut simple = simplify(&closed, 1.0);
    simple.pop();
    if simple.len() < 3 {
        return None;
    }
    let area = signed_area2(&simple);
    if area == 0 {
        return None;
    }
    // Exterior rings have positive area in tile space, interior rings negative.
    if (area > 0) != exterior {
        simple.reverse();
    }
    Some(simple)
}

fn tile_polygon(tile: TileId, p: &Polygon) -> Option<Vec<Ring>> {
    let mut rings = vec![tile_ring(tile, p.exterior(), true)?];
    rings.extend(
        p.interiors()
            .iter()
            .filter_map(|r| tile_ring(tile, r, false)),
    );
    Some(rings)
}

/// A lon/lat geometry on a tile's grid; `None` when nothing of it is left to draw.
pub fn tile_geometry(tile: TileId, g: &Geometry) -> Option<TileGeometry> {
    let inside = |p: (i32, i32)| {
        let lim = EXTENT as i32 + BUFFER;
        (-BUFFER..=lim).contains(&p.0) && (-BUFFER..=lim).contains(&p.1)
    };
    let point = |c: &Coord| {
        let (x, y) = to_grid(tile, c);
        (x.round() as i32, y.round() as i32)
    };
    let line = |ls: &LineString| {
        let pts: Vec<(f64, f64)> = ls.0.iter().map(|c| to_grid(tile, c)).collect();
        let q = simplify(&quantize(&pts), 1.0);
        (q.len() >= 2 && q.iter().any(|p| inside(*p))).then_some(q)
    };
    let out = match g {
        Geometry::Polygon(p) => TileGeometry::Polygons(tile_polygon(tile, p).into_iter().collect()),
        Geometry::MultiPolygon(mp) => {
            TileGeometry::Polygons(mp.0.iter().filter_map(|p| tile_polygon(tile, p)).collect())
        }
        Geometry::Rect(r) => {
            TileGeometry::Polygons(tile_polygon(tile, &r.to_polygon()).into_iter().collect())
        }
        Geometry::Point(p) => TileGeometry::Points(
            vec![point(&p.0)]
                .into_iter()
                .filter(|p| inside(*p))
                .collect(),
        ),
        Geometry::MultiPoint(mp) => TileGeometry::Points(
            mp.0.iter()
                .map(|p| point(&p.0))
                .filter(|p| inside(*p))
                .collect(),
        ),
        Geometry::LineString(l) => TileGeometry::Lines(line(l).into_iter().collect()),
        Geometry::MultiLineString(ml) => {
            TileGeometry::Lines(ml.0.iter().filter_map(line).collect())
        }
        Geometry::GeometryCollection(gc) => {
            // The polygons of a collection are what the maps draw.
            let polys: Vec<Vec<Ring>> =
                gc.0.iter()
                    .filter_map(|g| match tile_geometry(tile, g)? {
                        TileGeometry::Polygons(p) => Some(p),
                        _ => None,
                    })
                    .flatten()
                    .collect();
            TileGeometry::Polygons(polys)
        }
        _ => return None,
    };
    let empty = match &out {
        TileGeometry::Points(p) => p.is_empty(),
        TileGeometry::Lines(l) => l.is_empty(),
        TileGeometry::Polygons(p) => p.is_empty(),
    };
    (!empty).then_some(out)
}

/// An attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum MvtValue {
    /// Text.
    Text(String),
    /// A number.
    Double(f64),
    /// A whole number.
    Int(i64),
    /// True or false.
    Bool(bool),
}

/// A value other than text, as a hashable key (texts are looked up by `&str`, uncopied).
#[derive(PartialEq, Eq, Hash)]
enum ScalarKey {
    Double(u64),
    Int(i64),
    Bool(bool),
}

impl ScalarKey {
    fn of(v: &MvtValue) -> Option<ScalarKey> {
        match v {
            MvtValue::Text(_) => None,
            MvtValue::Double(d) => Some(ScalarKey::Double(d.to_bits())),
            MvtValue::Int(i) => Some(ScalarKey::Int(*i)),
            MvtValue::Bool(b) => Some(ScalarKey::Bool(*b)),
        }
    }
}

/// Tile keys and values are short and hashed once per attribute of every feature: a fast
/// hash (no protection against chosen collisions is needed for a tile's own attributes).
type Index<K> = HashMap<K, u32, foldhash::fast::RandomState>;

/// Buffers one feature is built in, kept across features.
#[derive(Default)]
struct Scratch {
    tags: Vec<u32>,
    commands: Vec<u32>,
    packed: Vec<u8>,
    feature: Vec<u8>,
}

/// One layer of a tile being built.
pub struct TileLayer {
    name: String,
    keys: Vec<String>,
    key_index: Index<String>,
    values: Vec<MvtValue>,
    text_index: Index<String>,
    scalar_index: Index<ScalarKey>,
    features: Vec<u8>,
    count: usize,
    scratch: Scratch,
}

pub(crate) fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn key(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from((field << 3) | wire));
}

pub(crate) fn bytes_field(out: &mut Vec<u8>, field: u32, data: &[u8]) {
    key(out, field, 2);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

pub(crate) fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

fn command(id: u32, count: usize) -> u32 {
    (id & 0x7) | ((count as u32) << 3)
}

/// The geometry type and the command stream of a tile geometry, written into `cmds`.
fn encode_geometry(g: &TileGeometry, cmds: &mut Vec<u32>) -> u32 {
    cmds.clear();
    let mut cursor = (0i32, 0i32);
    let mut move_line = |cmds: &mut Vec<u32>, pts: &[(i32, i32)], close: bool| {
        cmds.push(command(1, 1));
        cmds.push(zigzag(pts[0].0 - cursor.0));
        cmds.push(zigzag(pts[0].1 - cursor.1));
        cursor = pts[0];
        if pts.len() > 1 {
            cmds.push(command(2, pts.len() - 1));
            for p in &pts[1..] {
                cmds.push(zigzag(p.0 - cursor.0));
                cmds.push(zigzag(p.1 - cursor.1));
                cursor = *p;
            }
        }
        if close {
            cmds.push(command(7, 1));
        }
    };
    match g {
        TileGeometry::Points(pts) => {
            cmds.push(command(1, pts.len()));
            for p in pts {
                cmds.push(zigzag(p.0 - cursor.0));
                cmds.push(zigzag(p.1 - cursor.1));
                cursor = *p;
            }
            1
        }
        TileGeometry::Lines(lines) => {
            for l in lines {
                move_line(cmds, l, false);
            }
            2
        }
        TileGeometry::Polygons(polys) => {
            for p in polys {
                for ring in p {
                    move_line(cmds, ring, true);
                }
            }
            3
        }
    }
}

impl TileLayer {
    /// An empty layer.
    pub fn new(name: &str) -> TileLayer {
        TileLayer {
            name: name.to_string(),
            keys: vec![],
            key_index: Index::default(),
            values: vec![],
            text_index: Index::default(),
            scalar_index: Index::default(),
            features: vec![],
            count: 0,
            scratch: Scratch::default(),
        }
    }

    /// How many features the layer holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn tag(&mut self, k: &str, v: &MvtValue) -> (u32, u32) {
        let ki = match self.key_index.get(k) {
            Some(i) => *i,
            None => {
                let i = self.keys.len() as u32;
                self.keys.push(k.to_string());
                self.key_index.insert(k.to_string(), i);
                i
            }
        };
        let next = self.values.len() as u32;
        let found = match (v, ScalarKey::of(v)) {
            (MvtValue::Text(s), _) => match self.text_index.get(s.as_str()) {
                Some(i) => Some(*i),
                None => {
                    self.text_index.insert(s.clone(), next);
                    None
                }
            },
            (_, Some(k)) => match self.scalar_index.get(&k) {
                Some(i) => Some(*i),
                None => {
                    self.scalar_index.insert(k, next);
                    None
                }
            },
            (_, None) => None,
        };
        let vi = found.unwrap_or_else(|| {
            self.values.push(v.clone());
            next
        });
        (ki, vi)
    }

    /// Add a feature with its id, tile geometry and attributes.
    pub fn add(&mut self, id: u64, geometry: &TileGeometry, attributes: &[(&str, MvtValue)]) {
        let mut s = std::mem::take(&mut self.scratch);
        s.tags.clear();
        for (k, v) in attributes {
            let (ki, vi) = self.tag(k, v);
            s.tags.push(ki);
            s.tags.push(vi);
        }
        let kind = encode_geometry(geometry, &mut s.commands);
        let f = &mut s.feature;
        f.clear();
        key(f, 1, 0);
        varint(f, id);
        s.packed.clear();
        for t in &s.tags {
            varint(&mut s.packed, u64::from(*t));
        }
        bytes_field(f, 2, &s.packed);
        key(f, 3, 0);
        varint(f, u64::from(kind));
        s.packed.clear();
        for c in &s.commands {
            varint(&mut s.packed, u64::from(*c));
        }
        bytes_field(f, 4, &s.packed);
        bytes_field(&mut self.features, 2, f);
        self.count += 1;
        self.scratch = s;
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut l = vec![];
        key(&mut l, 15, 0);
        varint(&mut l, 2);
        bytes_field(&mut l, 1, self.name.as_bytes());
        l.extend_from_slice(&self.features);
        for k in &self.keys {
            bytes_field(&mut l, 3, k.as_bytes());
        }
        for v in &self.values {
            let mut vb = vec![];
            match v {
                MvtValue::Text(s) => bytes_field(&mut vb, 1, s.as_bytes()),
                MvtValue::Double(d) => {
                    key(&mut vb, 3, 1);
                    vb.extend_from_slice(&d.to_le_bytes());
                }
                MvtValue::Int(i) => {
                    key(&mut vb, 6, 0);
                    varint(&mut vb, ((*i << 1) ^ (*i >> 63)) as u64);
                }
                MvtValue::Bool(b) => {
                    key(&mut vb, 7, 0);
                    varint(&mut vb, u64::from(*b));
                }
            }
            bytes_field(&mut l, 4, &vb);
        }
        key(&mut l, 5, 0);
        varint(&mut l, u64::from(EXTENT));
        bytes_field(out, 3, &l);
    }
}

/// Encode a tile from its layers (empty layers are left out).
pub fn encode_tile(layers: &[TileLayer]) -> Vec<u8> {
    let mut out = vec![];
    for l in layers.iter().filter(|l| !l.is_empty()) {
        l.encode(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn tile_bounds_and_projection() {
        let t = TileId::new(0, 0, 0).unwrap();
        let (x0, y0, x1, y1) = t.mercator_bounds();
        assert!(
            (x0 + ORIGIN).abs() < 1e-6
                && (y1 - ORIGIN).abs() < 1e-6
                && (x1 - ORIGIN).abs() < 1e-6
                && (y0 + ORIGIN).abs() < 1e-6
        );
        assert!(TileId::new(2, 4, 0).is_none());
        let (x, y) = project(0.0, 0.0);
        assert!(x.abs() < 1e-9 && y.abs() < 1e-9);
        let (lon, lat) = unproject(project(104.6, 30.1).0, project(104.6, 30.1).1);
        assert!((lon - 104.6).abs() < 1e-9 && (lat - 30.1).abs() < 1e-9);
    }

    #[test]
    fn a_polygon_across_the_edge_is_clipped_to_the_buffer_and_wound_clockwise() {
        // The whole world at z0: a square covering the eastern hemisphere's tropics.
        let t = TileId::new(0, 0, 0).unwrap();
        let g: Geometry = polygon![(x: 0., y: -10.), (x: 179.9, y: -10.), (x: 179.9, y: 10.), (x: 0., y: 10.), (x: 0., y: -10.)].into();
        let TileGeometry::Polygons(p) = tile_geometry(t, &g).unwrap() else {
            panic!()
        };
        let ring = &p[0][0];
        assert!(
            signed_area2(ring) > 0,
            "exterior rings are clockwise in tile space"
        );
        assert!(
            ring.iter().all(|(x, _)| (2048..=4096).contains(x)),
            "{ring:?}"
        );
        // A polygon far outside the tile leaves nothing.
        let z10 = TileId::new(10, 0, 0).unwrap();
        assert!(tile_geometry(z10, &g).is_none());
    }

    #[test]
    fn clipping_a_square_to_a_box() {
        let sq = vec![(-10.0, -10.0), (10.0, -10.0), (10.0, 10.0), (-10.0, 10.0)];
        let c = clip_ring(&sq, 0.0, 100.0);
        let mut c: Vec<(i32, i32)> = c.iter().map(|p| (p.0 as i32, p.1 as i32)).collect();
        c.sort();
        c.dedup();
        assert_eq!(c, vec![(0, 0), (0, 10), (10, 0), (10, 10)]);
    }

    #[test]
    fn encoding_follows_the_spec_example() {
        // MVT spec 4.3.5: a point at (25, 17) is [9, 50, 34].
        let mut cmds = vec![];
        let kind = encode_geometry(&TileGeometry::Points(vec![(25, 17)]), &mut cmds);
        assert_eq!((kind, cmds.clone()), (1, vec![9, 50, 34]));
        // Polygon example: (3,6) (8,12) (20,34) → [9,6,12, 18,10,12,24,44, 15].
        let kind = encode_geometry(
            &TileGeometry::Polygons(vec![vec![vec![(3, 6), (8, 12), (20, 34)]]]),
            &mut cmds,
        );
        assert_eq!((kind, cmds), (3, vec![9, 6, 12, 18, 10, 12, 24, 44, 15]));
        let mut l = TileLayer::new("parcels");
        l.add(
            7,
            &TileGeometry::Points(vec![(1, 1)]),
            &[
                ("name", MvtValue::Text("甲".into())),
                ("n", MvtValue::Int(-3)),
            ],
        );
        let bytes = encode_tile(&[l, TileLayer::new("empty")]);
        // One layer (field 3, length-delimited), named "parcels".
        assert_eq!(bytes[0], 0x1a);
        assert!(bytes.windows(7).any(|w| w == b"parcels"));
        assert!(!bytes.windows(5).any(|w| w == b"empty"));
    }

    #[test]
    fn simplification_keeps_the_ends_and_drops_collinear_points() {
        let line = vec![(0, 0), (5, 0), (10, 0), (10, 10)];
        assert_eq!(simplify(&line, 1.0), vec![(0, 0), (10, 0), (10, 10)]);
    }
}
