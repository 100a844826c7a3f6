//! `landwatch user add|list|revoke`: the accounts that may write to (or, with
//! `serve --private`, read) a server.

use landwatch::accounts::{AccessRole, IssuedToken};
use landwatch::report::table::{write_text, Cell, Table};
use landwatch::store::{AuditEntry, NewUser};

/// Arguments of `landwatch user`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Make an account and print its token (on stdout, this once only: the store keeps a
    /// salted hash of it).
    Add {
        /// The account's name (a person or a service, e.g. zhangsan or 执法大队).
        name: String,
        /// viewer (reads a private server), editor (records events), admin (uploads layers).
        #[arg(long, value_parser = |s: &str| s.parse::<AccessRole>())]
        role: AccessRole,
        #[command(flatten)]
        store: super::StoreArg,
    },
    /// List the accounts (never their tokens).
    List {
        #[command(flatten)]
        store: super::StoreArg,
        /// Print JSON: [{"name","role","token_key","created_at","revoked_at"}].
        #[arg(long)]
        json: bool,
    },
    /// Revoke an account: its token stops working at once (a running server sees it within
    /// a second).
    Revoke {
        /// The account's name.
        name: String,
        #[command(flatten)]
        store: super::StoreArg,
    },
}

/// Record a write made from the command line in the store's audit log (审计记录). The
/// write has committed already: an audit log that cannot be written is said, not fatal.
pub fn audit_local(
    location: &landwatch::store::StoreLocation,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) {
    let entry = AuditEntry::now(&cli_actor(), "local", action, target, 0, detail.to_string());
    let recorded = location
        .open_accounts()
        .and_then(|mut accounts| accounts.record(&entry).and_then(|()| accounts.fold()));
    if let Err(e) = recorded {
        tracing::warn!("the {action} of {target} is not in the audit log: {e}");
    }
}

/// Who runs the command line, for the audit log.
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    anyhow::ensure!(
        ok,
        "account name '{name}' must be 1 to 64 characters without spaces (e.g. zhangsan, 执法大队)"
    );
    Ok(())
}

/// Run the chosen `user` subcommand.
pub fn run(a: Args) -> anyhow::Result<()> {
    match a.command {
        Command::Add { name, role, store } => {
            check_name(&name)?;
            let issued = IssuedToken::generate()?;
            let mut accounts = store.location.open_accounts()?;
            let detail = serde_json::json!({"role": role.as_str(), "token_key": issued.key});
            accounts.add_user(
                &NewUser {
                    name: &name,
                    role,
                    token_key: &issued.key,
                    token_hash: &issued.hash,
                },
                &AuditEntry::now(
                    &cli_actor(),
                    "local",
                    "user.add",
                    &name,
                    0,
                    detail.to_string(),
                ),
            )?;
            eprintln!(
                "account '{name}' ({role}, {}) added to {}; its token, shown this once only (send it as Authorization: Bearer TOKEN):",
                role.label_zh(),
                store.location
            );
            println!("{}", issued.token);
            Ok(())
        }
        Command::List { store, json } => {
            let users = store.location.open_accounts()?.users()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
                return Ok(());
            }
            if users.is_empty() {
                println!(
                    "no accounts yet: landwatch user add NAME --role viewer|editor|admin --store {}",
                    store.location
                );
                return Ok(());
            }
            let mut table = Table::new(
                "用户 accounts",
                &["用户", "角色", "令牌标识", "创建时间", "吊销时间"],
            );
            for u in &users {
                table.push(vec![
                    u.name.as_str().into(),
                    format!("{} {}", u.role, u.role.label_zh()).into(),
                    format!("lw_{}_…", u.token_key).into(),
                    u.created_at.as_str().into(),
                    Cell::text(u.revoked_at.as_deref()),
                ]);
            }
            write_text(&mut std::io::stdout().lock(), &[table])?;
            Ok(())
        }
        Command::Revoke { name, store } => {
            let mut accounts = store.location.open_accounts()?;
            let entry =
                AuditEntry::now(&cli_actor(), "local", "user.revoke", &name, 0, "{}".into());
            let revoked = accounts.revoke_user(&name, &entry)?;
            if !revoked {
                let known = accounts.users()?;
                let why = match known.iter().find(|u| u.name == name) {
                    Some(u) => format!(
                        "was revoked already, at {}",
                        u.revoked_at.as_deref().unwrap_or("?")
                    ),
                    None => format!(
                        "does not exist; accounts: {}",
                        known
                            .iter()
                            .map(|u| u.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                anyhow::bail!("the account '{name}' {why}");
            }
            eprintln!("account '{name}' revoked: its token no longer works");
            Ok(())
        }
    }
}
