//! `landwatch check`.

use anyhow::{bail, Context as _};
use clap::ValueEnum;
use landwatch::analysis::{self, Context};
use landwatch::catalog::Catalog;
use landwatch::checks::{self, write_geojson, Analysis, Query};
use landwatch::report::table::{pick, table_list, write_csv, write_text, write_xlsx};
use landwatch::rules::Rules;
use landwatch::store::GeoPackage;
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
    /// The flagged parcels (or parks) with their findings, for QGIS.
    Geojson,
}

/// Arguments of `landwatch check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The check: idle, underused, mujun, zoning, indicators, quality ….
    #[arg(value_parser = parse_check)]
    check: &'static dyn Analysis,
    /// The store.
    #[arg(long, default_value = "data/landwatch.gpkg")]
    store: PathBuf,
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
    let store = GeoPackage::open(&a.store)?;
    let catalog = Catalog::load(&store)?;
    let ctx = Context::new(&catalog);
    let query = Query {
        as_of,
        park: a.park.clone(),
    };
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
                "{}{} — 评价日期 {as_of} — {}",
                a.check.title_zh(),
                a.park
                    .as_deref()
                    .map(|p| format!("（园区 {p}）"))
                    .unwrap_or_default(),
                a.store.display()
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
