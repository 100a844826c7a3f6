//! 瓦片缓存 — the tiles of one catalog snapshot, made once: a byte-bounded cache of encoded
//! tiles (least recently used out first), each collection's lowest zoom, and the lane tile work
//! runs in.
//!
//! A tile is a pure function of the snapshot, the collection (with its analysis selector) and
//! the tile address, so within a snapshot it is computed at most once while it stays cached:
//! requests for a tile being made wait for that one computation. A new snapshot (a reload
//! after an ingest) gets an empty cache; the old one is dropped with the last request that
//! still holds it.
//!
//! Tile work is CPU work: it runs on the blocking threads, at most one tile per core at a
//! time, so the async threads that read and write connections are never held up by it, and
//! 32 connections queue for the cores in order instead of sharing them 32 ways (which
//! stretched every tile to the slowest one's time).

use crate::catalog::Catalog;
use crate::report::mvt::TileId;
use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt, Shared};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// The cache size `serve` uses unless told otherwise (`--tile-cache-mb`).
pub const DEFAULT_MB: f64 = 256.0;

/// What identifies a tile within a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TileKey {
    /// The collection id.
    pub collection: String,
    /// The analysis selector (`as_of=…&park=…`), empty for a stored layer.
    pub selector: String,
    /// The tile.
    pub tile: TileId,
}

/// Why a tile could not be made.
#[derive(Clone, Debug, thiserror::Error)]
#[error("tile work failed: {0}")]
pub struct TileFailed(String);

/// At most one piece of tile work per core at a time, off the async threads.
struct Lane(Arc<tokio::sync::Semaphore>);

