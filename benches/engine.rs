//! The benchmark figures, each with its baseline measured in the same run.
//!
//! Run with `cargo bench --bench engine`. A plain harness (no criterion): it prints the machine, then one
//! table of medians (p99 where it matters) and ratios against the baseline or the target.
//!
//! 1. A durable approval through the engine vs one raw 4 KiB write + fsync in the same directory,
//!    interleaved sample by sample so that disk noise hits both alike.
//! 2. `access check`, `request list --state Pending` and a customer's `request list` (a user who sees
//!    few of the store's applications) as whole processes on a store made by
//!    `init --sample --scale 100000`, vs `jitdesk --version`, interleaved round by round; and, for
//!    information, one export of its whole audit log as CSV.
//! 3. 10,000 grants ending at the same instant, expired by one `sync` under a manual clock.
//! 4. Expiry lateness under the system clock: end time to the `AccessExpired` event.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use jitdesk::domain::{Action, ApprovalMode, Period, RequestState, Target};
use jitdesk::engine::{Decide, Engine, ManualClock, SystemClock, Viewer};
use jitdesk::engine::{OpenMode, RequestFilter};
use tokio::sync::broadcast::error::RecvError;

mod common;
use common::directory::{APPROVER, ask, directory, requests, user};
use common::{describe_machine, median, msf, percentile, sorted};

const BIN: &str = env!("CARGO_BIN_EXE_jitdesk");

const APPROVALS: usize = 200;
const RAW_WRITES: usize = 200;
const WARMUP: usize = 10;
const SCALE: usize = 100_000;
const CLI_ROUNDS: usize = 30;
const EXPIRIES: usize = 10_000;
const EXPIRY_REPEATS: usize = 3;
const LATENESS_GRANTS: usize = 500;

fn main() {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("jitdesk-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory under the target dir");
    describe_machine(dir.path(), BIN);
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");

    // `cargo bench --bench engine -- approval lateness` runs only the figures named (approval, cli,
    // expiries, lateness); cargo's own `--bench` flag is ignored.
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| name.contains(w.as_str()));

    let mut table = Table::default();
    if run("approval") {
        runtime.block_on(durable_approval(dir.path(), &mut table));
    }
    if run("cli") {
        cli_on_scale_store(dir.path(), &mut table);
    }
    if run("expiries") {
        runtime.block_on(simultaneous_expiries(dir.path(), &mut table));
    }
    if run("lateness") {
        runtime.block_on(expiry_lateness(dir.path(), &mut table));
    }

    println!();
    table.print();
    println!("\n(whole bench: {})", msf(started.elapsed().as_secs_f64()));
}

// ---------------------------------------------------------------------------------------------------
// The table

#[derive(Default)]
struct Table {
    rows: Vec<[String; 7]>,
}

struct Row<'a> {
    figure: &'a str,
    median: f64,
    p99: Option<f64>,
    baseline: Option<f64>,
    /// The value compared with the baseline (the median unless the target is about the p99).
    compared: f64,
    /// The highest ratio that meets the target; None for rows that are only information.
    limit: Option<f64>,
    target: &'a str,
}

impl Table {
    fn add(&mut self, row: Row<'_>) {
        let ratio = row.baseline.map(|b| row.compared / b);
        let verdict = match (ratio, row.limit) {
            (Some(r), Some(limit)) if r <= limit => "ok",
            (Some(_), Some(_)) => "MISS",
            _ => "",
        };
        self.rows.push([
            row.figure.to_string(),
            msf(row.median),
            row.p99.map_or("..".into(), msf),
            row.baseline.map_or("..".into(), msf),
            ratio.map_or("..".into(), |r| format!("{r:.2}x")),
            row.target.to_string(),
            verdict.to_string(),
        ]);
    }

    fn print(&self) {
        let head = ["figure", "median", "p99", "baseline", "ratio", "target", ""];
        let mut widths = head.map(str::len);
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: [&str; 7]| {
            let mut out = format!("{:<w$}", cells[0], w = widths[0]);
            for i in 1..5 {
                out += &format!("  {:>w$}", cells[i], w = widths[i]);
            }
            out += &format!("  {:<w$}  {}", cells[5], cells[6], w = widths[5]);
            println!("{}", out.trim_end());
        };
        line(head);
        for row in &self.rows {
            line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5], &row[6]]);
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// 1. Durable approval vs raw 4 KiB write + fsync

