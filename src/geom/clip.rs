//! Exact polygon overlay (叠加分析) helpers: intersection areas and parts, in planar metres.

use geo::{Area, BooleanOps, BoundingRect, Geometry, MultiPolygon, Polygon};
use std::borrow::Cow;

/// The polygons of a geometry (empty for points and lines).
pub fn polygons(g: &Geometry) -> Cow<'_, MultiPolygon> {
    match g {
        Geometry::MultiPolygon(mp) => Cow::Borrowed(mp),
        Geometry::Polygon(p) => Cow::Owned(MultiPolygon(vec![p.clone()])),
        Geometry::Rect(r) => Cow::Owned(MultiPolygon(vec![r.to_polygon()])),
        Geometry::Triangle(t) => Cow::Owned(MultiPolygon(vec![t.to_polygon()])),
        Geometry::GeometryCollection(gc) => Cow::Owned(MultiPolygon(
            gc.0.iter()
                .flat_map(|g| polygons(g).into_owned().0)
                .collect::<Vec<Polygon>>(),
        )),
        _ => Cow::Owned(MultiPolygon(vec![])),
    }
}

fn boxes_meet(a: &Geometry, b: &Geometry) -> bool {
    match (a.bounding_rect(), b.bounding_rect()) {
        (Some(x), Some(y)) => {
            x.min().x < y.max().x
                && y.min().x < x.max().x
                && x.min().y < y.max().y
                && y.min().y < x.max().y
        }
        _ => false,
    }
}

/// The part of `b` inside `a`.
pub fn intersection(a: &Geometry, b: &Geometry) -> MultiPolygon {
    if !boxes_meet(a, b) {
        return MultiPolygon(vec![]);
    }
    polygons(a).intersection(polygons(b).as_ref())
}

/// The area of `a ∩ b`, m² when both are planar.
pub fn intersection_area(a: &Geometry, b: &Geometry) -> f64 {
    if !boxes_meet(a, b) {
        return 0.0;
    }
    intersection(a, b).unsigned_area()
}

/// The area of `within` that the union of `parts` covers: overlapping parts count once, m²
/// when planar.
pub fn covered_area(within: &Geometry, parts: &[&Geometry]) -> f64 {
    let meeting: Vec<Cow<'_, MultiPolygon>> = parts
        .iter()
        .filter(|g| boxes_meet(within, g))
        .map(|g| polygons(g))
        .collect();
    if meeting.is_empty() {
        return 0.0;
    }
    let union = geo::unary_union(meeting.iter().flat_map(|m| m.0.iter()));
    polygons(within).intersection(&union).unsigned_area()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::wkt;

    #[test]
    fn covered_area_counts_overlaps_once() {
        let park: Geometry = wkt! { POLYGON((0. 0.,100. 0.,100. 100.,0. 100.,0. 0.)) }.into();
        // 50×50 and 50×50 overlapping by 25×50, and one half outside: 50·50 + 25·50 + 10·10.
        let a: Geometry = wkt! { POLYGON((0. 0.,50. 0.,50. 50.,0. 50.,0. 0.)) }.into();
        let b: Geometry = wkt! { POLYGON((25. 0.,75. 0.,75. 50.,25. 50.,25. 0.)) }.into();
        let c: Geometry = wkt! { POLYGON((90. 90.,110. 90.,110. 110.,90. 110.,90. 90.)) }.into();
        let far: Geometry = wkt! { POLYGON((200. 0.,210. 0.,210. 10.,200. 10.,200. 0.)) }.into();
        let got = covered_area(&park, &[&a, &b, &c, &far]);
        assert!((got - (2500.0 + 1250.0 + 100.0)).abs() < 1e-6, "{got}");
        assert_eq!(covered_area(&park, &[&far]), 0.0);
    }

    #[test]
    fn overlap_areas_by_hand() {
        let a: Geometry = wkt! { POLYGON((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.)) }.into();
        let b: Geometry = wkt! { POLYGON((5. 5.,15. 5.,15. 15.,5. 15.,5. 5.)) }.into();
        assert!((intersection_area(&a, &b) - 25.0).abs() < 1e-9);
        let touching: Geometry = wkt! { POLYGON((10. 0.,20. 0.,20. 10.,10. 10.,10. 0.)) }.into();
        assert_eq!(intersection_area(&a, &touching), 0.0);
        let holed: Geometry =
            wkt! { POLYGON((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.),(2. 2.,8. 2.,8. 8.,2. 8.,2. 2.)) }
                .into();
        assert!((intersection_area(&holed, &a) - 64.0).abs() < 1e-9);
    }
}
