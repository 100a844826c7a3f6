//! Who is asking (认证): bearer tokens checked against the store's accounts, and the roles
//! routes need.
//!
//! Reads need nothing unless the server is private (`serve --private`); writes name the
//! role they need with [`require`]. A token is checked with Argon2 once; after that, a
//! keyed BLAKE2b digest of it is kept in memory and compared in constant time, so a read
//! behind a token costs microseconds, not an Argon2 hash. The accounts are read again from
//! the store at most once a second, so a revoked token stops working within a second.
//! Refused tokens are logged with the client's address, answered after a pause, and an
//! address that keeps failing is shut out for a while (429 with `Retry-After`).

use super::error::ApiError;
use crate::accounts::{self, AccessRole, PresentedToken};
use crate::store::{StoreLocation, User};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use blake2::digest::{consts::U32, Mac};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

type Digest = blake2::Blake2bMac<U32>;

/// The account a request was made with, once its token has been checked.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The account's name.
    pub name: String,
    /// Its role.
    pub role: AccessRole,
}

/// What the request extensions carry for handlers: the client and, with a good token, its
/// account.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The client's address (the peer of the connection: a reverse proxy's, behind one).
    pub address: IpAddr,
    /// The account, when a valid token came with the request.
    pub principal: Option<Principal>,
}

/// The client's address, set on every request by the accept loop.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// Paths a private server serves without a token: the map page and its code, fonts and
/// icon (none holds data; the page asks for a token before it loads any), and `/health`.
const OPEN_PATHS: [&str; 5] = ["/", "/health", "/favicon.ico", "/assets/", "/fonts/"];

fn is_open(path: &str) -> bool {
    OPEN_PATHS
        .iter()
        .any(|p| path == *p || (p.ends_with('/') && p.len() > 1 && path.starts_with(p)))
}

/// How long a refused token is answered after: enough to make guessing slow, short
/// enough that a mistyped token is not a punishment.
const REFUSAL_PAUSE: Duration = Duration::from_millis(300);
/// Failures an address may have before it is shut out.
const FREE_FAILURES: u32 = 5;
/// The longest an address is shut out.
const MAX_SHUT_OUT: Duration = Duration::from_secs(300);
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(900);
/// How often the accounts are read again from the store.
const ACCOUNTS_TTL: Duration = Duration::from_secs(1);
/// How soon an unknown key makes the accounts be read again.
const ACCOUNTS_RETRY: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
    until: Option<Instant>,
}

#[derive(Default)]
struct Accounts {
    by_key: HashMap<String, User>,
    read_at: Option<Instant>,
}

/// The token checker the server shares.
pub struct Gate {
    store: StoreLocation,
    private: bool,
    accounts: Mutex<Accounts>,
    /// Token key → keyed digest of the token that passed Argon2.
    verified: Mutex<HashMap<String, [u8; 32]>>,
    digest_key: [u8; 32],
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

/// Why a token was refused (logged; the client learns only what it needs).
enum Refusal {
    Malformed,
    Wrong,
    Revoked(String, String),
}

impl Gate {
    /// A gate over the store's accounts; `private` closes reads to requests without a
    /// viewer's token.
    pub fn new(store: StoreLocation, private: bool) -> Gate {
        Gate {
            store,
            private,
            accounts: Mutex::default(),
            verified: Mutex::default(),
            digest_key: rand::random(),
            failures: Mutex::default(),
        }
    }

