//! Well-Known Binary: reading what GDAL exports and writing what GeoPackage stores.
//!
//! Z and M ordinates are dropped on read (analysis is 2D); curves are linearised by the
//! reader before they get here.

use geo::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};

/// A WKB blob that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("unreadable geometry (WKB): {0}")]
pub struct WkbError(pub String);

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], WkbError> {
        let end = self.pos + N;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| WkbError(format!("truncated at byte {}", self.pos)))?;
        self.pos = end;
        Ok(bytes.try_into().expect("slice of N bytes"))
    }

    fn u32(&mut self, le: bool) -> Result<u32, WkbError> {
        let b = self.take::<4>()?;
        Ok(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self, le: bool) -> Result<f64, WkbError> {
        let b = self.take::<8>()?;
        Ok(if le {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    fn count(&mut self, le: bool, item_bytes: usize) -> Result<usize, WkbError> {
        let n = self.u32(le)? as usize;
        // A count larger than the remaining bytes can hold is corrupt; refuse before allocating.
        if n.saturating_mul(item_bytes) > self.buf.len() - self.pos {
            return Err(WkbError(format!("count {n} exceeds the blob")));
        }
        Ok(n)
    }

    fn coords(&mut self, le: bool, dims: usize) -> Result<Vec<Coord>, WkbError> {
        let n = self.count(le, dims * 8)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let x = self.f64(le)?;
            let y = self.f64(le)?;
            for _ in 2..dims {
                self.f64(le)?;
            }
            out.push(Coord { x, y });
        }
        Ok(out)
    }

    fn polygon(&mut self, le: bool, dims: usize) -> Result<Polygon, WkbError> {
        let rings = self.count(le, 4)?;
        let mut exterior = LineString::new(vec![]);
        let mut interiors = Vec::with_capacity(rings.saturating_sub(1));
        for i in 0..rings {
            let ring = LineString::new(self.coords(le, dims)?);
            if i == 0 {
                exterior = ring;
            } else {
                interiors.push(ring);
            }
        }
        Ok(Polygon::new(exterior, interiors))
    }

    fn geometry(&mut self) -> Result<Geometry, WkbError> {
        let le = match self.take::<1>()?[0] {
            0 => false,
            1 => true,
            b => return Err(WkbError(format!("bad byte order {b}"))),
        };
        let raw = self.u32(le)?;
        // ISO (1000/2000/3000 offsets) and EWKB (high-bit flags) dimensionality.
        let ewkb_z = raw & 0x8000_0000 != 0;
        let ewkb_m = raw & 0x4000_0000 != 0;
        if raw & 0x2000_0000 != 0 {
            return Err(WkbError(
                "EWKB with an embedded SRID is not expected".into(),
            ));
        }
        let code = raw & 0x0FFF_FFFF;
        let (base, iso_dims) = (code % 1000, code / 1000);
        let dims = match iso_dims {
            0 => 2 + ewkb_z as usize + ewkb_m as usize,
            1 | 2 => 3,
            3 => 4,
            _ => return Err(WkbError(format!("unknown geometry type {raw}"))),
        };
        Ok(match base {
            1 => {
                let x = self.f64(le)?;
                let y = self.f64(le)?;
                for _ in 2..dims {
                    self.f64(le)?;
                }
                Geometry::Point(Point::new(x, y))
            }
            2 => Geometry::LineString(LineString::new(self.coords(le, dims)?)),
            3 => Geometry::Polygon(self.polygon(le, dims)?),
            4..=7 => {
                let n = self.count(le, 9)?;
                let mut parts = Vec::with_capacity(n);
                for _ in 0..n {
                    parts.push(self.geometry()?);
                }
                collect_parts(base, parts)?
            }
            _ => {
                return Err(WkbError(format!(
                    "geometry type {raw} (curves must be linearised first)"
                )))
            }
        })
    }
}

fn collect_parts(base: u32, parts: Vec<Geometry>) -> Result<Geometry, WkbError> {
    let wrong = |what: &str| WkbError(format!("a multi-geometry holds a non-{what} part"));
    Ok(match base {
        4 => Geometry::MultiPoint(MultiPoint(
            parts
                .into_iter()
                .map(|g| Point::try_from(g).map_err(|_| wrong("point")))
                .collect::<Result<_, _>>()?,
        )),
        5 => Geometry::MultiLineString(MultiLineString(
            parts
                .into_iter()
                .map(|g| LineString::try_from(g).map_err(|_| wrong("line")))
                .collect::<Result<_, _>>()?,
        )),
        6 => Geometry::MultiPolygon(MultiPolygon(
            parts
                .into_iter()
                .map(|g| Polygon::try_from(g).map_err(|_| wrong("polygon")))
                .collect::<Result<_, _>>()?,
        )),
        _ => Geometry::GeometryCollection(GeometryCollection(parts)),
    })
}

/// Read a WKB geometry (ISO or extended, either byte order).
pub fn read(buf: &[u8]) -> Result<Geometry, WkbError> {
    Reader { buf, pos: 0 }.geometry()
}

fn put_coords(out: &mut Vec<u8>, coords: &[Coord]) {
    out.extend_from_slice(&(coords.len() as u32).to_le_bytes());
    for c in coords {
        out.extend_from_slice(&c.x.to_le_bytes());
        out.extend_from_slice(&c.y.to_le_bytes());
    }
}

fn put_header(out: &mut Vec<u8>, code: u32) {
    out.push(1);
    out.extend_from_slice(&code.to_le_bytes());
}

fn put_polygon(out: &mut Vec<u8>, p: &Polygon) {
    put_header(out, 3);
    let rings = if p.exterior().0.is_empty() {
        0
    } else {
        1 + p.interiors().len()
    };
    out.extend_from_slice(&(rings as u32).to_le_bytes());
    if rings > 0 {
        put_coords(out, &p.exterior().0);
        for r in p.interiors() {
            put_coords(out, &r.0);
        }
    }
}

/// Append a geometry as little-endian 2D WKB.
pub fn write(out: &mut Vec<u8>, g: &Geometry) {
    match g {
        Geometry::Point(p) => {
            put_header(out, 1);
            out.extend_from_slice(&p.x().to_le_bytes());
            out.extend_from_slice(&p.y().to_le_bytes());
        }
        Geometry::LineString(l) => {
            put_header(out, 2);
            put_coords(out, &l.0);
        }
        Geometry::Polygon(p) => put_polygon(out, p),
        Geometry::MultiPoint(mp) => {
            put_header(out, 4);
            out.extend_from_slice(&(mp.0.len() as u32).to_le_bytes());
            for p in &mp.0 {
                write(out, &Geometry::Point(*p));
            }
        }
        Geometry::MultiLineString(ml) => {
            put_header(out, 5);
            out.extend_from_slice(&(ml.0.len() as u32).to_le_bytes());
            for l in &ml.0 {
                put_header(out, 2);
                put_coords(out, &l.0);
            }
        }
        Geometry::MultiPolygon(mp) => {
            put_header(out, 6);
            out.extend_from_slice(&(mp.0.len() as u32).to_le_bytes());
            for p in &mp.0 {
                put_polygon(out, p);
            }
        }
        Geometry::GeometryCollection(gc) => {
            put_header(out, 7);
            out.extend_from_slice(&(gc.0.len() as u32).to_le_bytes());
            for part in &gc.0 {
                write(out, part);
            }
        }
        Geometry::Line(l) => write(out, &Geometry::LineString(LineString::from(*l))),
        Geometry::Rect(r) => write(out, &Geometry::Polygon(r.to_polygon())),
        Geometry::Triangle(t) => write(out, &Geometry::Polygon(t.to_polygon())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, wkt};

    #[test]
    fn round_trips_a_multipolygon_with_a_hole() {
        let g: Geometry = wkt! { MULTIPOLYGON(((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.),(2. 2.,3. 2.,3. 3.,2. 2.)),((20. 20.,21. 20.,21. 21.,20. 20.))) }.into();
        let mut buf = vec![];
        write(&mut buf, &g);
        assert_eq!(read(&buf).unwrap(), g);
    }

    #[test]
    fn reads_big_endian_and_drops_z() {
        // Big-endian ISO Polygon Z (1003) with one ring of four points.
        let mut b = vec![0u8];
        b.extend_from_slice(&1003u32.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend_from_slice(&4u32.to_be_bytes());
        for (x, y) in [(0., 0.), (1., 0.), (1., 1.), (0., 0.)] {
            for v in [x, y, 5.0f64] {
                b.extend_from_slice(&v.to_be_bytes());
            }
        }
        let expected: Geometry =
            polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 0.)].into();
        assert_eq!(read(&b).unwrap(), expected);
    }

    #[test]
    fn corrupt_counts_are_errors_not_allocations() {
        let mut b = vec![1u8];
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(read(&b).is_err());
        assert!(read(&[1, 2]).is_err());
    }
}
