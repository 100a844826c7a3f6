//! What the server's writes share: the store location, the upload limit, and one
//! connection for events and the audit log (审计日志).
//!
//! Writes through it take turns (one SQLite writer at a time anyway, without the busy
//! waits of several connections racing for the lock), each one durable commit with its
//! audit entry. The write-ahead log is folded into the .gpkg once writes pause for a
//! second, not after each one, so that an event costs one disk sync. The connection is
//! opened again when the store file is replaced (a restored backup), so that no write goes
//! to a file nobody reads any more.

use super::auth::{Caller, Principal};
use crate::model::disposal::{Event, NewEvent};
use crate::store::{AccountStore, AuditEntry, StoreError, StoreLocation};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long writes must pause before the log is folded into the .gpkg.
const FOLD_AFTER: Duration = Duration::from_secs(1);

/// An open store and the identity of the file it was opened on.
struct OpenStore {
    store: Box<dyn AccountStore>,
    file: Option<(u64, u64)>,
    /// When the last write not yet folded into the .gpkg was committed.
    unfolded_since: Option<Instant>,
}

/// The writes' shared state.
pub struct Writes {
    /// The store.
    pub store: StoreLocation,
    /// The largest upload taken, in bytes.
    pub max_upload: u64,
    open: Mutex<Option<OpenStore>>,
}

/// The store file's identity (device, inode), when it is a file.
fn file_id(store: &StoreLocation) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(store.path()?).ok()?;
    Some((m.dev(), m.ino()))
}

impl Writes {
    /// Writes into `store`, taking uploads of at most `max_upload` bytes; a thread folds the
    /// log into the .gpkg when writes pause.
    pub fn new(store: StoreLocation, max_upload: u64) -> Arc<Writes> {
        let writes = Arc::new(Writes {
            store,
            max_upload,
            open: Mutex::new(None),
        });
        let weak = Arc::downgrade(&writes);
        std::thread::Builder::new()
            .name("store-fold".into())
            .spawn(move || fold_when_idle(weak))
            .expect("a thread");
        writes
    }

    /// Run `write` on the store's write connection (blocking: call it off the async threads).
    fn with<T>(
        &self,
        write: impl FnOnce(&mut dyn AccountStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut open = self.open.lock().expect("store lock");
        let now = file_id(&self.store);
        if open.as_ref().is_none_or(|o| o.file != now) {
            *open = Some(OpenStore {
                store: self.store.open_accounts()?,
                file: now,
                unfolded_since: None,
            });
        }
        let o = open.as_mut().expect("opened");
        let done = write(&mut *o.store);
        if done.is_ok() {
            o.unfolded_since = Some(Instant::now());
        }
        done
    }

    /// Append one audit entry (blocking).
    pub fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.with(|s| s.record(entry))
    }

    /// Append an event with the audit entry that records it, in one durable commit
    /// (blocking).
    pub fn append_event(
        &self,
        event: &NewEvent,
        if_match: Option<i64>,
        audit: &dyn Fn(&Event) -> AuditEntry,
    ) -> Result<Event, StoreError> {
        self.with(|s| s.append_event_audited(event, if_match, audit))
    }

    /// Record what `caller` did, logging (not failing on) an audit log that cannot be
    /// written: the write itself has already committed, or was refused.
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
            Err(e) => {
                tracing::error!(action, %target, "the audit entry could not be written: {e}")
            }
        }
    }
}

/// Fold the log into the .gpkg once writes have paused, until the server's writes are gone.
fn fold_when_idle(writes: Weak<Writes>) {
    loop {
        std::thread::sleep(FOLD_AFTER / 2);
        let Some(w) = writes.upgrade() else { return };
        let mut open = w.open.lock().expect("store lock");
        let Some(o) = open.as_mut() else { continue };
        if o.unfolded_since.is_some_and(|t| t.elapsed() >= FOLD_AFTER) {
            match o.store.fold() {
                Ok(()) => o.unfolded_since = None,
                // Readers of an old snapshot hold it up; the next pause tries again.
                Err(e) => tracing::debug!("the log is not folded yet: {e}"),
            }
        }
    }
}
