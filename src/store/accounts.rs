//! The accounts (用户) and the audit log (审计日志) a store keeps, behind the
//! [`AccountStore`] trait; what a token is and how it is checked is `crate::accounts`.

use super::StoreError;
use crate::accounts::AccessRole;
use crate::model::disposal::{Event, NewEvent};
use serde::Serialize;
use std::path::Path;

/// One account as stored: never its token, only the token's key and salted hash.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct User {
    /// The account's name (unique).
    pub name: String,
    /// What it may do.
    pub role: AccessRole,
    /// The token's key (public part of the token, `lw_KEY_…`).
    pub token_key: String,
    /// The Argon2id hash of the token's secret (PHC string).
    #[serde(skip)]
    pub token_hash: String,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// An account about to be stored.
#[derive(Clone, Debug)]
pub struct NewUser<'a> {
    /// The account's name.
    pub name: &'a str,
    /// Its role.
    pub role: AccessRole,
    /// The token's key.
    pub token_key: &'a str,
    /// The hash of the token's secret.
    pub token_hash: &'a str,
}

/// One audited write (审计记录): who, when, from where, what, and how it ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    /// When (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The account (or `cli:USER` for the command line).
    pub user: String,
    /// The client's address (or `local`).
    pub address: String,
    /// What was done: `event.add`, `layer.upload`, `user.add`, `user.revoke`.
    pub action: String,
    /// What it was done to: a layer, `layer/feature_id`, an account.
    pub target: String,
    /// How it ended: the HTTP status (201, 422 …), or 0 for the command line.
    pub status: u16,
    /// Details (the event, the ingest's counts, the refusal), as JSON text.
    pub detail: String,
}

impl AuditEntry {
    /// An entry stamped now.
    pub fn now(
        user: &str,
        address: &str,
        action: &str,
        target: &str,
        status: u16,
        detail: String,
    ) -> AuditEntry {
        AuditEntry {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            user: user.to_string(),
            address: address.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            status,
            detail,
        }
    }
}

/// Accounts, the audit log and consistent copies: what `landwatch user`, `landwatch audit`,
/// `landwatch backup` and the server's authenticated writes need. None of these writes
/// changes what the catalog serves, so none makes a server reload.
pub trait AccountStore: Send {
    /// Every account, revoked ones too, in name order.
    fn users(&self) -> Result<Vec<User>, StoreError>;
    /// Store a new account, with the audit entry that records it, in one durable commit;
    /// a name already taken is [`StoreError::Conflict`].
    fn add_user(&mut self, user: &NewUser<'_>, audit: &AuditEntry) -> Result<(), StoreError>;
    /// Revoke an account (its token stops working), recorded in the audit log; `false` when
    /// there is no account of that name or it was revoked already.
    fn revoke_user(&mut self, name: &str, audit: &AuditEntry) -> Result<bool, StoreError>;
    /// Append one audit entry (one durable commit).
    fn record(&mut self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Append a disposal event, checked as [`super::StoreWriter::append_event`] checks it,
    /// together with the audit entry that records it (made from the stored event), in one
    /// durable commit. The write-ahead log is folded into the main file later, by
    /// [`AccountStore::fold`], so that a server's event costs one disk sync.
    fn append_event_audited(
        &mut self,
        event: &NewEvent,
        if_match: Option<i64>,
        audit: &dyn Fn(&Event) -> AuditEntry,
    ) -> Result<Event, StoreError>;
    /// Fold the write-ahead log into the main file, so that the file alone is whole.
    fn fold(&self) -> Result<(), StoreError>;
    /// The audit log, oldest first; only the newest `limit` entries when given.
    fn audit_log(&self, limit: Option<usize>) -> Result<Vec<AuditEntry>, StoreError>;
    /// Copy the whole store, as it stands at one moment, to `out` (a new file, replaced
    /// atomically); writers carry on meanwhile.
    fn backup(&self, out: &Path) -> Result<BackupReport, StoreError>;
}

/// What a backup copied.
#[derive(Clone, Debug, Serialize)]
pub struct BackupReport {
    /// Bytes written.
    pub bytes: u64,
    /// Pages copied.
    pub pages: u64,
    /// The store's generation in the copy.
    pub generation: i64,
    /// Seconds the copy took.
    pub seconds: f64,
}
