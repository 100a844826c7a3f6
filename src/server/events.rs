//! `POST /collections/events/items` (OGC API – Features Part 4 style): an editor records
//! the next disposal event (处置记录) of a finding. The body is a GeoJSON feature without
//! geometry; the answer is 201 with the stored event and its `Location`, and the case's
//! new version as `ETag`. `If-Match` with the version the client read makes the write
//! conditional: 412 when another editor recorded an event for the case first. The history
//! is append-only: no PUT, PATCH or DELETE.

use super::auth::{require, Caller};
use super::error::{ApiError, ApiResult};
use super::writes::Writes;
use crate::accounts::AccessRole;
use crate::model::disposal::{DisposalError, Event, NewEvent};
use crate::store::{AuditEntry, StoreError};
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The collection events are posted to.
pub const EVENTS: &str = "events";

/// The properties an event feature may carry; `recorded_by` is the account, never sent.
const PROPERTIES: [&str; 11] = [
    "layer",
    "feature_id",
    "subject",
    "status",
    "method",
    "effective_date",
    "until",
    "document_no",
    "amount_wan",
    "note",
    "supersedes",
];

/// A property as text: strings as they are, numbers written out (an id of digits);
/// `None` when absent or null.
fn text(props: &Map<String, Value>, key: &str) -> ApiResult<Option<String>> {
    match props.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(ApiError::bad(format!(
            "properties.{key} is {other}, not text"
        ))),
    }
}

fn required(props: &Map<String, Value>, key: &str) -> ApiResult<String> {
    text(props, key)?.ok_or_else(|| {
        ApiError::bad(format!(
            "properties.{key} is missing; an event needs layer, feature_id, subject, status and effective_date"
        ))
    })
}

fn date(props: &Map<String, Value>, key: &str) -> ApiResult<Option<NaiveDate>> {
    text(props, key)?
        .map(|s| {
            NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| {
                ApiError::bad(format!(
                    "properties.{key} '{s}' is not a date: write it as YYYY-MM-DD (2024-03-01)"
                ))
            })
        })
        .transpose()
}

fn parsed<T: std::str::FromStr<Err = DisposalError>>(
    props: &Map<String, Value>,
    key: &str,
) -> ApiResult<Option<T>> {
    text(props, key)?
        .map(|s| {
            s.parse()
                .map_err(|e: DisposalError| ApiError::bad(format!("properties.{key}: {e}")))
        })
        .transpose()
}

/// The event a feature describes, recorded by `account`; a malformed one is a 400 that
/// says what is wrong.
pub fn event_from_feature(body: &[u8], account: &str) -> ApiResult<NewEvent> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad(format!(
            "the body is not JSON ({e}); send a GeoJSON feature: {{\"type\":\"Feature\",\"geometry\":null,\"properties\":{{\"layer\":…,\"feature_id\":…,\"subject\":\"idle\",\"status\":…,\"effective_date\":\"YYYY-MM-DD\"}}}}"
        ))
    })?;
    if v["type"] != "Feature" {
        return Err(ApiError::bad(
            "the body must be one GeoJSON feature (\"type\": \"Feature\"), with the event in its properties",
        ));
    }
    if !v.get("geometry").is_none_or(Value::is_null) {
        return Err(ApiError::bad(
            "an event has no geometry of its own: send \"geometry\": null (the feature it is about is named by layer and feature_id)",
        ));
    }
    let props = v["properties"]
        .as_object()
        .ok_or_else(|| ApiError::bad("properties must be an object holding the event"))?;
    if let Some(k) = props.keys().find(|k| !PROPERTIES.contains(&k.as_str())) {
        let why = if k == "recorded_by" {
            "the event is recorded by the account whose token is sent".to_string()
        } else {
            format!("an event's properties are {}", PROPERTIES.join(", "))
        };
        return Err(ApiError::bad(format!("properties.{k} is not taken: {why}")));
    }
    let amount_wan = match props.get("amount_wan") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => {
            return Err(ApiError::bad(format!(
                "properties.amount_wan is {other}: give a number of 万元 (e.g. 12.5)"
            )))
        }
    };
    let supersedes = match props.get("supersedes") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            ApiError::bad(format!(
                "properties.supersedes is {v}: give the id of the event it corrects"
            ))
        })?),
    };
    Ok(NewEvent {
        subject: parsed(props, "subject")?.ok_or_else(|| {
            ApiError::bad("properties.subject is missing: give idle, approved_not_supplied, underused or conflict")
        })?,
        layer: required(props, "layer")?,
        feature_id: required(props, "feature_id")?,
        status: parsed(props, "status")?.ok_or_else(|| {
            ApiError::bad("properties.status is missing: give suspected, investigating, confirmed, disposing or disposed")
        })?,
        method: parsed(props, "method")?,
        effective_date: date(props, "effective_date")?
            .ok_or_else(|| ApiError::bad("properties.effective_date is missing (YYYY-MM-DD)"))?,
        until: date(props, "until")?,
        document_no: text(props, "document_no")?,
        amount_wan,
        note: text(props, "note")?,
        recorded_by: account.to_string(),
        supersedes,
    })
}

