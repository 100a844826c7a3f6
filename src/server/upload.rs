//! `POST /layers/{name}?role=…`: an admin uploads a layer (上传图层) — a zipped shapefile, a
//! GeoPackage or GeoJSON as the body — and it goes through the very ingest the command line
//! runs (encoding, CRS, repair, row errors, the atomic swap). The answer is the ingest
//! report as JSON, or a 4xx with the ingest's own message; a refused upload leaves the store
//! as it was.

use super::auth::{require, Caller};
use super::error::{ApiError, ApiResult};
use super::params::Params;
use super::writes::Writes;
use crate::accounts::AccessRole;
use crate::ingest::{ingest, IngestError, IngestRequest, OnError, MAX_VERTICES};
use crate::store::StoreError;
use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::json;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// The parameters an upload takes: the `landwatch ingest` options of the same names.
const PARAMETERS: [&str; 9] = [
    "role",
    "kind",
    "layer",
    "crs",
    "encoding",
    "on-error",
    "land-system",
    "analysis-crs",
    "max-vertices",
];

/// What the body holds, told from its first bytes (the Content-Type is often wrong).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upload {
    Zip,
    GeoPackage,
    GeoJson,
}

impl Upload {
    fn sniff(head: &[u8]) -> Option<Upload> {
        if head.starts_with(b"PK\x03\x04") {
            Some(Upload::Zip)
        } else if head.starts_with(b"SQLite format 3\0") {
            Some(Upload::GeoPackage)
        } else {
            let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
            text.iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'{')
                .then_some(Upload::GeoJson)
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Upload::Zip => "zip",
            Upload::GeoPackage => "gpkg",
            Upload::GeoJson => "geojson",
        }
    }
}

/// The ingest's options from the query string, checked as `landwatch ingest` checks them.
fn request(name: &str, q: Option<&str>, writes: &Writes) -> ApiResult<IngestRequest> {
    let mut p = Params::parse(q)?;
    let role = p
        .take("role")
        .ok_or_else(|| {
            ApiError::bad(
                "role is missing: give role=parks, parcels, buildings, plan, redline or other",
            )
        })?
        .parse()
        .map_err(|e: String| ApiError::bad(format!("role: {e}")))?;
    let on_error = match p.take("on-error").as_deref() {
        None | Some("fail") => OnError::Fail,
        Some("skip") => OnError::Skip,
        Some(other) => {
            return Err(ApiError::bad(format!(
                "on-error={other}: give fail (refuse the file on a bad row) or skip"
            )))
        }
    };
    let land_system = p
        .take("land-system")
        .map(|s| s.parse())
        .transpose()
        .map_err(|e: String| ApiError::bad(format!("land-system: {e}")))?;
    let max_vertices = match p.take("max-vertices") {
        None => MAX_VERTICES,
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ApiError::bad(format!("max-vertices: '{v}' is not a whole number")))?,
    };
    let req = IngestRequest {
        file: Default::default(),
        store: writes.store.clone(),
        role,
        name: name.to_string(),
        layer: p.take("layer"),
        filter: None,
        crs: p.take("crs"),
        encoding: p.take("encoding"),
        mapping: None,
        on_error,
        kind: p.take("kind"),
        land_system,
        analysis_crs: p.take("analysis-crs"),
        max_vertices,
        progress: false,
    };
    p.finish(&PARAMETERS.map(String::from))?;
    Ok(req)
}

/// A refused ingest as an answer: the content's faults are 422, the store's state 409 or
/// 503, with the ingest's own words.
fn refusal(e: &IngestError) -> ApiError {
    let text = e.to_string();
    match e {
        IngestError::Store(s) => match s {
            StoreError::Locked { .. } => ApiError::busy(text),
            StoreError::ReadOnly { .. } | StoreError::Conflict(_) => ApiError::conflict(text),
            StoreError::BadName(..) => ApiError::bad(text),
            StoreError::DiskFull { .. } => ApiError {
                status: StatusCode::INSUFFICIENT_STORAGE,
                code: "InsufficientStorage",
                description: text,
                retry_after: None,
            },
            _ => ApiError::internal(text),
        },
        _ => ApiError::unprocessable(text),
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::payload_too_large(format!(
        "the upload is larger than {} MB, the most this server takes (serve --max-upload-mb); ingest it on the server with landwatch ingest, or raise the limit",
        limit / 1_000_000
    ))
}

/// Write the body to `dir`, no more than `limit` bytes; the file and what it holds.
async fn receive(
    body: Body,
    dir: &std::path::Path,
    name: &str,
    limit: u64,
) -> ApiResult<(std::path::PathBuf, Upload, u64)> {
    let part = dir.join("body.part");
    let failed =
        |e: std::io::Error| ApiError::internal(format!("the upload could not be kept: {e}"));
    let mut file = tokio::fs::File::create(&part).await.map_err(failed)?;
    let mut head: Vec<u8> = Vec::with_capacity(64);
    let mut total: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad(format!("the upload was cut off: {e}")))?;
        total += chunk.len() as u64;
        if total > limit {
            return Err(too_large(limit));
        }
        if head.len() < 64 {
            head.extend_from_slice(&chunk[..chunk.len().min(64 - head.len())]);
        }
        file.write_all(&chunk).await.map_err(failed)?;
    }
    file.sync_all().await.map_err(failed)?;
    drop(file);
    if total == 0 {
        return Err(ApiError::bad(
            "the body is empty: send the zipped shapefile, GeoPackage or GeoJSON as the request body",
        ));
    }
    let kind = Upload::sniff(&head).ok_or_else(|| {
        ApiError::unsupported_media(
            "the body is neither a zip (a zipped shapefile or FileGDB), a GeoPackage nor GeoJSON; send one of those as it is on disk (curl --data-binary @parcels.zip)",
        )
    })?;
    let file = dir.join(format!("{name}.{}", kind.extension()));
    tokio::fs::rename(&part, &file).await.map_err(failed)?;
    Ok((file, kind, total))
}

