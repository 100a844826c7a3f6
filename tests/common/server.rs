//! A real `landwatch serve` on a free loopback port, and a small HTTP client for it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<String>>,
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8 body")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(500)])
            )
        })
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

impl Server {
    /// Serve `store` (store changes are looked for every 0.2 s).
    pub fn start(store: &Path) -> Server {
        Server::start_with(store, &[])
    }

    /// Serve `store` with more `landwatch serve` arguments, once its layers are loaded.
    pub fn start_with(store: &Path, extra: &[&str]) -> Server {
        let server = Server::listening(store, extra);
        // The layers load in the background once the server listens; tests ask for them.
        server.wait_loaded();
        server
    }

    /// Serve `store`, returning as soon as the server listens (its layers still loading).
    pub fn listening(store: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_landwatch"))
            .args(["serve", "--store"])
            .arg(store)
            .args(["--bind", "127.0.0.1:0", "--watch", "0.2"])
            .args(extra)
            .env("RUST_LOG", "info")
            .current_dir(super::root())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("landwatch serve starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut seen = String::new();
        let base = loop {
            let line = match lines.next() {
                Some(Ok(l)) => l,
                _ => panic!("landwatch serve stopped before listening:\n{seen}"),
            };
            if let Some(rest) = line.split(" on http://").nth(1) {
                if line.starts_with("landwatch serving") {
                    break format!("http://{}", rest.split(' ').next().expect("address"));
                }
            }
            seen.push_str(&line);
            seen.push('\n');
        };
        let log = Arc::new(Mutex::new(seen));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut l = sink.lock().expect("log");
                l.push_str(&line);
                l.push('\n');
            }
        });
        Server { child, base, log }
    }

    /// The ids of `/collections`, in its order.
    pub fn collection_ids(&self) -> Vec<String> {
        self.json("/collections")["collections"]
            .as_array()
            .expect("collections")
            .iter()
            .map(|c| c["id"].as_str().expect("an id").to_string())
            .collect()
    }

    /// Wait until `/health` no longer says layers are loading.
    pub fn wait_loaded(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while self.json("/health")["status"] == "loading" {
            assert!(
                std::time::Instant::now() < deadline,
                "still loading after 120 s:\n{}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// GET `path` (relative to the server) with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        get(&format!("{}{path}", self.base), headers)
    }

    /// POST a GeoJSON body to `path`.
    pub fn post(&self, path: &str, body: &[u8]) -> Reply {
        post(
            &format!("{}{path}", self.base),
            "application/geo+json",
            body,
        )
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[])
    }

    /// GET `path`, insisting on 200, as JSON.
    pub fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path);
        assert_eq!(
            r.status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send the server a signal (`TERM`, `INT`, `KILL`).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(ok.success());
    }

    /// Wait until the server has exited, at most `limit`; its status, or `None` if it runs.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            if started.elapsed() >= limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ask the server to stop (SIGTERM) and wait for it.
    pub fn terminate(mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_for_exit(Duration::from_secs(20))
            .expect("the server stops within 20 s of SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET an absolute URL; any status is an answer, only a transport failure panics.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = ureq::get(url).timeout(Duration::from_secs(120));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    };
    reply(resp)
}

/// POST a body to an absolute URL; any status is an answer, only a transport failure panics.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> Reply {
    try_post(url, content_type, body).unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

/// POST a body to an absolute URL: the answer, whatever its status, or the transport failure.
pub fn try_post(url: &str, content_type: &str, body: &[u8]) -> Result<Reply, String> {
    let req = ureq::post(url)
        .timeout(Duration::from_secs(120))
        .set("Content-Type", content_type);
    match req.send_bytes(body) {
        Ok(r) => Ok(reply(r)),
        Err(ureq::Error::Status(_, r)) => Ok(reply(r)),
        Err(e) => Err(e.to_string()),
    }
}

fn reply(resp: ureq::Response) -> Reply {
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .map(|n| {
            let v = resp.header(&n).unwrap_or("").to_string();
            (n.to_lowercase(), v)
        })
        .collect();
    let mut body = vec![];
    resp.into_reader()
        .read_to_end(&mut body)
        .expect("read body");
    Reply {
        status,
        headers,
        body,
    }
}

/// Any method to an absolute URL, with headers and a body (none when empty); any status is
/// an answer, only a transport failure panics.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut req = ureq::request(method, url).timeout(Duration::from_secs(120));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let sent = if body.is_empty() {
        req.call()
    } else {
        req.send_bytes(body)
    };
    match sent {
        Ok(r) => reply(r),
        Err(ureq::Error::Status(_, r)) => reply(r),
        Err(e) => panic!("{method} {url}: {e}"),
    }
}

impl Server {
    /// `method` `path` with a bearer token (when given), more headers and a body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(b) = &bearer {
            all.push(("Authorization", b));
        }
        send(method, &format!("{}{path}", self.base), &all, body)
    }
}
