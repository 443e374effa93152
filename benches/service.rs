//! The shared service's figures, measured on the real release binary through its socket.
//!
//! Run with `cargo bench --bench service` (`-- create events idle memory` runs only the figures named). A
//! plain harness: it starts `jitdesk --store S serve --socket P` on a store made by `init --sample`,
//! adds a bench directory through the API as the operator, prints the machine and a few lines per
//! figure, then one table with the baselines measured in the same run.
//!
//! 1. Durable creation: 32 clients, each on its own connection, each a distinct publisher creating
//!    requests on its own auto-approved application, for ~5 s: requests per second and per-request
//!    latency. Every 201 is an answer sent after the commit. Baselines: one client in a loop (every
//!    request waits for its own commit) and a 4 KiB write + fdatasync loop in the store's folder.
//! 2. Commit to event: 20 subscribers of `GET /v1/events` (as the operator, who sees everything)
//!    while another connection creates requests one at a time; each subscriber's receipt of each
//!    creation's event against the moment its answer (the acknowledged commit) arrived, and against
//!    the moment it was sent (an upper bound that includes the commit).
//! 3. Idle: the service's CPU time and voluntary context switches (summed over its threads) with no
//!    client: the 10 s right after the last one left, then the next 10 s (the target: no wakeup, the
//!    store's next deadline being an hour away); then 16 s with one idle event subscriber, which
//!    spans one keep-alive comment (every 15 s).
//! 4. Memory: the service's resident memory before and at its peak during 60 s of the 32 clients
//!    creating: what it keeps beyond its start is bounded by redb's cache (`[store] cache_mib`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use hyper::Method;
use hyper::body::{Bytes, Incoming};
use jitdesk::domain::{AccessRequest, Action, Target};
use serde_json::Value;

mod common;
use common::load::{
    Client, Conn, Created, LIFTED_LIMITS, Load, WARMUP, app, ask, build, drive, publisher, setup_directory,
};
use common::{Line, Table, clock_ticks_per_second, cpu_ticks, describe_machine, jitdesk, ms, msf, p50, p99};
use common::{first_line, per_second, percentile, terminate};

const BIN: &str = env!("CARGO_BIN_EXE_jitdesk");

/// Concurrent creating clients, and how long they run.
const CLIENTS: usize = 32;
const LOAD: Duration = Duration::from_secs(5);
/// The one-client loop and the raw fsync loop (the latter run before and after the load).
const SINGLE: Duration = Duration::from_secs(2);
const FSYNC: Duration = Duration::from_millis(1500);
/// Event subscribers (as many as one uid may hold: they are all the bench's), and the creations
/// whose events they time.
const SUBSCRIBERS: usize = jitdesk::api::limits::MAX_STREAMS_PER_UID;
const EVENTS: usize = 200;
/// A pause between those creations, so that each is a commit of its own.
const EVENT_GAP: Duration = Duration::from_millis(5);
/// The idle windows; the second one spans one keep-alive (every 15 s).
const IDLE: Duration = Duration::from_secs(10);
const IDLE_SUBSCRIBED: Duration = Duration::from_secs(16);
/// After the last client leaves, before the first idle window: its connections close.
const SETTLE: Duration = Duration::from_millis(500);

/// The publisher and application that feed the event figure.
const EVENT_APP: &str = "bench-events";
const EVENT_USER: &str = "events@benchpub.example";

