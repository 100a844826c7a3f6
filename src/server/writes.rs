//! What the server's writes share: the store location, the upload limit, and one
//! connection for the audit log (审计日志), opened again when the store file is replaced
//! (a restored backup), so that no write goes to a file nobody reads any more.

use super::auth::{Caller, Principal};
use crate::store::{AccountStore, AuditEntry, StoreError, StoreLocation};
use std::sync::{Arc, Mutex};

/// An open store and the identity of the file it was opened on.
type OpenStore = (Box<dyn AccountStore>, Option<(u64, u64)>);

/// The writes' shared state.
pub struct Writes {
    /// The store.
    pub store: StoreLocation,
    /// The largest upload taken, in bytes.
    pub max_upload: u64,
    audit: Mutex<Option<OpenStore>>,
}

/// The store file's identity (device, inode), when it is a file.
fn file_id(store: &StoreLocation) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(store.path()?).ok()?;
    Some((m.dev(), m.ino()))
}

impl Writes {
    /// Writes into `store`, taking uploads of at most `max_upload` bytes.
    pub fn new(store: StoreLocation, max_upload: u64) -> Arc<Writes> {
        Arc::new(Writes {
            store,
            max_upload,
            audit: Mutex::new(None),
        })
    }

    /// Append one audit entry (blocking: call it off the async threads).
    pub fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut open = self.audit.lock().expect("audit lock");
        let now = file_id(&self.store);
        if open.as_ref().is_none_or(|(_, id)| *id != now) {
            *open = Some((self.store.open_accounts()?, now));
        }
        let (store, _) = open.as_mut().expect("opened");
        store.record(entry)
    }

    /// Record what `caller` did, logging (not failing on) an audit log that cannot be
    /// written: the write itself has already committed.
    pub async fn audit(
        self: &Arc<Self>,
        caller: &Caller,
        who: &Principal,
        action: &'static str,
        target: String,
        status: u16,
        detail: serde_json::Value,
    ) {
        let entry = AuditEntry::now(
            &who.name,
            &caller.address.to_string(),
            action,
            &target,
            status,
            detail.to_string(),
        );
        let writes = Arc::clone(self);
        let done = tokio::task::spawn_blocking(move || writes.record(&entry)).await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(action, %target, "the audit entry could not be written: {e}")
            }
            Err(e) => tracing::error!(action, %target, "the audit entry could not be written: {e}"),
        }
    }
}
