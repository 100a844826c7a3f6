//! The tile cache of `landwatch serve`, through the real server: a cached tile is the same
//! bytes as one made afresh (by a server that keeps none), tiles that differ by a parameter are
//! kept apart, concurrent requests for a missing tile make it once, the cache stays within its
//! bound, and it goes with its snapshot when an ingest changes the store.

mod common;

use common::server::{get, Reply, Server};
use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Every tile at zoom `z` over the collection's bounds (from its TileJSON).
fn tiles_over(srv: &Server, collection: &str, z: u32) -> Vec<String> {
    let tj = srv.json(&format!("/tiles/{collection}.json"));
    let b: Vec<f64> = tj["bounds"]
        .as_array()
        .expect("bounds")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect();
    let (x0, y0) = tile_of(b[0], b[3], z);
    let (x1, y1) = tile_of(b[2], b[1], z);
    (x0..=x1)
        .flat_map(|x| (y0..=y1).map(move |y| format!("/tiles/{collection}/{z}/{x}/{y}.mvt")))
        .collect()
}

fn cache(srv: &Server) -> Value {
    srv.json("/health")["tile_cache"].clone()
}

fn count(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

fn same(a: &Reply, b: &Reply, what: &str) {
    assert_eq!(a.status, b.status, "{what}: status");
    assert!(a.status == 200 || a.status == 204, "{what}: {}", a.status);
    assert_eq!(a.body, b.body, "{what}: bytes");
}

#[test]
fn cached_tiles_are_the_bytes_made_afresh_and_each_is_made_once() {
    let store = sample_store();
    let cached = Server::start(store);
    let fresh = Server::start_with(store, &["--tile-cache-mb", "0"]);
    assert_eq!(count(&cache(&fresh), "capacity_bytes"), 0);
    assert_eq!(count(&cache(&cached), "capacity_bytes"), 256 << 20);
    let mut paths = tiles_over(&cached, "parcels", 14);
    paths.extend(tiles_over(&cached, "parks", 12));
    // An analysis tile is kept per evaluation date: two dates, two tiles.
    let idle = tiles_over(&cached, "idle", 14);
    for as_of in ["2026-06-30", "2021-01-01"] {
        paths.extend(idle.iter().map(|p| format!("{p}?as_of={as_of}")));
    }
    let mut drawn = 0;
    for path in &paths {
        let first = cached.get(path);
        let again = cached.get(path);
        let made = fresh.get(path);
        same(&first, &made, path);
        same(&again, &made, path);
        drawn += usize::from(!made.body.is_empty());
    }
    assert!(
        drawn >= 10,
        "only {drawn} of {} tiles hold data",
        paths.len()
    );
    // The two dates draw different idle parcels somewhere, and neither was served for the
    // other.
    let differ = idle.iter().any(|p| {
        fresh.get(&format!("{p}?as_of=2026-06-30")).body
            != fresh.get(&format!("{p}?as_of=2021-01-01")).body
    });
    assert!(
        differ,
        "the idle tiles of both dates are alike: a weak test"
    );
    // Each tile was made once, however often asked; the server without a cache keeps none.
    let held = cache(&cached);
    assert_eq!(count(&held, "tiles"), paths.len() as u64, "{held}");
    assert_eq!(count(&held, "made"), paths.len() as u64, "{held}");
    assert_eq!(count(&cache(&fresh), "tiles"), 0);

    // Sixteen requests at once for a tile nobody asked yet: one computation, one answer.
    let parcel = &cached.json("/collections/parcels/items?limit=1")["features"][0];
    // The first position of its (multi)polygon.
    let mut corner = &parcel["geometry"]["coordinates"];
    while corner[0].is_array() {
        corner = &corner[0];
    }
    let (lon, lat) = (corner[0].as_f64().unwrap(), corner[1].as_f64().unwrap());
    let (x, y) = tile_of(lon, lat, 15);
    let path = format!("/tiles/parcels/15/{x}/{y}.mvt");
    let url = format!("{}{path}", cached.base);
    let answers: Vec<Reply> = std::thread::scope(|s| {
        let asks: Vec<_> = (0..16).map(|_| s.spawn(|| get(&url, &[]))).collect();
        asks.into_iter()
            .map(|a| a.join().expect("a reply"))
            .collect()
    });
    let made = fresh.get(&path);
    assert!(!made.body.is_empty(), "{path} holds no parcel");
    for a in &answers {
        same(a, &made, &path);
    }
    assert_eq!(count(&cache(&cached), "made"), paths.len() as u64 + 1);
}

#[test]
fn the_cache_stays_within_its_bound() {
    let store = sample_store();
    // About 60 kB: a handful of z14 parcel tiles.
    let small = Server::start_with(store, &["--tile-cache-mb", "0.06"]);
    let fresh = Server::start_with(store, &["--tile-cache-mb", "0"]);
    let paths = tiles_over(&small, "parcels", 14);
    let mut weight = 0;
    for path in &paths {
        let a = small.get(path);
        same(&a, &fresh.get(path), path);
        weight += a.body.len();
        let held = cache(&small);
        assert!(
            count(&held, "bytes") <= count(&held, "capacity_bytes"),
            "{held}"
        );
    }
    let held = cache(&small);
    assert!(
        weight as u64 > 2 * count(&held, "capacity_bytes"),
        "the tiles weigh {weight} bytes: too few to fill the cache ({held})"
    );
    assert!(count(&held, "tiles") < paths.len() as u64, "{held}");
    // Tiles pushed out are made again, the same.
    let made = count(&held, "made");
    for path in &paths {
        same(&small.get(path), &fresh.get(path), path);
    }
    assert!(count(&cache(&small), "made") > made);
}

#[test]
fn an_ingest_drops_the_tiles_of_the_old_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = copy_of_sample_store(dir.path());
    let other = dir.path().join("other");
    ok(&["gen", "--out", s(&other), "--parcels", "800", "--seed", "9"]);
    let srv = Server::start(&store);
    let paths = tiles_over(&srv, "parcels", 14);
    let before: Vec<Reply> = paths.iter().map(|p| srv.get(p)).collect();
    let version = srv.json("/health")["store_version"].clone();
    assert_eq!(count(&cache(&srv), "tiles"), paths.len() as u64);

    ingest(&other.join("parcels.shp"), &store, "parcels", "parcels");
    let started = Instant::now();
    while srv.json("/health")["store_version"] == version {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server still serves the old snapshot 30 s after the ingest"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let held = cache(&srv);
    assert_eq!(
        (count(&held, "tiles"), count(&held, "made")),
        (0, 0),
        "{held}"
    );
    // The tiles now are those of the new layer, as a server started on it makes them.
    let fresh = Server::start_with(&store, &["--tile-cache-mb", "0"]);
    let mut changed = 0;
    for (path, old) in paths.iter().zip(&before) {
        let now = srv.get(path);
        same(&now, &fresh.get(path), path);
        changed += usize::from(now.body != old.body);
    }
    assert!(changed > 0, "no tile changed with the new parcels");
}

#[test]
fn a_bad_cache_size_is_refused() {
    let err = fails(&["serve", "--store", s(sample_store()), "--tile-cache-mb=-1"]);
    assert!(err.contains("megabytes"), "{err}");
    let err = fails(&[
        "serve",
        "--store",
        s(sample_store()),
        "--tile-cache-mb",
        "lots",
    ]);
    assert!(err.contains("megabytes"), "{err}");
}
