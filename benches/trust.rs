//! What one caller can take from everyone, measured on the real release binary through its socket:
//! the figures behind the service's limits, which tests only assert loosely ("it answered").
//!
//! Run with `cargo bench --bench trust` (`-- lists memory fairness log` runs only the figures named;
//! `JITDESK_BENCH_SCALE=N` changes the store's size, 100,000 requests by default). It builds a store
//! with `init --sample --scale`, serves it, and prints one table at the end.
//!
//! 1. Lists: `GET /v1/requests?limit=50` for a user who sees a handful of requests (alice, the sample's
//!    contoso approver) beside one who sees all the synthetic ones (morgan, tailspin's approver) and
//!    the operator. A scoped list walks only the caller's applications, so alice's is the cheaper.
//! 2. Memory: the service's resident memory before and after walking `GET /v1/access` to its end,
//!    page by page (`limit=1000`, following `Link: rel="next"`), four times.
//! 3. Fairness (as root, with real OS users; skipped otherwise): an operator's call, each on a new
//!    connection, alone; then while another uid (a mapped publisher) tries to hold 1,000 event
//!    streams; then while an unmapped uid holds 1,100 connections with half-sent headers.
//! 4. Log: bytes the service logs per second while an unmapped uid floods it with refused calls.
//!
//! The hogs are this same program run as another user: `trust hog streams|headers|flood SOCKET N SECS`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{Line, Table, describe_machine, jitdesk, msf, p50, p99};

const BIN: &str = env!("CARGO_BIN_EXE_jitdesk");
const SCALE: usize = 100_000;
/// Rounds of each list call.
const LIST_ROUNDS: usize = 60;
/// Walks of the whole grant list.
const WALKS: usize = 4;
/// The operator's calls in each fairness phase.
const VICTIM_CALLS: usize = 100;
/// What the hogs try to take.
const STREAMS: usize = 1_000;
const HALF_HEADERS: usize = 1_100;
/// How long the flood of refused calls runs.
const FLOOD: Duration = Duration::from_secs(5);
/// Longest wait for one answer; a call that takes longer counts as this long.
const CALL_LIMIT: Duration = Duration::from_secs(20);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("hog") {
        hog(&args[1..]);
        return;
    }
    let wanted: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let chosen = |figure: &str| wanted.is_empty() || wanted.iter().any(|w| figure.contains(w.as_str()));
    let scale = std::env::var("JITDESK_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(SCALE);

    let began = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("jitdesk-trust-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory under the target dir");
    describe_machine(dir.path(), BIN);
    let mut table = Table::default();

    let store = dir.path().join("trust.redb");
    let t = Instant::now();
    let init = jitdesk(dir.path())
        .arg("--store")
        .arg(&store)
        .args(["init", "--sample", "--scale", &scale.to_string()])
        .output()
        .expect("init runs");
    assert!(init.status.success(), "init failed: {}", String::from_utf8_lossy(&init.stderr));
    println!("store: {} in {:.1} s", String::from_utf8_lossy(&init.stdout).trim(), t.elapsed().as_secs_f64());

    let users = OsUsers::make(dir.path(), &store);
    let service = Service::start(dir.path(), &store, users.as_ref().map(|u| u.group.as_str()));

    if chosen("lists") {
        lists(&service, scale, &mut table);
    }
    if chosen("memory") {
        memory(&service, &mut table);
    }
    match &users {
        Some(users) => {
            if chosen("fairness") {
                fairness(&service, users, &mut table);
            }
            if chosen("log") {
                log_flood(&service, users, dir.path(), &mut table);
            }
        }
        None => println!("\nfairness and log: skipped, they need root to run callers as other OS users"),
    }
    drop(service);
    drop(users);
    println!();
    table.print();
    println!("\n(whole bench: {:.1} s)", began.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------------------
// The service and its callers

struct Service {
    child: Child,
    socket: PathBuf,
}

impl Service {
    fn start(dir: &Path, store: &Path, group: Option<&str>) -> Service {
        let socket = dir.join("api.sock");
        let mut cmd = jitdesk(dir);
        cmd.arg("--store").arg(store).arg("serve").arg("--socket").arg(&socket);
        if let Some(group) = group {
            cmd.args(["--group", group]);
        }
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("serve starts");
        let until = Instant::now() + Duration::from_secs(30);
        while get(&socket, "/v1/health", None).map(|a| a.status) != Some(200) {
            assert!(Instant::now() < until, "the service did not answer on {}", socket.display());
            std::thread::sleep(Duration::from_millis(50));
        }
        Service { child, socket }
    }

    /// Resident and peak memory, in MB, from /proc.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(f64::NAN, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer, read whole.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// A GET on a new connection, as a CLI call makes one; None when nothing came back in time.
fn get(socket: &Path, path: &str, as_user: Option<&str>) -> Option<Answer> {
    let mut stream = UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(CALL_LIMIT)).ok()?;
    let as_header = as_user.map(|u| format!("X-Jitdesk-As: {u}\r\n")).unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: jitdesk\r\n{as_header}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some(Answer { status, head, body: raw[split + 4..].to_vec() })
}

/// A timed GET: seconds, and the answer.
fn timed(socket: &Path, path: &str, as_user: Option<&str>) -> (f64, Option<Answer>) {
    let t = Instant::now();
    let answer = get(socket, path, as_user);
    (t.elapsed().as_secs_f64().min(CALL_LIMIT.as_secs_f64()), answer)
}

/// The items of a JSON list answer (an array, or an object with `value`).
fn items(answer: &Answer) -> usize {
    let body = dechunk(&answer.body);
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Array(a)) => a.len(),
        Ok(v) => v.get("value").and_then(|v| v.as_array()).map_or(0, Vec::len),
        Err(_) => 0,
    }
}

