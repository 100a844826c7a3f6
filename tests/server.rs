//! `landwatch serve` over the sample store: the real binary on a loopback port, read by a
//! plain HTTP client, by GDAL's OAPIF and MVT drivers, and by headless Chromium.

mod common;

use common::server::{get, Reply, Server};
use common::*;
use rand::{RngExt, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const AS_OF: &str = "2026-06-30";

/// `landwatch check KIND --format json` on the store, on the tests' evaluation date.
fn check(store: &Path, kind: &str, extra: &[&str]) -> Value {
    check_json(store, kind, AS_OF, extra)
}

fn assert_link(l: &Value, base: &str) {
    let href = l["href"].as_str().expect("href");
    assert!(href.starts_with(base), "link not absolute: {l}");
    assert!(
        l["rel"].is_string() && l["type"].is_string(),
        "link without rel or type: {l}"
    );
}

fn assert_exception(r: &Reply, status: u16, words: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let v = r.json();
    assert!(v["code"].is_string(), "{v}");
    let d = v["description"].as_str().unwrap();
    assert!(d.contains(words), "'{words}' not in: {d}");
}

#[test]
fn landing_conformance_api_and_collections() {
    let srv = Server::start(sample_store());
    let b = &srv.base;
    let landing = srv.json("/?f=json");
    let rels: BTreeSet<&str> = landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|l| assert_link(l, b))
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    for rel in ["self", "service-desc", "service-doc", "conformance", "data"] {
        assert!(rels.contains(rel), "landing page lacks rel={rel}");
    }
    // A browser gets the map.
    let page = srv.get_with("/", &[("Accept", "text/html,application/xhtml+xml")]);
    assert!(page.text().contains("maplibre-gl.js") && page.text().contains("园区"));

    let conf = srv.json("/conformance");
    let classes: Vec<&str> = conf["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for c in ["core", "geojson", "html", "oas30"] {
        assert!(classes
            .iter()
            .any(|x| x.ends_with(&format!("features-1/1.0/conf/{c}"))));
    }
    assert!(classes
        .iter()
        .any(|x| x.ends_with("features-2/1.0/conf/crs")));

    let counts = layer_counts(sample_store());
    let cols = srv.json("/collections");
    let ids: Vec<&str> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for (name, n) in &counts {
        let c = srv.json(&format!("/collections/{name}"));
        assert_eq!(c["id"], name.as_str());
        assert!(!name.contains('.'));
        c["links"]
            .as_array()
            .unwrap()
            .iter()
            .for_each(|l| assert_link(l, b));
        assert!(c["extent"]["spatial"]["bbox"][0].as_array().unwrap().len() == 4);
        let crs: Vec<&str> = c["crs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(crs.contains(&"http://www.opengis.net/def/crs/OGC/1.3/CRS84"));
        assert!(crs.contains(&"http://www.opengis.net/def/crs/EPSG/0/4490"));
        assert!(
            crs.contains(&"http://www.opengis.net/def/crs/EPSG/0/4523"),
            "{crs:?}"
        );
        let items = srv.json(&format!("/collections/{name}/items?limit=1"));
        assert_eq!(items["numberMatched"].as_u64(), Some(*n), "{name}");
    }
    for analysis in ["idle", "underused", "zoning", "conflicts", "events"] {
        assert!(
            ids.contains(&analysis),
            "no {analysis} collection in {ids:?}"
        );
    }
    assert_eq!(ids.len(), counts.len() + 5);
    // An analysis collection's extent is that of its features: inside the layer they come from.
    let bbox = |id: &str| -> Vec<f64> {
        serde_json::from_value(
            srv.json(&format!("/collections/{id}"))["extent"]["spatial"]["bbox"][0].clone(),
        )
        .unwrap()
    };
    let (idle, parcels) = (bbox("idle"), bbox("parcels"));
    assert!(idle[0] < idle[2] && idle[1] < idle[3], "{idle:?}");
    assert!(
        idle[0] >= parcels[0]
            && idle[1] >= parcels[1]
            && idle[2] <= parcels[2]
            && idle[3] <= parcels[3],
        "{idle:?} outside {parcels:?}"
    );

    // The OpenAPI document names every collection's items path with its filters.
    let api = srv.get("/api");
    assert_eq!(api.status, 200);
    assert!(api.header("content-type").unwrap().contains("openapi"));
    let api = api.json();
    assert!(api["openapi"].as_str().unwrap().starts_with("3.0"));
    for id in &ids {
        let path = format!("/collections/{id}/items");
        assert!(api["paths"][&path]["get"].is_object(), "no {path} in /api");
    }
    let parcel_params: Vec<String> = api["paths"]["/collections/parcels/items"]["get"]
        ["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["name"].as_str().map(String::from).unwrap_or_else(|| {
                p["$ref"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .into()
            })
        })
        .collect();
    for p in ["bbox", "limit", "datetime", "crs", "所属园区", "用地性质"] {
        assert!(
            parcel_params.iter().any(|x| x == p),
            "{p} not in {parcel_params:?}"
        );
    }
    for p in [
        "filter",
        "filter-lang",
        "filter-crs",
        "sortby",
        "properties",
        "skipGeometry",
    ] {
        assert!(parcel_params.iter().any(|x| x == p), "{p} not declared");
    }
    // as_of and park only where accepted: on analysis collections, not on stored layers.
    assert!(!parcel_params.iter().any(|x| x == "as_of" || x == "park"));
    let idle_params = api["paths"]["/collections/idle/items"]["get"]["parameters"].to_string();
    assert!(idle_params.contains("/as_of") && idle_params.contains("/park"));
    for path in [
        "/collections/{collectionId}",
        "/collections/{collectionId}/queryables",
        "/collections/{collectionId}/items/{featureId}",
        "/tiles/{collectionId}.json",
    ] {
        let op = &api["paths"][path]["get"];
        let text = op["parameters"].to_string();
        assert!(!text.contains("as_of"), "{path} declares as_of");
        // Collection ids as an enum: the stored layers.
        let ids = op["parameters"][0]["schema"]["enum"].as_array().unwrap();
        assert_eq!(ids.len(), counts.len(), "{path}");
        assert!(op["responses"]["404"].is_object(), "{path}");
        let idle = path.replace("{collectionId}", "idle");
        assert!(api["paths"][&idle]["get"]["parameters"]
            .to_string()
            .contains("as_of"));
    }
    // 404 only where something named may not exist; HTML among the reports' answers.
    for path in [
        "/",
        "/conformance",
        "/collections",
        "/collections/parcels/items",
    ] {
        assert!(
            api["paths"][path]["get"]["responses"]["404"].is_null(),
            "{path}"
        );
    }
    let report = &api["paths"]["/analysis/{check}"]["get"]["responses"];
    assert!(report["200"]["content"]["text/html"].is_object());
    assert!(report["404"].is_object());
    assert_eq!(srv.get("/analysis/nothing").status, 404);
    assert_eq!(srv.get("/analysis/zoning?f=html").status, 200);

    // Every collection's queryables (OGC API – Features Part 3) are filters items obeys.
    assert!(classes
        .iter()
        .any(|x| x.ends_with("features-3/1.0/conf/queryables-query-parameters")));
    for id in &ids {
        let r = srv.get(&format!("/collections/{id}/queryables"));
        assert_eq!(r.status, 200, "{id}");
        assert_eq!(r.header("content-type"), Some("application/schema+json"));
        let schema = r.json();
        assert_eq!(schema["type"], "object");
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["properties"]["geometry"]["format"], "geometry-any");
        let first = srv.json(&format!("/collections/{id}/items?limit=1"));
        let first = &first["features"][0]["properties"];
        for (name, q) in schema["properties"].as_object().unwrap() {
            if name == "geometry" {
                continue;
            }
            let kind = q["type"].as_str().unwrap();
            assert!(
                ["string", "boolean", "number", "integer"].contains(&kind),
                "{id} {name}: {q}"
            );
            // Typed figures are written as the source has them (units, formats): their
            // equality filters are checked in cql2_filters_against_gdal_and_the_features.
            if !["string", "boolean"].contains(&kind) || q["format"] == "date" {
                continue;
            }
            let text = |v: &Value| v.as_str().map_or(v.to_string(), String::from);
            let Some(value) = first.get(name).filter(|v| !v.is_null()).map(text) else {
                continue;
            };
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair(name, &value)
                .finish();
            let hits = srv.json(&format!("/collections/{id}/items?{query}&limit=10000"));
            assert!(hits["numberMatched"].as_u64().unwrap() >= 1, "{id} {query}");
            for f in hits["features"].as_array().unwrap() {
                assert_eq!(text(&f["properties"][name]), value, "{id} {query}");
            }
        }
    }
    let parcel_queryables = srv.json("/collections/parcels/queryables");
    for name in ["所属园区", "park_id", "用地性质"] {
        assert_eq!(parcel_queryables["properties"][name]["type"], "string");
    }
    let zoning_queryables = srv.json("/collections/zoning/queryables");
    assert_eq!(zoning_queryables["properties"]["pass"]["type"], "boolean");
    // HTML through f= and through Accept.
    for path in [
        "/collections?f=html",
        "/collections/parcels?f=html",
        "/api?f=html",
    ] {
        let r = srv.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
    }
    let r = srv.get_with(
        "/collections/parcels/items?limit=5",
        &[("Accept", "text/html")],
    );
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text().contains("宗地编号"));
    assert_eq!(srv.json("/health")["status"], "ok");
}

