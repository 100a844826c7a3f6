//! Ingest (入库): one source layer into the store, all or nothing.
//!
//! A reader thread pulls records out of GDAL, a processing stage decodes, checks, repairs and
//! transforms them on every core, and the store writes them in one transaction. Any refusal —
//! bad rows under `--on-error fail`, duplicate ids, a CRS that does not fit — rolls the
//! transaction back, so the store stays exactly as it was.

mod extent;
mod record;
mod report;

pub use report::{AreaFigures, IngestError, IngestReport, RowError};

use crate::geom::bounds::{cover, cover_all};
use crate::geom::crs::{suggest_crs, CGCS2000_EPSG};
use crate::geom::{AnalysisCrs, Transform};
use crate::io::crs::SourceCrs;
use crate::io::encoding::{self, decode_field_name, EncodingChoice};
use crate::io::mapping::{self, SourceColumn, UserMapping};
use crate::io::source::{EncodingHint, RawType};
use crate::io::{RawRecord, RawValue, Source};
use crate::model::attr::{AttrType, Column};
use crate::model::fields::field;
use crate::model::land_class::{detect_system, lookup};
use crate::model::value::unit_in_field_name;
use crate::model::{ClassSystem, PlanKind, RedlineKind, Role};
use crate::store::{validate_layer_name, Commit, EventFilter, LayerInfo, NewLayer, StoreLocation};
use extent::{check_layer_extent, UseArea};
use geo::{BoundingRect, Rect};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use record::{CanonicalColumn, Context, Outcome};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

/// What to do with rows that have bad values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Refuse the whole file and list the first 20 problems (the default).
    Fail,
    /// Store the other rows and report the skipped ones.
    Skip,
}

/// An ingest as the command line asks for it.
#[derive(Clone, Debug)]
pub struct IngestRequest {
    /// The source file.
    pub file: PathBuf,
    /// The store.
    pub store: StoreLocation,
    /// The layer's role.
    pub role: Role,
    /// The stored layer's name.
    pub name: String,
    /// The layer inside the source, when it has several.
    pub layer: Option<String>,
    /// Keep only the features matching this OGR SQL WHERE clause.
    pub filter: Option<String>,
    /// A CRS that overrides (or replaces a missing) .prj.
    pub crs: Option<String>,
    /// A text encoding that overrides .cpg and LDID.
    pub encoding: Option<String>,
    /// A field-mapping file.
    pub mapping: Option<PathBuf>,
    /// Bad-row policy.
    pub on_error: OnError,
    /// Plan kind (土规/控规/国土空间规划) or red-line kind.
    pub kind: Option<String>,
    /// The land classification system of the codes.
    pub land_system: Option<ClassSystem>,
    /// The analysis CRS, for the first layer of a store.
    pub analysis_crs: Option<String>,
    /// Polygons with more vertices than this are refused as faults (`--max-vertices`).
    pub max_vertices: usize,
    /// Show a progress bar (only ever on a terminal).
    pub progress: bool,
}

/// The default of `--max-vertices`: far above any surveyed parcel (a few thousand), low enough
/// that a runaway export is refused within seconds.
pub const MAX_VERTICES: usize = 1_000_000;

const BATCH: usize = 2048;
const SAMPLE: usize = 1000;
const SHOWN_ERRORS: usize = 20;
const REPORTED_SKIPS: usize = 100;

