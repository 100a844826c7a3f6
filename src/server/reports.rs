//! Analysis endpoints: each check's report as JSON (the shapes of `landwatch check`), CSV,
//! XLSX (one sheet per table) or HTML.

use super::error::{ApiError, ApiResult};
use super::html::{esc, page};
use super::ogc::{base, link};
use super::params::{self, Format, Params, Path};
use super::state::AppState;
use crate::checks::{self, Query, CHECKS};
use crate::report::table::{pick, write_csv, write_html, xlsx};
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
                format!(
                    r#"<tr><td>{}</td><td><a href="/analysis/{c}?f=html">网页</a> · <a href="/analysis/{c}?f=xlsx">Excel</a> · <a href="/analysis/{c}?f=csv">CSV</a> · <a href="/analysis/{c}">JSON</a></td></tr>"#,
                    c.title_zh()
                )
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
            "links": [
                link(format!("{b}/analysis/{c}"), "describedby", "application/json", "report (JSON)"),
                link(format!("{b}/analysis/{c}?f=csv"), "describedby", "text/csv", "main table (CSV)"),
                link(format!("{b}/analysis/{c}?f=xlsx"), "describedby", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "all tables (XLSX)"),
            ],
        })).collect::<Vec<_>>(),
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response())
}

/// `/analysis/{check}`.
pub async fn report(
    State(st): State<Arc<AppState>>,
    Path(check): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let check = checks::find(&check).ok_or_else(|| {
        ApiError::not_found(format!("no check '{check}': checks are {}", checks::ids()))
    })?;
    let mut p = Params::parse(q.as_deref())?;
    let f = params::format(
        p.take("f"),
        accept(&headers),
        &[Format::Json, Format::Html, Format::Csv, Format::Xlsx],
    )?;
    let as_of = params::date("as_of", p.take("as_of"))?.unwrap_or_else(crate::analysis::today);
    let park = p.take("park");
    let table = p.take("table");
    if table.is_some() && f != Format::Csv {
        return Err(ApiError::bad(
            "table chooses the table of a CSV download: use it with f=csv",
        ));
    }
    p.finish(&["f".into(), "as_of".into(), "park".into(), "table".into()])?;
    let a = st.analysis(check, Query { as_of, park }).await?;
    let selector = a.selector();
    let stem = format!(
        "{}_{}{}",
        check.id(),
        as_of,
        a.query
            .park
            .as_deref()
            .map(|p| format!("_{p}"))
            .unwrap_or_default()
    );
    let disposition = |suffix: &str| attachment(&format!("{stem}{suffix}"));
    Ok(match f {
        Format::Json => ([(header::CONTENT_TYPE, "application/json")], {
            let mut buf = vec![];
            a.report
                .write_json(&mut buf, false)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            buf
        })
            .into_response(),
        Format::Csv => {
            let t = a.report.tables();
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
            let bytes = xlsx(&a.report.tables()).map_err(|e| ApiError::internal(e.to_string()))?;
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
            let t = a.report.tables();
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
                r#"<p>评价日期 {as_of} · <a href="?f=xlsx&amp;{s}">下载 Excel（全部表格）</a> · 下载 CSV：{} · <a href="?{s}">JSON</a></p>{}"#,
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
