//! The dashboard's benchmark figures, each next to a baseline measured in the same run.
//!
//! Run with `cargo bench --bench dashboard`. A plain harness: it prints the machine, then one table.
//!
//! 1. Time to the first frame with data: `Engine::open` + `Snapshot::load` + `App::on_snapshot` + one
//!    frame drawn into a `CrosstermBackend` over a byte counter, on a store made by
//!    `jitdesk init --sample --scale 100000`, vs the empty store and the small sample, interleaved.
//! 2. Keypress to finished frame on the 100k store as its approver (thousands of pending rows): `on_key`
//!    + one full frame, for j/k, PgDn/PgUp, G/g, filter typing and Tab, vs the small sample.
//! 3. Bytes written while idle: the Access tab with twenty countdowns over 60 simulated seconds, and the
//!    Activity tab (nothing counting down) over 59 seconds, ticking exactly as `tui::event_loop` does.
//! 4. (Information) the real binary in a pty (`script`), from spawn to the first frame with data.
//!
//! Frames are drawn as the loop draws them: `BeginSynchronizedUpdate`, `Terminal::draw`,
//! `EndSynchronizedUpdate`, on a fixed 100x30 viewport (no size ioctl; otherwise the same code path).

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use crossterm::execute;
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use jitdesk::config::Config;
use jitdesk::domain::rules::{Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser};
use jitdesk::domain::{ApprovalMode, License, Period, TenantKind};
use jitdesk::engine::OpenMode;
use jitdesk::engine::{Batch, Engine, ManualClock, SystemClock};
use jitdesk::tui::app::{App, Tab, Ui};
use jitdesk::tui::data::Snapshot;
use jitdesk::tui::rows::Which;
use jitdesk::tui::view;
use ratatui::backend::CrosstermBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

mod common;
use common::{bytes, describe_machine, load_average, median, msf, percentile};

const BIN: &str = env!("CARGO_BIN_EXE_jitdesk");
const SCALE: usize = 100_000;
const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;
const FIRST_FRAME_RUNS: usize = 15;
const KEY_SAMPLES: usize = 2_000;
const GRANTS: usize = 20;
const E2E_ROUNDS: usize = 3;

/// The synthetic tenant's approver (src/sample.rs) and the small sample's admin approver.
const MORGAN: &str = "morgan@tailspin.com";
const ALICE: &str = "alice@contoso.com";

fn main() {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("jitdesk-dashboard-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temporary directory");
    print_machine(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");

    let mut table = Table::default();
    let mut notes = Vec::new();
    let stores = build_stores(dir.path(), &mut table);
    let big = rt.block_on(first_frame(&stores, &mut table, &mut notes));
    let small = rt.block_on(loaded_app(&stores.sample, Some(ALICE)));
    keypresses(big, small, &mut table, &mut notes);
    rt.block_on(idle_bytes(dir.path(), &stores, &mut table, &mut notes));
    end_to_end(dir.path(), &stores, &mut table, &mut notes);

    println!();
    table.print();
    println!();
    for note in notes {
        println!("{note}");
    }
    println!(
        "\n(whole bench: {:.1} s; load average now: {})",
        started.elapsed().as_secs_f64(),
        load_average()
    );
}

// ---------------------------------------------------------------------------------------------------
// The machine

fn print_machine(dir: &Path) {
    describe_machine(dir, BIN);
    println!("source: {}", source_state());
    println!("terminal: {WIDTH}x{HEIGHT}, CrosstermBackend over a byte counter, theme `default`");
}

/// The commit measured, and whether src/ differed from it (other sessions edit the tree).
fn source_state() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(["-C", env!("CARGO_MANIFEST_DIR")])
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim_end().to_string())
            .unwrap_or_default()
    };
    let head = git(&["log", "-1", "--format=%h %s"]);
    let dirty = git(&["status", "--porcelain", "--", "src"]);
    let dirty: Vec<&str> = dirty.lines().map(|l| l.get(3..).unwrap_or(l)).collect();
    if dirty.is_empty() {
        format!("{head} (src/ clean)")
    } else {
        format!("{head} + uncommitted changes in {}", dirty.join(", "))
    }
}

// ---------------------------------------------------------------------------------------------------
// The table

#[derive(Default)]
struct Table {
    rows: Vec<[String; 7]>,
}

