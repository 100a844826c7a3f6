//! Coordinate transformation with the system PROJ (EPSG definitions from PROJ's database).
//!
//! A PROJ object is neither `Send` nor `Sync`, so each thread keeps its own transformers in a
//! thread-local cache; building one costs milliseconds, using it microseconds.

use geo::{Coord, Geometry, LineString, Polygon, Rect};
use proj::Proj;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A transformation that could not be built or applied.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// PROJ refused the pair of CRSs.
    #[error("PROJ cannot transform from {from} to {to}: {message}")]
    Build {
        /// Source CRS definition.
        from: String,
        /// Target CRS definition.
        to: String,
        /// PROJ's message.
        message: String,
    },
    /// A coordinate could not be transformed (outside the projection's domain).
    #[error("coordinate ({x}, {y}) cannot be transformed: {message}")]
    Point {
        /// Easting or longitude.
        x: f64,
        /// Northing or latitude.
        y: f64,
        /// PROJ's message.
        message: String,
    },
}

thread_local! {
    static CACHE: RefCell<HashMap<(String, String), Rc<Proj>>> = RefCell::new(HashMap::new());
}

/// A transformation between two CRSs, in GIS axis order (lon/lat, easting/northing).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transform {
    from: String,
    to: String,
}

impl Transform {
    /// A transformation from `from` to `to` (EPSG:N, WKT, PROJJSON or a PROJ string).
    /// It is checked once here; each thread builds its own PROJ object on first use.
    pub fn new(from: &str, to: &str) -> Result<Transform, TransformError> {
        let t = Transform {
            from: from.to_string(),
            to: to.to_string(),
        };
        if !t.is_identity() {
            t.with_proj(|_| Ok(()))?;
        }
        Ok(t)
    }

    /// Whether source and target are the same definition (nothing to do).
    pub fn is_identity(&self) -> bool {
        self.from == self.to
    }

    /// The inverse transformation.
    pub fn inverse(&self) -> Transform {
        Transform {
            from: self.to.clone(),
            to: self.from.clone(),
        }
    }

    fn with_proj<R>(
        &self,
        f: impl FnOnce(&Proj) -> Result<R, TransformError>,
    ) -> Result<R, TransformError> {
        let key = (self.from.clone(), self.to.clone());
        let proj = CACHE.with(|c| -> Result<Rc<Proj>, TransformError> {
            if let Some(p) = c.borrow().get(&key) {
                return Ok(p.clone());
            }
            let p = Rc::new(
                Proj::new_known_crs(&self.from, &self.to, None).map_err(|e| {
                    TransformError::Build {
                        from: short(&self.from),
                        to: short(&self.to),
                        message: e.to_string(),
                    }
                })?,
            );
            c.borrow_mut().insert(key, p.clone());
            Ok(p)
        })?;
        f(&proj)
    }

    /// Transform one point.
    pub fn point(&self, x: f64, y: f64) -> Result<(f64, f64), TransformError> {
        if self.is_identity() {
            return Ok((x, y));
        }
        self.with_proj(|p| {
            let (a, b) = p.convert((x, y)).map_err(|e| TransformError::Point {
                x,
                y,
                message: e.to_string(),
            })?;
            if a.is_finite() && b.is_finite() {
                Ok((a, b))
            } else {
                Err(TransformError::Point {
                    x,
                    y,
                    message: "the result is not finite".into(),
                })
            }
        })
    }

    /// A box's outline, each edge cut in 16, transformed: the curved shape the box makes in
    /// the target CRS (its corners alone would miss the bulge of its edges).
    pub fn rect_outline(&self, r: &Rect) -> Result<Polygon, TransformError> {
        const STEPS: u32 = 16;
        let (lo, hi) = (r.min(), r.max());
        let corners = [(lo.x, lo.y), (hi.x, lo.y), (hi.x, hi.y), (lo.x, hi.y)];
        let mut ring = Vec::with_capacity(4 * STEPS as usize);
        for (k, a) in corners.iter().enumerate() {
            let b = corners[(k + 1) % 4];
            for i in 0..STEPS {
                let f = f64::from(i) / f64::from(STEPS);
                ring.push(self.point(a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f)?);
            }
        }
        Ok(Polygon::new(ring.into(), vec![]))
    }

