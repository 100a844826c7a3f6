//! GeoJSON (RFC 7946) writing: geometries and features streamed as text, lon/lat, full
//! precision (shortest round-trip decimal), so pages of thousands of features never build a
//! document tree.

use crate::model::attr::{write_json_string, AttrValue, Column};
use geo::{Coord, Geometry, LineString, Polygon};

fn coord(out: &mut String, c: &Coord) {
    let mut b = ryu::Buffer::new();
    out.push('[');
    out.push_str(b.format(c.x));
    out.push(',');
    out.push_str(b.format(c.y));
    out.push(']');
}

fn line(out: &mut String, l: &LineString) {
    out.push('[');
    for (i, c) in l.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        coord(out, c);
    }
    out.push(']');
}

fn polygon(out: &mut String, p: &Polygon) {
    out.push('[');
    line(out, p.exterior());
    for r in p.interiors() {
        out.push(',');
        line(out, r);
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

/// Append a geometry object (`{"type":…,"coordinates":…}`), or `null`.
pub fn write_geometry(out: &mut String, g: Option<&Geometry>) {
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
        list(out, &gc.0, |o, part| write_geometry(o, Some(part)));
        out.push('}');
        return;
    }
    out.push_str("\",\"coordinates\":");
    match g {
        Geometry::Point(p) => coord(out, &p.0),
        Geometry::MultiPoint(mp) => list(out, &mp.0, |o, p| coord(o, &p.0)),
        Geometry::LineString(l) => line(out, l),
        Geometry::Line(l) => line(out, &LineString::from(*l)),
        Geometry::MultiLineString(ml) => list(out, &ml.0, line),
        Geometry::Polygon(p) => polygon(out, p),
        Geometry::Rect(r) => polygon(out, &r.to_polygon()),
        Geometry::Triangle(t) => polygon(out, &t.to_polygon()),
        Geometry::MultiPolygon(mp) => list(out, &mp.0, polygon),
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

/// Append a whole Feature with a numeric id and a pre-rendered properties object.
pub fn write_feature(out: &mut String, id: i64, geometry: Option<&Geometry>, properties: &str) {
    out.push_str("{\"type\":\"Feature\",\"id\":");
    out.push_str(itoa::Buffer::new().format(id));
    out.push_str(",\"geometry\":");
    write_geometry(out, geometry);
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
