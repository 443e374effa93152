//! The outbox's figures (notices leaving the process for a webhook), each beside a baseline
//! measured in the same run, printed in one table at the end.
//!
//! Run with `cargo bench --bench outbox` (`-- commit drain idle` runs only the figures named). A
//! plain harness: it prints the machine, a line per figure, then the table. Every webhook post goes
//! to a receiver in this process (hyper on 127.0.0.1, on a thread and runtime of its own) that
//! notes when each post's body is in; the outbox's notices are in jitdesk's JSON, signed with the
//! channel's secret (checked on the first post), and the couriers open a connection per post, as
//! the baselines' direct posts do.
//!
//! 1. Commit to webhook received: an engine in this process on a fresh store (a customer with one
//!    approver, a publisher, a manually approved application, the customer's webhook channel)
//!    running its delivery worker through `notify::Couriers`; requests created one at a time, each
//!    timed from the command's return (its commit is durable) to its post's arrival. Baseline: a
//!    post of the same body, signed the same way, sent directly by a hyper client, timed from its
//!    sending to its arrival, interleaved with the outbox's (the order alternating) so noise hits
//!    both alike. The ratio of the p99s is what the outbox adds.
//! 2. Drain: 1,000 requests created (in one batch) with no worker running, so 1,000 deliveries are
//!    queued; then the worker starts, and the time from `deliver_with` to the 1,000th post's
//!    arrival gives the rate. Baseline: 1,000 posts sent directly with the worker's concurrency (8
//!    in flight). The line also says how long until every delivery was recorded as sent.
//! 3. Idle: `jitdesk serve` (the release binary) on a store with channels, whose earlier notices
//!    were all delivered, so nothing is queued; once it has settled, its CPU ticks over 10 s
//!    (user and system, from /proc/PID/stat), and the posts the receiver got meanwhile; then one
//!    request through its socket, whose post must arrive, to show the worker was asleep, not gone.
//!
//! Reading: a p99 over a few hundred samples is the second-slowest or so, so one stall of a noisy
//! machine shows there; the load average printed at the start says how far to trust it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use jitdesk::api::paths;
use jitdesk::domain::delivery::{ChannelKind, Delivery, DeliveryState, Retry, Secret, WebhookFormat};
use jitdesk::domain::rules::{Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser};
use jitdesk::domain::time_style::TimeStyle;
use jitdesk::domain::{ApprovalMode, License, Paging, Period, TenantKind};
use jitdesk::engine::{AddChannel, Batch, DeliveryFilter, Engine, OpenMode, SystemClock, Viewer};
use jitdesk::notify::Couriers;
use serde_json::json;
use sha2::Sha256;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

mod common;
use common::load::Conn;
use common::{Line, Table, clock_ticks_per_second, cpu_ticks, describe_machine, jitdesk, msf, p50, p99};
use common::{first_line, ms, per_second, terminate};

const BIN: &str = env!("CARGO_BIN_EXE_jitdesk");
const CUSTOMER: &str = "contoso";
const PUBLISHER: &str = "fabrikam";
const APPROVER: &str = "alice@contoso.com";
const APP: &str = "bench-crm";
const SECRET: &str = "bench-webhook-secret";
/// Requests timed one at a time, after a few that warm the path up.
const SAMPLES: usize = 300;
const WARMUP: usize = 10;
/// Deliveries queued before the worker starts.
const DRAIN: usize = 1000;
/// The worker's sends in flight at once, which the drain's baseline matches.
const IN_FLIGHT: usize = 8;
/// Notices delivered before the idle service starts, so its store has a history but owes nothing.
const DELIVERED: usize = 20;
/// How long the idle service is left before its CPU is read, and the window it is read over.
const SETTLE: Duration = Duration::from_secs(2);
const IDLE: Duration = Duration::from_secs(10);
/// How long a post may take to arrive before the bench gives up on it.
const PATIENCE: Duration = Duration::from_secs(60);

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("jitdesk-outbox-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory under the target dir");
    let dir = dir.path();
    describe_machine(dir, BIN);
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let chosen = |figure: &str| wanted.is_empty() || wanted.iter().any(|w| figure.contains(w.as_str()));

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let mut receiver = Receiver::start();
    let mut table = Table::default();
    runtime.block_on(async {
        if chosen("commit") {
            commit_to_webhook(dir, &mut receiver, &mut table).await;
        }
        if chosen("drain") {
            drain(dir, &mut receiver, &mut table).await;
        }
        if chosen("idle") {
            idle(dir, &mut receiver, &mut table).await;
        }
    });
    println!();
    table.print();
}

