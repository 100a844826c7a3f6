//! Opening source files with GDAL and reading their features as raw records.
//!
//! Shapefiles are opened with GDAL's recoding switched off (`ENCODING=`), so text arrives as
//! the bytes in the DBF and [`super::encoding`] decides how to decode them.

use gdal::spatial_ref::SpatialRef;
use gdal::{Dataset, GdalOpenFlags};
use gdal_sys::{OGRFieldType, OGRwkbGeometryType};
use geo::Rect;
use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::path::Path;

/// A raw attribute value as GDAL hands it over.
#[derive(Clone, Debug, PartialEq)]
pub enum RawValue {
    /// Not set or null.
    Null,
    /// A whole number.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text in the source's encoding.
    Bytes(Vec<u8>),
    /// A date, `YYYY-MM-DD`.
    Date(String),
    /// A date-time, ISO 8601.
    DateTime(String),
}

/// One feature as read: ordinal row, source fid, WKB geometry and raw values.
#[derive(Clone, Debug)]
pub struct RawRecord {
    /// 1-based position in the source.
    pub row: u64,
    /// The source's feature id.
    pub fid: i64,
    /// ISO WKB (curves linearised); `None` for a null geometry.
    pub wkb: Option<Vec<u8>>,
    /// Whether the geometry is empty.
    pub empty: bool,
    /// Values in column order.
    pub values: Vec<RawValue>,
}

/// The broad type of a source column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawType {
    /// Integer or Integer64.
    Integer,
    /// Real.
    Real,
    /// String (and anything else, read as text).
    Text,
    /// Date.
    Date,
    /// DateTime.
    DateTime,
}

/// A column definition: raw name bytes and type.
#[derive(Clone, Debug)]
pub struct RawField {
    /// The name as bytes in the source's encoding.
    pub name: Vec<u8>,
    /// Its type.
    pub ty: RawType,
}

/// Where a shapefile's encoding may be declared.
#[derive(Clone, Debug, PartialEq)]
pub enum EncodingHint {
    /// The format is UTF-8 by definition.
    Utf8Format,
    /// A `.cpg` file with this content.
    Cpg(String),
    /// The DBF language driver id.
    Ldid(u8),
}

/// An open source layer.
pub struct Source {
    dataset: Dataset,
    layer_index: c_int,
    /// The GDAL driver's short name (ESRI Shapefile, GPKG, GeoJSON, OpenFileGDB …).
    pub driver: String,
    /// The layer's name in the source.
    pub layer_name: String,
    /// Column definitions.
    pub fields: Vec<RawField>,
    /// The layer's declared geometry type.
    pub geometry_type: OGRwkbGeometryType::Type,
    /// Feature count when the driver knows it cheaply.
    pub feature_count: Option<u64>,
    /// Extent in the source CRS.
    pub extent: Option<Rect>,
    /// The CRS the file declares.
    pub spatial_ref: Option<SpatialRef>,
    /// What the file says about its encoding.
    pub encoding_hint: EncodingHint,
    /// Record counts of a shapefile's parts, when it is one and they can be read.
    pub shapefile_counts: Option<ShapefileCounts>,
    next_row: u64,
}

// SAFETY: a GDAL dataset may move between threads as long as one thread uses it at a time;
// `Source` owns its dataset and hands out no references to GDAL objects.
unsafe impl Send for Source {}

