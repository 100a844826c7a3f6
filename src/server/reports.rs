//! Analysis endpoints: each check's report as JSON (the shapes of `landwatch check`), CSV,
//! XLSX (one sheet per table) or HTML.

use super::error::{ApiError, ApiResult};
use super::html::{esc, page};
use super::ogc::{base, link};
use super::params::{self, Format, Params, Path};
use super::state::AppState;
use crate::analysis::Context;
use crate::checks::{self, Analysis, Param, Query, Report, SiteError, CHECKS, MAX_SITE_BYTES};
use crate::report::table::{pick, write_csv, write_html, xlsx};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// `Content-Disposition` for a download: an ASCII fallback name and the real one (a park id
/// may be Chinese) as RFC 6266 `filename*`.
fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|h| h.to_str().ok())
}

/// `/analysis`: the checks and their report links.
pub async fn list(headers: HeaderMap, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let mut p = Params::parse(q.as_deref())?;
    let f = params::format(p.take("f"), accept(&headers), &[Format::Json, Format::Html])?;
    p.finish(&["f".into()])?;
    let b = base(&headers);
    if f == Format::Html {
        let rows: String = CHECKS
            .iter()
            .map(|c| {
                let how = if c.params().contains(&Param::Site) {
                    format!("POST 一个 GeoJSON 面到 <code>/analysis/{c}</code>（投影坐标加 <code>?crs=EPSG:…</code>），或在地图上使用审查工具")
                } else {
                    format!(r#"<a href="/analysis/{c}?f=html">网页</a> · <a href="/analysis/{c}?f=xlsx">Excel</a> · <a href="/analysis/{c}?f=csv">CSV</a> · <a href="/analysis/{c}">JSON</a>"#)
                };
                format!("<tr><td>{}</td><td>{how}</td></tr>", c.title_zh())
            })
            .collect();
        let body = format!("<p>评价日期默认今天，可加 <code>?as_of=YYYY-MM-DD</code>；单个园区加 <code>&park=园区编号</code>。</p><table><tbody>{rows}</tbody></table>");
        return Ok((
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page("分析报表", &body),
        )
            .into_response());
    }
    let v = json!({
        "checks": CHECKS.iter().map(|c| json!({
            "id": c.id(),
            "title": c.title_zh(),
            "description": c.description(),
            "collection": c.collection().is_some(),
            "method": if c.params().contains(&Param::Site) { "POST" } else { "GET" },
            "params": c.params().iter().map(|p| p.name()).collect::<Vec<_>>(),
            "links": [
                link(format!("{b}/analysis/{c}"), "describedby", "application/json", "report (JSON)"),
                link(format!("{b}/analysis/{c}?f=csv"), "describedby", "text/csv", "main table (CSV)"),
                link(format!("{b}/analysis/{c}?f=xlsx"), "describedby", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "all tables (XLSX)"),
            ],
        })).collect::<Vec<_>>(),
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response())
}

/// The check of a URL, or 404 naming the checks.
fn check_of(id: &str) -> ApiResult<&'static dyn Analysis> {
    checks::find(id).ok_or_else(|| {
        ApiError::not_found(format!("no check '{id}': checks are {}", checks::ids()))
    })
}

/// The format, the CSV table and the check's own parameters of a request; `f` and `table`
/// are taken by every check, the rest as the check declares.
fn request(
    check: &dyn Analysis,
    q: Option<&str>,
    headers: &HeaderMap,
) -> ApiResult<(Format, Option<String>, Query)> {
    let mut p = Params::parse(q)?;
    let f = params::format(
        p.take("f"),
        accept(headers),
        &[Format::Json, Format::Html, Format::Csv, Format::Xlsx],
    )?;
    let table = p.take("table");
    if table.is_some() && f != Format::Csv {
        return Err(ApiError::bad(
            "table chooses the table of a CSV download: use it with f=csv",
        ));
    }
    let mut query = Query::new(crate::analysis::today());
    let mut allowed = vec!["f".to_string(), "table".to_string()];
    for param in check.params() {
        let name = param.name();
        match param {
            Param::Site => continue,
            Param::AsOf => {
                if let Some(d) = params::date(name, p.take(name))? {
                    query.as_of = d;
                }
            }
            Param::Park => query.park = p.take(name),
            Param::Compare
            | Param::Kind
            | Param::SiteCrs
            | Param::Use
            | Param::From
            | Param::To
            | Param::Period => {
                if let Some(v) = p.take(name) {
                    query.options.insert(name, v);
                }
            }
        }
        allowed.push(name.to_string());
    }
    p.finish(&allowed)?;
    Ok((f, table, query))
}

/// `GET /analysis/{check}`.
pub async fn report(
    State(st): State<Arc<AppState>>,
    Path(check): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let check = check_of(&check)?;
    if check.params().contains(&Param::Site) {
        return Err(ApiError::method_not_allowed(format!(
            "{} reviews a site: POST a GeoJSON Polygon to /analysis/{check} (crs= for a projected one)",
            check.title_zh()
        )));
    }
    let (f, table, query) = request(check, q.as_deref(), &headers)?;
    let a = match respond_async(&headers) {
        None => st.analysis(check, query).await?,
        Some(wait) => match st.analysis_within(check, query.clone(), wait).await? {
            Some(a) => a,
            None => return Ok(computing(check, &query)),
        },
    };
    respond(check, &*a.report, &a.query, f, table)
}

/// How long a client that prefers not to wait (RFC 7240 `Prefer: respond-async`, with
/// `wait=N` seconds, default 1, at most 10) waits for a result before it is answered 202.
fn respond_async(headers: &HeaderMap) -> Option<std::time::Duration> {
    let prefs: Vec<String> = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    if !prefs.iter().any(|p| p == "respond-async") {
        return None;
    }
    let wait = prefs
        .iter()
        .find_map(|p| p.strip_prefix("wait=")?.trim().parse::<f64>().ok())
        .filter(|w| w.is_finite() && *w >= 0.0)
        .unwrap_or(1.0)
        .min(10.0);
    Some(std::time::Duration::from_secs_f64(wait))
}

/// 202: the result is being computed; the same request later is answered from it.
fn computing(check: &dyn Analysis, query: &Query) -> Response {
    let body = json!({
        "status": "computing",
        "check": check.id(),
        "as_of": query.as_of.to_string(),
        "park": query.park,
        "description": format!(
            "{} is being computed; ask again in a few seconds: the result is kept",
            check.title_zh()
        ),
    });
    (
        axum::http::StatusCode::ACCEPTED,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::RETRY_AFTER, "2"),
            (
                header::HeaderName::from_static("preference-applied"),
                "respond-async",
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `POST /analysis/{check}`: a check of a site sent as the body (合规性审查).
pub async fn review(
    State(st): State<Arc<AppState>>,
    Path(check): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let check = check_of(&check)?;
    if !check.params().contains(&Param::Site) {
        return Err(ApiError::method_not_allowed(format!(
            "{check} is read with GET; only checks of a site take a POST body"
        )));
    }
    let too_large = || {
        ApiError::payload_too_large(format!(
            "the site is larger than {MAX_SITE_BYTES} bytes: simplify the polygon (e.g. ogr2ogr -simplify 0.5)"
        ))
    };
    let body = body.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(_) => too_large(),
        other => ApiError::bad(format!("the site could not be read: {other}")),
    })?;
    if body.len() > MAX_SITE_BYTES {
        return Err(too_large());
    }
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::bad(format!("the site is not UTF-8 text ({e}): send GeoJSON")))?;
    if text.trim().is_empty() {
        return Err(ApiError::bad(SiteError::Missing.to_string()));
    }
    let (f, table, mut query) = request(check, q.as_deref(), &headers)?;
    query.site = Some(text.into());
    let catalog = st.catalog.load_full();
    let rules = Arc::clone(&st.rules);
    let run_query = query.clone();
    let report = tokio::task::spawn_blocking(move || {
        checks::run(check, &Context::new(&catalog), &rules, &run_query)
    })
    .await
    .map_err(|e| ApiError::internal(format!("review failed: {e}")))?
    .map_err(|e| ApiError::bad(e.to_string()))?;
    respond(check, &*report, &query, f, table)
}