// ---------------------------------------------------------------------------------------------------
// The receiver, and posts sent directly

/// One post the receiver took: when its whole body was in, and what it carried.
struct Arrival {
    at: Instant,
    key: String,
    signature: String,
    body: Bytes,
}

impl Arrival {
    /// The request its (first) notice is about, from jitdesk's JSON.
    fn request(&self) -> Option<u64> {
        let json: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        json["notices"][0]["request"]["id"].as_u64()
    }
}

/// An HTTP/1.1 server on 127.0.0.1 that answers every post 200 and hands its arrival to the bench;
/// it stops when dropped.
struct Receiver {
    addr: SocketAddr,
    arrivals: mpsc::UnboundedReceiver<Arrival>,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the receiver's address");
        let (tx, arrivals) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                let accepting = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else { continue };
                        let _ = stream.set_nodelay(true);
                        let tx = tx.clone();
                        let service = hyper::service::service_fn(move |request: Request<_>| {
                            let tx = tx.clone();
                            async move { take(request, &tx).await }
                        });
                        tokio::spawn(
                            hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service),
                        );
                    }
                };
                tokio::select! {
                    () = accepting => {}
                    _ = stopped => {}
                }
            });
        });
        Receiver { addr, arrivals, _stop: stop }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The next post to arrive; a post that never comes ends the bench, saying so.
    async fn next(&mut self) -> Arrival {
        match tokio::time::timeout(PATIENCE, self.arrivals.recv()).await {
            Ok(Some(arrival)) => arrival,
            _ => panic!("no post reached the receiver within {} s", PATIENCE.as_secs()),
        }
    }

    /// The posts that arrived and were not taken yet.
    fn unread(&mut self) -> usize {
        std::iter::from_fn(|| self.arrivals.try_recv().ok()).count()
    }
}

async fn take(
    request: Request<hyper::body::Incoming>,
    arrivals: &mpsc::UnboundedSender<Arrival>,
) -> Result<Response<Empty<Bytes>>, hyper::Error> {
    let header = |name: &str| {
        request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    };
    let (key, signature) = (header("x-jitdesk-delivery"), header("x-jitdesk-signature"));
    let body = request.into_body().collect().await?.to_bytes();
    let _ = arrivals.send(Arrival { at: Instant::now(), key, signature, body });
    Ok(Response::new(Empty::new()))
}

/// `sha256=` and the hex HMAC-SHA256 of `body` with `secret`, the signature a receiver checks.
fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// One signed post of `body` on a new connection, as the webhook courier makes it; its status.
async fn post_directly(addr: SocketAddr, key: &str, body: Bytes) -> u16 {
    let tcp = TcpStream::connect(addr).await.expect("the receiver accepts a connection");
    tcp.set_nodelay(true).expect("TCP_NODELAY");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.expect("an HTTP/1.1 handshake");
    let driver = tokio::spawn(connection);
    let request = Request::post("/hook")
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .header("x-jitdesk-delivery", key)
        .header("x-jitdesk-signature", sign(SECRET, &body))
        .body(Full::new(body))
        .expect("a well-formed request");
    let status = sender.send_request(request).await.expect("an answer").status().as_u16();
    driver.abort();
    status
}

// ---------------------------------------------------------------------------------------------------
// The store: who asks, who decides, where notices go

fn operator() -> Actor {
    Actor::Operator("bench".into())
}

fn user(upn: &str) -> Actor {
    Actor::User(upn.into())
}

/// The i-th publisher's user who asks: one may have one pending request per application, so each
/// request has an asker of its own.
fn asker(i: usize) -> String {
    format!("dev{i:04}@fabrikam.com")
}

