//! Catalog benchmark: load time of a store and in-process bbox queries of about 100 parcels.
//!
//! cargo bench --bench catalog -- STORE [LAYER] [QUERIES]

use geo::Rect;

// Loading a store allocates millions of small strings and geometries; mimalloc does that
// several times faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use landwatch::catalog::Catalog;
use landwatch::store::GeoPackage;
use rand::{RngExt, SeedableRng};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let store = args
        .first()
        .map(String::as_str)
        .unwrap_or("/work/bench/lw.gpkg");
    let layer_name = args.get(1).map(String::as_str).unwrap_or("parcels");
    let queries: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let gp = GeoPackage::open(std::path::Path::new(store))?;
    let t = Instant::now();
    let catalog = Catalog::load(&gp)?;
    let load = t.elapsed().as_secs_f64();
    let layer = catalog.layer(layer_name).expect("layer");
    let n = layer.features.len();
    println!("catalog_load_seconds {load:.3} features {n}");
    // Windows sized to hold about 100 parcels on average.
    let ext = layer.info.extent.expect("extent");
    let per_feature = (ext[2] - ext[0]) * (ext[3] - ext[1]) / n as f64;
    let side = (per_feature * 100.0).sqrt();
    let mut rng = rand_pcg::Pcg64::seed_from_u64(1);
    let mut times = Vec::with_capacity(queries);
    let mut found = 0usize;
    for _ in 0..queries {
        // Centre windows on random features so they fall on parcels, not between parks.
        let f = &layer.features[rng.random_range(0..n)];
        let c = f.bbox.expect("bbox").center();
        let r = Rect::new(
            (c.x - side / 2.0, c.y - side / 2.0),
            (c.x + side / 2.0, c.y + side / 2.0),
        );
        let t = Instant::now();
        let hits = layer.in_box(&r);
        times.push(t.elapsed().as_secs_f64());
        found += hits.len();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "bbox_query_median_ms {:.4} p99_ms {:.4} mean_hits {:.1}",
        times[times.len() / 2] * 1e3,
        times[times.len() * 99 / 100] * 1e3,
        found as f64 / queries as f64
    );
    Ok(())
}