/// The case version an `If-Match` names (`"12"`, `W/"12"` or `12`); `*` and no header ask
/// for no check.
fn if_match(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = v.to_str().unwrap_or("").trim();
    if raw == "*" {
        return Ok(None);
    }
    let inner = raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"');
    inner.parse::<i64>().map(Some).map_err(|_| {
        ApiError::bad(format!(
            "If-Match '{raw}' is not a case version: send the ETag the case's last event was answered with (\"12\"), or \"0\" for a case without events"
        ))
    })
}

/// A refused append as an answer: stale 412, rule 422, store state 409/503.
fn refusal(e: &StoreError) -> ApiError {
    let mut text = e.to_string();
    if let Some(h) = e.hint() {
        text = format!("{text}; {h}");
    }
    match e {
        StoreError::StaleVersion { .. } => ApiError::precondition_failed(text),
        StoreError::Disposal(DisposalError::Unknown { .. }) => ApiError::bad(text),
        StoreError::Disposal(_)
        | StoreError::NoFeature { .. }
        | StoreError::NotParcels { .. }
        | StoreError::NoLayer { .. } => ApiError::unprocessable(text),
        StoreError::Locked { .. } => ApiError::busy(text),
        StoreError::ReadOnly { .. } => ApiError::conflict(text),
        _ => ApiError::internal(text),
    }
}

/// The stored event as a GeoJSON feature of the `events` collection.
fn feature(e: &Event) -> Value {
    let mut props = serde_json::to_value(&e.entry).expect("serialisable");
    props["recorded_at"] = json!(e.recorded_at);
    json!({"type": "Feature", "id": e.id, "geometry": null, "properties": props})
}

