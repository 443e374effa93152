//! `jitdesk demo --tour`: the first frame names who is signing in instead of "no identity", a
//! caption takes the footer's place while the tour plays (as text snapshots on a fixed clock), and
//! the real binary in tmux plays the story to its end by itself, shows its captions in order,
//! removes its store, and with `--loop` starts again on a fresh store until `q`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::common::tmux::{POLL, STARTUP, Tmux, demo_folders};
use crate::common::{BIN, Store};
use jitdesk::client::Backend;
use jitdesk::domain::rules::Actor;
use jitdesk::domain::time_style::TimeStyle;
use jitdesk::domain::{AccessRequest, RequestState};
use jitdesk::engine::OpenMode;
use jitdesk::engine::RequestFilter;
use jitdesk::engine::{Engine, ManualClock, Viewer};
use jitdesk::tui::app::{App, Call, Effect, Ui};
use jitdesk::tui::data::Snapshot;
use jitdesk::tui::keymap::Keymap;
use jitdesk::tui::theme::{Load, Theme};
use jitdesk::tui::tour::{Cue, SCRIPT, VIEWER, play};
use jitdesk::tui::{Outcome, perform};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).single().expect("a valid instant")
}

fn app() -> App {
    let ui = Ui {
        theme: Theme::load("default", &Load { user_dir: None, truecolor: true }).expect("the default theme"),
        keymap: Keymap::new(&HashMap::new()).expect("the default keymap"),
        time: TimeStyle::utc(),
        bell: false,
        mouse: false,
        ascii: false,
    };
    App::new(ui, now())
}

fn render(app: &App) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("a test terminal");
    terminal.draw(|f| jitdesk::tui::view::draw(f, app)).expect("a frame");
    terminal
}

fn first_line(terminal: &Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer();
    (0..buf.area.width).map(|x| buf[(x, 0)].symbol()).collect()
}

fn last_line(terminal: &Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer();
    let y = buf.area.height - 1;
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

/// Before the first snapshot, the header says who the dashboard was started as, and that it loads.
#[test]
fn the_first_frame_names_the_starting_identity_not_no_identity() {
    let mut app = app();
    app.starting_as = Some(VIEWER.into());
    let terminal = render(&app);
    let header = first_line(&terminal);
    assert!(header.contains(VIEWER), "the first frame should name {VIEWER}: {header:?}");
    assert!(header.contains("loading…"), "the first frame should say it is loading: {header:?}");
    assert!(!header.contains("no identity"), "nothing is known yet, so no \"no identity\": {header:?}");
    insta::assert_snapshot!("first_frame_as_alice", terminal.backend());

    // Started without an identity: still only "loading…" until the data says so.
    let terminal = render(&self::app());
    let header = first_line(&terminal);
    assert!(header.contains("loading…") && !header.contains("no identity"), "{header:?}");
}

/// The sample store at the fixed clock, as Alice sees it.
async fn sample_app(dir: &Path) -> App {
    let path = dir.join("store.redb");
    jitdesk::sample::create_at(&path, 0, now()).await.expect("the sample store");
    let engine = Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(now())))
        .await
        .expect("the sample opens");
    let snapshot = Snapshot::load(&engine, Some(VIEWER)).await.expect("a snapshot");
    engine.close().await.expect("the store closes");
    let mut app = app();
    app.on_snapshot(snapshot);
    app
}

/// A caption takes the footer's place of the key hints, and says that q quits.
#[tokio::test]
async fn a_caption_replaces_the_key_hints_in_the_footer() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut app = sample_app(dir.path()).await;
    let hints = last_line(&render(&app));
    assert!(hints.contains("approve"), "without a tour the footer shows the keys: {hints:?}");
    let caption = SCRIPT[1].caption.expect("the second step has a caption");
    app.caption = Some(caption.into());
    let terminal = render(&app);
    let footer = last_line(&terminal);
    assert_eq!(caption_on(&footer).as_deref(), Some(caption), "the footer should show the whole caption");
    assert!(footer.contains("q quits the tour"), "the footer should say how to quit: {footer:?}");
    assert!(!footer.contains("approve"), "the caption replaces the key hints: {footer:?}");
    insta::assert_snapshot!("caption_in_the_footer", terminal.backend());
}

