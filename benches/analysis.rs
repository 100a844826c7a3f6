//! Analysis benchmark: idle and under-used flagging of every parcel, and zoning of every park,
//! on a loaded catalog (load time excluded).
//!
//! cargo bench --bench analysis -- STORE [AS_OF]

use landwatch::analysis::{self, Check, Context};
use landwatch::catalog::Catalog;
use landwatch::rules::Rules;
use landwatch::store::GeoPackage;
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
    let gp = GeoPackage::open(std::path::Path::new(store))?;
    let t = Instant::now();
    let catalog = Catalog::load(&gp)?;
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
    for check in [
        Check::Idle,
        Check::Underused,
        Check::Zoning,
        Check::Indicators,
        Check::Mujun,
        Check::Quality,
    ] {
        let t = Instant::now();
        let report = analysis::run(check, &ctx, &rules, as_of, None);
        let secs = t.elapsed().as_secs_f64();
        let n = match &report {
            analysis::CheckReport::Idle(r) => r.parcels.len(),
            analysis::CheckReport::Underused(r) => r.parcels.len(),
            analysis::CheckReport::Zoning(r) => r.parks.len(),
            analysis::CheckReport::Indicators(r) => r.parks.len(),
            analysis::CheckReport::Mujun(r) => r.firms.len(),
            analysis::CheckReport::Quality(r) => r.issues.len(),
        };
        if matches!(check, Check::Idle | Check::Underused) {
            flag_total += secs;
        }
        println!("check_{check}_seconds {secs:.3} ({n} results)");
    }
    println!("idle_plus_underused_seconds {flag_total:.3}");
    std::process::exit(0);
}