/// `POST /collections/{id}/items`: events only; every other collection is read-only.
pub async fn create(
    Extension(caller): Extension<Caller>,
    Extension(writes): Extension<Arc<Writes>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    if id != EVENTS {
        return Err(ApiError::method_not_allowed(format!(
            "the collection '{id}' is read-only; events are recorded by POST to /collections/{EVENTS}/items, layers replaced by POST to /layers/{{name}}"
        )));
    }
    let who = require(&caller, AccessRole::Editor, "recording an event")?.clone();
    if q.is_some_and(|q| !q.is_empty()) {
        return Err(ApiError::bad(
            "recording an event takes no query parameters: the event is the body",
        ));
    }
    let new = event_from_feature(&body, &who.name)?;
    let expected = if_match(&headers)?;
    let target = format!("{}/{}", new.layer, new.feature_id);
    let mut detail = serde_json::to_value(&new).expect("serialisable");
    detail["if_match"] = json!(expected);
    // The audit entry of an accepted event commits with it.
    let audit = {
        let (who, address, target, detail) = (
            who.name.clone(),
            caller.address.to_string(),
            target.clone(),
            detail.clone(),
        );
        move |e: &Event| {
            let mut detail = detail.clone();
            detail["id"] = json!(e.id);
            AuditEntry::now(
                &who,
                &address,
                "event.add",
                &target,
                201,
                detail.to_string(),
            )
        }
    };
    let w = Arc::clone(&writes);
    let done = tokio::task::spawn_blocking(move || w.append_event(&new, expected, &audit))
        .await
        .map_err(|e| ApiError::internal(format!("recording the event failed: {e}")))?;
    match done {
        Ok(event) => {
            let location = format!(
                "{}/collections/{EVENTS}/items/{}",
                super::ogc::base(&headers),
                event.id
            );
            Ok((
                StatusCode::CREATED,
                [
                    (header::CONTENT_TYPE, "application/geo+json".to_string()),
                    (header::LOCATION, location),
                    (header::ETAG, format!("\"{}\"", event.id)),
                ],
                feature(&event).to_string(),
            )
                .into_response())
        }
        Err(e) => {
            let refused = refusal(&e);
            detail["refused"] = json!(refused.description);
            writes
                .audit(
                    &caller,
                    &who,
                    "event.add",
                    target,
                    refused.status.as_u16(),
                    detail,
                )
                .await;
            Err(refused)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::disposal::{Method, Status, Subject};

    fn feature(props: Value) -> Vec<u8> {
        json!({"type": "Feature", "geometry": null, "properties": props})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn a_feature_becomes_the_event_it_describes() {
        let e = event_from_feature(
            &feature(
                json!({"layer": "parcels", "feature_id": 1042, "subject": "idle",
                "status": "处置中", "method": "fee_collected", "effective_date": "2024-05-01",
                "document_no": "征缴〔2024〕3号", "amount_wan": 120.5, "note": null}),
            ),
            "张三",
        )
        .unwrap();
        assert_eq!(e.feature_id, "1042");
        assert_eq!(e.subject, Subject::Idle);
        assert_eq!(e.status, Status::Disposing);
        assert_eq!(e.method, Some(Method::FeeCollected));
        assert_eq!(e.amount_wan, Some(120.5));
        assert_eq!(e.recorded_by, "张三");
        assert_eq!(e.note, None);
    }

    #[test]
    fn a_malformed_feature_is_a_400_that_says_what_is_wrong() {
        let ok = json!({"layer": "parcels", "feature_id": "P1", "subject": "idle",
            "status": "investigating", "effective_date": "2024-05-01"});
        let with = |k: &str, v: Value| {
            let mut p = ok.clone();
            p[k] = v;
            feature(p)
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"{".to_vec(), "not JSON"),
            (b"[]".to_vec(), "one GeoJSON feature"),
            (
                json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": ok})
                    .to_string()
                    .into_bytes(),
                "no geometry",
            ),
            (with("status", json!("finished")), "unknown status"),
            (with("effective_date", json!("2024/5/1")), "YYYY-MM-DD"),
            (with("amount_wan", json!("12万")), "number of 万元"),
            (with("recorded_by", json!("someone")), "the account"),
            (with("colour", json!("red")), "not taken"),
            (with("layer", json!([1])), "not text"),
            (with("supersedes", json!("x")), "the id of the event"),
        ];
        for (body, words) in cases {
            let e = event_from_feature(&body, "a").unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.description.contains(words), "{words}: {}", e.description);
        }
        let mut p = ok.clone();
        p.as_object_mut().unwrap().remove("feature_id");
        let e = event_from_feature(&feature(p), "a").unwrap_err();
        assert!(
            e.description.contains("feature_id is missing"),
            "{}",
            e.description
        );
    }

    #[test]
    fn if_match_names_a_case_version() {
        let mut h = HeaderMap::new();
        assert_eq!(if_match(&h).unwrap(), None);
        for (v, want) in [
            ("\"12\"", Some(12)),
            ("W/\"3\"", Some(3)),
            ("0", Some(0)),
            ("*", None),
        ] {
            h.insert(header::IF_MATCH, v.parse().unwrap());
            assert_eq!(if_match(&h).unwrap(), want, "{v}");
        }
        h.insert(header::IF_MATCH, "\"abc\"".parse().unwrap());
        assert!(if_match(&h).is_err());
    }
}
