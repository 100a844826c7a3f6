//! Accounts and writes over real HTTP: tokens and roles, layer uploads through the ingest,
//! the audit log and backups, against a real `landwatch serve`.

mod common;

use common::server::{Reply, Server};
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A copy of the sample store with an admin, an editor and a viewer.
struct Bureau {
    _dir: tempfile::TempDir,
    store: PathBuf,
    admin: String,
    editor: String,
    viewer: String,
}

/// `landwatch user add NAME --role ROLE`: the token it prints.
fn user_add(store: &Path, name: &str, role: &str) -> String {
    let token = ok(&["user", "add", name, "--role", role, "--store", s(store)]);
    token.trim().to_string()
}

fn bureau() -> Bureau {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_of_sample_store(dir.path());
    Bureau {
        admin: user_add(&store, "admin", "admin"),
        editor: user_add(&store, "张三", "editor"),
        viewer: user_add(&store, "viewer", "viewer"),
        store,
        _dir: dir,
    }
}

/// The answer is an OGC exception with this status whose description holds `words`.
fn assert_exception(r: &Reply, status: u16, words: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert!(v["code"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
    let d = v["description"].as_str().unwrap_or_default();
    assert!(d.contains(words), "'{words}' not in: {d}");
    if status == 401 {
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"landwatch\"")
        );
    }
}

/// A zip of the sample's `stem` shapefile (every part that exists), made with Python's
/// zipfile.
fn zip_sample(stem: &str, out: &Path, parts: &[&str]) -> Vec<u8> {
    let mut args: Vec<String> = vec![s(out).to_string()];
    for e in parts {
        args.push(s(&sample().join(format!("{stem}.{e}"))).to_string());
    }
    let script = "import sys, zipfile, os\nz = zipfile.ZipFile(sys.argv[1], 'w')\nfor p in sys.argv[2:]: z.write(p, os.path.basename(p))\nz.close()";
    let done = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&args)
        .status()
        .unwrap();
    assert!(done.success());
    std::fs::read(out).unwrap()
}

/// A wrong secret for a real account's key: the shape of a token, not a token.
fn wrong_secret(token: &str) -> String {
    let key = &token[..token.rfind('_').unwrap()];
    format!("{key}_{}", "0".repeat(64))
}

/// The layers' registry as `landwatch info --json` shows it, and the store's generation.
fn layers_and_generation(store: &Path) -> (Vec<Value>, String) {
    let gen = gdal_sql(
        store,
        "SELECT value FROM landwatch_meta WHERE key = 'generation'",
    );
    (info_layers(store), gen[0][0].clone())
}

#[test]
fn every_auth_failure_on_a_write_is_a_401_or_403_with_an_ogc_exception() {
    let b = bureau();
    let srv = Server::start(&b.store);
    let dir = tempfile::tempdir().unwrap();
    let parks = zip_sample(
        "parks",
        &dir.path().join("parks.zip"),
        &["shp", "shx", "dbf", "prj"],
    );
    let up = "/layers/parks2?role=parks";
    assert_exception(
        &srv.send("POST", up, None, &[], &parks),
        401,
        "Authorization: Bearer",
    );
    assert_exception(
        &srv.send(
            "POST",
            up,
            None,
            &[("Authorization", "Basic YWRtaW46YWRtaW4=")],
            &parks,
        ),
        401,
        "must be 'Bearer TOKEN'",
    );
    assert_exception(
        &srv.send("POST", up, Some(&wrong_secret(&b.admin)), &[], &parks),
        401,
        "not valid",
    );
    assert_exception(
        &srv.send("POST", up, Some(&b.viewer), &[], &parks),
        403,
        "the account 'viewer' has the role viewer",
    );
    assert_exception(
        &srv.send("POST", up, Some(&b.editor), &[], &parks),
        403,
        "needs the role admin",
    );
    // Reads stay open without a token, and a good token is no obstacle to them.
    assert_eq!(srv.get("/collections").status, 200);
    assert_eq!(
        srv.send("GET", "/collections", Some(&b.viewer), &[], &[])
            .status,
        200
    );
    // Nothing was stored by the refused attempts.
    assert!(!srv.json("/collections")["collections"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == "parks2"));
    // A revoked token: refused as revoked, within a second of the revocation.
    let r = srv.send("POST", up, Some(&b.admin), &[], &parks);
    assert_eq!(r.status, 201, "{}", r.text());
    ok(&["user", "revoke", "admin", "--store", s(&b.store)]);
    std::thread::sleep(Duration::from_millis(1200));
    assert_exception(
        &srv.send("POST", up, Some(&b.admin), &[], &parks),
        401,
        "revoked",
    );
    // Every refused token is in the log with its address.
    let log = srv.log();
    assert_eq!(log.matches("refused a token").count(), 3, "{log}");
    assert!(log.contains("127.0.0.1"), "{log}");
}