/// Ingest one layer.
pub fn ingest(req: &IngestRequest) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    let file = encoding::display_path(&req.file);
    let refuse = |problem: String, hint: &str| IngestError::Refused {
        file: file.clone(),
        problem,
        hint: hint.to_string(),
    };
    validate_layer_name(&req.name).map_err(|e| {
        refuse(
            e.to_string(),
            "choose a name like parcels, kg_2021 or tugui-2020",
        )
    })?;
    let user = match &req.mapping {
        Some(p) => UserMapping::load(p, req.role).map_err(|e| refuse(e, "fix the mapping file"))?,
        None => UserMapping::default(),
    };
    let mut source =
        Source::open(&req.file, req.layer.as_deref(), req.filter.as_deref()).map_err(|why| {
            IngestError::Open {
                file: file.clone(),
                why,
            }
        })?;
    // A shapefile whose .dbf and .shx disagree loses the unpaired records silently in GDAL.
    let unpaired = source.shapefile_counts.filter(|c| c.mismatched());
    if let Some(c) = unpaired {
        if req.on_error == OnError::Fail {
            return Err(refuse(
                format!(
                    "{c}; {} of them have no partner and would be lost",
                    c.shapes.max(c.dbf_held) - c.readable()
                ),
                "export the shapefile again (or copy all of its parts again); or pass --on-error skip to store the paired records and list the rows that are missing",
            ));
        }
    }
    if req.role.needs_polygons() {
        if let Some(what) = source.declares_non_polygons() {
            return Err(refuse(
                format!(
                    "layer '{}' holds {what}, but {} ({}) must be polygons",
                    source.layer_name,
                    req.role,
                    req.role.label_zh()
                ),
                "ingest the polygon boundaries, or store this layer with --role other",
            ));
        }
    }
    let mut sample: Vec<RawRecord> = std::iter::from_fn(|| source.next_record())
        .take(SAMPLE)
        .collect();
    let forced = req.encoding.clone().or(user.options.encoding.clone());
    let mut choice = choose_encoding(forced.as_deref(), &source, &sample)
        .map_err(|e| refuse(e, "pass --encoding GBK, GB18030, UTF-8 or BIG5"))?;
    loop {
        match run(
            req,
            &user,
            &mut source,
            std::mem::take(&mut sample),
            &choice,
            started,
        ) {
            Ok(report) => return Ok(report),
            Err(Attempt::Failed(e)) => return Err(e),
            Err(Attempt::Misdecoded(row)) => {
                choice = EncodingChoice {
                    encoding: encoding_rs::GB18030,
                    reason: format!(
                        "{}; but row {row} is not valid UTF-8, so the file is read as GB18030 (GBK)",
                        choice.reason
                    ),
                    detected: false,
                };
                source.rewind();
            }
        }
    }
}

fn choose_encoding(
    forced: Option<&str>,
    source: &Source,
    sample: &[RawRecord],
) -> Result<EncodingChoice, String> {
    if let Some(label) = forced {
        return encoding::from_label(label)
            .map(|encoding| EncodingChoice {
                encoding,
                reason: format!("--encoding {label}"),
                detected: false,
            })
            .ok_or_else(|| format!("unknown encoding '{label}'"));
    }
    let why_unknown = match &source.encoding_hint {
        EncodingHint::Utf8Format => return Ok(EncodingChoice::utf8_by_format(&source.driver)),
        EncodingHint::Cpg(label) => match encoding::from_label(label) {
            Some(encoding) => {
                return Ok(EncodingChoice {
                    encoding,
                    reason: format!(".cpg file says '{label}'"),
                    detected: false,
                })
            }
            None => format!(".cpg file says '{label}', which is not an encoding landwatch knows"),
        },
        EncodingHint::Ldid(ldid) => match encoding::from_ldid(*ldid) {
            Some((encoding, cp)) => {
                return Ok(EncodingChoice {
                    encoding,
                    reason: format!(
                        "no .cpg; the DBF language driver byte (LDID) is 0x{ldid:02X} = code page {cp}"
                    ),
                    detected: false,
                })
            }
            None if *ldid == 0x57 => "no .cpg; the DBF language driver byte (LDID) is 0x57 (the writer's ANSI code page, unknown)".to_string(),
            None => format!("no .cpg and the DBF language driver byte (LDID) is 0x{ldid:02X}"),
        },
    };
    let texts = sample
        .iter()
        .flat_map(|r| r.values.iter())
        .filter_map(|v| match v {
            RawValue::Bytes(b) => Some(b.as_slice()),
            _ => None,
        })
        .chain(source.fields.iter().map(|f| f.name.as_slice()));
    Ok(encoding::detect(texts, &why_unknown))
}

enum Attempt {
    Failed(IngestError),
    Misdecoded(u64),
}

impl From<IngestError> for Attempt {
    fn from(e: IngestError) -> Self {
        Attempt::Failed(e)
    }
}

impl From<crate::store::StoreError> for Attempt {
    fn from(e: crate::store::StoreError) -> Self {
        Attempt::Failed(e.into())
    }
}

