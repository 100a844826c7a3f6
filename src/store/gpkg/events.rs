//! The event table `landwatch_events` of a GeoPackage store: append-only (triggers refuse
//! UPDATE and DELETE, in landwatch and in QGIS alike), listed in `gpkg_contents` as an
//! attribute table so that QGIS shows it.

use super::{ident, lock, GeoPackage, GpkgError};
use crate::model::disposal::{check_append, Event, NewEvent};
use crate::model::Role;
use crate::store::{CaseStatus, EventFilter, StoreError};
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Row};

const SCHEMA_EVENTS: &str = r#"
CREATE TABLE IF NOT EXISTS landwatch_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL, layer TEXT NOT NULL,
  feature_id TEXT NOT NULL, status TEXT NOT NULL, method TEXT, effective_date TEXT NOT NULL,
  until TEXT, document_no TEXT, amount_wan REAL, note TEXT, recorded_by TEXT NOT NULL,
  recorded_at TEXT NOT NULL, supersedes INTEGER REFERENCES landwatch_events(id));
CREATE INDEX IF NOT EXISTS landwatch_events_feature ON landwatch_events (layer, feature_id);
CREATE TRIGGER IF NOT EXISTS landwatch_events_no_update BEFORE UPDATE ON landwatch_events
BEGIN SELECT RAISE(ABORT, 'landwatch_events is append-only: record an event that supersedes this one'); END;
CREATE TRIGGER IF NOT EXISTS landwatch_events_no_delete BEFORE DELETE ON landwatch_events
BEGIN SELECT RAISE(ABORT, 'landwatch_events is append-only: record an event that supersedes this one'); END;
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('landwatch_events', 'attributes', 'landwatch_events', '处置记录 — disposal events, append-only');
"#;

const COLUMNS: &str = "id, subject, layer, feature_id, status, method, effective_date, until, \
    document_no, amount_wan, note, recorded_by, recorded_at, supersedes";

fn parse<T: std::str::FromStr>(s: String) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn date(s: Option<String>) -> rusqlite::Result<Option<NaiveDate>> {
    s.map(parse).transpose()
}

fn event_of(r: &Row<'_>) -> rusqlite::Result<Event> {
    let entry = NewEvent {
        subject: parse(r.get(1)?)?,
        layer: r.get(2)?,
        feature_id: r.get(3)?,
        status: parse(r.get(4)?)?,
        method: r.get::<_, Option<String>>(5)?.map(parse).transpose()?,
        effective_date: parse(r.get(6)?)?,
        until: date(r.get(7)?)?,
        document_no: r.get(8)?,
        amount_wan: r.get(9)?,
        note: r.get(10)?,
        recorded_by: r.get(11)?,
        supersedes: r.get(13)?,
    };
    Ok(entry.recorded(r.get(0)?, r.get(12)?))
}

/// Select the events passing `f` on `conn`, in id order.
fn select(conn: &Connection, f: &EventFilter) -> rusqlite::Result<Vec<Event>> {
    // Only the conditions given, so that a case's history (layer and feature id) is read
    // through the index: `?1 IS NULL OR …` would scan every event.
    let given: [(&str, Option<String>); 7] = [
        ("subject = ?", f.subject.map(|s| s.as_str().to_string())),
        ("layer = ?", f.layer.clone()),
        ("feature_id = ?", f.feature_id.clone()),
        ("status = ?", f.status.map(|s| s.as_str().to_string())),
        ("method = ?", f.method.map(|m| m.as_str().to_string())),
        (
            "effective_date >= ?",
            f.effective_from.map(|d| d.to_string()),
        ),
        ("effective_date <= ?", f.effective_to.map(|d| d.to_string())),
    ];
    let (conditions, values): (Vec<&str>, Vec<String>) = given
        .into_iter()
        .filter_map(|(c, v)| v.map(|v| (c, v)))
        .unzip();
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM landwatch_events{filter} ORDER BY id"
    ))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), event_of)?;
    rows.collect()
}

impl GeoPackage {
    /// The events passing `filter`, in id order (none in a store without the table).
    pub(super) fn list_events(&self, filter: &EventFilter) -> Result<Vec<Event>, GpkgError> {
        if !self.has_table("landwatch_events")? {
            return Ok(vec![]);
        }
        select(&self.conn, filter).map_err(self.sql_err())
    }

