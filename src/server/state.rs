//! Server state: the current catalog snapshot (swapped whole when the store changes), the
//! rule packs, and a small cache of analysis results.

use super::collections::{AnalysisLayer, Collection};
use super::error::{ApiError, ApiResult};
use super::tile_cache::{self, TileCache};
use crate::analysis::{self, Cancel, Context};
use crate::catalog::Catalog;
use crate::checks::{self, Analysis, Query};
use crate::rules::Rules;
use crate::store::{LayerInfo, StoreLocation, StoreStamp};
use arc_swap::ArcSwap;
use chrono::NaiveDate;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many analysis results are kept unless `serve --analysis-cache` says otherwise.
const CACHED_RESULTS: usize = 12;

/// A result's key: what its check reads of the snapshot ([`inputs`]), the check, the query.
type Key = (u64, &'static str, Query);

/// What `check` reads of `catalog`, as one number: the registry entries of the layers of
/// its roles, and the recorded events when it reads them. A result stays valid across
/// reloads that leave these alone (an event recorded does not recompute zoning).
fn inputs(catalog: &Catalog, check: &dyn Analysis) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for l in catalog
        .layers
        .iter()
        .filter(|l| check.layers().contains(&l.info.role))
    {
        serde_json::to_string(&l.info)
            .expect("a registry entry is serialisable")
            .hash(&mut h);
    }
    if check.reads_events() {
        catalog.dispositions.version().hash(&mut h);
    }
    h.finish()
}

/// Why a computation gave no result.
#[derive(Clone, Debug)]
enum Failure {
    /// No slot to compute in (503).
    Busy(String),
    /// Every request for it had gone: it was dropped.
    Abandoned,
    /// The check refused its parameters (400).
    Refused(String),
    /// It failed (a bug: logged, 500).
    Failed(String),
}

/// A result, or the computation of it under way, shared by every request for it. The
/// computation runs in a task of its own, so a request that gives up does not stop it for
/// the others — and a request that comes later joins it instead of starting another.
type Slot = futures_util::future::Shared<
    futures_util::future::BoxFuture<'static, Result<Arc<AnalysisLayer>, Failure>>,
>;

/// How many requests wait for one computation; when none is left, the computation is
/// cancelled: dropped while queued, and stopped soon once running (the checks look at the
/// flag between parks and parcels), its partial result discarded.
#[derive(Default)]
struct Interest {
    waiting: AtomicUsize,
    gone: tokio::sync::Notify,
    cancel: Cancel,
}

impl Interest {
    fn join(self: &Arc<Self>) -> Waiter {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        Waiter(Arc::clone(self))
    }

    /// Whether every request for it had gone at some point: then it is cancelled for good,
    /// and a request that comes later starts another computation.
    fn abandoned(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when the last waiter has gone.
    async fn all_gone(&self) {
        loop {
            let notified = self.gone.notified();
            if self.abandoned() {
                return;
            }
            notified.await;
        }
    }
}

/// One request's interest in a computation, withdrawn when dropped.
struct Waiter(Arc<Interest>);

impl Drop for Waiter {
    fn drop(&mut self) {
        if self.0.waiting.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.cancel.cancel();
            self.0.gone.notify_waiters();
        }
    }
}

/// Everything handlers share.
pub struct AppState {
    /// The current snapshot; replaced whole, never changed in place.
    pub catalog: ArcSwap<Catalog>,
    /// Rule packs.
    pub rules: Arc<Rules>,
    /// Where the store is.
    pub store: StoreLocation,
    /// The directory of the MapLibre build, when found.
    pub maplibre: Option<PathBuf>,
    /// When the snapshot in service was loaded, and why the store could not be reloaded
    /// since (the old snapshot is still served), for `/health`.
    pub reload: Mutex<Reload>,
    results: Mutex<VecDeque<(Key, Slot, Arc<Interest>)>>,
    /// How many of them are kept (the oldest is dropped first).
    cached_results: usize,
    /// One permit per core for analyses of other dates and parks: when all are taken, a new
    /// one is answered 503 with Retry-After at once instead of queueing behind them (each
    /// takes seconds and memory on a large store).
    computing: Arc<tokio::sync::Semaphore>,
    /// A lane of its own for today's whole-store analyses, which `/collections`, `/api`, the
    /// tiles and the web map need: they are never starved by other dates.
    current: Arc<tokio::sync::Semaphore>,
    /// Requests waiting for one of the `computing` permits.
    queued: AtomicUsize,
    /// The layers still loading after the start, for `/health`: their collections answer 503
    /// until they are in the snapshot, and analyses wait for every layer.
    loading: tokio::sync::watch::Sender<Vec<Pending>>,
    /// The vector tiles of the snapshot in service, renewed with it.
    pub tiles: TileCache,
}