/// Decode column names, keeping them unique.
fn decode_columns(source: &Source, choice: &EncodingChoice) -> (Vec<Column>, Vec<SourceColumn>) {
    let dbf = source.driver == "ESRI Shapefile";
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut columns = vec![];
    let mut mapped = vec![];
    for (i, f) in source.fields.iter().enumerate() {
        let (mut name, cut) = decode_field_name(choice, &f.name, dbf);
        if name.is_empty() {
            name = format!("field_{}", i + 1);
        }
        let n = seen.entry(name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            name = format!("{name}_{n}");
        }
        columns.push(Column {
            name: name.clone(),
            ty: match f.ty {
                RawType::Integer => AttrType::Integer,
                RawType::Real => AttrType::Real,
                RawType::Text => AttrType::Text,
                RawType::Date => AttrType::Date,
                RawType::DateTime => AttrType::DateTime,
            },
        });
        mapped.push(SourceColumn { name, cut });
    }
    (columns, mapped)
}

/// The lon/lat boxes of the sampled geometries.
fn sampled_lonlat_boxes(sample: &[RawRecord], to_lonlat: &Transform) -> Vec<Rect> {
    sample
        .iter()
        .filter_map(|r| {
            let mut g = crate::geom::wkb::read(r.wkb.as_ref()?).ok()?;
            to_lonlat.geometry(&mut g).ok()?;
            g.bounding_rect()
        })
        .collect()
}

/// Where the layer lies in lon/lat, checked against the CRS's area of use. A layer whose
/// extent does not fit is refused with the likely cause (swapped X/Y, wrong zone) — unless
/// most sampled features fit: then a few stray features spoil the extent, they become row
/// errors naming their rows, and the box is that of the features that fit.
fn layer_lonlat_box(
    source: &Source,
    sample: &[RawRecord],
    crs: &SourceCrs,
    to_lonlat: &Transform,
) -> Result<Option<Rect>, (String, String)> {
    let Some(extent) = &source.extent else {
        return Ok(cover_all(sampled_lonlat_boxes(sample, to_lonlat)));
    };
    match check_layer_extent(extent, crs, to_lonlat) {
        Ok(ll) => Ok(Some(ll)),
        Err((problem, hint)) => {
            let area = UseArea::of(crs);
            let fitting: Vec<Rect> = sampled_lonlat_boxes(sample, to_lonlat)
                .into_iter()
                .filter(|b| area.contains(b))
                .collect();
            let sampled_count = sample.iter().filter(|r| r.wkb.is_some()).count();
            if fitting.len() * 2 > sampled_count {
                Ok(cover_all(fitting))
            } else {
                Err((problem, hint))
            }
        }
    }
}

fn resolve_kind(
    req: &IngestRequest,
    refuse: &dyn Fn(String, &str) -> IngestError,
    notes: &mut Vec<String>,
) -> Result<Option<String>, IngestError> {
    let stem = req
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    match req.role {
        Role::Plan => {
            if let Some(k) = &req.kind {
                return k
                    .parse::<PlanKind>()
                    .map(|k| Some(k.as_str().to_string()))
                    .map_err(|e| refuse(e, "pass --kind land_use, urban or territorial"));
            }
            let guess =
                PlanKind::guess_from_name(&req.name).or_else(|| PlanKind::guess_from_name(&stem));
            if guess.is_none() {
                notes.push("the plan's kind (土规, 控规, 国土空间规划) is neither given nor recognisable from its name; pass --kind so plan conflicts know which plan is which".into());
            }
            Ok(guess.map(|k| k.as_str().to_string()))
        }
        Role::Redline => {
            if let Some(k) = &req.kind {
                return k
                    .parse::<RedlineKind>()
                    .map(|k| Some(k.as_str().to_string()))
                    .map_err(|e| refuse(e, "pass --kind ecological, farmland or urban_boundary"));
            }
            Ok(RedlineKind::guess_from_name(&req.name)
                .or_else(|| RedlineKind::guess_from_name(&stem))
                .map(|k| k.as_str().to_string()))
        }
        _ => match &req.kind {
            Some(_) => Err(refuse(
                format!(
                    "--kind applies to plan and redline layers, not {}",
                    req.role
                ),
                "drop --kind",
            )),
            None => Ok(None),
        },
    }
}

