//! `landwatch query`.

use anyhow::{bail, Context};
use geo::{Intersects, Rect};
use landwatch::geom::crs::CGCS2000_EPSG;
use landwatch::geom::Transform;
use landwatch::io::crs::SourceCrs;
use landwatch::report::geojson::{write_feature, write_properties};
use std::io::Write;

/// Arguments of `landwatch query`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: super::StoreArg,
    /// The layer.
    #[arg(long)]
    layer: String,
    /// minx,miny,maxx,maxy (lon/lat unless --bbox-crs says otherwise).
    #[arg(long, allow_hyphen_values = true)]
    bbox: String,
    /// The CRS of --bbox (EPSG:N …), e.g. EPSG:4523 for Gauss-Krüger coordinates.
    #[arg(long)]
    bbox_crs: Option<String>,
}

fn parse_bbox(s: &str) -> anyhow::Result<Rect> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--bbox '{s}' must be four numbers: minx,miny,maxx,maxy"))?;
    if v.len() != 4 || v.iter().any(|x| !x.is_finite()) {
        bail!("--bbox '{s}' must be four numbers: minx,miny,maxx,maxy");
    }
    if v[0] > v[2] || v[1] > v[3] {
        bail!("--bbox '{s}': minx must not exceed maxx, nor miny maxy");
    }
    Ok(Rect::new((v[0], v[1]), (v[2], v[3])))
}

/// A lon/lat box must hold longitudes and latitudes: anything else is a mistake to name.
fn check_lonlat(b: &Rect, given: &str) -> anyhow::Result<()> {
    let (lo, hi) = (b.min(), b.max());
    if lo.x.abs().max(hi.x.abs()) <= 180.0 && lo.y.abs().max(hi.y.abs()) <= 90.0 {
        return Ok(());
    }
    if lo.x.abs().max(hi.x.abs()) <= 90.0 && lo.y.abs().max(hi.y.abs()) <= 180.0 {
        bail!("--bbox '{given}': latitude {} is out of range; the order is lon,lat (minlon,minlat,maxlon,maxlat)", hi.y);
    }
    bail!(
        "--bbox '{given}' is not in longitude/latitude; for projected coordinates give their CRS, e.g. --bbox-crs EPSG:4523 (CGCS2000 3° Gauss-Krüger zone 35)"
    )
}

/// The window in lon/lat: a box in another CRS is a curved shape there, followed along its
/// densified edges.
fn window_lonlat(b: &Rect, crs: &str) -> anyhow::Result<geo::Polygon> {
    let crs = SourceCrs::from_user(crs).map_err(|e| anyhow::anyhow!("--bbox-crs: {e}"))?;
    Transform::new(&crs.definition, &format!("EPSG:{CGCS2000_EPSG}"))?
        .rect_outline(b)
        .context("--bbox cannot be transformed from --bbox-crs")
}

/// Print the features inside the box as a GeoJSON FeatureCollection.
pub fn run(a: Args) -> anyhow::Result<()> {
    let given = parse_bbox(&a.bbox)?;
    let window = match &a.bbox_crs {
        Some(c) => window_lonlat(&given, c)?,
        None => {
            check_lonlat(&given, &a.bbox)?;
            given.to_polygon()
        }
    };
    let bbox = geo::BoundingRect::bounding_rect(&window).context("an empty window")?;
    let store = a.store.location.open()?;
    let columns = store.columns(&a.layer)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?;
    let mut first = true;
    let mut buf = String::new();
    let mut props = String::new();
    let mut write_err = None;
    store.scan(&a.layer, Some(bbox), &mut |f| {
        if !f.geometry.as_ref().is_some_and(|g| g.intersects(&window)) {
            return Ok(());
        }
        buf.clear();
        props.clear();
        if !first {
            buf.push(',');
        }
        first = false;
        write_properties(&mut props, &columns, &f.values);
        write_feature(&mut buf, f.fid, f.geometry.as_ref(), &props);
        if write_err.is_none() {
            write_err = out.write_all(buf.as_bytes()).err();
        }
        Ok(())
    })?;
    let finish = match write_err {
        Some(e) => Err(e),
        None => out.write_all(b"]}\n").and_then(|_| out.flush()),
    };
    match finish {
        // A reader that stops early (| head) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
