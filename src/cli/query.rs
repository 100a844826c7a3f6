//! `landwatch query`.

use anyhow::{bail, Context};
use geo::{Intersects, Rect};
use landwatch::geom::crs::CGCS2000_EPSG;
use landwatch::geom::Transform;
use landwatch::io::crs::SourceCrs;
use landwatch::report::geojson::{write_feature, write_properties};
use landwatch::store::{GeoPackage, Store};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `landwatch query`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The store.
    #[arg(long, default_value = "data/landwatch.gpkg")]
    store: PathBuf,
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

/// Print the features inside the box as a GeoJSON FeatureCollection.
pub fn run(a: Args) -> anyhow::Result<()> {
    let mut bbox = parse_bbox(&a.bbox)?;
    if let Some(c) = &a.bbox_crs {
        let crs = SourceCrs::from_user(c).map_err(anyhow::Error::msg)?;
        let t = Transform::new(&crs.definition, &format!("EPSG:{CGCS2000_EPSG}"))?;
        // Densify the edges: a projected box is curved in lon/lat.
        let (lo, hi) = (bbox.min(), bbox.max());
        let mut pts = vec![];
        for i in 0..=16 {
            let f = f64::from(i) / 16.0;
            let x = lo.x + (hi.x - lo.x) * f;
            let y = lo.y + (hi.y - lo.y) * f;
            pts.extend([(x, lo.y), (x, hi.y), (lo.x, y), (hi.x, y)]);
        }
        let ll: Vec<(f64, f64)> = pts
            .into_iter()
            .map(|(x, y)| t.point(x, y))
            .collect::<Result<_, _>>()
            .context("--bbox cannot be transformed from --bbox-crs")?;
        let (mut min, mut max) = (ll[0], ll[0]);
        for (x, y) in ll {
            min = (min.0.min(x), min.1.min(y));
            max = (max.0.max(x), max.1.max(y));
        }
        bbox = Rect::new(min, max);
    }
    let store = GeoPackage::open(&a.store)?;
    let columns = store.columns(&a.layer)?;
    let window = bbox.to_polygon();
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
