//! Disposal records (处置记录) through the real binary and the real server: the life cycle of
//! one idle parcel with the idle check's answer on each date, an extension moving the idle
//! clock, the trends balance, events surviving a re-ingest (orphans reported) and the
//! events collection over HTTP.

mod common;

use chrono::{Datelike, Duration, NaiveDate};
use common::server::Server;
use common::*;
use serde_json::Value;
use std::path::Path;

/// The first day on which a full calendar year has passed since `d` (满一年 the next day).
fn year_after(d: NaiveDate) -> NaiveDate {
    let same = NaiveDate::from_ymd_opt(d.year() + 1, d.month(), d.day()).unwrap_or_else(|| {
        NaiveDate::from_ymd_opt(d.year() + 1, 3, 1)
            .unwrap()
            .pred_opt()
            .unwrap()
    });
    same + Duration::days(1)
}

/// `event add` on parcels/ID.
fn add(store: &Path, id: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec![
        "event",
        "add",
        "--store",
        s(store),
        "--layer",
        "parcels",
        "--feature-id",
        id,
        "--by",
        "测试员",
    ];
    all.extend_from_slice(args);
    landwatch(&all)
}

fn added(store: &Path, id: &str, args: &[&str]) {
    let out = add(store, id, args);
    assert!(
        out.status.success(),
        "event add {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn refused(store: &Path, id: &str, args: &[&str]) -> String {
    let out = add(store, id, args);
    assert!(
        !out.status.success(),
        "event add {args:?} should be refused"
    );
    String::from_utf8(out.stderr).unwrap()
}

/// The idle check's entry for parcel `id` on `day`, if flagged, and the disposed count.
fn idle_on(store: &Path, id: &str, day: NaiveDate) -> (Option<Value>, u64) {
    let r = check_json(store, "idle", &day.to_string(), &[]);
    let found = r["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .cloned();
    (found, r["summary"]["disposed_excluded"].as_u64().unwrap())
}

fn events_of(store: &Path, id: &str) -> Value {
    json(&ok(&[
        "event",
        "list",
        "--store",
        s(store),
        "--layer",
        "parcels",
        "--feature-id",
        id,
        "--format",
        "json",
    ]))
}

/// A parcel of the sample flagged as not started (case A, fee track), and its agreed start.
fn a_not_started_parcel(store: &Path) -> (String, NaiveDate) {
    let r = check_json(store, "idle", "2026-06-30", &[]);
    let p = r["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["finding"] == "not_started" && p["track"] == "fee" && p["disposal_status"].is_null()
        })
        .expect("a not-started parcel in the sample")
        .clone();
    let agreed: NaiveDate = p["inputs"]["agreed_start"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (p["id"].as_str().unwrap().to_string(), agreed)
}

#[test]
fn the_life_of_one_idle_parcel_day_by_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_of_sample_store(dir.path());
    let (id, agreed) = a_not_started_parcel(&store);
    // 满一年 after the agreed start: idle from this day on (by hand, not by landwatch).
    let idle_from = year_after(agreed);
    let day = |n: i64| idle_from + Duration::days(n);
    let ds = |n: i64| day(n).to_string();

    let (before, disposed_before) = idle_on(&store, &id, day(-1));
    assert!(before.is_none(), "{id} flagged before a full year passed");
    let (first, _) = idle_on(&store, &id, day(0));
    let first = first.expect("flagged the day a full year has passed");
    assert_eq!(first["status"], "疑似");
    assert_eq!(first["idle_since"], agreed.to_string());

    added(
        &store,
        &id,
        &[
            "--status",
            "investigating",
            "--effective-date",
            &ds(10),
            "--document-no",
            "调查〔2026〕7号",
        ],
    );
    // No 认定 without investigation, and no disposal without 认定: refused, with the rule.
    let e = refused(
        &store,
        &id,
        &[
            "--status",
            "disposing",
            "--method",
            "extended",
            "--effective-date",
            &ds(20),
            "--until",
            &ds(100),
        ],
    );
    assert!(e.contains("第九条") && e.contains("不能跳过"), "{e}");
    added(
        &store,
        &id,
        &[
            "--status",
            "confirmed",
            "--effective-date",
            &ds(40),
            "--document-no",
            "认定〔2026〕3号",
        ],
    );
    // An extension of more than a year is refused (第十二条第一项), nothing stored.
    let until_ok = year_after(day(60)) - Duration::days(1);
    let too_long = (until_ok + Duration::days(1)).to_string();
    let e = refused(
        &store,
        &id,
        &[
            "--status",
            "disposing",
            "--method",
            "extended",
            "--effective-date",
            &ds(60),
            "--until",
            &too_long,
        ],
    );
    assert!(e.contains("第十二条第一项"), "{e}");
    assert_eq!(
        events_of(&store, &id)["events"].as_array().unwrap().len(),
        2
    );
    added(
        &store,
        &id,
        &[
            "--status",
            "disposing",
            "--method",
            "extended",
            "--effective-date",
            &ds(60),
            "--until",
            &until_ok.to_string(),
        ],
    );

    // Each date as it stood.
    let status_on = |n: i64| idle_on(&store, &id, day(n)).0.map(|p| p["status"].clone());
    assert_eq!(status_on(9), Some("疑似".into()));
    assert_eq!(status_on(10), Some("调查中".into()));
    assert_eq!(status_on(39), Some("调查中".into()));
    assert_eq!(status_on(40), Some("已认定".into()));
    // The extension moves the clock to its new start deadline: not idle until a full year
    // after it, then idle again, counted from the new deadline.
    assert_eq!(status_on(60), None);
    let again = year_after(until_ok);
    assert!(idle_on(&store, &id, again - Duration::days(1)).0.is_none());
    let (back, _) = idle_on(&store, &id, again);
    let back = back.expect("idle again a full year after the extended deadline");
    assert_eq!(back["idle_since"], until_ok.to_string());
    assert_eq!(back["disposal_status"], "处置中（延期动工）");

    // 动工 ends it.
    let started = again + Duration::days(30);
    added(
        &store,
        &id,
        &[
            "--status",
            "disposed",
            "--method",
            "started",
            "--effective-date",
            &started.to_string(),
            "--document-no",
            "施工许可〔2028〕1号",
        ],
    );
    let (gone, disposed) = idle_on(&store, &id, started);
    assert!(gone.is_none());
    assert_eq!(disposed, disposed_before + 1);
    // The past is not rewritten: the evaluation of the day before still flags it.
    assert!(idle_on(&store, &id, started - Duration::days(1))
        .0
        .is_some());
    // 已处置 is final.
    let e = refused(
        &store,
        &id,
        &[
            "--status",
            "investigating",
            "--effective-date",
            &started.to_string(),
        ],
    );
    assert!(e.contains("已处置"), "{e}");

    let listed = events_of(&store, &id);
    assert_eq!(listed["events"].as_array().unwrap().len(), 4);
    assert_eq!(listed["case"]["status"], "disposed");
    assert_eq!(listed["case"]["version"], listed["events"][3]["id"]);
    // A stale version is refused.
    let e = refused(
        &store,
        &id,
        &[
            "--status",
            "disposed",
            "--method",
            "started",
            "--effective-date",
            &started.to_string(),
            "--if-match",
            "1",
        ],
    );
    assert!(e.contains("not 1"), "{e}");

    // The same through the server: the idle collection on a date and the events collection.
    let server = Server::start(&store);
    let items = server.json(&format!(
        "/collections/idle/items?as_of={}&limit=10000",
        day(45)
    ));
    let mine: Vec<&Value> = items["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["id"] == id.as_str())
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["properties"]["status"], "已认定");
    let ev = server.json(&format!(
        "/collections/events/items?feature_id={}",
        urlencode(&id)
    ));
    assert_eq!(ev["numberMatched"], 4);
    let statuses: Vec<&str> = ev["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["investigating", "confirmed", "disposing", "disposed"]
    );
    assert!(
        ev["features"][0]["geometry"]["type"].is_string(),
        "on its parcel"
    );
    let one = server.json(&format!(
        "/collections/events/items/{}",
        ev["features"][1]["id"]
    ));
    assert_eq!(one["properties"]["document_no"], "认定〔2026〕3号");
    let by_method = server.json("/collections/events/items?method=extended");
    assert_eq!(by_method["numberMatched"], 1);
    let dated = server.json(&format!(
        "/collections/events/items?datetime={}/{}",
        day(0),
        day(50)
    ));
    assert_eq!(dated["numberMatched"], 2);
    assert_eq!(
        server
            .get("/collections/events/items?status=closed&x=1")
            .status,
        400
    );
    // Each event recorded on the command line is in the audit log, with its id.
    let audit = json(&ok(&["audit", "--store", s(&store), "--json"]));
    let ids: Vec<u64> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "event.add" && e["target"] == format!("parcels/{id}"))
        .map(|e| {
            assert_eq!(e["address"], "local");
            let detail: Value = serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
            detail["id"].as_u64().unwrap()
        })
        .collect();
    let recorded: Vec<u64> = ev["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, recorded);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Check `start + new − disposed = end`, in hundredths of m², for one flow.
fn balances(f: &Value) {
    let n = |k: &str| f[k].as_u64().unwrap() as i64;
    assert_eq!(
        n("start_count") + n("new_count") - n("disposed_count"),
        n("end_count"),
        "{f}"
    );
    let a = |k: &str| (f[k].as_f64().unwrap() * 100.0).round() as i64;
    assert_eq!(
        a("start_area_m2") + a("new_area_m2") - a("disposed_area_m2"),
        a("end_area_m2"),
        "{f}"
    );
}

#[test]
fn trends_balance_and_count_recorded_disposals() {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_of_sample_store(dir.path());
    let (id, agreed) = a_not_started_parcel(&store);
    let idle_from = year_after(agreed);
    let (flagged, _) = idle_on(&store, &id, idle_from);
    let flagged = flagged.unwrap();
    let park = flagged["park_id"].as_str().unwrap().to_string();
    let area = flagged["inputs"]["area_m2"].as_f64().unwrap();
    let d = |n: i64| (idle_from + Duration::days(n)).to_string();
    added(
        &store,
        &id,
        &["--status", "confirmed", "--effective-date", &d(5)],
    );
    added(
        &store,
        &id,
        &[
            "--status",
            "disposing",
            "--method",
            "fee_collected",
            "--amount-wan",
            "37.5",
            "--effective-date",
            &d(6),
        ],
    );
    added(
        &store,
        &id,
        &[
            "--status",
            "disposed",
            "--method",
            "recovered",
            "--effective-date",
            &d(7),
        ],
    );
    let from = (idle_from - Duration::days(40)).to_string();
    let to = (idle_from + Duration::days(40)).to_string();

    let server = Server::start(&store);
    let r = server.json(&format!(
        "/analysis/trends?from={from}&to={to}&period=month&park={park}"
    ));
    let periods = r["periods"].as_array().unwrap();
    assert!(periods.len() >= 3);
    let mut last_end: Option<Value> = None;
    let mut recovered = 0.0;
    let mut fees = 0.0;
    for p in periods {
        for key in ["start", "end", "park_id", "idle", "approved_not_supplied"] {
            assert!(p.get(key).is_some(), "a period lacks {key}");
        }
        assert_eq!(p["park_id"], park.as_str());
        for stock in ["idle", "approved_not_supplied"] {
            let f = &p[stock];
            let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 8, "{stock}: {keys:?}");
            balances(f);
        }
        // One period's end is the next one's start.
        if let Some(prev) = &last_end {
            assert_eq!(prev["end_count"], p["idle"]["start_count"]);
            assert_eq!(prev["end_area_m2"], p["idle"]["start_area_m2"]);
        }
        last_end = Some(p["idle"].clone());
        if let Some(t) = p["idle_disposed_by"].get("recovered") {
            recovered += t["area_m2"].as_f64().unwrap();
        }
        fees += p["fees_collected_wan"].as_f64().unwrap();
        let rate = p["land_idle_rate"].as_f64().unwrap();
        let expected =
            p["idle"]["end_area_m2"].as_f64().unwrap() / p["supplied_area_m2"].as_f64().unwrap();
        assert!((rate - expected).abs() < 1e-12);
    }
    // The parcel came and went within one month: counted as new and as recovered.
    assert!(
        (recovered - (area * 100.0).round() / 100.0).abs() < 0.005,
        "{recovered} vs {area}"
    );
    assert_eq!(fees, 37.5);
    // CSV and XLSX of the same.
    let csv = server.get(&format!(
        "/analysis/trends?from={from}&to={to}&park={park}&f=csv"
    ));
    assert_eq!(csv.status, 200);
    assert!(csv.text().contains("闲置期初宗数"));
    let xlsx = server.get(&format!("/analysis/trends?from={from}&to={to}&f=xlsx"));
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.body.starts_with(b"PK"));
    // Bad input is a 400 that says what to write.
    let bad = server.get(&format!("/analysis/trends?from={to}&to={from}"));
    assert_eq!(bad.status, 400, "{}", bad.text());
    let missing = server.get("/analysis/trends?period=week");
    assert_eq!(missing.status, 400);
    // The CLI gives the same JSON.
    let cli = json(&ok(&[
        "check",
        "trends",
        "--store",
        s(&store),
        "--from",
        &from,
        "--to",
        &to,
        "--period",
        "month",
        "--park",
        &park,
        "--format",
        "json",
    ]));
    assert_eq!(cli["periods"], r["periods"]);
}