fn main() {
    let began = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("jitdesk-svc-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory under the target dir");
    describe_machine(dir.path(), BIN);

    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let chosen = |figure: &str| wanted.is_empty() || wanted.iter().any(|w| figure.contains(w.as_str()));

    // One thread for all the clients, so that the service has the other core to itself.
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let mut service = Service::start(dir.path());
    let mut table = Table::default();
    runtime.block_on(async {
        let t = Instant::now();
        let people: Vec<(String, String)> = (0..CLIENTS)
            .map(|i| (publisher(i), app(i)))
            .chain([(EVENT_USER.into(), EVENT_APP.into())])
            .collect();
        setup_directory(&service.socket, &people).await;
        println!(
            "\nsetup: bench directory ({CLIENTS}+1 publishers, as many auto-approved applications) in {}",
            ms(t.elapsed())
        );
        if chosen("create") {
            creation(&service, dir.path(), &mut table).await;
        }
        if chosen("events") {
            events(&service.socket, &mut table).await;
        }
        if chosen("idle") {
            idle(&service, &mut table).await;
        }
        if chosen("memory") {
            memory(&service, &mut table).await;
        }
    });
    drop(runtime);
    let stopped = service.stop();
    println!("\nservice stopped with exit code {stopped} (0 = clean shutdown)");

    println!();
    table.print();
    println!("\n(whole bench: {:.1} s)", began.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------------------
// The service as a child process

struct Service {
    child: Child,
    pid: u32,
    socket: PathBuf,
}

impl Service {
    /// `init --sample` on a new store, then `serve` on a socket beside it; returns once it listens.
    fn start(dir: &Path) -> Service {
        let store = dir.join("jitdesk.redb");
        let socket = dir.join("api.sock");
        let init =
            jitdesk(dir).arg("--store").arg(&store).args(["init", "--sample"]).output().expect("init runs");
        assert!(init.status.success(), "init --sample failed: {}", String::from_utf8_lossy(&init.stderr));
        println!("store: {}", String::from_utf8_lossy(&init.stdout).trim());
        // Each client creates requests as fast as it can: throughput is measured here, not the
        // per-requester limits, which are lifted.
        std::fs::create_dir_all(dir.join("jitdesk")).expect("a config folder");
        std::fs::write(dir.join("jitdesk").join("config.toml"), LIFTED_LIMITS).expect("the bench's config");

        let mut child = jitdesk(dir)
            .arg("--store")
            .arg(&store)
            .arg("serve")
            .arg("--socket")
            .arg(&socket)
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let line = first_line(&mut child);
        assert!(line.starts_with("serving "), "serve printed {line:?}");
        println!("service: pid {}, {line}", child.id());
        Service { pid: child.id(), child, socket }
    }

    /// SIGTERM, then its exit code once it has closed the store.
    fn stop(&mut self) -> i32 {
        terminate(&mut self.child)
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
// 1. Durable creation: 32 clients vs one client vs raw fdatasync

/// 4 KiB overwrites of a preallocated file, each followed by fdatasync, for `how_long`: the
/// cheapest durable write the disk offers, so one commit per request can go no faster than this.
fn fsync_loop(dir: &Path, how_long: Duration) -> Vec<f64> {
    let path = dir.join("fsync-probe.bin");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .expect("probe file");
    const SLOTS: u64 = 64;
    file.write_all(&vec![0u8; 4096 * SLOTS as usize]).expect("preallocate");
    file.sync_all().expect("fsync");
    let block = [0x5Au8; 4096];
    let mut took = Vec::new();
    let until = Instant::now() + how_long;
    let mut slot = 0;
    while Instant::now() < until {
        let t = Instant::now();
        file.seek(SeekFrom::Start(4096 * (slot % SLOTS))).expect("seek");
        file.write_all(&block).expect("write");
        file.sync_data().expect("fdatasync");
        took.push(t.elapsed().as_secs_f64());
        slot += 1;
    }
    drop(file);
    let _ = std::fs::remove_file(&path);
    took
}

/// What one run of clients got, and what it cost the service and the bench.
struct Run {
    load: Load,
    /// From the start to the last answer.
    secs: f64,
    service: Quiet,
    /// This process (the clients) in the same time.
    bench_cpu: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.load.latencies.len() as f64 / self.secs
    }

    fn describe(&self, who: &str) -> String {
        let n = self.load.latencies.len();
        let commits = self.load.commits();
        let store = self.service.cpu_by_thread.get("jitdesk-store").map_or(0.0, |(_, s)| *s);
        let others: Vec<String> = self
            .service
            .cpu_by_thread
            .iter()
            .filter(|(name, _)| *name != "jitdesk-store")
            .map(|(name, (k, s))| format!("{name} x{k} {s:.2} s"))
            .collect();
        format!(
            "{who}: {n} requests in {:.2} s, {commits} commits ({:.1} per commit); answers per second: {}\n      \
             service CPU {:.2} s ({:.0}% of the run): store thread {store:.2} s ({:.0} us per request, {:.0}% busy), {}; bench clients {:.2} s",
            self.secs,
            n as f64 / commits.max(1) as f64,
            self.load.per_whole_second(),
            self.service.cpu,
            100.0 * self.service.cpu / self.secs,
            1e6 * store / n.max(1) as f64,
            100.0 * store / self.secs,
            others.join(", "),
            self.bench_cpu,
        )
    }
}

/// `clients` connections (client i is publisher i on application i), warmed up, then all creating
/// for `how_long`.
async fn run_clients(service: &Service, clients: usize, how_long: Duration) -> Run {
    let mut warm = Vec::new();
    for i in 0..clients {
        let conn = Conn::open(&service.socket).await;
        warm.push(Client { conn, as_user: Some(publisher(i)), app: app(i) }.warm().await);
    }
    let hz = clock_ticks_per_second();
    let (before, bench_before) = (snapshot(service.pid), cpu_ticks(Path::new("/proc/self/stat")));
    let (load, secs) = drive(warm, how_long).await;
    let service_cpu = quiet(&before, &snapshot(service.pid), hz);
    let bench_cpu = cpu_ticks(Path::new("/proc/self/stat")).saturating_sub(bench_before) as f64 / hz;
    Run { load, secs, service: service_cpu, bench_cpu }
}

/// How long the memory figure keeps the service busy.
const MEMORY_LOAD: Duration = Duration::from_secs(60);

/// A field of /proc/PID/status in kB (VmRSS: resident now, VmHWM: the most it has been), in MiB.
fn status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kb.map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The service's memory under a minute of creation by every client: what it holds beyond its
/// start is bounded by redb's cache (`[store] cache_mib`, 64 MiB unless configured), not by how
/// much was written.
async fn memory(service: &Service, table: &mut Table) {
    let cache = jitdesk::engine::maintenance::DEFAULT_CACHE_MIB as f64;
    let before = status_mib(service.pid, "VmRSS:");
    println!(
        "\n[4] memory: {CLIENTS} clients creating for {} s; the service holds {before:.0} MiB now, cache {cache:.0} MiB",
        MEMORY_LOAD.as_secs()
    );
    let run = run_clients(service, CLIENTS, MEMORY_LOAD).await;
    let (peak, after) = (status_mib(service.pid, "VmHWM:"), status_mib(service.pid, "VmRSS:"));
    println!(
        "    {} requests created, {} refused (the first: {:?}); resident now {after:.0} MiB, at most {peak:.0} MiB",
        run.load.ids.len(),
        run.load.failures.len(),
        run.load.failures.first()
    );
    table.add(Line {
        figure: "service memory after 60 s of 32 clients creating (peak resident)",
        result: format!("{peak:.0} MiB ({} requests)", run.load.ids.len()),
        median: None,
        p99: None,
        baseline: format!("{before:.0} MiB before"),
        ratio: Some(peak / before),
        target: "growth within cache + 64 MiB",
        met: Some(peak - before <= cache + 64.0),
    });
}

async fn creation(service: &Service, dir: &Path, table: &mut Table) {
    println!(
        "\n[1] durable creation: raw fdatasync {} s, 1 client {} s, {CLIENTS} clients {} s, raw fdatasync {} s",
        FSYNC.as_secs_f64(),
        SINGLE.as_secs(),
        LOAD.as_secs(),
        FSYNC.as_secs_f64()
    );
    let mut raw = fsync_loop(dir, FSYNC);
    let raw_before = raw.len() as f64 / FSYNC.as_secs_f64();

    let one = run_clients(service, 1, SINGLE).await;
    assert!(one.load.failures.is_empty(), "the single client was refused: {:?}", one.load.failures.first());
    let single_rate = one.rate();
    let single = &one.load;

    let run = run_clients(service, CLIENTS, LOAD).await;
    let many_rate = run.rate();
    let many = &run.load;

    let after = fsync_loop(dir, FSYNC);
    let raw_after = after.len() as f64 / FSYNC.as_secs_f64();
    raw.extend(after);
    let raw_rate = raw.len() as f64 / (2.0 * FSYNC.as_secs_f64());

    // Durable: every 201 must be in the store, as the operator reads it back.
    let mut c = Conn::open(&service.socket).await;
    let listed = c.all_requests("state=Approved").await;
    let stored: BTreeSet<u64> = listed.iter().filter_map(|r| r["id"].as_u64()).collect();
    let missing = many.ids.iter().chain(&single.ids).filter(|id| !stored.contains(id)).count();

    println!(
        "    raw fdatasync: {} before, {} after (median {}, p99 {})",
        per_second(raw_before),
        per_second(raw_after),
        msf(p50(&raw)),
        msf(p99(&raw))
    );
    println!("    {}", one.describe("1 client"));
    println!("    {}", run.describe(&format!("{CLIENTS} clients")));
    let history = WARMUP + many.latencies.len() / CLIENTS;
    println!(
        "    {CLIENTS} clients: max latency {}; {} refused; {} answered but not in the store; by the end each publisher had about {history} requests on its application",
        msf(percentile(&many.latencies, 100.0)),
        many.failures.len(),
        missing
    );
    if let Some(first) = many.failures.first() {
        println!("    first refusal: {first}");
    }

    table.add(Line {
        figure: "raw 4 KiB write + fdatasync",
        result: per_second(raw_rate),
        median: Some(p50(&raw)),
        p99: Some(p99(&raw)),
        baseline: "..".into(),
        ratio: None,
        target: "(baseline: the disk's commit rate)",
        met: None,
    });
    table.add(Line {
        figure: "1 client, create in a loop",
        result: per_second(single_rate),
        median: Some(p50(&single.latencies)),
        p99: Some(p99(&single.latencies)),
        baseline: per_second(raw_rate),
        ratio: Some(single_rate / raw_rate),
        target: "(baseline: one commit per request)",
        met: None,
    });
    let sound = many.failures.is_empty() && missing == 0;
    table.add(Line {
        figure: "[1] 32 clients, durable create",
        result: per_second(many_rate),
        median: Some(p50(&many.latencies)),
        p99: Some(p99(&many.latencies)),
        baseline: per_second(single_rate),
        ratio: Some(many_rate / single_rate),
        target: ">= 2,000/s (ratio: vs 1 client)",
        met: Some(sound && many_rate >= 2000.0),
    });
    let p = p99(&many.latencies);
    table.add(Line {
        figure: "    same, per-request latency",
        result: format!("{} reqs", many.latencies.len()),
        median: Some(p50(&many.latencies)),
        p99: Some(p),
        baseline: "..".into(),
        ratio: None,
        target: "p99 < 25 ms",
        met: Some(sound && p < 0.025),
    });
}

// ---------------------------------------------------------------------------------------------------
// 2. Commit to event, 20 subscribers

/// One `GET /v1/events` stream: complete SSE blocks, each stamped with the arrival of its last byte.
struct Stream {
    body: Incoming,
    pending: String,
    /// Kept so that the connection stays open.
    _conn: Conn,
}

enum Block {
    /// A named or unnamed event with its data.
    Event { name: String, data: String },
    /// A comment line (the keep-alive).
    Comment,
}

impl Stream {
    async fn open(socket: &Path) -> Stream {
        let mut conn = Conn::open(socket).await;
        conn.sender.ready().await.expect("ready");
        let response = conn
            .sender
            .send_request(build(Method::GET, "/v1/events", None, Bytes::new()))
            .await
            .expect("subscribed");
        assert_eq!(response.status().as_u16(), 200, "GET /v1/events");
        let mut stream = Stream { body: response.into_body(), pending: String::new(), _conn: conn };
        let first = stream.next(Duration::from_secs(5)).await.expect("the first block");
        assert!(matches!(&first.1[..], [Block::Event { name, .. }] if name == "ready"), "ready comes first");
        stream
    }

    /// The blocks that the next chunk completes, and when it arrived; None at the end or on timeout.
    async fn next(&mut self, within: Duration) -> Option<(Instant, Vec<Block>)> {
        let frame = tokio::time::timeout(within, self.body.frame()).await.ok()??.ok()?;
        let at = Instant::now();
        let Ok(data) = frame.into_data() else { return Some((at, Vec::new())) };
        self.pending.push_str(&String::from_utf8_lossy(&data));
        let mut blocks = Vec::new();
        while let Some(end) = self.pending.find("\n\n") {
            let text: String = self.pending.drain(..end + 2).collect();
            let (mut name, mut data, mut comment) = ("message".to_string(), Vec::new(), false);
            for line in text.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push(d.strip_prefix(' ').unwrap_or(d));
                } else if line.starts_with(':') {
                    comment = true;
                }
            }
            if !data.is_empty() {
                blocks.push(Block::Event { name, data: data.join("\n") });
            } else if comment {
                blocks.push(Block::Comment);
            }
        }
        Some((at, blocks))
    }
}

/// A subscriber until it has seen `count` creations on the event application: request id -> arrival.
async fn subscriber(mut stream: Stream, count: usize) -> HashMap<u64, Instant> {
    let mut seen = HashMap::new();
    while seen.len() < count {
        let Some((at, blocks)) = stream.next(Duration::from_secs(10)).await else { break };
        for block in blocks {
            let Block::Event { name, data } = block else { continue };
            if name != "message" {
                continue;
            }
            let Ok(event) = serde_json::from_str::<jitdesk::json::Committed>(&data) else { continue };
            let record = event.record;
            if let (Action::RequestCreated, Target::Request(id), Some(EVENT_APP)) =
                (record.action, record.target, record.app.as_deref())
            {
                seen.entry(id).or_insert(at);
            }
        }
    }
    seen
}

async fn events(socket: &Path, table: &mut Table) {
    println!(
        "\n[2] commit to event: {SUBSCRIBERS} subscribers, {EVENTS} creations one at a time ({} apart)",
        ms(EVENT_GAP)
    );
    let mut streams = Vec::new();
    for _ in 0..SUBSCRIBERS {
        streams.push(Stream::open(socket).await);
    }
    let listeners: Vec<_> = streams.into_iter().map(|s| tokio::spawn(subscriber(s, EVENTS))).collect();

    let mut conn = Conn::open(socket).await;
    let body = ask(EVENT_APP);
    // id -> (sent, acknowledged)
    let mut made = HashMap::new();
    for _ in 0..EVENTS {
        let sent = Instant::now();
        let answer = conn.call(Method::POST, "/v1/requests", Some(EVENT_USER), body.clone()).await;
        let acked = Instant::now();
        assert_eq!(answer.status, 201, "{}", answer.text());
        let created: Created = serde_json::from_slice(&answer.body).expect("a created request");
        made.insert(created.id, (sent, acked));
        tokio::time::sleep(EVENT_GAP).await;
    }
    let (mut from_ack, mut from_send, mut before_ack, mut lost) = (Vec::new(), Vec::new(), 0, 0);
    for listener in listeners {
        let seen = listener.await.expect("a subscriber");
        for (id, (sent, acked)) in &made {
            match seen.get(id) {
                Some(at) => {
                    from_send.push((*at - *sent).as_secs_f64());
                    // The service announces a commit just before it answers, so a subscriber can be first.
                    let after = if *at >= *acked {
                        (*at - *acked).as_secs_f64()
                    } else {
                        before_ack += 1;
                        -(*acked - *at).as_secs_f64()
                    };
                    from_ack.push(after);
                }
                None => lost += 1,
            }
        }
    }
    let pairs = SUBSCRIBERS * EVENTS;
    println!(
        "    {} of {pairs} (subscriber, event) pairs arrived; {before_ack} before the creator had its answer; max ack -> receipt {}, max send -> receipt {}",
        from_ack.len(),
        msf(percentile(&from_ack, 100.0)),
        msf(percentile(&from_send, 100.0)),
    );
    let complete = lost == 0;
    let ack99 = if complete { p99(&from_ack) } else { f64::INFINITY };
    table.add(Line {
        figure: "[2] commit ack -> 20 SSE clients",
        result: format!("{} pairs", from_ack.len()),
        median: Some(p50(&from_ack)),
        p99: Some(ack99),
        baseline: "..".into(),
        ratio: None,
        target: "p99 < 100 ms",
        met: Some(complete && ack99 < 0.1),
    });
    let send99 = if complete { p99(&from_send) } else { f64::INFINITY };
    table.add(Line {
        figure: "    same, from send (upper bound)",
        result: format!("{} pairs", from_send.len()),
        median: Some(p50(&from_send)),
        p99: Some(send99),
        baseline: "..".into(),
        ratio: None,
        target: "p99 < 100 ms (includes the commit)",
        met: Some(complete && send99 < 0.1),
    });
}

// ---------------------------------------------------------------------------------------------------
// 3. Idle CPU and wakeups

/// One thread of the service.
#[derive(Clone)]
struct Task {
    name: String,
    /// utime + stime, in clock ticks.
    ticks: u64,
    voluntary: u64,
    involuntary: u64,
}

struct Snapshot {
    /// utime + stime of the whole process (exited threads included), in clock ticks.
    ticks: u64,
    tasks: BTreeMap<u32, Task>,
}

fn snapshot(pid: u32) -> Snapshot {
    let ticks = cpu_ticks(&PathBuf::from(format!("/proc/{pid}/stat")));
    let mut tasks = BTreeMap::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).expect("the service's tasks").flatten() {
        let Ok(tid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let field = |key: &str| {
            status.lines().find_map(|l| l.strip_prefix(key)).map(|v| v.trim().to_string()).unwrap_or_default()
        };
        tasks.insert(
            tid,
            Task {
                name: field("Name:"),
                ticks: cpu_ticks(&entry.path().join("stat")),
                voluntary: field("voluntary_ctxt_switches:").parse().unwrap_or(0),
                involuntary: field("nonvoluntary_ctxt_switches:").parse().unwrap_or(0),
            },
        );
    }
    Snapshot { ticks, tasks }
}

struct Quiet {
    cpu: f64,
    /// Voluntary switches of the threads alive at both ends, plus every switch of threads born in between.
    wakeups: u64,
    involuntary: u64,
    /// Threads that ended in between: each woke at least once more to end.
    ended: usize,
    /// Who woke: thread name -> voluntary switches.
    by_thread: BTreeMap<String, u64>,
    /// Who worked: thread name -> (threads, CPU seconds).
    cpu_by_thread: BTreeMap<String, (usize, f64)>,
    threads: (usize, usize),
}

fn quiet(before: &Snapshot, after: &Snapshot, ticks_per_second: f64) -> Quiet {
    let mut q = Quiet {
        cpu: after.ticks.saturating_sub(before.ticks) as f64 / ticks_per_second,
        wakeups: 0,
        involuntary: 0,
        ended: before.tasks.keys().filter(|t| !after.tasks.contains_key(t)).count(),
        by_thread: BTreeMap::new(),
        cpu_by_thread: BTreeMap::new(),
        threads: (before.tasks.len(), after.tasks.len()),
    };
    for (tid, task) in &after.tasks {
        let (v0, i0, t0) = before.tasks.get(tid).map_or((0, 0, 0), |t| (t.voluntary, t.involuntary, t.ticks));
        let busy = q.cpu_by_thread.entry(task.name.clone()).or_default();
        busy.0 += 1;
        busy.1 += task.ticks.saturating_sub(t0) as f64 / ticks_per_second;
        let woke = task.voluntary.saturating_sub(v0);
        q.wakeups += woke;
        q.involuntary += task.involuntary.saturating_sub(i0);
        if woke > 0 {
            *q.by_thread.entry(task.name.clone()).or_default() += woke;
        }
    }
    q
}

fn describe(q: &Quiet) -> String {
    let who: Vec<String> = q.by_thread.iter().map(|(name, n)| format!("{name} {n}")).collect();
    format!(
        "{:.2} s CPU, {} voluntary switches ({}), {} involuntary, threads {} -> {}{}",
        q.cpu,
        q.wakeups,
        if who.is_empty() { "none".to_string() } else { who.join(", ") },
        q.involuntary,
        q.threads.0,
        q.threads.1,
        if q.ended > 0 { format!(" ({} ended, each waking once more)", q.ended) } else { String::new() }
    )
}

/// The store's next deadline as the operator sees it: the earliest pending request's timeout, or
/// approved grant's start or end.
async fn next_deadline(socket: &Path) -> Option<(DateTime<Utc>, u64)> {
    let mut c = Conn::open(socket).await;
    let mut next: Option<(DateTime<Utc>, u64)> = None;
    for state in ["Pending", "Approved"] {
        let listed = c.all_requests(&format!("state={state}")).await;
        let views: Vec<jitdesk::json::Request> =
            serde_json::from_value(Value::Array(listed)).expect("requests");
        for view in views {
            let request = AccessRequest::from(view);
            if let Some((at, _)) = request.deadline()
                && next.is_none_or(|(n, _)| at < n)
            {
                next = Some((at, request.id));
            }
        }
    }
    next
}

async fn idle(service: &Service, table: &mut Table) {
    let hz = clock_ticks_per_second();
    let next = next_deadline(&service.socket).await;
    let span = SETTLE + IDLE * 2 + IDLE_SUBSCRIBED;
    let (clear, said) = match next {
        Some((at, id)) => {
            let left = (at - Utc::now()).to_std().unwrap_or_default();
            let said = format!(
                "request {id} at {} (in {:.1} min)",
                at.format("%H:%M:%S UTC"),
                left.as_secs_f64() / 60.0
            );
            (left > span, said)
        }
        None => (true, "none".to_string()),
    };
    println!(
        "\n[3] idle: next deadline {said}{}; windows: {} s right after the last client left, the {} s after that, {} s with one idle subscriber",
        if clear { "" } else { ", INSIDE the windows: its wakeup counts" },
        IDLE.as_secs(),
        IDLE.as_secs(),
        IDLE_SUBSCRIBED.as_secs()
    );

    tokio::time::sleep(SETTLE).await;
    let t0 = snapshot(service.pid);
    tokio::time::sleep(IDLE).await;
    let t1 = snapshot(service.pid);
    tokio::time::sleep(IDLE).await;
    let t2 = snapshot(service.pid);
    let (after_load, alone) = (quiet(&t0, &t1, hz), quiet(&t1, &t2, hz));
    println!("    first {} s: {}", IDLE.as_secs(), describe(&after_load));
    println!("    next {} s: {}", IDLE.as_secs(), describe(&alone));

    // One idle subscriber; its keep-alive comments are counted as they come.
    let mut stream = Stream::open(&service.socket).await;
    let before = snapshot(service.pid);
    let until = tokio::time::Instant::now() + IDLE_SUBSCRIBED;
    let (mut keep_alives, mut events) = (0, 0);
    while let Ok(Some((_, blocks))) = tokio::time::timeout_at(until, stream.next(IDLE_SUBSCRIBED * 2)).await {
        for block in blocks {
            match block {
                Block::Comment => keep_alives += 1,
                Block::Event { .. } => events += 1,
            }
        }
    }
    let subscribed = quiet(&before, &snapshot(service.pid), hz);
    drop(stream);
    println!(
        "    one subscriber, {} s: {}; it received {keep_alives} keep-alive comments and {events} events",
        IDLE_SUBSCRIBED.as_secs(),
        describe(&subscribed)
    );

    // A thread that ended woke once more to do so.
    let woke = |q: &Quiet| q.wakeups + q.ended as u64;
    let result = |q: &Quiet, window: Duration| {
        format!("{} wakeups ({:.1}/s), {:.2} s CPU", woke(q), woke(q) as f64 / window.as_secs_f64(), q.cpu)
    };
    let ended = format!("(info: {} threads ended)", after_load.ended);
    table.add(Line {
        figure: "[3] idle 10 s, no client",
        result: result(&alone, IDLE),
        median: None,
        p99: None,
        baseline: "..".into(),
        ratio: None,
        target: if clear { "zero wakeups (no deadline due)" } else { "(a deadline fell inside)" },
        met: clear.then_some(woke(&alone) == 0),
    });
    table.add(Line {
        figure: "    first 10 s after the load",
        result: result(&after_load, IDLE),
        median: None,
        p99: None,
        baseline: "..".into(),
        ratio: None,
        target: &ended,
        met: None,
    });
    let target = match keep_alives {
        0 => "(no keep-alive arrived)".to_string(),
        n => format!("(info: {n} keep-alive, {:.0} wakeups each)", woke(&subscribed) as f64 / n as f64),
    };
    table.add(Line {
        figure: "    idle 16 s, 1 SSE subscriber",
        result: result(&subscribed, IDLE_SUBSCRIBED),
        median: None,
        p99: None,
        baseline: "..".into(),
        ratio: None,
        target: &target,
        met: None,
    });
}