/// The body without HTTP/1.1 chunk framing, when it has some.
fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else { return body.to_vec() };
        let Ok(size) = usize::from_str_radix(String::from_utf8_lossy(&rest[..end]).trim(), 16) else {
            return body.to_vec();
        };
        if size == 0 {
            return out;
        }
        let from = end + 2;
        let Some(chunk) = rest.get(from..from + size) else { return body.to_vec() };
        out.extend_from_slice(chunk);
        rest = rest.get(from + size + 2..).unwrap_or_default();
    }
}

// ---------------------------------------------------------------------------------------------------
// 1. Lists for a user who sees little, and one who sees much

fn lists(service: &Service, scale: usize, table: &mut Table) {
    println!("\n[1] GET /v1/requests?limit=50, {LIST_ROUNDS} rounds, interleaved");
    let callers: [(&str, Option<&str>); 3] = [
        ("alice@contoso.com (sees the sample)", Some("alice@contoso.com")),
        ("morgan@tailspin.com (sees the synthetic load)", Some("morgan@tailspin.com")),
        ("the operator (sees everything)", None),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); callers.len()];
    let mut counts = vec![0; callers.len()];
    for round in 0..LIST_ROUNDS + 3 {
        for (i, (_, upn)) in callers.iter().enumerate() {
            let (took, answer) = timed(&service.socket, "/v1/requests?limit=50", *upn);
            let answer = answer.expect("the list answers");
            assert_eq!(answer.status, 200, "list as {upn:?}: {}", String::from_utf8_lossy(&answer.body));
            counts[i] = items(&answer);
            if round >= 3 {
                times[i].push(took);
            }
        }
    }
    let base = p50(&times[2]);
    for (i, (who, _)) in callers.iter().enumerate() {
        println!("    {who}: {} items, median {}", counts[i], msf(p50(&times[i])));
        table.add(Line {
            figure: ["[1] list 50 as alice", "[1] list 50 as morgan", "[1] list 50 as operator"][i],
            result: format!("{} items, {scale} in store", counts[i]),
            median: Some(p50(&times[i])),
            p99: Some(p99(&times[i])),
            baseline: "operator".into(),
            ratio: Some(p50(&times[i]) / base),
            target: "milliseconds",
            met: Some(p50(&times[i]) < 0.05),
        });
    }
}

// ---------------------------------------------------------------------------------------------------
// 2. Memory over whole walks of the grant list

fn memory(service: &Service, table: &mut Table) {
    println!("\n[2] service memory over {WALKS} walks of GET /v1/access");
    let (before, _) = service.memory();
    let mut grants = 0;
    let mut pages = 0;
    let t = Instant::now();
    for _ in 0..WALKS {
        let mut next = Some("/v1/access?limit=1000".to_string());
        grants = 0;
        while let Some(path) = next.take() {
            let answer = get(&service.socket, &path, None).expect("the grant list answers");
            assert_eq!(answer.status, 200, "{path}: {}", String::from_utf8_lossy(&answer.body));
            grants += items(&answer);
            pages += 1;
            next = answer.header("link").and_then(|l| next_link(&l));
        }
    }
    let took = t.elapsed().as_secs_f64() / WALKS as f64;
    let (after, peak) = service.memory();
    println!(
        "    {grants} grants in {} pages a walk, {took:.2} s a walk; RSS {before:.0} MB before, {after:.0} MB after, peak {peak:.0} MB",
        pages / WALKS
    );
    table.add(Line {
        figure: "[2] service RSS after 4 grant walks",
        result: format!("{after:.0} MB (peak {peak:.0}, {grants} grants)"),
        median: None,
        p99: None,
        baseline: format!("{before:.0} MB before"),
        ratio: Some(after / before),
        target: "flat",
        met: Some(after < before * 1.5 + 16.0),
    });
}

