//! `landwatch check`.

use anyhow::{bail, Context as _};
use clap::ValueEnum;
use landwatch::analysis::{self, Context};
use landwatch::catalog::{Catalog, Scope};
use landwatch::checks::{self, write_geojson, Analysis, Param, Query};
use landwatch::report::table::{pick, table_list, write_csv, write_text, write_xlsx};
use landwatch::rules::Rules;
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// Aligned tables for a terminal.
    Table,
    /// The full report as JSON.
    Json,
    /// One table as CSV (UTF-8 with BOM, for Excel): the main one, or --table.
    Csv,
    /// Every table, one sheet each (needs --out).
    Xlsx,
    /// The map features with their findings, for QGIS: flagged parcels, parks, conflict
    /// polygons, or the reviewed site.
    Geojson,
}

/// Arguments of `landwatch check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The check: idle, underused, mujun (per_mu), zoning, indicators, quality, conflicts or
    /// compliance.
    #[arg(value_parser = parse_check)]
    check: &'static dyn Analysis,
    #[command(flatten)]
    store: super::StoreArg,
    /// Only this park (园区编号).
    #[arg(long)]
    park: Option<String>,
    /// Evaluation date (YYYY-MM-DD); default today (China time).
    #[arg(long)]
    as_of: Option<String>,
    /// A directory of rule packs replacing the built-in ones of the same name.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The table a CSV holds: its number (1 = the main table) or its name (工作表名).
    #[arg(long)]
    table: Option<String>,
    /// conflicts: the two layers to compare, A,B (plan or parcel layers).
    #[arg(long)]
    compare: Option<String>,
    /// conflicts: the two plan kinds to compare, A,B (land_use, urban, territorial).
    #[arg(long)]
    kind: Option<String>,
    /// compliance: the site, a GeoJSON file with one Polygon or MultiPolygon.
    #[arg(long)]
    site: Option<PathBuf>,
    /// compliance: the CRS of the site's coordinates (EPSG:4527 …); default lon/lat or the
    /// CRS the file names.
    #[arg(long)]
    site_crs: Option<String>,
    /// compliance: the intended use (industrial, residential …); default construction land.
    #[arg(long = "use")]
    use_: Option<String>,
    /// trends: the first day (YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// trends: the last day (YYYY-MM-DD).
    #[arg(long)]
    to: Option<String>,
    /// trends: the length of each period: month, quarter (default) or year.
    #[arg(long)]
    period: Option<String>,
}

/// The query of the flags given, refusing those the check does not take.
fn query(a: &Args, as_of: chrono::NaiveDate) -> anyhow::Result<Query> {
    let mut q = Query::new(as_of).with_park(a.park.clone());
    let given: [(Param, bool); 10] = [
        (Param::AsOf, a.as_of.is_some()),
        (Param::Park, a.park.is_some()),
        (Param::Compare, a.compare.is_some()),
        (Param::Kind, a.kind.is_some()),
        (Param::Site, a.site.is_some()),
        (Param::SiteCrs, a.site_crs.is_some()),
        (Param::Use, a.use_.is_some()),
        (Param::From, a.from.is_some()),
        (Param::To, a.to.is_some()),
        (Param::Period, a.period.is_some()),
    ];
    for (p, set) in given {
        if set && !a.check.params().contains(&p) {
            let flag = match p {
                Param::AsOf => "--as-of",
                Param::SiteCrs => "--site-crs",
                other => other.name(),
            };
            bail!(
                "{} does not take {}{flag}",
                a.check.id(),
                if flag.starts_with('-') { "" } else { "--" }
            );
        }
    }
    for (p, v) in [
        (Param::Compare, &a.compare),
        (Param::Kind, &a.kind),
        (Param::SiteCrs, &a.site_crs),
        (Param::Use, &a.use_),
        (Param::From, &a.from),
        (Param::To, &a.to),
        (Param::Period, &a.period),
    ] {
        if let Some(v) = v {
            q.options.insert(p.name(), v.clone());
        }
    }
    if let Some(path) = &a.site {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the site {}", path.display()))?;
        q.site = Some(text.into());
    } else if a.check.params().contains(&Param::Site) {
        bail!("{} reviews a site: pass --site FILE.geojson", a.check.id());
    }
    Ok(q)
}

fn parse_check(s: &str) -> Result<&'static dyn Analysis, String> {
    checks::find(s).ok_or_else(|| format!("unknown check '{s}': use {}", checks::ids()))
}

/// Run the check and write its report.
pub fn run(a: Args) -> anyhow::Result<()> {
    let as_of = match &a.as_of {
        Some(s) => s
            .parse()
            .with_context(|| format!("--as-of '{s}' is not a date: write YYYY-MM-DD"))?,
        None => analysis::today(),
    };
    let rules = Rules::load(a.rules.as_deref())?;
    if matches!(a.format, Format::Xlsx) && a.out.is_none() {
        bail!("xlsx is a binary workbook: pass --out FILE.xlsx");
    }
    if a.table.is_some() && !matches!(a.format, Format::Csv) {
        bail!("--table chooses the table of a CSV: use it with --format csv");
    }
    let store = a.store.location.open()?;
    let scope = Scope::analysis(a.check.layers()).with_parcel_fields(a.check.parcel_fields());
    let catalog = Catalog::load_scoped(&*store, scope)?;
    let ctx = Context::new(&catalog);
    let query = query(&a, as_of)?;
    let report = checks::run(a.check, &ctx, &rules, &query)?;
    if let (Format::Xlsx, Some(path)) = (a.format, &a.out) {
        write_xlsx(path, &report.tables())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
        return Ok(());
    }
    let mut buf: Vec<u8> = vec![];
    match a.format {
        Format::Json => {
            report.write_json(&mut buf, true)?;
            buf.push(b'\n');
        }
        Format::Csv => {
            let t = report.tables();
            let chosen = pick(&t, a.table.as_deref()).map_err(anyhow::Error::msg)?;
            if a.table.is_none() && t.len() > 1 {
                eprintln!(
                    "CSV holds table 1 of {}; choose another with --table N ({})",
                    t.len(),
                    table_list(&t)
                );
            }
            write_csv(&mut buf, chosen)?;
        }
        Format::Geojson => {
            let mut s = String::new();
            write_geojson(&report.map_features(&catalog), &mut s);
            buf.extend_from_slice(s.as_bytes());
            buf.push(b'\n');
        }
        Format::Table | Format::Xlsx => {
            writeln!(
                buf,
                "{}{}{} — {}",
                a.check.title_zh(),
                if a.check.params().contains(&Param::AsOf) {
                    format!(" — 评价日期 {as_of}")
                } else {
                    String::new()
                },
                a.park
                    .as_deref()
                    .map(|p| format!("（园区 {p}）"))
                    .unwrap_or_default(),
                a.store.location
            )?;
            write_text(&mut buf, &report.tables())?;
        }
    }
    match &a.out {
        Some(p) => std::fs::write(p, &buf).with_context(|| format!("writing {}", p.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(&buf).and_then(|_| out.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(())
}
