//! The store's write lock (写锁): one ingest writes at a time. SQLite's lock says only
//! "busy"; the ingest that holds it leaves a note beside the store (`STORE.writer`: pid,
//! layer, source, since), so that the others queue behind it and say whom they wait for,
//! and a lock held by another program is told apart.

use super::GpkgError;
use rusqlite::{Connection, ErrorCode};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to wait for a lock whose holder left no note (QGIS, ogr2ogr) before giving up.
const FOREIGN_WAIT: Duration = Duration::from_secs(30);

/// How long to queue behind another landwatch ingest at most.
const QUEUE_WAIT: Duration = Duration::from_secs(3600);

/// How often a waiting ingest says again whom it waits for.
const REMIND: Duration = Duration::from_secs(30);

/// The note of the ingest holding the write lock, kept until its log is folded into the
/// .gpkg; removed when dropped.
pub struct WriterNote {
    path: PathBuf,
}

impl Drop for WriterNote {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn note_path(store: &Path) -> PathBuf {
    let mut name = store.file_name().unwrap_or_default().to_os_string();
    name.push(".writer");
    store.with_file_name(name)
}

/// The ingest named in the note, if its process still runs and is not this one.
fn holder(store: &Path) -> Option<String> {
    let text = std::fs::read_to_string(note_path(store)).ok()?;
    let pid: u32 = text
        .lines()
        .find_map(|l| l.strip_prefix("pid="))?
        .trim()
        .parse()
        .ok()?;
    if pid == std::process::id() || !Path::new(&format!("/proc/{pid}")).exists() {
        return None;
    }
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or("?")
            .trim()
            .to_string()
    };
    Some(format!(
        "the landwatch ingest of {} into layer '{}' (pid {pid}, since {})",
        field("source="),
        field("layer="),
        field("since=")
    ))
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

/// Take the write lock (`BEGIN IMMEDIATE`), queueing behind another landwatch ingest, and
/// leave the note that says who holds it.
pub fn begin_write(
    conn: &Connection,
    store: &Path,
    layer: &str,
    source: &str,
) -> Result<WriterNote, GpkgError> {
    let sql_err = |source| GpkgError::Sqlite {
        path: store.to_path_buf(),
        source,
    };
    let started = Instant::now();
    let mut last_said: Option<Instant> = None;
    conn.busy_timeout(Duration::from_millis(500))
        .map_err(sql_err)?;
    let taken = loop {
        let waited = started.elapsed();
        // A landwatch ingest holds the store until it has folded its log into the .gpkg:
        // wait for its note to go rather than race it for SQLite's lock.
        if let Some(h) = holder(store) {
            if waited >= QUEUE_WAIT {
                break Err(GpkgError::Locked {
                    path: store.to_path_buf(),
                    holder: h,
                    waited_s: waited.as_secs(),
                });
            }
            if last_said.is_none_or(|t| t.elapsed() >= REMIND) {
                tracing::warn!("waiting for {h} to finish writing {}", store.display());
                last_said = Some(Instant::now());
            }
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => break Ok(()),
            Err(e) if is_busy(&e) && waited < FOREIGN_WAIT => {}
            Err(e) if is_busy(&e) => {
                break Err(GpkgError::Locked {
                    path: store.to_path_buf(),
                    holder: "another program (QGIS, ogr2ogr, sqlite3 …), not a landwatch ingest"
                        .into(),
                    waited_s: waited.as_secs(),
                });
            }
            Err(e) => break Err(sql_err(e)),
        }
    };
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(sql_err)?;
    taken?;
    let path = note_path(store);
    let note = format!(
        "pid={}\nlayer={layer}\nsource={source}\nsince={}\n",
        std::process::id(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    if let Err(e) = std::fs::write(&path, note) {
        tracing::debug!("cannot leave the writer note {}: {e}", path.display());
    }
    Ok(WriterNote { path })
}