/// The target of `Link: <...>; rel="next"`.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let start = part.find('<')? + 1;
        let end = part.find('>')?;
        let target = &part[start..end];
        // A full URL or a path: the path is what goes on the socket.
        Some(target.find("/v1/").map_or(target, |i| &target[i..]).to_string())
    })
}

// ---------------------------------------------------------------------------------------------------
// 3. Fairness, and 4. the log under a flood

/// Real OS users for the callers that are not the operator: a mapped publisher and an unmapped user,
/// in a group that may use the socket. Removed again on drop.
struct OsUsers {
    group: String,
    publisher: String,
    unmapped: String,
}

impl OsUsers {
    fn make(dir: &Path, store: &Path) -> Option<OsUsers> {
        if !nix::unistd::geteuid().is_root() {
            return None;
        }
        let pid = std::process::id();
        let users = OsUsers {
            group: format!("jdtrust{pid}"),
            publisher: format!("jdhog{pid}"),
            unmapped: format!("jdflood{pid}"),
        };
        let ok = |program: &str, args: &[&str]| {
            Command::new(program).args(args).status().is_ok_and(|s| s.success())
        };
        if !ok("groupadd", &[&users.group]) {
            println!("(cannot add OS groups: fairness and log figures skipped)");
            return None;
        }
        for name in [&users.publisher, &users.unmapped] {
            assert!(ok("useradd", &["-M", "-N", "-g", &users.group, name]), "useradd {name}");
        }
        // The hogs reach the socket through the bench folder and run this program.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711))
            .expect("chmod the bench folder");
        let added = jitdesk(dir)
            .arg("--store")
            .arg(store)
            .args(["user", "add", "hog@fabrikam.com", "--tenant", "fabrikam", "--login", &users.publisher])
            .output()
            .expect("user add runs");
        assert!(added.status.success(), "user add: {}", String::from_utf8_lossy(&added.stderr));
        Some(users)
    }

    /// This program as `user`, in hog mode, with room for its descriptors. It stops when its
    /// standard input closes (`Hog::stop`), since `runuser` does not pass a kill on to it.
    fn hog(&self, user: &str, mode: &str, socket: &Path, count: usize, secs: u64) -> Hog {
        let me = std::env::current_exe().expect("this program's path");
        let line = format!(
            "ulimit -n 8192; exec runuser -u {user} -- {} hog {mode} {} {count} {secs}",
            me.display(),
            socket.display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &line])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the hog starts");
        let out = std::io::BufReader::new(child.stdout.take().expect("a piped stdout"));
        Hog { child, out }
    }
}