#[test]
fn a_private_server_answers_reads_only_with_a_token() {
    let b = bureau();
    let srv = Server::start_with(&b.store, &["--private"]);
    for path in [
        "/collections",
        "/collections/parcels/items?limit=1",
        "/tiles/parcels.json",
        "/analysis/idle",
    ] {
        assert_exception(&srv.get(path), 401, "this server is private");
        let r = srv.send("GET", path, Some(&b.viewer), &[], &[]);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    // A wrong token is refused on reads too.
    assert_exception(
        &srv.send(
            "GET",
            "/collections",
            Some(&wrong_secret(&b.viewer)),
            &[],
            &[],
        ),
        401,
        "not valid",
    );
    // The map page and its code load without one (the page asks for the token).
    for path in ["/?f=html", "/assets/app.js", "/health"] {
        assert_eq!(srv.get(path).status, 200, "{path}");
    }
    // A private server sends no CORS headers unless told to.
    let r = srv.send(
        "GET",
        "/collections",
        Some(&b.viewer),
        &[("Origin", "https://elsewhere.example")],
        &[],
    );
    assert!(r.header("access-control-allow-origin").is_none());
}

#[test]
fn an_address_that_keeps_sending_bad_tokens_is_slowed_then_shut_out() {
    let b = bureau();
    let srv = Server::start(&b.store);
    let bad = wrong_secret(&b.editor);
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(
            srv.send("GET", "/collections", Some(&bad), &[], &[]).status,
            401
        );
    }
    // Each refusal was answered after a pause.
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        srv.send("GET", "/collections", Some(&bad), &[], &[]).status,
        401
    );
    // Now even a good token from that address waits its turn.
    let r = srv.send("GET", "/collections", Some(&b.editor), &[], &[]);
    assert_exception(&r, 429, "too many refused tokens");
    assert!(r.header("retry-after").is_some());
    // Reads without a token are not held up.
    assert_eq!(srv.get("/collections").status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        srv.send("GET", "/collections", Some(&b.editor), &[], &[])
            .status,
        200
    );
}