impl Table {
    /// `verdict`: Some(true) = meets its target, Some(false) = misses it, None = information.
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        figure: &str,
        median: String,
        p99: String,
        baseline: String,
        ratio: Option<f64>,
        target: &str,
        verdict: Option<bool>,
    ) {
        self.rows.push([
            figure.into(),
            median,
            p99,
            baseline,
            ratio.map_or("..".into(), |r| format!("{r:.2}x")),
            target.into(),
            match verdict {
                Some(true) => "ok".into(),
                Some(false) => "MISS".into(),
                None => String::new(),
            },
        ]);
    }

    fn print(&self) {
        let head = ["figure", "median", "p99", "baseline", "ratio", "target", ""].map(String::from);
        let mut widths = [0usize; 7];
        for row in std::iter::once(&head).chain(&self.rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&head).chain(&self.rows) {
            let mut line = format!("{:<w$}", row[0], w = widths[0]);
            for i in 1..5 {
                line.push_str(&format!("  {:>w$}", row[i], w = widths[i]));
            }
            line.push_str(&format!("  {:<w$}  {}", row[5], row[6], w = widths[5]));
            println!("{}", line.trim_end());
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// A terminal that counts what it is sent

#[derive(Clone, Default)]
struct Meter(Rc<Cell<u64>>);

impl Write for Meter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.set(self.0.get() + buf.len() as u64);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Screen {
    term: Terminal<CrosstermBackend<Meter>>,
    meter: Meter,
}

impl Screen {
    fn new() -> Screen {
        let meter = Meter::default();
        let options = TerminalOptions { viewport: Viewport::Fixed(Rect::new(0, 0, WIDTH, HEIGHT)) };
        let term = Terminal::with_options(CrosstermBackend::new(meter.clone()), options).expect("a terminal");
        Screen { term, meter }
    }

    fn written(&self) -> u64 {
        self.meter.0.get()
    }

    /// One frame as `tui::terminal::frame` draws it; returns the bytes it wrote.
    fn frame(&mut self, app: &App) -> u64 {
        let before = self.written();
        execute!(self.term.backend_mut(), BeginSynchronizedUpdate).expect("write");
        self.term.draw(|f| view::draw(f, app)).expect("draw");
        execute!(self.term.backend_mut(), EndSynchronizedUpdate).expect("write");
        self.written() - before
    }

    /// `Terminal::draw` alone, without the synchronized-update markers; returns bytes written.
    fn draw_only(&mut self, app: &App) -> u64 {
        let before = self.written();
        self.term.draw(|f| view::draw(f, app)).expect("draw");
        self.written() - before
    }

    /// A frame, returning the text on screen.
    fn frame_text(&mut self, app: &App) -> String {
        execute!(self.term.backend_mut(), BeginSynchronizedUpdate).expect("write");
        let done = self.term.draw(|f| view::draw(f, app)).expect("draw");
        let text = text_of(done.buffer);
        execute!(self.term.backend_mut(), EndSynchronizedUpdate).expect("write");
        text
    }
}

fn text_of(buffer: &Buffer) -> String {
    let width = usize::from(buffer.area.width.max(1));
    let mut out = String::new();
    for (i, cell) in buffer.content().iter().enumerate() {
        out.push_str(cell.symbol());
        if (i + 1) % width == 0 {
            out.push('\n');
        }
    }
    out
}

fn ui() -> Ui {
    jitdesk::tui::ui(&Config::default(), Some("default"), false).expect("the built-in default theme")
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

// ---------------------------------------------------------------------------------------------------
// Stores, built by the release binary as a user would

struct Stores {
    empty: PathBuf,
    sample: PathBuf,
    scale: PathBuf,
}

fn jitdesk_init(store: &Path, args: &[&str]) -> f64 {
    let started = Instant::now();
    let out = Command::new(BIN)
        .arg("--store")
        .arg(store)
        .arg("init")
        .args(args)
        .output()
        .expect("run jitdesk init");
    let took = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "jitdesk init {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    took
}

fn build_stores(dir: &Path, table: &mut Table) -> Stores {
    let stores = Stores {
        empty: dir.join("empty.redb"),
        sample: dir.join("sample.redb"),
        scale: dir.join("scale.redb"),
    };
    let empty = jitdesk_init(&stores.empty, &[]);
    let sample = jitdesk_init(&stores.sample, &["--sample"]);
    let scale = jitdesk_init(&stores.scale, &["--sample", "--scale", &SCALE.to_string()]);
    let size = std::fs::metadata(&stores.scale).map_or(0, |m| m.len());
    table.row(
        &format!("build: init --sample --scale {SCALE} ({} MB file)", size / 1_000_000),
        msf(scale),
        "..".into(),
        msf(sample),
        Some(scale / sample),
        "(baseline: init --sample)",
        None,
    );
    table.row("build: init (empty store)", msf(empty), "..".into(), "..".into(), None, "", None);
    stores
}

// ---------------------------------------------------------------------------------------------------
// 1. Time to the first frame

struct Case<'a> {
    label: &'a str,
    path: &'a Path,
    upn: Option<&'a str>,
}

#[derive(Default, Clone)]
struct Phases {
    open: Vec<f64>,
    load: Vec<f64>,
    app: Vec<f64>,
    draw: Vec<f64>,
    /// The rest of the snapshot, its `on_snapshot` and frame, after the first frame.
    rest: Vec<f64>,
    close: Vec<f64>,
    total: Vec<f64>,
    frame_bytes: u64,
    rows: usize,
}

/// One cold start of the dashboard in-process, as `tui::event_loop` does it: the first part of the
/// snapshot, then the first frame; the rest of the snapshot and its frame are timed apart. The
/// engine is closed (untimed) before returning.
async fn one_start(case: &Case<'_>, phases: &mut Phases) {
    let t0 = Instant::now();
    let engine = Engine::open(case.path, OpenMode::Existing, Arc::new(SystemClock)).await.expect("open");
    let t1 = Instant::now();
    let backend = jitdesk::client::Backend::from(&engine);
    let first = Snapshot::first(&backend, case.upn).await.expect("snapshot");
    let t2 = Instant::now();
    let mut app = App::new(ui(), Utc::now());
    let me = first.me.clone();
    app.on_snapshot(first);
    let t3 = Instant::now();
    let mut screen = Screen::new();
    let frame_bytes = screen.frame(&app);
    let t4 = Instant::now();
    let rest = Snapshot::rest(&backend, me.as_ref()).await.expect("the rest");
    app.on_rest(rest);
    screen.frame(&app);
    let t5 = Instant::now();
    engine.close().await.expect("close");
    let t6 = Instant::now();
    phases.open.push((t1 - t0).as_secs_f64());
    phases.load.push((t2 - t1).as_secs_f64());
    phases.app.push((t3 - t2).as_secs_f64());
    phases.draw.push((t4 - t3).as_secs_f64());
    phases.rest.push((t5 - t4).as_secs_f64());
    phases.close.push((t6 - t5).as_secs_f64());
    phases.total.push((t4 - t0).as_secs_f64());
    phases.frame_bytes = frame_bytes;
    phases.rows = app.data.requests.len();
}

/// The engine queries `Snapshot::load` makes for a directory user, each timed alone, interleaved.
async fn load_breakdown(path: &Path, upn: &str) -> Vec<(&'static str, f64, usize)> {
    use jitdesk::domain::{Paging, RequestState};
    use jitdesk::engine::RequestFilter;
    use jitdesk::engine::Viewer;
    const QUERIES: [&str; 10] = [
        "user",
        "tenants",
        "apps",
        "requests(state = Pending), the user's apps",
        "notifications(500)",
        "seen_upto",
        "grants, the user's apps",
        "audit(500), the user's apps",
        "people",
        "offers",
    ];
    let engine = Engine::open(path, OpenMode::Existing, Arc::new(SystemClock)).await.expect("open");
    let viewer = Viewer::User(upn.to_string());
    let mut times = vec![Vec::new(); QUERIES.len()];
    let mut counts = vec![0; QUERIES.len()];
    for _ in 0..7 {
        for (q, (times, count)) in times.iter_mut().zip(&mut counts).enumerate() {
            let started = Instant::now();
            let n = match q {
                0 => engine.user(upn).await.map(|_| 1),
                1 => engine.tenants(&viewer, Paging::default()).await.map(|p| p.items.len()),
                2 => engine.apps(&viewer, Paging::default()).await.map(|p| p.items.len()),
                3 => {
                    let filter = RequestFilter { state: Some(RequestState::Pending), ..Default::default() };
                    engine.requests(&viewer, filter).await.map(|p| p.items.len())
                }
                4 => engine.notifications(upn, Paging::first(500)).await.map(|p| p.items.len()),
                5 => engine.seen_upto(upn).await.map(|_| 1),
                6 => engine.grants(&viewer, Paging::default()).await.map(|p| p.items.len()),
                7 => engine.audit(&viewer, Paging::first(500)).await.map(|p| p.items.len()),
                8 => engine.people(&viewer, Paging::default()).await.map(|p| p.items.len()),
                _ => engine.offers(Paging::default()).await.map(|p| p.items.len()),
            }
            .expect("a query");
            times.push(started.elapsed().as_secs_f64());
            *count = n;
        }
    }
    engine.close().await.expect("close");
    QUERIES.iter().zip(times).zip(counts).map(|((q, t), n)| (*q, median(&t), n)).collect()
}

async fn loaded_app(path: &Path, upn: Option<&str>) -> App {
    let engine = Engine::open(path, OpenMode::Existing, Arc::new(SystemClock)).await.expect("open");
    let snapshot = Snapshot::load(&engine, upn).await.expect("snapshot");
    engine.close().await.expect("close");
    let mut app = App::new(ui(), Utc::now());
    app.on_snapshot(snapshot);
    app
}

/// Returns the app loaded from the 100k store as its approver, for the keypress figures.
async fn first_frame(stores: &Stores, table: &mut Table, notes: &mut Vec<String>) -> App {
    let cases = [
        Case { label: "empty store (no identity: first-run screen)", path: &stores.empty, upn: None },
        Case { label: "small sample, alice", path: &stores.sample, upn: Some(ALICE) },
        Case { label: "100k store, morgan (synthetic approver)", path: &stores.scale, upn: Some(MORGAN) },
        Case { label: "100k store, alice", path: &stores.scale, upn: Some(ALICE) },
    ];
    // The first open after `init` catches up deadlines that passed since; keep that out of the figures.
    let mut warm = vec![Phases::default(); cases.len()];
    for (case, phases) in cases.iter().zip(&mut warm) {
        one_start(case, phases).await;
    }
    let mut results = vec![Phases::default(); cases.len()];
    for round in 0..FIRST_FRAME_RUNS {
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            one_start(&cases[i], &mut results[i]).await;
        }
    }
    let empty = median(&results[0].total);
    for (case, r) in cases.iter().zip(&results) {
        let m = median(&r.total);
        let is_scale = case.path == stores.scale;
        let (target, verdict) = if std::ptr::eq(r, &results[0]) {
            ("baseline", None)
        } else if is_scale && case.upn == Some(MORGAN) {
            ("< 50 ms", Some(m < 0.050))
        } else if is_scale {
            ("<= 1.30x empty", Some(m / empty <= 1.30))
        } else {
            ("", None)
        };
        table.row(
            &format!("first frame: {} [{} rows]", case.label, r.rows),
            msf(m),
            format!("max {}", msf(percentile(&r.total, 100.0))),
            msf(empty),
            Some(m / empty),
            target,
            verdict,
        );
    }
    notes.push(format!(
        "where the first frame's time goes (medians of {FIRST_FRAME_RUNS} runs; close not included in the total):"
    ));
    notes.push(format!(
        "  {:<46} {:>9} {:>15} {:>15} {:>9} {:>11} {:>15} {:>11}",
        "case", "open", "Snapshot::first", "on_snapshot", "draw", "frame bytes", "(rest + frame)", "(close)"
    ));
    for (case, r) in cases.iter().zip(&results) {
        notes.push(format!(
            "  {:<46} {:>9} {:>15} {:>15} {:>9} {:>11} {:>15} {:>11}",
            case.label,
            msf(median(&r.open)),
            msf(median(&r.load)),
            msf(median(&r.app)),
            msf(median(&r.draw)),
            bytes(r.frame_bytes as f64),
            msf(median(&r.rest)),
            msf(median(&r.close)),
        ));
    }
    // The untimed warm-up starts: the first in this process (cold heap and blocking pool; for a store
    // just built, also the ticker catching up), closer to what a fresh `jitdesk` process pays.
    for (case, r) in cases.iter().zip(&warm) {
        notes.push(format!(
            "  {:<46} {:>9} {:>14} {:>15} {:>9}   = {} in all",
            format!("{} [first start]", case.label.split(" (").next().unwrap_or(case.label)),
            msf(r.open[0]),
            msf(r.load[0]),
            msf(r.app[0]),
            msf(r.draw[0]),
            msf(r.total[0]),
        ));
    }

    for upn in [MORGAN, ALICE] {
        notes.push(format!("  Snapshot::load on the 100k store as {upn}, query by query (medians of 7):"));
        let parts = load_breakdown(&stores.scale, upn).await;
        let sum: f64 = parts.iter().map(|(_, t, _)| t).sum();
        for (query, t, n) in parts {
            notes.push(format!("    {query:<34} {:>9}  {:>5.1}%  {n} items", msf(t), t / sum * 100.0));
        }
    }

    // What a user who names themselves gets on an empty store (the CLI passes --as through unchecked).
    let engine = Engine::open(&stores.empty, OpenMode::Existing, Arc::new(SystemClock)).await.expect("open");
    let loaded = Snapshot::load(&engine, Some(ALICE)).await;
    engine.close().await.expect("close");
    let mut app = App::new(ui(), Utc::now());
    let shown = match loaded {
        Ok(snapshot) => {
            app.on_snapshot(snapshot);
            "a snapshot".to_string()
        }
        // What tui::event_loop does with a failed snapshot.
        Err(e) => {
            app.trouble = Some(e.to_string());
            format!("an error ({e})")
        }
    };
    let text = Screen::new().frame_text(&app);
    let screen = if text.contains("This store is empty") {
        "the first-run screen"
    } else if text.contains("loading") {
        "\"loading…\" (and stays so: nothing triggers another load)"
    } else {
        "something else"
    };
    notes.push(format!(
        "empty store with --as {ALICE}: Snapshot::load returns {shown}; the dashboard shows {screen}"
    ));

    let big = loaded_app(&stores.scale, Some(MORGAN)).await;
    let header = Screen::new().frame_text(&big).lines().next().unwrap_or_default().trim_end().to_string();
    if !header.contains("waiting for you") {
        notes.push(format!(
            "header at {WIDTH} columns, 100k approver: \"{header}\" (the clock covers the badge)"
        ));
    }
    big
}

// ---------------------------------------------------------------------------------------------------
// 2. Keypress to finished frame

/// The filter typed in the script: it matches a few hundred of the pending requests (it is in two of
/// the ten synthetic justifications), so the filtered list still scrolls.
const NEEDLE: &str = "logs";

fn script() -> Vec<(&'static str, KeyEvent)> {
    let mut s = Vec::new();
    for _ in 0..10 {
        s.push(("j/k", ch('j')));
    }
    for _ in 0..4 {
        s.push(("j/k", ch('k')));
    }
    for _ in 0..3 {
        s.push(("PgDn/PgUp", key(KeyCode::PageDown)));
    }
    s.push(("PgDn/PgUp", key(KeyCode::PageUp)));
    s.push(("G/g", ch('G')));
    s.push(("G/g", ch('g')));
    // `/`, type the needle, take back a typo, keep the filter with Enter.
    s.push(("/ filter typing", ch('/')));
    for c in NEEDLE.chars().chain(['x']) {
        s.push(("/ filter typing", ch(c)));
    }
    s.push(("/ filter typing", key(KeyCode::Backspace)));
    s.push(("/ filter typing", key(KeyCode::Enter)));
    for c in ['j', 'j', 'j', 'k', 'G', 'g'] {
        s.push(("j/k/G/g, filter kept", ch(c)));
    }
    // Back into the filter and clear it.
    s.push(("/ filter typing", ch('/')));
    s.push(("/ filter typing", key(KeyCode::Esc)));
    // A full round of tabs, back to Requests.
    for _ in 0..5 {
        s.push(("Tab", key(KeyCode::Tab)));
    }
    s
}

/// How long this thread has been runnable but waiting for a core, in seconds (the second field of
/// /proc/thread-self/schedstat): separates the code's cost from a busy machine's. (The first field,
/// time on a CPU, is only brought up to date at scheduler ticks for a running thread, so it is
/// too coarse here.)
fn run_queue_wait() -> f64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    text.split_whitespace().nth(1).and_then(|f| f.parse::<f64>().ok()).map_or(f64::NAN, |ns| ns / 1e9)
}

