//! The dashboard on a remote terminal (`tui::remote::run_remote`), as the SSH door runs it: in
//! this process, on the engine the service holds, over in-memory channels. Keys go in as the bytes a
//! client's terminal sends; what comes out is read through a terminal emulator (`vt100`), so the
//! assertions are about the screen a person would see.

use std::sync::Arc;
use std::time::Duration;

use jitdesk::client::{Backend, Link};
use jitdesk::config::Config;
use jitdesk::domain::rules::Actor;
use jitdesk::engine::{Decide, Engine, OpenMode, SystemClock, Viewer};
use jitdesk::tui::Ending;
use jitdesk::tui::remote::{RemoteTerminal, TermEnv, run_remote};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::common::tmux::row_ids;

const APPROVER: &str = "alice@contoso.com";
/// How long anything may take before a test gives up: generous, the machine is shared.
const PATIENCE: Duration = Duration::from_secs(20);
const LEAVE_ALTERNATE_SCREEN: &[u8] = b"\x1b[?1049l";

/// A client's environment: a capable terminal with a UTF-8 locale, plus `extra`.
fn env(extra: &[(&'static str, &'static str)]) -> TermEnv {
    let mut vars = vec![("TERM", "xterm-256color"), ("LANG", "C.UTF-8")];
    vars.extend_from_slice(extra);
    TermEnv::from_vars(vars)
}

/// One remote session of the dashboard on the sample store, and the screen its client shows.
struct Session {
    _dir: tempfile::TempDir,
    engine: Engine,
    keys: Option<mpsc::Sender<Vec<u8>>>,
    size: watch::Sender<(u16, u16)>,
    output: mpsc::Receiver<Vec<u8>>,
    /// Every byte the dashboard wrote, in order.
    written: Vec<u8>,
    screen: vt100::Parser,
    run: JoinHandle<jitdesk::client::Result<Ending>>,
}

impl Session {
    async fn open(cols: u16, rows: u16, env: TermEnv) -> Session {
        Session::open_with(cols, rows, env, &Config::default()).await
    }

    async fn open_with(cols: u16, rows: u16, env: TermEnv, config: &Config) -> Session {
        Session::open_holding(cols, rows, env, config, 64).await
    }

    /// A session whose output channel holds `chunks` chunks at most.
    async fn open_holding(cols: u16, rows: u16, env: TermEnv, config: &Config, chunks: usize) -> Session {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("store.redb");
        jitdesk::sample::create(&path, 0).await.expect("the sample store");
        let engine =
            Engine::open(&path, OpenMode::Existing, Arc::new(SystemClock)).await.expect("the store opens");
        let (keys, input) = mpsc::channel(16);
        let (out, output) = mpsc::channel(chunks);
        let (size, sizes) = watch::channel((cols, rows));
        let term = RemoteTerminal { input, output: out, size: sizes, env, link: Link::Ssh };
        let actor = Actor::User(APPROVER.into());
        // Spawned as the SSH door spawns it: the run must be Send and own what it uses.
        let run = tokio::spawn(run_remote(Backend::from(&engine), actor, config, term));
        Session {
            _dir: dir,
            engine,
            keys: Some(keys),
            size,
            output,
            written: Vec::new(),
            screen: vt100::Parser::new(cells(rows), cells(cols), 0),
            run,
        }
    }

    async fn press(&self, bytes: &[u8]) {
        let keys = self.keys.as_ref().expect("the input is open");
        keys.send(bytes.to_vec()).await.expect("the dashboard reads its input");
    }

    fn resize(&mut self, cols: u16, rows: u16) {
        self.size.send((cols, rows)).expect("the dashboard watches its size");
        self.screen.screen_mut().set_size(cells(rows), cells(cols));
    }

    /// Reads what the dashboard draws until the screen satisfies `done`; fails after `PATIENCE`.
    async fn wait_screen(&mut self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let give_up = tokio::time::Instant::now() + PATIENCE;
        loop {
            let shown = self.screen.screen().contents();
            if done(&shown) {
                return shown;
            }
            match tokio::time::timeout_at(give_up, self.output.recv()).await {
                Ok(Some(chunk)) => {
                    self.written.extend_from_slice(&chunk);
                    self.screen.process(&chunk);
                }
                Ok(None) => panic!("the dashboard ended while waiting for {what}:\n{shown}"),
                Err(_) => panic!("no {what} in time; the screen:\n{shown}"),
            }
        }
    }