#[test]
fn an_upload_is_the_ingest_of_the_command_line_and_a_refused_one_changes_nothing() {
    let b = bureau();
    let srv = Server::start_with(&b.store, &["--max-upload-mb", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let admin = Some(b.admin.as_str());
    let (layers_before, gen_before) = layers_and_generation(&b.store);

    // Refusals: each says why, and the layers stay as they were.
    let no_dbf = zip_sample(
        "parks",
        &dir.path().join("nodbf.zip"),
        &["shp", "shx", "prj"],
    );
    let no_prj = zip_sample(
        "parks",
        &dir.path().join("noprj.zip"),
        &["shp", "shx", "dbf"],
    );
    let refusals: [(&str, Vec<u8>, u16, &str); 6] = [
        ("/layers/parks?role=parks", no_prj, 422, "EPSG:4523"),
        ("/layers/parks?role=parks", no_dbf, 422, "parks"),
        (
            "/layers/parks?role=parks",
            b"GIF89a not a layer".to_vec(),
            415,
            "neither a zip",
        ),
        ("/layers/parks?role=castle", b"{}".to_vec(), 400, "role"),
        (
            "/layers/parks?role=parks&colour=red",
            b"{}".to_vec(),
            400,
            "unknown parameter 'colour'",
        ),
        (
            "/layers/parks?role=parks",
            vec![b' '; 1_100_000],
            413,
            "serve --max-upload-mb",
        ),
    ];
    for (path, body, status, words) in &refusals {
        let r = srv.send("POST", path, admin, &[], body);
        assert_exception(&r, *status, words);
    }
    let geojson_bad_row = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4490"}},"features":[
        {"type":"Feature","properties":{"园区编号":"X1","园区名称":"甲","批准面积":"12公顷"},"geometry":{"type":"Polygon","coordinates":[[[104.5,30.0],[104.51,30.0],[104.51,30.01],[104.5,30.0]]]}},
        {"type":"Feature","properties":{"园区编号":"X2","园区名称":"乙","批准面积":"12公顷"},"geometry":{"type":"Point","coordinates":[104.5,30.0]}}]}"#;
    let r = srv.send(
        "POST",
        "/layers/parks?role=parks",
        admin,
        &[],
        geojson_bad_row.as_bytes(),
    );
    assert_exception(&r, 422, "the store was not changed");
    assert_eq!(
        layers_and_generation(&b.store),
        (layers_before.clone(), gen_before)
    );

    // An accepted upload answers the report `landwatch ingest --json` gives for the same file.
    let parks = zip_sample(
        "parks",
        &dir.path().join("parks.zip"),
        &["shp", "shx", "dbf", "prj"],
    );
    let r = srv.send("POST", "/layers/parks?role=parks", admin, &[], &parks);
    assert_eq!(r.status, 200, "a replacement: {}", r.text());
    let uploaded = r.json();
    let cli_store = dir.path().join("cli.gpkg");
    let cli = json(&ok(&ingest_args(
        &dir.path().join("parks.zip"),
        &cli_store,
        "parks",
        "parks",
        &["--json"],
    )));
    for key in [
        "features",
        "repaired",
        "skipped",
        "encoding",
        "encoding_source",
        "crs",
        "crs_source",
        "area",
        "extent",
        "mapping",
        "id_source",
        "land_system",
    ] {
        assert_eq!(uploaded[key], cli[key], "{key}");
    }
    assert_eq!(uploaded["replaced"], true);
    let r = srv.send("POST", "/layers/parks_copy?role=parks", admin, &[], &parks);
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r
        .header("location")
        .unwrap()
        .ends_with("/collections/parks_copy"));
    // The server loads the new layer by itself.
    let deadline = Instant::now() + Duration::from_secs(20);
    while srv.get("/collections/parks_copy").status != 200 {
        assert!(
            Instant::now() < deadline,
            "the uploaded layer is never served"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let items = srv.json("/collections/parks_copy/items");
    assert_eq!(items["numberMatched"], 3);

    // Every upload that reached the ingest is in the audit log, with who and from where.
    let audit = json(&ok(&["audit", "--store", s(&b.store), "--json"]));
    let uploads: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "layer.upload")
        .collect();
    let statuses: Vec<u64> = uploads
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [422, 422, 422, 200, 201]);
    assert!(uploads
        .iter()
        .all(|e| e["user"] == "admin" && e["address"] == "127.0.0.1"));
    let accounts: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "user.add")
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["admin", "张三", "viewer"]);
}

#[test]
fn accounts_keep_only_hashes_and_revoked_names_stay_taken() {
    let b = bureau();
    let listed = json(&ok(&["user", "list", "--store", s(&b.store), "--json"]));
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "viewer", "张三"]);
    // No token, nor its secret, is anywhere in the file.
    let bytes = std::fs::read(&b.store).unwrap();
    for t in [&b.admin, &b.editor, &b.viewer] {
        let secret = &t[t.rfind('_').unwrap() + 1..];
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret is stored in clear"
        );
    }
    let hashes = gdal_sql(&b.store, "SELECT token_hash FROM landwatch_users");
    assert!(
        hashes.iter().all(|h| h[0].starts_with("$argon2id$")),
        "{hashes:?}"
    );
    ok(&["user", "revoke", "viewer", "--store", s(&b.store)]);
    let e = fails(&[
        "user",
        "add",
        "viewer",
        "--role",
        "viewer",
        "--store",
        s(&b.store),
    ]);
    assert!(e.contains("revoked"), "{e}");
    let e = fails(&["user", "revoke", "nobody", "--store", s(&b.store)]);
    assert!(e.contains("does not exist"), "{e}");
    let e = fails(&["user", "add", "x", "--role", "root", "--store", s(&b.store)]);
    assert!(e.contains("viewer, editor or admin"), "{e}");
}