/// A layer still loading after the server started.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Pending {
    /// Its name (collection id).
    pub layer: String,
    /// How many features it holds.
    pub features: u64,
}

/// At most this many analyses wait for a slot; more are answered 503 at once.
const QUEUE_LENGTH: usize = 8;

/// How long an analysis waits for a slot before it is answered 503.
const QUEUE_WAIT: Duration = Duration::from_secs(15);

/// A place in the analysis queue, given up when dropped.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn join(count: &'a AtomicUsize) -> Option<Queued<'a>> {
        count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < QUEUE_LENGTH).then_some(n + 1)
            })
            .ok()
            .map(|_| Queued(count))
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The state of the store watch.
#[derive(Clone, Debug)]
pub struct Reload {
    /// What the snapshot in service was loaded from.
    pub stamp: Option<StoreStamp>,
    /// When the snapshot in service was loaded.
    pub loaded_at: chrono::DateTime<chrono::Utc>,
    /// The last failure to load a changed store, while the previous snapshot is served.
    pub problem: Option<String>,
}

impl AppState {
    /// State over a loaded catalog.
    pub fn new(
        catalog: Catalog,
        stamp: Option<StoreStamp>,
        rules: Rules,
        store: StoreLocation,
        maplibre: Option<PathBuf>,
    ) -> AppState {
        let catalog = Arc::new(catalog);
        AppState {
            tiles: TileCache::new(&catalog, tile_cache::DEFAULT_MB),
            catalog: ArcSwap::new(catalog),
            rules: Arc::new(rules),
            store,
            maplibre,
            reload: Mutex::new(Reload {
                stamp,
                loaded_at: chrono::Utc::now(),
                problem: None,
            }),
            results: Mutex::new(VecDeque::new()),
            cached_results: CACHED_RESULTS,
            computing: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            )),
            current: Arc::new(tokio::sync::Semaphore::new(1)),
            queued: AtomicUsize::new(0),
            loading: tokio::sync::watch::Sender::new(vec![]),
        }
    }

    /// The same, keeping at most `results` analysis results (at least one).
    pub fn with_analysis_cache(self, results: usize) -> AppState {
        AppState {
            cached_results: results.max(1),
            ..self
        }
    }

    /// Load the store's layers in a thread of its own, the smallest first, each served as
    /// soon as it is loaded; then warm today's analyses and watch the store every `watch`.
    /// A layer that cannot be loaded leaves the server degraded (`/health` says why) with
    /// what was loaded before it.
    pub fn load_in_background(self: &Arc<Self>, watch: Duration, runtime: tokio::runtime::Handle) {
        let state = Arc::clone(self);
        std::thread::Builder::new()
            .name("store-load".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                let loaded = state.store.open().and_then(|store| {
                    Catalog::load_in_steps(&*store, &mut |catalog, pending| {
                        let catalog = Arc::new(catalog);
                        state.tiles.renew(&catalog);
                        state.catalog.store(catalog);
                        state.set_loading(pending);
                    })
                });
                match loaded {
                    Ok(()) => {
                        let c = state.catalog.load();
                        let features: usize = c.layers.iter().map(|l| l.features.len()).sum();
                        let seconds = started.elapsed().as_secs_f64();
                        tracing::info!(
                            layers = c.layers.len(),
                            features,
                            seconds,
                            "catalog loaded"
                        );
                    }
                    Err(e) => {
                        tracing::warn!(
                            "the store could not be loaded whole; serving what was: {e}"
                        );
                        state.reload.lock().expect("reload lock").problem =
                            Some(format!("the store could not be loaded whole: {e}"));
                        state.loading.send_replace(vec![]);
                    }
                }
                state.reload.lock().expect("reload lock").loaded_at = chrono::Utc::now();
                state.warm(&runtime);
                state.watch(watch, runtime);
            })
            .expect("a thread");
    }

    /// Say that these layers are still to load.
    pub fn set_loading(&self, pending: &[LayerInfo]) {
        self.loading.send_replace(
            pending
                .iter()
                .map(|i| Pending {
                    layer: i.name.clone(),
                    features: i.count,
                })
                .collect(),
        );
    }

    /// The layers still loading after the start.
    pub fn loading(&self) -> Vec<Pending> {
        self.loading.borrow().clone()
    }

    /// Resolves once every layer is loaded.
    pub async fn loaded(&self) {
        let mut rx = self.loading.subscribe();
        // The sender lives as long as the state.
        let _ = rx.wait_for(Vec::is_empty).await;
    }

    /// Keep at most `megabytes` MB of tiles per snapshot (0: none).
    pub fn with_tile_cache(mut self, megabytes: f64) -> AppState {
        self.tiles = TileCache::new(&self.catalog.load_full(), megabytes);
        self
    }

    /// The collection of this id in the current snapshot; analysis collections are computed
    /// (or taken from the cache) for `as_of` and `park`.
    pub async fn collection(
        self: &Arc<Self>,
        id: &str,
        as_of: Option<NaiveDate>,
        park: Option<String>,
    ) -> ApiResult<Collection> {
        if let Some(check) = checks::collections().find(|c| c.id() == id) {
            let query = Query::new(as_of.unwrap_or_else(analysis::today)).with_park(park);
            let a = self.analysis(check, query).await?;
            return Ok(Collection::Analysis(a));
        }
        let catalog = self.catalog.load();
        if let Some(l) = catalog.layer(id) {
            return Ok(Collection::Layer(Arc::clone(l)));
        }
        if let Some(p) = self.loading().into_iter().find(|p| p.layer == id) {
            return Err(ApiError::busy(format!(
                "layer '{id}' ({} features) is still loading since the server started; retry in a few seconds (/health lists what is loading)",
                p.features
            )));
        }
        let mut ids: Vec<String> = catalog.layers.iter().map(|l| l.info.name.clone()).collect();
        ids.extend(checks::collections().map(|c| c.id().to_string()));
        Err(ApiError::not_found(format!(
            "no collection '{id}'; collections: {}",
            ids.join(", ")
        )))
    }

    /// A check's result (cached per query and what the check reads of the store), computed
    /// off the async threads.
    pub async fn analysis(
        self: &Arc<Self>,
        check: &'static dyn Analysis,
        query: Query,
    ) -> ApiResult<Arc<AnalysisLayer>> {
        // Never computed over part of the store.
        self.loaded().await;
        let catalog = self.catalog.load_full();
        // A park the store lacks is refused before it takes a place in the cache.
        if query.park.is_some() {
            query
                .check_park(&Context::new(&catalog))
                .map_err(|e| ApiError::bad(e.to_string()))?;
        }
        let key: Key = (inputs(&catalog, check), check.id(), query);
        // A computation dropped just as this request joined it is started again, once.
        for _ in 0..2 {
            let (slot, waiter) = self.slot(check, &key, &catalog);
            let outcome = slot.clone().await;
            drop(waiter);
            match outcome {
                Ok(layer) => return Ok(layer),
                Err(failure) => {
                    // Only results are kept: the next request tries again.
                    self.results
                        .lock()
                        .expect("cache lock")
                        .retain(|(_, s, _)| !s.ptr_eq(&slot));
                    match failure {
                        Failure::Busy(why) => return Err(ApiError::busy(why)),
                        Failure::Refused(why) => return Err(ApiError::bad(why)),
                        Failure::Failed(why) => return Err(ApiError::internal(why)),
                        Failure::Abandoned => continue,
                    }
                }
            }
        }
        Err(ApiError::busy(
            "the analysis was dropped twice as this request joined it; retry",
        ))
    }

    /// A check's result if it is ready within `wait`; else `None`, and the computation goes on
    /// (this request's interest in it is kept until it ends), so that a later request for
    /// the same result is answered from the cache.
    pub async fn analysis_within(
        self: &Arc<Self>,
        check: &'static dyn Analysis,
        query: Query,
        wait: Duration,
    ) -> ApiResult<Option<Arc<AnalysisLayer>>> {
        let state = Arc::clone(self);
        let mut task = tokio::spawn(async move { state.analysis(check, query).await });
        match tokio::time::timeout(wait, &mut task).await {
            Ok(joined) => joined
                .map_err(|e| ApiError::internal(format!("analysis failed: {e}")))?
                .map(Some),
            Err(_) => Ok(None),
        }
    }

    /// The cached result or running computation for `key`, started when there is none, and
    /// this request's interest in it (taken before the computation can look for it).
    fn slot(
        self: &Arc<Self>,
        check: &'static dyn Analysis,
        key: &Key,
        catalog: &Arc<Catalog>,
    ) -> (Slot, Waiter) {
        use futures_util::FutureExt;
        let mut cache = self.results.lock().expect("cache lock");
        // A computation cancelled before it finished is never joined: it ends without a result.
        cache.retain(|(k, slot, interest)| {
            k != key || slot.peek().is_some() || !interest.abandoned()
        });
        if let Some((_, slot, interest)) = cache.iter().find(|(k, _, _)| k == key) {
            return (slot.clone(), interest.join());
        }
        let interest = Arc::new(Interest::default());
        let waiter = interest.join();
        let task = tokio::spawn(Arc::clone(self).compute(
            check,
            key.2.clone(),
            Arc::clone(catalog),
            Arc::clone(&interest),
        ));
        let slot: Slot = async move {
            task.await
                .unwrap_or_else(|e| Err(Failure::Failed(format!("analysis failed: {e}"))))
        }
        .boxed()
        .shared();
        cache.push_back((key.clone(), slot.clone(), interest));
        while cache.len() > self.cached_results {
            cache.pop_front();
        }
        (slot, waiter)
    }

    /// Wait for a place, then compute off the async threads; dropped when every request for
    /// it has gone: while queued, inside the check (which stops at its next look at the
    /// flag), or between the check and its map features.
    async fn compute(
        self: Arc<Self>,
        check: &'static dyn Analysis,
        query: Query,
        catalog: Arc<Catalog>,
        interest: Arc<Interest>,
    ) -> Result<Arc<AnalysisLayer>, Failure> {
        let as_of = query.as_of;
        let permit = tokio::select! {
            p = self.permit(as_of, query.park.is_some()) => p.map_err(|e| Failure::Busy(e.description))?,
            () = interest.all_gone() => {
                tracing::info!(check = check.id(), %as_of, "analysis dropped while queued: every request for it had gone");
                return Err(Failure::Abandoned);
            }
        };
        let rules = Arc::clone(&self.rules);
        tokio::task::spawn_blocking(move || {
            let ctx = Context::new(&catalog).with_cancel(interest.cancel.clone());
            let started = std::time::Instant::now();
            let report = checks::run(check, &ctx, &rules, &query);
            if interest.abandoned() {
                let seconds = started.elapsed().as_secs_f64();
                tracing::info!(check = check.id(), %as_of, seconds, "analysis dropped while running: every request for it had gone");
                return Err(Failure::Abandoned);
            }
            let park = query.park.clone().unwrap_or_default();
            let layer = report
                .map(|r| Arc::new(AnalysisLayer::new(check, query, r, &catalog)))
                .map_err(|e| Failure::Refused(e.to_string()));
            drop(permit);
            let seconds = started.elapsed().as_secs_f64();
            tracing::info!(check = check.id(), %as_of, park, seconds, "analysis computed");
            layer
        })
        .await
        .unwrap_or_else(|e| Err(Failure::Failed(format!("analysis failed: {e}"))))
    }

    /// A place to compute an analysis in. Today's whole-store analyses queue for their own
    /// lane; others take a free permit, or wait in a short queue, or are answered 503 with
    /// Retry-After at once when it is full. Once running, a computation keeps its permit
    /// until it ends.
    async fn permit(
        &self,
        as_of: NaiveDate,
        for_park: bool,
    ) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
        if as_of == analysis::today() && !for_park {
            return Arc::clone(&self.current)
                .acquire_owned()
                .await
                .map_err(|e| ApiError::internal(format!("analysis queue closed: {e}")));
        }
        if let Ok(p) = Arc::clone(&self.computing).try_acquire_owned() {
            return Ok(p);
        }
        let busy = || {
            ApiError::busy(
                "every analysis slot is computing other dates or parks and the queue is full; retry in a few seconds (a result once computed is kept, and a retry of the same request is answered from it)",
            )
        };
        // A short queue (the web map asks for a park's four reports at once); beyond it,
        // 503 at once. A request that gives up while queued frees its place.
        let queued = Queued::join(&self.queued).ok_or_else(busy)?;
        let permit = tokio::time::timeout(QUEUE_WAIT, Arc::clone(&self.computing).acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|e| ApiError::internal(format!("analysis queue closed: {e}")))?;
        drop(queued);
        Ok(permit)
    }

    /// Compute today's analysis collections in the background, so that the first
    /// `/collections` after a (re)load does not wait for them (seconds on a million parcels).
    pub fn warm(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        let state = Arc::clone(self);
        runtime.spawn(async move {
            for check in checks::collections() {
                if state
                    .analysis(check, Query::new(analysis::today()))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
    }

    /// Check the store every `every`; when it changed, load the new snapshot (reusing unchanged
    /// layers), swap it in and warm its analyses. Readers keep the old snapshot until the swap.
    pub fn watch(self: Arc<Self>, every: Duration, runtime: tokio::runtime::Handle) {
        std::thread::Builder::new()
            .name("store-watch".into())
            .spawn(move || loop {
                std::thread::sleep(every);
                let current = self.catalog.load_full();
                let served = self.reload.lock().expect("reload lock").stamp.clone();
                let opened = self.store.open().and_then(|s| s.stamp().map(|v| (s, v)));
                match opened {
                    Ok((store, stamp)) if Some(&stamp) != served.as_ref() => {
                        let started = std::time::Instant::now();
                        // Another file (a restored backup, a copy built elsewhere): nothing
                        // of the old snapshot is reused.
                        let same_file = served.as_ref().is_some_and(|s| s.file == stamp.file && s.token.is_some());
                        let previous = same_file.then_some(&*current);
                        match Catalog::reload(&*store, previous) {
                            Ok(next) => {
                                tracing::info!(version = stamp.generation, token = stamp.token.as_deref().unwrap_or("-"), seconds = started.elapsed().as_secs_f64(), "store changed: new snapshot in service");
                                *self.reload.lock().expect("reload lock") = Reload {
                                    stamp: Some(stamp),
                                    loaded_at: chrono::Utc::now(),
                                    problem: None,
                                };
                                // Results whose inputs the write left alone stay.
                                self.results.lock().expect("cache lock").retain(|((read, id, _), _, _)| {
                                    same_file && checks::find(id).is_some_and(|c| inputs(&next, c) == *read)
                                });
                                let next = Arc::new(next);
                                self.tiles.renew(&next);
                                self.catalog.store(next);
                                self.warm(&runtime);
                            }
                            Err(e) => {
                                tracing::warn!("store changed but could not be loaded, still serving the previous snapshot: {e}");
                                self.reload.lock().expect("reload lock").problem = Some(format!("the changed store could not be loaded: {e}"));
                            }
                        }
                    }
                    // Readable and what is served: any earlier problem has passed.
                    Ok(_) => self.reload.lock().expect("reload lock").problem = None,
                    Err(e) => {
                        tracing::warn!("cannot read the store, still serving the previous snapshot: {e}");
                        self.reload.lock().expect("reload lock").problem = Some(format!("the store cannot be read: {e}"));
                    }
                }
            })
            .expect("a thread");
    }
}