    /// Record `new` (see [`crate::store::StoreWriter::append_event`]).
    pub(super) fn append_event(
        &mut self,
        new: &NewEvent,
        if_match: Option<i64>,
    ) -> Result<Event, StoreError> {
        if self.building.is_some() {
            // A store that is being created holds no layer yet, so no feature either.
            return Err(self.no_layer(&new.layer).into());
        }
        // An acknowledged event must survive a power cut, not only a crash: its commit syncs
        // the log (the store's default, NORMAL, syncs at checkpoints only).
        self.conn
            .execute_batch("PRAGMA synchronous = FULL")
            .map_err(self.sql_err())?;
        let note = lock::begin_write(&self.conn, &self.path, "landwatch_events", "an event");
        let note = match note {
            Ok(n) => n,
            Err(e) => {
                let _ = self.conn.execute_batch("PRAGMA synchronous = NORMAL");
                return Err(e.into());
            }
        };
        let done = self.append_in_transaction(new, if_match);
        let done = match done {
            Ok(e) => self
                .conn
                .execute_batch("COMMIT")
                .map(|()| e)
                .map_err(|e| self.sql_err()(e).into()),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        };
        let _ = self.conn.execute_batch("PRAGMA synchronous = NORMAL");
        let event = done?;
        self.fold_passively();
        drop(note);
        Ok(event)
    }

    /// Fold what the log holds into the .gpkg as far as readers allow, without waiting for
    /// them: the event is committed, and a server loading a large store must not hold its
    /// writer up, nor turn a stored event into an error. What is left is folded by the next
    /// write; the .gpkg alone is always a whole store, at most without the latest events.
    fn fold_passively(&self) {
        if let Err(e) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        {
            tracing::debug!(store = %self.path.display(), "log not folded after an event: {e}");
        }
    }

    pub(super) fn append_in_transaction(
        &self,
        new: &NewEvent,
        if_match: Option<i64>,
    ) -> Result<Event, StoreError> {
        let c = &self.conn;
        let err = self.sql_err();
        c.execute_batch(SCHEMA_EVENTS).map_err(&err)?;
        if new.subject.is_parcel() {
            self.check_feature(new)?;
        }
        let key = new.key();
        let history = select(c, &EventFilter::case(&key)).map_err(&err)?;
        let status = CaseStatus::of(key, &history);
        if let Some(expected) = if_match.filter(|v| *v != status.version) {
            return Err(StoreError::StaleVersion {
                case: format!("{} {}/{}", new.subject, new.layer, new.feature_id),
                expected,
                current: status.version,
            });
        }
        let next: i64 = c
            .query_row(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'landwatch_events'), 0) + 1",
                [],
                |r| r.get(0),
            )
            .map_err(&err)?;
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let event = new.recorded(next, at);
        check_append(&history, &event)?;
        c.execute(
            "INSERT INTO landwatch_events (subject, layer, feature_id, status, method, effective_date, \
             until, document_no, amount_wan, note, recorded_by, recorded_at, supersedes) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                event.subject.as_str(),
                event.layer,
                event.feature_id,
                event.status.as_str(),
                event.method.map(|m| m.as_str()),
                event.effective_date.to_string(),
                event.until.map(|d| d.to_string()),
                event.document_no,
                event.amount_wan,
                event.note,
                event.recorded_by,
                event.recorded_at,
                event.supersedes,
            ],
        )
        .map_err(&err)?;
        let id = c.last_insert_rowid();
        super::new_stamp(c).map_err(&err)?;
        Ok(Event { id, ..event })
    }

    /// Refuse an event about a parcel the layer does not hold. The lookup by id goes through
    /// an index on the id field, made the first time an event names the layer.
    fn check_feature(&self, new: &NewEvent) -> Result<(), StoreError> {
        let err = self.sql_err();
        let entry: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT role, id_source FROM landwatch_layers WHERE name = ?1",
                [&new.layer],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(&err)?;
        let Some((role, id_source)) = entry else {
            return Err(self.no_layer(&new.layer).into());
        };
        let role: Role = role.parse().map_err(|why| GpkgError::Registry {
            path: self.path.clone(),
            layer: new.layer.clone(),
            why,
        })?;
        if role != Role::Parcels {
            return Err(StoreError::NotParcels {
                layer: new.layer.clone(),
                role,
                subject: new.subject,
            });
        }
        let (pk, columns) = self.pk_and_columns(&new.layer)?;
        let column = if columns.iter().any(|c| c.name == id_source) {
            let index = ident(&format!("landwatch_id_{}", new.layer));
            self.conn
                .execute_batch(&format!(
                    "CREATE INDEX IF NOT EXISTS {index} ON {} ({})",
                    ident(&new.layer),
                    ident(&id_source)
                ))
                .map_err(&err)?;
            id_source.clone()
        } else {
            pk
        };
        let found = self
            .conn
            .query_row(
                &format!(
                    "SELECT 1 FROM {} WHERE {} = ?1 LIMIT 1",
                    ident(&new.layer),
                    ident(&column)
                ),
                [&new.feature_id],
                |_| Ok(()),
            )
            .optional()
            .map_err(&err)?;
        if found.is_none() {
            return Err(StoreError::NoFeature {
                layer: new.layer.clone(),
                feature_id: new.feature_id.clone(),
                id_field: id_source,
            });
        }
        Ok(())
    }
}
