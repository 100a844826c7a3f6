//! Accounts, the audit log and online backups in the GeoPackage: two attribute tables
//! (`landwatch_users`, `landwatch_audit`) that QGIS lists beside the layers, and SQLite's
//! online backup for a consistent copy while a server writes.
//!
//! Each write is its own `BEGIN IMMEDIATE … COMMIT` on a connection with
//! `synchronous = FULL`: once it returns, the row survives a crash or a power cut.

use super::{GeoPackage, GpkgError};
use crate::accounts::AccessRole;
use crate::model::disposal::{Event, NewEvent};
use crate::store::{AccountStore, AuditEntry, BackupReport, NewUser, StoreError, User};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS landwatch_users (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
  token_key TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL, created_at TEXT NOT NULL,
  revoked_at TEXT);
CREATE TABLE IF NOT EXISTS landwatch_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT NOT NULL,
  address TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, status INTEGER NOT NULL,
  detail TEXT NOT NULL);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('landwatch_users', 'attributes', 'landwatch_users', '用户 — accounts (token hashes only)'),
  ('landwatch_audit', 'attributes', 'landwatch_audit', '审计日志 — every write, who, when, from where');
"#;

impl GeoPackage {
    /// Open a store for its accounts and audit log: writable when it can be, with every
    /// commit durable on return.
    pub fn open_accounts(path: &Path) -> Result<GeoPackage, StoreError> {
        let store = GeoPackage::open(path)?;
        store
            .conn
            .execute_batch("PRAGMA synchronous = FULL;")
            .map_err(store.sql_err())?;
        Ok(store)
    }

    /// Run `write` in one immediate transaction, creating the tables first when missing.
    fn account_write<T>(
        &self,
        write: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let c = &self.conn;
        c.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.busy_or(e))?;
        let done = c
            .execute_batch(SCHEMA)
            .map_err(|e| self.sql_err()(e).into())
            .and_then(|()| write(c))
            .and_then(|v| {
                c.execute_batch("COMMIT").map_err(self.sql_err())?;
                Ok(v)
            });
        if done.is_err() {
            let _ = c.execute_batch("ROLLBACK");
        }
        done
    }

    /// A busy store is [`GpkgError::Locked`]: an ingest holds it longer than the busy wait.
    fn busy_or(&self, e: rusqlite::Error) -> GpkgError {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                GpkgError::Locked {
                    path: self.path.clone(),
                    holder: "another writer (an ingest, or another program)".into(),
                    waited_s: 30,
                }
            }
            _ => self.sql_err()(e),
        }
    }
}

fn insert_audit(c: &Connection, e: &AuditEntry) -> rusqlite::Result<usize> {
    c.prepare_cached(
        "INSERT INTO landwatch_audit (at, user, address, action, target, status, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.at, e.user, e.address, e.action, e.target, e.status, e.detail
    ])
}

