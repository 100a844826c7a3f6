//! Writing shapefiles the way Chinese desktop GIS leaves them: GBK text in the DBF, no
//! `.cpg`, language driver byte 0, and an ESRI `.prj` for CGCS2000 zone 35.

use chrono::NaiveDate;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::LayerOptions;
use gdal::{Dataset, DriverManager};
use geo::Geometry;
use std::ffi::CString;
use std::os::raw::c_int;
use std::path::{Path, PathBuf};

/// A DBF column type.
#[derive(Clone, Copy, Debug)]
pub enum FieldType {
    /// Text of this many bytes.
    Text(i32),
    /// A whole number.
    Int,
    /// A number with this many decimals.
    Real(i32),
    /// A DBF date (type D).
    Date,
}

/// A value to write.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// Nothing.
    Null,
    /// Text (written as GBK).
    Text(String),
    /// A whole number.
    Int(i64),
    /// A number.
    Real(f64),
    /// A date.
    Date(NaiveDate),
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_string())
    }
}

impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}

impl From<Option<f64>> for Val {
    fn from(v: Option<f64>) -> Val {
        v.map_or(Val::Null, Val::Real)
    }
}

/// An open shapefile being written.
pub struct ShapeWriter {
    dataset: Dataset,
    path: PathBuf,
    types: Vec<FieldType>,
    count: u64,
}

fn gbk(s: &str) -> CString {
    let (bytes, _, _) = encoding_rs::GBK.encode(s);
    CString::new(bytes.into_owned()).expect("GBK text has no NUL")
}

impl ShapeWriter {
    /// Create `dir/name.shp` with the given columns, in `epsg`.
    pub fn create(
        dir: &Path,
        name: &str,
        epsg: u32,
        fields: &[(&str, FieldType)],
    ) -> anyhow::Result<ShapeWriter> {
        let path = dir.join(format!("{name}.shp"));
        for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
            let _ = std::fs::remove_file(path.with_extension(ext));
        }
        let driver = DriverManager::get_driver_by_name("ESRI Shapefile")?;
        let mut dataset = driver.create_vector_only(&path)?;
        let srs = SpatialRef::from_epsg(epsg)?;
        let layer = dataset.create_layer(LayerOptions {
            name,
            srs: Some(&srs),
            ty: gdal_sys::OGRwkbGeometryType::wkbPolygon,
            // No recoding: the GBK bytes given below go to the DBF as they are.
            options: Some(&["ENCODING="]),
        })?;
        let c_layer = unsafe { gdal::vector::LayerAccess::c_layer(&layer) };
        for (fname, ty) in fields {
            let (ogr_type, width, precision) = match ty {
                FieldType::Text(w) => (gdal_sys::OGRFieldType::OFTString, *w, 0),
                FieldType::Int => (gdal_sys::OGRFieldType::OFTInteger64, 12, 0),
                FieldType::Real(p) => (gdal_sys::OGRFieldType::OFTReal, 18, *p),
                FieldType::Date => (gdal_sys::OGRFieldType::OFTDate, 8, 0),
            };
            let cname = gbk(fname);
            // SAFETY: the field definition is created, copied into the layer and destroyed.
            unsafe {
                let fd = gdal_sys::OGR_Fld_Create(cname.as_ptr(), ogr_type);
                gdal_sys::OGR_Fld_SetWidth(fd, width);
                gdal_sys::OGR_Fld_SetPrecision(fd, precision);
                let err = gdal_sys::OGR_L_CreateField(c_layer, fd, 1);
                gdal_sys::OGR_Fld_Destroy(fd);
                anyhow::ensure!(
                    err == gdal_sys::OGRErr::OGRERR_NONE,
                    "cannot create field {fname}"
                );
            }
        }
        Ok(ShapeWriter {
            dataset,
            path,
            types: fields.iter().map(|(_, t)| *t).collect(),
            count: 0,
        })
    }

    /// Append one feature; the geometry is in the shapefile's CRS.
    pub fn write(&mut self, geometry: &Geometry, values: &[Val]) -> anyhow::Result<()> {
        anyhow::ensure!(values.len() == self.types.len(), "wrong number of values");
        let mut wkb = Vec::with_capacity(256);
        crate::geom::wkb::write(&mut wkb, geometry);
        // SAFETY: the layer handle belongs to the open dataset; the feature and geometry made
        // here are destroyed here (the feature takes ownership of the geometry).
        unsafe {
            let layer = gdal_sys::GDALDatasetGetLayer(self.dataset.c_dataset(), 0);
            let defn = gdal_sys::OGR_L_GetLayerDefn(layer);
            let f = gdal_sys::OGR_F_Create(defn);
            for (i, v) in values.iter().enumerate() {
                let i = i as c_int;
                match v {
                    Val::Null => gdal_sys::OGR_F_SetFieldNull(f, i),
                    Val::Text(s) => gdal_sys::OGR_F_SetFieldString(f, i, gbk(s).as_ptr()),
                    Val::Int(n) => gdal_sys::OGR_F_SetFieldInteger64(f, i, *n),
                    Val::Real(x) => gdal_sys::OGR_F_SetFieldDouble(f, i, *x),
                    Val::Date(d) => {
                        use chrono::Datelike;
                        gdal_sys::OGR_F_SetFieldDateTime(
                            f,
                            i,
                            d.year(),
                            d.month() as c_int,
                            d.day() as c_int,
                            0,
                            0,
                            0,
                            0,
                        )
                    }
                }
            }
            let mut g: gdal_sys::OGRGeometryH = std::ptr::null_mut();
            gdal_sys::OGR_G_CreateFromWkbEx(
                wkb.as_ptr().cast(),
                std::ptr::null_mut(),
                &mut g,
                wkb.len(),
            );
            gdal_sys::OGR_F_SetGeometryDirectly(f, g);
            let err = gdal_sys::OGR_L_CreateFeature(layer, f);
            gdal_sys::OGR_F_Destroy(f);
            anyhow::ensure!(
                err == gdal_sys::OGRErr::OGRERR_NONE,
                "cannot write a feature to {}",
                self.path.display()
            );
        }
        self.count += 1;
        Ok(())
    }

    /// Close the file, leaving no `.cpg` (as desktop GIS in a bureau does); returns the count.
    pub fn finish(self) -> anyhow::Result<u64> {
        let (path, count) = (self.path.clone(), self.count);
        drop(self.dataset);
        let _ = std::fs::remove_file(path.with_extension("cpg"));
        Ok(count)
    }
}
