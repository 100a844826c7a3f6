//! Areas (面积): planar in the analysis CRS and ellipsoidal on lon/lat, never in degrees or
//! Web Mercator.

use geo::{Area, GeodesicArea, Geometry};

/// Planar area in m² of a geometry in a projected CRS (the analysis CRS).
pub fn planar_m2(g: &Geometry) -> f64 {
    g.unsigned_area()
}

/// Ellipsoidal (geodesic) area in m² of a lon/lat geometry, as the land survey computes it.
///
/// Computed with geographiclib on the WGS 84 ellipsoid; CGCS2000's flattening differs in the
/// 11th digit, so the area differs by far less than a square centimetre per hectare.
pub fn ellipsoidal_m2(lonlat: &Geometry) -> f64 {
    match lonlat {
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) | Geometry::GeometryCollection(_) => {
            lonlat.geodesic_area_unsigned()
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn a_one_degree_cell_at_the_equator() {
        let g: Geometry = polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.), (x: 0., y: 0.)].into();
        // 12,308.778 km² on WGS 84 (geographiclib's Planimeter).
        let a = ellipsoidal_m2(&g);
        assert!((a / 1e6 - 12_308.778).abs() < 0.01, "{a}");
    }
}
