//! Exact polygon overlay (叠加分析) helpers: intersection areas and parts, in planar metres,
//! with shortcuts that skip the overlay when one polygon lies inside the other and trim a
//! large polygon to the part that matters before overlaying it.

use geo::{
    Area, BooleanOps, BoundingRect, Contains, Geometry, Intersects, LineString, MultiPolygon,
    Polygon, Rect,
};
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
        (Some(x), Some(y)) => rects_meet(&x, &y),
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

/// Whether box `r` lies inside polygon `p`: no ring edge meets the box, and the box's centre
/// is inside. A sound shortcut (it never says yes wrongly), so the exact overlay can be
/// skipped for the common feature well inside a park or a boundary.
fn box_within(p: &Polygon, r: &Rect) -> bool {
    let Some(pb) = p.bounding_rect() else {
        return false;
    };
    if pb.min().x > r.min().x
        || pb.min().y > r.min().y
        || pb.max().x < r.max().x
        || pb.max().y < r.max().y
    {
        return false;
    }
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .all(|ring| ring.lines().all(|l| !l.intersects(r)))
        && p.contains(&r.center())
}

/// Whether geometry `g` (planar) lies inside any polygon of `outer`, by [`box_within`].
fn within(outer: &MultiPolygon, g: &MultiPolygon) -> bool {
    g.bounding_rect()
        .is_some_and(|r| outer.iter().any(|p| box_within(p, &r)))
}

fn rects_meet(x: &Rect, y: &Rect) -> bool {
    x.min().x < y.max().x && y.min().x < x.max().x && x.min().y < y.max().y && y.min().y < x.max().y
}

/// `mp` without the polygons and holes whose boxes miss `r`: the same geometry as far as
/// anything inside `r` is concerned. A road network is one polygon with a hole per block;
/// overlaying a block with all of it would cost the whole network every time.
fn trimmed<'a>(mp: &'a MultiPolygon, r: &Rect) -> Cow<'a, MultiPolygon> {
    let meets = |g: &LineString| g.bounding_rect().is_some_and(|b| rects_meet(&b, r));
    let keep = |p: &Polygon| meets(p.exterior());
    let all = mp
        .iter()
        .all(|p| keep(p) && p.interiors().iter().all(&meets));
    if all {
        return Cow::Borrowed(mp);
    }
    Cow::Owned(MultiPolygon(
        mp.iter()
            .filter(|p| keep(p))
            .map(|p| {
                Polygon::new(
                    p.exterior().clone(),
                    p.interiors().iter().filter(|h| meets(h)).cloned().collect(),
                )
            })
            .collect(),
    ))
}

/// `a ∩ b`, skipping the overlay when one lies inside the other.
pub fn intersect(a: &MultiPolygon, b: &MultiPolygon) -> MultiPolygon {
    let (Some(ra), Some(rb)) = (a.bounding_rect(), b.bounding_rect()) else {
        return MultiPolygon(vec![]);
    };
    if !rects_meet(&ra, &rb) {
        return MultiPolygon(vec![]);
    }
    let (a, b) = (trimmed(a, &rb), trimmed(b, &ra));
    if within(&b, &a) {
        a.into_owned()
    } else if within(&a, &b) {
        b.into_owned()
    } else {
        a.intersection(b.as_ref())
    }
}

/// `a − (the union of others)`, skipping the overlay when `a` lies inside one of them.
pub fn subtract(a: &MultiPolygon, others: &[&MultiPolygon]) -> MultiPolygon {
    let Some(ra) = a.bounding_rect() else {
        return MultiPolygon(vec![]);
    };
    let others: Vec<_> = others.iter().map(|o| trimmed(o, &ra)).collect();
    if others.iter().any(|o| within(o, a)) {
        return MultiPolygon(vec![]);
    }
    others.iter().fold(a.clone(), |rest, o| {
        if rest.0.is_empty() {
            rest
        } else {
            rest.difference(o.as_ref())
        }
    })
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

    #[test]
    fn shortcuts_give_the_exact_overlay() {
        // A road network: a 30 × 10 box with three 8 × 8 blocks cut out as holes.
        let block =
            |x: f64| LineString::from(vec![(x, 1.), (x + 8., 1.), (x + 8., 9.), (x, 9.), (x, 1.)]);
        let roads = MultiPolygon(vec![Polygon::new(
            LineString::from(vec![(0., 0.), (30., 0.), (30., 10.), (0., 10.), (0., 0.)]),
            vec![block(1.), block(11.), block(21.)],
        )]);
        let site = MultiPolygon(vec![Rect::new((9., 0.), (12., 10.)).to_polygon()]);
        let exact = site.intersection(&roads);
        let ours = intersect(&site, &roads);
        assert!((ours.unsigned_area() - exact.unsigned_area()).abs() < 1e-9);
        // 3 × 10 minus the 1 × 8 of the middle block = 22.
        assert!((ours.unsigned_area() - 22.0).abs() < 1e-9);
        let inside = MultiPolygon(vec![Rect::new((2., 2.), (3., 3.)).to_polygon()]);
        let park = MultiPolygon(vec![Rect::new((0., 0.), (30., 10.)).to_polygon()]);
        assert_eq!(intersect(&inside, &park), inside);
        assert!(subtract(&inside, &[&park]).0.is_empty());
        let rest = subtract(&site, &[&roads]);
        assert!((rest.unsigned_area() - 8.0).abs() < 1e-9);
    }
}