#[derive(Default)]
struct KeyTimes {
    total: Vec<f64>,
    on_key: Vec<f64>,
    draw: Vec<f64>,
    /// Wall time less the time spent waiting for a core.
    own: Vec<f64>,
    waited: Vec<f64>,
}

fn press(app: &mut App, screen: &mut Screen, k: KeyEvent, into: &mut KeyTimes) {
    let w0 = run_queue_wait();
    let t0 = Instant::now();
    let _effects = app.on_key(k);
    let t1 = Instant::now();
    screen.frame(app);
    let t2 = Instant::now();
    let waited = run_queue_wait() - w0;
    into.total.push((t2 - t0).as_secs_f64());
    into.on_key.push((t1 - t0).as_secs_f64());
    into.draw.push((t2 - t1).as_secs_f64());
    into.own.push((t2 - t0).as_secs_f64() - waited);
    into.waited.push(waited);
}

fn time_median(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f();
        v.push(t.elapsed().as_secs_f64());
    }
    median(&v)
}

fn keypresses(mut big: App, mut small: App, table: &mut Table, notes: &mut Vec<String>) {
    let pending = big.data.requests.len();
    let mut big_screen = Screen::new();
    let mut small_screen = Screen::new();
    big_screen.frame(&big);
    small_screen.frame(&small);
    assert_eq!(big.tab, Tab::Requests, "the approver starts on Requests");

    let script = script();
    let categories: Vec<&str> = script.iter().fold(Vec::new(), |mut v, (c, _)| {
        if !v.contains(c) {
            v.push(*c);
        }
        v
    });
    let mut big_times: Vec<KeyTimes> = categories.iter().map(|_| KeyTimes::default()).collect();
    let mut small_times: Vec<KeyTimes> = categories.iter().map(|_| KeyTimes::default()).collect();
    let mut n = 0;
    let mut cycle = 0;
    while n < KEY_SAMPLES {
        for (category, k) in &script {
            let c = categories.iter().position(|x| x == category).expect("a category");
            // Alternate which app goes first, so that neither always runs on a warmer cache.
            if cycle % 2 == 0 {
                press(&mut big, &mut big_screen, *k, &mut big_times[c]);
                press(&mut small, &mut small_screen, *k, &mut small_times[c]);
            } else {
                press(&mut small, &mut small_screen, *k, &mut small_times[c]);
                press(&mut big, &mut big_screen, *k, &mut big_times[c]);
            }
            n += 1;
        }
        cycle += 1;
    }
    assert_eq!(big.tab, Tab::Requests, "the script ends where it started");
    let all = |times: &[KeyTimes], f: fn(&KeyTimes) -> &Vec<f64>| {
        times.iter().flat_map(|t| f(t).iter().copied()).collect::<Vec<f64>>()
    };
    let (big_all, small_all) = (all(&big_times, |t| &t.total), all(&small_times, |t| &t.total));
    let p99 = percentile(&big_all, 99.0);
    let small_p99 = percentile(&small_all, 99.0);
    table.row(
        &format!("key->frame, 100k approver ({pending} pending), all keys n={}", big_all.len()),
        msf(median(&big_all)),
        msf(p99),
        format!("{} small", msf(small_p99)),
        Some(p99 / small_p99),
        "p99 < 10 ms",
        Some(p99 < 0.010),
    );
    for (i, category) in categories.iter().enumerate() {
        let (b, s) = (&big_times[i], &small_times[i]);
        let p = percentile(&b.total, 99.0);
        let sp = percentile(&s.total, 99.0);
        table.row(
            &format!("  {category} (n={})", b.total.len()),
            msf(median(&b.total)),
            msf(p),
            msf(sp),
            Some(p / sp),
            "p99 < 10 ms",
            Some(p < 0.010),
        );
    }
    let (own, small_own) = (all(&big_times, |t| &t.own), all(&small_times, |t| &t.own));
    let waited = all(&big_times, |t| &t.waited);
    let own_p99 = percentile(&own, 99.0);
    table.row(
        "  all keys, less run-queue wait (schedstat)",
        msf(median(&own)),
        msf(own_p99),
        format!("{} small", msf(percentile(&small_own, 99.0))),
        Some(own_p99 / percentile(&small_own, 99.0)),
        "(what the code costs)",
        Some(own_p99 < 0.010),
    );
    let slow: Vec<usize> = (0..big_all.len()).filter(|&i| big_all[i] > 0.010).collect();
    let slow_waited = slow.iter().filter(|&&i| waited[i] > big_all[i] / 2.0).count();
    notes.push(format!(
        "keypresses over 10 ms on the 100k store: {} of {}; in {} of them the thread spent more than half \
         the time runnable but waiting for a core (run-queue wait p99 {}, max {})",
        slow.len(),
        big_all.len(),
        slow_waited,
        msf(percentile(&waited, 99.0)),
        msf(percentile(&waited, 100.0)),
    ));
    notes.push(
        "keypress split on the 100k store: on_key median / frame median / p99 less run-queue wait".into(),
    );
    for (i, category) in categories.iter().enumerate() {
        notes.push(format!(
            "  {:<22} {:>9} / {:>9} / {:>9}",
            category,
            msf(median(&big_times[i].on_key)),
            msf(median(&big_times[i].draw)),
            msf(percentile(&big_times[i].own, 99.0)),
        ));
    }

    // The per-frame passes over every pending row, timed alone on the loaded 100k app.
    let runs = 100;
    let badge = time_median(runs, || {
        std::hint::black_box(big.data.waiting_for_me());
    });
    let rows = time_median(runs, || {
        std::hint::black_box(jitdesk::tui::rows::keys(&big, Which::Tab(Tab::Requests)).len());
    });
    let mut copies: Vec<Snapshot> = (0..20).map(|_| big.data.clone()).collect();
    let on_snapshot = time_median(20, || {
        let copy = copies.pop().expect("a copy");
        big.on_snapshot(copy);
    });
    let frame_same = time_median(runs, || {
        big_screen.frame(&big);
    });
    // The same with the filter set: every row's texts lower-cased and searched.
    big.on_key(ch('/'));
    for c in NEEDLE.chars() {
        big.on_key(ch(c));
    }
    big.on_key(key(KeyCode::Enter));
    let rows_filtered = time_median(runs, || {
        std::hint::black_box(jitdesk::tui::rows::keys(&big, Which::Tab(Tab::Requests)).len());
    });
    let shown_filtered = jitdesk::tui::rows::keys(&big, Which::Tab(Tab::Requests)).len();
    let frame_filtered = time_median(runs, || {
        big_screen.frame(&big);
    });
    big.on_key(ch('/'));
    big.on_key(key(KeyCode::Esc));
    big.on_key(ch('5'));
    let frame_activity = time_median(runs, || {
        big_screen.frame(&big);
    });
    big.on_key(ch('4'));
    let grants = jitdesk::tui::rows::keys(&big, Which::Tab(Tab::Access)).len();
    let frame_access = time_median(runs, || {
        big_screen.frame(&big);
    });
    big.on_key(ch('1'));
    let frame_apps = time_median(runs, || {
        big_screen.frame(&big);
    });
    big.on_key(ch('3'));
    let line = |what: &str, t: f64| format!("  {what:<58} {:>9}", msf(t));
    notes.push(format!("the work behind a frame on the 100k store, as morgan (medians of {runs}):"));
    notes.push(line("header badge: Snapshot::waiting_for_me(), every pending row", badge));
    notes.push(line("rows::keys(), Requests, no filter (rows kept in the state)", rows));
    notes.push(line(
        &format!("rows::keys(), Requests, with the filter \"{NEEDLE}\" ({shown_filtered} match)"),
        rows_filtered,
    ));
    notes.push(line("one frame, nothing changed, Requests tab", frame_same));
    notes.push(line(
        &format!("one frame, nothing changed, Requests tab filtered \"{NEEDLE}\""),
        frame_filtered,
    ));
    notes.push(line("one frame, nothing changed, Activity tab (500 audit rows)", frame_activity));
    notes.push(line(&format!("one frame, nothing changed, Access tab ({grants} grants)"), frame_access));
    notes.push(line(
        &format!("one frame, nothing changed, Applications tab ({} apps)", big.data.apps.len()),
        frame_apps,
    ));
    notes.push(line("App::on_snapshot of the same 5,000-request snapshot (median of 20)", on_snapshot));
}

