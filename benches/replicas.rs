//! Replicas' figures: the service on PostgreSQL, one and two `jitdesk serve` processes on one
//! database, beside the same figures on redb measured in the same run.
//!
//! Run with `cargo bench --bench replicas` (`-- create expiries` runs only the figures named). It
//! needs a PostgreSQL server whose commits are durable (fsync and synchronous commit on, as by
//! default): `JITDESK_BENCH_PG` (a URL the bench may create databases on), or a cluster of its own
//! that it starts beside the tests' (tests/common/pg.rs); without one it says why and measures redb
//! alone. A plain harness, as the other benches.
//!
//! 1. Durable creation: 32 clients, each on its own connection, each a distinct publisher creating
//!    requests on its own auto-approved application, for ~5 s: requests per second and per-request
//!    latency. On redb (one service, the baseline), on PostgreSQL with one replica, and with two
//!    replicas, the clients spread over both (16 each). Every 201 is an answer sent after the commit.
//! 2. 10,000 simultaneous expiries under the system clock: grants scheduled to end at one instant,
//!    all expired in one commit; how long after their end a subscriber hears of it (when they all
//!    became visible), and each expiry's record in the audit log, which must be there exactly once.
//!    On redb with one engine, and on PostgreSQL with two engines (two replicas in this process)
//!    whose tickers both wake, so whichever gets there first expires them all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use jitdesk::domain::Paging;
use jitdesk::domain::list::MAX_LIMIT;
use jitdesk::domain::{Action, ApprovalMode, Period, RequestState, Target};
use jitdesk::engine::{Engine, OpenMode, SystemClock, Viewer};
use tokio::sync::broadcast::error::RecvError;

mod common;
use common::directory::{directory, requests};
use common::load::{Client, Conn, LIFTED_LIMITS, WARMUP, app, drive, publisher, setup_directory};
use common::{Line, Table, describe_machine, first_line, jitdesk, msf, p50, p99, per_second, terminate};

#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;

const BIN: &str = env!("CARGO_BIN_EXE_jitdesk");

/// Concurrent creating clients, and how long they run.
const CLIENTS: usize = 32;
const LOAD: Duration = Duration::from_secs(5);
/// Grants ending at one instant, and how long each lasts.
const EXPIRIES: usize = 10_000;
/// Long enough that the grants' 10,000 starts, a burst of their own, are done with before they end.
const GRANT: i64 = 60;
/// Room for creating the grants before the first one starts: they are all scheduled to start at
/// one instant this far ahead of the setup, so that they also end at one.
const SCHEDULE_AHEAD: i64 = 90;