#[allow(clippy::too_many_lines)]
fn run(
    req: &IngestRequest,
    user: &UserMapping,
    source: &mut Source,
    sample: Vec<RawRecord>,
    choice: &EncodingChoice,
    started: Instant,
) -> Result<IngestReport, Attempt> {
    let file = encoding::display_path(&req.file);
    let refuse = |problem: String, hint: &str| IngestError::Refused {
        file: file.clone(),
        problem,
        hint: hint.to_string(),
    };
    let mut notes: Vec<String> = vec![];
    let unpaired = source.shapefile_counts.filter(|c| c.mismatched());
    if let Some(c) = unpaired {
        notes.push(format!(
            "{c}: only the first {} rows were stored; the others are listed as skipped",
            c.readable()
        ));
    }
    if let Some(f) = &req.filter {
        notes.push(format!("only features matching --where {f}"));
    }
    let (columns, source_columns) = decode_columns(source, choice);
    let resolved = mapping::resolve(req.role, &source_columns, user)
        .map_err(|e| refuse(e, "fix the mapping file or the source's field names"))?;
    notes.extend(resolved.notes.iter().cloned());
    let canonical: Vec<CanonicalColumn> = resolved
        .columns
        .iter()
        .map(|(key, &index)| {
            let spec = field(req.role, key).expect("resolved keys are canonical");
            CanonicalColumn {
                kind: spec.kind,
                index,
                unit: unit_in_field_name(&columns[index].name, spec.kind),
            }
        })
        .collect();
    let id_index = resolved.columns.get("id").copied();
    let code_index = resolved.columns.get("land_use_code").copied();
    let id_source = match id_index {
        Some(i) => columns[i].name.clone(),
        None => {
            if req.role.needs_id() {
                notes.push("the source has no parcel id field (宗地编号, 地块编号, ZDBH …): ids are the feature ids (fid); map the id field with --mapping if it has another name".into());
            }
            "fid".to_string()
        }
    };
    let kind = resolve_kind(req, &refuse, &mut notes)?;

    // CRS.
    let crs = match (&req.crs, &source.spatial_ref) {
        (Some(user_crs), file_srs) => {
            let c = SourceCrs::from_user(user_crs).map_err(|e| refuse(e, "pass --crs EPSG:N"))?;
            if let Some(f) = file_srs
                .as_ref()
                .and_then(|s| SourceCrs::from_spatial_ref(s, "file").ok())
            {
                if f.definition != c.definition {
                    notes.push(format!(
                        "--crs {} overrides the file's CRS ({})",
                        c.label, f.label
                    ));
                }
            }
            c
        }
        (None, Some(srs)) => {
            let origin = if source.driver == "ESRI Shapefile" {
                ".prj"
            } else {
                "the file"
            };
            SourceCrs::from_spatial_ref(srs, origin).map_err(|e| refuse(e, "pass --crs EPSG:N"))?
        }
        (None, None) => {
            let suggestion = source
                .extent
                .as_ref()
                .map(suggest_crs)
                .unwrap_or_else(|| "the file has no extent to guess from; ask the data provider, then pass --crs EPSG:N".into());
            return Err(refuse(
                "the file declares no coordinate system (no .prj or CRS metadata), and landwatch never guesses a datum".into(),
                &suggestion,
            )
            .into());
        }
    };
    let lonlat_def = format!("EPSG:{CGCS2000_EPSG}");
    let to_lonlat = Transform::new(&crs.definition, &lonlat_def)
        .map_err(|e| refuse(e.to_string(), "pass --crs with a CRS PROJ can transform"))?;
    let layer_box =
        layer_lonlat_box(source, &sample, &crs, &to_lonlat).map_err(|(p, h)| refuse(p, &h))?;

    // The store, and the analysis CRS every layer of it shares.
    let mut store = req.store.open_for_writing()?;
    if let Some(taken) = store.name_taken_in_other_case(&req.name)? {
        return Err(refuse(
            format!(
                "the store already has '{taken}', and names differing only in letter case are the same name in a GeoPackage"
            ),
            &format!("use --name {taken} to replace that layer, or another name"),
        )
        .into());
    }
    let analysis = match (store.analysis_crs()?, &req.analysis_crs) {
        (Some(existing), Some(asked)) if existing.definition != *asked => {
            return Err(refuse(
                format!(
                    "the store's analysis CRS is {}, not {asked}",
                    existing.label
                ),
                "drop --analysis-crs (it applies to a store's first layer only)",
            )
            .into())
        }
        (Some(existing), _) => existing,
        (None, Some(asked)) => {
            let c =
                SourceCrs::from_user(asked).map_err(|e| refuse(e, "pass --analysis-crs EPSG:N"))?;
            let cm = layer_box.map_or(0.0, |b| b.center().x);
            AnalysisCrs {
                definition: c.definition,
                label: c.label,
                central_meridian: cm,
            }
        }
        (None, None) => AnalysisCrs::for_longitude(layer_box.map_or(105.0, |b| b.center().x)),
    };
    if let Some(b) = layer_box {
        // Transverse Mercator scale grows with the square of the distance from the meridian.
        let off = analysis
            .offset_from_meridian(b.min().x)
            .max(analysis.offset_from_meridian(b.max().x));
        let lat = b.min().y.abs().min(b.max().y.abs());
        let scale = (off.to_radians() * lat.to_radians().cos()).powi(2);
        if off > 10.0 {
            notes.push(format!(
                "parts of the layer lie {off:.1}° from the store's analysis CRS ({}°E), far outside its zone: planar areas and overlays there are distorted; use the ellipsoidal areas, or keep this data in a store of its own",
                analysis.central_meridian
            ));
        } else if scale > 1e-3 {
            notes.push(format!(
                "parts of the layer lie up to {off:.1}° from the analysis CRS's central meridian ({}°E), where planar areas run up to {:.1}% large; use the ellipsoidal areas for them",
                analysis.central_meridian,
                scale * 100.0
            ));
        }
    }
    let to_planar = Transform::new(&crs.definition, &analysis.definition)
        .map_err(|e| refuse(e.to_string(), "check the analysis CRS"))?;
    if let Some(datum) = ["Xian 1980", "Beijing 1954"]
        .into_iter()
        .find(|d| crs.label.contains(d))
        .filter(|_| !crs.definition.contains("towgs84"))
    {
        // PROJ has no published shift from these datums to CGCS2000: it uses a ballpark one.
        notes.push(format!(
            "{datum} has no published datum shift to CGCS2000 in PROJ: positions are converted without one and may be off by tens of metres (areas hardly change); for survey-grade positions give the local parameters with --crs '+proj=… +towgs84=…'"
        ));
    }

    let ctx = Context {
        role: req.role,
        encoding: choice.clone(),
        columns: columns.clone(),
        canonical,
        id_index,
        code_index,
        to_lonlat,
        to_planar,
        use_area: UseArea::of(&crs),
        crs_label: crs.label.clone(),
        max_vertices: req.max_vertices,
    };
    let new_layer = NewLayer {
        name: req.name.clone(),
        columns: columns.clone(),
        geometry_type: if req.role.needs_polygons() {
            "MULTIPOLYGON"
        } else {
            "GEOMETRY"
        }
        .into(),
        source: file.clone(),
    };

    let progress = if req.progress && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let pb = ProgressBar::with_draw_target(source.feature_count, ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        pb.set_message(format!("ingesting {}", req.name));
        pb
    } else {
        ProgressBar::hidden()
    };

    let mut stats = Stats::default();
    // Events are never dropped with a layer: those whose feature is gone are reported.
    let events = store.events(&EventFilter {
        layer: Some(req.name.clone()),
        ..EventFilter::default()
    })?;
    let mut writer = store.begin_layer(&new_layer)?;
    let replaced = writer.replaces();
    let reader: &mut Source = &mut *source;
    let outcome: Result<(), Attempt> = std::thread::scope(|s| {
        let (raw_tx, raw_rx) = sync_channel::<Vec<RawRecord>>(4);
        let (out_tx, out_rx) = sync_channel::<Vec<Outcome>>(4);
        s.spawn(move || {
            let mut records = sample
                .into_iter()
                .chain(std::iter::from_fn(|| reader.next_record()));
            loop {
                let batch: Vec<RawRecord> = records.by_ref().take(BATCH).collect();
                if batch.is_empty() || raw_tx.send(batch).is_err() {
                    return;
                }
            }
        });
        let ctx = &ctx;
        s.spawn(move || {
            for batch in raw_rx {
                let outs: Vec<Outcome> = batch
                    .into_par_iter()
                    .map(|r| record::process(ctx, r))
                    .collect();
                if out_tx.send(outs).is_err() {
                    return;
                }
            }
        });
        for outs in out_rx {
            let n = outs.len() as u64;
            for o in outs {
                match o {
                    Outcome::Misdecoded(row) => return Err(Attempt::Misdecoded(row)),
                    Outcome::Bad(errors) => stats.bad(errors),
                    Outcome::Stored(f) => {
                        let write = req.on_error == OnError::Skip || stats.bad_rows == 0;
                        stats.good(&f);
                        if write {
                            writer.insert(f.geometry.as_ref(), &f.values)?;
                        }
                    }
                }
            }
            progress.inc(n);
        }
        Ok(())
    });
    progress.finish_and_clear();
    outcome?;
    if let Some(c) = unpaired {
        for row in c.readable() + 1..=c.shapes.max(c.dbf_held) {
            stats.bad(vec![RowError {
                row,
                fid: row as i64 - 1,
                field: None,
                value: None,
                problem: if row <= c.shapes {
                    "the shape has no attribute record in the .dbf".into()
                } else {
                    "the .dbf record has no shape in the .shp/.shx".into()
                },
            }]);
        }
    }

    if stats.bad_rows > 0 && req.on_error == OnError::Fail {
        return Err(IngestError::Rows {
            file,
            total: stats.bad_rows,
            shown: stats.errors.into_iter().take(SHOWN_ERRORS).collect(),
        }
        .into());
    }
    if !stats.duplicates.is_empty() {
        let mut dups: Vec<(String, Vec<u64>)> = stats
            .duplicates
            .into_iter()
            .map(|(id, mut rows)| {
                rows.insert(0, stats.ids[&id]);
                (id, rows)
            })
            .collect();
        dups.sort_by_key(|(_, rows)| rows[0]);
        dups.truncate(SHOWN_ERRORS);
        return Err(IngestError::DuplicateIds {
            file,
            field: id_source,
            duplicates: dups,
        }
        .into());
    }
    if stats.stored == 0 {
        return Err(refuse(
            if stats.bad_rows > 0 {
                "every row was skipped; nothing is left to store".into()
            } else {
                format!("layer '{}' has no features", source.layer_name)
            },
            "check that this is the right file and layer",
        )
        .into());
    }
    let garbled_names = columns
        .iter()
        .filter(|c| c.name.contains('\u{FFFD}'))
        .count();
    if (stats.lossy > 0 || garbled_names > 0) && req.on_error == OnError::Fail {
        let other = if choice.encoding == encoding_rs::UTF_8 {
            "GBK"
        } else {
            "UTF-8"
        };
        return Err(refuse(
            format!(
                "{} values and {garbled_names} field names are not valid {} ({}): the text is in another encoding",
                stats.lossy,
                choice.name(),
                choice.reason
            ),
            &format!(
                "pass --encoding {other} (or the encoding the file was written in), or --on-error skip to store the text with replacement characters (�)"
            ),
        )
        .into());
    }
    if stats.lossy > 0 {
        notes.push(format!(
            "{} values were not valid {} and were decoded with replacement characters (�): check the encoding, or pass --encoding",
            stats.lossy,
            choice.name()
        ));
    }

    // Land classification system of the codes.
    let declared = match req.land_system {
        Some(s) => Some((s, "declared with --land-system".to_string())),
        None => match &user.options.land_system {
            Some(text) => Some((
                text.parse::<ClassSystem>()
                    .map_err(|e| refuse(e, "fix the mapping file"))?,
                "declared in the mapping file".to_string(),
            )),
            None => None,
        },
    };
    let (land_system, land_system_reason, unknown_codes) =
        if matches!(req.role, Role::Parcels | Role::Plan) {
            match (declared, code_index) {
                (Some((s, why)), _) => {
                    let unknown: Vec<String> = stats
                        .codes
                        .iter()
                        .filter(|c| lookup(s, c).is_none())
                        .cloned()
                        .collect();
                    (Some(s), Some(why), unknown)
                }
                (None, Some(_)) => {
                    let d = detect_system(stats.codes.iter().map(String::as_str));
                    if d.system.is_none() {
                        notes.push(format!(
                            "land classification system not determined: {}; pass --land-system",
                            d.reason
                        ));
                    }
                    (d.system, Some(d.reason), d.unknown_codes)
                }
                (None, None) => (
                    None,
                    Some(if resolved.columns.contains_key("land_use_name") {
                        "no land-use code field; categories come from the land-use names"
                            .to_string()
                    } else {
                        "no land-use code or name field".to_string()
                    }),
                    vec![],
                ),
            }
        } else {
            (None, None, vec![])
        };

    let extent = stats
        .extent
        .map(|e| [e.min().x, e.min().y, e.max().x, e.max().y]);
    let mapping: BTreeMap<String, String> = resolved
        .columns
        .iter()
        .map(|(k, &i)| (k.clone(), columns[i].name.clone()))
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    let orphaned = report::orphans(&events, |id| {
        if id_source == "fid" {
            id.parse::<u64>().is_ok_and(|n| n >= 1 && n <= stats.stored)
        } else {
            stats.ids.contains_key(id)
        }
    });
    let report = IngestReport {
        events_kept: events.len(),
        orphaned,
        layer: req.name.clone(),
        role: req.role.as_str().into(),
        kind: kind.clone(),
        source: file.clone(),
        source_layer: source.layer_name.clone(),
        driver: source.driver.clone(),
        replaced,
        features: stats.stored,
        repaired: stats.repaired,
        repaired_rows: stats.repaired_rows,
        skipped: stats.bad_rows,
        skipped_rows: stats.errors.into_iter().take(REPORTED_SKIPS).collect(),
        encoding: choice.name().into(),
        encoding_source: choice.reason.clone(),
        crs: crs.label.clone(),
        crs_source: crs.origin.clone(),
        analysis_crs: analysis.label.clone(),
        area: AreaFigures::new(stats.planar_m2, stats.ellipsoidal_m2),
        extent,
        mapping: mapping.clone(),
        id_source: id_source.clone(),
        land_system: land_system.map(|s| s.as_str().to_string()),
        land_system_reason: land_system_reason.clone(),
        unknown_codes,
        notes: notes.clone(),
        seconds,
    };
    let info = LayerInfo {
        name: req.name.clone(),
        role: req.role,
        kind,
        source: file,
        source_layer: source.layer_name.clone(),
        source_crs: crs.definition.clone(),
        source_crs_label: crs.label.clone(),
        encoding: choice.name().into(),
        encoding_source: choice.reason.clone(),
        land_system,
        land_system_reason,
        mapping,
        id_source,
        count: stats.stored,
        repaired: stats.repaired,
        skipped: report.skipped,
        area_m2: stats.planar_m2,
        area_ellipsoidal_m2: stats.ellipsoidal_m2,
        extent,
        ingested_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        notes,
    };
    let json = serde_json::to_string(&report).expect("serialisable");
    writer.commit(&Commit {
        info: &info,
        analysis_crs: &analysis,
        seconds,
        report_json: &json,
    })?;
    store.close()?;
    Ok(report)
}

