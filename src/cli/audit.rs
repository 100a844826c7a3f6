//! `landwatch audit`: every write to the store — who, when, from where, what.

use landwatch::report::table::{write_text, Table};

/// Arguments of `landwatch audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: super::StoreArg,
    /// Only the newest N entries.
    #[arg(long)]
    limit: Option<usize>,
    /// Print JSON: [{"at","user","address","action","target","status","detail"}].
    #[arg(long)]
    json: bool,
}

/// Print the audit log, oldest first.
pub fn run(a: Args) -> anyhow::Result<()> {
    let log = a.store.location.open_accounts()?.audit_log(a.limit)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&log)?);
        return Ok(());
    }
    if log.is_empty() {
        println!("no writes audited yet in {}", a.store.location);
        return Ok(());
    }
    let mut table = Table::new(
        "审计日志 audit log",
        &["时间", "用户", "地址", "操作", "对象", "状态", "详情"],
    );
    for e in &log {
        table.push(vec![
            e.at.as_str().into(),
            e.user.as_str().into(),
            e.address.as_str().into(),
            e.action.as_str().into(),
            e.target.as_str().into(),
            if e.status == 0 {
                "-".into()
            } else {
                e.status.to_string().into()
            },
            e.detail.as_str().into(),
        ]);
    }
    write_text(&mut std::io::stdout().lock(), &[table])?;
    Ok(())
}