fn main() {
    let began = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("jitdesk-replicas-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory under the target dir");
    describe_machine(dir.path(), BIN);
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let chosen = |figure: &str| wanted.is_empty() || wanted.iter().any(|w| figure.contains(w.as_str()));
    // Says why in one line when there is no server; the figures are then redb's alone.
    let postgres = pg::durable_database().is_some();

    let mut table = Table::default();
    // One thread for all the clients, so that the services and the database have the rest.
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    if chosen("create") {
        let redb = runtime.block_on(creation(dir.path(), "redb", vec![dir.path().join("create.redb")], 1));
        table.add(redb.line("[1] 32 clients creating: redb, one service", None));
        if postgres {
            for replicas in [1, 2] {
                let url = pg::durable_database().expect("a database on the server found before");
                let stores = vec![PathBuf::from(url); replicas];
                let label = format!("postgresql, {replicas} replica{}", if replicas == 1 { "" } else { "s" });
                let figure = runtime.block_on(creation(dir.path(), &label, stores, replicas));
                let name = format!("[1] 32 clients creating: {label}");
                table.add(figure.line(&name, Some(&redb)));
            }
        }
    }
    if chosen("expiries") {
        let redb = runtime.block_on(expiries("redb, one engine", vec![dir.path().join("expiries.redb")]));
        table.add(redb.line("[2] 10,000 simultaneous expiries: redb, one engine", None));
        if postgres {
            let url = PathBuf::from(pg::durable_database().expect("a database on the server found before"));
            let figure = runtime.block_on(expiries("postgresql, two engines", vec![url.clone(), url]));
            table.add(figure.line("[2] 10,000 simultaneous expiries: postgresql, two engines", Some(&redb)));
        }
    }
    drop(runtime);
    println!();
    table.print();
    println!("\n(whole bench: {:.1} s)", began.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------------------
// 1. Durable creation on one service or several replicas

/// What the clients got from one set-up.
struct Creation {
    rate: f64,
    latencies: Vec<f64>,
    failures: usize,
}

impl Creation {
    fn line(&self, figure: &str, baseline: Option<&Creation>) -> Line<'static> {
        let ratio = baseline.map(|b| self.rate / b.rate);
        let postgres = baseline.is_some();
        Line {
            figure: Box::leak(figure.to_string().into_boxed_str()),
            result: format!("{}, {} failed", per_second(self.rate), self.failures),
            median: Some(p50(&self.latencies)),
            p99: Some(p99(&self.latencies)),
            baseline: baseline.map_or("(baseline)".into(), |b| format!("redb {}", per_second(b.rate))),
            ratio,
            target: if postgres { ">= 1,000/s, p99 < 50 ms" } else { "(baseline)" },
            met: postgres.then(|| self.rate >= 1000.0 && p99(&self.latencies) < 0.050 && self.failures == 0),
        }
    }
}

/// `init` on the first store, a service per store (the same database for replicas), the bench
/// directory through the first, then the clients spread over the services.
async fn creation(dir: &Path, label: &str, stores: Vec<PathBuf>, replicas: usize) -> Creation {
    println!("\n[1] {CLIENTS} clients creating for {} s: {label}", LOAD.as_secs());
    let home = dir.join(format!("create-{}", label.replace([' ', ','], "-")));
    std::fs::create_dir_all(home.join("jitdesk")).expect("a config folder");
    std::fs::write(home.join("jitdesk").join("config.toml"), LIFTED_LIMITS).expect("the bench's config");
    let init = jitdesk(&home).arg("--store").arg(&stores[0]).arg("init").output().expect("init runs");
    assert!(init.status.success(), "init failed: {}", String::from_utf8_lossy(&init.stderr));
    let services: Vec<Service> = (0..replicas)
        .map(|i| Service::start(&home, &stores[i], &home.join(format!("api-{i}.sock"))))
        .collect();
    let people: Vec<(String, String)> = (0..CLIENTS).map(|i| (publisher(i), app(i))).collect();
    setup_directory(&services[0].socket, &people).await;
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let conn = Conn::open(&services[i % replicas].socket).await;
        let client = Client { conn, as_user: Some(publisher(i)), app: app(i) };
        clients.push(client.warm().await);
    }
    let (load, secs) = drive(clients, LOAD).await;
    let rate = load.latencies.len() as f64 / secs;
    println!(
        "    {} created in {secs:.2} s ({}) in {} commits, {} failed (after {WARMUP} each to warm up); per second: {}",
        load.latencies.len(),
        per_second(rate),
        load.commits(),
        load.failures.len(),
        load.per_whole_second()
    );
    if let Some(first) = load.failures.first() {
        println!("    first failure: {first}");
    }
    println!("    latency: median {}, p99 {}", msf(p50(&load.latencies)), msf(p99(&load.latencies)));
    for mut service in services {
        service.stop();
    }
    Creation { rate, latencies: load.latencies, failures: load.failures.len() }
}

/// One `jitdesk serve` on a socket of its own.
struct Service {
    child: Child,
    socket: PathBuf,
}

impl Service {
    fn start(home: &Path, store: &Path, socket: &Path) -> Service {
        let mut child = jitdesk(home)
            .arg("--store")
            .arg(store)
            .arg("serve")
            .arg("--socket")
            .arg(socket)
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let line = first_line(&mut child);
        assert!(line.starts_with("serving "), "serve printed {line:?}");
        println!("    service: pid {}, {line}", child.id());
        Service { child, socket: socket.to_path_buf() }
    }