    /// Waits for the run to end and returns how, with whatever it still wrote.
    async fn ended(&mut self) -> jitdesk::client::Result<Ending> {
        let run = &mut self.run;
        let ended =
            tokio::time::timeout(PATIENCE, run).await.expect("the run ends").expect("the run does not panic");
        while let Ok(chunk) = self.output.try_recv() {
            self.written.extend_from_slice(&chunk);
            self.screen.process(&chunk);
        }
        ended
    }
}

fn pending_shown(screen: &str) -> bool {
    screen.contains("Pending requests (") && !row_ids(screen).is_empty()
}

#[tokio::test]
async fn the_first_frame_shows_the_header_and_pending_requests_and_keys_switch_tabs() {
    let mut s = Session::open(100, 30, env(&[])).await;
    let screen = s.wait_screen("the pending requests", pending_shown).await;
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains("Alice Fischer"), "the header should show who is signed in:\n{screen}");
    assert!(
        header.contains(" ssh ") && !header.contains(" local "),
        "the header names the link its caller gave, not the engine's own:\n{screen}"
    );
    assert!(screen.contains("1 Applications") && screen.contains("4 Access"), "the tabs:\n{screen}");
    assert!(screen.contains('│'), "a UTF-8 client gets box drawing:\n{screen}");

    s.press(b"4").await;
    s.wait_screen("the Access tab", |s| s.contains("Access (")).await;
    s.press(b"\t").await;
    s.wait_screen("the next tab after Access", |s| !s.contains("Access (")).await;

    s.press(b"q").await;
    assert_eq!(s.ended().await.expect("q quits"), Ending::Quit);
    assert!(find(&s.written, LEAVE_ALTERNATE_SCREEN), "a client still there gets its screen back");
}