/// Plays the whole tour in this process on the sample store under a clock stopped at NOW: its cues
/// go to an `App` as the event loop sends them, its effects run against the engine the same way,
/// and the frame is kept each time the tour waits for the screen. Returns the frames and the engine.
async fn play_through(dir: &Path) -> (Vec<String>, Engine) {
    let path = dir.join("store.redb");
    jitdesk::sample::create_at(&path, 0, now()).await.expect("the sample store");
    let engine = Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(now())))
        .await
        .expect("the sample opens");
    let alice = Actor::User(VIEWER.into());
    let mut app = app();
    app.starting_as = Some(VIEWER.into());
    let (cues, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let player = tokio::spawn(play(engine.clone(), SCRIPT, 100.0, cues));
    let mut frames = Vec::new();
    while let Some(cue) = heard.recv().await {
        let effects = match cue {
            Cue::Key(key) => app.on_key(key),
            Cue::Caption(text) => {
                app.caption = Some(text.into());
                Vec::new()
            }
            Cue::Sync(done) => {
                let snapshot = Snapshot::load(&engine, Some(VIEWER)).await.expect("a snapshot");
                let effects = app.on_snapshot(snapshot);
                frames.push(render(&app).backend().to_string());
                done.send(()).expect("the tour waits for the screen");
                effects
            }
            Cue::End => break,
        };
        for effect in effects {
            match effect {
                Effect::LoadDetail(id) => {
                    app.on_detail(engine.request(&Viewer::Operator, id).await.expect("the details"))
                }
                Effect::Run(call @ (Call::Decide(_) | Call::DecideEach { .. } | Call::Deploy(_))) => {
                    if let Call::DecideEach { each, .. } = &call {
                        assert!(
                            each.iter().all(|(_, d)| d.is_ok()),
                            "nothing changed while the form was open"
                        );
                    }
                    match perform(&Backend::from(&engine), &alice, call).await {
                        Outcome::Done(result) => app.on_result(result),
                        Outcome::Decided(approve, outcomes) => app.on_decided(approve, &outcomes),
                    }
                }
                other => panic!("the tour should not cause {other:?}"),
            }
        }
    }
    player.await.expect("the tour plays to its end");
    (frames, engine)
}

fn requests_on(page: Vec<AccessRequest>, app: &str) -> Vec<(String, RequestState)> {
    page.into_iter().filter(|r| r.app == app).map(|r| (r.requester, r.state)).collect()
}

/// The same tour twice gives the same frames; and each beat of the story happened in the store,
/// done through the dashboard's keys: an approval, a denial, a deployment, a bulk approval.
#[tokio::test]
async fn the_tour_plays_the_same_frames_twice_and_each_beat_happens() {
    let (one, two) = (tempfile::tempdir().expect("a temp dir"), tempfile::tempdir().expect("a temp dir"));
    let (frames, engine) = play_through(one.path()).await;
    let (again, other) = play_through(two.path()).await;
    other.close().await.expect("the store closes");
    assert!(frames.len() > 10, "the tour should wait for the screen at each step: {}", frames.len());
    assert_eq!(frames, again, "two plays of the tour should draw the same frames");
    assert!(frames.iter().all(|f| !f.contains("no identity")), "no frame should say \"no identity\"");

    let all = engine.requests(&Viewer::Operator, RequestFilter::default()).await.expect("requests").items;
    let crm = requests_on(all.clone(), "contoso-crm");
    assert!(crm.contains(&("frank@fabrikam.com".into(), RequestState::Approved)), "{crm:?}");
    assert!(crm.contains(&("grace@fabrikam.com".into(), RequestState::Denied)), "{crm:?}");
    let qa = engine.app(&Viewer::Operator, "contoso-crm-qa").await.expect("the wizard deployed it");
    assert!(qa.policy.enabled && qa.policy.approvers.iter().any(|a| a == VIEWER), "{:?}", qa.policy);
    let asked = requests_on(all, "contoso-crm-qa");
    assert!(asked.len() >= 3, "several requests should arrive on the new application: {asked:?}");
    assert!(asked.iter().all(|(_, s)| *s == RequestState::Approved), "all approved in bulk: {asked:?}");
    engine.close().await.expect("the store closes");
}