    fn stop(&mut self) {
        terminate(&mut self.child);
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

// ---------------------------------------------------------------------------------------------------
// 2. Simultaneous expiries under the system clock

/// How late the grants' expiry was seen, in seconds after their common end, and whether each
/// grant expired exactly once.
struct Expiries {
    visible: f64,
    expired_once: bool,
}

impl Expiries {
    fn line(&self, figure: &str, baseline: Option<&Expiries>) -> Line<'static> {
        Line {
            figure: Box::leak(figure.to_string().into_boxed_str()),
            result: format!(
                "all seen {} late, {}",
                msf(self.visible),
                if self.expired_once { "each once" } else { "NOT each once" }
            ),
            median: None,
            p99: None,
            baseline: baseline.map_or("(baseline)".into(), |b| format!("redb {}", msf(b.visible))),
            ratio: baseline.map(|b| self.visible / b.visible),
            target: "each once, under 1 s late",
            met: Some(self.expired_once && self.visible < 1.0),
        }
    }
}

/// An engine per store (replicas when they name one database), 10,000 grants on the first, all
/// starting at one instant and so ending at one; then when a subscriber of the first hears of their
/// expiry, and the audit log's record of each.
async fn expiries(label: &str, stores: Vec<PathBuf>) -> Expiries {
    println!("\n[2] {EXPIRIES} grants of {GRANT} s ending at one instant: {label}");
    let mut engines = Vec::new();
    for store in &stores {
        engines.push(Engine::open(store, OpenMode::Create, Arc::new(SystemClock)).await.expect("open"));
    }
    let first = &engines[0];
    let directory = directory(first, 100, EXPIRIES.div_ceil(100), ApprovalMode::AutoApprove).await;
    let now = Utc::now().timestamp();
    let start: DateTime<Utc> = DateTime::from_timestamp(now + SCHEDULE_AHEAD, 0).expect("a time");
    let end = start + TimeDelta::seconds(GRANT);
    let made = Instant::now();
    let granted = requests(first, &directory, EXPIRIES, Period::from_secs(GRANT), Some(start)).await;
    println!("    created {} grants in {}", granted.len(), msf(made.elapsed().as_secs_f64()));
    assert!(Utc::now() < start, "creating the grants took longer than the {SCHEDULE_AHEAD} s allowed");
    assert!(granted.iter().all(|r| r.state == RequestState::Approved && r.end() == Some(end)));

    // The grants all end in one instant, so they expire in one commit: the moment the first expiry
    // is heard is when they all became visible. Whichever engine expires them, its own subscriber
    // hears at once (another replica's is only told to reload, the burst being larger than it
    // follows record by record). Received on threads of their own, so the moment is not delayed by
    // this runtime's scheduling; a burst of 10,000 events outruns any subscriber's buffer, so only
    // the first one's moment is kept.
    let (heard_tx, heard) = std::sync::mpsc::channel();
    for engine in &engines {
        let (mut events, heard_tx) = (engine.subscribe(), heard_tx.clone());
        std::thread::spawn(move || {
            loop {
                match events.blocking_recv() {
                    Ok(event) if event.record.action == Action::AccessExpired => break,
                    Ok(_) => {}
                    // The grants' 10,000 starts, a minute before, are a burst of their own.
                    Err(RecvError::Lagged(_)) if Utc::now() >= end => break,
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                }
            }
            let _ = heard_tx.send(Utc::now());
        });
    }
    let wait = (end - Utc::now() + TimeDelta::seconds(180)).to_std().unwrap_or_default();
    let heard = heard.recv_timeout(wait).ok();
    // Then each grant's expiry as the audit log has it (once each, whichever replica recorded it),
    // walking the newest records back to the end.
    let mut expiries_of: HashMap<u64, usize> = HashMap::new();
    let mut recorded = Vec::new();
    let mut after = None;
    loop {
        let paging = Paging { limit: Some(MAX_LIMIT), after };
        let page = first.audit(&Viewer::Operator, paging).await.expect("the audit log");
        for record in &page.items {
            if let (Action::AccessExpired, Target::Request(id)) = (record.action, &record.target) {
                *expiries_of.entry(*id).or_default() += 1;
                recorded.push((record.at - end).as_seconds_f64());
            }
        }
        after = page.items.last().map(|r| r.id);
        if !page.more || page.items.last().is_some_and(|r| r.at < end) {
            break;
        }
    }
    for engine in engines {
        engine.close().await.expect("close");
    }
    let visible = heard.map_or(f64::NAN, |at| (at - end).as_seconds_f64());
    let expired_once = expiries_of.len() == EXPIRIES && expiries_of.values().all(|n| *n == 1);
    println!(
        "    {} expiry records for {} grants; recorded (the pass's clock) median {} after the end, max {}; all visible to a subscriber {} after the end",
        recorded.len(),
        expiries_of.len(),
        msf(p50(&recorded)),
        msf(recorded.iter().copied().fold(f64::NAN, f64::max)),
        msf(visible)
    );
    Expiries { visible, expired_once }
}