#[test]
fn items_page_filter_and_reproject() {
    let srv = Server::start(sample_store());
    let b = srv.base.clone();

    // Next links walk every parcel exactly once, with exact counts on every page.
    let mut url = format!("{b}/collections/parcels/items?limit=700");
    let mut ids = BTreeSet::new();
    let mut pages = 0;
    loop {
        let page = get(&url, &[]).json();
        assert_eq!(page["numberMatched"], 3000);
        let features = page["features"].as_array().unwrap();
        assert_eq!(
            page["numberReturned"].as_u64().unwrap() as usize,
            features.len()
        );
        for f in features {
            assert!(ids.insert(f["id"].as_i64().unwrap()), "feature twice");
        }
        pages += 1;
        let links = page["links"].as_array().unwrap();
        links.iter().for_each(|l| assert_link(l, &b));
        match links.iter().find(|l| l["rel"] == "next") {
            Some(next) => url = next["href"].as_str().unwrap().to_string(),
            None => break,
        }
    }
    assert_eq!((ids.len(), pages), (3000, 5));

    // A page larger than the maximum is clamped, not refused; it streams the whole layer.
    let all = srv.json("/collections/parcels/items?limit=20000");
    let features = all["features"].as_array().unwrap();
    assert_eq!(features.len(), 3000);
    assert_eq!(features[0]["properties"]["所属园区"], "GXQ01");

    // bbox: the same parcels GDAL finds intersecting the window.
    let (x0, y0, x1, y1) = (104.48, 30.0, 104.5, 30.02);
    let found = srv.json(&format!(
        "/collections/parcels/items?bbox={x0},{y0},{x1},{y1}&limit=10000"
    ));
    let expected = gdal_sql(
        sample_store(),
        &format!(
            "SELECT COUNT(*) FROM parcels WHERE ST_Intersects(geom, BuildMbr({x0},{y0},{x1},{y1}))"
        ),
    );
    assert_eq!(found["numberMatched"].to_string(), expected[0][0]);
    // … and through bbox-crs in EPSG:4490's own axis order (lat, lon).
    let yx = srv.json(&format!(
        "/collections/parcels/items?bbox={y0},{x0},{y1},{x1}&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4490&limit=1"
    ));
    assert_eq!(yx["numberMatched"], found["numberMatched"]);

    // Property filters match what the features say.
    let by_park = features
        .iter()
        .filter(|f| f["properties"]["所属园区"] == "JKQ01")
        .count();
    let filtered =
        srv.json("/collections/parcels/items?%E6%89%80%E5%B1%9E%E5%9B%AD%E5%8C%BA=JKQ01&limit=1");
    assert_eq!(
        filtered["numberMatched"].as_u64().unwrap() as usize,
        by_park
    );
    assert!(by_park > 0 && by_park < 3000);
    let canonical = srv.json("/collections/parcels/items?park_id=JKQ01&limit=1");
    assert_eq!(canonical["numberMatched"], filtered["numberMatched"]);

    // datetime against the layer's date property: fewer parcels before a date than in all.
    let early = srv.json("/collections/parcels/items?datetime=../2015-12-31&limit=1");
    let n_early = early["numberMatched"].as_u64().unwrap();
    assert!(n_early > 0 && n_early < 3000, "{n_early}");
    let late = srv.json("/collections/parcels/items?datetime=2016-01-01/..&limit=1");
    assert!(late["numberMatched"].as_u64().unwrap() + n_early <= 3000);

    // crs: Gauss-Krüger zone 35 in its authority order (northing, easting), said in Content-Crs.
    let fid = features[0]["id"].as_i64().unwrap();
    let gk = srv.get(&format!(
        "/collections/parcels/items/{fid}?crs=http://www.opengis.net/def/crs/EPSG/0/4523"
    ));
    assert_eq!(gk.status, 200);
    assert_eq!(
        gk.header("content-crs"),
        Some("<http://www.opengis.net/def/crs/EPSG/0/4523>")
    );
    let ring = &gk.json()["geometry"]["coordinates"][0][0];
    let (n, e) = (ring[0][0].as_f64().unwrap(), ring[0][1].as_f64().unwrap());
    assert!((3_300_000.0..3_400_000.0).contains(&n), "northing {n}");
    assert!((35_400_000.0..35_500_000.0).contains(&e), "easting {e}");
    let one = srv.get(&format!("/collections/parcels/items/{fid}"));
    assert_eq!(
        one.header("content-crs"),
        Some("<http://www.opengis.net/def/crs/OGC/1.3/CRS84>")
    );
    assert_eq!(one.json()["properties"], features[0]["properties"]);

    // ETag: the same request again is answered 304 Not Modified.
    let first = srv.get("/collections/parcels/items?limit=3");
    let tag = first.header("etag").expect("ETag").to_string();
    let again = srv.get_with(
        "/collections/parcels/items?limit=3",
        &[("If-None-Match", &tag)],
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
}

/// `items?filter=…` (cql2-text, or cql2-json when `json`), URL-encoded.
fn filtered(srv: &Server, id: &str, filter: &str, extra: &str) -> Reply {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("filter", filter)
        .finish();
    srv.get(&format!("/collections/{id}/items?{q}{extra}"))
}

#[test]
fn cql2_filters_against_gdal_and_the_features() {
    let srv = Server::start(sample_store());
    let store = sample_store();
    let count = |sql_where: &str| -> u64 {
        gdal_sql(
            store,
            &format!("SELECT COUNT(*) FROM parcels WHERE {sql_where}"),
        )[0][0]
            .parse()
            .unwrap()
    };
    let matched = |filter: &str, extra: &str| -> u64 {
        let r = filtered(&srv, "parcels", filter, extra);
        assert_eq!(r.status, 200, "{filter}: {}", r.text());
        r.json()["numberMatched"].as_u64().unwrap()
    };
    // Comparison, LIKE, IN, BETWEEN, IS NULL and boolean logic, typed, against GDAL's SQLite.
    for (cql, sql) in [
        ("\"所属园区\" = 'GXQ01'", "所属园区 = 'GXQ01'"),
        ("park_id = 'GXQ01' AND 税收 > 100", "所属园区 = 'GXQ01' AND 税收 > 100"),
        ("tax >= 50.5 OR park_id <> 'GXQ01'", "税收 >= 50.5 OR 所属园区 <> 'GXQ01'"),
        ("NOT (tax < 100)", "NOT (税收 < 100)"),
        ("tax IS NULL", "税收 IS NULL"),
        ("宗地编号 LIKE 'GX%'", "宗地编号 LIKE 'GX%'"),
        ("park_id IN ('JKQ01', 'XX')", "所属园区 IN ('JKQ01', 'XX')"),
        ("invested BETWEEN 1000 AND 5000", "已投资 BETWEEN 1000 AND 5000"),
        (
            "contract_date < DATE('2016-01-01')",
            "合同签订日 < '2016-01-01'",
        ),
        (
            "T_AFTER(合同签订日, DATE('2018-06-30'))",
            "合同签订日 > '2018-06-30'",
        ),
        (
            "T_DURING(contract_date, INTERVAL('2015-01-01', '2019-01-01'))",
            "合同签订日 > '2015-01-01' AND 合同签订日 < '2019-01-01'",
        ),
        (
            "S_INTERSECTS(geometry, POLYGON((104.48 30, 104.5 30, 104.5 30.02, 104.48 30.02, 104.48 30)))",
            "ST_Intersects(geom, ST_GeomFromText('POLYGON((104.48 30, 104.5 30, 104.5 30.02, 104.48 30.02, 104.48 30))'))",
        ),
        (
            "S_WITHIN(geometry, BBOX(104.48, 30, 104.5, 30.02))",
            "ST_Within(geom, BuildMbr(104.48, 30, 104.5, 30.02))",
        ),
    ] {
        let expected = count(sql);
        assert_eq!(matched(cql, ""), expected, "{cql}");
        assert!(expected < 3000, "{cql} selects everything");
    }
    // Some of those select something.
    assert!(count("所属园区 = 'GXQ01' AND 税收 > 100") > 0);
    // cql2-json, and GeoJSON literals, select the same.
    let json = r#"{"op":"and","args":[{"op":"=","args":[{"property":"park_id"},"GXQ01"]},{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[104.48,30],[104.5,30],[104.5,30.02],[104.48,30.02],[104.48,30]]]}]}]}"#;
    let text = "park_id = 'GXQ01' AND S_INTERSECTS(geometry, POLYGON((104.48 30, 104.5 30, 104.5 30.02, 104.48 30.02, 104.48 30)))";
    assert_eq!(matched(json, "&filter-lang=cql2-json"), matched(text, ""));
    // filter-crs: the same window in EPSG:4490's own axis order (lat, lon).
    assert_eq!(
        matched(
            "S_INTERSECTS(geometry, POLYGON((30 104.48, 30 104.5, 30.02 104.5, 30.02 104.48, 30 104.48)))",
            "&filter-crs=http://www.opengis.net/def/crs/EPSG/0/4490"
        ),
        count("ST_Intersects(geom, BuildMbr(104.48, 30, 104.5, 30.02))")
    );
    // Query-parameter equalities fold in, and every page agrees with numberMatched.
    let n = matched("tax > 100", "&park_id=GXQ01&limit=7");
    assert_eq!(n, count("所属园区 = 'GXQ01' AND 税收 > 100"));
    // Analysis collections filter too.
    let idle = check(store, "idle", &[]);
    let fee_idle = idle["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["track"] == "fee")
        .count() as u64;
    let r = filtered(&srv, "idle", "track = 'fee'", &format!("&as_of={AS_OF}"));
    assert_eq!(r.json()["numberMatched"].as_u64().unwrap(), fee_idle);

    // 低效 and 需补充数据 apart: the collection's verdicts add up to the report's counts.
    let under = check(store, "underused", &[]);
    let verdict = |v: &str| {
        let r = filtered(
            &srv,
            "underused",
            &format!("verdict = '{v}'"),
            &format!("&as_of={AS_OF}"),
        );
        r.json()["numberMatched"].as_u64().unwrap()
    };
    assert_eq!(
        verdict("underused"),
        under["summary"]["flagged"].as_u64().unwrap()
    );
    assert_eq!(
        verdict("needs_data"),
        under["summary"]["needs_data"].as_u64().unwrap()
    );

    // A bad expression is a 400 that says what and where.
    for (bad, words) in [
        ("park_id = = 'x'", "cql2-text"),
        ("ooga = booga", "'ooga' is not a queryable"),
        ("tax > 'lots'", "tax is a number"),
        (
            "S_INTERSECTS(geometry, POINT(500000 3300000))",
            "filter-crs",
        ),
    ] {
        assert_exception(&filtered(&srv, "parcels", bad, ""), 400, words);
    }
    assert_exception(
        &filtered(&srv, "parcels", "tax > 1", "&filter-lang=ecql"),
        400,
        "cql2-json",
    );

    // sortby, properties and skipGeometry.
    let sorted = filtered(
        &srv,
        "parcels",
        "tax IS NOT NULL",
        "&sortby=-tax&limit=20&properties=宗地编号,税收&skipGeometry=true",
    )
    .json();
    let taxes: Vec<f64> = sorted["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert!(f["geometry"].is_null());
            let keys: Vec<&String> = f["properties"].as_object().unwrap().keys().collect();
            assert_eq!(keys, ["宗地编号", "税收"]);
            f["properties"]["税收"].as_f64().unwrap()
        })
        .collect();
    let top = gdal_sql(
        store,
        "SELECT 税收 FROM parcels WHERE 税收 IS NOT NULL ORDER BY 税收 DESC LIMIT 20",
    );
    let expected: Vec<f64> = top.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(taxes, expected);
    assert_exception(
        &srv.get("/collections/parcels/items?sortby=nothing"),
        400,
        "sortby",
    );

    // Part 3: the items resource links to its queryables in a Link header.
    let r = srv.get("/collections/parcels/items?limit=1&bbox=104,30,105,31");
    let link = r.header("link").expect("Link header");
    assert!(link.contains("rel=\"http://www.opengis.net/def/rel/ogc/1.0/queryables\""));
    assert!(link.contains("/collections/parcels/queryables>"));
    assert!(link.contains("rel=\"self\"; type=\"application/geo+json\""));
    assert!(!link.contains("104,30"), "commas in a Link URI: {link}");
    let conf = srv.json("/conformance");
    for c in [
        "ogcapi-features-3/1.0/conf/filter",
        "ogcapi-features-3/1.0/conf/features-filter",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/cql2-json",
        "cql2/1.0/conf/basic-cql2",
        "cql2/1.0/conf/advanced-comparison-operators",
        "cql2/1.0/conf/basic-spatial-functions",
        "cql2/1.0/conf/temporal-functions",
    ] {
        assert!(
            conf["conformsTo"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x.as_str().unwrap().ends_with(c)),
            "{c}"
        );
    }
}

#[test]
fn a_declared_schema_keeps_gdal_from_retyping_mixed_dates() {
    let srv = Server::start(sample_store());
    // Part 5: every property with the type all its values share.
    let schema = srv.get("/collections/parcels/schema");
    assert_eq!(
        schema.header("content-type"),
        Some("application/schema+json")
    );
    let p = &schema.json()["properties"];
    assert_eq!(p["宗地面积"]["type"], "number");
    assert_eq!(p["从业人数"]["type"], "integer");
    assert_eq!(p["合同签订日"]["format"], "date");
    // 批准日期 is text in several date formats: declared text, not a date.
    assert_eq!(p["批准日期"], serde_json::json!({"type": "string"}));
    let formats: BTreeSet<usize> = srv.json("/collections/parcels/items?limit=3000")["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["properties"]["批准日期"].as_str().map(str::len))
        .collect();
    assert!(
        formats.len() > 1,
        "the sample has one date format only: {formats:?}"
    );
    // GDAL paging three features at a time would guess Date from the first page; it reads
    // the schema from the describedBy link instead.
    let (info, _) = gdal_tool(
        "ogrinfo",
        &[
            "-ro",
            "-so",
            "-oo",
            "PAGE_SIZE=3",
            &format!("OAPIF:{}", srv.base),
            "parcels",
        ],
        &[],
    );
    assert!(info.contains("批准日期: String"), "{info}");
    assert!(info.contains("合同签订日: Date"), "{info}");
    assert!(info.contains("宗地面积: Real"), "{info}");
    assert_exception(
        &srv.get("/collections/parcels/schema?profile=x"),
        400,
        "profile",
    );
}

#[test]
fn bad_requests_get_ogc_exceptions() {
    let srv = Server::start(sample_store());
    let cases: &[(&str, u16, &str)] = &[
        (
            "/collections/parcels/items?colour=red",
            400,
            "unknown parameter 'colour'",
        ),
        ("/collections/parcels/items?bbox=1,2,3", 400, "bbox"),
        ("/collections/parcels/items?bbox=a,b,c,d", 400, "bbox"),
        ("/collections/parcels/items?limit=0", 400, "limit"),
        ("/collections/parcels/items?limit=-5", 400, "limit"),
        ("/collections/parcels/items?offset=x", 400, "offset"),
        ("/collections/parcels/items?crs=EPSG:3857", 400, "crs"),
        (
            "/collections/parcels/items?datetime=yesterday",
            400,
            "datetime",
        ),
        (
            "/collections/parcels/items?limit=1&limit=2",
            400,
            "more than once",
        ),
        ("/collections/idle/items?as_of=2026-13-01", 400, "as_of"),
        ("/collections/idle/items?park=NOPE", 400, "park 'NOPE'"),
        ("/collections/nothing/items", 404, "no collection 'nothing'"),
        ("/collections/parcels/items/999999", 404, "999999"),
        ("/collections/parcels/items/abc", 404, "abc"),
        ("/tiles/parcels/99/0/0.mvt", 400, "does not exist"),
        ("/tiles/parcels/3/9/0.mvt", 400, "does not exist"),
        ("/analysis/nonsense", 404, "nonsense"),
        ("/nowhere", 404, "collections"),
        ("/collections/%FF/items", 400, "UTF-8"),
        ("/tiles/%FF/1/1/1.mvt", 400, "UTF-8"),
        (
            "/collections/parcels/items?datetime=2020-01-01garbage",
            400,
            "datetime",
        ),
        ("/collections/zoning/items?pass=maybe", 400, "pass"),
        (
            "/collections/zoning/items?datetime=2020-01-01/..",
            400,
            "no date property",
        ),
        ("/collections/idle/items?as_of=-0001-01-01", 400, "as_of"),
        (
            "/tiles/parcels/14/0/0.mvt?as_of=2024-01-01",
            400,
            "takes no parameters",
        ),
        ("/analysis/idle?table=1", 400, "f=csv"),
        ("/analysis/zoning?f=csv&table=99", 400, "1 园区"),
    ];
    for (path, status, words) in cases {
        assert_exception(&srv.get(path), *status, words);
    }
    // Only GET and HEAD.
    let post = ureq::post(&format!("{}/collections", srv.base)).send_string("x");
    match post {
        Err(ureq::Error::Status(405, _)) => {}
        other => panic!("POST should be 405: {other:?}"),
    }
}

#[test]
fn transport_features_gzip_cors_and_graceful_shutdown() {
    let srv = Server::start(sample_store());
    // The response headers curl receives, lower-cased; a header "-X METHOD" sets the method.
    let head = |path: &str, headers: &[&str]| {
        let mut args = vec!["-s", "-D", "-", "-o", "/dev/null"];
        for h in headers {
            match h.strip_prefix("-X ") {
                Some(method) => args.extend(["-X", method]),
                None => args.extend(["-H", h]),
            }
        }
        let url = format!("{}{path}", srv.base);
        args.push(&url);
        let out = Command::new("curl")
            .args(&args)
            .output()
            .expect("curl (scripts/setup installs it)");
        String::from_utf8_lossy(&out.stdout).to_lowercase()
    };
    let small = head(
        "/collections/parcels/items?limit=200",
        &["Accept-Encoding: gzip", "Origin: http://example.org"],
    );
    assert!(small.contains("content-encoding: gzip"), "{small}");
    assert!(small.contains("access-control-allow-origin: *"), "{small}");
    // A web client may read the tag and the CRS, and caches know the answer depends on Accept.
    let exposed = small
        .lines()
        .find(|l| l.starts_with("access-control-expose-headers:"))
        .unwrap_or_else(|| panic!("no exposed headers: {small}"));
    assert!(
        exposed.contains("etag") && exposed.contains("content-crs"),
        "{exposed}"
    );
    assert!(
        small
            .lines()
            .any(|l| l.starts_with("vary:") && l.contains("accept")),
        "{small}"
    );
    // A cross-origin revalidation (If-None-Match) passes the preflight.
    let preflight = head(
        "/collections/parcels/items",
        &[
            "-X OPTIONS",
            "Origin: http://example.org",
            "Access-Control-Request-Method: GET",
            "Access-Control-Request-Headers: if-none-match",
        ],
    );
    assert!(
        preflight.contains("access-control-allow-headers"),
        "{preflight}"
    );
    // A large page streams: sent in chunks as it is written, its length unknown up front.
    let large = head("/collections/parcels/items?limit=3000", &[]);
    assert!(large.contains("transfer-encoding: chunked"), "{large}");
    assert!(!large.contains("content-length"), "{large}");
    // Requests are logged, one structured line each.
    let _ = srv.get("/health");
    std::thread::sleep(Duration::from_millis(200));
    assert!(srv.log().contains("status=200"), "{}", srv.log());
    let status = srv.terminate();
    assert!(
        status.success(),
        "SIGTERM should end the server cleanly: {status}"
    );
}

/// Every listed check is in `/analysis`, in the `/api` enum of checks, and, when it serves a
/// collection, in `/collections` with its description and queryables.
#[test]
fn every_check_is_listed_wherever_checks_are() {
    let srv = Server::start(sample_store());
    let listed = srv.json("/analysis");
    let api = srv.json("/api");
    let enum_ids: Vec<&str> = api["paths"]["/analysis/{check}"]["get"]["parameters"][0]["schema"]
        ["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let takes_site =
        |c: &dyn landwatch::checks::Analysis| c.params().contains(&landwatch::checks::Param::Site);
    let collections = srv.json("/collections");
    for c in landwatch::checks::CHECKS {
        let id = c.id();
        let entry = listed["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap_or_else(|| panic!("{id} is not in /analysis"));
        assert_eq!(entry["title"], c.title_zh());
        // Read with GET, or reviewing a site sent with POST; each with its own path.
        let own = &api["paths"][format!("/analysis/{id}")];
        if takes_site(*c) {
            assert!(
                own["post"]["requestBody"].is_object(),
                "{id}: no POST in /api"
            );
            assert_eq!(entry["method"], "POST");
        } else {
            assert!(enum_ids.contains(&id), "{id} is not in the /api enum");
            assert!(own["get"].is_object(), "{id}: no GET in /api");
        }
        for p in c
            .params()
            .iter()
            .filter(|p| **p != landwatch::checks::Param::Site)
        {
            let declared = own.as_object().unwrap().values().next().unwrap()["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"] == p.name());
            assert!(declared, "{id}: /api does not declare {}", p.name());
        }
        if let Some(spec) = c.collection() {
            let col = collections["collections"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == id)
                .unwrap_or_else(|| panic!("{id} is not in /collections"));
            assert_eq!(col["description"], c.description());
            assert!(
                api["paths"][format!("/collections/{id}/items")].is_object(),
                "{id}: no items path in /api"
            );
            let q = srv.json(&format!("/collections/{id}/queryables"));
            for k in spec.queryables {
                assert!(
                    q["properties"][k.key].is_object(),
                    "{id}: queryable {} not served",
                    k.key
                );
            }
        }
    }
}

#[test]
fn analysis_collections_and_reports_match_the_command_line() {
    let store = sample_store();
    let srv = Server::start(store);
    let idle = check(store, "idle", &[]);
    let n_idle = idle["parcels"].as_array().unwrap().len();
    assert!(n_idle > 0);

    // The report endpoints give the same JSON as `landwatch check`.
    for kind in [
        "idle",
        "underused",
        "zoning",
        "indicators",
        "mujun",
        "quality",
    ] {
        let served = srv.json(&format!("/analysis/{kind}?as_of={AS_OF}"));
        let cli = check(store, kind, &[]);
        assert_eq!(
            served, cli,
            "/analysis/{kind} differs from landwatch check {kind}"
        );
    }
    let one_park = srv.json(&format!("/analysis/zoning?as_of={AS_OF}&park=GXQ01"));
    assert_eq!(one_park, check(store, "zoning", &["--park", "GXQ01"]));

    // The idle collection: one feature per finding, filterable by finding and park.
    let items = srv.json(&format!(
        "/collections/idle/items?as_of={AS_OF}&limit=10000"
    ));
    assert_eq!(items["numberMatched"].as_u64().unwrap() as usize, n_idle);
    let not_started = idle["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["finding"] == "not_started")
        .count();
    let filtered = srv.json(&format!(
        "/collections/idle/items?as_of={AS_OF}&finding=not_started&limit=1"
    ));
    assert_eq!(
        filtered["numberMatched"].as_u64().unwrap() as usize,
        not_started
    );
    let f = &items["features"][0]["properties"];
    assert!(
        f["rule"].as_str().unwrap().contains("闲置土地处置办法"),
        "{f}"
    );
    let zoning = srv.json(&format!("/collections/zoning/items?as_of={AS_OF}"));
    assert_eq!(zoning["numberMatched"], 3);
    // Boolean filters take true/false and 1/0 (GDAL writes the latter).
    let failing = check(store, "zoning", &[])["parks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["pass"] == false)
        .count();
    for v in ["0", "false"] {
        let r = srv.json(&format!("/collections/zoning/items?as_of={AS_OF}&pass={v}"));
        assert_eq!(
            r["numberMatched"].as_u64().unwrap() as usize,
            failing,
            "pass={v}"
        );
    }
    assert_eq!(
        srv.json(&format!("/collections/zoning/items?as_of={AS_OF}&pass=1"))["numberMatched"]
            .as_u64()
            .unwrap() as usize,
        3 - failing
    );

    // Links lead back to the same evaluation: the date and the park travel with them.
    let one = srv.json(&format!("/collections/idle?as_of={AS_OF}&park=GXQ01"));
    let idle_gxq = check(store, "idle", &["--park", "GXQ01"])["parcels"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(one["count"].as_u64().unwrap() as usize, idle_gxq);
    for l in one["links"].as_array().unwrap() {
        let href = l["href"].as_str().unwrap();
        assert!(
            href.contains(&format!("as_of={AS_OF}")) && href.contains("park=GXQ01"),
            "{l}"
        );
    }
    let items_href = one["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "items" && l["type"] == "application/geo+json")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    let page = get(&items_href, &[]).json();
    assert_eq!(page["numberMatched"].as_u64().unwrap() as usize, idle_gxq);
    let fid = page["features"][0]["id"].as_i64().unwrap();
    let feature = srv.json(&format!(
        "/collections/idle/items/{fid}?as_of={AS_OF}&park=GXQ01"
    ));
    for l in feature["links"].as_array().unwrap() {
        assert!(
            l["href"]
                .as_str()
                .unwrap()
                .contains(&format!("as_of={AS_OF}")),
            "{l}"
        );
    }
    // Today's page pins today's date in its links.
    let today = srv.json("/collections/idle/items?limit=1");
    let next = today["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap();
    assert!(next["href"].as_str().unwrap().contains("as_of="), "{next}");

    // Downloads: CSV with Chinese headers, XLSX as a workbook, both named for the date.
    let csv = srv.get(&format!("/analysis/idle?as_of={AS_OF}&f=csv"));
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.header("content-disposition").unwrap().contains(AS_OF));
    let text = csv.text();
    let header = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        header.contains("宗地编号") || header.contains("编号"),
        "{header}"
    );
    assert_eq!(text.lines().count(), n_idle + 1);
    let xlsx = srv.get(&format!("/analysis/zoning?as_of={AS_OF}&f=xlsx"));
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.body.starts_with(b"PK"), "an XLSX is a zip");
    // Every table of a report can be had as CSV, by number or by name, and a Chinese name
    // travels in the RFC 6266 filename*.
    let name: String = form_urlencoded::byte_serialize("用地结构".as_bytes()).collect();
    let shares = srv.get(&format!(
        "/analysis/zoning?as_of={AS_OF}&f=csv&table={name}"
    ));
    assert_eq!(shares.status, 200, "{}", shares.text());
    let header = shares.text().lines().next().unwrap().to_string();
    assert!(
        header.contains("占比(%)") && header.contains("下限(%)"),
        "{header}"
    );
    let disposition = shares.header("content-disposition").unwrap();
    assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
    assert!(disposition.contains(&name), "{disposition}");
    let by_number = srv.get(&format!("/analysis/zoning?as_of={AS_OF}&f=csv&table=2"));
    assert_eq!(by_number.status, 200);
    assert_ne!(
        by_number.body,
        srv.get(&format!("/analysis/zoning?as_of={AS_OF}&f=csv"))
            .body
    );
}

/// Run a GDAL tool, returning (stdout, stderr) and insisting it succeeds.
fn gdal_tool(tool: &str, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let out = Command::new(tool)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("GDAL tools are installed (scripts/setup)");
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{tool} {args:?} failed:\n{e}");
    (o, e)
}

#[test]
fn gdal_oapif_driver_reads_every_collection() {
    let store = sample_store();
    let srv = Server::start(store);
    let ds = format!("OAPIF:{}", srv.base);
    let (listing, _) = gdal_tool("ogrinfo", &["-ro", "-q", &ds], &[]);
    let mut expected: BTreeMap<String, u64> = layer_counts(store);
    // The analysis collections, at the date the server evaluates them (its full report is
    // linked from the collection).
    for (kind, key) in [
        ("idle", "parcels"),
        ("underused", "parcels"),
        ("zoning", "parks"),
    ] {
        let c = srv.json(&format!("/collections/{kind}"));
        let report = c["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "describedby")
            .expect("a link to the full report");
        let served = get(report["href"].as_str().unwrap(), &[]).json();
        expected.insert(kind.into(), served[key].as_array().unwrap().len() as u64);
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, n) in &expected {
        assert!(
            listing.contains(&format!(": {name} (")),
            "{name} not listed:\n{listing}"
        );
        // Page through the whole collection with small pages, as QGIS would.
        let out = dir.path().join(format!("{name}.geojson"));
        gdal_tool(
            "ogr2ogr",
            &["-f", "GeoJSON", s(&out), &ds, name, "-oo", "PAGE_SIZE=200"],
            &[],
        );
        let fc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let features = fc["features"].as_array().unwrap();
        assert_eq!(features.len() as u64, *n, "GDAL read {name}");
        if name == "parcels" {
            let holders = features
                .iter()
                .filter(|f| {
                    f["properties"]["权利人"]
                        .as_str()
                        .is_some_and(|h| h.ends_with("有限公司"))
                })
                .count();
            assert!(
                holders > 1000,
                "Chinese attributes lost on the way: {holders}"
            );
        }
    }

    // An attribute filter on a declared queryable goes to the server, not to GDAL's side.
    let (out, err) = gdal_tool(
        "ogrinfo",
        &[
            "-ro",
            "-so",
            &ds,
            "parcels",
            "-oo",
            "PAGE_SIZE=500",
            "-where",
            "\"所属园区\" = 'JKQ01'",
        ],
        &[("CPL_DEBUG", "ON")],
    );
    let encoded: String = form_urlencoded::byte_serialize("所属园区".as_bytes()).collect();
    assert!(
        err.contains(&format!("{encoded}=JKQ01")),
        "the filter was not pushed down:\n{err}"
    );
    // A boolean queryable: GDAL sends pass=0, and gets the failing parks.
    let failing = srv.json("/collections/zoning/items?pass=false")["numberMatched"]
        .as_u64()
        .unwrap();
    assert!(failing > 0, "the sample has a park breaking its bounds");
    let (bool_out, bool_err) = gdal_tool(
        "ogrinfo",
        &["-ro", "-so", &ds, "zoning", "-where", "pass = 0"],
        &[("CPL_DEBUG", "ON")],
    );
    assert!(bool_err.contains("pass=0"), "not pushed down:\n{bool_err}");
    assert!(
        bool_out.contains(&format!("Feature Count: {failing}")),
        "{bool_out}"
    );
    let n: u64 = srv.json("/collections/parcels/items?park_id=JKQ01&limit=1")["numberMatched"]
        .as_u64()
        .unwrap();
    assert!(out.contains(&format!("Feature Count: {n}")), "{out}");
}

#[test]
fn vector_tiles_open_in_gdal_mvt_driver() {
    let srv = Server::start(sample_store());
    let tj = srv.json("/tiles/parcels.json");
    assert_eq!(tj["tilejson"], "3.0.0");
    assert!(tj["tiles"][0].as_str().unwrap().starts_with(&srv.base));
    // minzoom is where tiles have data: minzoom itself answers 200, one zoom lower 204
    // (3,000 parcels are light enough for the world tile).
    let min = tj["minzoom"].as_u64().unwrap() as u32;
    if min > 0 {
        let (x, y) = tile_of(104.53, 30.06, min - 1);
        let below = srv.get(&format!("/tiles/parcels/{}/{x}/{y}.mvt", min - 1));
        assert_eq!(below.status, 204);
    }
    let (x, y) = tile_of(104.53, 30.06, min);
    assert_eq!(
        srv.get(&format!("/tiles/parcels/{min}/{x}/{y}.mvt")).status,
        200
    );
    // The centre is [lon, lat, zoom] inside the bounds, never null.
    let (c, b) = (&tj["center"], &tj["bounds"]);
    assert_eq!(c.as_array().unwrap().len(), 3, "{tj}");
    assert!(c[0].as_f64() > b[0].as_f64() && c[0].as_f64() < b[2].as_f64());
    assert!(c[2].as_f64().unwrap() >= f64::from(min));
    // Park boundaries and red lines show at every zoom, with data in the world tile.
    for id in ["parks", "redline_ecology", "farmland"] {
        let t = srv.json(&format!("/tiles/{id}.json"));
        assert_eq!(t["minzoom"], 0, "{id}");
        assert_eq!(
            srv.get(&format!("/tiles/{id}/0/0/0.mvt")).status,
            200,
            "{id}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for (collection, z) in [("parcels", 14), ("parks", 10), ("idle", 13)] {
        let (x, y) = tile_of(104.53, 30.06, z);
        let query = if collection == "idle" {
            format!("?as_of={AS_OF}")
        } else {
            String::new()
        };
        let r = srv.get(&format!("/tiles/{collection}/{z}/{x}/{y}.mvt{query}"));
        assert_eq!(
            r.status,
            200,
            "{collection} {z}/{x}/{y}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(
            r.header("content-type"),
            Some("application/vnd.mapbox-vector-tile")
        );
        // GDAL's MVT driver georeferences a tile from its z/x/y path.
        let path = dir.path().join(format!("{collection}/{z}/{x}"));
        std::fs::create_dir_all(&path).unwrap();
        let file = path.join(format!("{y}.mvt"));
        std::fs::write(&file, &r.body).unwrap();
        let (info, _) = gdal_tool("ogrinfo", &["-ro", "-al", "-so", s(&file)], &[]);
        assert!(
            info.contains(&format!("Layer name: {collection}")),
            "{info}"
        );
        let count: u64 = info
            .lines()
            .find_map(|l| l.strip_prefix("Feature Count: "))
            .expect("a feature count")
            .parse()
            .unwrap();
        assert!(count > 0, "{collection}: empty tile");
        // Its features lie in the tile (Web Mercator metres), give or take the buffer.
        let extent = info
            .lines()
            .find_map(|l| l.strip_prefix("Extent: "))
            .unwrap();
        let nums: Vec<f64> = extent
            .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .filter_map(|t| t.parse().ok())
            .collect();
        let size = 2.0 * std::f64::consts::PI * 6_378_137.0 / f64::from(1u32 << z);
        let tx0 = -20_037_508.342_789_244 + f64::from(x) * size;
        let ty1 = 20_037_508.342_789_244 - f64::from(y) * size;
        let slack = size * 0.1;
        assert!(
            nums[0] >= tx0 - slack && nums[2] <= tx0 + size + slack,
            "{extent}"
        );
        assert!(
            nums[1] >= ty1 - size - slack && nums[3] <= ty1 + slack,
            "{extent}"
        );
    }
    // Far from every park: no content.
    assert_eq!(srv.get("/tiles/parcels/14/0/0.mvt").status, 204);
    // A tile revalidates by its tag.
    let (x, y) = tile_of(104.53, 30.06, 14);
    let path = format!("/tiles/parcels/14/{x}/{y}.mvt");
    let first = srv.get(&path);
    let tag = first
        .header("etag")
        .expect("a tile has an ETag")
        .to_string();
    let again = srv.get_with(&path, &[("If-None-Match", &tag)]);
    assert_eq!(again.status, 304);
}

/// The conflict ledger served as a collection of polygons no layer holds: items, one item by
/// its ledger id, filters, tiles; and the compliance review of a site sent with POST.
#[test]
fn conflicts_collection_tiles_and_compliance_reviews() {
    let store = sample_store();
    let srv = Server::start(store);
    let cli = json(&ok(&[
        "check",
        "conflicts",
        "--store",
        s(store),
        "--format",
        "json",
    ]));
    assert_eq!(srv.json("/analysis/conflicts"), cli);
    let rows = cli["conflicts"].as_array().unwrap();
    assert_exception(
        &srv.get("/analysis/conflicts?as_of=2026-01-01"),
        400,
        "as_of",
    );

    let items = srv.json("/collections/conflicts/items?limit=10000");
    assert_eq!(
        items["numberMatched"].as_u64().unwrap() as usize,
        rows.len()
    );
    let features = items["features"].as_array().unwrap();
    for f in features {
        // The feature's id is its ledger id: a string, and its own polygon.
        assert_eq!(f["id"], f["properties"]["id"], "{f}");
        assert!(f["id"].is_string());
        let t = f["geometry"]["type"].as_str().unwrap();
        assert!(t == "MultiPolygon" || t == "Polygon", "{t}");
    }
    let outside = rows.iter().find(|r| r["type"] == "outside_park").unwrap();
    let id = outside["id"].as_str().unwrap();
    let one = srv.get(&format!("/collections/conflicts/items/{id}"));
    assert_eq!(one.status, 200, "{}", one.text());
    let one = one.json();
    assert_eq!(one["id"], id);
    assert_eq!(one["properties"]["type"], "outside_park");
    assert_eq!(one["properties"]["area_m2"], outside["area_m2"]);
    assert!(one["links"][0]["href"].as_str().unwrap().ends_with(id));
    let html = srv.get(&format!("/collections/conflicts/items/{id}?f=html"));
    assert!(html.text().contains("宗地超出园区四至"), "{}", html.text());
    assert_exception(&srv.get("/collections/conflicts/items/nope"), 404, "nope");
    // Filters by type, park and layer agree with the ledger.
    for (q, keep) in [
        ("type=outside_park", ("type", "outside_park")),
        ("park_id=GXQ01", ("park_id", "GXQ01")),
        ("layer=parcels", ("layer", "parcels")),
    ] {
        let n = srv.json(&format!("/collections/conflicts/items?{q}&limit=10000"))["numberMatched"]
            .as_u64()
            .unwrap() as usize;
        let expected = rows.iter().filter(|r| r[keep.0] == keep.1).count();
        assert!(expected > 0, "{q}");
        assert_eq!(n, expected, "{q}");
    }
    let slivers = srv.json("/collections/conflicts/items?sliver=true&limit=10000")["numberMatched"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(slivers, rows.iter().filter(|r| r["sliver"] == true).count());
    let q = srv.json("/collections/conflicts/queryables");
    for k in ["type", "park_id", "layer", "sliver"] {
        assert!(q["properties"][k].is_object(), "{q}");
    }

    // A tile over the outside piece holds it, with its type.
    let ring = &one["geometry"]["coordinates"];
    let first = if one["geometry"]["type"] == "MultiPolygon" {
        &ring[0][0][0]
    } else {
        &ring[0][0]
    };
    let (lon, lat) = (first[0].as_f64().unwrap(), first[1].as_f64().unwrap());
    let (x, y) = tile_of(lon, lat, 15);
    let tile = srv.get(&format!("/tiles/conflicts/15/{x}/{y}.mvt"));
    assert_eq!(tile.status, 200, "{}", String::from_utf8_lossy(&tile.body));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("conflicts/15/{x}"));
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join(format!("{y}.mvt")), &tile.body).unwrap();
    let (info, _) = gdal_tool(
        "ogrinfo",
        &["-ro", "-al", s(&path.join(format!("{y}.mvt")))],
        &[],
    );
    assert!(info.contains("Layer name: conflicts"), "{info}");
    assert!(info.contains("type (String) = outside_park"), "{info}");
    let tj = srv.json("/tiles/conflicts.json");
    assert!(tj["tiles"][0]
        .as_str()
        .unwrap()
        .contains("/tiles/conflicts/"));
    assert!(!tj["tiles"][0].as_str().unwrap().contains("as_of"), "{tj}");

    // A site over the outside piece: the same review as the command line.
    let site =
        json!({"type": "Feature", "properties": {}, "geometry": one["geometry"]}).to_string();
    let file = dir.path().join("site.geojson");
    std::fs::write(&file, &site).unwrap();
    let r = srv.post("/analysis/compliance", site.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let served = r.json();
    let cli = json(&ok(&[
        "check",
        "compliance",
        "--store",
        s(store),
        "--site",
        s(&file),
        "--format",
        "json",
    ]));
    assert_eq!(served, cli);
    for key in ["site_area_m2", "layers", "redlines", "conclusion"] {
        assert!(served.get(key).is_some(), "{key}");
    }
    let csv = srv.post(
        "/analysis/compliance?f=csv&table=2&use=industrial",
        site.as_bytes(),
    );
    assert_eq!(csv.status, 200, "{}", csv.text());
    assert!(csv.text().contains("符合面积"), "{}", csv.text());
    // The same site in the analysis CRS (GK zone 35), with crs=.
    let out = dir.path().join("site_4523.geojson");
    gdal(
        "ogr2ogr",
        &["-f", "GeoJSON", "-t_srs", "EPSG:4523", s(&out), s(&file)],
    );
    let projected = std::fs::read(&out).unwrap();
    let r = srv.post("/analysis/compliance", &projected);
    assert_eq!(r.status, 200, "the file names its CRS: {}", r.text());
    let area = r.json()["site_area_m2"].as_f64().unwrap();
    assert!(
        (area - served["site_area_m2"].as_f64().unwrap()).abs() < 1.0,
        "{area}"
    );

    // Bad sites: 4xx that say why.
    let bad = |body: &str, q: &str, status: u16, words: &str| {
        assert_exception(
            &srv.post(&format!("/analysis/compliance{q}"), body.as_bytes()),
            status,
            words,
        );
    };
    bad(
        r#"{"type":"Point","coordinates":[104.5,30.1]}"#,
        "",
        400,
        "not a polygon",
    );
    bad("{", "", 400, "not JSON");
    bad(
        r#"{"type":"Polygon","coordinates":[[[104.52,30.05],[104.53,30.06],[104.52,30.06],[104.53,30.05],[104.52,30.05]]]}"#,
        "",
        400,
        "invalid",
    );
    bad(
        r#"{"type":"Polygon","coordinates":[[[80,40],[80.01,40],[80.01,40.01],[80,40]]]}"#,
        "",
        400,
        "outside every",
    );
    bad(
        r#"{"type":"Polygon","coordinates":[[[35500000,3320000],[35500100,3320000],[35500100,3320100],[35500000,3320000]]]}"#,
        "",
        400,
        "longitude/latitude",
    );
    bad(&site, "?crs=EPSG:99999", 400, "EPSG:99999");
    bad(&site, "?use=castle", 400, "industrial");
    bad(&site, "?park=GXQ01", 400, "park");
    bad("", "", 400, "no site");
    assert_exception(&srv.get("/analysis/compliance"), 405, "POST");
    assert_exception(&srv.post("/analysis/idle", site.as_bytes()), 405, "GET");
    let huge = format!(
        r#"{{"type":"Polygon","coordinates":[[{}[104.5,30.0]]]}}"#,
        "[104.5,30.0],".repeat(8000)
    );
    // The server reads an oversized body it can afford before answering, so that a client
    // still writing it gets the 413, not a closed connection.
    let answer = srv.post("/analysis/compliance", huge.as_bytes());
    assert_exception(&answer, 413, "larger than 65536 bytes");
}

#[test]
fn the_web_map_renders_in_headless_chromium() {
    let srv = Server::start(sample_store());
    let shot = root().join("target/web-map.png");
    let base = format!("{}/", srv.base);
    let report = browser("map.mjs", &[&base, s(&shot)]);
    assert_eq!(
        report["errors"],
        Value::Array(vec![]),
        "console or HTTP errors: {report}"
    );
    assert_eq!(report["mapErrors"], Value::Array(vec![]), "{report}");
    assert!(
        report["rendered"].as_u64().unwrap() > 500,
        "an empty map: {report}"
    );
    assert!(
        report["bars"].as_u64().unwrap() >= 5,
        "no share bars: {report}"
    );
    assert!(
        report["indicators"].as_u64().unwrap() >= 5,
        "no indicators: {report}"
    );
    // The conflicts layer draws the ledger's polygons coloured by type, with its legend and
    // the park's counts in the panel.
    assert!(
        report["conflicts"]["rendered"].as_u64().unwrap() > 0,
        "no conflict drawn: {report}"
    );
    assert!(
        report["legend"]
            .as_str()
            .unwrap()
            .contains("宗地超出园区四至"),
        "{report}"
    );
    assert!(report["parkConflicts"].as_u64().unwrap() > 2, "{report}");
    // The drawn site was reviewed layer by layer with a conclusion; the point was refused.
    let conclusion = report["review"]["conclusion"].as_str().unwrap();
    assert!(
        ["conforming", "partly", "nonconforming"].contains(&conclusion),
        "{report}"
    );
    assert!(
        ["符合", "部分符合", "不符合"].contains(&report["review"]["text"].as_str().unwrap()),
        "{report}"
    );
    assert!(
        report["review"]["layers"].as_u64().unwrap() >= 2,
        "{report}"
    );
    assert!(
        report["refused"]
            .as_str()
            .unwrap()
            .contains("not a polygon"),
        "{report}"
    );
    // Park names are labelled, in Chinese.
    let labels = report["labels"].as_array().unwrap();
    assert!(
        labels
            .iter()
            .any(|l| l.as_str().is_some_and(|s| s.contains("开发区"))),
        "no park label: {report}"
    );
    let glyphs = srv.get("/fonts/WenQuanYi%20Micro%20Hei/22272-22527.pbf");
    assert_eq!(glyphs.status, 200);
    assert_eq!(
        glyphs.header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(srv.get("/fonts/x/22272-22528.pbf").status, 404);
    let layers = report["layers"].as_array().unwrap();
    for l in [
        "parcels",
        "parks",
        "idle",
        "underused",
        "zoning",
        "conflicts",
    ] {
        assert!(
            layers.iter().any(|x| x == l),
            "{l} missing from the map: {report}"
        );
    }
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 20_000,
        "screenshot too small"
    );
}

/// Random parameters at every route: never a 5xx, never a panic, and the server lives on.
#[test]
fn random_requests_never_get_a_server_error() {
    let srv = Server::start(sample_store());
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    let routes = [
        "/",
        "/conformance",
        "/api",
        "/collections",
        "/collections/parcels",
        "/collections/parcels/items",
        "/collections/idle/items",
        "/collections/zoning/items",
        "/collections/parks/items/1",
        "/collections/idle/items/3",
        "/collections/zoning/queryables",
        "/collections/nothing/queryables",
        "/tiles/parcels.json",
        "/tiles/idle.json",
        "/tiles/parcels/14/12949/6756.mvt",
        "/tiles/zoning/3/6/3.mvt",
        "/analysis",
        "/analysis/idle",
        "/analysis/zoning",
        "/analysis/mujun",
        "/analysis/conflicts",
        "/analysis/compliance",
        "/collections/conflicts/items",
        "/collections/conflicts/items/0123456789abcdef",
        "/tiles/conflicts/13/6546/3376.mvt",
        "/health",
        "/collections/%E5%AE%97%E5%9C%B0",
        "/tiles/parcels/-1/0/0.mvt",
        "/assets/app.js",
        "/assets/../Cargo.toml",
        "/collections/parcels/items/9223372036854775808",
    ];
    let names = [
        "f",
        "limit",
        "offset",
        "bbox",
        "bbox-crs",
        "crs",
        "datetime",
        "as_of",
        "park",
        "park_id",
        "finding",
        "所属园区",
        "用地性质",
        "id",
        "x",
        "",
        "%ff",
        "filter",
        "type",
        "layer",
        "compare",
        "kind",
        "use",
        "sliver",
        "filter-lang",
        "filter-crs",
        "sortby",
        "properties",
        "skipGeometry",
    ];
    let values = [
        "json",
        "html",
        "csv",
        "xlsx",
        "1",
        "0",
        "-1",
        "10001",
        "99999999999999999999",
        "1e308",
        "NaN",
        "inf",
        "104.5,30.0,104.6,30.1",
        "1,2,3,4,5,6",
        "1,2,3",
        "200,100,-200,-100",
        "30.0,104.5,30.1,104.6",
        ",,,",
        "2026-06-30",
        "2026-02-29",
        "0000-01-01",
        "9999-12-31/..",
        "../..",
        "2020-01-01T00:00:00Z/2021-01-01",
        "http://www.opengis.net/def/crs/EPSG/0/4523",
        "http://www.opengis.net/def/crs/EPSG/0/99999",
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "GXQ01",
        "not_started",
        "%00",
        "%C3%28",
        "中文",
        "'; DROP TABLE parcels; --",
        "outside_park",
        "plan_tugui,plan_kongui",
        "land_use,urban",
        "industrial",
        "park_id%20%3D%20%27GXQ01%27",
        "S_INTERSECTS(geometry,POINT(104.5%2030))",
        "T_AFTER(contract_date,DATE(%272020-01-01%27))",
        "cql2-json",
        "%7B%22op%22%3A%22%3D%22%7D",
        "-tax,id",
        "true",
    ];
    let started = Instant::now();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for _ in 0..1500 {
        let route = routes[rng.random_range(0..routes.len())];
        let mut query = vec![];
        for _ in 0..rng.random_range(0..4) {
            let name = names[rng.random_range(0..names.len())];
            let value = if rng.random_range(0..6) == 0 {
                (0..rng.random_range(0..300))
                    .map(|_| char::from(rng.random_range(b'!'..=b'~')))
                    .filter(|c| !"#&+ ".contains(*c))
                    .collect()
            } else {
                values[rng.random_range(0..values.len())].to_string()
            };
            let enc: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
            let name: String = if name.starts_with('%') {
                name.into()
            } else {
                form_urlencoded::byte_serialize(name.as_bytes()).collect()
            };
            query.push(format!("{name}={enc}"));
        }
        let url = if query.is_empty() {
            format!("{}{route}", srv.base)
        } else {
            format!("{}{route}?{}", srv.base, query.join("&"))
        };
        let r = get(&url, &[]);
        assert!(r.status < 500, "{url} → {}: {}", r.status, r.text());
        if r.status >= 400 && r.status != 405 {
            let v = r.json();
            assert!(
                v["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{url}: {v}"
            );
        }
        *statuses.entry(r.status).or_default() += 1;
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "random requests took too long"
        );
    }
    // Sites: random bytes, broken and odd GeoJSON, under random parameters.
    let bodies = [
        "",
        "{",
        "null",
        "[]",
        r#"{"type":"Polygon"}"#,
        r#"{"type":"Polygon","coordinates":[]}"#,
        r#"{"type":"Polygon","coordinates":[[[1e308,1e308],[0,0],[1,1]]]}"#,
        r#"{"type":"Polygon","coordinates":[[[104.5,30.0],[104.6,30.1],[104.5,30.1],[104.6,30.0],[104.5,30.0]]]}"#,
        r#"{"type":"MultiPolygon","coordinates":[[[[104.52,30.05],[104.53,30.05],[104.53,30.06],[104.52,30.05]]]]}"#,
        r#"{"type":"GeometryCollection","geometries":[]}"#,
        r#"{"type":"Feature","geometry":null,"properties":{}}"#,
    ];
    for _ in 0..200 {
        let mut body: Vec<u8> = bodies[rng.random_range(0..bodies.len())].into();
        if rng.random_range(0..4) == 0 {
            body = (0..rng.random_range(0..400))
                .map(|_| rng.random_range(0..=255u8))
                .collect();
        }
        let q = match rng.random_range(0..4) {
            0 => String::new(),
            1 => "?crs=EPSG:4523".into(),
            2 => format!("?use={}", values[rng.random_range(0..values.len())]),
            _ => "?f=csv&crs=http://www.opengis.net/def/crs/EPSG/0/99999".into(),
        };
        let url = format!("{}/analysis/compliance{q}", srv.base);
        let r = common::server::post(&url, "application/geo+json", &body);
        assert!(
            r.status < 500,
            "POST {url} {body:?} → {}: {}",
            r.status,
            r.text()
        );
        *statuses.entry(r.status).or_default() += 1;
    }
    // Both kinds of answer were exercised.
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 100,
        "{statuses:?}"
    );
    assert!(
        statuses.get(&400).copied().unwrap_or(0) > 100,
        "{statuses:?}"
    );
    assert_eq!(srv.json("/health")["status"], "ok");
    assert!(!srv.log().contains("panicked"), "{}", srv.log());
    random_writes_never_get_a_server_error(&mut rng);
}

/// The write routes, on a copy of the store: events and uploads with broken, odd and random
/// bodies, headers and tokens, and methods the routes do not take — 4xx, never 5xx.
fn random_writes_never_get_a_server_error(rng: &mut rand_pcg::Pcg64) {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_of_sample_store(dir.path());
    let token = |name: &str, role: &str| {
        ok(&["user", "add", name, "--role", role, "--store", s(&store)])
            .trim()
            .to_string()
    };
    let tokens = [
        token("editor", "editor"),
        token("admin", "admin"),
        token("viewer", "viewer"),
    ];
    let srv = Server::start_with(&store, &["--max-upload-mb", "1"]);
    let id = srv.json("/collections/parcels/items?limit=1")["features"][0]["properties"]
        ["宗地编号"]
        .as_str()
        .unwrap()
        .to_string();
    let good = json!({"type": "Feature", "geometry": null, "properties": {"layer": "parcels",
        "feature_id": id, "subject": "idle", "status": "investigating", "effective_date": "2024-03-01"}});
    let keys = [
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
        "recorded_by",
        "x",
    ];
    let odd: [Value; 14] = [
        json!(null),
        json!(""),
        json!(" "),
        json!(0),
        json!(-1),
        json!(1e308),
        json!(9223372036854775807i64),
        json!("2024-02-30"),
        json!("disposed"),
        json!("extended"),
        json!("中文\u{0}"),
        json!([1]),
        json!({"a": 1}),
        json!("'; DROP TABLE landwatch_events; --"),
    ];
    let routes = [
        "/collections/events/items",
        "/collections/events/items/1",
        "/collections/parcels/items",
        "/collections/nothing/items",
        "/layers/parcels?role=parcels",
        "/layers/x?role=parks&on-error=skip",
        "/layers/events?role=other",
        "/layers/9bad?role=parks",
        "/layers/a?role=nothing",
        "/layers/a",
    ];
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for i in 0..400 {
        let route = routes[rng.random_range(0..routes.len())];
        let method = ["POST", "POST", "POST", "PUT", "PATCH", "DELETE"][rng.random_range(0..6)];
        let body: Vec<u8> = match rng.random_range(0..5) {
            0 => (0..rng.random_range(0..600))
                .map(|_| rng.random_range(0..=255u8))
                .collect(),
            1 => {
                let mut b = b"PK\x03\x04".to_vec();
                b.extend((0..rng.random_range(0..600)).map(|_| rng.random_range(0..=255u8)));
                b
            }
            _ => {
                let mut v = good.clone();
                for _ in 0..rng.random_range(0..4) {
                    let k = keys[rng.random_range(0..keys.len())];
                    v["properties"][k] = odd[rng.random_range(0..odd.len())].clone();
                }
                if rng.random_range(0..8) == 0 {
                    v["geometry"] = json!({"type": "Point", "coordinates": [104.5, 30.0]});
                }
                v.to_string().into_bytes()
            }
        };
        let mut headers: Vec<(&str, String)> = vec![];
        match rng.random_range(0..6) {
            0 => {}
            // Refused tokens shut the address out for a while: rarely, and at the end.
            1 if i > 390 => headers.push((
                "Authorization",
                format!("Bearer lw_{}", rng.random_range(0..u64::MAX)),
            )),
            _ => headers.push((
                "Authorization",
                format!("Bearer {}", tokens[rng.random_range(0..tokens.len())]),
            )),
        }
        if rng.random_range(0..3) == 0 {
            let v = [
                "\"0\"",
                "\"1\"",
                "*",
                "W/\"2\"",
                "abc",
                "\"99999999999999999999\"",
            ][rng.random_range(0..6)];
            headers.push(("If-Match", v.to_string()));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = srv.send(method, route, None, &headers, &body);
        assert!(
            r.status < 500,
            "{method} {route} {} → {}: {}",
            String::from_utf8_lossy(&body),
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        if r.status >= 400 {
            let v = r.json();
            assert!(
                v["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{method} {route}: {v}"
            );
        }
        *statuses.entry(r.status).or_default() += 1;
    }
    // Refusals of every kind were exercised, and some writes went through.
    for status in [400, 401, 403, 405, 415, 422] {
        assert!(statuses.contains_key(&status), "{status}: {statuses:?}");
    }
    assert!(statuses.contains_key(&201), "{statuses:?}");
    assert_eq!(srv.json("/health")["status"], "ok");
    assert!(!srv.log().contains("panicked"), "{}", srv.log());
}

/// An ingest while the server runs: every answer is the old layer or the new one, whole.
#[test]
fn an_ingest_while_serving_swaps_the_layer_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_of_sample_store(dir.path());
    let other = dir.path().join("other");
    ok(&["gen", "--out", s(&other), "--parcels", "800", "--seed", "9"]);
    let srv = Server::start(&store);
    let before = srv.json("/collections/parcels/items?limit=1")["numberMatched"]
        .as_u64()
        .unwrap();
    assert_eq!(before, 3000);
    let loaded = srv.json("/health")["snapshot_loaded_at"].clone();
    assert!(loaded.is_string(), "{loaded}");

    let base = srv.base.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&stop);
    // The count of the reader's latest whole page.
    let last = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let last_read = std::sync::Arc::clone(&last);
    let reader = std::thread::spawn(move || {
        let mut seen = BTreeSet::new();
        let mut n = 0;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            let r = get(
                &format!("{base}/collections/parcels/items?limit=10000"),
                &[],
            );
            assert_eq!(r.status, 200, "{}", r.text());
            let page = r.json();
            let matched = page["numberMatched"].as_u64().unwrap();
            assert_eq!(
                page["features"].as_array().unwrap().len() as u64,
                matched,
                "a partial layer"
            );
            seen.insert(matched);
            last_read.store(matched, std::sync::atomic::Ordering::Relaxed);
            n += 1;
        }
        (seen, n)
    });
    ingest(&other.join("parcels.shp"), &store, "parcels", "parcels");
    let after = layer_counts(&store)["parcels"];
    assert_ne!(after, before);
    let started = Instant::now();
    loop {
        let now = srv.json("/collections/parcels/items?limit=1")["numberMatched"]
            .as_u64()
            .unwrap();
        if now == after {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server still serves {now} parcels 30 s after the ingest of {after}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The reader reads whole pages of 3,000 parcels: let it finish one of the new layer
    // (however loaded the machine), plus a couple more reads.
    while last.load(std::sync::atomic::Ordering::Relaxed) != after {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the reader never saw the new layer"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (seen, n) = reader.join().expect("the reader saw only whole layers");
    assert!(n > 1, "too few reads during the ingest: {n}");
    assert!(seen.is_subset(&BTreeSet::from([before, after])), "{seen:?}");
    assert!(seen.contains(&after));
    // Monitoring sees the new snapshot, and no problem.
    let health = srv.json("/health");
    assert_eq!(health["status"], "ok", "{health}");
    assert!(health["problem"].is_null(), "{health}");
    assert_eq!(
        health["features"].as_u64().unwrap(),
        layer_counts(&store).values().sum::<u64>()
    );
    // A store that cannot be read for a while: degraded while it lasts, ok once it is back.
    let away = dir.path().join("away.gpkg");
    std::fs::rename(&store, &away).unwrap();
    let health_until = |status: &str| {
        let started = Instant::now();
        loop {
            let h = srv.json("/health");
            if h["status"] == status {
                return h;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{h}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let degraded = health_until("degraded");
    assert!(
        degraded["problem"]
            .as_str()
            .unwrap()
            .contains("cannot be read"),
        "{degraded}"
    );
    std::fs::rename(&away, &store).unwrap();
    assert!(health_until("ok")["problem"].is_null());
}

/// The server listens before it loads the store: `/health` lists the layers still loading, a
/// layer not loaded yet answers 503 with Retry-After and why, and each is served once loaded.
#[test]
fn the_server_answers_while_it_loads_the_store() {
    let srv = Server::listening(sample_store(), &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut answers = BTreeMap::new();
    loop {
        let h = srv.json("/health");
        let loading = h["loading"].as_array().expect("a list").clone();
        let r = srv.get("/collections/parcels/items?limit=1");
        *answers.entry(r.status).or_insert(0) += 1;
        match r.status {
            200 => assert_eq!(r.json()["numberMatched"], 3000),
            503 => {
                assert_eq!(r.header("retry-after"), Some("5"));
                let why = r.json()["description"].as_str().unwrap().to_string();
                assert!(
                    why.contains("'parcels' (3000 features) is still loading"),
                    "{why}"
                );
            }
            other => panic!("{other}: {}", String::from_utf8_lossy(&r.body)),
        }
        if h["status"] == "loading" {
            for p in &loading {
                assert!(
                    p["layer"].is_string() && p["features"].as_u64().is_some(),
                    "{p}"
                );
            }
            assert!(!loading.is_empty(), "{h}");
        } else {
            assert_eq!(h["status"], "ok", "{h}");
            assert!(loading.is_empty(), "{h}");
            // Loaded: the layer is served, whole.
            assert_eq!(r.status, 200);
            break;
        }
        assert!(Instant::now() < deadline, "still loading: {h}");
    }
    eprintln!("answers while loading and after: {answers:?}");
    let h = srv.json("/health");
    assert_eq!(h["layers"], 8, "{h}");
    // The list of every collection, analyses included, is whole once the store is loaded.
    let ids: Vec<String> = srv.collection_ids();
    assert!(
        ids.contains(&"parcels".into()) && ids.contains(&"zoning".into()),
        "{ids:?}"
    );
}

/// `serve --analysis-cache N` keeps N results: with one, a date asked again after another is
/// computed again; by default it is answered from the cache. The answers are the same.
#[test]
fn the_analysis_cache_keeps_as_many_results_as_its_flag_says() {
    let computed = |srv: &Server| {
        srv.log()
            .lines()
            .filter(|l| {
                l.contains("analysis computed")
                    && l.contains("check=\"zoning\"")
                    && l.contains("as_of=2025-01-01")
            })
            .count()
    };
    let mut answers = vec![];
    for (extra, expected) in [(&["--analysis-cache", "1"][..], 2), (&[][..], 1)] {
        let srv = Server::start_with(sample_store(), extra);
        let first = srv.json("/analysis/zoning?as_of=2025-01-01");
        srv.json("/analysis/zoning?as_of=2025-02-01");
        assert_eq!(srv.json("/analysis/zoning?as_of=2025-01-01"), first);
        // The log is read from the server's stderr by a thread of the test: give it time.
        let deadline = Instant::now() + Duration::from_secs(5);
        while computed(&srv) < expected && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(computed(&srv), expected, "{extra:?}:\n{}", srv.log());
        answers.push(first);
    }
    assert_eq!(answers[0], answers[1]);
    let e = fails(&[
        "serve",
        "--store",
        s(sample_store()),
        "--analysis-cache",
        "0",
    ]);
    assert!(e.contains("--analysis-cache"), "{e}");
}

/// A recorded event changes the store, and with it only the checks that read events: the
/// next idle answer is computed again and shows the event, zoning's is kept.
#[test]
fn an_event_recomputes_the_checks_that_read_events_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_of_sample_store(dir.path());
    let computed = |srv: &Server, check: &str| {
        srv.log()
            .lines()
            .filter(|l| {
                l.contains("analysis computed")
                    && l.contains(&format!("check=\"{check}\""))
                    && l.contains("as_of=2026-06-30")
            })
            .count()
    };
    let settle = |srv: &Server, check: &str, n: usize| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while computed(srv, check) < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        computed(srv, check)
    };
    let srv = Server::start(&store);
    let zoning = srv.json("/analysis/zoning?as_of=2026-06-30");
    let idle = srv.json("/analysis/idle?as_of=2026-06-30");
    let id = idle["parcels"][0]["id"].as_str().unwrap().to_string();
    let version = srv.json("/health")["store_version"].clone();
    ok(&[
        "event",
        "add",
        "--store",
        s(&store),
        "--layer",
        "parcels",
        "--feature-id",
        &id,
        "--status",
        "investigating",
        "--effective-date",
        "2026-03-01",
        "--by",
        "测试员",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while srv.json("/health")["store_version"] == version {
        assert!(
            Instant::now() < deadline,
            "the event's store version is never served"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(srv.json("/analysis/zoning?as_of=2026-06-30"), zoning);
    let after = srv.json("/analysis/idle?as_of=2026-06-30");
    assert_ne!(after, idle, "the idle answer does not show the event");
    assert_eq!(settle(&srv, "zoning", 1), 1, "{}", srv.log());
    assert_eq!(settle(&srv, "idle", 2), 2, "{}", srv.log());
}

/// A client that prefers not to wait (`Prefer: respond-async`) is answered 202 with
/// Retry-After when the result is not ready within its `wait`; the computation goes on, and
/// the same request later is answered from it, computed once.
#[test]
fn an_analysis_asked_to_respond_async_says_it_is_being_computed() {
    let srv = Server::start(sample_store());
    let path = "/analysis/underused?as_of=2025-04-30";
    let prefer = [("Prefer", "respond-async, wait=0")];
    let r = srv.get_with(path, &prefer);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(r.header("preference-applied"), Some("respond-async"));
    let body = r.json();
    assert_eq!(body["status"], "computing");
    assert_eq!(body["check"], "underused");
    assert_eq!(body["as_of"], "2025-04-30");
    // Asked again the same way, it is answered once it is ready.
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = loop {
        let r = srv.get_with(path, &prefer);
        if r.status == 200 {
            break r.json();
        }
        assert_eq!(r.status, 202);
        assert!(Instant::now() < deadline, "never computed:\n{}", srv.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(ready, srv.json(path));
    let computed = || {
        srv.log()
            .lines()
            .filter(|l| l.contains("analysis computed") && l.contains("as_of=2025-04-30"))
            .count()
    };
    // The log is read from the server's stderr by a thread of the test: give it time.
    let deadline = Instant::now() + Duration::from_secs(5);
    while computed() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(computed(), 1, "{}", srv.log());
}