fn last_gdal_error() -> String {
    // SAFETY: CPLGetLastErrorMsg returns a pointer to a thread-local, NUL-terminated buffer.
    unsafe {
        let p = gdal_sys::CPLGetLastErrorMsg();
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

/// Open a dataset by the bytes of its path: file names need not be UTF-8 (a shapefile named
/// in GBK on a disk written by Chinese Windows), and the gdal crate's paths must be.
fn open(path: &[u8], options: &[&str]) -> Result<Dataset, String> {
    let c_path = CString::new(path).map_err(|_| "the path holds a NUL byte".to_string())?;
    let c_options: Vec<CString> = options
        .iter()
        .map(|o| CString::new(*o).expect("options are NUL-free"))
        .collect();
    let mut list: Vec<*const std::os::raw::c_char> = c_options.iter().map(|o| o.as_ptr()).collect();
    list.push(std::ptr::null());
    static DRIVERS: std::sync::Once = std::sync::Once::new();
    DRIVERS.call_once(gdal::DriverManager::register_all);
    let flags = GdalOpenFlags::GDAL_OF_VECTOR
        | GdalOpenFlags::GDAL_OF_READONLY
        | GdalOpenFlags::GDAL_OF_VERBOSE_ERROR;
    // SAFETY: every pointer handed over is NUL-terminated and outlives the call; a non-NULL
    // handle is owned by the Dataset made from it.
    unsafe {
        let h = gdal_sys::GDALOpenEx(
            c_path.as_ptr(),
            flags.bits(),
            std::ptr::null(),
            if options.is_empty() {
                std::ptr::null()
            } else {
                list.as_ptr()
            },
            std::ptr::null(),
        );
        if h.is_null() {
            let msg = last_gdal_error();
            return Err(if msg.is_empty() {
                "GDAL cannot open it".into()
            } else {
                msg
            });
        }
        Ok(Dataset::from_c_dataset(h))
    }
}

/// Entries of a directory or archive as GDAL's virtual file system sees it.
fn read_dir(path: &[u8]) -> Vec<String> {
    let Ok(c) = CString::new(path) else {
        return vec![];
    };
    // SAFETY: VSIReadDir returns a NULL-terminated list we own and free with CSLDestroy.
    unsafe {
        let list = gdal_sys::VSIReadDir(c.as_ptr());
        let out = string_list(list);
        gdal_sys::CSLDestroy(list);
        out
    }
}

unsafe fn string_list(list: *mut *mut std::os::raw::c_char) -> Vec<String> {
    let mut out = vec![];
    if list.is_null() {
        return out;
    }
    let mut i = 0;
    loop {
        let p = *list.add(i);
        if p.is_null() {
            break;
        }
        out.push(CStr::from_ptr(p).to_string_lossy().into_owned());
        i += 1;
    }
    out
}

/// Read a whole (small) file through GDAL's virtual file system (works inside zips).
fn read_vsi(path: &str, max: usize) -> Option<Vec<u8>> {
    let c = CString::new(path).ok()?;
    let mode = CString::new("rb").ok()?;
    // SAFETY: the handle is checked for NULL and closed on every path.
    unsafe {
        let f = gdal_sys::VSIFOpenL(c.as_ptr(), mode.as_ptr());
        if f.is_null() {
            return None;
        }
        let mut buf = vec![0u8; max];
        let n = gdal_sys::VSIFReadL(buf.as_mut_ptr().cast(), 1, max, f);
        gdal_sys::VSIFCloseL(f);
        buf.truncate(n);
        Some(buf)
    }
}

/// The size of a file through GDAL's virtual file system (works inside zips).
fn vsi_size(path: &str) -> Option<u64> {
    let c = CString::new(path).ok()?;
    let mode = CString::new("rb").ok()?;
    // SAFETY: the handle is checked for NULL and closed on every path.
    unsafe {
        let f = gdal_sys::VSIFOpenL(c.as_ptr(), mode.as_ptr());
        if f.is_null() {
            return None;
        }
        let ok = gdal_sys::VSIFSeekL(f, 0, SEEK_END) == 0;
        let size = gdal_sys::VSIFTellL(f);
        gdal_sys::VSIFCloseL(f);
        ok.then_some(size)
    }
}

/// `whence` of a seek from the end of the file.
const SEEK_END: c_int = 2;

/// How many records the parts of a shapefile hold, read from their headers: a .dbf that
/// does not hold one record per shape (an interrupted export, a .dbf cut short by a copy)
/// makes GDAL stop at the last record they share, and the other shapes would be lost
/// without a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapefileCounts {
    /// Shapes, from the index: (.shx length − 100) / 8.
    pub shapes: u64,
    /// Records the .dbf header declares.
    pub dbf_declared: u64,
    /// Whole records the .dbf file actually holds.
    pub dbf_held: u64,
}

impl ShapefileCounts {
    /// Read the counts from the .shx and .dbf headers; `None` when either cannot be read.
    fn read(shx: &str, dbf: &str) -> Option<ShapefileCounts> {
        let shx_len = vsi_size(shx)?;
        let dbf_len = vsi_size(dbf)?;
        let head = read_vsi(dbf, 12).filter(|h| h.len() == 12)?;
        let declared = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as u64;
        let header_len = u16::from_le_bytes([head[8], head[9]]) as u64;
        let record_len = u16::from_le_bytes([head[10], head[11]]) as u64;
        let held = dbf_len
            .saturating_sub(header_len)
            .checked_div(record_len)
            .unwrap_or(0);
        Some(ShapefileCounts {
            shapes: shx_len.saturating_sub(100) / 8,
            dbf_declared: declared,
            dbf_held: held.min(declared),
        })
    }

    /// The records GDAL will pair with shapes.
    pub fn readable(&self) -> u64 {
        self.shapes.min(self.dbf_held)
    }

    /// Whether some shapes or records have no partner.
    pub fn mismatched(&self) -> bool {
        self.shapes != self.dbf_held
    }
}

impl std::fmt::Display for ShapefileCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the .shp holds {} shapes (by its .shx) but the .dbf holds {} attribute records",
            self.shapes, self.dbf_held
        )?;
        if self.dbf_held < self.dbf_declared {
            write!(
                f,
                " (its header declares {}: the file was cut short)",
                self.dbf_declared
            )?;
        }
        Ok(())
    }
}