// ---------------------------------------------------------------------------------------------------
// 3. Bytes written while idle

/// When `tui::event_loop` wakes next (a copy of its private `next_tick`): the next whole second while
/// countdowns are visible, else the next whole minute.
fn next_tick(now: DateTime<Utc>, countdowns: bool) -> DateTime<Utc> {
    let into_second = i64::from(now.timestamp_subsec_millis().min(999));
    let ms =
        if countdowns { 1000 - into_second } else { 60_000 - (now.timestamp() % 60) * 1000 - into_second };
    now + TimeDelta::milliseconds(ms.max(1))
}

/// Plays `seconds` of an idle dashboard from `start` as the loop would: wake, `tick`, draw one frame.
/// Returns (bytes written, frames drawn).
fn idle(app: &mut App, screen: &mut Screen, start: DateTime<Utc>, seconds: i64) -> (u64, usize) {
    let end = start + TimeDelta::seconds(seconds);
    let before = screen.written();
    let mut now = start;
    let mut frames = 0;
    loop {
        let at = next_tick(now, app.has_countdowns());
        if at > end {
            break;
        }
        app.tick(at);
        screen.frame(app);
        frames += 1;
        now = at;
    }
    (screen.written() - before, frames)
}

fn operator() -> Actor {
    Actor::Operator("dashboard-bench".into())
}