/// A fresh store at `path` with a customer (its approver and its webhook to `url`), a publisher
/// with `askers` users and a manually approved application.
async fn open_directory(path: &Path, url: &str, askers: usize) -> Engine {
    let engine = Engine::open(path, OpenMode::Create, Arc::new(SystemClock)).await.expect("a new store");
    let customer =
        NewTenant { id: CUSTOMER.into(), kind: TenantKind::Customer, name: None, license: Some(License::P2) };
    engine.run(&operator(), customer).await.expect("the customer");
    let publisher =
        NewTenant { id: PUBLISHER.into(), kind: TenantKind::Publisher, name: None, license: None };
    engine.run(&operator(), publisher).await.expect("the publisher");
    let approver = NewUser {
        upn: APPROVER.into(),
        tenant: CUSTOMER.into(),
        name: None,
        admin: true,
        login: None,
        object_id: None,
    };
    engine.run(&operator(), approver).await.expect("the approver");
    let users = (0..askers)
        .map(|i| {
            let upn = asker(i);
            (
                operator(),
                NewUser {
                    upn,
                    tenant: PUBLISHER.into(),
                    name: None,
                    admin: false,
                    login: None,
                    object_id: None,
                },
            )
        })
        .collect();
    let made = engine.run(&operator(), Batch(users)).await.expect("the askers");
    assert!(made.iter().all(Result::is_ok), "every asker is made");
    let offer = NewOffer {
        id: "bench-offer".into(),
        name: "Bench".into(),
        jit_available: true,
        roles: vec!["Owner".into()],
    };
    engine.run(&user(&asker(0)), offer).await.expect("the offer");
    let deploy = Deployment {
        name: APP.into(),
        offer: "bench-offer".into(),
        mode: Some(ApprovalMode::ManualApprove),
        approvers: vec![APPROVER.into()],
        ..Deployment::default()
    };
    engine.run(&user(APPROVER), deploy).await.expect("the application");
    // A plain http:// webhook is the operator's to add.
    let kind = ChannelKind::Webhook {
        url: url.into(),
        format: WebhookFormat::Jitdesk,
        secret: Secret(SECRET.into()),
    };
    engine.run(&operator(), AddChannel { tenant: CUSTOMER.into(), kind }).await.expect("the webhook");
    engine
}

/// A request for the approver to decide: one notice, one delivery over the customer's webhook.
fn ask() -> NewRequest {
    NewRequest {
        app: APP.into(),
        roles: vec!["Owner".into()],
        start: None,
        duration: Period::from_hours(1),
        justification: "INC-1: outbox benchmark".into(),
        ticket: None,
    }
}

/// Starts the engine's delivery worker with the couriers `jitdesk serve` uses.
fn start_worker(engine: &Engine) {
    let couriers = Couriers::new(Arc::new(SystemClock), TimeStyle::utc(), None);
    engine.deliver_with(Arc::new(couriers), Retry::DEFAULT).expect("the delivery worker starts");
}

/// Every delivery in the store, walking the pages.
async fn deliveries(engine: &Engine) -> Vec<Delivery> {
    let limit = jitdesk::domain::list::MAX_LIMIT;
    let mut all: Vec<Delivery> = Vec::new();
    loop {
        let paging = Paging { limit: Some(limit), after: all.last().map(|d| d.id) };
        let page = engine
            .deliveries(&Viewer::Operator, DeliveryFilter::default(), &paging)
            .await
            .expect("deliveries");
        all.extend(page.items);
        if !page.more {
            return all;
        }
    }
}