/// The GDAL path of a user's file, as bytes: zips go through /vsizip/, with the shapefile
/// or .gdb inside them found when they are not at the top. Entry names inside zips made on
/// Chinese Windows are GBK without the UTF-8 flag; GDAL recodes them ([`zip_names_in_gbk`]).
fn gdal_path(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let s = abs.as_os_str().as_bytes().to_vec();
    if !s.to_ascii_lowercase().ends_with(b".zip") {
        return s;
    }
    zip_names_in_gbk();
    let join = |a: &[u8], b: &str| [a, b"/", b.as_bytes()].concat();
    let root = [b"/vsizip/".as_slice(), &s].concat();
    let entries = read_dir(&root);
    let ends = |e: &str, ext: &str| e.to_ascii_lowercase().ends_with(ext);
    if let Some(gdb) = entries.iter().find(|e| ends(e, ".gdb")) {
        return join(&root, gdb);
    }
    if entries.iter().any(|e| ends(e, ".shp")) {
        return root;
    }
    // One folder level down (zips made by right-click → compress).
    for dir in &entries {
        let sub = join(&root, dir);
        let inner = read_dir(&sub);
        if inner.iter().any(|e| ends(e, ".shp")) {
            return sub;
        }
        if let Some(gdb) = inner.iter().find(|e| ends(e, ".gdb")) {
            return join(&sub, gdb);
        }
    }
    root
}

/// Zip entry names without the UTF-8 flag are read as GBK (CP936), the code page of the
/// Chinese Windows that made them, unless `CPL_ZIP_ENCODING` says otherwise.
fn zip_names_in_gbk() {
    if std::env::var_os("CPL_ZIP_ENCODING").is_none()
        && gdal::config::get_config_option("CPL_ZIP_ENCODING", "")
            .unwrap_or_default()
            .is_empty()
    {
        let _ = gdal::config::set_config_option("CPL_ZIP_ENCODING", "CP936");
    }
}

fn raw_type(t: OGRFieldType::Type) -> RawType {
    match t {
        OGRFieldType::OFTInteger | OGRFieldType::OFTInteger64 => RawType::Integer,
        OGRFieldType::OFTReal => RawType::Real,
        OGRFieldType::OFTDate => RawType::Date,
        OGRFieldType::OFTDateTime => RawType::DateTime,
        _ => RawType::Text,
    }
}

