//! The accept loop (连接管理): HTTP/1.1 connections with a header-read timeout (which also
//! closes idle keep-alive connections), a connection limit that answers 503 instead of
//! failing `accept`, and shutdown on SIGTERM/SIGINT — graceful for a few seconds, at once on
//! a second signal.

use super::auth::ClientAddr;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// How connections are bounded.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Open connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, counted from the moment the
    /// connection opened or its previous answer was sent (so idle connections close too).
    pub header_read: Duration,
    /// How long requests under way may finish after the first stop signal.
    pub grace: Duration,
}

/// File descriptors kept free for the store, GDAL and the 503 answers.
const RESERVED_FDS: u64 = 64;

/// The default connection limit: what the process's file-descriptor limit allows, less a
/// reserve, and at most 10,000.
pub fn default_max_connections() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur
    } else {
        1024
    };
    soft.saturating_sub(RESERVED_FDS).clamp(16, 10_000) as usize
}

/// At most this many refusals are written at once; beyond, connections are closed at once.
const REFUSALS: usize = 64;

const BUSY: &str = "{\"code\":\"ServiceUnavailable\",\"description\":\"the server has too many open connections; retry in a few seconds\"}";

/// Serve `app` on `listener` until a stop signal.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS));
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        // Out of descriptors or a connection reset before accept: wait a
                        // little instead of spinning, and keep serving.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                match Arc::clone(&connections).try_acquire_owned() {
                    Ok(permit) => {
                        let app = app.clone();
                        let stop = stop_rx.clone();
                        tokio::spawn(async move {
                            connection(stream, peer, app, limits.header_read, stop).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
                            tokio::spawn(async move {
                                refuse(stream).await;
                                drop(permit);
                            });
                        }
                    }
                }
            }
        }
    }
    drop(listener);
    tracing::info!(
        "shutting down: finishing requests under way (at most {} s; a second signal stops at once)",
        limits.grace.as_secs()
    );
    tokio::spawn(async {
        stop_signal().await;
        tracing::warn!("second stop signal: stopping at once");
        std::process::exit(130);
    });
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.grace, connections.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still under way after {} s were cut off",
            limits.grace.as_secs()
        );
    }
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}

/// Serve one connection until it closes, times out, or the server stops; every request
/// carries the client's address ([`ClientAddr`]).
async fn connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    app: Router,
    header_read: Duration,
    mut stop: watch::Receiver<bool>,
) {
    use tower::ServiceExt;
    let app = app.map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ClientAddr(peer));
        req
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!("connection ended: {e}");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Answer 503 with Retry-After on a connection over the limit, and close it.
///
/// The answer is written at once, then what the client sends is read and dropped until it
/// closes (a lingering close): closing with its request unread would reset the connection,
/// and the client could lose the answer. A client that sends nothing holds its place only
/// briefly, so that idle sockets do not crowd out the refusals of real requests.
async fn refuse(mut stream: TcpStream) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 2\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BUSY}",
        BUSY.len()
    );
    let written = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        return;
    }
    let mut buf = [0u8; 4096];
    let mut drained = 0usize;
    let mut quiet_for = Duration::from_millis(150);
    let until = tokio::time::Instant::now() + Duration::from_secs(2);
    while drained < 1 << 20 && tokio::time::Instant::now() < until {
        match tokio::time::timeout(quiet_for, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                drained += n;
                quiet_for = Duration::from_secs(1);
            }
            _ => break,
        }
    }
}