async fn durable_approval(dir: &Path, table: &mut Table) {
    println!(
        "\n[1] durable approval: preparing {} pending requests on a manual application",
        APPROVALS + WARMUP
    );
    let path = dir.join("approve.redb");
    let engine = Engine::open(&path, OpenMode::Create, Arc::new(SystemClock)).await.expect("open");
    let directory = directory(&engine, APPROVALS + WARMUP, 1, ApprovalMode::ManualApprove).await;
    let pending = requests(&engine, &directory, APPROVALS + WARMUP, Period::from_hours(1), None).await;
    assert!(pending.iter().all(|r| r.state == RequestState::Pending));

    // Appending grows the file, so its fsync also commits the new size: what a log append costs.
    let mut append =
        OpenOptions::new().create(true).append(true).open(dir.join("raw-append.bin")).expect("raw file");
    // Overwriting allocated blocks needs only the data and a cache flush: the cheapest durable write.
    let overwrite_path = dir.join("raw-overwrite.bin");
    let mut overwrite = File::create(&overwrite_path).expect("raw file");
    overwrite.write_all(&vec![0u8; 4096 * 64]).expect("preallocate");
    overwrite.sync_all().expect("sync");
    let block = vec![0xA5u8; 4096];

    let approver = user(APPROVER);
    let (mut approve, mut raw_append, mut raw_overwrite) = (Vec::new(), Vec::new(), Vec::new());
    for (i, request) in pending.iter().enumerate() {
        let warm = i < WARMUP;
        // Rotate the order so neither kind always follows the other.
        for k in 0..3 {
            match (i + k) % 3 {
                0 => {
                    let t = Instant::now();
                    let decided = engine
                        .run(
                            &approver,
                            Decide { id: request.id, approve: true, reason: "ok for the benchmark".into() },
                        )
                        .await
                        .expect("approval");
                    let took = t.elapsed().as_secs_f64();
                    assert_eq!(decided.state, RequestState::Approved);
                    if !warm {
                        approve.push(took);
                    }
                }
                1 => {
                    let t = Instant::now();
                    append.write_all(&block).expect("write");
                    append.sync_all().expect("fsync");
                    if !warm && raw_append.len() < RAW_WRITES {
                        raw_append.push(t.elapsed().as_secs_f64());
                    }
                }
                _ => {
                    use std::io::{Seek, SeekFrom};
                    let t = Instant::now();
                    overwrite.seek(SeekFrom::Start(4096 * (i as u64 % 64))).expect("seek");
                    overwrite.write_all(&block).expect("write");
                    overwrite.sync_data().expect("fdatasync");
                    if !warm && raw_overwrite.len() < RAW_WRITES {
                        raw_overwrite.push(t.elapsed().as_secs_f64());
                    }
                }
            }
        }
    }
    engine.close().await.expect("close");

    let (m, p) = (median(&approve), percentile(&approve, 99.0));
    let base = median(&raw_append);
    println!(
        "    {} approvals, {} raw appends, {} raw overwrites; approval min {} max {}",
        approve.len(),
        raw_append.len(),
        raw_overwrite.len(),
        msf(sorted(&approve)[0]),
        msf(*sorted(&approve).last().unwrap_or(&f64::NAN))
    );
    table.add(Row {
        figure: "raw 4 KiB append + fsync",
        median: base,
        p99: Some(percentile(&raw_append, 99.0)),
        baseline: None,
        compared: base,
        limit: None,
        target: "(baseline of [1])",
    });
    table.add(Row {
        figure: "raw 4 KiB overwrite + fdatasync",
        median: median(&raw_overwrite),
        p99: Some(percentile(&raw_overwrite, 99.0)),
        baseline: None,
        compared: f64::NAN,
        limit: None,
        target: "(stricter baseline, for reference)",
    });
    table.add(Row {
        figure: "[1] durable approval (engine)",
        median: m,
        p99: Some(p),
        baseline: Some(base),
        compared: m,
        limit: Some(2.0),
        target: "<= 2x raw 4 KiB append+fsync",
    });
    table.add(Row {
        figure: "    same, vs overwrite+fdatasync",
        median: m,
        p99: None,
        baseline: Some(median(&raw_overwrite)),
        compared: m,
        limit: None,
        target: "(reference)",
    });
}