impl AccountStore for GeoPackage {
    fn users(&self) -> Result<Vec<User>, StoreError> {
        if !self.has_table("landwatch_users")? {
            return Ok(vec![]);
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, role, token_key, token_hash, created_at, revoked_at \
                 FROM landwatch_users ORDER BY name",
            )
            .map_err(self.sql_err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(self.sql_err())?;
        let mut out = vec![];
        for row in rows {
            let (name, role, token_key, token_hash, created_at, revoked_at) =
                row.map_err(self.sql_err())?;
            let role: AccessRole = role.parse().map_err(|why| GpkgError::Registry {
                path: self.path.clone(),
                layer: format!("(account {name})"),
                why,
            })?;
            out.push(User {
                name,
                role,
                token_key,
                token_hash,
                created_at,
                revoked_at,
            });
        }
        Ok(out)
    }

    fn add_user(&mut self, user: &NewUser<'_>, audit: &AuditEntry) -> Result<(), StoreError> {
        let taken = self.account_write(|c| {
            let taken: Option<Option<String>> = c
                .query_row(
                    "SELECT revoked_at FROM landwatch_users WHERE name = ?1",
                    [user.name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(self.sql_err())?;
            if taken.is_some() {
                return Ok(taken);
            }
            c.execute(
                "INSERT INTO landwatch_users (name, role, token_key, token_hash, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    user.name,
                    user.role.as_str(),
                    user.token_key,
                    user.token_hash,
                    audit.at
                ],
            )
            .map_err(self.sql_err())?;
            insert_audit(c, audit).map_err(self.sql_err())?;
            Ok(None)
        })?;
        if let Some(revoked) = taken {
            return Err(StoreError::Conflict(match revoked {
                Some(at) => format!("the account '{}' exists (revoked {at}); names stay with their audit entries: choose another name", user.name),
                None => format!("the account '{}' exists; revoke it first (landwatch user revoke {}) and add one under a new name", user.name, user.name),
            }));
        }
        self.fold_log()
    }

    fn revoke_user(&mut self, name: &str, audit: &AuditEntry) -> Result<bool, StoreError> {
        let revoked = self.account_write(|c| {
            let n = c
                .execute(
                    "UPDATE landwatch_users SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                    params![name, audit.at],
                )
                .map_err(self.sql_err())?;
            if n > 0 {
                insert_audit(c, audit).map_err(self.sql_err())?;
            }
            Ok(n > 0)
        })?;
        self.fold_log()?;
        Ok(revoked)
    }

    fn record(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.account_write(|c| {
            insert_audit(c, entry)
                .map(drop)
                .map_err(|e| self.sql_err()(e).into())
        })
    }

    fn append_event_audited(
        &mut self,
        event: &NewEvent,
        if_match: Option<i64>,
        audit: &dyn Fn(&Event) -> AuditEntry,
    ) -> Result<Event, StoreError> {
        self.account_write(|c| {
            let stored = self.append_in_transaction(event, if_match)?;
            insert_audit(c, &audit(&stored)).map_err(self.sql_err())?;
            Ok(stored)
        })
    }

    fn fold(&self) -> Result<(), StoreError> {
        self.fold_log()
    }

    fn audit_log(&self, limit: Option<usize>) -> Result<Vec<AuditEntry>, StoreError> {
        if !self.has_table("landwatch_audit")? {
            return Ok(vec![]);
        }
        let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut stmt = self
            .conn
            .prepare(
                "SELECT at, user, address, action, target, status, detail FROM \
                 (SELECT * FROM landwatch_audit ORDER BY id DESC LIMIT ?1) ORDER BY id",
            )
            .map_err(self.sql_err())?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    user: r.get(1)?,
                    address: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    status: r.get(5)?,
                    detail: r.get(6)?,
                })
            })
            .map_err(self.sql_err())?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql_err()(e).into())
    }

    fn backup(&self, out: &Path) -> Result<BackupReport, StoreError> {
        let started = Instant::now();
        if std::fs::canonicalize(out).ok() == std::fs::canonicalize(&self.path).ok() {
            return Err(GpkgError::Io {
                path: out.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "is the store itself: give another file to copy it to",
                ),
            }
            .into());
        }
        let mut part = out.as_os_str().to_os_string();
        part.push(format!(".part-{}", std::process::id()));
        let part = PathBuf::from(part);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| GpkgError::Io { path, source }
        };
        let _ = std::fs::remove_file(&part);
        let copied = self.copy_to(&part);
        let (pages, generation) = match copied {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                return Err(e.into());
            }
        };
        std::fs::File::open(&part)
            .and_then(|f| f.sync_all())
            .map_err(io(&part))?;
        std::fs::rename(&part, out).map_err(io(out))?;
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(BackupReport {
            bytes: std::fs::metadata(out).map_err(io(out))?.len(),
            pages,
            generation,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

impl GeoPackage {
    /// Copy every page in one step of SQLite's online backup: one read transaction, so the
    /// copy is the store at one commit, and writers (in WAL mode) are not held up. Checked
    /// with `quick_check` before it is given a name.
    fn copy_to(&self, part: &Path) -> Result<(u64, i64), GpkgError> {
        use rusqlite::backup::{Backup, StepResult};
        let at = |source| GpkgError::Sqlite {
            path: part.to_path_buf(),
            source,
        };
        let mut dst = Connection::open(part).map_err(at)?;
        let pages = {
            let backup = Backup::new(&self.conn, &mut dst).map_err(at)?;
            let started = Instant::now();
            loop {
                match backup.step(-1).map_err(at)? {
                    StepResult::Done => break,
                    // Another connection writing the destination, or the source locked by
                    // a rollback-journal writer: wait a little.
                    _ if started.elapsed() < Duration::from_secs(30) => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    _ => {
                        return Err(GpkgError::Locked {
                            path: self.path.clone(),
                            holder: "a writer that kept the store locked".into(),
                            waited_s: 30,
                        })
                    }
                }
            }
            backup.progress().pagecount.max(0) as u64
        };
        let check: String = dst
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(at)?;
        if check != "ok" {
            return Err(GpkgError::NotAStore {
                path: part.to_path_buf(),
                why: format!("the copy failed its check: {check}"),
            });
        }
        let generation: i64 = dst
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM landwatch_meta WHERE key = 'generation'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(at)?
            .unwrap_or(0);
        Ok((pages, generation))
    }
}
