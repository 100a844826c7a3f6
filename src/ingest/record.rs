//! Turning one raw source record into a stored feature, or into the row errors that say
//! what is wrong with it. Runs on many records in parallel; it reads nothing but its input.

use super::extent::UseArea;
use super::report::RowError;
use crate::geom::{area, Transform};
use crate::io::encoding::EncodingChoice;
use crate::io::repair::repair_if_invalid;
use crate::io::{RawRecord, RawValue};
use crate::model::attr::{AttrValue, Column};
use crate::model::value::parse;
use crate::model::{Role, ValueKind};
use geo::orient::{Direction, Orient};
use geo::{BoundingRect, CoordsIter, Geometry, MultiPolygon};

/// A column that holds a canonical attribute.
#[derive(Clone, Debug)]
pub struct CanonicalColumn {
    /// How its values parse.
    pub kind: ValueKind,
    /// Column index.
    pub index: usize,
    /// Unit declared in the column name.
    pub unit: Option<f64>,
}

/// Everything record processing needs, shared by all threads.
pub struct Context {
    /// The layer's role.
    pub role: Role,
    /// Text decoding.
    pub encoding: EncodingChoice,
    /// Decoded columns.
    pub columns: Vec<Column>,
    /// Columns holding canonical attributes.
    pub canonical: Vec<CanonicalColumn>,
    /// Column of the id, if mapped.
    pub id_index: Option<usize>,
    /// Column of the land-use code, if mapped.
    pub code_index: Option<usize>,
    /// Source → lon/lat.
    pub to_lonlat: Transform,
    /// Source → analysis CRS.
    pub to_planar: Transform,
    /// Where lon/lat may fall.
    pub use_area: UseArea,
    /// The source CRS in words.
    pub crs_label: String,
    /// Polygons with more vertices are refused (`--max-vertices`).
    pub max_vertices: usize,
}

/// A record ready to store.
#[derive(Debug)]
pub struct Feature {
    /// 1-based row.
    pub row: u64,
    /// Geometry in lon/lat.
    pub geometry: Option<Geometry>,
    /// Attribute values, decoded.
    pub values: Vec<AttrValue>,
    /// Planar area, m².
    pub planar_m2: f64,
    /// Ellipsoidal area, m².
    pub ellipsoidal_m2: f64,
    /// Whether the geometry was repaired.
    pub repaired: bool,
    /// The feature's id text, if the layer has ids.
    pub id: Option<String>,
    /// The land-use code text, if mapped.
    pub code: Option<String>,
    /// Whether some text was not valid in the chosen encoding.
    pub lossy_text: bool,
}

/// What became of a record.
#[derive(Debug)]
pub enum Outcome {
    /// Ready to store.
    Stored(Feature),
    /// Refused, with every reason found.
    Bad(Vec<RowError>),
    /// The encoding guessed from a sample does not fit this record.
    Misdecoded(u64),
}

fn geometry_name(g: &Geometry) -> &'static str {
    match g {
        Geometry::Point(_) => "a point",
        Geometry::MultiPoint(_) => "points",
        Geometry::LineString(_) | Geometry::Line(_) => "a line",
        Geometry::MultiLineString(_) => "lines",
        Geometry::GeometryCollection(_) => "a mixed collection",
        _ => "a polygon",
    }
}

fn polygons_of(g: Geometry) -> Option<MultiPolygon> {
    match g {
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p])),
        Geometry::MultiPolygon(mp) => Some(mp),
        Geometry::Rect(r) => Some(MultiPolygon(vec![r.to_polygon()])),
        Geometry::Triangle(t) => Some(MultiPolygon(vec![t.to_polygon()])),
        Geometry::GeometryCollection(gc) => {
            let mut out = vec![];
            for part in gc.0 {
                out.extend(polygons_of(part)?.0);
            }
            Some(MultiPolygon(out))
        }
        _ => None,
    }
}

fn distinct_points(ring: &geo::LineString) -> usize {
    let mut seen: Vec<geo::Coord> = Vec::with_capacity(4);
    for c in &ring.0 {
        if !seen.contains(c) {
            seen.push(*c);
            if seen.len() >= 3 {
                break;
            }
        }
    }
    seen.len()
}