    /// Transform every coordinate of a geometry in place.
    pub fn geometry(&self, g: &mut Geometry) -> Result<(), TransformError> {
        if self.is_identity() {
            return Ok(());
        }
        self.with_proj(|p| {
            let mut failure = None;
            for_each_coord_run(g, &mut |coords: &mut [Coord]| {
                if failure.is_some() || coords.is_empty() {
                    return;
                }
                let first = coords[0];
                let fail = |message: String| TransformError::Point {
                    x: first.x,
                    y: first.y,
                    message,
                };
                match p.convert_array(coords) {
                    Ok(done) if done.iter().all(|c| c.x.is_finite() && c.y.is_finite()) => {}
                    Ok(_) => {
                        failure = Some(fail(
                            "a coordinate falls outside the projection's domain".into(),
                        ))
                    }
                    Err(e) => failure = Some(fail(e.to_string())),
                }
            });
            failure.map_or(Ok(()), Err)
        })
    }
}

/// Visit every run of coordinates of a geometry (each ring, line, or point).
fn for_each_coord_run(g: &mut Geometry, f: &mut impl FnMut(&mut [Coord])) {
    match g {
        Geometry::Point(p) => f(std::slice::from_mut(&mut p.0)),
        Geometry::MultiPoint(mp) => {
            mp.0.iter_mut()
                .for_each(|p| f(std::slice::from_mut(&mut p.0)))
        }
        Geometry::LineString(l) => f(&mut l.0),
        Geometry::MultiLineString(ml) => ml.0.iter_mut().for_each(|l| f(&mut l.0)),
        Geometry::Polygon(p) => polygon_rings(p, f),
        Geometry::MultiPolygon(mp) => mp.0.iter_mut().for_each(|p| polygon_rings(p, f)),
        Geometry::GeometryCollection(gc) => gc.0.iter_mut().for_each(|g| for_each_coord_run(g, f)),
        Geometry::Line(_) | Geometry::Rect(_) | Geometry::Triangle(_) => {
            let mut poly = std::mem::replace(g, Geometry::Point(geo::Point::new(0.0, 0.0)));
            if let Geometry::Rect(r) = &poly {
                poly = Geometry::Polygon(r.to_polygon());
            } else if let Geometry::Triangle(t) = &poly {
                poly = Geometry::Polygon(t.to_polygon());
            } else if let Geometry::Line(l) = &poly {
                poly = Geometry::LineString(LineString::from(*l));
            }
            for_each_coord_run(&mut poly, f);
            *g = poly;
        }
    }
}

fn polygon_rings(p: &mut Polygon, f: &mut impl FnMut(&mut [Coord])) {
    p.exterior_mut(|e| f(&mut e.0));
    p.interiors_mut(|rings| rings.iter_mut().for_each(|r| f(&mut r.0)));
}

fn short(def: &str) -> String {
    if def.len() > 80 {
        format!(
            "{}…",
            &def[..def.char_indices().nth(80).map_or(def.len(), |(i, _)| i)]
        )
    } else {
        def.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Area};

    #[test]
    fn lon_lat_to_gauss_kruger_zone_35_and_back() {
        let t = Transform::new("EPSG:4490", "EPSG:4523").unwrap();
        // On the central meridian 105°E the easting is exactly the false easting.
        let (x, y) = t.point(105.0, 30.0).unwrap();
        assert!((x - 35_500_000.0).abs() < 1e-6, "{x}");
        // The GRS80 meridian arc from the equator to 30°N is 3 320 113.398 m.
        assert!((y - 3_320_113.398).abs() < 0.01, "{y}");
        let (lon, lat) = t.inverse().point(x, y).unwrap();
        assert!((lon - 105.0).abs() < 1e-9 && (lat - 30.0).abs() < 1e-9);
    }

    #[test]
    fn polygons_keep_their_rings() {
        let t = Transform::new("EPSG:4490", "EPSG:4523").unwrap();
        let mut g: Geometry = polygon![(x: 104.6, y: 30.1), (x: 104.601, y: 30.1), (x: 104.601, y: 30.101), (x: 104.6, y: 30.101), (x: 104.6, y: 30.1)].into();
        t.geometry(&mut g).unwrap();
        let a = g.unsigned_area();
        // About 96 m × 111 m.
        assert!((a - 10_700.0).abs() < 200.0, "{a}");
    }

    #[test]
    fn unknown_crs_is_an_error() {
        assert!(Transform::new("EPSG:999999", "EPSG:4490").is_err());
    }
}
