//! Checking that transformed coordinates fall where the CRS is meant to be used, and naming
//! the likely cause when they do not: X/Y swapped, a wrong Gauss-Krüger zone, a wrong CRS.

use crate::geom::crs::{gk3_epsg, gk6_epsg};
use crate::geom::Transform;
use crate::io::crs::SourceCrs;
use geo::{BoundingRect, Rect};

/// Tolerance around a projected CRS's area of use: data half a zone beyond its strip is
/// still usable.
const MARGIN_LON: f64 = 1.5;
const MARGIN_LAT: f64 = 1.0;
/// Tolerance around a geographic CRS's area of use, which PROJ's database draws tightly
/// (CGCS2000's stops at 16.7°N, short of the South China Sea islands).
const MARGIN_GEOGRAPHIC: f64 = 15.0;

/// A lon/lat window data may fall in.
#[derive(Clone, Copy, Debug)]
pub struct UseArea {
    west: f64,
    south: f64,
    east: f64,
    north: f64,
}

impl UseArea {
    /// The CRS's area of use widened by the margins, or the whole world.
    pub fn of(crs: &SourceCrs) -> UseArea {
        let (mx, my) = if crs.geographic {
            (MARGIN_GEOGRAPHIC, MARGIN_GEOGRAPHIC)
        } else {
            (MARGIN_LON, MARGIN_LAT)
        };
        match crs.area_of_use {
            Some([w, s, e, n]) => {
                let wrap = |x: f64| {
                    if x < -180.0 {
                        x + 360.0
                    } else if x > 180.0 {
                        x - 360.0
                    } else {
                        x
                    }
                };
                let width = if w <= e { e - w } else { e + 360.0 - w };
                if width + 2.0 * mx >= 360.0 {
                    UseArea {
                        west: -180.0,
                        east: 180.0,
                        south: (s - my).max(-90.0),
                        north: (n + my).min(90.0),
                    }
                } else {
                    UseArea {
                        west: wrap(w - mx),
                        south: (s - my).max(-90.0),
                        east: wrap(e + mx),
                        north: (n + my).min(90.0),
                    }
                }
            }
            None => UseArea {
                west: -180.0,
                south: -90.0,
                east: 180.0,
                north: 90.0,
            },
        }
    }

    /// Whether a lon/lat box lies inside (areas that cross the antimeridian, such as North
    /// America's, have west > east).
    pub fn contains(&self, r: &Rect) -> bool {
        let lon_ok = |x: f64| {
            if self.west <= self.east {
                (self.west..=self.east).contains(&x)
            } else {
                x >= self.west || x <= self.east
            }
        };
        lon_ok(r.min().x) && lon_ok(r.max().x) && r.min().y >= self.south && r.max().y <= self.north
    }
}

/// A source-CRS box in lon/lat (along its densified outline); none when it does not land on
/// valid longitudes and latitudes.
fn box_to_lonlat(t: &Transform, r: &Rect) -> Option<Rect> {
    let ll = t.rect_outline(r).ok()?.bounding_rect()?;
    let valid = ll.min().x >= -180.0 && ll.max().x <= 180.0;
    (valid && ll.min().y >= -90.0 && ll.max().y <= 90.0).then_some(ll)
}

/// Check a layer's extent before reading it: its lon/lat box, or `Err((problem, hint))`
/// naming the likely cause.
pub fn check_layer_extent(
    extent: &Rect,
    crs: &SourceCrs,
    to_lonlat: &Transform,
) -> Result<Rect, (String, String)> {
    let area = UseArea::of(crs);
    if let Some(ll) = box_to_lonlat(to_lonlat, extent) {
        if area.contains(&ll) {
            return Ok(ll);
        }
    }
    Err(diagnose(extent, crs, to_lonlat))
}

fn diagnose(extent: &Rect, crs: &SourceCrs, to_lonlat: &Transform) -> (String, String) {
    let area = UseArea::of(crs);
    let where_ = match box_to_lonlat(to_lonlat, extent) {
        Some(ll) => format!(
            "they fall at {:.4}°E–{:.4}°E, {:.4}°N–{:.4}°N",
            ll.min().x,
            ll.max().x,
            ll.min().y,
            ll.max().y
        ),
        None => "they do not even transform to valid longitudes and latitudes".into(),
    };
    let area_text = match crs.area_of_use {
        Some([w, s, e, n]) => format!("{w:.2}°E–{e:.2}°E, {s:.2}°N–{n:.2}°N"),
        None => "its area of use".into(),
    };
    let problem = format!(
        "the coordinates ({:.1}, {:.1})–({:.1}, {:.1}) do not fit the declared CRS {}: {where_}, outside its area of use ({area_text})",
        extent.min().x,
        extent.min().y,
        extent.max().x,
        extent.max().y,
        crs.label
    );
    let swapped = Rect::new(
        (extent.min().y, extent.min().x),
        (extent.max().y, extent.max().x),
    );
    if box_to_lonlat(to_lonlat, &swapped).is_some_and(|ll| area.contains(&ll)) {
        return (
            problem,
            "X and Y look swapped (survey tables write X = northing, Y = easting): swap the two coordinate columns and ingest again".into(),
        );
    }
    if !crs.geographic && extent.min().x >= 1.0e7 && extent.max().x < 1.0e8 {
        let zone = (extent.min().x / 1.0e6).floor() as i32;
        let suggestion = gk3_epsg(zone)
            .map(|e| format!("3-degree zone {zone}: EPSG:{e} for CGCS2000"))
            .or_else(|| {
                gk6_epsg(zone).map(|e| format!("6-degree zone {zone}: EPSG:{e} for CGCS2000"))
            });
        if let Some(s) = suggestion {
            return (
                problem,
                format!(
                    "the eastings start with {zone}, the Gauss-Krüger zone number, which the declared CRS does not match; the data is probably in {s} — pass --crs with the right zone (or fix the .prj)"
                ),
            );
        }
    }
    (
        problem,
        "the .prj (or --crs) probably names the wrong CRS: ask the data provider, then pass --crs EPSG:N".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone35() -> (SourceCrs, Transform) {
        let crs = SourceCrs::from_user("EPSG:4523").unwrap();
        let t = Transform::new(&crs.definition, "EPSG:4490").unwrap();
        (crs, t)
    }

    #[test]
    fn data_in_its_zone_passes() {
        let (crs, t) = zone35();
        let r = Rect::new((35_440_000.0, 3_330_000.0), (35_460_000.0, 3_340_000.0));
        check_layer_extent(&r, &crs, &t).unwrap();
    }

    #[test]
    fn swapped_coordinates_are_named() {
        let (crs, t) = zone35();
        let r = Rect::new((3_330_000.0, 35_440_000.0), (3_340_000.0, 35_460_000.0));
        let (problem, hint) = check_layer_extent(&r, &crs, &t).unwrap_err();
        assert!(problem.contains("EPSG:4523"), "{problem}");
        assert!(hint.contains("swapped"), "{hint}");
    }

    #[test]
    fn a_wrong_zone_is_named() {
        let (crs, t) = zone35();
        // Zone 38 data (CM 114°E) declared as zone 35.
        let r = Rect::new((38_440_000.0, 3_330_000.0), (38_460_000.0, 3_340_000.0));
        let (_, hint) = check_layer_extent(&r, &crs, &t).unwrap_err();
        assert!(
            hint.contains("zone 38") && hint.contains("EPSG:4526"),
            "{hint}"
        );
    }
}