/// A terminal's side, which vt100 wants non-zero.
fn cells(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a terminal side is at least one cell")
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn approving_by_keyboard_makes_the_engine_say_approved_and_the_engine_stays_open() {
    let mut s = Session::open(120, 35, env(&[])).await;
    let screen = s.wait_screen("the pending requests", pending_shown).await;
    let id = row_ids(&screen)[0];
    s.press(b"a").await;
    let form = format!("Approve request {id}");
    s.wait_screen("the approve form", |s| s.contains(&form)).await;
    let reason = format!("approved over a remote terminal: {id}");
    s.press(reason.as_bytes()).await;
    s.wait_screen("the typed reason", |s| s.contains(&reason)).await;
    s.press(b"\r").await;
    s.wait_screen("the approved row to leave the list", |s| !s.contains(&form) && !row_ids(s).contains(&id))
        .await;

    s.press(b"q").await;
    assert_eq!(s.ended().await.expect("q quits"), Ending::Quit);
    // The engine is the caller's: still open after the dashboard quit.
    let detail = s.engine.request(&Viewer::Operator, id).await.expect("the engine still answers");
    assert_eq!(detail.request.state.to_string(), "Approved");
    let decision = detail.request.decision.expect("a decision");
    assert_eq!((decision.by.as_str(), decision.reason.as_str()), (APPROVER, reason.as_str()));
}

#[tokio::test]
async fn a_frame_drawn_while_the_output_is_full_arrives_without_a_key() {
    let mut s = Session::open_holding(120, 35, env(&[]), &Config::default(), 1).await;
    let screen = s.wait_screen("the pending requests", pending_shown).await;
    let ids = row_ids(&screen);
    let [first, second, ..] = ids[..] else { panic!("two pending rows:\n{screen}") };
    let approver = Actor::User("bob@contoso.com".into());
    let decide = |id| Decide { id, approve: true, reason: "approved elsewhere".into() };
    s.engine.run(&approver, decide(first)).await.expect("Bob approves");
    // Not read: the frame without the first row fills the channel.
    let give_up = tokio::time::Instant::now() + PATIENCE;
    while s.output.is_empty() {
        assert!(tokio::time::Instant::now() < give_up, "no frame after the first approval");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    s.engine.run(&approver, decide(second)).await.expect("Bob approves");
    // Time to draw the frame without the second row while the channel is still full.
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.wait_screen("both approved rows to leave the list", |s| {
        let shown = row_ids(s);
        s.contains("Pending requests (") && !shown.contains(&first) && !shown.contains(&second)
    })
    .await;
    s.press(b"q").await;
    assert_eq!(s.ended().await.expect("q quits"), Ending::Quit);
}

#[tokio::test]
async fn a_window_change_redraws_at_the_new_size() {
    let mut s = Session::open(80, 24, env(&[])).await;
    s.wait_screen("the pending requests", pending_shown).await;
    s.resize(30, 8);
    s.wait_screen("the too-small notice", |s| s.starts_with("too small: 30x8, need 60x12")).await;
    s.resize(100, 30);
    let screen =
        s.wait_screen("the dashboard at 100x30", |s| pending_shown(s) && !s.contains("too small")).await;
    assert_eq!(screen.lines().count(), 30, "the layout should fill the new size:\n{screen}");
    let footer = screen.lines().last().unwrap_or_default();
    assert!(footer.contains("quit"), "the footer on the last row:\n{screen}");
    s.press(b"q").await;
    assert_eq!(s.ended().await.expect("q quits"), Ending::Quit);
}

#[tokio::test]
async fn closing_the_input_ends_the_run_as_a_hang_up_and_writes_nothing_more() {
    let mut s = Session::open(100, 30, env(&[])).await;
    s.wait_screen("the pending requests", pending_shown).await;
    let before = s.written.len();
    // A lone ESC waits for what follows; the client goes away meanwhile.
    s.press(b"\x1b").await;
    s.keys = None;
    let err = s.ended().await.expect_err("a client that went away is an error");
    assert_eq!(err.to_string(), "the terminal went away (its input ended): the dashboard quit");
    assert!(
        !find(&s.written[before..], LEAVE_ALTERNATE_SCREEN),
        "nothing is written to a client that went away"
    );
}

#[tokio::test]
async fn a_lone_esc_is_the_esc_key() {
    let mut s = Session::open(120, 35, env(&[])).await;
    let screen = s.wait_screen("the pending requests", pending_shown).await;
    let form = format!("Approve request {}", row_ids(&screen)[0]);
    s.press(b"a").await;
    s.wait_screen("the approve form", |s| s.contains(&form)).await;
    s.press(b"\x1b").await;
    s.wait_screen("the form to close", |s| !s.contains(&form)).await;
    s.press(b"q").await;
    assert_eq!(s.ended().await.expect("q quits"), Ending::Quit);
}

#[tokio::test]
async fn the_look_comes_from_the_clients_environment() {
    // Sessions in one process with opposite environments: the process's own plays no part.
    let light = Config { theme: Some("light".into()), ..Config::default() };
    let mut plain =
        Session::open(100, 30, TermEnv::from_vars([("TERM", "xterm"), ("LANG", "C"), ("NO_COLOR", "1")]))
            .await;
    let mut rich = Session::open_with(100, 30, env(&[("COLORTERM", "truecolor")]), &light).await;
    let mut palette = Session::open_with(100, 30, env(&[]), &light).await;
    let screen = plain.wait_screen("the pending requests", |s| s.contains("Pending requests (")).await;
    assert!(!screen.contains('│') && !screen.contains('─'), "a non-UTF-8 client gets ASCII:\n{screen}");
    for s in [&mut plain, &mut rich, &mut palette] {
        s.wait_screen("the pending requests", |s| s.contains("Pending requests (")).await;
        s.press(b"q").await;
        assert_eq!(s.ended().await.expect("q quits"), Ending::Quit);
    }
    assert!(find(&rich.written, b"38;2;"), "a truecolor client gets the theme's RGB colours");
    assert!(!find(&palette.written, b"38;2;"), "without COLORTERM they are mapped to the palette");
    assert!(find(&palette.written, b"38;5;"), "the palette's colours");
    assert!(!find(&plain.written, b"38;2;") && !find(&plain.written, b"38;5;"), "NO_COLOR: no colours");
}

#[tokio::test]
async fn a_terminal_that_cannot_move_the_cursor_is_refused_before_anything_is_written() {
    let mut s = Session::open(100, 30, TermEnv::from_vars([("TERM", "dumb")])).await;
    let err = s.ended().await.expect_err("refused");
    assert!(err.to_string().contains("(TERM=dumb)"), "{err}");
    assert!(s.written.is_empty(), "nothing written: {:?}", String::from_utf8_lossy(&s.written));
}
