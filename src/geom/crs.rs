//! The analysis CRS (分析坐标系) and the Gauss-Krüger zone arithmetic of DOMAIN.md §7.
//!
//! Analysis runs in planar metres on the CGCS2000 3° Gauss-Krüger zone of the data; outside
//! China (no EPSG code exists there) in a transverse Mercator on the same 3° meridians.

use geo::Rect;
use serde::{Deserialize, Serialize};

/// EPSG code of CGCS2000 geographic coordinates (lon/lat as served).
pub const CGCS2000_EPSG: u32 = 4490;

/// The planar CRS that areas and overlays are computed in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalysisCrs {
    /// What PROJ is given: `EPSG:4523` or a `+proj=tmerc …` definition.
    pub definition: String,
    /// Human-readable name.
    pub label: String,
    /// Central meridian in degrees east.
    pub central_meridian: f64,
}

/// The 3° zone number whose central meridian (3 × zone) is nearest to `lon`.
pub fn gk3_zone(lon: f64) -> i32 {
    (lon / 3.0).round() as i32
}

/// EPSG code of "CGCS2000 / 3-degree Gauss-Kruger zone N" (with the zone prefix in the
/// easting), for the zones China uses (25–45).
pub fn gk3_epsg(zone: i32) -> Option<u32> {
    (25..=45).contains(&zone).then(|| 4513 + (zone - 25) as u32)
}

/// EPSG code of "CGCS2000 / 6-degree Gauss-Kruger zone N" (zones 13–23).
pub fn gk6_epsg(zone: i32) -> Option<u32> {
    (13..=23).contains(&zone).then(|| 4491 + (zone - 13) as u32)
}

impl AnalysisCrs {
    /// The analysis CRS for data centred on longitude `lon`.
    pub fn for_longitude(lon: f64) -> AnalysisCrs {
        let zone = gk3_zone(lon);
        let cm = f64::from(zone * 3);
        match gk3_epsg(zone) {
            Some(epsg) => AnalysisCrs {
                definition: format!("EPSG:{epsg}"),
                label: format!("CGCS2000 / 3-degree Gauss-Kruger zone {zone} (EPSG:{epsg})"),
                central_meridian: cm,
            },
            None => AnalysisCrs {
                definition: format!(
                    "+proj=tmerc +lat_0=0 +lon_0={cm} +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs +type=crs"
                ),
                label: format!("Transverse Mercator, central meridian {cm}°, GRS80"),
                central_meridian: cm,
            },
        }
    }

    /// How far (degrees of longitude) `lon` lies from this CRS's central meridian.
    pub fn offset_from_meridian(&self, lon: f64) -> f64 {
        let d = (lon - self.central_meridian).rem_euclid(360.0);
        d.min(360.0 - d)
    }
}

/// A plain-words suggestion of the CRS that coordinates with this extent probably use, for
/// a source that declares none. The datum can never be read from numbers, so the message
/// always asks the user to confirm.
pub fn suggest_crs(extent: &Rect) -> String {
    let (min, max) = (extent.min(), extent.max());
    let lonlat = min.x >= -180.0 && max.x <= 180.0 && min.y >= -90.0 && max.y <= 90.0;
    if lonlat {
        return "the coordinates look like longitude/latitude degrees: if they are CGCS2000, \
                pass --crs EPSG:4490 (WGS 84: EPSG:4326)"
            .into();
    }
    if min.x >= 1.0e7 && max.x < 1.0e8 {
        let zone = (min.x / 1.0e6).floor() as i32;
        let same_zone = (max.x / 1.0e6).floor() as i32 == zone;
        if same_zone {
            if let Some(epsg) = gk3_epsg(zone) {
                return format!(
                    "the 8-digit eastings start with {zone}: 3-degree Gauss-Krüger zone {zone} \
                     (central meridian {}°E). If the datum is CGCS2000 pass --crs EPSG:{epsg}; \
                     for Xian 1980 EPSG:{}, for Beijing 1954 EPSG:{}",
                    zone * 3,
                    2349 + (zone - 25),
                    2401 + (zone - 25)
                );
            }
            if let Some(epsg) = gk6_epsg(zone) {
                return format!(
                    "the 8-digit eastings start with {zone}: 6-degree Gauss-Krüger zone {zone} \
                     (central meridian {}°E). If the datum is CGCS2000 pass --crs EPSG:{epsg}",
                    zone * 6 - 3
                );
            }
        }
    }
    if min.y >= 1.0e7 && max.y < 1.0e8 && min.x > 1.0e6 && max.x < 1.0e7 {
        return "the second coordinate has 8 digits like a zone-prefixed easting: X and Y look \
                swapped (survey tables write X = northing); swap them, then pass the zone's CRS"
            .into();
    }
    if min.x >= 1.0e5 && max.x <= 9.0e5 && min.y >= 1.0e6 && max.y <= 6.5e6 {
        return "the eastings carry no zone number (6 digits around 500000), so the zone cannot be \
                read from the coordinates: CGCS2000 3-degree Gauss-Krüger CRSs without zone prefix \
                are EPSG:4534 (75°E) to EPSG:4554 (135°E), e.g. EPSG:4539 for 90°E … EPSG:4544 \
                for 105°E; ask the data provider for the central meridian, then pass --crs EPSG:N"
            .into();
    }
    "the coordinates do not look like any Chinese CRS; ask the data provider which CRS they are in, then pass --crs EPSG:N".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::coord;

    #[test]
    fn zones_and_epsg_codes() {
        assert_eq!(gk3_zone(104.6), 35);
        assert_eq!(gk3_epsg(35), Some(4523));
        assert_eq!(gk3_epsg(25), Some(4513));
        assert_eq!(gk3_epsg(45), Some(4533));
        assert_eq!(gk3_epsg(8), None);
        assert_eq!(gk6_epsg(18), Some(4496));
        let a = AnalysisCrs::for_longitude(104.6);
        // Offsets go the short way round the globe.
        assert!((a.offset_from_meridian(104.6) - 0.4).abs() < 1e-9);
        assert!((a.offset_from_meridian(-105.0) - 150.0).abs() < 1e-9);
        assert!((a.offset_from_meridian(-177.0) - 78.0).abs() < 1e-9);
        assert_eq!(a.definition, "EPSG:4523");
        assert_eq!(a.central_meridian, 105.0);
        let h = AnalysisCrs::for_longitude(24.94);
        assert!(h.definition.contains("+lon_0=24"), "{}", h.definition);
    }

    #[test]
    fn suggestions_name_the_zone_from_8_digit_eastings() {
        let r = Rect::new(
            coord! {x: 35_480_000., y: 3_330_000.},
            coord! {x: 35_520_000., y: 3_340_000.},
        );
        let s = suggest_crs(&r);
        assert!(s.contains("zone 35") && s.contains("EPSG:4523"), "{s}");
        let swapped = Rect::new(
            coord! {x: 3_330_000., y: 35_480_000.},
            coord! {x: 3_340_000., y: 35_520_000.},
        );
        assert!(suggest_crs(&swapped).contains("swapped"));
        let ll = Rect::new(coord! {x: 104., y: 30.}, coord! {x: 105., y: 31.});
        assert!(suggest_crs(&ll).contains("EPSG:4490"));
        let no_zone = Rect::new(
            coord! {x: 480_000., y: 3_330_000.},
            coord! {x: 520_000., y: 3_340_000.},
        );
        assert!(suggest_crs(&no_zone).contains("EPSG:4534"));
    }
}
