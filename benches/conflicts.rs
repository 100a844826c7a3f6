//! 多规合一 benchmark: the conflicts check over every park (both plans compared, every red
//! line, park boundary and buffer check) and the compliance review of single sites, on a
//! loaded catalog (load time excluded).
//!
//! cargo bench --bench conflicts -- STORE

use landwatch::analysis::compliance::{compliance, Site};
use landwatch::analysis::conflicts::{conflicts, ConflictOptions};
use landwatch::analysis::Context;
use landwatch::catalog::Catalog;
use landwatch::geom::clip::polygons;
use landwatch::model::{Category, Role};
use landwatch::rules::Rules;
use landwatch::store::StoreLocation;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let store = args.first().expect("STORE");
    let gp = StoreLocation::gpkg(store).open()?;
    let catalog = Catalog::load(&*gp)?;
    let rules = Rules::builtin().conflicts;
    let ctx = Context::new(&catalog);

    let t = Instant::now();
    let report = conflicts(&ctx, &rules, &ConflictOptions::default())?;
    println!(
        "conflicts_seconds {:.3} ({} comparisons, {} ledger rows, {} of them slivers)",
        t.elapsed().as_secs_f64(),
        report.comparisons.len(),
        report.conflicts.len(),
        report.summary.slivers
    );

    // Sites: every 997th parcel's own polygon, reviewed for industry.
    let parcels: Vec<_> = catalog
        .by_role(Role::Parcels)
        .flat_map(|l| l.features.iter().step_by(997))
        .collect();
    let mut ms: Vec<f64> = parcels
        .iter()
        .filter_map(|f| {
            let site = Site {
                planar: polygons(f.planar.as_ref()?).into_owned(),
                lonlat_box: f.bbox?,
                intended: Some(Category::Industrial),
            };
            let t = Instant::now();
            compliance(&ctx, &rules, &site).ok()?;
            Some(t.elapsed().as_secs_f64() * 1000.0)
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    if let Some(p50) = ms.get(ms.len() / 2) {
        println!(
            "compliance_p50_ms {p50:.3} (in process, {} sites; p99 {:.3})",
            ms.len(),
            ms[ms.len() * 99 / 100]
        );
    }
    Ok(())
}
