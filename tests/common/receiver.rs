//! A webhook receiver for tests: an HTTP server on 127.0.0.1 that keeps every POST (headers and
//! body), checks its `X-Jitdesk-Signature` with the secret it is given (401 when wrong or missing),
//! drops a repeat of an `X-Jitdesk-Delivery` it already took (answering 200, as a real receiver
//! would), and can be told to fail the next N posts (500), to be down (every connection closed at
//! once) or to hold its answers (a post taken, its answer kept back until released, as a receiver
//! whose answer is lost when its sender dies). It runs on a thread of its own, so sync and async
//! tests use it alike; it stops when dropped.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use hmac::{Hmac, Mac};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use sha2::Sha256;
use tokio::net::TcpListener;

/// One POST the receiver took.
#[derive(Debug, Clone)]
pub struct Post {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Post {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().expect("a text header").to_string())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Inner {
    secret: Option<String>,
    posts: Mutex<Vec<Post>>,
    seen: Mutex<HashSet<String>>,
    fail_next: AtomicU32,
    down: AtomicBool,
    hold: AtomicBool,
    held: AtomicU32,
    repeats: AtomicU32,
    refused: AtomicU32,
}

/// The receiver, listening until dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// `sha256=` and the hex HMAC-SHA256 of `body` with `secret`, as the receiver expects it.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl Receiver {
    /// A receiver that checks signatures with `secret` (none: takes any).
    pub fn start(secret: Option<&str>) -> Receiver {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let inner = Arc::new(Inner { secret: secret.map(Into::into), ..Inner::default() });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = inner.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                let app = axum::Router::new().fallback(take).with_state(state.clone());
                let accepting = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else { continue };
                        if state.down.load(Ordering::SeqCst) {
                            drop(stream);
                            continue;
                        }
                        let service = TowerToHyperService::new(app.clone());
                        tokio::spawn(async move {
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                };
                tokio::select! {
                    () = accepting => {}
                    _ = stopped => {}
                }
            });
        });
        Receiver { addr, inner, _stop: stop }
    }

    /// `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The posts taken, repeats dropped, oldest first.
    pub fn posts(&self) -> Vec<Post> {
        self.inner.posts.lock().unwrap().clone()
    }

    /// The posts once there are at least `n`, waiting up to a minute (a noisy machine is slow).
    pub fn wait_for(&self, n: usize) -> Vec<Post> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let posts = self.posts();
            if posts.len() >= n || Instant::now() > deadline {
                return posts;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Answers the next `n` posts with 500.
    pub fn fail_next(&self, n: u32) {
        self.inner.fail_next.store(n, Ordering::SeqCst);
    }

    /// Down: every new connection is closed before a byte is read. Up again with `false`.
    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }

    /// Holding: every post is taken as usual, but its answer waits until `hold(false)`.
    pub fn hold(&self, hold: bool) {
        self.inner.hold.store(hold, Ordering::SeqCst);
    }

    /// How many posts had their answer held.
    pub fn held(&self) -> u32 {
        self.inner.held.load(Ordering::SeqCst)
    }

    /// How many posts repeated a delivery already taken.
    pub fn repeats(&self) -> u32 {
        self.inner.repeats.load(Ordering::SeqCst)
    }

    /// How many posts had a wrong or missing signature.
    pub fn refused(&self) -> u32 {
        self.inner.refused.load(Ordering::SeqCst)
    }
}

async fn take(State(inner): State<Arc<Inner>>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let status = judge(&inner, uri, headers, body);
    if inner.hold.load(Ordering::SeqCst) {
        inner.held.fetch_add(1, Ordering::SeqCst);
        while inner.hold.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    status
}

/// Takes one post: refused, dropped as a repeat, or kept.
fn judge(inner: &Inner, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    if inner.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    if let Some(secret) = &inner.secret {
        let given = headers.get("x-jitdesk-signature").and_then(|v| v.to_str().ok());
        if given != Some(sign(secret, &body).as_str()) {
            inner.refused.fetch_add(1, Ordering::SeqCst);
            return StatusCode::UNAUTHORIZED;
        }
    }
    let key = headers.get("x-jitdesk-delivery").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    if !inner.seen.lock().unwrap().insert(key) {
        inner.repeats.fetch_add(1, Ordering::SeqCst);
        return StatusCode::OK;
    }
    inner.posts.lock().unwrap().push(Post { path: uri.path().to_string(), headers, body: body.to_vec() });
    StatusCode::OK
}
