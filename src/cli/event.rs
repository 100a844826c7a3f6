//! `landwatch event add|list` — record what the bureau did about a finding (处置记录) and
//! read the history back.

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Subcommand, ValueEnum};
use landwatch::model::disposal::{Method, NewEvent, Status, Subject};
use landwatch::report::events::table;
use landwatch::report::table::{write_csv, write_text};
use landwatch::store::AuditEntry;
use landwatch::store::EventFilter;
use std::io::Write;

/// Arguments of `landwatch event`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Record one event; refused (nothing stored) when it breaks a disposal rule.
    Add(Add),
    /// List recorded events, oldest first.
    List(List),
}

fn date(s: &str) -> Result<NaiveDate, String> {
    s.parse()
        .map_err(|_| format!("'{s}' is not a date: write YYYY-MM-DD"))
}

/// `landwatch event add`.
#[derive(Debug, clap::Args)]
struct Add {
    #[command(flatten)]
    store: super::StoreArg,
    /// The layer the feature is in (`conflicts` for a conflict-ledger row).
    #[arg(long)]
    layer: String,
    /// The feature's id: its 宗地编号, or the ledger id.
    #[arg(long)]
    feature_id: String,
    /// What the event is about: idle, approved_not_supplied, underused or conflict.
    #[arg(long, default_value = "idle")]
    subject: Subject,
    /// The status it puts the case in: suspected, investigating, confirmed, disposing,
    /// disposed (or 疑似, 调查中, 已认定, 处置中, 已处置).
    #[arg(long)]
    status: Status,
    /// For disposing and disposed: started, extended, use_changed, temporary_use,
    /// fee_collected, recovered, paid_recovery, swapped.
    #[arg(long)]
    method: Option<Method>,
    /// The day it took effect (the document's date), YYYY-MM-DD.
    #[arg(long, value_parser = date)]
    effective_date: NaiveDate,
    /// extended: the new start deadline (at most a year on); temporary_use: its end (at most
    /// two years on).
    #[arg(long, value_parser = date)]
    until: Option<NaiveDate>,
    /// The document number (调查通知书, 闲置土地认定书, 征缴决定书 …).
    #[arg(long)]
    document_no: Option<String>,
    /// An amount, 万元 (the fee collected; the compensation paid).
    #[arg(long)]
    amount_wan: Option<f64>,
    /// A note.
    #[arg(long)]
    note: Option<String>,
    /// Who records it.
    #[arg(long = "by")]
    by: String,
    /// The id of an earlier event of the same case this one corrects.
    #[arg(long)]
    supersedes: Option<i64>,
    /// Record only if the case is still at this version (from `event list --json`'s
    /// `version`, 0 for a case without events).
    #[arg(long)]
    if_match: Option<i64>,
    /// Print the stored event as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// Aligned table.
    Table,
    /// {"events":[…]} and, with --feature-id, the case's status and version.
    Json,
    /// CSV (UTF-8 with BOM, for Excel).
    Csv,
}

/// `landwatch event list`.
#[derive(Debug, clap::Args)]
struct List {
    #[command(flatten)]
    store: super::StoreArg,
    /// Only this layer.
    #[arg(long)]
    layer: Option<String>,
    /// Only this feature.
    #[arg(long)]
    feature_id: Option<String>,
    /// Only this subject.
    #[arg(long)]
    subject: Option<Subject>,
    /// Only events of this status.
    #[arg(long)]
    status: Option<Status>,
    /// Only events of this method.
    #[arg(long)]
    method: Option<Method>,
    /// Effective on or after (YYYY-MM-DD).
    #[arg(long, value_parser = date)]
    from: Option<NaiveDate>,
    /// Effective on or before (YYYY-MM-DD).
    #[arg(long, value_parser = date)]
    to: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Run `event add` or `event list`.
pub fn run(a: Args) -> anyhow::Result<()> {
    match a.command {
        Command::Add(a) => add(a),
        Command::List(a) => list(a),
    }
}

fn add(a: Add) -> anyhow::Result<()> {
    let new = NewEvent {
        subject: a.subject,
        layer: a.layer,
        feature_id: a.feature_id,
        status: a.status,
        method: a.method,
        effective_date: a.effective_date,
        until: a.until,
        document_no: a.document_no,
        amount_wan: a.amount_wan,
        note: a.note,
        recorded_by: a.by,
        supersedes: a.supersedes,
    };
    // The event and its audit entry commit together, as over HTTP.
    let mut detail = serde_json::to_value(&new).context("the event")?;
    detail["if_match"] = serde_json::json!(a.if_match);
    let audit = |e: &landwatch::model::disposal::Event| {
        let mut detail = detail.clone();
        detail["id"] = serde_json::json!(e.id);
        AuditEntry::now(
            &super::user::cli_actor(),
            "local",
            "event.add",
            &format!("{}/{}", e.layer, e.feature_id),
            0,
            detail.to_string(),
        )
    };
    let mut accounts = a.store.location.open_accounts()?;
    let event = accounts.append_event_audited(&new, a.if_match, &audit)?;
    accounts.fold()?;
    drop(accounts);
    let status = a.store.location.open()?.case_status(&event.key())?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"event": event, "case": status}))?
        );
    } else {
        println!(
            "recorded event {} — {} {}/{}: {} (effective {}); the case is now {} (version {})",
            event.id,
            event.subject.label_zh(),
            event.layer,
            event.feature_id,
            event.status.label_zh(),
            event.effective_date,
            status.disposition.label_zh().unwrap_or_default(),
            status.version
        );
    }
    Ok(())
}

fn list(a: List) -> anyhow::Result<()> {
    let filter = EventFilter {
        subject: a.subject,
        layer: a.layer.clone(),
        feature_id: a.feature_id.clone(),
        status: a.status,
        method: a.method,
        effective_from: a.from,
        effective_to: a.to,
    };
    let store = a.store.location.open()?;
    let events = store.events(&filter)?;
    let mut buf: Vec<u8> = vec![];
    match a.format {
        Format::Json => {
            let mut out = serde_json::json!({ "events": events });
            if let (Some(layer), Some(id)) = (&a.layer, &a.feature_id) {
                let key = landwatch::model::disposal::CaseKey {
                    subject: a.subject.unwrap_or(Subject::Idle),
                    layer: layer.clone(),
                    feature_id: id.clone(),
                };
                out["case"] = serde_json::to_value(store.case_status(&key)?)?;
            }
            serde_json::to_writer_pretty(&mut buf, &out)?;
            buf.push(b'\n');
        }
        Format::Csv => write_csv(&mut buf, &table(&events))?,
        Format::Table => write_text(&mut buf, &[table(&events)])?,
    }
    std::io::stdout()
        .lock()
        .write_all(&buf)
        .context("writing the events")?;
    Ok(())
}
