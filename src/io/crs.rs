//! Source CRS detection (坐标系识别): from the file (.prj, GeoPackage metadata) or `--crs`.

use gdal::spatial_ref::SpatialRef;

/// A source's coordinate reference system.
#[derive(Clone, Debug)]
pub struct SourceCrs {
    /// What PROJ is given (`EPSG:4523`, or PROJJSON when no EPSG code matches).
    pub definition: String,
    /// Name and code in words.
    pub label: String,
    /// The EPSG code, when identified.
    pub epsg: Option<u32>,
    /// Whether coordinates are degrees.
    pub geographic: bool,
    /// Area of use in degrees: west, south, east, north.
    pub area_of_use: Option<[f64; 4]>,
    /// Where it came from (`.prj`, the file, `--crs`).
    pub origin: String,
}

impl SourceCrs {
    /// Read a GDAL spatial reference.
    pub fn from_spatial_ref(srs: &SpatialRef, origin: &str) -> Result<SourceCrs, String> {
        // ESRI .prj files name CGCS2000 zones without codes; identify them when GDAL can.
        let epsg = match srs.auth_code() {
            Ok(code) if srs.auth_name().as_deref() == Some("EPSG") => Some(code as u32),
            _ => identify_epsg(srs),
        };
        let name = srs.name().unwrap_or_else(|| "unnamed CRS".into());
        let definition = match epsg {
            Some(code) => format!("EPSG:{code}"),
            None => srs
                .to_projjson()
                .map_err(|e| format!("the CRS '{name}' cannot be exported for PROJ: {e}"))?,
        };
        let label = match epsg {
            Some(code) => format!("{name} (EPSG:{code})"),
            // A PROJ string gives no name: show what it says instead of 'unknown'.
            None if name.is_empty() || name == "unknown" => match srs.to_proj4() {
                Ok(p) => format!("unnamed CRS {}", p.trim()),
                Err(_) => "unnamed CRS".into(),
            },
            None => name,
        };
        let with_area = match epsg {
            Some(code) => SpatialRef::from_epsg(code).unwrap_or_else(|_| srs.clone()),
            None => srs.clone(),
        };
        let area_of_use = with_area.area_of_use().map(|a| {
            [
                a.west_lon_degree,
                a.south_lat_degree,
                a.east_lon_degree,
                a.north_lat_degree,
            ]
        });
        Ok(SourceCrs {
            definition,
            label,
            epsg,
            geographic: srs.is_geographic(),
            area_of_use,
            origin: origin.to_string(),
        })
    }

    /// Parse a user's `--crs` (EPSG:N, a bare number, WKT, PROJ string or PROJJSON).
    pub fn from_user(text: &str) -> Result<SourceCrs, String> {
        let t = text.trim();
        let def = if t.chars().all(|c| c.is_ascii_digit()) {
            format!("EPSG:{t}")
        } else {
            t.to_string()
        };
        let srs = SpatialRef::from_definition(&def).map_err(|e| {
            format!("--crs '{t}' is not a CRS GDAL/PROJ knows ({e}); write it as EPSG:4523, WKT or a PROJ string")
        })?;
        SourceCrs::from_spatial_ref(&srs, "--crs")
    }
}

/// The EPSG code PROJ's database matches with at least 90 % confidence (as GDAL's shapefile
/// driver does for .prj files).
fn identify_epsg(srs: &SpatialRef) -> Option<u32> {
    let mut n: std::os::raw::c_int = 0;
    let mut confidence: *mut std::os::raw::c_int = std::ptr::null_mut();
    // SAFETY: the match array and confidence list are freed with the functions GDAL names
    // for them; entries are read only while the array lives.
    unsafe {
        let matches = gdal_sys::OSRFindMatches(
            srs.to_c_hsrs(),
            std::ptr::null_mut(),
            &mut n,
            &mut confidence,
        );
        if matches.is_null() {
            return None;
        }
        let mut found = None;
        for i in 0..n.max(0) as usize {
            if *confidence.add(i) < 90 {
                continue;
            }
            let m = *matches.add(i);
            let auth = gdal_sys::OSRGetAuthorityName(m, std::ptr::null());
            let code = gdal_sys::OSRGetAuthorityCode(m, std::ptr::null());
            if !auth.is_null()
                && !code.is_null()
                && std::ffi::CStr::from_ptr(auth).to_bytes() == b"EPSG"
            {
                found = std::ffi::CStr::from_ptr(code)
                    .to_str()
                    .ok()
                    .and_then(|c| c.parse().ok());
                break;
            }
        }
        gdal_sys::OSRFreeSRSArray(matches);
        gdal_sys::VSIFree(confidence.cast());
        found
    }
}

/// Whether a CRS's authority axis order puts latitude or northing first (EPSG:4490 and the
/// CGCS2000 Gauss-Krüger CRSs do; CRS84 and Web Mercator do not).
pub fn authority_order_is_yx(definition: &str) -> bool {
    let Ok(srs) = SpatialRef::from_definition(definition) else {
        return false;
    };
    // SAFETY: the handle is valid while `srs` lives.
    unsafe {
        gdal_sys::OSREPSGTreatsAsLatLong(srs.to_c_hsrs()) != 0
            || gdal_sys::OSREPSGTreatsAsNorthingEasting(srs.to_c_hsrs()) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esri_prj_of_a_cgcs2000_zone_is_identified() {
        let prj = r#"PROJCS["CGCS2000_3_Degree_GK_Zone_35",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",35500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        let srs = SpatialRef::from_esri(prj).unwrap();
        let c = SourceCrs::from_spatial_ref(&srs, ".prj").unwrap();
        assert_eq!(c.epsg, Some(4523));
        assert_eq!(c.definition, "EPSG:4523");
        assert!(!c.geographic);
        let a = c.area_of_use.unwrap();
        assert!(
            (a[0] - 103.5).abs() < 0.02 && (a[2] - 106.5).abs() < 0.02,
            "{a:?}"
        );
    }

    #[test]
    fn user_crs_forms() {
        assert_eq!(SourceCrs::from_user("4490").unwrap().epsg, Some(4490));
        assert!(SourceCrs::from_user("EPSG:3857")
            .unwrap()
            .label
            .contains("3857"));
        let custom =
            SourceCrs::from_user("+proj=tmerc +lon_0=105 +x_0=500000 +ellps=GRS80 +units=m")
                .unwrap()
                .label;
        assert!(
            custom.contains("+proj=tmerc") && custom.contains("+lon_0=105"),
            "{custom}"
        );
        let e = SourceCrs::from_user("EPSG:99999999").unwrap_err();
        assert!(e.contains("--crs"), "{e}");
        assert!(authority_order_is_yx("EPSG:4490"));
        assert!(authority_order_is_yx("EPSG:4523"));
        assert!(!authority_order_is_yx("EPSG:3857"));
        assert!(!authority_order_is_yx("OGC:CRS84"));
    }
}