impl Source {
    /// Open `path`, pick its layer (`layer` by name, or the only one) and keep only the
    /// features matching `filter` (an OGR SQL WHERE clause), when given.
    pub fn open(path: &Path, layer: Option<&str>, filter: Option<&str>) -> Result<Source, String> {
        if !path.exists() {
            return Err(match super::unreachable(path) {
                Some(why) => why,
                None => format!("{} does not exist", path.display()),
            });
        }
        let gpath = gdal_path(path);
        let probe = open(&gpath, &[]).map_err(|e| {
            if e.contains("SHAPE_RESTORE_SHX") {
                format!(
                    "the shapefile's index (.shx) is not beside it. Copy the .shx that belongs to it, or rebuild one with: ogrinfo -so --config SHAPE_RESTORE_SHX YES {}",
                    path.display()
                )
            } else {
                format!(
                    "GDAL cannot open it as vector data ({e}). landwatch reads Shapefile (.shp with its .dbf and .shx, or zipped), GeoPackage, GeoJSON, FileGDB (.gdb) and KML"
                )
            }
        })?;
        let driver = probe.driver().short_name();
        // Shapefiles: reopen without recoding so the DBF bytes reach us untouched.
        let dataset = if driver == "ESRI Shapefile" {
            drop(probe);
            open(&gpath, &["ENCODING="])?
        } else {
            probe
        };
        let count = dataset.layer_count();
        let names: Vec<String> = (0..count)
            .map(|i| {
                // SAFETY: the index is below the layer count; the name is borrowed from the
                // layer while the dataset lives.
                unsafe {
                    let l = gdal_sys::GDALDatasetGetLayer(dataset.c_dataset(), i as c_int);
                    super::encoding::decode_name(
                        CStr::from_ptr(gdal_sys::OGR_L_GetName(l)).to_bytes(),
                    )
                }
            })
            .collect();
        let layer_index = match layer {
            Some(want) => names.iter().position(|n| n == want).ok_or_else(|| {
                format!(
                    "it has no layer '{want}'; its layers are: {}",
                    names.join(", ")
                )
            })?,
            None if count == 1 => 0,
            None if count == 0 => return Err("it holds no vector layer".into()),
            None => {
                let described: Vec<String> = dataset
                    .layers()
                    .map(|l| {
                        let n = gdal::vector::LayerAccess::name(&l);
                        let t = gdal::vector::geometry_type_to_name(
                            gdal::vector::LayerAccess::defn(&l).geometry_type(),
                        );
                        format!("{n} ({t})")
                    })
                    .collect();
                return Err(format!(
                    "it holds {count} layers; pick one with --layer: {}",
                    described.join(", ")
                ));
            }
        } as c_int;
        let mut source = Source {
            layer_name: names[layer_index as usize].clone(),
            dataset,
            layer_index,
            driver,
            fields: vec![],
            geometry_type: OGRwkbGeometryType::wkbUnknown,
            feature_count: None,
            extent: None,
            spatial_ref: None,
            encoding_hint: EncodingHint::Utf8Format,
            shapefile_counts: None,
            next_row: 1,
        };
        if let Some(f) = filter {
            let c = CString::new(f).map_err(|_| "--where holds a NUL byte".to_string())?;
            // SAFETY: valid layer handle; GDAL copies the filter text.
            let err = unsafe { gdal_sys::OGR_L_SetAttributeFilter(source.layer(), c.as_ptr()) };
            if err != gdal_sys::OGRErr::OGRERR_NONE {
                return Err(format!(
                    "the filter --where \"{f}\" is not valid OGR SQL for this layer ({})",
                    last_gdal_error()
                ));
            }
        }
        source.describe();
        if source.driver == "ESRI Shapefile" {
            // GDAL reads a .shp without its .dbf as geometry alone; every attribute would be lost.
            if source.fields.is_empty() {
                return Err("the shapefile has no attribute table: its .dbf is not beside the .shp (or has no fields), so ids, names, codes and dates would be lost. Copy the .dbf that belongs to it — a shapefile is its .shp, .shx, .dbf, .prj and .cpg together".into());
            }
            source.encoding_hint = source.shapefile_hint();
            source.shapefile_counts = source.read_shapefile_counts();
        }
        Ok(source)
    }

    fn layer(&self) -> gdal_sys::OGRLayerH {
        // SAFETY: the index was checked against the dataset's layer count.
        unsafe { gdal_sys::GDALDatasetGetLayer(self.dataset.c_dataset(), self.layer_index) }
    }