/// The tour's caption on screen (the footer's ` › ` line), cut marks and hint removed.
fn caption_on(screen: &str) -> Option<String> {
    let footer = screen.lines().rev().find(|l| !l.trim().is_empty())?;
    let text = footer.trim_start().strip_prefix("› ")?;
    let text = text.split("  q quits the tour").next()?;
    Some(text.trim_end().trim_end_matches('…').to_string())
}

/// Which caption of the script a shown one is (shown ones may be cut at the end).
fn step_of(shown: &str) -> Option<usize> {
    SCRIPT.iter().filter_map(|s| s.caption).position(|c| c.starts_with(shown))
}

#[test]
fn the_tour_plays_its_captions_in_order_ignores_other_keys_and_ends_by_itself() {
    let t = Tmux::new("tour");
    t.start(160, 40, &format!("exec '{BIN}' --utc demo --tour --speed 10"));
    let captions: Vec<&str> = SCRIPT.iter().filter_map(|s| s.caption).collect();
    let mut seen: Vec<usize> = Vec::new();
    let mut folders = Vec::new();
    // Only `q` works while the tour plays: `?` (the help) is pressed once and must change nothing.
    let mut pressed = false;
    let mut helped = false;
    let started = Instant::now();
    while t.alive() {
        let screen = t.capture();
        if let Some(step) = caption_on(&screen).as_deref().and_then(step_of)
            && seen.last() != Some(&step)
        {
            seen.push(step);
            if !pressed {
                t.keys(&["?"]);
                pressed = true;
            }
        }
        helped |= screen.contains("┌ Keys ");
        folders.extend(demo_folders(&t.path("tmp")));
        assert!(started.elapsed() < Duration::from_secs(120), "the tour did not end: {}", t.capture());
        std::thread::sleep(POLL);
    }
    assert_eq!(t.wait_exit(STARTUP), 0, "the tour should end with status 0 by itself");
    assert!(pressed && !helped, "a key other than q should be ignored while the tour plays");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "captions should come in the script's order: {seen:?}");
    assert!(
        seen.len() * 2 >= captions.len(),
        "most captions should show (seen {seen:?} of {} captions)",
        captions.len()
    );
    assert!(!folders.is_empty(), "the tour should play on a demo store under TMPDIR");
    assert_eq!(demo_folders(&t.path("tmp")), Vec::<String>::new(), "the demo store should be gone after");
}

#[test]
fn the_tour_loops_on_a_fresh_store_until_q() {
    let t = Tmux::new("tour-loop");
    let tmp = t.path("tmp");
    t.start(160, 40, &format!("exec '{BIN}' --utc demo --tour --loop --speed 10"));
    let first = SCRIPT[0].caption.expect("the tour opens with a caption");
    t.wait_screen("the first caption", STARTUP, |s| caption_on(s).is_some_and(|c| first.starts_with(&c)));
    let store = demo_folders(&tmp);
    assert_eq!(store.len(), 1, "one demo store at a time: {store:?}");
    // Once the first pass has moved on, the first caption again means the tour restarted.
    t.wait_screen("a later caption", Duration::from_secs(60), |s| {
        caption_on(s).as_deref().and_then(step_of).is_some_and(|step| step > 0)
    });
    t.wait_screen("the first caption again", Duration::from_secs(120), |s| {
        caption_on(s).is_some_and(|c| first.starts_with(&c))
    });
    let again = demo_folders(&tmp);
    assert_eq!(again.len(), 1, "the first pass's store should be gone: {again:?}");
    assert_ne!(again, store, "the second pass should play on a fresh store");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0, "q should end the looping tour with status 0");
    assert_eq!(demo_folders(&tmp), Vec::<String>::new(), "no demo store should be left");
}

/// Refused before anything starts, with one line: a speed that is no speed, and another viewer.
#[test]
fn a_tour_with_a_bad_speed_or_another_viewer_is_refused_in_one_line() {
    let store = Store::new();
    for args in [
        &["demo", "--tour", "--speed", "nan"][..],
        &["demo", "--speed", "0"],
        &["--as", "bob@contoso.com", "demo", "--tour"],
    ] {
        let run = store.run(args);
        assert_ne!(run.code, 0, "{args:?} should fail");
        let line = run.error_line();
        assert!(line.contains("--speed") || line.contains("--as"), "{args:?}: {line}");
    }
    assert!(!store.path.exists(), "a refused demo should create nothing");
}