/// Waits until no delivery is queued; how many were sent.
async fn until_settled(engine: &Engine) -> usize {
    let until = Instant::now() + PATIENCE;
    loop {
        let all = deliveries(engine).await;
        if all.iter().all(|d| d.state != DeliveryState::Queued) {
            return all.iter().filter(|d| matches!(d.state, DeliveryState::Sent { .. })).count();
        }
        assert!(Instant::now() < until, "deliveries still queued after {} s", PATIENCE.as_secs());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------------
// 1. Commit to webhook received

async fn commit_to_webhook(dir: &Path, receiver: &mut Receiver, table: &mut Table) {
    let engine = open_directory(&dir.join("commit.redb"), &receiver.url(), WARMUP + SAMPLES).await;
    start_worker(&engine);
    let (mut outbox, mut direct, mut early) = (Vec::new(), Vec::new(), 0);
    let mut body = None;
    for i in 0..WARMUP + SAMPLES {
        let warm = i < WARMUP;
        // Alternating which goes first, so neither always follows the other.
        for k in 0..2 {
            if (i + k) % 2 == 0 {
                let created = engine.run(&user(&asker(i)), ask()).await.expect("a request");
                let returned = Instant::now();
                let arrival = receiver.next().await;
                assert_eq!(arrival.request(), Some(created.id), "a post for another request");
                if body.is_none() {
                    assert_eq!(arrival.signature, sign(SECRET, &arrival.body), "a wrong signature");
                    body = Some(arrival.body.clone());
                }
                early += usize::from(arrival.at < returned);
                if !warm {
                    outbox.push(arrival.at.saturating_duration_since(returned).as_secs_f64());
                }
            } else if let Some(body) = &body {
                let sent = Instant::now();
                let status = post_directly(receiver.addr, &format!("direct-{i}"), body.clone()).await;
                assert_eq!(status, 200, "the receiver refused a direct post");
                let arrival = receiver.next().await;
                if !warm {
                    direct.push(arrival.at.saturating_duration_since(sent).as_secs_f64());
                }
            }
        }
    }
    let sent = until_settled(&engine).await;
    engine.close().await.expect("the store closes");
    let (median, tail, base) = (p50(&outbox), p99(&outbox), p99(&direct));
    println!(
        "\n[1] commit to webhook received, {} requests one at a time: p50 {} p99 {}; direct posts ({}): p50 {} p99 {}; {early} posts arrived before the command returned; {sent} deliveries recorded as sent",
        outbox.len(),
        msf(median),
        msf(tail),
        direct.len(),
        msf(p50(&direct)),
        msf(base),
    );
    table.add(Line {
        figure: "[1] commit to webhook received",
        result: format!("{} requests", outbox.len()),
        median: Some(median),
        p99: Some(tail),
        baseline: format!("{} p99 direct", msf(base)),
        ratio: Some(tail / base),
        target: "p99 < 200 ms",
        met: Some(tail < 0.2),
    });
}

// ---------------------------------------------------------------------------------------------------
// 2. Draining a full outbox

async fn drain(dir: &Path, receiver: &mut Receiver, table: &mut Table) {
    let engine = open_directory(&dir.join("drain.redb"), &receiver.url(), DRAIN).await;
    let asks = (0..DRAIN).map(|i| (user(&asker(i)), ask())).collect();
    let created = engine.run(&operator(), Batch(asks)).await.expect("a batch of requests");
    assert!(created.iter().all(Result::is_ok), "every request is created");
    let queued = deliveries(&engine).await;
    assert_eq!(queued.len(), DRAIN, "one delivery per request");

    let start = Instant::now();
    start_worker(&engine);
    let mut keys = std::collections::HashSet::new();
    let (mut last, mut body) = (start, Bytes::new());
    for _ in 0..DRAIN {
        let arrival = receiver.next().await;
        keys.insert(arrival.key);
        (last, body) = (arrival.at, arrival.body);
    }
    let outbox_secs = (last - start).as_secs_f64();
    let sent = until_settled(&engine).await;
    let recorded_secs = start.elapsed().as_secs_f64();
    engine.close().await.expect("the store closes");
    let repeats = receiver.unread();

    // As many posts of a notice's body, sent directly with the worker's concurrency.
    let (addr, next) = (receiver.addr, Arc::new(AtomicUsize::new(0)));
    let start = Instant::now();
    let senders: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (next, body) = (next.clone(), body.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= DRAIN {
                        break;
                    }
                    assert_eq!(post_directly(addr, &format!("direct-{i}"), body.clone()).await, 200);
                }
            })
        })
        .collect();
    let mut last = start;
    for _ in 0..DRAIN {
        last = receiver.next().await.at;
    }
    for sender in senders {
        sender.await.expect("a sender");
    }
    let direct_secs = (last - start).as_secs_f64();

    let (rate, base) = (DRAIN as f64 / outbox_secs, DRAIN as f64 / direct_secs);
    println!(
        "\n[2] drain: {DRAIN} queued deliveries posted in {} ({}), all recorded in {} ({sent} sent), {} distinct keys, {repeats} repeats; {DRAIN} direct posts, {IN_FLIGHT} in flight: {} ({})",
        msf(outbox_secs),
        per_second(rate),
        msf(recorded_secs),
        keys.len(),
        msf(direct_secs),
        per_second(base),
    );
    table.add(Line {
        figure: "[2] 1,000 queued deliveries drained",
        result: per_second(rate),
        median: None,
        p99: None,
        baseline: format!("{} direct", per_second(base)),
        ratio: Some(rate / base),
        target: ">= 500/s",
        met: Some(keys.len() == DRAIN && rate >= 500.0),
    });
}