// ---------------------------------------------------------------------------------------------------
// 2. CLI processes on a 100k store vs `jitdesk --version`

fn jitdesk(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("JITDESK_STORE").env_remove("JITDESK_USER");
    cmd
}

/// Runs a process with its output thrown away; returns its wall time and exit code.
fn timed(args: &[&str]) -> (f64, i32) {
    let t = Instant::now();
    let status = jitdesk(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
    let took = t.elapsed().as_secs_f64();
    let status = status.expect("jitdesk runs");
    (took, status.code().unwrap_or(-1))
}

fn cli_on_scale_store(dir: &Path, table: &mut Table) {
    let store: PathBuf = dir.join("scale.redb");
    let s = store.to_str().expect("a UTF-8 path");
    println!("\n[2] building the store: jitdesk init --sample --scale {SCALE}");
    let t = Instant::now();
    let out = jitdesk(&["--store", s, "init", "--sample", "--scale", &SCALE.to_string()])
        .output()
        .expect("init runs");
    let build = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
    let size = std::fs::metadata(&store).map_or(0, |m| m.len());
    println!("    {}    {} MB on disk", String::from_utf8_lossy(&out.stdout).trim(), size / 1_000_000);
    // Audit records, notifications and every index included: the whole file over the requests.
    println!("    {} bytes of file per request (target: at most 800)", size / SCALE as u64);
    // Right after the bulk load, fsyncs on this disk took several times longer for half a minute or so
    // (access check 12 ms falling to 5 ms); flush first, so that the settled state is measured.
    let t = Instant::now();
    let synced = Command::new("sync").status().is_ok_and(|s| s.success());
    println!(
        "    sync after the build: {} ({})",
        msf(t.elapsed().as_secs_f64()),
        if synced { "done" } else { "unavailable" }
    );

    // A synthetic (scale) application and publisher, from the newest requests.
    let out =
        jitdesk(&["--store", s, "request", "list", "--json", "--limit", "50"]).output().expect("list runs");
    assert!(out.status.success(), "request list failed: {}", String::from_utf8_lossy(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("request list --json is JSON");
    let items = listed.as_array().expect("a JSON array");
    let field = |r: &serde_json::Value, k: &str| r[k].as_str().unwrap_or_default().to_string();
    let synthetic = |r: &&serde_json::Value| field(r, "application").starts_with("tailspin-");
    let pick = items
        .iter()
        .filter(synthetic)
        .find(|r| field(r, "jitRequestState") == "Approved")
        .or_else(|| items.iter().find(synthetic))
        .or(items.first())
        .expect("the store has requests");
    let (app, upn) = (field(pick, "application"), field(pick, "requester"));
    println!("    access check on --app {app} --user {upn} ({} request)", field(pick, "jitRequestState"));

    let version: [&str; 1] = ["--version"];
    let check = ["--store", s, "access", "check", "--app", &app, "--user", &upn];
    // The figure is defined on 50 rows (the list's default when it was set); the default is 100 now.
    let list = ["--store", s, "request", "list", "--state", "Pending", "--limit", "50"];
    // A customer who sees a handful of the store's applications: read through their indexes alone.
    let few = ["--store", s, "--as", "alice@contoso.com", "request", "list", "--limit", "50"];
    let commands: [&[&str]; 4] = [&version, &check, &list, &few];
    let mut times: [Vec<f64>; 4] = Default::default();
    let mut codes: [Vec<i32>; 4] = Default::default();
    // Warm the page cache and the binary, then interleave: round r starts with command r % 4.
    for round in 0..CLI_ROUNDS + 4 {
        for k in 0..4 {
            let which = (round + k) % 4;
            let (took, code) = timed(commands[which]);
            codes[which].push(code);
            if round >= 4 {
                times[which].push(took);
            }
        }
    }
    assert!(codes[0].iter().all(|c| *c == 0), "--version failed: {:?}", codes[0]);
    assert!(codes[1].iter().all(|c| *c == 0 || *c == 3), "access check failed: {:?}", codes[1]);
    assert!(codes[2].iter().all(|c| *c == 0), "request list failed: {:?}", codes[2]);
    assert!(codes[3].iter().all(|c| *c == 0), "request list as alice failed: {:?}", codes[3]);
    println!("    access check exit code {} (0 = has access, 3 = none)", codes[1][0]);

    let base = median(&times[0]);
    table.add(Row {
        figure: "init --sample --scale 100000 (build)",
        median: build,
        p99: None,
        baseline: None,
        compared: build,
        limit: None,
        target: "(setup, once)",
    });
    table.add(Row {
        figure: "jitdesk --version",
        median: base,
        p99: None,
        baseline: None,
        compared: base,
        limit: None,
        target: "(baseline of [2])",
    });
    let figures = [
        (1, "[2] access check (100k store)", 1.3, "<= 1.3x jitdesk --version"),
        (2, "[2] request list --state Pending --limit 50", 1.3, "<= 1.3x jitdesk --version"),
        (3, "[2] request list as a user of few applications", 1.5, "<= 1.5x jitdesk --version"),
    ];
    for (which, figure, limit, target) in figures {
        let m = median(&times[which]);
        table.add(Row {
            figure,
            median: m,
            p99: None,
            baseline: Some(base),
            compared: m,
            limit: Some(limit),
            target,
        });
    }

    // The whole audit log as CSV, once: a page of 1000 records at a time, so only the time grows.
    let (took, code) = timed(&["--store", s, "export", "audit", "--format", "csv"]);
    assert_eq!(code, 0, "export audit failed");
    table.add(Row {
        figure: "[2] export audit --format csv (whole 100k store)",
        median: took,
        p99: None,
        baseline: None,
        compared: took,
        limit: None,
        target: "(information)",
    });
}

// ---------------------------------------------------------------------------------------------------
// 3. 10,000 simultaneous expiries in one pass

async fn simultaneous_expiries(dir: &Path, table: &mut Table) {
    println!("\n[3] {EXPIRIES} simultaneous expiries, {EXPIRY_REPEATS} times");
    let (publishers, apps) = (100, EXPIRIES.div_ceil(100));
    let mut passes = Vec::new();
    for rep in 0..EXPIRY_REPEATS {
        let t0: DateTime<Utc> = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("a time");
        let clock = Arc::new(ManualClock::new(t0));
        let path = dir.join(format!("expiry-{rep}.redb"));
        let engine = Engine::open(&path, OpenMode::Create, clock.clone()).await.expect("open");
        let directory = directory(&engine, publishers, apps, ApprovalMode::AutoApprove).await;
        let setup = Instant::now();
        let granted = requests(&engine, &directory, EXPIRIES, Period::from_hours(1), None).await;
        let setup = setup.elapsed().as_secs_f64();
        let end = t0 + TimeDelta::hours(1);
        assert!(granted.iter().all(|r| r.state == RequestState::Approved && r.end() == Some(end)));

        clock.set(end + TimeDelta::seconds(1));
        let t = Instant::now();
        engine.sync().await.expect("sync");
        let took = t.elapsed().as_secs_f64();

        let expired = engine
            .requests(
                &Viewer::Operator,
                RequestFilter { state: Some(RequestState::Expired), ..RequestFilter::default() },
            )
            .await
            .expect("list");
        let approved = engine
            .requests(
                &Viewer::Operator,
                RequestFilter { state: Some(RequestState::Approved), ..RequestFilter::default() },
            )
            .await
            .expect("list");
        engine.close().await.expect("close");
        let _ = std::fs::remove_file(&path);
        println!(
            "    run {}: created {} grants in {}, expired them in {}; {} Expired, {} still Approved",
            rep + 1,
            granted.len(),
            msf(setup),
            msf(took),
            expired.items.len(),
            approved.items.len()
        );
        assert_eq!(expired.items.len(), EXPIRIES, "every grant must have expired");
        assert!(approved.items.is_empty());
        passes.push(took);
    }
    let m = median(&passes);
    table.add(Row {
        figure: "[3] 10,000 simultaneous expiries",
        median: m,
        p99: None,
        baseline: Some(0.5),
        compared: m,
        limit: Some(1.0),
        target: "< 0.5 s (baseline = target)",
    });
}

// ---------------------------------------------------------------------------------------------------
// 4. Expiry lateness under the system clock

async fn expiry_lateness(dir: &Path, table: &mut Table) {
    println!("\n[4] expiry lateness: {LATENESS_GRANTS} automatic grants of 1..=5 s, created over ~1 s");
    let path = dir.join("lateness.redb");
    let engine = Engine::open(&path, OpenMode::Create, Arc::new(SystemClock)).await.expect("open");
    let directory = directory(&engine, 100, LATENESS_GRANTS.div_ceil(100), ApprovalMode::AutoApprove).await;

    // Received on a thread of its own, so the moment is not delayed by this runtime's scheduling.
    let mut events = engine.subscribe();
    let listener = std::thread::spawn(move || {
        let mut seen = Vec::new();
        loop {
            match events.blocking_recv() {
                Ok(event) => {
                    let at = Utc::now();
                    if let (Action::AccessExpired, Target::Request(id)) =
                        (event.record.action, &event.record.target)
                    {
                        seen.push((*id, at));
                        if seen.len() == LATENESS_GRANTS {
                            return (seen, 0);
                        }
                    }
                }
                Err(RecvError::Lagged(n)) => panic!("the listener lagged by {n} events"),
                Err(RecvError::Closed) => return (seen, 1),
            }
        }
    });

    // One request every 2 ms (or back to back when a commit takes longer), each ending 1..=5 s later.
    let start = tokio::time::Instant::now();
    let mut ends = std::collections::HashMap::new();
    for i in 0..LATENESS_GRANTS {
        tokio::time::sleep_until(start + Duration::from_millis(2 * i as u64)).await;
        let app = &directory.apps[i % directory.apps.len()];
        let publisher = &directory.publishers[i / directory.apps.len()];
        let duration = Period::from_secs(1 + (i % 5) as i64);
        let r = engine.run(&user(publisher), ask(app, duration)).await.expect("request");
        assert_eq!(r.state, RequestState::Approved);
        ends.insert(r.id, r.end().expect("an approved request has an end"));
    }
    let created_in = start.elapsed();
    let last_end = ends.values().max().copied().expect("grants");
    // Give the ticker until two seconds past the last end, then stop the engine either way.
    let wait = (last_end - Utc::now() + TimeDelta::seconds(2)).to_std().unwrap_or_default();
    let deadline = Instant::now() + wait;
    while !listener.is_finished() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let expired = engine
        .requests(
            &Viewer::Operator,
            RequestFilter { state: Some(RequestState::Expired), ..RequestFilter::default() },
        )
        .await
        .expect("list");
    engine.close().await.expect("close");
    let (seen, _) = listener.join().expect("the listener");

    let lateness: Vec<f64> =
        seen.iter().filter_map(|(id, at)| ends.get(id).map(|end| (*at - *end).as_seconds_f64())).collect();
    let early = lateness.iter().filter(|l| **l < 0.0).count();
    println!(
        "    created in {}; {} AccessExpired events for {} grants ({} Expired in the store); lateness min {} max {}; {} early",
        msf(created_in.as_secs_f64()),
        seen.len(),
        ends.len(),
        expired.items.len(),
        msf(sorted(&lateness).first().copied().unwrap_or(f64::NAN)),
        msf(sorted(&lateness).last().copied().unwrap_or(f64::NAN)),
        early
    );
    let complete = seen.len() == LATENESS_GRANTS;
    let p99 = if complete { percentile(&lateness, 99.0) } else { f64::INFINITY };
    table.add(Row {
        figure: "[4] expiry lateness (end -> event)",
        median: median(&lateness),
        p99: Some(p99),
        baseline: Some(0.05),
        compared: p99,
        limit: Some(1.0),
        target: "p99 < 50 ms (ratio = p99/target)",
    });
}
