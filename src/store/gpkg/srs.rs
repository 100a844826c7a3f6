//! Rows of `gpkg_spatial_ref_sys` (空间参考系): the SRS of the stored geometries and the WGS 84
//! row every GeoPackage must hold, with definitions from PROJ's database.

use super::GpkgError;
use crate::geom::crs::CGCS2000_EPSG;
use gdal::spatial_ref::SpatialRef;

/// The SRS id stored geometries carry: CGCS2000 lon/lat.
pub const STORED: i32 = CGCS2000_EPSG as i32;

/// A spatial reference system row for `gpkg_spatial_ref_sys`.
#[derive(Clone, Debug)]
pub struct SrsDef {
    /// The id geometries carry (the EPSG code for EPSG systems).
    pub srs_id: i32,
    /// Its name.
    pub name: String,
    /// Defining organisation (`EPSG`).
    pub organization: String,
    /// The organisation's code.
    pub organization_id: i32,
    /// OGC WKT 1 definition.
    pub definition: String,
}

/// The `gpkg_spatial_ref_sys` row of an EPSG CRS.
pub fn row(epsg: i32) -> Result<SrsDef, GpkgError> {
    let failed = |e: gdal::errors::GdalError| GpkgError::Srs(format!("EPSG:{epsg}: {e}"));
    let srs = SpatialRef::from_epsg(epsg as u32).map_err(failed)?;
    Ok(SrsDef {
        srs_id: epsg,
        name: srs.name().unwrap_or_else(|| format!("EPSG:{epsg}")),
        organization: "EPSG".into(),
        organization_id: epsg,
        definition: srs.to_wkt().map_err(failed)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_srs_is_cgcs2000_from_proj() {
        let r = row(STORED).unwrap();
        assert!(r.definition.contains("China"), "{}", r.definition);
        assert_eq!((r.srs_id, r.organization_id), (4490, 4490));
    }
}
