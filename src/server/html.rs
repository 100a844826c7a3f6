//! The HTML faces of the OGC API resources: plain pages with Chinese labels, linking to the map.

use super::collections::Collection;
use super::ogc::href;

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page with the site header.
pub fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{t} — landwatch</title><link rel="stylesheet" href="/assets/site.css"></head><body><header class="site"><a href="/" class="brand">landwatch 园区土地监测</a><nav><a href="/">地图</a><a href="/collections?f=html">图层</a><a href="/analysis?f=html">分析报表</a><a href="/api?f=html">API</a><a href="/conformance?f=html">标准符合性</a></nav></header><main class="doc"><h1>{t}</h1>{body}</main></body></html>"#,
        t = esc(title)
    )
}

/// `/conformance` as HTML.
pub fn conformance(classes: &[&str]) -> String {
    let items: String = classes
        .iter()
        .map(|c| format!("<li><code>{}</code></li>", esc(c)))
        .collect();
    page("标准符合性 Conformance", &format!("<ul>{items}</ul>"))
}

/// `/collections` as HTML.
pub fn collections(all: &[Collection]) -> String {
    let rows: String = all
        .iter()
        .map(|c| {
            let id = c.id();
            format!(
                r#"<tr><td><a href="/collections/{id}?f=html">{id}</a></td><td>{}</td><td class="num">{}</td><td><a href="/collections/{id}/items?f=html">要素</a> · <a href="/collections/{id}/items?f=json">GeoJSON</a></td></tr>"#,
                esc(&c.title()),
                c.len()
            )
        })
        .collect();
    page(
        "图层 Collections",
        &format!("<table><thead><tr><th>标识</th><th>名称</th><th>要素数</th><th>数据</th></tr></thead><tbody>{rows}</tbody></table>"),
    )
}

/// `/collections/{id}` as HTML.
pub fn collection(c: &Collection) -> String {
    let id = c.id();
    let sel = c.selector();
    let (spatial, temporal) = c.extent();
    let extent = spatial
        .map(|r| {
            format!(
                "{:.6}, {:.6} – {:.6}, {:.6}",
                r.min().x,
                r.min().y,
                r.max().x,
                r.max().y
            )
        })
        .unwrap_or_else(|| "—".into());
    let time = temporal
        .map(|(a, b)| format!("{a} – {b}"))
        .unwrap_or_else(|| "—".into());
    let queryables: String = c
        .queryables()
        .iter()
        .map(|q| format!("<li><code>{}</code> {}</li>", esc(&q.name), esc(&q.title)))
        .collect();
    let crs: String = c
        .crs_list()
        .iter()
        .map(|c| format!("<li><code>{}</code></li>", c.uri()))
        .collect();
    page(
        &c.title(),
        &format!(
            r#"<p>{}</p><dl><dt>标识</dt><dd><code>{id}</code></dd><dt>要素数</dt><dd>{}</dd><dt>范围（经纬度）</dt><dd>{extent}</dd><dt>时间范围</dt><dd>{time}</dd><dt>可筛选属性</dt><dd><ul>{queryables}</ul></dd><dt>坐标系</dt><dd><ul>{crs}</ul></dd></dl><p><a href="{}">浏览要素</a> · <a href="{}">GeoJSON</a> · <a href="{}">矢量瓦片 TileJSON</a></p>"#,
            esc(&c.description()),
            c.len(),
            esc(&href(
                &format!("/collections/{id}/items"),
                &["f=html", &sel]
            )),
            esc(&href(&format!("/collections/{id}/items"), &[&sel])),
            esc(&href(&format!("/tiles/{id}.json"), &[&sel])),
        ),
    )
}

fn property_rows(properties: &str) -> String {
    let v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(properties).unwrap_or_default();
    v.iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&text))
        })
        .collect()
}

/// A page of features as HTML.
pub fn items(
    c: &Collection,
    rows: &[(crate::checks::FeatureId, String)],
    total: usize,
    start: usize,
    next_query: &str,
) -> String {
    let id = c.id();
    let sel = c.selector();
    let list: String = rows
        .iter()
        .map(|(fid, props)| {
            format!(
                r#"<details><summary><a href="{}">要素 {fid}</a></summary><table class="props">{}</table></details>"#,
                esc(&href(&format!("/collections/{id}/items/{fid}"), &["f=html", &sel])),
                property_rows(props)
            )
        })
        .collect();
    let more = if start + rows.len() < total {
        format!(
            r#"<p><a href="/collections/{id}/items?{}">下一页</a></p>"#,
            esc(next_query)
        )
    } else {
        String::new()
    };
    let shown = if rows.is_empty() {
        format!("<p>共 {total} 个要素，本页没有要素。</p>")
    } else {
        format!(
            "<p>共 {total} 个要素，显示第 {}–{} 个。</p>",
            start + 1,
            start + rows.len()
        )
    };
    page(&c.title(), &format!("{shown}{list}{more}"))
}

/// One feature as HTML.
pub fn item(c: &Collection, fid: &crate::checks::FeatureId, properties: &str) -> String {
    page(
        &format!("{} — 要素 {fid}", c.title()),
        &format!(
            r#"<table class="props">{}</table><p><a href="{}">GeoJSON</a></p>"#,
            property_rows(properties),
            esc(&href(
                &format!("/collections/{}/items/{fid}", c.id()),
                &[&c.selector()]
            ))
        ),
    )
}
