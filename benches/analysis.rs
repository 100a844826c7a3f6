//! Analysis benchmark: every check over every park on a loaded catalog (load time excluded),
//! and the map features of each report (what the collections and tiles serve).
//!
//! cargo bench --bench analysis -- STORE [AS_OF]

use landwatch::analysis::Context;
use landwatch::catalog::Catalog;
use landwatch::checks::{self, Param, Query, CHECKS};
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
    let as_of = args.get(1).map_or("2026-11-22", String::as_str).parse()?;
    let gp = StoreLocation::gpkg(store).open()?;
    let t = Instant::now();
    let catalog = Catalog::load(&*gp)?;
    let parcels: usize = catalog
        .by_role(landwatch::model::Role::Parcels)
        .map(|l| l.features.len())
        .sum();
    println!(
        "catalog_load_seconds {:.2} ({parcels} parcels)",
        t.elapsed().as_secs_f64()
    );
    let rules = Rules::builtin();
    let ctx = Context::new(&catalog);
    let mut flag_total = 0.0;
    for check in CHECKS {
        // A site review needs a site, not a store-wide run.
        if check.params().contains(&Param::Site) {
            continue;
        }
        let t = Instant::now();
        let report = checks::run(*check, &ctx, &rules, &Query::new(as_of))?;
        let secs = t.elapsed().as_secs_f64();
        let n = report.tables().first().map_or(0, |t| t.rows.len());
        if ["idle", "underused"].contains(&check.id()) {
            flag_total += secs;
        }
        println!("check_{check}_seconds {secs:.3} ({n} main-table rows)");
        let t = Instant::now();
        let features = report.map_features(&catalog).len();
        println!(
            "map_features_{check}_seconds {:.3} ({features} features)",
            t.elapsed().as_secs_f64()
        );
    }
    println!("idle_plus_underused_seconds {flag_total:.3}");
    std::process::exit(0);
}