impl Lane {
    fn new() -> Lane {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Lane(Arc::new(tokio::sync::Semaphore::new(cores)))
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, TileFailed> {
        let permit = Arc::clone(&self.0)
            .acquire_owned()
            .await
            .map_err(|e| TileFailed(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| TileFailed(e.to_string()))
    }
}

type Making = Shared<BoxFuture<'static, Result<Bytes, TileFailed>>>;

/// A cached tile, or its computation under way.
struct Entry {
    making: Making,
    /// Its place in the recency order, once made.
    used: Option<u64>,
    bytes: usize,
}

#[derive(Default)]
struct Entries {
    map: HashMap<TileKey, Entry>,
    /// Made tiles by last use, oldest first.
    order: BTreeMap<u64, TileKey>,
    clock: u64,
    /// Bytes of the made tiles held.
    held: usize,
}

impl Entries {
    fn touch(&mut self, key: &TileKey) {
        self.clock += 1;
        let now = self.clock;
        if let Some(e) = self.map.get_mut(key) {
            if let Some(was) = e.used.replace(now) {
                self.order.remove(&was);
                self.order.insert(now, key.clone());
            }
        }
    }

    /// A computation has ended: keep its tile (evicting the least recently used ones beyond
    /// `capacity`), or forget it when it failed or would not fit.
    fn settle(&mut self, key: &TileKey, made: &Result<Bytes, TileFailed>, capacity: usize) {
        let size = match made {
            Ok(b) if key_cost(key) + b.len() <= capacity => key_cost(key) + b.len(),
            _ => {
                self.map.remove(key);
                return;
            }
        };
        self.clock += 1;
        let now = self.clock;
        let Some(e) = self.map.get_mut(key) else {
            return;
        };
        e.used = Some(now);
        e.bytes = size;
        self.order.insert(now, key.clone());
        self.held += size;
        while self.held > capacity {
            let Some((_, old)) = self.order.pop_first() else {
                break;
            };
            if let Some(e) = self.map.remove(&old) {
                self.held -= e.bytes;
            }
        }
    }
}

/// What an entry costs besides its tile's bytes: the key twice (map and order) and the
/// bookkeeping, roughly.
fn key_cost(key: &TileKey) -> usize {
    2 * (key.collection.len() + key.selector.len()) + 256
}

/// How full a snapshot's tile cache is.
#[derive(Debug, serde::Serialize)]
pub struct Held {
    /// Tiles kept.
    pub tiles: usize,
    /// Their bytes, with the cost of their keys.
    pub bytes: usize,
    /// The bound.
    pub capacity_bytes: usize,
    /// Tiles made since the snapshot came into service, each once while it stays cached.
    pub made: usize,
}

/// A collection's lowest zoom, once known.
type Floor = Arc<tokio::sync::OnceCell<u8>>;

/// The tiles of one snapshot.
pub struct Generation {
    snapshot: Weak<Catalog>,
    capacity: usize,
    entries: Mutex<Entries>,
    /// Each collection's lowest zoom (by collection id and selector), computed once: the
    /// requests that come while it is computed wait for it.
    floors: Mutex<HashMap<(String, String), Floor>>,
    /// Tiles made for this cache (not counting those found in it).
    made: AtomicUsize,
    lane: Arc<Lane>,
}

impl Generation {
    fn new(snapshot: &Arc<Catalog>, capacity: usize, lane: Arc<Lane>) -> Generation {
        Generation {
            snapshot: Arc::downgrade(snapshot),
            capacity,
            entries: Mutex::new(Entries::default()),
            floors: Mutex::new(HashMap::new()),
            made: AtomicUsize::new(0),
            lane,
        }
    }

    fn is_for(&self, catalog: &Arc<Catalog>) -> bool {
        std::ptr::eq(self.snapshot.as_ptr(), Arc::as_ptr(catalog))
    }

    /// The lowest zoom of a collection, computed once per snapshot in the tile lane.
    pub async fn floor(
        &self,
        collection: (String, String),
        compute: impl FnOnce() -> u8 + Send + 'static,
    ) -> Result<u8, TileFailed> {
        let cell = Arc::clone(
            self.floors
                .lock()
                .expect("floors lock")
                .entry(collection)
                .or_default(),
        );
        cell.get_or_try_init(|| self.lane.run(compute))
            .await
            .copied()
    }

    /// The tile of `key`: from the cache, or joining its computation under way, or made by
    /// `make` in the tile lane (and kept while it fits). A request that gives up does not
    /// stop the computation the others wait for.
    pub async fn tile(
        self: &Arc<Self>,
        key: TileKey,
        make: impl FnOnce() -> Vec<u8> + Send + 'static,
    ) -> Result<Bytes, TileFailed> {
        if self.capacity == 0 {
            return self.lane.run(make).await.map(Bytes::from);
        }
        let making = {
            let mut entries = self.entries.lock().expect("tile cache lock");
            if let Some(e) = entries.map.get(&key) {
                let making = e.making.clone();
                entries.touch(&key);
                making
            } else {
                let generation = Arc::clone(self);
                let k = key.clone();
                let task = tokio::spawn(async move {
                    let made = generation.lane.run(make).await.map(Bytes::from);
                    generation.made.fetch_add(1, Ordering::Relaxed);
                    generation.entries.lock().expect("tile cache lock").settle(
                        &k,
                        &made,
                        generation.capacity,
                    );
                    made
                });
                let making: Making = async move {
                    task.await
                        .unwrap_or_else(|e| Err(TileFailed(e.to_string())))
                }
                .boxed()
                .shared();
                entries.map.insert(
                    key,
                    Entry {
                        making: making.clone(),
                        used: None,
                        bytes: 0,
                    },
                );
                making
            }
        };
        making.await
    }

    /// What is held, for `/health`.
    pub fn held(&self) -> Held {
        let e = self.entries.lock().expect("tile cache lock");
        Held {
            tiles: e.order.len(),
            bytes: e.held,
            capacity_bytes: self.capacity,
            made: self.made.load(Ordering::Relaxed),
        }
    }
}

/// The tile cache of the snapshot in service.
pub struct TileCache {
    capacity: usize,
    lane: Arc<Lane>,
    current: arc_swap::ArcSwap<Generation>,
}

impl TileCache {
    /// A cache of at most `megabytes` MB (of 2^20 bytes) for `snapshot` (0: tiles are made
    /// for every request).
    pub fn new(snapshot: &Arc<Catalog>, megabytes: f64) -> TileCache {
        let capacity = (megabytes.max(0.0) * f64::from(1u32 << 20)) as usize;
        let lane = Arc::new(Lane::new());
        TileCache {
            capacity,
            current: arc_swap::ArcSwap::from_pointee(Generation::new(
                snapshot,
                capacity,
                Arc::clone(&lane),
            )),
            lane,
        }
    }

    /// A new snapshot is in service: its tiles start empty, the old ones go.
    pub fn renew(&self, snapshot: &Arc<Catalog>) {
        self.current.store(Arc::new(Generation::new(
            snapshot,
            self.capacity,
            Arc::clone(&self.lane),
        )));
    }

    /// The tiles of `catalog`: the shared cache when it is the snapshot the cache is for, or
    /// an uncached one for a request that still holds an older or newer snapshot across a
    /// swap (so that no tile of one snapshot is ever served for another).
    pub fn of(&self, catalog: &Arc<Catalog>) -> Arc<Generation> {
        let current = self.current.load_full();
        if current.is_for(catalog) {
            current
        } else {
            Arc::new(Generation::new(catalog, 0, Arc::clone(&self.lane)))
        }
    }

    /// The cache of the snapshot in service.
    pub fn current(&self) -> Arc<Generation> {
        self.current.load_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(x: u32) -> TileKey {
        TileKey {
            collection: "parcels".into(),
            selector: String::new(),
            tile: TileId::new(14, x, 0).expect("a tile"),
        }
    }

    /// A tile whose computation is under way.
    fn pending(e: &mut Entries, x: u32) {
        let making: Making = futures_util::future::ready(Ok(Bytes::new()))
            .boxed()
            .shared();
        e.map.insert(
            key(x),
            Entry {
                making,
                used: None,
                bytes: 0,
            },
        );
    }

    fn settled(e: &mut Entries, x: u32, bytes: usize, capacity: usize) {
        pending(e, x);
        e.settle(&key(x), &Ok(Bytes::from(vec![0u8; bytes])), capacity);
    }

    #[test]
    fn the_least_recently_used_tile_goes_first_and_the_bound_holds() {
        let per = key_cost(&key(0)) + 1000;
        let capacity = 3 * per;
        let mut e = Entries::default();
        for x in 0..3 {
            settled(&mut e, x, 1000, capacity);
        }
        assert_eq!((e.held, e.order.len()), (3 * per, 3));
        // Tile 0 is asked again: tile 1 is now the oldest and makes room for tile 3.
        e.touch(&key(0));
        settled(&mut e, 3, 1000, capacity);
        assert!(e.held <= capacity);
        assert!(e.map.contains_key(&key(0)) && !e.map.contains_key(&key(1)));
        assert!(e.map.contains_key(&key(2)) && e.map.contains_key(&key(3)));
        // A tile larger than the whole cache is served but not kept.
        settled(&mut e, 4, capacity, capacity);
        assert!(!e.map.contains_key(&key(4)));
        assert_eq!(e.order.len(), 3);
        // Nor is a failed one: the next request tries again.
        pending(&mut e, 5);
        e.settle(&key(5), &Err(TileFailed("boom".into())), capacity);
        assert!(!e.map.contains_key(&key(5)));
    }
}