    fn digest(&self, token: &str) -> [u8; 32] {
        let mut mac = <Digest as Mac>::new_from_slice(&self.digest_key).expect("a 32-byte key");
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The account of `key`, from the accounts read at most a second ago; a key not among
    /// them is looked for again at once (an account made a moment ago), at most every
    /// [`ACCOUNTS_RETRY`].
    fn account(&self, key: &str) -> Result<Option<User>, ApiError> {
        let mut accounts = self.accounts.lock().expect("accounts lock");
        let age = accounts.read_at.map(|t| t.elapsed());
        let stale = age.is_none_or(|a| {
            a >= ACCOUNTS_TTL || (a >= ACCOUNTS_RETRY && !accounts.by_key.contains_key(key))
        });
        if stale {
            let users = self
                .store
                .open_accounts()
                .and_then(|s| s.users())
                .map_err(|e| ApiError::internal(format!("the accounts could not be read: {e}")))?;
            accounts.by_key = users
                .into_iter()
                .map(|u| (u.token_key.clone(), u))
                .collect();
            accounts.read_at = Some(Instant::now());
        }
        Ok(accounts.by_key.get(key).cloned())
    }

    /// Check a token: from the digest kept for it, else with Argon2 (off the async threads).
    async fn check(self: &Arc<Self>, token: &str) -> Result<Result<Principal, Refusal>, ApiError> {
        let Ok(presented) = PresentedToken::parse(token) else {
            return Ok(Err(Refusal::Malformed));
        };
        let key = presented.key.to_string();
        let gate = Arc::clone(self);
        let account = tokio::task::spawn_blocking(move || gate.account(&key))
            .await
            .map_err(|e| ApiError::internal(format!("the account check failed: {e}")))??;
        let digest = self.digest(token);
        let known = self
            .verified
            .lock()
            .expect("verified lock")
            .get(presented.key)
            .is_some_and(|d| bool::from(d.ct_eq(&digest)));
        let good = known || {
            let hash = account.as_ref().map_or_else(
                || accounts::decoy_hash().to_string(),
                |u| u.token_hash.clone(),
            );
            let secret = presented.secret.to_string();
            let good = tokio::task::spawn_blocking(move || accounts::verify_secret(&hash, &secret))
                .await
                .map_err(|e| ApiError::internal(format!("the token check failed: {e}")))?;
            good && account.is_some()
        };
        let Some(user) = account.filter(|_| good) else {
            return Ok(Err(Refusal::Wrong));
        };
        if let Some(at) = &user.revoked_at {
            self.verified
                .lock()
                .expect("verified lock")
                .remove(&user.token_key);
            return Ok(Err(Refusal::Revoked(user.name.clone(), at.clone())));
        }
        if !known {
            self.verified
                .lock()
                .expect("verified lock")
                .insert(user.token_key.clone(), digest);
        }
        Ok(Ok(Principal {
            name: user.name,
            role: user.role,
        }))
    }

    /// When `address` may try again, if it is shut out now.
    fn shut_out(&self, address: IpAddr) -> Option<Duration> {
        let mut failures = self.failures.lock().expect("failures lock");
        let f = failures.get(&address)?;
        if f.last.elapsed() >= FORGET_AFTER {
            failures.remove(&address);
            return None;
        }
        f.until
            .and_then(|u| u.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    fn failed(&self, address: IpAddr) -> Failures {
        let mut failures = self.failures.lock().expect("failures lock");
        let now = Instant::now();
        let f = failures.entry(address).or_insert(Failures {
            count: 0,
            last: now,
            until: None,
        });
        if f.last.elapsed() >= FORGET_AFTER {
            f.count = 0;
        }
        f.count += 1;
        f.last = now;
        if f.count > FREE_FAILURES {
            let doubling = (f.count - FREE_FAILURES - 1).min(16);
            f.until = Some(now + Duration::from_secs(1 << doubling).min(MAX_SHUT_OUT));
        }
        *f
    }

    fn succeeded(&self, address: IpAddr) {
        self.failures
            .lock()
            .expect("failures lock")
            .remove(&address);
    }
}

/// The account a write needs, or the 401 (no valid token) or 403 (a role too low) that
/// refuses it; `what` says what was asked, in words.
pub fn require<'a>(
    caller: &'a Caller,
    needed: AccessRole,
    what: &str,
) -> Result<&'a Principal, ApiError> {
    match &caller.principal {
        None => Err(ApiError::unauthorized(format!(
            "{what} needs an account with the role {needed} or higher: send Authorization: Bearer TOKEN (an admin makes one with landwatch user add NAME --role {needed})"
        ))),
        Some(p) if !p.role.allows(needed) => Err(ApiError::forbidden(format!(
            "{what} needs the role {needed} or higher; the account '{}' has the role {} ({})",
            p.name,
            p.role,
            p.role.label_zh()
        ))),
        Some(p) => Ok(p),
    }
}

/// The middleware: read the bearer token (if any), refuse a bad one, close a private
/// server's reads to requests without one, and leave a [`Caller`] for the handlers.
pub async fn identify(State(gate): State<Arc<Gate>>, mut req: Request, next: Next) -> Response {
    let address = req
        .extensions()
        .get::<ClientAddr>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |a| a.0.ip());
    let principal = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => match identify_token(&gate, address, value.as_bytes()).await {
            Ok(p) => Some(p),
            Err(e) => return e.into_response(),
        },
    };
    if gate.private && principal.is_none() && !is_open(req.uri().path()) {
        return ApiError::unauthorized(
            "this server is private: send Authorization: Bearer TOKEN with a viewer's token or higher (landwatch user add NAME --role viewer)",
        )
        .into_response();
    }
    req.extensions_mut().insert(Caller { address, principal });
    next.run(req).await
}