// ---------------------------------------------------------------------------------------------------
// 3. An idle service

/// `jitdesk serve` on `store`, once it says it serves; killed if the bench ends without stopping it.
struct Service {
    child: Child,
    socket: PathBuf,
}

impl Service {
    fn start(dir: &Path, store: &Path) -> Service {
        let socket: PathBuf = dir.join("api.sock");
        let mut child = jitdesk(dir)
            .arg("--store")
            .arg(store)
            .arg("serve")
            .arg("--socket")
            .arg(&socket)
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let line = first_line(&mut child);
        assert!(line.starts_with("serving "), "serve printed {line:?}");
        println!("service: pid {}, {line}", child.id());
        Service { child, socket }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn idle(dir: &Path, receiver: &mut Receiver, table: &mut Table) {
    let store = dir.join("idle.redb");
    // One asker more than the notices delivered: the one who asks after the window.
    let engine = open_directory(&store, &receiver.url(), DELIVERED + 1).await;
    start_worker(&engine);
    for i in 0..DELIVERED {
        engine.run(&user(&asker(i)), ask()).await.expect("a request");
        receiver.next().await;
    }
    let sent = until_settled(&engine).await;
    engine.close().await.expect("the store closes");

    let mut service = Service::start(dir, &store);
    let pid = service.child.id();
    let stat = PathBuf::from(format!("/proc/{pid}/stat"));
    tokio::time::sleep(SETTLE).await;
    let before = (cpu_ticks(&stat), receiver.unread());
    tokio::time::sleep(IDLE).await;
    let (spent, posts) = (cpu_ticks(&stat) - before.0, receiver.unread());
    // A worker that had died would cost nothing either: one request through the socket after the
    // window shows that it was only asleep.
    let mut conn = Conn::open(&service.socket).await;
    let asked = Instant::now();
    let body = json!({"app": APP, "roles": ["Owner"], "duration": "PT1H", "justification": "INC-2: after the window"});
    conn.expect(201, Method::POST, paths::REQUESTS, Some(&asker(DELIVERED)), body).await;
    let woke = receiver.next().await.at.saturating_duration_since(asked);
    let stopped = terminate(&mut service.child);
    let hz = clock_ticks_per_second();
    println!(
        "\n[3] idle: serve on a store with a webhook channel and {sent} notices delivered, nothing queued: {spent} CPU ticks ({:.0} ms) in {} s after {} s to settle; {posts} posts meanwhile ({} while settling); a request made through the socket after the window reached the receiver {} after it was sent; stopped with exit code {stopped}",
        spent as f64 * 1000.0 / hz,
        IDLE.as_secs(),
        SETTLE.as_secs(),
        before.1,
        ms(woke),
    );
    table.add(Line {
        figure: "[3] idle service, empty outbox: CPU over 10 s",
        result: format!("{spent} ticks, {posts} posts"),
        median: None,
        p99: None,
        baseline: "..".into(),
        ratio: None,
        target: "0 ticks",
        met: Some(spent == 0 && posts == 0),
    });
}
