//! Catalog benchmark: load time of a store, then the same random bbox windows of about 100
//! parcels queried in-process through landwatch's R-tree and through GDAL (the GeoPackage
//! R-tree of a GDAL-written copy, with a spatial filter).
//!
//! cargo bench --bench catalog -- STORE GDAL_GPKG [LAYER] [QUERIES] [WINDOWS_OUT]
//!
//! WINDOWS_OUT, when given, receives the windows (`minx,miny,maxx,maxy` in lon/lat, one a
//! line) so that the HTTP benchmark asks the server for the same ones.

use gdal::vector::LayerAccess;
use geo::Rect;
use landwatch::catalog::Catalog;
use landwatch::store::StoreLocation;
use rand::{RngExt, SeedableRng};
use std::time::Instant;

// The binary's allocator, so load times match `landwatch serve`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let store = args.first().expect("STORE");
    let gdal_copy = args.get(1).expect("GDAL_GPKG");
    let layer_name = args.get(2).map(String::as_str).unwrap_or("parcels");
    let queries: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let windows_out = args.get(4);

    let gp = StoreLocation::gpkg(store).open()?;
    let t = Instant::now();
    let catalog = Catalog::load(&*gp)?;
    let load = t.elapsed().as_secs_f64();
    let layer = catalog.layer(layer_name).expect("layer");
    let n = layer.features.len();
    println!("catalog_load_seconds {load:.2} ({n} features)");

    // Windows centred on random features, sized so they hold about 100 parcels.
    let mut rng = rand_pcg::Pcg64::seed_from_u64(1);
    let centres: Vec<(f64, f64)> = (0..queries)
        .map(|_| {
            let c = layer.features[rng.random_range(0..n)]
                .bbox
                .expect("bbox")
                .center();
            (c.x, c.y)
        })
        .collect();
    let window = |side: f64, (x, y): (f64, f64)| {
        Rect::new(
            (x - side / 2.0, y - side / 2.0),
            (x + side / 2.0, y + side / 2.0),
        )
    };
    let mut side = 0.01;
    for _ in 0..4 {
        let mean = centres[..200]
            .iter()
            .map(|c| layer.in_box(&window(side, *c)).len())
            .sum::<usize>() as f64
            / 200.0;
        side *= (100.0 / mean.max(1.0)).sqrt();
    }

    if let Some(path) = windows_out {
        let lines: String = centres
            .iter()
            .map(|c| {
                let r = window(side, *c);
                format!("{},{},{},{}\n", r.min().x, r.min().y, r.max().x, r.max().y)
            })
            .collect();
        std::fs::write(path, lines)?;
    }

    let mut ours = Vec::with_capacity(queries);
    let mut hits = 0usize;
    for c in &centres {
        let r = window(side, *c);
        let t = Instant::now();
        let found = layer.in_box(&r);
        ours.push(t.elapsed().as_secs_f64() * 1e3);
        hits += found.len();
    }
    ours.sort_by(f64::total_cmp);

    let ds = gdal::Dataset::open(gdal_copy)?;
    let mut gl = ds.layer_by_name(layer_name)?;
    // GDAL's copy keeps the source CRS: give it each window in that CRS.
    let srs = gl.spatial_ref().expect("the GDAL copy has a CRS");
    let src = landwatch::io::crs::SourceCrs::from_spatial_ref(&srs, "copy")
        .map_err(anyhow::Error::msg)?;
    let to_source = landwatch::geom::Transform::new("EPSG:4490", &src.definition)?;
    let mut theirs = Vec::with_capacity(queries);
    let mut gdal_hits = 0usize;
    for c in &centres {
        let r = window(side, *c);
        let (x0, y0) = to_source.point(r.min().x, r.min().y)?;
        let (x1, y1) = to_source.point(r.max().x, r.max().y)?;
        let t = Instant::now();
        gl.set_spatial_filter_rect(x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1));
        let count = gl.features().count();
        theirs.push(t.elapsed().as_secs_f64() * 1e3);
        gdal_hits += count;
    }
    theirs.sort_by(f64::total_cmp);
    println!(
        "bbox_query_ms landwatch median {:.4} p99 {:.4} | gdal median {:.4} p99 {:.4} | speed-up {:.0}x | mean hits {:.1} (gdal {:.1})",
        percentile(&ours, 0.5),
        percentile(&ours, 0.99),
        percentile(&theirs, 0.5),
        percentile(&theirs, 0.99),
        percentile(&theirs, 0.5) / percentile(&ours, 0.5),
        hits as f64 / queries as f64,
        gdal_hits as f64 / queries as f64
    );
    // Skip freeing a million features: the numbers are printed, the process is done.
    std::process::exit(0);
}