    fn describe(&mut self) {
        let layer = self.layer();
        // SAFETY: `layer` is a valid handle owned by the dataset; definitions are borrowed.
        unsafe {
            let defn = gdal_sys::OGR_L_GetLayerDefn(layer);
            let n = gdal_sys::OGR_FD_GetFieldCount(defn);
            for i in 0..n {
                let fd = gdal_sys::OGR_FD_GetFieldDefn(defn, i);
                let name = CStr::from_ptr(gdal_sys::OGR_Fld_GetNameRef(fd))
                    .to_bytes()
                    .to_vec();
                self.fields.push(RawField {
                    name,
                    ty: raw_type(gdal_sys::OGR_Fld_GetType(fd)),
                });
            }
            self.geometry_type = gdal_sys::OGR_FD_GetGeomType(defn);
            let count = gdal_sys::OGR_L_GetFeatureCount(layer, 0);
            self.feature_count = (count >= 0).then_some(count as u64);
            let mut env = gdal_sys::OGREnvelope {
                MinX: 0.0,
                MaxX: 0.0,
                MinY: 0.0,
                MaxY: 0.0,
            };
            if gdal_sys::OGR_L_GetExtent(layer, &mut env, 1) == gdal_sys::OGRErr::OGRERR_NONE {
                self.extent = Some(Rect::new((env.MinX, env.MinY), (env.MaxX, env.MaxY)));
            }
            let srs = gdal_sys::OGR_L_GetSpatialRef(layer);
            if !srs.is_null() {
                self.spatial_ref = SpatialRef::from_c_obj(srs).ok();
            }
        }
    }

    /// The files that make up the dataset (shapefile parts, zip members).
    fn file_list(&self) -> Vec<String> {
        // SAFETY: GDALGetFileList returns a list we own and free.
        unsafe {
            let list = gdal_sys::GDALGetFileList(self.dataset.c_dataset());
            let out = string_list(list);
            gdal_sys::CSLDestroy(list);
            out
        }
    }

    /// The dataset's file with the layer's name and this extension (`.dbf`, `.shx`).
    fn shapefile_part(&self, files: &[String], ext: &str) -> Option<String> {
        let stem = self.layer_name.to_ascii_lowercase();
        files
            .iter()
            .find(|f| {
                let l = f.to_ascii_lowercase();
                l.ends_with(ext)
                    && Path::new(&l)
                        .file_stem()
                        .is_some_and(|s| s.to_string_lossy() == stem)
            })
            .cloned()
    }

    fn read_shapefile_counts(&self) -> Option<ShapefileCounts> {
        let files = self.file_list();
        ShapefileCounts::read(
            &self.shapefile_part(&files, ".shx")?,
            &self.shapefile_part(&files, ".dbf")?,
        )
    }

    fn shapefile_hint(&self) -> EncodingHint {
        let files = self.file_list();
        let part = |ext: &str| self.shapefile_part(&files, ext);
        let cpg = part(".cpg").or_else(|| {
            // GDAL lists a .cpg only when it read one; look beside the .dbf as well.
            part(".dbf").map(|d| format!("{}.cpg", &d[..d.len() - 4]))
        });
        if let Some(text) = cpg.and_then(|p| read_vsi(&p, 256)) {
            let label = String::from_utf8_lossy(&text).trim().to_string();
            if !label.is_empty() {
                return EncodingHint::Cpg(label);
            }
        }
        match part(".dbf").and_then(|p| read_vsi(&p, 32)) {
            Some(h) if h.len() > 29 => EncodingHint::Ldid(h[29]),
            _ => EncodingHint::Ldid(0),
        }
    }