/// A directory for the upload beside the store (same disk), or in the system's temporary
/// directory when the store's cannot be written; removed when dropped.
fn workspace(writes: &Writes) -> ApiResult<tempfile::TempDir> {
    let beside = writes.store.path().and_then(|p| p.parent()).map(|d| {
        if d.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            d
        }
    });
    let builder = || {
        let mut b = tempfile::Builder::new();
        b.prefix(".landwatch-upload-");
        b
    };
    beside
        .and_then(|d| builder().tempdir_in(d).ok())
        .map_or_else(|| builder().tempdir(), Ok)
        .map_err(|e| ApiError::internal(format!("no room for the upload: {e}")))
}

/// `POST /layers/{name}`.
pub async fn upload(
    Extension(caller): Extension<Caller>,
    Extension(writes): Extension<Arc<Writes>>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // A refusal before the body is read reads it first when it is not huge, so that the
    // client, still sending, gets the answer.
    let checked = require(&caller, AccessRole::Admin, "uploading a layer")
        .cloned()
        .and_then(|who| Ok((who, request(&name, q.as_deref(), &writes)?)))
        .and_then(|ok| match declared {
            Some(n) if n > writes.max_upload => Err(too_large(writes.max_upload)),
            _ => Ok(ok),
        });
    let (who, mut req) = match checked {
        Ok(ok) => ok,
        Err(e) => {
            super::drain_refused_body(body, declared.unwrap_or(0)).await;
            return Err(e);
        }
    };
    let dir = workspace(&writes)?;
    let (file, kind, bytes) = receive(body, dir.path(), &name, writes.max_upload).await?;
    req.file = file;
    let role = req.role;
    let done = tokio::task::spawn_blocking(move || ingest(&req))
        .await
        .map_err(|e| ApiError::internal(format!("the ingest failed: {e}")))?;
    drop(dir);
    let mut detail = json!({"role": role.as_str(), "format": kind.extension(), "bytes": bytes});
    let answer = match done {
        Ok(report) => {
            let status = if report.replaced {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            for (k, v) in [
                ("features", json!(report.features)),
                ("repaired", json!(report.repaired)),
                ("skipped", json!(report.skipped)),
                ("replaced", json!(report.replaced)),
            ] {
                detail[k] = v;
            }
            let location = format!("{}/collections/{name}", super::ogc::base(&headers));
            Ok((
                status,
                [
                    (header::CONTENT_TYPE, "application/json".to_string()),
                    (header::LOCATION, location),
                ],
                serde_json::to_string(&report).expect("serialisable"),
            )
                .into_response())
        }
        Err(e) => {
            let refused = refusal(&e);
            detail["refused"] = json!(refused.description);
            Err(refused)
        }
    };
    let status = match &answer {
        Ok(r) => r.status(),
        Err(e) => e.status,
    };
    writes
        .audit(&caller, &who, "layer.upload", name, status.as_u16(), detail)
        .await;
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_of_upload_is_told_from_its_first_bytes() {
        assert_eq!(Upload::sniff(b"PK\x03\x04rest"), Some(Upload::Zip));
        assert_eq!(
            Upload::sniff(b"SQLite format 3\0...."),
            Some(Upload::GeoPackage)
        );
        assert_eq!(
            Upload::sniff(b"\xEF\xBB\xBF \n{\"type\""),
            Some(Upload::GeoJson)
        );
        assert_eq!(Upload::sniff(b"GIF89a"), None);
        assert_eq!(Upload::sniff(b""), None);
    }
}