async fn identify_token(
    gate: &Arc<Gate>,
    address: IpAddr,
    value: &[u8],
) -> Result<Principal, ApiError> {
    if let Some(wait) = gate.shut_out(address) {
        let seconds = wait.as_secs().max(1);
        return Err(ApiError::too_many_requests(
            format!("too many refused tokens from {address}: try again in {seconds} s"),
            seconds,
        ));
    }
    let token = std::str::from_utf8(value)
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let refusal = match token {
        Some(t) => match gate.check(t).await? {
            Ok(p) => {
                gate.succeeded(address);
                return Ok(p);
            }
            Err(r) => r,
        },
        None => Refusal::Malformed,
    };
    let f = gate.failed(address);
    let (why, told) = match &refusal {
        Refusal::Malformed => (
            "not a bearer token".to_string(),
            "the Authorization header must be 'Bearer TOKEN' with the token landwatch user add printed (lw_…)".to_string(),
        ),
        Refusal::Wrong => (
            "no account has this token".to_string(),
            "the token is not valid: check that it was copied whole, or ask an admin for a new one".to_string(),
        ),
        Refusal::Revoked(name, at) => (
            format!("the account '{name}' was revoked at {at}"),
            format!("the token's account '{name}' was revoked at {at}; ask an admin for a new one"),
        ),
    };
    tracing::warn!(%address, failures = f.count, "refused a token: {why}");
    tokio::time::sleep(REFUSAL_PAUSE).await;
    Err(ApiError::unauthorized(told))
}

/// `GET /account`: the account of the token sent (its name and role), for the web map to
/// show who is signed in and offer the forms the role may use; 401 without a valid token.
pub async fn account(
    axum::extract::Extension(caller): axum::extract::Extension<Caller>,
) -> Result<Response, ApiError> {
    let p = require(&caller, AccessRole::Viewer, "naming the account")?;
    let body =
        serde_json::json!({"name": p.name, "role": p.role.as_str(), "role_zh": p.role.label_zh()});
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_map_and_its_code_are_open_on_a_private_server() {
        for open in ["/", "/health", "/assets/app.js", "/fonts/a/0-255.pbf"] {
            assert!(is_open(open), "{open}");
        }
        for closed in [
            "/collections",
            "/collections/parcels/items",
            "/tiles/parcels/1/2/3.mvt",
            "/api",
            "/analysis/idle",
            "/assetsx",
        ] {
            assert!(!is_open(closed), "{closed}");
        }
    }

    #[test]
    fn an_address_that_keeps_failing_is_shut_out_for_longer_each_time() {
        let gate = Gate::new(StoreLocation::gpkg("none.gpkg"), false);
        let a: IpAddr = "10.0.0.7".parse().unwrap();
        let b: IpAddr = "10.0.0.8".parse().unwrap();
        for _ in 0..FREE_FAILURES {
            gate.failed(a);
            assert!(gate.shut_out(a).is_none());
        }
        gate.failed(a);
        let first = gate.shut_out(a).expect("shut out");
        assert!(first <= Duration::from_secs(1));
        gate.failed(a);
        let second = gate.shut_out(a).expect("shut out");
        assert!(second > first, "{second:?} > {first:?}");
        assert!(gate.shut_out(b).is_none(), "per address");
        gate.succeeded(a);
        assert!(gate.shut_out(a).is_none());
    }
}