    /// Read the next feature, or `None` at the end.
    pub fn next_record(&mut self) -> Option<RawRecord> {
        let layer = self.layer();
        // SAFETY: features returned by OGR_L_GetNextFeature are owned by us and destroyed
        // below; geometry and string pointers are borrowed from the feature while it lives.
        unsafe {
            let f = gdal_sys::OGR_L_GetNextFeature(layer);
            if f.is_null() {
                return None;
            }
            let row = self.next_row;
            self.next_row += 1;
            let fid = gdal_sys::OGR_F_GetFID(f);
            let mut values = Vec::with_capacity(self.fields.len());
            for (i, field) in self.fields.iter().enumerate() {
                let i = i as c_int;
                if gdal_sys::OGR_F_IsFieldSetAndNotNull(f, i) == 0 {
                    values.push(RawValue::Null);
                    continue;
                }
                values.push(match field.ty {
                    RawType::Integer => {
                        RawValue::Integer(gdal_sys::OGR_F_GetFieldAsInteger64(f, i))
                    }
                    RawType::Real => RawValue::Real(gdal_sys::OGR_F_GetFieldAsDouble(f, i)),
                    RawType::Text => RawValue::Bytes(
                        CStr::from_ptr(gdal_sys::OGR_F_GetFieldAsString(f, i))
                            .to_bytes()
                            .to_vec(),
                    ),
                    RawType::Date | RawType::DateTime => {
                        let (mut y, mut mo, mut d, mut h, mut mi, mut tz) = (0, 0, 0, 0, 0, 0);
                        let mut s = 0f32;
                        gdal_sys::OGR_F_GetFieldAsDateTimeEx(
                            f, i, &mut y, &mut mo, &mut d, &mut h, &mut mi, &mut s, &mut tz,
                        );
                        if field.ty == RawType::Date {
                            RawValue::Date(format!("{y:04}-{mo:02}-{d:02}"))
                        } else {
                            RawValue::DateTime(format!(
                                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{:02}",
                                s as u32
                            ))
                        }
                    }
                });
            }
            let mut g = gdal_sys::OGR_F_GetGeometryRef(f);
            let (wkb, empty) = if g.is_null() {
                (None, false)
            } else {
                let mut owned = std::ptr::null_mut();
                // Any curve type, even one whose edges are all straight (a CURVEPOLYGON of
                // line segments), is linearised into plain polygons.
                if gdal_sys::OGR_G_HasCurveGeometry(g, 0) != 0 {
                    owned = gdal_sys::OGR_G_GetLinearGeometry(g, 0.0, std::ptr::null_mut());
                    g = owned;
                }
                let empty = g.is_null() || gdal_sys::OGR_G_IsEmpty(g) != 0;
                let wkb = if empty {
                    None
                } else {
                    let size = gdal_sys::OGR_G_WkbSize(g).max(0) as usize;
                    let mut buf = vec![0u8; size];
                    gdal_sys::OGR_G_ExportToIsoWkb(
                        g,
                        gdal_sys::OGRwkbByteOrder::wkbNDR,
                        buf.as_mut_ptr(),
                    );
                    Some(buf)
                };
                if !owned.is_null() {
                    gdal_sys::OGR_G_DestroyGeometry(owned);
                }
                (wkb, empty)
            };
            gdal_sys::OGR_F_Destroy(f);
            Some(RawRecord {
                row,
                fid,
                wkb,
                empty,
                values,
            })
        }
    }

    /// Start reading again from the first feature.
    pub fn rewind(&mut self) {
        // SAFETY: valid layer handle.
        unsafe { gdal_sys::OGR_L_ResetReading(self.layer()) };
        self.next_row = 1;
    }

    /// Whether the layer's declared type is points or lines (not areas).
    pub fn declares_non_polygons(&self) -> Option<&'static str> {
        let flat = self.geometry_type & 0xff;
        match flat {
            1 | 4 => Some("points"),
            2 | 5 => Some("lines"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_unreadable_files_say_what_landwatch_reads() {
        let dir = tempfile::tempdir().unwrap();
        let e = Source::open(&dir.path().join("nope.shp"), None, None)
            .err()
            .unwrap();
        assert!(e.contains("does not exist"));
        let junk = dir.path().join("junk.shp");
        std::fs::write(&junk, b"not a shapefile").unwrap();
        let e = Source::open(&junk, None, None).err().unwrap();
        assert!(e.contains("Shapefile") && e.contains("GeoPackage"), "{e}");
    }
}