fn as_user(upn: &str) -> Actor {
    Actor::User(upn.into())
}

/// A store whose Access tab shows `GRANTS` active grants of `length`, started `spacing` apart and the
/// last one at `now`: one customer tenant (admin alice), one publisher tenant, one automatic app.
async fn access_store(path: &Path, now: DateTime<Utc>, length: TimeDelta, spacing: TimeDelta) {
    let clock = Arc::new(ManualClock::new(now - spacing * GRANTS as i32 - TimeDelta::minutes(5)));
    let engine = Engine::open(path, OpenMode::Create, clock.clone()).await.expect("create");
    let op = operator();
    engine
        .run(
            &op,
            NewTenant {
                id: "contoso".into(),
                kind: TenantKind::Customer,
                name: Some("Contoso".into()),
                license: Some(License::P2),
            },
        )
        .await
        .expect("tenant");
    engine
        .run(
            &op,
            NewTenant {
                id: "fabrikam".into(),
                kind: TenantKind::Publisher,
                name: Some("Fabrikam".into()),
                license: None,
            },
        )
        .await
        .expect("tenant");
    let mut users = vec![(
        op.clone(),
        NewUser {
            upn: ALICE.into(),
            tenant: "contoso".into(),
            name: Some("Alice Fischer".into()),
            admin: true,
            login: None,
            object_id: None,
        },
    )];
    let publishers: Vec<String> = (1..=GRANTS).map(|i| format!("publisher{i:02}@fabrikam.com")).collect();
    for (i, upn) in publishers.iter().enumerate() {
        let name = format!("Publisher {:02}", i + 1);
        users.push((
            op.clone(),
            NewUser {
                upn: upn.clone(),
                tenant: "fabrikam".into(),
                name: Some(name),
                admin: false,
                login: None,
                object_id: None,
            },
        ));
    }
    for result in engine.run(&op, Batch(users)).await.expect("users") {
        result.expect("a user");
    }
    let offer = NewOffer {
        id: "fabrikam-crm".into(),
        name: "Fabrikam CRM".into(),
        jit_available: true,
        roles: vec!["Reader".into()],
    };
    engine.run(&as_user(&publishers[0]), offer).await.expect("offer");
    let app = Deployment {
        name: "contoso-crm".into(),
        offer: "fabrikam-crm".into(),
        mode: Some(ApprovalMode::AutoApprove),
        max_duration: Some(Period::from_secs(8 * 3600)),
        ..Deployment::default()
    };
    engine.run(&as_user(ALICE), app).await.expect("deploy");
    for (i, upn) in publishers.iter().enumerate() {
        clock.set(now - spacing * (GRANTS - 1 - i) as i32);
        engine.sync().await.expect("sync");
        let request = NewRequest {
            app: "contoso-crm".into(),
            roles: vec!["Reader".into()],
            start: None,
            duration: Period::from_secs(length.num_seconds()),
            justification: format!("INC-{}: look at the failing job", 20_000 + i),
            ticket: Some(format!("INC-{}", 20_000 + i)),
        };
        engine.run(&as_user(upn), request).await.expect("request");
    }
    clock.set(now);
    engine.sync().await.expect("sync");
    engine.close().await.expect("close");
}