/// Process one record.
pub fn process(ctx: &Context, rec: RawRecord) -> Outcome {
    let mut errors = vec![];
    let err = |field: Option<&str>, value: Option<String>, problem: String| RowError {
        row: rec.row,
        fid: rec.fid,
        field: field.map(str::to_string),
        value,
        problem,
    };

    // Attributes: decode text, keep every value.
    let mut lossy_text = false;
    let mut values = Vec::with_capacity(rec.values.len());
    for raw in &rec.values {
        values.push(match raw {
            RawValue::Null => AttrValue::Null,
            RawValue::Integer(i) => AttrValue::Integer(*i),
            RawValue::Real(r) if r.is_finite() => AttrValue::Real(*r),
            RawValue::Real(_) => AttrValue::Null,
            RawValue::Date(d) | RawValue::DateTime(d) => AttrValue::Text(d.clone()),
            RawValue::Bytes(b) => match ctx.encoding.decode(b) {
                Ok(s) => AttrValue::Text(s),
                Err(_) if ctx.encoding.detected => return Outcome::Misdecoded(rec.row),
                Err(lossy) => {
                    lossy_text = true;
                    AttrValue::Text(lossy)
                }
            },
        });
    }
    for c in &ctx.canonical {
        let Some(text) = values[c.index].as_text() else {
            continue;
        };
        if let Err(problem) = parse(&text, c.kind, c.unit) {
            errors.push(err(
                Some(&ctx.columns[c.index].name),
                Some(text.into_owned()),
                problem,
            ));
        }
    }
    let text_of = |i: Option<usize>| {
        i.and_then(|i| values[i].as_text())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let id = text_of(ctx.id_index);
    if ctx.role.needs_id() && ctx.id_index.is_some() && id.is_none() {
        errors.push(err(
            ctx.id_index.map(|i| ctx.columns[i].name.as_str()),
            None,
            "the parcel has no id; every 宗地 needs its own 宗地编号".into(),
        ));
    }
    let code = text_of(ctx.code_index);

    // Geometry: polygons for polygon roles, repaired when invalid, then transformed.
    let mut repaired = false;
    let source_geometry = match (&rec.wkb, rec.empty) {
        (None, true) => {
            errors.push(err(None, None, "the geometry is empty".into()));
            None
        }
        (None, false) if ctx.role.needs_polygons() => {
            errors.push(err(None, None, "the feature has no geometry".into()));
            None
        }
        (None, false) => None,
        (Some(wkb), _) => match crate::geom::wkb::read(wkb) {
            Err(e) => {
                errors.push(err(None, None, e.to_string()));
                None
            }
            // Points and lines of other layers are kept as they are; polygons of every
            // role are checked and repaired (an invalid ring gives absurd areas).
            Ok(g)
                if !ctx.role.needs_polygons()
                    && !matches!(g, Geometry::Polygon(_) | Geometry::MultiPolygon(_)) =>
            {
                Some(g)
            }
            Ok(g) => {
                let name = geometry_name(&g);
                match polygons_of(g) {
                    None => {
                        errors.push(err(
                            None,
                            None,
                            format!(
                                "the geometry is {name}, but {} ({}) must be polygons",
                                ctx.role,
                                ctx.role.label_zh()
                            ),
                        ));
                        None
                    }
                    Some(mp) if mp.0.iter().any(|p| distinct_points(p.exterior()) < 3) => {
                        errors.push(err(
                            None,
                            None,
                            "the polygon has fewer than three distinct points: it encloses no area and cannot be repaired".into(),
                        ));
                        None
                    }
                    Some(mp) if mp.coords_count() > ctx.max_vertices => {
                        errors.push(err(
                            None,
                            None,
                            format!(
                                "the polygon has {} vertices, more than the limit of {} (a parcel boundary rarely has more than a few thousand): it is likely a digitising or export fault",
                                mp.coords_count(),
                                ctx.max_vertices
                            ),
                        ));
                        None
                    }
                    Some(mp) => {
                        let g = Geometry::MultiPolygon(mp);
                        match repair_if_invalid(&g) {
                            Ok(None) => Some(g),
                            Ok(Some(fixed)) => {
                                repaired = true;
                                Some(Geometry::MultiPolygon(fixed))
                            }
                            Err(why) => {
                                errors.push(err(
                                    None,
                                    None,
                                    format!(
                                        "the geometry is invalid and cannot be repaired: {why}"
                                    ),
                                ));
                                None
                            }
                        }
                    }
                }
            }
        },
    };

    let mut geometry = None;
    let (mut planar_m2, mut ellipsoidal_m2) = (0.0, 0.0);
    if let Some(src) = source_geometry {
        let mut lonlat = src.clone();
        match ctx.to_lonlat.geometry(&mut lonlat) {
            Err(e) => errors.push(err(
                None,
                None,
                format!(
                    "{e}; it lies far outside the area of use of {}: a stray coordinate, an easting without its zone number, or the wrong CRS?",
                    ctx.crs_label
                ),
            )),
            Ok(()) => {
                let outside = lonlat.bounding_rect().filter(|r| !ctx.use_area.contains(r));
                if let Some(r) = outside {
                    errors.push(err(
                        None,
                        None,
                        format!(
                            "the geometry lies at {:.4}°E, {:.4}°N, outside the area of use of {}: swapped X/Y, a wrong zone or a stray coordinate?",
                            r.center().x,
                            r.center().y,
                            ctx.crs_label
                        ),
                    ));
                } else {
                    let planar = if ctx.to_planar.is_identity() {
                        Ok(src)
                    } else {
                        let mut p = src;
                        ctx.to_planar.geometry(&mut p).map(|_| p)
                    };
                    match planar {
                        Ok(p) if ctx.role.needs_polygons() && area::planar_m2(&p) <= 0.0 => {
                            errors.push(err(
                                None,
                                None,
                                "the polygon has no area (its vertices lie on a line): it cannot be repaired".into(),
                            ));
                        }
                        Ok(p) => {
                            // Exterior rings counter-clockwise (RFC 7946, and what geodesic
                            // area expects); shapefiles store them clockwise.
                            match &lonlat {
                                Geometry::MultiPolygon(mp) => {
                                    lonlat = Geometry::MultiPolygon(mp.orient(Direction::Default))
                                }
                                Geometry::Polygon(p) => {
                                    lonlat = Geometry::Polygon(p.orient(Direction::Default))
                                }
                                _ => {}
                            }
                            planar_m2 = area::planar_m2(&p);
                            ellipsoidal_m2 = area::ellipsoidal_m2(&lonlat);
                            geometry = Some(lonlat);
                        }
                        Err(e) => errors.push(err(None, None, e.to_string())),
                    }
                }
            }
        }
    }

    if !errors.is_empty() {
        return Outcome::Bad(errors);
    }
    Outcome::Stored(Feature {
        row: rec.row,
        geometry,
        values,
        planar_m2,
        ellipsoidal_m2,
        repaired,
        id,
        code,
        lossy_text,
    })
}
