//! Accounts and writes over real HTTP: tokens and roles, layer uploads through the ingest,
//! the audit log and backups, against a real `landwatch serve`.

mod common;

use common::server::{Reply, Server};
use common::*;
use serde_json::Value;
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