/// The app as alice sees it at `now` on an access store, on tab `tab` (pressed, as a user would).
async fn access_app(path: &Path, now: DateTime<Utc>, tab: char) -> App {
    let engine = Engine::open(path, OpenMode::Existing, Arc::new(ManualClock::new(now))).await.expect("open");
    let snapshot = Snapshot::load(&engine, Some(ALICE)).await.expect("snapshot");
    engine.close().await.expect("close");
    let mut app = App::new(ui(), now);
    app.on_snapshot(snapshot);
    app.on_key(ch(tab));
    app
}

async fn idle_bytes(dir: &Path, stores: &Stores, table: &mut Table, notes: &mut Vec<String>) {
    // A quarter second past a whole minute, as if the last tick had just happened.
    let minute = Utc::now().timestamp() / 60 * 60;
    let start = DateTime::from_timestamp(minute, 250_000_000).expect("a time");
    let shapes = [
        ("2h", TimeDelta::hours(2), "countdowns in h+m: change once a minute"),
        ("45m", TimeDelta::minutes(45), "under an hour: m+s, every row changes every second"),
    ];
    for (name, length, what) in shapes {
        let path = dir.join(format!("access-{name}.redb"));
        access_store(&path, start, length, TimeDelta::seconds(37)).await;
        let mut app = access_app(&path, start, '4').await;
        assert_eq!(app.tab, Tab::Access);
        let mut screen = Screen::new();
        let first = screen.frame(&app);
        let grants = jitdesk::tui::rows::keys(&app, Which::Tab(Tab::Access)).len();
        let (written, frames) = idle(&mut app, &mut screen, start, 60);
        let per_second = written as f64 / 60.0;
        table.row(
            &format!("idle Access tab, {grants} grants of {name}: bytes/s over 60 s ({frames} frames)"),
            format!("{}/s", bytes(per_second)),
            "..".into(),
            format!("{} 1st", bytes(first as f64)),
            None,
            "< 1 KB/s",
            Some(per_second < 1000.0),
        );
        notes.push(format!(
            "idle Access {name} ({what}): {written} B in {frames} frames = {:.0} B/frame; the first full frame was {first} B",
            written as f64 / frames.max(1) as f64
        ));
    }

    // Nothing counting down: the Activity tab wakes only at minute boundaries.
    let path = dir.join("access-2h.redb");
    let mut app = access_app(&path, start, '5').await;
    assert_eq!(app.tab, Tab::Activity);
    let mut screen = Screen::new();
    let first = screen.frame(&app);
    let (written, frames) = idle(&mut app, &mut screen, start, 59);
    table.row(
        &format!("idle Activity tab: bytes over 59 s, no input ({frames} frames)"),
        bytes(written as f64),
        "..".into(),
        format!("{} 1st", bytes(first as f64)),
        None,
        "0 B",
        Some(written == 0),
    );
    let unchanged = screen.frame(&app);
    let unchanged_bare = screen.draw_only(&app);
    table.row(
        "  one redraw of the unchanged screen (incl. sync markers)",
        bytes(unchanged as f64),
        "..".into(),
        format!("{} bare", bytes(unchanged_bare as f64)),
        None,
        "(information)",
        None,
    );
    let (minute_bytes, minute_frames) = idle(&mut app, &mut screen, start + TimeDelta::seconds(59), 1);
    notes.push(format!(
        "unchanged redraw: {unchanged} B = 16 B synchronized-update markers + {unchanged_bare} B from Terminal::draw \
         (no cell differs, but CrosstermBackend::draw always ends with SGR resets and Terminal::draw hides the cursor); \
         the minute tick ({minute_frames} frame, header clock) wrote {minute_bytes} B"
    ));

    // The same idle minute on the 100k store as morgan, on the tabs that tick every second there.
    let mut big = loaded_app(&stores.scale, Some(MORGAN)).await;
    for (tab, name) in [('3', "Requests"), ('1', "Applications")] {
        big.on_key(ch(tab));
        let mut screen = Screen::new();
        screen.frame(&big);
        let now = Utc::now();
        let from = DateTime::from_timestamp(now.timestamp() / 60 * 60, 250_000_000).expect("a time");
        big.tick(from);
        screen.frame(&big);
        let cpu = Instant::now();
        let (written, frames) = idle(&mut big, &mut screen, from, 60);
        let cpu = cpu.elapsed().as_secs_f64();
        table.row(
            &format!("idle {name} tab, 100k approver: bytes/s over 60 s ({frames} frames)"),
            format!("{}/s", bytes(written as f64 / 60.0)),
            "..".into(),
            "..".into(),
            None,
            "(information)",
            None,
        );
        notes.push(format!(
            "idle {name} tab on the 100k store: {frames} frames in 60 s took {} of CPU ({:.2}% of a core)",
            msf(cpu),
            cpu / 60.0 * 100.0
        ));
    }
}