/// The first `n` parcel ids (宗地编号) of the sample, in fid order.
fn parcel_ids(srv: &Server, n: usize) -> Vec<String> {
    let items = srv.json(&format!(
        "/collections/parcels/items?limit={n}&skipGeometry=true"
    ));
    items["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["宗地编号"].as_str().unwrap().to_string())
        .collect()
}

/// An event feature for the idle case of parcel `id`.
fn event(id: &str, status: &str, date: &str) -> Vec<u8> {
    serde_json::json!({"type": "Feature", "geometry": null, "properties": {
        "layer": "parcels", "feature_id": id, "subject": "idle", "status": status,
        "effective_date": date, "document_no": "资规闲调〔2024〕7号"}})
    .to_string()
    .into_bytes()
}

const EVENTS: &str = "/collections/events/items";

/// The ids of the events in the store, in order.
fn stored_event_ids(store: &Path) -> Vec<i64> {
    column(
        store,
        "SELECT id + 0 AS n FROM landwatch_events ORDER BY id",
    )
    .iter()
    .map(|v| v.parse().unwrap())
    .collect()
}

/// One column of a store table, read through GDAL's SQLite dialect.
fn column(store: &Path, sql: &str) -> Vec<String> {
    gdal_sql(store, sql)
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

#[test]
fn events_need_an_editor_are_checked_and_a_stale_if_match_is_412() {
    let b = bureau();
    let srv = Server::start(&b.store);
    let id = &parcel_ids(&srv, 1)[0];
    let first = event(id, "investigating", "2024-03-01");
    assert_exception(
        &srv.send("POST", EVENTS, None, &[], &first),
        401,
        "recording an event needs",
    );
    assert_exception(
        &srv.send("POST", EVENTS, Some(&b.viewer), &[], &first),
        403,
        "needs the role editor",
    );
    assert_exception(
        &srv.send("POST", EVENTS, Some(&wrong_secret(&b.editor)), &[], &first),
        401,
        "not valid",
    );
    // An admin may do what an editor may.
    let other = user_add(&b.store, "李四", "editor");
    let r = srv.send(
        "POST",
        EVENTS,
        Some(&b.editor),
        &[("If-Match", "\"0\"")],
        &first,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v1 = r.header("etag").unwrap().to_string();
    let loc = r.header("location").unwrap().to_string();
    let stored = r.json();
    assert!(
        loc.ends_with(&format!("{EVENTS}/{}", stored["id"])),
        "{loc}"
    );
    assert_eq!(stored["properties"]["recorded_by"], "张三");
    assert_eq!(v1, format!("\"{}\"", stored["id"]));
    // 李四 read the case before 张三's event: too late.
    let second = event(id, "confirmed", "2024-04-01");
    let r = srv.send(
        "POST",
        EVENTS,
        Some(&other),
        &[("If-Match", "\"0\"")],
        &second,
    );
    assert_exception(&r, 412, &format!("is at version {}", stored["id"]));
    let r = srv.send("POST", EVENTS, Some(&other), &[("If-Match", &v1)], &second);
    assert_eq!(r.status, 201, "{}", r.text());
    // The same If-Match again is stale now: no update is lost.
    let third = event(id, "disposing", "2024-05-01");
    assert_eq!(
        srv.send("POST", EVENTS, Some(&b.admin), &[("If-Match", &v1)], &third)
            .status,
        412
    );
    // Rules: going back is refused with the article; bad bodies say what is wrong.
    let back = event(id, "suspected", "2024-06-01");
    assert_exception(
        &srv.send("POST", EVENTS, Some(&b.editor), &[], &back),
        422,
        "第九条",
    );
    let nowhere = event("no-such-parcel", "investigating", "2024-06-01");
    assert_exception(
        &srv.send("POST", EVENTS, Some(&b.editor), &[], &nowhere),
        422,
        "no feature 'no-such-parcel'",
    );
    assert_exception(
        &srv.send(
            "POST",
            EVENTS,
            Some(&b.editor),
            &[],
            b"{\"type\":\"Feature\"}",
        ),
        400,
        "properties",
    );
    assert_exception(
        &srv.send(
            "POST",
            EVENTS,
            Some(&b.editor),
            &[("If-Match", "yesterday")],
            &third,
        ),
        400,
        "If-Match",
    );
    assert_exception(
        &srv.send(
            "POST",
            "/collections/parcels/items",
            Some(&b.editor),
            &[],
            &third,
        ),
        405,
        "read-only",
    );
    // The history is append-only.
    for method in ["PUT", "PATCH", "DELETE"] {
        for path in [EVENTS.to_string(), format!("{EVENTS}/1")] {
            let r = srv.send(method, &path, Some(&b.admin), &[], &third);
            assert_exception(&r, 405, "append-only");
        }
    }
    // Who did what, from where, and how it ended, for every event that reached the store.
    let audit = json(&ok(&["audit", "--store", s(&b.store), "--json"]));
    let events: Vec<(String, u64)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "event.add")
        .map(|e| {
            (
                e["user"].as_str().unwrap().to_string(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = [
        ("张三", 201),
        ("李四", 412),
        ("李四", 201),
        ("admin", 412),
        ("张三", 422),
        ("张三", 422),
    ]
    .iter()
    .map(|(u, s)| (u.to_string(), *s))
    .collect();
    assert_eq!(events, want);
    let ids = column(
        &b.store,
        "SELECT id + 0 AS n FROM landwatch_events ORDER BY id",
    );
    assert_eq!(
        ids.len(),
        2,
        "only the two accepted events are stored: {ids:?}"
    );
    // The events collection serves them once the server has reloaded.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = srv.json(&format!("{EVENTS}?feature_id={id}"));
        if listed["numberMatched"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{listed}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn concurrent_writers_lose_nothing_and_acknowledged_events_survive_kill_9() {
    let b = bureau();
    let srv = Server::start(&b.store);
    let ids = parcel_ids(&srv, 400);
    let contested = ids[0].clone();
    let writers: Vec<String> = (0..6)
        .map(|i| user_add(&b.store, &format!("editor{i}"), "editor"))
        .collect();
    // Six editors: each records the first event of its own parcels, and all race to extend
    // one shared case, each naming the version it last saw.
    let acknowledged = std::sync::Mutex::new(Vec::<i64>::new());
    let contested_wins = std::sync::Mutex::new(Vec::<i64>::new());
    let statuses = ["investigating", "confirmed", "disposing", "disposed"];
    let n_writers = writers.len();
    std::thread::scope(|scope| {
        for (i, token) in writers.iter().enumerate() {
            let (acknowledged, contested_wins, ids, contested, srv) =
                (&acknowledged, &contested_wins, &ids, &contested, &srv);
            scope.spawn(move || {
                for id in ids[1..].iter().skip(i).step_by(n_writers) {
                    let r = srv.send(
                        "POST",
                        EVENTS,
                        Some(token),
                        &[],
                        &event(id, "investigating", "2024-03-01"),
                    );
                    assert_eq!(r.status, 201, "{}", r.text());
                    acknowledged
                        .lock()
                        .unwrap()
                        .push(r.json()["id"].as_i64().unwrap());
                }
                let mut seen = "\"0\"".to_string();
                for _ in 0..6 {
                    let step = contested_wins.lock().unwrap().len().min(2);
                    let mut body: Value =
                        serde_json::from_slice(&event(contested, statuses[step], "2024-03-01"))
                            .unwrap();
                    if step == 2 {
                        body["properties"]["method"] = "extended".into();
                        body["properties"]["until"] = "2025-03-01".into();
                    }
                    let r = srv.send(
                        "POST",
                        EVENTS,
                        Some(token),
                        &[("If-Match", &seen)],
                        body.to_string().as_bytes(),
                    );
                    match r.status {
                        201 => {
                            let id = r.json()["id"].as_i64().unwrap();
                            contested_wins.lock().unwrap().push(id);
                            acknowledged.lock().unwrap().push(id);
                            seen = r.header("etag").unwrap().to_string();
                        }
                        // Someone else was first: read the case's version from the refusal.
                        412 | 422 => {
                            let d = r.json()["description"].as_str().unwrap().to_string();
                            if let Some(v) = d.split("is at version ").nth(1) {
                                seen = format!(
                                    "\"{}\"",
                                    v.split(',').next().unwrap().split(' ').next().unwrap()
                                );
                            }
                        }
                        other => panic!("{other}: {}", r.text()),
                    }
                }
            });
        }
    });
    let mut acknowledged = acknowledged.into_inner().unwrap();
    acknowledged.sort();
    let wins = contested_wins.into_inner().unwrap();
    assert_eq!(acknowledged.len(), 399 + wins.len());
    assert!(!wins.is_empty() && wins.len() <= 3, "{wins:?}");
    // Killed at once: every acknowledged event is in the store, and nothing else.
    srv.signal("KILL");
    drop(srv);
    let stored = stored_event_ids(&b.store);
    assert_eq!(stored, acknowledged);
    let contested_stored = column(
        &b.store,
        &format!(
            "SELECT id + 0 AS n FROM landwatch_events WHERE feature_id = '{contested}' ORDER BY id"
        ),
    );
    assert_eq!(
        contested_stored.len(),
        wins.len(),
        "one event per version, none lost"
    );
    let check = column(&b.store, "PRAGMA integrity_check");
    assert_eq!(check, ["ok"]);
}

#[test]
fn an_event_acknowledged_just_before_kill_9_is_kept() {
    let b = bureau();
    let srv = Server::start(&b.store);
    let ids = parcel_ids(&srv, 3000);
    let acknowledged = std::sync::Mutex::new(Vec::<i64>::new());
    std::thread::scope(|scope| {
        let (acknowledged, srv_ref, ids) = (&acknowledged, &srv, &ids);
        let writer = scope.spawn(move || {
            let url = format!("{}{EVENTS}", srv_ref.base);
            let auth = format!("Bearer {}", b.editor);
            for id in ids {
                let r = ureq::post(&url)
                    .set("Authorization", &auth)
                    .timeout(Duration::from_secs(10))
                    .send_bytes(&event(id, "investigating", "2024-03-01"));
                match r {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = serde_json::from_reader(r.into_reader()).unwrap();
                        acknowledged.lock().unwrap().push(v["id"].as_i64().unwrap());
                    }
                    Ok(r) => panic!("{}", r.status()),
                    Err(ureq::Error::Status(s, r)) => panic!("{s}: {}", r.into_string().unwrap()),
                    // The server is gone.
                    Err(_) => return,
                }
            }
        });
        while acknowledged.lock().unwrap().len() < 50 {
            std::thread::sleep(Duration::from_millis(5));
        }
        srv.signal("KILL");
        writer.join().unwrap();
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(
        acknowledged.len() < ids.len(),
        "the kill came while writing"
    );
    let stored = stored_event_ids(&b.store);
    // Every acknowledged event is there; at most the one under way when the kill came
    // was stored without its answer reaching the client.
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged event {id} lost");
    }
    assert!(
        stored.len() <= acknowledged.len() + 1,
        "{} stored, {} acknowledged",
        stored.len(),
        acknowledged.len()
    );
    let audited = column(
        &b.store,
        "SELECT count(*) FROM landwatch_audit WHERE action = 'event.add'",
    );
    assert_eq!(
        audited,
        [stored.len().to_string()],
        "each event commits with its audit entry"
    );
}

#[test]
fn a_backup_taken_while_events_are_written_is_one_moment_of_the_store() {
    let b = bureau();
    let srv = Server::start(&b.store);
    let ids = parcel_ids(&srv, 1500);
    let dir = tempfile::tempdir().unwrap();
    // The first event makes the table; the copies are taken while the others are written.
    let (first, ids) = ids.split_first().unwrap();
    let r = srv.send(
        "POST",
        EVENTS,
        Some(&b.editor),
        &[],
        &event(first, "investigating", "2024-03-01"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let done = std::sync::atomic::AtomicBool::new(false);
    let copies: Vec<PathBuf> = std::thread::scope(|scope| {
        let (srv_ref, ids, done) = (&srv, &ids, &done);
        scope.spawn(move || {
            for id in ids.iter() {
                let r = srv_ref.send(
                    "POST",
                    EVENTS,
                    Some(&b.editor),
                    &[],
                    &event(id, "investigating", "2024-03-01"),
                );
                assert_eq!(r.status, 201, "{}", r.text());
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut copies = vec![];
        while !done.load(std::sync::atomic::Ordering::SeqCst) && copies.len() < 5 {
            let out = dir.path().join(format!("copy{}.gpkg", copies.len()));
            let said = landwatch(&["backup", "--store", s(&b.store), "--out", s(&out)]);
            assert!(
                said.status.success(),
                "{}",
                String::from_utf8_lossy(&said.stderr)
            );
            copies.push(out);
            std::thread::sleep(Duration::from_millis(100));
        }
        copies
    });
    assert!(copies.len() >= 2, "the backups ran while writing");
    let mut counts = vec![];
    for copy in &copies {
        // A whole GeoPackage on its own, without a -wal beside it.
        assert!(!Path::new(&format!("{}-wal", copy.display())).exists());
        assert_eq!(column(copy, "PRAGMA integrity_check"), ["ok"]);
        let events = column(
            copy,
            "SELECT count(*), coalesce(max(id), 0) FROM landwatch_events",
        );
        let audited = column(
            copy,
            "SELECT count(*) FROM landwatch_audit WHERE action = 'event.add'",
        );
        // One moment: the events 1..n, each with its audit entry.
        let row = gdal_sql(
            copy,
            "SELECT count(*), coalesce(max(id), 0) FROM landwatch_events",
        );
        assert_eq!(row[0][0], row[0][1], "{copy:?}: ids 1..n");
        assert_eq!(events[0], audited[0], "{copy:?}");
        assert_eq!(layer_counts(copy), layer_counts(&b.store));
        counts.push(events[0].parse::<usize>().unwrap());
    }
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert!(
        counts.iter().any(|&n| n > 1 && n < 1500),
        "a copy taken mid-way: {counts:?}"
    );
}

#[test]
fn the_web_map_offers_the_disposal_form_to_editors_only() {
    let b = bureau();
    let srv = Server::start_with(&b.store, &["--private"]);
    let base = format!("{}/", srv.base);
    let r = browser("disposal.mjs", &[&base, &b.editor, &b.viewer]);
    assert!(
        r["anonymous"]["notice"].as_str().unwrap().contains("令牌"),
        "{r}"
    );
    assert_eq!(r["editor"]["who"], "张三（编辑）", "{r}");
    assert_eq!(r["editor"]["form"], 1, "{r}");
    assert!(
        r["editor"]["recorded"].as_str().unwrap().contains("已记录"),
        "{r}"
    );
    assert!(
        r["editor"]["history"]
            .as_str()
            .unwrap()
            .contains("资规闲调〔2024〕9号"),
        "{r}"
    );
    assert_eq!(r["viewer"]["who"], "viewer（查看）", "{r}");
    assert_eq!(r["viewer"]["form"], 0, "a viewer gets no form: {r}");
    assert!(
        r["viewer"]["history"].as_str().unwrap().contains("调查中"),
        "the viewer reads the history: {r}"
    );
    assert_eq!(r["editor"]["errors"], json!([]), "{r}");
    assert_eq!(r["viewer"]["errors"], json!([]), "{r}");
    // The form's write is the store's, recorded by the editor's account.
    let who = column(&b.store, "SELECT recorded_by FROM landwatch_events");
    assert_eq!(who, ["张三"]);
}