#[test]
fn events_survive_a_re_ingest_and_orphans_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_of_sample_store(dir.path());
    // The first parcel of the file, which a filtered re-ingest leaves out.
    let first = json(&ok(&[
        "query",
        "--store",
        s(&store),
        "--layer",
        "parcels",
        "--bbox",
        "-180,-90,180,90",
    ]));
    let gone = first["features"][0]["properties"]["宗地编号"]
        .as_str()
        .unwrap()
        .to_string();
    let kept = first["features"][1]["properties"]["宗地编号"]
        .as_str()
        .unwrap()
        .to_string();
    added(
        &store,
        &gone,
        &[
            "--status",
            "investigating",
            "--effective-date",
            "2026-01-05",
        ],
    );
    added(
        &store,
        &kept,
        &[
            "--status",
            "investigating",
            "--effective-date",
            "2026-01-06",
        ],
    );
    let parcels = sample().join("parcels.shp");
    let out = landwatch(&[
        "ingest",
        s(&parcels),
        "--store",
        s(&store),
        "--role",
        "parcels",
        "--name",
        "parcels",
        "--where",
        "FID > 0",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(report["events_kept"], 2);
    assert_eq!(report["orphaned"].as_array().unwrap().len(), 1);
    assert_eq!(report["orphaned"][0]["feature_id"], gone.as_str());
    // Both events are still there; the orphan's is marked as not located.
    let all = json(&ok(&[
        "event",
        "list",
        "--store",
        s(&store),
        "--format",
        "json",
    ]));
    assert_eq!(all["events"].as_array().unwrap().len(), 2);
    let rows = json(&ok(&[
        "check",
        "events",
        "--store",
        s(&store),
        "--format",
        "json",
    ]));
    let located: Vec<(String, bool)> = rows["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["feature_id"].as_str().unwrap().to_string(),
                e["located"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(located, [(gone.clone(), false), (kept, true)]);
    // A new event for the feature that is gone is refused: the layer does not hold it.
    let e = refused(
        &store,
        &gone,
        &["--status", "confirmed", "--effective-date", "2026-02-01"],
    );
    assert!(e.contains("has no feature"), "{e}");
    // The events table refuses changes from other programs too (QGIS, sqlite3).
    let conn = rusqlite::Connection::open(&store).unwrap();
    let e = conn
        .execute("DELETE FROM landwatch_events", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    drop(conn);
    let still = json(&ok(&[
        "event",
        "list",
        "--store",
        s(&store),
        "--format",
        "json",
    ]));
    assert_eq!(still["events"].as_array().unwrap().len(), 2);
}

#[test]
fn a_wrong_ingest_is_undone_by_restoring_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_of_sample_store(dir.path());
    let before = check_json(&store, "idle", "2026-06-30", &[]);
    let window = ["-spat", "104.48", "30.0", "104.5", "30.02"];
    let in_window = |store: &Path| {
        let mut args = vec![s(store), "parcels", "-so"];
        args.extend(window);
        let out = gdal("ogrinfo", &args);
        out.lines()
            .find_map(|l| l.strip_prefix("Feature Count: "))
            .map(|n| n.trim().parse::<u64>().unwrap())
            .unwrap()
    };
    let window_before = in_window(&store);
    // By mistake, the park boundaries are ingested as parcels.
    ingest(&sample().join("parks.shp"), &store, "parcels", "parcels");
    assert_eq!(layer_counts(&store)["parcels"], 3);
    let info = json(&ok(&["info", "--store", s(&store), "--json"]));
    let versions = info["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["layer"], "parcels");
    assert_eq!(versions[0]["count"], 3000);
    let v = versions[0]["version"].as_i64().unwrap().to_string();
    let restore = |v: &str| {
        landwatch(&[
            "restore",
            "--store",
            s(&store),
            "--layer",
            "parcels",
            "--version",
            v,
        ])
    };
    let refused = restore("99");
    let e = String::from_utf8_lossy(&refused.stderr);
    assert!(
        e.contains("no previous version 99") && e.contains(&format!("kept: {v}")),
        "{e}"
    );
    assert!(restore(&v).status.success());
    assert_eq!(layer_counts(&store)["parcels"], 3000);
    // The same answers as before, and GDAL's R-tree query finds the same parcels.
    let after = check_json(&store, "idle", "2026-06-30", &[]);
    assert_eq!(after["parcels"], before["parcels"]);
    assert_eq!(in_window(&store), window_before);
    // The wrong version is kept in its turn, and can come back too.
    let info = json(&ok(&["info", "--store", s(&store), "--json"]));
    let versions = info["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["count"], 3);
    // The command line's writes are audited like the server's: the mistaken ingest and
    // the restore, by whom and from where.
    let audit = json(&ok(&["audit", "--store", s(&store), "--json"]));
    let local: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["address"] == "local" && e["target"] == "parcels")
        .map(|e| {
            assert!(e["user"].as_str().unwrap().starts_with("cli:"), "{e}");
            (e["action"].as_str().unwrap(), e["detail"].as_str().unwrap())
        })
        .collect();
    let actions: Vec<&str> = local.iter().map(|(a, _)| *a).collect();
    assert_eq!(
        actions[actions.len() - 2..],
        ["layer.ingest", "layer.restore"],
        "{audit}"
    );
    assert!(local[local.len() - 1]
        .1
        .contains(&format!("\"version\":{v}")));
}