// ---------------------------------------------------------------------------------------------------
// 4. The real binary, in a pty made by `script`

enum Seen {
    /// Seconds from spawn to the first output (the "loading…" frame), to `marker`; bytes up to it.
    At(f64, f64, usize),
    Timeout(String),
}

/// Spawns the dashboard in a 100x30 pty and waits for `marker` in its output; then presses q.
fn run_in_pty(dir: &Path, store: &Path, upn: Option<&str>, marker: &str) -> Seen {
    let mut cmd = format!("stty cols {WIDTH} rows {HEIGHT}; exec '{BIN}' --store '{}'", store.display());
    if let Some(upn) = upn {
        cmd.push_str(&format!(" --as {upn}"));
    }
    let home = dir.join("e2e-home");
    let _ = std::fs::create_dir_all(&home);
    let started = Instant::now();
    let spawned = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env("XDG_DATA_HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return Seen::Timeout(format!("cannot run script: {e}")),
    };
    let mut out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut first = None;
    let deadline = started + Duration::from_secs(15);
    let result = loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(chunk) => {
                seen.extend_from_slice(&chunk);
                let now = started.elapsed().as_secs_f64();
                let first = *first.get_or_insert(now);
                if seen.windows(marker.len()).any(|w| w == marker.as_bytes()) {
                    break Seen::At(first, now, seen.len());
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            Err(_) => break Seen::Timeout(format!("no `{marker}` after {} bytes", seen.len())),
        }
    };
    if let Some(stdin) = child.stdin.as_mut() {
        let _ = stdin.write_all(b"q");
        let _ = stdin.flush();
    }
    let quit_by = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < quit_by => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    drop(child.stdin.take());
    let _ = reader.join();
    result
}

