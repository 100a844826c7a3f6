//! Geometry repair (几何修复) with GDAL's MakeValid (GEOS, structure method).
//!
//! A bow-tie becomes two triangles; overlapping parts of a multipolygon are merged. Parts
//! that collapse to lines or points carry no area and are dropped.

use crate::geom::wkb;
use geo::{Geometry, MultiPolygon, Polygon};
use std::ffi::CString;

/// Check a polygonal geometry with GEOS (through GDAL) and repair it when it is invalid:
/// `Ok(None)` when it is valid as it is, `Ok(Some(fixed))` when it was repaired, `Err` says why
/// it could not be. GEOS validates and repairs in O(n log n) of the vertex count, so a
/// polygon of millions of vertices takes seconds, not hours.
pub fn repair_if_invalid(g: &Geometry) -> Result<Option<MultiPolygon>, String> {
    let mut input = Vec::with_capacity(256);
    wkb::write(&mut input, g);
    let method = CString::new("METHOD=STRUCTURE").expect("no NUL");
    let mut options = [
        method.as_ptr() as *mut std::os::raw::c_char,
        std::ptr::null_mut(),
    ];
    // SAFETY: every OGR geometry created here is destroyed before returning; the WKB buffer
    // outlives the calls that read it.
    let repaired = unsafe {
        let mut h: gdal_sys::OGRGeometryH = std::ptr::null_mut();
        let err = gdal_sys::OGR_G_CreateFromWkbEx(
            input.as_ptr().cast(),
            std::ptr::null_mut(),
            &mut h,
            input.len(),
        );
        if err != gdal_sys::OGRErr::OGRERR_NONE || h.is_null() {
            return Err("GDAL cannot read the geometry".into());
        }
        if gdal_sys::OGR_G_IsValid(h) != 0 {
            gdal_sys::OGR_G_DestroyGeometry(h);
            return Ok(None);
        }
        let v = gdal_sys::OGR_G_MakeValidEx(h, options.as_mut_ptr());
        gdal_sys::OGR_G_DestroyGeometry(h);
        if v.is_null() {
            return Err("GDAL/GEOS could not make it valid".into());
        }
        let size = gdal_sys::OGR_G_WkbSize(v).max(0) as usize;
        let mut out = vec![0u8; size];
        gdal_sys::OGR_G_ExportToIsoWkb(v, gdal_sys::OGRwkbByteOrder::wkbNDR, out.as_mut_ptr());
        gdal_sys::OGR_G_DestroyGeometry(v);
        out
    };
    let g = wkb::read(&repaired).map_err(|e| e.to_string())?;
    let mut polys: Vec<Polygon> = vec![];
    collect_polygons(g, &mut polys);
    if polys.is_empty() {
        return Err("it collapses to lines or points (no area left)".into());
    }
    Ok(Some(MultiPolygon(polys)))
}

fn collect_polygons(g: Geometry, out: &mut Vec<Polygon>) {
    match g {
        Geometry::Polygon(p) if !p.exterior().0.is_empty() => out.push(p),
        Geometry::MultiPolygon(mp) => {
            out.extend(mp.0.into_iter().filter(|p| !p.exterior().0.is_empty()))
        }
        Geometry::GeometryCollection(gc) => gc.0.into_iter().for_each(|g| collect_polygons(g, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{wkt, Area, Validation};

    #[test]
    fn a_bow_tie_becomes_two_triangles() {
        let bow: Geometry = wkt! { POLYGON((0. 0.,10. 10.,10. 0.,0. 10.,0. 0.)) }.into();
        assert!(!bow.is_valid());
        let fixed = repair_if_invalid(&bow).unwrap().unwrap();
        assert!(fixed.is_valid());
        assert_eq!(fixed.0.len(), 2);
        assert!((fixed.unsigned_area() - 50.0).abs() < 1e-9);
    }

    #[test]
    fn a_flat_polygon_cannot_be_repaired() {
        let flat: Geometry = wkt! { POLYGON((0. 0.,10. 0.,20. 0.,0. 0.)) }.into();
        assert!(repair_if_invalid(&flat).unwrap_err().contains("collapses"));
    }

    #[test]
    fn a_valid_polygon_is_left_alone_and_a_huge_one_is_checked_quickly() {
        let square: Geometry = wkt! { POLYGON((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.)) }.into();
        assert_eq!(repair_if_invalid(&square).unwrap(), None);
        // 200,000 vertices on a circle: geo's validation is quadratic here (minutes);
        // GEOS's is n log n.
        let n = 200_000;
        let ring: Vec<(f64, f64)> = (0..=n)
            .map(|i| {
                let a = std::f64::consts::TAU * (i % n) as f64 / n as f64;
                (1000.0 * a.cos(), 1000.0 * a.sin())
            })
            .collect();
        let circle = Geometry::Polygon(Polygon::new(ring.into(), vec![]));
        let started = std::time::Instant::now();
        assert_eq!(repair_if_invalid(&circle).unwrap(), None);
        eprintln!("200k-vertex polygon validated in {:?}", started.elapsed());
    }
}