/// Running totals of a streaming ingest.
#[derive(Default)]
struct Stats {
    stored: u64,
    bad_rows: u64,
    errors: Vec<RowError>,
    repaired: u64,
    repaired_rows: Vec<u64>,
    lossy: u64,
    planar_m2: f64,
    ellipsoidal_m2: f64,
    extent: Option<Rect>,
    ids: HashMap<String, u64>,
    duplicates: BTreeMap<String, Vec<u64>>,
    codes: BTreeSet<String>,
}

impl Stats {
    fn bad(&mut self, errors: Vec<RowError>) {
        self.bad_rows += 1;
        if self.errors.len() < REPORTED_SKIPS {
            self.errors.extend(errors);
        }
    }

    fn good(&mut self, f: &record::Feature) {
        self.stored += 1;
        self.planar_m2 += f.planar_m2;
        self.ellipsoidal_m2 += f.ellipsoidal_m2;
        if f.repaired {
            self.repaired += 1;
            if self.repaired_rows.len() < SHOWN_ERRORS {
                self.repaired_rows.push(f.row);
            }
        }
        if f.lossy_text {
            self.lossy += 1;
        }
        if let Some(b) = f.geometry.as_ref().and_then(BoundingRect::bounding_rect) {
            self.extent = Some(self.extent.map_or(b, |a| cover(a, b)));
        }
        if let Some(id) = &f.id {
            if self.ids.contains_key(id) {
                self.duplicates.entry(id.clone()).or_default().push(f.row);
            } else {
                self.ids.insert(id.clone(), f.row);
            }
        }
        if let Some(code) = &f.code {
            if self.codes.len() < 10_000 {
                self.codes.insert(code.clone());
            }
        }
    }
}