fn end_to_end(dir: &Path, stores: &Stores, table: &mut Table, notes: &mut Vec<String>) {
    if Command::new("script").arg("--version").output().is_err() {
        notes.push("end to end: skipped (no `script` to make a pty)".into());
        return;
    }
    // Markers without spaces: ratatui's diff skips unchanged blank cells, so words arrive separately.
    let cases: [(&str, &Path, Option<&str>, &str); 2] = [
        ("empty store, first-run screen", &stores.empty, None, "empty."),
        ("100k store, morgan", &stores.scale, Some(MORGAN), "Pending"),
    ];
    let mut times = [Vec::new(), Vec::new()];
    let mut firsts = [Vec::new(), Vec::new()];
    let mut sizes = [0usize; 2];
    for _ in 0..E2E_ROUNDS {
        for (i, (label, store, upn, marker)) in cases.iter().enumerate() {
            match run_in_pty(dir, store, *upn, marker) {
                Seen::At(first, t, n) => {
                    firsts[i].push(first);
                    times[i].push(t);
                    sizes[i] = n;
                }
                Seen::Timeout(why) => notes.push(format!("end to end, {label}: {why}")),
            }
        }
    }
    if times.iter().any(Vec::is_empty) {
        return;
    }
    let base = median(&times[0]);
    for (i, (label, ..)) in cases.iter().enumerate() {
        let m = median(&times[i]);
        table.row(
            &format!("e2e real binary in a pty: spawn -> data on screen, {label}"),
            msf(m),
            format!("max {}", msf(percentile(&times[i], 100.0))),
            msf(base),
            Some(m / base),
            "(information)",
            None,
        );
    }
    notes.push(format!(
        "end to end ({E2E_ROUNDS} rounds each; includes `script`, stty and process start): first output (the \
         \"loading…\" frame) after {} / {}, data after {} / {}; {} / {} bytes of output by then",
        msf(median(&firsts[0])),
        msf(median(&firsts[1])),
        msf(median(&times[0])),
        msf(median(&times[1])),
        sizes[0],
        sizes[1]
    ));
}