/// A hog running as another user.
struct Hog {
    child: Child,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl Hog {
    /// Its next line: "held N of M" once it holds what it could get, its count when it is done.
    fn line(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        let _ = self.out.read_line(&mut line);
        line.trim().to_string()
    }

    /// Closes its input, so that it lets go of everything and ends; waits for that.
    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for OsUsers {
    fn drop(&mut self) {
        for name in [&self.publisher, &self.unmapped] {
            let _ = Command::new("userdel").arg(name).status();
        }
        let _ = Command::new("groupdel").arg(&self.group).status();
    }
}

fn victim(socket: &Path) -> Vec<f64> {
    (0..VICTIM_CALLS)
        .map(|_| {
            let (took, answer) = timed(socket, "/v1/requests?limit=1", None);
            match answer {
                Some(a) if a.status == 200 => took,
                _ => CALL_LIMIT.as_secs_f64(),
            }
        })
        .collect()
}

fn fairness(service: &Service, users: &OsUsers, table: &mut Table) {
    println!("\n[3] the operator's call, {VICTIM_CALLS} times on new connections, while another uid hogs");
    let alone = victim(&service.socket);
    let base = p50(&alone);
    println!("    alone: median {}, p99 {}", msf(base), msf(p99(&alone)));
    table.add(Line {
        figure: "[3] operator's call, alone",
        result: "answered".into(),
        median: Some(base),
        p99: Some(p99(&alone)),
        baseline: String::new(),
        ratio: None,
        target: "(baseline)",
        met: None,
    });
    let phases = [
        ("streams", &users.publisher, STREAMS, "[3] ... while a publisher holds event streams"),
        ("headers", &users.unmapped, HALF_HEADERS, "[3] ... while an unmapped uid sends half headers"),
    ];
    for (mode, user, count, figure) in phases {
        let mut hog = users.hog(user, mode, &service.socket, count, 120);
        let held = hog.line();
        let during = victim(&service.socket);
        hog.stop();
        println!("    {mode}: hog {held}; median {}, p99 {}", msf(p50(&during)), msf(p99(&during)));
        table.add(Line {
            figure,
            result: held,
            median: Some(p50(&during)),
            p99: Some(p99(&during)),
            baseline: "alone".into(),
            ratio: Some(p50(&during) / base),
            target: "everyone else answered at once",
            met: Some(p99(&during) < 1.0),
        });
        // Its connections close with it; give the service a moment to see that.
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn log_flood(service: &Service, users: &OsUsers, dir: &Path, table: &mut Table) {
    println!("\n[4] the log while an unmapped uid floods the service with refused calls for {FLOOD:?}");
    let log = dir.join("jitdesk").join("jitdesk.log");
    let size = || std::fs::metadata(&log).map_or(0, |m| m.len());
    let before = size();
    let mut hog = users.hog(&users.unmapped, "flood", &service.socket, 8, FLOOD.as_secs());
    let started = Instant::now();
    let held = hog.line();
    let summary = hog.line();
    hog.stop();
    let secs = started.elapsed().as_secs_f64();
    let written = size().saturating_sub(before);
    let rate = written as f64 / secs;
    println!("    hog: {held} {}; log grew {written} bytes in {secs:.1} s", summary.trim());
    table.add(Line {
        figure: "[4] log written under a refusal flood",
        result: format!("{:.1} KB/s ({})", rate / 1000.0, summary.trim()),
        median: None,
        p99: None,
        baseline: String::new(),
        ratio: None,
        target: "a few lines per uid per interval",
        met: Some(rate < 10_000.0),
    });
}

// ---------------------------------------------------------------------------------------------------
// The hogs

/// `hog MODE SOCKET COUNT SECS`: holds COUNT connections (streams, half headers) or floods with
/// COUNT threads of refused calls, for SECS; prints one line once it holds what it could get.
fn hog(args: &[String]) {
    let [mode, socket, count, secs] = args else {
        eprintln!("usage: trust hog streams|headers|flood SOCKET COUNT SECS");
        std::process::exit(2);
    };
    let socket = PathBuf::from(socket);
    let count: usize = count.parse().expect("a count");
    let secs: u64 = secs.parse().expect("seconds");
    let until = Instant::now() + Duration::from_secs(secs);
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    match mode.as_str() {
        "streams" | "headers" => {
            let request: &[u8] = if mode == "streams" {
                b"GET /v1/events HTTP/1.1\r\nHost: jitdesk\r\n\r\n"
            } else {
                b"GET /v1/requests HTTP/1.1\r\nHost: jitdesk\r\n"
            };
            let mut held = Vec::new();
            let mut refused = 0;
            for _ in 0..count {
                match UnixStream::connect(&socket) {
                    Ok(mut s) => {
                        if s.write_all(request).is_ok() {
                            held.push(s);
                        } else {
                            refused += 1;
                        }
                    }
                    Err(_) => refused += 1,
                }
            }
            // A connection the service turned away answers at once or closes: look for a moment.
            std::thread::sleep(Duration::from_millis(500));
            let mut open = 0;
            for s in &mut held {
                let _ = s.set_nonblocking(true);
                let mut buf = [0u8; 64];
                match s.read(&mut buf) {
                    Ok(0) => {}
                    Ok(_) if buf.starts_with(b"HTTP/1.1 200") => open += 1,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => open += 1,
                    Err(_) => {}
                }
            }
            println!("held {open} of {count} ({refused} not even connected)");
            let _ = std::io::stdout().flush();
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
        }
        "flood" => {
            println!("flooding with {count} threads");
            let _ = std::io::stdout().flush();
            let threads: Vec<_> = (0..count)
                .map(|_| {
                    let socket = socket.clone();
                    std::thread::spawn(move || {
                        let mut calls = 0u64;
                        while Instant::now() < until {
                            if get(&socket, "/v1/requests", None).is_some() {
                                calls += 1;
                            }
                        }
                        calls
                    })
                })
                .collect();
            let calls: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
            println!("{calls} refused calls answered");
        }
        other => {
            eprintln!("unknown hog mode {other}");
            std::process::exit(2);
        }
    }
}
