//! GeoJSON (RFC 7946) writing: geometries and features streamed as text, lon/lat, full
//! precision (shortest round-trip decimal), so pages of thousands of features never build a
//! document tree.

use crate::model::attr::{write_json_string, AttrValue, Column};
use geo::{Coord, Geometry, LineString, Polygon};
use std::fmt;

/// The order coordinates are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axes {
    /// x (longitude, easting) first — GeoJSON and GIS order.
    XY,
    /// y (latitude, northing) first — the authority order of EPSG:4490 and the CGCS2000
    /// Gauss-Krüger CRSs, which OGC API Part 2 asks for when such a CRS is requested.
    YX,
}

fn coord(out: &mut String, c: &Coord, axes: Axes) {
    let mut b = ryu::Buffer::new();
    let (first, second) = match axes {
        Axes::XY => (c.x, c.y),
        Axes::YX => (c.y, c.x),
    };
    out.push('[');
    out.push_str(b.format(first));
    out.push(',');
    out.push_str(b.format(second));
    out.push(']');
}

fn line(out: &mut String, l: &LineString, axes: Axes) {
    out.push('[');
    for (i, c) in l.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        coord(out, c, axes);
    }
    out.push(']');
}

fn polygon(out: &mut String, p: &Polygon, axes: Axes) {
    out.push('[');
    line(out, p.exterior(), axes);
    for r in p.interiors() {
        out.push(',');
        line(out, r, axes);
    }
    out.push(']');
}

fn list<T>(out: &mut String, items: &[T], mut f: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        f(out, item);
    }
    out.push(']');
}

/// Append a geometry object (`{"type":…,"coordinates":…}`), or `null`, in GeoJSON order.
pub fn write_geometry(out: &mut String, g: Option<&Geometry>) {
    write_geometry_axes(out, g, Axes::XY);
}

/// Append a geometry object with coordinates in the given axis order.
pub fn write_geometry_axes(out: &mut String, g: Option<&Geometry>, axes: Axes) {
    let Some(g) = g else {
        out.push_str("null");
        return;
    };
    let kind = match g {
        Geometry::Point(_) => "Point",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::LineString(_) | Geometry::Line(_) => "LineString",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "Polygon",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
    };
    out.push_str("{\"type\":\"");
    out.push_str(kind);
    if let Geometry::GeometryCollection(gc) = g {
        out.push_str("\",\"geometries\":");
        list(out, &gc.0, |o, part| {
            write_geometry_axes(o, Some(part), axes)
        });
        out.push('}');
        return;
    }
    out.push_str("\",\"coordinates\":");
    match g {
        Geometry::Point(p) => coord(out, &p.0, axes),
        Geometry::MultiPoint(mp) => list(out, &mp.0, |o, p| coord(o, &p.0, axes)),
        Geometry::LineString(l) => line(out, l, axes),
        Geometry::Line(l) => line(out, &LineString::from(*l), axes),
        Geometry::MultiLineString(ml) => list(out, &ml.0, |o, l| line(o, l, axes)),
        Geometry::Polygon(p) => polygon(out, p, axes),
        Geometry::Rect(r) => polygon(out, &r.to_polygon(), axes),
        Geometry::Triangle(t) => polygon(out, &t.to_polygon(), axes),
        Geometry::MultiPolygon(mp) => list(out, &mp.0, |o, p| polygon(o, p, axes)),
        Geometry::GeometryCollection(_) => unreachable!("handled above"),
    }
    out.push('}');
}

/// Append a properties object from columns and values.
pub fn write_properties(out: &mut String, columns: &[Column], values: &[AttrValue]) {
    out.push('{');
    for (i, (c, v)) in columns.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(out, &c.name);
        out.push(':');
        v.write_json(out);
    }
    out.push('}');
}

/// A feature's id: a store fid, or an analysis' own stable id for geometry it made (a
/// conflict polygon).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FeatureId {
    /// A store fid.
    Fid(i64),
    /// A check's own id.
    Text(Box<str>),
}

impl FeatureId {
    /// A whole number for formats that need one (vector tiles): the fid, or a stable 53-bit
    /// hash of the text (FNV-1a).
    pub fn number(&self) -> u64 {
        match self {
            FeatureId::Fid(n) => (*n).max(0) as u64,
            FeatureId::Text(s) => {
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for b in s.bytes() {
                    h ^= u64::from(b);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
                h & ((1 << 53) - 1)
            }
        }
    }

    /// Its JSON value: a number or a string.
    pub fn write_json(&self, out: &mut String) {
        match self {
            FeatureId::Fid(n) => out.push_str(itoa::Buffer::new().format(*n)),
            FeatureId::Text(s) => write_json_string(out, s),
        }
    }
}

impl fmt::Display for FeatureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureId::Fid(n) => write!(f, "{n}"),
            FeatureId::Text(s) => f.write_str(s),
        }
    }
}

/// Append a whole Feature with a numeric id and a pre-rendered properties object.
pub fn write_feature(out: &mut String, id: i64, geometry: Option<&Geometry>, properties: &str) {
    write_feature_axes(out, &FeatureId::Fid(id), geometry, properties, Axes::XY);
}

/// Append a whole Feature with coordinates in the given axis order.
pub fn write_feature_axes(
    out: &mut String,
    id: &FeatureId,
    geometry: Option<&Geometry>,
    properties: &str,
    axes: Axes,
) {
    out.push_str("{\"type\":\"Feature\",\"id\":");
    id.write_json(out);
    out.push_str(",\"geometry\":");
    write_geometry_axes(out, geometry, axes);
    out.push_str(",\"properties\":");
    out.push_str(properties);
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::attr::AttrType;
    use geo::wkt;

    #[test]
    fn features_are_valid_geojson_with_chinese_properties() {
        let g: Geometry =
            wkt! { MULTIPOLYGON(((104.5 30.0,104.6 30.0,104.6 30.1,104.5 30.0))) }.into();
        let cols = vec![
            Column {
                name: "宗地编号".into(),
                ty: AttrType::Text,
            },
            Column {
                name: "容积率".into(),
                ty: AttrType::Real,
            },
            Column {
                name: "备注".into(),
                ty: AttrType::Text,
            },
        ];
        let mut props = String::new();
        write_properties(
            &mut props,
            &cols,
            &[
                AttrValue::Text("甲-1".into()),
                AttrValue::Real(0.8),
                AttrValue::Null,
            ],
        );
        let mut s = String::new();
        write_feature(&mut s, 7, Some(&g), &props);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["geometry"]["type"], "MultiPolygon");
        assert_eq!(v["geometry"]["coordinates"][0][0][1][0], 104.6);
        assert_eq!(v["properties"]["宗地编号"], "甲-1");
        assert_eq!(v["properties"]["容积率"], 0.8);
        assert!(v["properties"]["备注"].is_null());
    }
}