/// A report in the format asked.
fn respond(
    check: &dyn Analysis,
    report: &dyn Report,
    query: &Query,
    f: Format,
    table: Option<String>,
) -> ApiResult<Response> {
    let selector = query.selector(check.params());
    let dated = check.params().contains(&Param::AsOf);
    let stem = format!(
        "{}{}{}",
        check.id(),
        if dated {
            format!("_{}", query.as_of)
        } else {
            String::new()
        },
        query
            .park
            .as_deref()
            .map(|p| format!("_{p}"))
            .unwrap_or_default()
    );
    let disposition = |suffix: &str| attachment(&format!("{stem}{suffix}"));
    Ok(match f {
        Format::Json => ([(header::CONTENT_TYPE, "application/json")], {
            let mut buf = vec![];
            report
                .write_json(&mut buf, false)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            buf
        })
            .into_response(),
        Format::Csv => {
            let t = report.tables();
            let chosen = pick(&t, table.as_deref()).map_err(ApiError::bad)?;
            let mut buf = vec![];
            write_csv(&mut buf, chosen).map_err(|e| ApiError::internal(e.to_string()))?;
            let suffix = match table {
                Some(_) => format!("_{}.csv", chosen.name),
                None => ".csv".into(),
            };
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, disposition(&suffix)),
                ],
                buf,
            )
                .into_response()
        }
        Format::Xlsx => {
            let bytes = xlsx(&report.tables()).map_err(|e| ApiError::internal(e.to_string()))?;
            (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (header::CONTENT_DISPOSITION, disposition(".xlsx")),
                ],
                bytes,
            )
                .into_response()
        }
        Format::Html => {
            let t = report.tables();
            let csv: Vec<String> = t
                .iter()
                .enumerate()
                .map(|(i, table)| {
                    format!(
                        r#"<a href="?f=csv&amp;table={}&amp;{}">{}</a>"#,
                        i + 1,
                        esc(&selector),
                        esc(&table.name)
                    )
                })
                .collect();
            let body = format!(
                r#"<p>{} · <a href="?f=xlsx&amp;{s}">下载 Excel（全部表格）</a> · 下载 CSV：{} · <a href="?{s}">JSON</a></p>{}"#,
                if dated {
                    format!("评价日期 {}", query.as_of)
                } else {
                    "最新数据".into()
                },
                csv.join("、"),
                write_html(&t),
                s = esc(&selector),
            );
            (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                page(check.title_zh(), &body),
            )
                .into_response()
        }
    })
}
