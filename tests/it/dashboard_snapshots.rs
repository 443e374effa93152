//! The dashboard's screens, as text snapshots (insta + ratatui's `TestBackend`) on the sample store
//! with a fixed clock, each at 100x30 and at 80x24; and style assertions on the rendered `Buffer`
//! for what text cannot show: the selection, the mono theme, and colour downgrading.
//!
//! Every case builds its own store with `sample::create_at(.., NOW)` and opens it under a manual
//! clock stopped at NOW, so the screens are the same on every run. Keys go through `App::on_key`
//! exactly as the event loop sends them; the effects the loop would run (details to load, engine
//! calls) are run here against the engine and their results fed back the same way.
//!
//! Review a changed screen with `cargo insta review`, or rerun with `INSTA_UPDATE=always` and read
//! the diff; CI (CI=true) fails on any mismatch.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use crate::common::alone::rerun;
use jitdesk::config::{Config, TimeShown};
use jitdesk::domain::rules::Actor;
use jitdesk::domain::time_style::TimeStyle;
use jitdesk::engine::OpenMode;
use jitdesk::engine::{Engine, ManualClock, Viewer};
use jitdesk::tui::Outcome;
use jitdesk::tui::app::{App, Effect, Ui};
use jitdesk::tui::data::Snapshot;
use jitdesk::tui::keymap::Keymap;
use jitdesk::tui::theme::{Load, Theme};

/// The fixed present of every screen: a Thursday morning, so "today" and "other days" both occur.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).single().expect("a valid instant")
}

const ALICE: &str = "alice@contoso.com";
const DAVE: &str = "dave@fabrikam.com";

/// The two sizes the issue asks for: a roomy terminal and the classic 80x24.
const SIZES: &[(u16, u16)] = &[(100, 30), (80, 24)];

/// Who looks at the dashboard.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// Alice: customer admin and approver of contoso-crm.
    Approver,
    /// Dave: a publisher engineer.
    Publisher,
    /// A brand-new empty store, no identity.
    Empty,
}

/// One thing the user does: a key, or text typed key by key.
#[derive(Debug, Clone, Copy)]
enum Step {
    Key(KeyCode),
    /// A letter with Ctrl held.
    Ctrl(char),
    Type(&'static str),
}

use Step::{Ctrl, Key, Type};

const ENTER: Step = Key(KeyCode::Enter);
const TAB: Step = Key(KeyCode::Tab);
const BACKSPACE: Step = Key(KeyCode::Backspace);

/// A plain key: a letter, a digit or a sign.
const fn k(c: char) -> Step {
    Key(KeyCode::Char(c))
}

fn describe(who: Who, steps: &[Step]) -> String {
    let mut text = match who {
        Who::Approver => format!("as {ALICE}"),
        Who::Publisher => format!("as {DAVE}"),
        Who::Empty => "empty store, no identity".to_string(),
    };
    if !steps.is_empty() {
        text.push_str(", keys:");
        for step in steps {
            match step {
                Key(KeyCode::Char(c)) => write!(text, " {c}"),
                Key(code) => write!(text, " <{code}>"),
                Ctrl(c) => write!(text, " <Ctrl-{c}>"),
                Type(s) => write!(text, " {s:?}"),
            }
            .expect("writing to a String");
        }
    }
    text
}

fn theme(name: &str, truecolor: bool) -> Theme {
    Theme::load(name, &Load { user_dir: None, truecolor }).expect("a built-in theme loads")
}

/// The dashboard over its own store, driven like the event loop drives it.
struct Screen {
    _dir: tempfile::TempDir,
    engine: Engine,
    me: Option<&'static str>,
    app: App,
}

impl Screen {
    async fn open(who: Who) -> Screen {
        Screen::open_with(who, theme("default", true)).await
    }

    async fn open_with(who: Who, theme: Theme) -> Screen {
        Screen::open_in(who, theme, TimeStyle::utc()).await
    }

    /// As `open_with`, showing times in `time`'s zone.
    async fn open_in(who: Who, theme: Theme, time: TimeStyle) -> Screen {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("store.redb");
        let clock = Arc::new(ManualClock::new(now()));
        let (engine, me) = match who {
            Who::Empty => (Engine::open(&path, OpenMode::Create, clock).await.expect("a new store"), None),
            Who::Approver | Who::Publisher => {
                sample(&path);
                let engine = Engine::open(&path, OpenMode::Existing, clock).await.expect("the sample opens");
                (engine, Some(if matches!(who, Who::Approver) { ALICE } else { DAVE }))
            }
        };
        let ui = Ui {
            theme,
            keymap: Keymap::new(&HashMap::new()).expect("the default keymap"),
            time,
            bell: false,
            mouse: false,
            ascii: false,
        };
        let mut screen = Screen { _dir: dir, engine, me, app: App::new(ui, now()) };
        screen.reload().await;
        screen
    }

    /// A fresh snapshot, as the loop loads one after every engine event.
    async fn reload(&mut self) {
        let snapshot = Snapshot::load(&self.engine, self.me).await.expect("a snapshot");
        for effect in self.app.on_snapshot(snapshot) {
            if let Effect::LoadDetail(id) = effect {
                self.load_detail(id).await;
            }
        }
    }

    async fn load_detail(&mut self, id: u64) {
        let detail = self.engine.request(&Viewer::Operator, id).await.expect("the request's details");
        self.app.on_detail(detail);
    }

    async fn press(&mut self, steps: &[Step]) {
        for step in steps {
            match *step {
                Key(code) => self.key(code).await,
                Ctrl(c) => self.send(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)).await,
                Type(text) => {
                    for c in text.chars() {
                        self.key(KeyCode::Char(c)).await;
                    }
                }
            }
        }
    }

    async fn key(&mut self, code: KeyCode) {
        let modifiers = match code {
            KeyCode::Char(c) if c.is_uppercase() => KeyModifiers::SHIFT,
            _ => KeyModifiers::NONE,
        };
        self.send(KeyEvent::new(code, modifiers)).await;
    }

    /// Sends a key, and runs what it asks for as the event loop does, with the same words.
    async fn send(&mut self, key: KeyEvent) {
        let actor = match self.me {
            Some(upn) => Actor::User(upn.to_string()),
            None => Actor::Operator("snapshots".into()),
        };
        for effect in self.app.on_key(key) {
            match effect {
                Effect::LoadDetail(id) => self.load_detail(id).await,
                Effect::Run(call) => {
                    let backend = jitdesk::client::Backend::from(&self.engine);
                    match jitdesk::tui::perform(&backend, &actor, call).await {
                        Outcome::Decided(approve, outcomes) => {
                            self.app.on_decided(approve, &outcomes);
                            self.reload().await;
                        }
                        Outcome::Done(result) => {
                            let changed = result.is_ok();
                            self.app.on_result(result);
                            if changed {
                                self.reload().await;
                            }
                        }
                    }
                }
                Effect::Quit | Effect::Bell | Effect::MarkSeen(_) => {}
            }
        }
    }

    fn render(&self, width: u16, height: u16) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
        terminal.draw(|f| jitdesk::tui::view::draw(f, &self.app)).expect("a frame");
        terminal
    }

    fn buffer(&self, width: u16, height: u16) -> Buffer {
        self.render(width, height).backend().buffer().clone()
    }
}

/// The sample store at `path`. It is built once per test process (through the engine, at NOW) and
/// copied for each case: a closed redb file is self-contained, and the copy is what a fresh build
/// would write.
fn sample(path: &Path) {
    static SAMPLE: OnceLock<Vec<u8>> = OnceLock::new();
    let bytes = SAMPLE.get_or_init(|| {
        // Its own thread and runtime: this may first run inside a test's runtime.
        std::thread::spawn(|| {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let dir = tempfile::tempdir().expect("a temp dir");
                let path = dir.path().join("sample.redb");
                jitdesk::sample::create_at(&path, 0, now()).await.expect("the sample store");
                std::fs::read(&path).expect("the sample file")
            })
        })
        .join()
        .expect("the sample builder")
    });
    std::fs::write(path, bytes).expect("a copy of the sample");
}

/// A screen to snapshot: who, which keys, at which sizes.
struct Case {
    name: &'static str,
    who: Who,
    steps: &'static [Step],
    sizes: &'static [(u16, u16)],
}

impl Case {
    /// The screen at each size, each from a fresh store with the keys pressed in order (the loop
    /// draws between keys; nothing here depends on the size before the last frame).
    async fn frames(&self) -> Vec<((u16, u16), Terminal<TestBackend>)> {
        let mut frames = Vec::new();
        for &(w, h) in self.sizes {
            let mut screen = Screen::open(self.who).await;
            screen.render(w, h);
            screen.press(self.steps).await;
            frames.push(((w, h), screen.render(w, h)));
        }
        frames
    }

    async fn check(&self) {
        for ((w, h), terminal) in self.frames().await {
            let text = terminal.backend().to_string();
            if w >= 62 && h >= 12 && !matches!(self.who, Who::Empty) {
                // The header's clock: the fixed instant, in UTC and saying so, whatever the machine's zone.
                assert!(
                    text.lines()
                        .next()
                        .is_some_and(|header| header.trim_end_matches(['"', ' ']).ends_with("10:00 UTC")),
                    "{}@{w}x{h}: no UTC clock in\n{text}",
                    self.name
                );
            }
            insta::with_settings!({
                snapshot_suffix => format!("{w}x{h}"),
                description => describe(self.who, self.steps),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(self.name, terminal.backend());
            });
        }
    }
}

macro_rules! cases {
    ($($name:ident: $who:expr, [$($step:expr),* $(,)?] $(, $sizes:expr)?;)*) => {
        /// Every snapshot case, for the time-zone check that renders them all again.
        const CASES: &[Case] = &[$(Case {
            name: stringify!($name),
            who: $who,
            steps: &[$($step),*],
            sizes: cases!(@sizes $($sizes)?),
        }),*];

        $(
            #[tokio::test]
            async fn $name() {
                case(stringify!($name)).check().await;
            }
        )*
    };
    (@sizes) => { SIZES };
    (@sizes $sizes:expr) => { $sizes };
}

/// The header, the Requests, Access and Activity tabs and the help screen with times in a zone
/// other than UTC: every time names the zone, the clock too, and a time on another day of that
/// zone carries its date.
#[tokio::test]
async fn screens_in_other_zones_name_them() {
    let screens: [(&str, Who, &[Step]); 5] = [
        ("requests", Who::Approver, &[]),
        ("my_requests", Who::Publisher, &[]),
        ("access", Who::Approver, &[k('4')]),
        ("activity", Who::Approver, &[k('5')]),
        ("help", Who::Approver, &[k('?')]),
    ];
    // 10:00 UTC is 15:30 in India and 05:00 in New York, on the same day.
    for (zone, abbreviation, clock) in
        [("Asia/Kolkata", "IST", "15:30 IST"), ("America/New_York", "EST", "05:00 EST")]
    {
        for (name, who, steps) in screens {
            let tz = jiff::tz::TimeZone::get(zone).expect("the system has this zone");
            let mut screen = Screen::open_in(who, theme("default", true), TimeStyle::in_zone(tz)).await;
            screen.render(100, 30);
            screen.press(steps).await;
            let terminal = screen.render(100, 30);
            let text = terminal.backend().to_string();
            let header = text.lines().next().unwrap_or_default();
            assert!(header.trim_end_matches(['"', ' ']).ends_with(clock), "{zone}: {header}");
            // The help's line on how to choose UTC is the one place that may name it.
            let utc = text.lines().any(|l| l.contains(" UTC") && !l.contains("Times are in"));
            assert!(!utc, "{zone} {name}: a time in UTC\n{text}");
            assert!(
                text.matches(abbreviation).count() > 1,
                "{zone} {name}: only the clock names the zone\n{text}"
            );
            let slug = zone.replace('/', "_").to_lowercase();
            insta::with_settings!({
                description => format!("{} in {zone}", describe(who, steps)),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(format!("zoned_{name}_{slug}"), terminal.backend());
            });
        }
    }
}

fn case(name: &str) -> &'static Case {
    CASES.iter().find(|c| c.name == name).expect("a listed case")
}

cases! {
    // The approver (alice), who lands on the Requests tab.
    approver_tab1_applications: Who::Approver, [k('1')];
    // The tab opens on contoso-crm (two approvers), the first application with JIT; the one above it
    // was deployed without JIT.
    approver_tab2_jit_settings: Who::Approver, [k('2')];
    approver_tab2_jit_settings_without_jit: Who::Approver, [k('2'), k('k')];
    approver_tab3_requests: Who::Approver, [];
    approver_tab4_access: Who::Approver, [k('4')];
    approver_tab5_activity: Who::Approver, [k('5')];
    approver_help: Who::Approver, [k('?')];
    approver_request_detail: Who::Approver, [ENTER];
    approver_approve_form_with_reason: Who::Approver, [k('a'), Type("Matches INC-20580, read-only")];
    approver_approve_form_long_reason: Who::Approver, [k('a'), Type(LONG_REASON)];
    approver_approve_done: Who::Approver, [k('a'), Type("Matches INC-20580"), ENTER];
    approver_deny_form_engine_error: Who::Approver, [k('d'), ENTER];
    approver_deny_reason_with_bidi_control: Who::Approver, [k('d'), Type("no\u{202e}kcatta"), ENTER];
    approver_jit_settings_editor: Who::Approver, [k('2'), k('e')];
    approver_jit_settings_editor_engine_error: Who::Approver, [
        k('2'), k('e'), TAB, BACKSPACE, BACKSPACE, Type("0m"), Ctrl('s'),
    ];
    approver_jit_settings_editor_refused_without_jit: Who::Approver, [k('2'), k('k'), k('e')];
    // The deployment wizard, step by step: offer, basics, JIT configuration, customization, review.
    approver_deploy_wizard: Who::Approver, [k('1'), k('n')];
    approver_deploy_wizard_offer_search: Who::Approver, [k('1'), k('n'), Type("crm")];
    approver_deploy_wizard_basics: Who::Approver, [k('1'), k('n'), Type("crm"), ENTER, Type("crm-test")];
    approver_deploy_wizard_bad_name: Who::Approver, [k('1'), k('n'), Type("crm"), ENTER, Type("crm test!")];
    approver_deploy_wizard_jit_step: Who::Approver, [
        k('1'), k('n'), Type("crm"), ENTER, Type("crm-test"), ENTER, ENTER,
    ];
    approver_deploy_wizard_jit_no: Who::Approver, [
        k('1'), k('n'), Type("crm"), ENTER, Type("crm-test"), ENTER, ENTER, k('n'),
    ];
    approver_deploy_wizard_offer_without_jit: Who::Approver, [
        k('1'), k('n'), Type("analytics"), ENTER, Type("bi"), ENTER, ENTER,
    ];
    approver_deploy_wizard_customize: Who::Approver, [
        k('1'), k('n'), Type("crm"), ENTER, Type("crm-test"), ENTER, ENTER, ENTER, k('m'), TAB, TAB,
        Type("bob"),
    ];
    approver_deploy_wizard_review: Who::Approver, [
        k('1'), k('n'), Type("crm"), ENTER, Type("crm-test"), ENTER, ENTER, ENTER, k('m'), TAB, TAB,
        Type("bob"), ENTER, ENTER, ENTER,
    ];
    approver_deploy_wizard_review_without_jit: Who::Approver, [
        k('1'), k('n'), Type("crm"), ENTER, Type("crm-test"), ENTER, ENTER, k('n'), ENTER,
    ];
    approver_deploy_wizard_created: Who::Approver, [
        k('1'), k('n'), Type("crm"), ENTER, Type("crm-test"), ENTER, ENTER, ENTER, k('m'), TAB, TAB,
        Type("bob"), ENTER, ENTER, ENTER, ENTER,
    ];
    approver_revoke_confirm: Who::Approver, [k('4'), k('x')];
    approver_revoke_reason_form: Who::Approver, [k('4'), k('x'), k('y')];
    approver_filter_typing: Who::Approver, [k('/'), Type("erin")];
    approver_filter_kept: Who::Approver, [k('/'), Type("erin"), ENTER];
    approver_filter_no_match: Who::Approver, [k('/'), Type("zzz"), ENTER];
    // Marks: Space marks the row under the cursor, `*` every row Alice can decide; `a` then opens
    // one form that names each marked request.
    approver_marked_rows: Who::Approver, [k(' '), k('j'), k(' ')];
    approver_bulk_approve_form: Who::Approver, [k('*'), k('a'), Type("Matches INC-20580")];
    // The publisher (dave): his own requests, his access, the request form.
    publisher_tab3_requests: Who::Publisher, [];
    publisher_tab4_access: Who::Publisher, [k('4')];
    publisher_tab5_activity: Who::Publisher, [k('5')];
    publisher_new_request_form: Who::Publisher, [k('n')];
    publisher_cancel_confirm: Who::Publisher, [k('c')];
    // An empty store: the first-run screen, not an empty table.
    first_run: Who::Empty, [];
    // Too small for the layout: one line of notice, down to a single cell.
    too_small: Who::Approver, [], &[(40, 10), (1, 1), (59, 30), (100, 11)];
}

/// Longer than any form is wide.
const LONG_REASON: &str = "Approved for the incident bridge of INC-20580: read-only access to the app \
    service metrics, nothing else, ends with the incident";

// --- the local time zone must not matter -------------------------------------------------------

const DUMP_VAR: &str = "JITDESK_SNAPSHOT_DUMP";
const OFFSET_VAR: &str = "JITDESK_SNAPSHOT_TZ_OFFSET";

async fn dump_all() -> String {
    let mut out = String::new();
    for case in CASES {
        for ((w, h), terminal) in case.frames().await {
            writeln!(out, "== {}@{w}x{h}\n{}", case.name, terminal.backend()).expect("writing to a String");
        }
    }
    out
}

/// With `utc: true` no screen may show local time: every case renders the same under time zones 14
/// hours east and 11 hours west of UTC (where NOW falls on another calendar day) as in this process.
/// The test reruns itself alone (`common::alone`) under each TZ, the only way to change the local zone
/// without racing the other tests.
#[tokio::test]
async fn local_timezone_changes_no_screen() {
    if let Some(path) = std::env::var_os(DUMP_VAR) {
        // The child: first make sure TZ really took effect, or the comparison would prove nothing.
        let expected: i32 = std::env::var(OFFSET_VAR).expect("the expected offset").parse().expect("seconds");
        let offset = chrono::Local.offset_from_utc_datetime(&now().naive_utc()).local_minus_utc();
        assert_eq!(offset, expected, "TZ={:?} was not applied", std::env::var("TZ"));
        std::fs::write(path, dump_all().await).expect("write the dump");
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let here = dump_all().await;
    for (tz, offset) in
        [("Pacific/Kiritimati", 14 * 3600), ("Pacific/Pago_Pago", -11 * 3600), ("<+0530>-5:30", 19800)]
    {
        let path = dir.path().join("dump.txt");
        let output = rerun()
            .env("TZ", tz)
            .env(DUMP_VAR, &path)
            .env(OFFSET_VAR, offset.to_string())
            .output()
            .expect("rerun this test binary");
        assert!(
            output.status.success(),
            "the dump under TZ={tz} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let there = std::fs::read_to_string(&path).expect("the dump");
        if there != here {
            let diff = here
                .lines()
                .zip(there.lines())
                .find(|(a, b)| a != b)
                .map_or_else(|| "lengths differ".to_string(), |(a, b)| format!("here:  {a}\nthere: {b}"));
            panic!("a screen changes with TZ={tz}:\n{diff}");
        }
    }
}

// --- styles: what text snapshots cannot show ---------------------------------------------------

/// The row of the first cell whose line contains `text`.
fn row_of(buf: &Buffer, text: &str) -> u16 {
    let area = buf.area;
    (area.top()..area.bottom())
        .find(|&y| line(buf, y).contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?} in\n{}", lines(buf)))
}

fn line(buf: &Buffer, y: u16) -> String {
    (buf.area.left()..buf.area.right()).map(|x| buf[(x, y)].symbol()).collect()
}

fn lines(buf: &Buffer) -> String {
    (buf.area.top()..buf.area.bottom()).map(|y| line(buf, y) + "\n").collect()
}

/// Which cells of a row carry all of `modifiers`, from the table's left border to its right one.
fn marked(buf: &Buffer, y: u16, modifiers: Modifier) -> Vec<bool> {
    (buf.area.left() + 1..buf.area.right() - 1).map(|x| buf[(x, y)].modifier.contains(modifiers)).collect()
}

/// Asserts that in the Requests table exactly the data row `selected` (0-based) is drawn in the
/// selection's style across its whole width, and no other row has any of it.
fn assert_only_row_selected(buf: &Buffer, selection: ratatui::style::Style, selected: u16, rows: u16) {
    let header = row_of(buf, "DECIDE IN");
    let modifiers = selection.add_modifier;
    assert!(!modifiers.is_empty(), "the selection style has no modifier to check");
    let width = usize::from(buf.area.width - 2);
    for i in 0..rows {
        let y = header + 1 + i;
        if i == selected {
            assert_eq!(marked(buf, y, modifiers), vec![true; width], "row {i} is selected:\n{}", lines(buf));
            for x in buf.area.left() + 1..buf.area.right() - 1 {
                let cell = &buf[(x, y)];
                if let Some(bg) = selection.bg {
                    assert_eq!(cell.bg, bg, "selection background at ({x},{y})");
                }
            }
        } else {
            let any =
                |m: Modifier| (buf.area.left()..buf.area.right()).any(|x| buf[(x, y)].modifier.intersects(m));
            assert!(
                !any(Modifier::REVERSED),
                "row {i} is not selected but has reversed cells:\n{}",
                lines(buf)
            );
            if let Some(bg) = selection.bg {
                assert!(
                    (1..buf.area.width - 1).all(|x| buf[(x, y)].bg != bg),
                    "row {i} has the selection background"
                );
            }
        }
    }
    // The header is never drawn as selected.
    assert!(marked(buf, header, Modifier::REVERSED).iter().all(|m| !m));
}

#[tokio::test]
async fn the_selected_request_row_carries_the_selection_style_and_no_other_does() {
    let mut screen = Screen::open(Who::Approver).await;
    let selection = screen.app.ui.theme.style("selection");
    assert!(selection.add_modifier.contains(Modifier::REVERSED), "{selection:?}");
    let rows = u16::try_from(screen.app.row_count()).expect("a few rows");
    assert!(rows >= 2, "the sample has at least two pending requests for alice");
    for (w, h) in SIZES.iter().copied() {
        assert_only_row_selected(&screen.buffer(w, h), selection, 0, rows);
    }
    screen.press(&[k('j')]).await;
    for (w, h) in SIZES.iter().copied() {
        assert_only_row_selected(&screen.buffer(w, h), selection, 1, rows);
    }
    // Past the end it stays on the last row.
    screen.press(&[k('j'), k('j')]).await;
    assert_only_row_selected(&screen.buffer(100, 30), selection, rows - 1, rows);
}

/// Screens that between them use every style of a theme: each tab, a form with a cursor, the
/// help, a confirmation, an error toast, the details.
const STYLE_TOUR: &[&[Step]] = &[
    &[k('1')],
    &[k('2'), k('k')],
    &[k('2')],
    &[],
    &[k('4')],
    &[k('5')],
    &[k('?')],
    &[ENTER],
    &[k('a'), Type("ok")],
    &[k('d'), ENTER],
    &[k('2'), k('e'), TAB, BACKSPACE, BACKSPACE, Type("0m"), Ctrl('s')],
    &[k('1'), k('n'), Type("crm")],
    &[k('1'), k('n'), Type("crm"), ENTER, Type("crm test!")],
    &[k('1'), k('n'), Type("crm"), ENTER, Type("crm-test"), ENTER, ENTER, k('n')],
    &[
        k('1'),
        k('n'),
        Type("crm"),
        ENTER,
        Type("crm-test"),
        ENTER,
        ENTER,
        ENTER,
        k('m'),
        TAB,
        TAB,
        Type("bob"),
    ],
    &[k('1'), k('n'), Type("crm"), ENTER, Type("crm-test"), ENTER, ENTER, k('n'), ENTER],
    &[k('4'), k('x')],
    &[k('/'), Type("erin")],
    &[k('a'), Type("ok"), ENTER],
    &[k('n')],
];

async fn tour(who: Who, theme_name: &str, truecolor: bool) -> Vec<(String, Buffer)> {
    let mut out = Vec::new();
    for steps in STYLE_TOUR {
        let mut screen = Screen::open_with(who, theme(theme_name, truecolor)).await;
        screen.press(steps).await;
        out.push((describe(who, steps), screen.buffer(100, 30)));
    }
    out
}

fn colours(buf: &Buffer) -> impl Iterator<Item = (u16, u16, Color)> + '_ {
    let area = buf.area;
    (area.top()..area.bottom()).flat_map(move |y| {
        (area.left()..area.right()).flat_map(move |x| {
            let cell = &buf[(x, y)];
            [cell.fg, cell.bg, cell.underline_color].map(|c| (x, y, c))
        })
    })
}

#[tokio::test]
async fn the_mono_theme_draws_no_colour_and_keeps_the_selection_visible() {
    for who in [Who::Approver, Who::Publisher] {
        for (what, buf) in tour(who, "mono", true).await {
            if let Some((x, y, c)) = colours(&buf).find(|(_, _, c)| *c != Color::Reset) {
                panic!("mono draws {c:?} at ({x},{y}) ({what}):\n{}", lines(&buf));
            }
        }
    }
    let screen = Screen::open_with(Who::Approver, theme("mono", true)).await;
    let selection = screen.app.ui.theme.style("selection");
    assert!(selection.add_modifier.contains(Modifier::REVERSED));
    let rows = u16::try_from(screen.app.row_count()).expect("a few rows");
    for (w, h) in SIZES.iter().copied() {
        assert_only_row_selected(&screen.buffer(w, h), selection, 0, rows);
    }
}

#[tokio::test]
async fn the_light_theme_without_truecolor_draws_only_indexed_and_named_colours() {
    let mut indexed = false;
    for who in [Who::Approver, Who::Publisher] {
        for (what, buf) in tour(who, "light", false).await {
            if let Some((x, y, c)) = colours(&buf).find(|(_, _, c)| matches!(c, Color::Rgb(..))) {
                panic!("light without truecolor draws {c:?} at ({x},{y}) ({what}):\n{}", lines(&buf));
            }
            indexed |= colours(&buf).any(|(_, _, c)| matches!(c, Color::Indexed(_)));
        }
    }
    assert!(indexed, "light's RGB palette should show up as 256-colour indexes");
    // And with truecolor the same theme does use RGB: the check above is not vacuous.
    let with_rgb = tour(Who::Approver, "light", true).await;
    assert!(with_rgb.iter().any(|(_, buf)| colours(buf).any(|(_, _, c)| matches!(c, Color::Rgb(..)))));
}

/// Screens in ASCII mode (terminals and locales without Unicode) that between them draw every
/// symbol of the dashboard: borders, the selection, arrows in hints, ellipses, step marks, bullets.
const ASCII_CASES: &[(&str, &[Step])] = &[
    ("ascii_requests", &[]),
    ("ascii_details", &[ENTER]),
    ("ascii_approve_form", &[k('a'), Type("ok")]),
    ("ascii_deploy_wizard_jit", &[k('1'), k('n'), Type("crm"), ENTER, Type("crm-test"), ENTER, ENTER]),
    ("ascii_activity", &[k('5')]),
    ("ascii_help", &[k('?')]),
];

#[tokio::test]
async fn ascii_mode_draws_nothing_but_ascii() {
    for (name, steps) in ASCII_CASES {
        for &(w, h) in SIZES {
            let mut screen = Screen::open(Who::Approver).await;
            screen.app.ui.ascii = true;
            screen.press(steps).await;
            let terminal = screen.render(w, h);
            let text = terminal.backend().to_string();
            let odd: String = text.chars().filter(|c| !c.is_ascii()).collect();
            assert!(odd.is_empty(), "{name}@{w}x{h} draws {odd:?}:\n{text}");
            insta::with_settings!({
                snapshot_suffix => format!("{w}x{h}"),
                description => format!("ASCII mode, {}", describe(Who::Approver, steps)),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(*name, terminal.backend());
            });
        }
    }
}

/// A cell's colour as the terminal shows it: the terminal's own foreground or background (which
/// differ from each other), or a colour the theme chose.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shown {
    TerminalFg,
    TerminalBg,
    Chosen(Color),
}

/// The foreground and background a cell shows, after `reversed` swaps them.
fn shown(cell: &ratatui::buffer::Cell) -> (Shown, Shown) {
    let pick = |c: Color, own: Shown| if c == Color::Reset { own } else { Shown::Chosen(c) };
    let (fg, bg) = (pick(cell.fg, Shown::TerminalFg), pick(cell.bg, Shown::TerminalBg));
    if cell.modifier.contains(Modifier::REVERSED) { (bg, fg) } else { (fg, bg) }
}

/// WCAG 2 relative luminance of a 24-bit colour.
fn luminance(r: u8, g: u8, b: u8) -> f64 {
    let channel = |v: u8| {
        let c = f64::from(v) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// WCAG 2 contrast ratio, from 1 (the same) to 21 (black on white).
fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a.0, a.1, a.2), luminance(b.0, b.1, b.2));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn contrast_follows_wcag() {
    assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 1e-9);
    assert!((contrast((0x77, 0x77, 0x77), (255, 255, 255)) - 4.48).abs() < 0.01);
    assert!((contrast((9, 9, 9), (9, 9, 9)) - 1.0).abs() < 1e-9);
}

/// Every built-in theme, on every screen of the tour (selected rows, forms, toasts, badges), with
/// and without true colour: no styled cell shows its text in its own background colour, and where
/// both are 24-bit colours they differ by at least WCAG's 4.5:1.
#[tokio::test]
async fn every_built_in_theme_keeps_every_styled_cell_readable() {
    for name in jitdesk::tui::theme::built_in() {
        for truecolor in [true, false] {
            for who in [Who::Approver, Who::Publisher] {
                for (what, buf) in tour(who, name, truecolor).await {
                    for y in buf.area.top()..buf.area.bottom() {
                        for x in buf.area.left()..buf.area.right() {
                            let cell = &buf[(x, y)];
                            // A blank shows only its background: nothing on it to read.
                            if cell.symbol().trim().is_empty() {
                                continue;
                            }
                            let (fg, bg) = shown(cell);
                            let at = || format!("{name} (truecolor {truecolor}) at ({x},{y}), {what}");
                            assert_ne!(fg, bg, "{} draws {:?} on itself:\n{}", at(), fg, lines(&buf));
                            if let (Shown::Chosen(Color::Rgb(a, b, c)), Shown::Chosen(Color::Rgb(d, e, f))) =
                                (fg, bg)
                            {
                                let ratio = contrast((a, b, c), (d, e, f));
                                assert!(
                                    ratio >= 4.5,
                                    "{} has contrast {ratio:.2} ({fg:?} on {bg:?}):\n{}",
                                    at(),
                                    lines(&buf)
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The form's cursor is a single cell in the selection's style, on the focused field's row, right
/// after the last character shown there (the text scrolls sideways when it is longer than the row).
fn assert_cursor_at_end(buf: &Buffer, title: &str, label: &str) {
    let popup = popup_rect(buf, title);
    let y = row_of(buf, &format!("{label}: "));
    let inside = popup.left() + 1..popup.right() - 1;
    let last = inside.clone().rev().find(|&x| buf[(x, y)].symbol() != " ").expect("text on the row");
    let reversed: Vec<(u16, u16)> = (popup.top()..popup.bottom())
        .flat_map(|y| inside.clone().map(move |x| (x, y)))
        .filter(|&(x, y)| buf[(x, y)].modifier.contains(Modifier::REVERSED))
        .collect();
    assert_eq!(
        reversed,
        vec![(last + 1, y)],
        "the cursor should follow the text of {label}:\n{}",
        lines(buf)
    );
}

/// The frame of the overlay titled `title`: from its `┌` to its `┐` and `└`.
fn popup_rect(buf: &Buffer, title: &str) -> ratatui::layout::Rect {
    let area = buf.area;
    let y = row_of(buf, title);
    let text = line(buf, y);
    let at = text[..text.find(title).expect("the title")].chars().count();
    let x = area.left() + u16::try_from(at).expect("a column") - 1;
    assert_eq!(buf[(x, y)].symbol(), "┌", "the overlay {title:?} has no frame:\n{}", lines(buf));
    let right = (x + 1..area.right()).find(|&r| buf[(r, y)].symbol() == "┐").expect("the top right corner");
    let bottom =
        (y + 1..area.bottom()).find(|&b| buf[(x, b)].symbol() == "└").expect("the bottom left corner");
    ratatui::layout::Rect { x, y, width: right - x + 1, height: bottom - y + 1 }
}

#[tokio::test]
async fn the_form_cursor_follows_the_typed_text() {
    let forms: &[(&[Step], &str, &str)] = &[
        // The intro above wraps at both sizes, which once put the cursor a row too high.
        (&[k('a'), Type("fine")], " Approve request ", "reason"),
        // Longer than the row: the text scrolls and the cursor stays at its end.
        (&[k('a'), Type(LONG_REASON)], " Approve request ", "reason"),
        (&[k('4'), k('x'), k('y'), Type("done")], " Revoke access ", "reason"),
        (&[k('1'), k('n'), Type("crm"), ENTER, Type("crm-test")], " Deploy a managed application ", "name"),
        (&[k('2'), k('e'), TAB, BACKSPACE, Type("12h")], " JIT settings of ", "maximum duration"),
    ];
    for (steps, title, label) in forms {
        for (w, h) in SIZES.iter().copied() {
            let mut screen = Screen::open(Who::Approver).await;
            screen.press(steps).await;
            assert_cursor_at_end(&screen.buffer(w, h), title, label);
        }
    }
}

// --- what looked wrong in the snapshots, one precise test each ---------------------------------

/// The screen's text after `steps`, one line per row.
async fn text_after(who: Who, steps: &[Step], w: u16, h: u16) -> String {
    let mut screen = Screen::open(who).await;
    screen.press(steps).await;
    lines(&screen.buffer(w, h))
}

#[tokio::test]
async fn the_header_clock_covers_nothing() {
    for (w, h) in SIZES.iter().copied() {
        let text = text_after(Who::Approver, &[], w, h).await;
        let header = text.lines().next().expect("a header");
        assert!(header.contains("2 waiting for you"), "{w}x{h}: {header:?}");
        assert!(header.contains("approver"), "{w}x{h}: {header:?}");
    }
}

#[tokio::test]
async fn requests_keep_the_justification_at_80_columns() {
    let text = text_after(Who::Approver, &[], 80, 24).await;
    assert!(text.contains("JUSTIFICATION") || text.contains("JUSTIF"), "{text}");
    assert!(text.contains("INC-20580"), "{text}");
    let text = text_after(Who::Publisher, &[], 80, 24).await;
    assert!(text.contains("INC-20431"), "{text}");
}

#[tokio::test]
async fn access_keeps_its_countdowns_at_80_columns() {
    let text = text_after(Who::Approver, &[k('4')], 80, 24).await;
    assert!(text.contains("ends in 1h 20m"), "{text}");
    assert!(text.contains("contoso-crm-dev"), "{text}");
}

#[tokio::test]
async fn applications_show_who_has_access_now() {
    for (w, h) in SIZES.iter().copied() {
        let text = text_after(Who::Approver, &[k('1')], w, h).await;
        assert!(text.contains("Erin Lindqvist ends in 1h 20m"), "{w}x{h}:\n{text}");
        assert!(text.contains("permanent"), "{w}x{h}:\n{text}");
    }
}

#[tokio::test]
async fn jit_settings_labels_do_not_run_into_their_values() {
    let text = text_after(Who::Approver, &[k('2')], 100, 30).await;
    // Once `managed resource groupmrg-contoso-crm`: the label filled its padding exactly.
    assert!(
        text.contains("managed resource group  mrg-contoso-crm")
            || text.contains("managed resource group: mrg-"),
        "{text}"
    );
    // Once the Rust name `ManualApprove`, where every other screen says `manual`.
    assert!(!text.contains("ManualApprove"), "{text}");
}

#[tokio::test]
async fn help_shows_every_binding_of_the_users_role() {
    for (w, h) in SIZES.iter().copied() {
        // The help scrolls where it does not fit: its top and its bottom together show everything.
        let mut screen = Screen::open(Who::Approver).await;
        screen.press(&[k('?')]).await;
        let top = lines(&screen.buffer(w, h));
        screen.press(&[k('G')]).await;
        let text = top + &lines(&screen.buffer(w, h));
        for desc in ["approve", "deny", "revoke", "mark all read", "mark all I can decide"] {
            assert!(text.contains(desc), "{w}x{h}: help lacks {desc:?}:\n{text}");
        }
        // A publisher's keys are not an approver's.
        for desc in ["cancel request", "request access"] {
            assert!(!text.contains(desc), "{w}x{h}: help offers {desc:?}:\n{text}");
        }
        assert!(!text.contains("S-Tab/S-Tab"), "{w}x{h}:\n{text}");
        let text = text_after(Who::Publisher, &[k('?')], w, h).await;
        for desc in ["cancel request", "request access"] {
            assert!(text.contains(desc), "{w}x{h}: publisher help lacks {desc:?}:\n{text}");
        }
        assert!(!text.contains("approve"), "{w}x{h}: publisher help offers approve:\n{text}");
    }
}

#[tokio::test]
async fn the_too_small_notice_says_what_size_is_needed() {
    let text = text_after(Who::Approver, &[], 40, 10).await;
    assert!(text.contains("60x12") || text.contains("60 x 12"), "{text}");
}

#[tokio::test]
async fn a_filter_that_hides_everything_says_so() {
    let text = text_after(Who::Approver, &[k('/'), Type("zzz"), ENTER], 100, 30).await;
    assert!(!text.contains("nothing is waiting for a decision"), "{text}");
    assert!(text.contains("zzz"), "{text}");
}

#[tokio::test]
async fn the_footer_offers_only_keys_that_work_there() {
    let footer = |text: &str| text.lines().last().expect("a footer").to_string();
    let wizard = text_after(Who::Approver, &[k('1'), k('n'), Type("crm"), ENTER], 100, 30).await;
    assert!(!footer(&wizard).contains("Esc close"), "{}", footer(&wizard));
    let mut screen = Screen::open(Who::Approver).await;
    screen.press(&[k('4'), k('x')]).await;
    let confirm = footer(&lines(&screen.buffer(100, 30)));
    screen.press(&[k('q')]).await;
    assert!(screen.app.overlay.is_some(), "q does not close or quit a confirmation");
    assert!(!confirm.contains("q/C-c quit") && !confirm.contains("? help"), "{confirm}");
}

#[tokio::test]
async fn overlays_do_not_let_the_table_show_through_at_their_edges() {
    let mut screen = Screen::open(Who::Approver).await;
    screen.press(&[k('1'), k('n')]).await;
    let buf = screen.buffer(100, 30);
    let popup = popup_rect(&buf, " Deploy a managed application ");
    for y in popup.top() + 1..popup.bottom() - 1 {
        for x in [popup.left() - 1, popup.right()] {
            let symbol = buf[(x, y)].symbol();
            assert!(
                symbol == " " || symbol == "│",
                "({x},{y}) shows {symbol:?} beside the overlay:\n{}",
                lines(&buf)
            );
        }
    }
}

#[tokio::test]
async fn long_toasts_are_readable() {
    let text = text_after(Who::Approver, &[k('2'), k('k'), k('e')], 80, 24).await;
    assert!(text.contains("cannot be enabled later"), "{text}");
}

#[tokio::test]
async fn first_run_commands_are_whole_lines_at_80_columns() {
    let mut screen = Screen::open(Who::Empty).await;
    screen.press(&[]).await;
    let text = lines(&screen.buffer(80, 24));
    let line = text.lines().find(|l| l.contains("jitdesk user add")).expect("the user add line");
    assert!(line.contains("--admin"), "{text}");
}

#[tokio::test]
async fn the_request_form_chooses_no_role_and_follows_the_application() {
    let mut screen = Screen::open(Who::Publisher).await;
    screen.press(&[k('n')]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("[ ] Owner [ ] Contributor [ ] Reader"), "no role is chosen for you:\n{text}");
    assert!(text.contains("at most 8h on contoso-crm"), "{text}");
    // Another application: its own maximum is shown next to the duration.
    screen.press(&[Key(KeyCode::Right), Key(KeyCode::Right)]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("● contoso-crm-eu"), "{text}");
    assert!(text.contains("at most 4h on contoso-crm-eu"), "{text}");
    // Sending it without a role says what is missing, in the form.
    screen.press(&[TAB, TAB, TAB, TAB, Type("INC-1"), TAB, ENTER]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("name at least one role"), "{text}");
}

#[tokio::test]
async fn the_revoke_question_says_whose_access_ends() {
    let text = text_after(Who::Approver, &[k('4'), k('x')], 80, 24).await;
    let question: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(question.contains("Revoke Dave Moreau's Contributor access to"), "{text}");
    assert!(question.contains("contoso-crm-dev"), "{text}");
}

#[tokio::test]
async fn jit_settings_open_on_the_first_application_with_jit() {
    let text = text_after(Who::Approver, &[k('2')], 80, 24).await;
    assert!(text.contains("application             contoso-crm "), "{text}");
    assert!(text.contains("JIT access              enabled"), "{text}");
}

#[tokio::test]
async fn activity_lines_up_notifications_and_names_the_actors() {
    let text = text_after(Who::Approver, &[k('5')], 100, 30).await;
    // The message of each notification starts in the same column, today's and older ones alike.
    let columns: Vec<usize> = text
        .lines()
        .filter(|l| l.contains('●'))
        .map(|l| {
            // The message starts after the time, which ends with its zone.
            let zone_end = l.find(" UTC").expect("a time with its zone") + 4;
            let at = l.len() - l[zone_end..].trim_start().len();
            l[..at].chars().count()
        })
        .collect();
    assert!(columns.len() >= 4, "{text}");
    assert!(columns.windows(2).all(|w| w[0] == w[1]), "{columns:?}\n{text}");
    assert!(text.contains("Erin Lindqvist request.create"), "{text}");
    assert!(!text.contains("erin@fabrikam.com request.create"), "{text}");
}

#[tokio::test]
async fn a_toast_wider_than_the_screen_ends_in_an_ellipsis() {
    let mut screen = Screen::open(Who::Approver).await;
    screen.app.toast(format!("the engine refused: {}", "a very long reason ".repeat(8)), true);
    let text = lines(&screen.buffer(80, 24));
    let row = text.lines().find(|l| l.contains("the engine refused")).expect("the toast");
    // Cut to the screen, with the mark of the cut, and the frame's corner kept.
    assert!(row.ends_with("… ┘") || row.ends_with("…┘"), "{row:?}");
    assert!(row.starts_with("└ "), "{row:?}");
}

#[tokio::test]
async fn help_scrolls_when_it_does_not_fit() {
    let mut screen = Screen::open(Who::Approver).await;
    screen.press(&[k('?')]).await;
    let text = lines(&screen.buffer(60, 14));
    assert!(text.contains("▼ more"), "{text}");
    assert!(!text.contains("mark all read"), "{text}");
    assert!(text.lines().last().is_some_and(|l| l.contains("↓/j scroll down")), "{text}");
    screen.press(&[k('G')]).await;
    let text = lines(&screen.buffer(60, 14));
    assert!(text.contains("mark all read") && text.contains("▲ more"), "{text}");
    screen.press(&[k('k'), k('k'), k('g')]).await;
    let text = lines(&screen.buffer(60, 14));
    assert!(!text.contains("▲ more"), "{text}");
    // Where everything fits there is nothing to scroll, and the footer does not offer it.
    let text = text_after(Who::Approver, &[k('?')], 100, 30).await;
    let footer = text.lines().last().expect("a footer");
    assert!(footer.contains("Esc close") && !footer.contains("scroll"), "{footer}");
    screen.press(&[k('q')]).await;
    assert!(screen.app.overlay.is_none(), "q closes the help");
}

#[tokio::test]
async fn the_start_field_gives_an_example_ahead_of_now() {
    let text = text_after(Who::Publisher, &[k('n'), TAB, TAB], 100, 30).await;
    // `now()` is 2026-11-26 10:00 UTC: the example is the whole hour after the next.
    assert!(text.contains("now, +30m or 2026-11-26T12:00:00Z"), "{text}");
}

const CLOCK_VAR: &str = "JITDESK_SNAPSHOT_CLOCK_OUT";

/// The dashboard takes its zone from the system (`TZ` here) unless config.toml asks for UTC: its
/// clock and the help's line name that zone. Each TZ runs in a child, like the test above.
#[tokio::test]
async fn the_dashboard_shows_the_zone_tz_names_unless_config_asks_for_utc() {
    if let Some(path) = std::env::var_os(CLOCK_VAR) {
        let local = jitdesk::tui::ui(&Config::default(), Some("default"), false).expect("the look");
        let utc = Config { time: TimeShown::Utc, ..Config::default() };
        let utc = jitdesk::tui::ui(&utc, Some("default"), false).expect("the look");
        let out = format!(
            "{}\n{}\n{}\n",
            local.time.clock(now()),
            local.time.describe(now()),
            utc.time.clock(now())
        );
        std::fs::write(path, out).expect("write the clock");
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    for (tz, clock, describe) in [
        ("UTC", "10:00 UTC", "UTC"),
        ("Asia/Kolkata", "15:30 IST", "Asia/Kolkata (IST)"),
        ("America/New_York", "05:00 EST", "America/New_York (EST)"),
    ] {
        let path = dir.path().join("clock.txt");
        let output = rerun()
            .env("TZ", tz)
            .env("XDG_CONFIG_HOME", dir.path())
            .env(CLOCK_VAR, &path)
            .output()
            .expect("rerun this test binary");
        assert!(output.status.success(), "TZ={tz}:\n{}", String::from_utf8_lossy(&output.stderr));
        let got = std::fs::read_to_string(&path).expect("the clock");
        assert_eq!(got, format!("{clock}\n{describe}\n10:00 UTC\n"), "TZ={tz}");
    }
}

/// A publisher asks for Reader on an application, as from the CLI.
async fn asks(screen: &Screen, who: &str, app: &str) -> u64 {
    let ask = jitdesk::domain::rules::NewRequest {
        app: app.into(),
        roles: vec!["Reader".into()],
        start: None,
        duration: jitdesk::domain::Period::parse("1h").expect("a period"),
        justification: "INC-30000: another job".into(),
        ticket: None,
    };
    screen.engine.run(&Actor::User(who.into()), ask).await.expect("a new request").id
}

#[tokio::test]
async fn the_cursor_stays_on_its_request_while_others_arrive_and_moves_on_when_it_leaves() {
    let mut screen = Screen::open(Who::Approver).await;
    // Everything Alice can see, so that requests on contoso-crm-eu (Bob's to decide) arrive too.
    screen.press(&[k('m'), k('G')]).await;
    let chosen = screen.app.selected_request().expect("a request under the cursor");
    // contoso-crm-dev approves by itself; made manual, its requests wait like the others.
    let manual = jitdesk::domain::rules::PolicyChange {
        mode: Some(jitdesk::domain::ApprovalMode::ManualApprove),
        add_approvers: vec![ALICE.into()],
        ..Default::default()
    };
    let set = jitdesk::engine::SetPolicy { app: "contoso-crm-dev".into(), change: manual };
    screen.engine.run(&Actor::User(ALICE.into()), set).await.expect("the policy changes");
    for (who, app) in
        [(DAVE, "contoso-crm-dev"), (DAVE, "contoso-crm-eu"), ("erin@fabrikam.com", "contoso-crm-eu")]
    {
        asks(&screen, who, app).await;
        screen.reload().await;
    }
    assert_eq!(screen.app.row_count(), 5, "three arrived above it");
    assert_eq!(screen.app.selected_request(), Some(chosen));
    screen.press(&[k('a')]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains(&format!("Approve request {chosen}")), "{text}");
    screen.press(&[Key(KeyCode::Esc)]).await;

    // Bob decides it from elsewhere: it leaves, the cursor takes its neighbour and a toast says why.
    let decide = jitdesk::engine::Decide { id: chosen, approve: true, reason: "fine".into() };
    screen.engine.run(&Actor::User("bob@contoso.com".into()), decide).await.expect("Bob approves");
    screen.reload().await;
    let neighbour = screen.app.selected_request().expect("a neighbour under the cursor");
    assert_ne!(neighbour, chosen);
    assert_eq!(screen.app.row_count(), 4);
    let toast = screen.app.toasts.last().map(|t| t.text.clone()).unwrap_or_default();
    assert_eq!(toast, format!("request {chosen} left: approved by Bob Nakamura"));
}

#[tokio::test]
async fn a_decision_on_a_request_that_changed_while_its_form_was_open_is_refused_and_says_what_changed() {
    let mut screen = Screen::open(Who::Approver).await;
    screen.press(&[k('G'), k('a'), Type("fine by me")]).await;
    let chosen = screen.app.selected_request().expect("a request under the cursor");
    let decide = jitdesk::engine::Decide { id: chosen, approve: false, reason: "not now".into() };
    screen.engine.run(&Actor::User("bob@contoso.com".into()), decide).await.expect("Bob denies");
    screen.reload().await;
    screen.press(&[ENTER]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains(&format!("Approve request {chosen}")), "the form stays open:\n{text}");
    assert!(text.contains("changed while this form was open"), "{text}");
    assert!(text.contains("denied by Bob Nakamura"), "{text}");
    let detail = screen.engine.request(&Viewer::Operator, chosen).await.expect("the request");
    assert_eq!(
        detail.request.decision.map(|d| d.by),
        Some("bob@contoso.com".to_string()),
        "Bob's decision stands"
    );
    insta::assert_snapshot!("decision_refused_after_a_change", screen.render(100, 30).backend());
}

#[tokio::test]
async fn a_decision_after_the_policy_changed_is_refused() {
    let mut screen = Screen::open(Who::Approver).await;
    screen.press(&[k('a'), Type("fine by me")]).await;
    let change = jitdesk::domain::rules::PolicyChange {
        max_duration: Some(jitdesk::domain::Period::parse("3h").expect("a period")),
        ..Default::default()
    };
    let set = jitdesk::engine::SetPolicy { app: "contoso-crm".into(), change };
    screen.engine.run(&Actor::User(ALICE.into()), set).await.expect("the policy changes");
    screen.reload().await;
    screen.press(&[ENTER]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("the JIT policy of contoso-crm changed"), "{text}");
    assert_eq!(screen.app.toasts.len(), 0, "nothing was decided");
}

/// Makes an application's requests wait `timeout` for a decision, with Alice as one of its
/// approvers when `alice` is set.
async fn manual(screen: &Screen, app: &str, timeout: &str, alice: bool) {
    let change = jitdesk::domain::rules::PolicyChange {
        mode: Some(jitdesk::domain::ApprovalMode::ManualApprove),
        add_approvers: if alice { vec![ALICE.into()] } else { Vec::new() },
        request_timeout: Some(jitdesk::domain::Period::parse(timeout).expect("a period")),
        ..Default::default()
    };
    let set = jitdesk::engine::SetPolicy { app: app.into(), change };
    screen.engine.run(&Actor::User(ALICE.into()), set).await.expect("the policy changes");
}

#[tokio::test]
async fn pending_requests_come_soonest_due_first_with_urgency_styles_sorts_and_the_mine_toggle() {
    let mut screen = Screen::open(Who::Approver).await;
    manual(&screen, "contoso-crm-dev", "30m", true).await;
    manual(&screen, "contoso-crm-eu", "1h", false).await;
    let dev = asks(&screen, DAVE, "contoso-crm-dev").await;
    let eu = asks(&screen, "erin@fabrikam.com", "contoso-crm-eu").await;
    screen.app.tick(now() + chrono::TimeDelta::minutes(25));
    screen.reload().await;

    // Alice's own queue: contoso-crm-eu is Bob's to decide.
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("Pending requests (3) · by decide-by · only requests I can decide"), "{text}");
    assert!(text.contains("3 waiting for you, 1 due within 1h"), "{text}");
    assert!(!text.contains(&format!("│{eu} ")), "{text}");

    screen.press(&[k('m')]).await;
    let buf = screen.buffer(100, 30);
    let text = lines(&buf);
    assert!(text.contains("Pending requests (4) · by decide-by · everything I can see"), "{text}");
    let order: Vec<u16> = [dev, eu, 10, 11].iter().map(|id| row_of(&buf, &format!("│{id} "))).collect();
    assert!(order.is_sorted() && order[0] < order[3], "soonest due first: {order:?}\n{text}");
    let theme = &screen.app.ui.theme;
    let fg = |id: u64| buf[(1, row_of(&buf, &format!("│{id} ")))].fg;
    assert_eq!(fg(dev), theme.style("critical").fg.expect("a colour"), "5 minutes left");
    assert_eq!(fg(eu), theme.style("urgent").fg.expect("a colour"), "35 minutes left");
    assert_ne!(fg(10), fg(eu), "22 hours left is not urgent");
    insta::assert_snapshot!("pending_urgent_everything", screen.render(100, 30).backend());

    // Bob's request is marked and offers no decision.
    screen.press(&[k('g'), k('j')]).await;
    assert_eq!(screen.app.selected_request(), Some(eu));
    // Wide enough that the application column shows its mark whole beside the zoned start times.
    let text = lines(&screen.buffer(140, 30));
    assert!(text.contains(&format!("{eu} contoso-crm-eu (not yours)")), "{text}");
    assert!(!text.contains("a approve"), "{text}");
    screen.press(&[k('a')]).await;
    assert!(screen.app.overlay.is_none(), "no form for a request Alice cannot decide");

    // `s` cycles the order, keeping the cursor on its request.
    for (label, first) in [("newest", eu), ("application", 10), ("requester", dev), ("decide-by", dev)] {
        screen.press(&[k('s')]).await;
        let buf = screen.buffer(100, 30);
        let text = lines(&buf);
        assert!(text.contains(&format!("Pending requests (4) · by {label} ·")), "{text}");
        assert_eq!(row_of(&buf, &format!("│{first} ")), row_of(&buf, "│ID ") + 1, "{label}:\n{text}");
        assert_eq!(screen.app.selected_request(), Some(eu));
    }
}

#[tokio::test]
async fn the_filter_ands_its_words_over_ids_and_every_column_and_counts_the_matches() {
    let mut screen = Screen::open(Who::Approver).await;
    screen.press(&[k('/'), Type("dave crm"), ENTER]).await;
    let buf = screen.buffer(100, 30);
    let text = lines(&buf);
    assert!(
        text.contains(
            "Pending requests (1) · by decide-by · only requests I can decide · 1 of 2 match `dave crm`"
        ),
        "{text}"
    );
    assert_eq!(screen.app.selected_request(), Some(10), "{text}");
    insta::assert_snapshot!("filter_words_with_count", screen.render(100, 30).backend());

    // An id, and words from columns that were never searched before: the start time and duration.
    screen.press(&[Key(KeyCode::Esc), k('/'), Type("11"), ENTER]).await;
    assert_eq!(screen.app.row_count(), 1);
    assert_eq!(screen.app.selected_request(), Some(11));
    screen.press(&[Key(KeyCode::Esc), k('/'), Type("08:30 2h"), ENTER]).await;
    assert_eq!(screen.app.selected_request(), Some(10));
    assert_eq!(screen.app.row_count(), 1);
    screen.press(&[Key(KeyCode::Esc), k('/'), Type("erin 2h"), ENTER]).await;
    assert_eq!(screen.app.row_count(), 0, "no request of Erin's is for 2h");
}

#[tokio::test]
async fn a_hash_or_a_colon_and_a_number_open_that_requests_details_from_any_tab() {
    for (key, tab) in [('#', '5'), (':', '1')] {
        let mut screen = Screen::open(Who::Approver).await;
        screen.press(&[k(tab), k(key), Type("11")]).await;
        let text = lines(&screen.buffer(100, 30));
        assert!(text.contains("request #11"), "the number shows as it is typed:\n{text}");
        screen.press(&[ENTER]).await;
        let text = lines(&screen.buffer(100, 30));
        assert!(text.contains("INC-20580: report exports time out"), "request 11's details:\n{text}");
        assert!(matches!(screen.app.overlay, Some(jitdesk::tui::app::Overlay::Detail { id: 11, .. })));
    }
    let mut screen = Screen::open(Who::Approver).await;
    screen.press(&[k('#'), Type("1x"), Key(KeyCode::Esc)]).await;
    assert!(screen.app.goto.is_none() && screen.app.overlay.is_none(), "Esc gives up");
}

#[tokio::test]
async fn drawing_changes_no_state_and_the_loop_hands_the_list_window_to_the_state() {
    let mut screen = Screen::open(Who::Approver).await;
    screen.press(&[k('5'), k('G')]).await;
    let (selected, offset) = (screen.app.list().selected.clone(), screen.app.list().offset);
    let mut terminal = Terminal::new(TestBackend::new(100, 16)).expect("a test terminal");
    let mut window = None;
    terminal.draw(|f| window = jitdesk::tui::view::drawn(f, &screen.app)).expect("a frame");
    assert_eq!((screen.app.list().selected.clone(), screen.app.list().offset), (selected, offset));
    let window = window.expect("a list on screen");
    assert!(window.rows < screen.app.row_count(), "a short terminal shows part of the audit log");
    screen.app.on_frame(Some(window));
    let list = screen.app.list();
    assert!(list.at >= list.offset && list.at < list.offset + window.rows, "the cursor is in view");
    assert_eq!(screen.app.window, window, "PgUp/PgDn move by what is shown");
}

#[tokio::test]
async fn a_bulk_approval_decides_each_marked_request_and_reports_the_one_decided_meanwhile() {
    let mut screen = Screen::open(Who::Approver).await;
    manual(&screen, "contoso-crm-dev", "2h", true).await;
    let dev = asks(&screen, DAVE, "contoso-crm-dev").await;
    screen.reload().await;
    screen.press(&[k('*')]).await;
    assert_eq!(screen.app.marks.ids(), [10, 11, dev], "every request Alice can decide");
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("· 3 marked"), "{text}");
    screen.press(&[k('a'), Type("batch ok")]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("Approve 3 marked requests"), "{text}");
    assert!(text.contains(&format!("request {dev} by Dave Moreau <{DAVE}> on contoso-crm-dev")), "{text}");

    // Bob denies request 11 while Alice's form is open: it loses its mark, the form still names it.
    let decide = jitdesk::engine::Decide { id: 11, approve: false, reason: "not now".into() };
    screen.engine.run(&Actor::User("bob@contoso.com".into()), decide).await.expect("Bob denies");
    screen.reload().await;
    screen.press(&[ENTER]).await;

    assert!(screen.app.overlay.is_none(), "the form closes");
    assert!(screen.app.marks.is_empty(), "the marks clear");
    let toast = screen.app.toasts.last().expect("a toast");
    assert!(toast.error, "a refusal is an error");
    assert!(toast.text.starts_with("approved 2; 1 refused: request 11: "), "{}", toast.text);
    assert!(toast.text.contains("denied by Bob Nakamura"), "says what changed: {}", toast.text);
    for id in [10, dev] {
        let detail = screen.engine.request(&Viewer::Operator, id).await.expect("the request");
        let decision = detail.request.decision.expect("a decision");
        assert_eq!((decision.by.as_str(), decision.reason.as_str()), (ALICE, "batch ok"), "request {id}");
        assert_eq!(detail.request.state, jitdesk::domain::RequestState::Approved, "request {id}");
    }
    let eleven = screen.engine.request(&Viewer::Operator, 11).await.expect("the request");
    assert_eq!(eleven.request.decision.map(|d| d.by), Some("bob@contoso.com".to_string()), "Bob's stands");
}

#[tokio::test]
async fn marks_take_only_rows_i_can_decide_and_esc_clears_them() {
    let mut screen = Screen::open(Who::Approver).await;
    manual(&screen, "contoso-crm-eu", "2h", false).await;
    let eu = asks(&screen, "erin@fabrikam.com", "contoso-crm-eu").await;
    screen.reload().await;
    // Everything Alice can see, Bob's request on contoso-crm-eu too: it takes no mark.
    screen.press(&[k('m'), k('/'), Type("eu"), ENTER]).await;
    assert_eq!(screen.app.selected_request(), Some(eu));
    screen.press(&[k(' '), k('*')]).await;
    assert!(screen.app.marks.is_empty(), "{:?}", screen.app.marks);
    screen.press(&[Key(KeyCode::Esc), Key(KeyCode::Esc), k('*')]).await;
    assert_eq!(screen.app.marks.ids(), [10, 11]);
    // Without a reason the engine refuses every one: the form stays, says why, and keeps the marks.
    screen.press(&[k('d'), ENTER]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("Deny 2 marked requests") && text.contains("2 refused"), "{text}");
    assert_eq!(screen.app.marks.ids(), [10, 11]);
    screen.press(&[Key(KeyCode::Esc)]).await;
    assert!(screen.app.overlay.is_none(), "Esc closes the form first");
    assert_eq!(screen.app.marks.ids(), [10, 11], "and leaves the marks");
    // A row the filter hides leaves the list and loses its mark.
    screen.press(&[k('/'), Type("11"), ENTER]).await;
    assert_eq!(screen.app.marks.ids(), [11]);
    screen.press(&[Key(KeyCode::Esc)]).await;
    assert!(screen.app.marks.is_empty(), "Esc clears the marks");
    assert_eq!(screen.app.row_count(), 1, "the filter stays until a second Esc");
}

// --- actions that cannot be taken say why -------------------------------------------------------

/// The toasts on screen, newest last.
fn toasts(screen: &Screen) -> Vec<(String, bool)> {
    screen.app.toasts.iter().map(|t| (t.text.clone(), t.error)).collect()
}

#[tokio::test]
async fn a_decision_the_user_cannot_take_is_not_offered_and_says_why_before_any_form() {
    // Dave, a publisher, on his own pending request 10 on contoso-crm.
    let mut screen = Screen::open(Who::Publisher).await;
    assert_eq!(screen.app.selected_request(), Some(10));
    let text = lines(&screen.buffer(100, 30));
    assert!(!text.contains("a approve") && !text.contains("d deny"), "{text}");
    screen.press(&[k('a')]).await;
    assert!(screen.app.overlay.is_none(), "no form to type into");
    let shown = toasts(&screen);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].1, "said as a refusal: {shown:?}");
    assert!(shown[0].0.contains("not an approver of contoso-crm"), "{shown:?}");
    insta::assert_snapshot!("why_not_toast", screen.render(100, 30).backend());

    // A settled request says that it is settled, not who decides.
    screen.press(&[k('j'), k('d')]).await;
    assert_eq!(screen.app.selected_request(), Some(9));
    assert!(screen.app.overlay.is_none());
    let last = toasts(&screen).pop().expect("a toast");
    assert!(
        last.0.contains("request 9 is Approved") && last.0.contains("only a pending request"),
        "{last:?}"
    );
}

#[tokio::test]
async fn with_the_service_gone_no_change_is_offered_and_each_says_why() {
    let mut screen = Screen::open(Who::Approver).await;
    let before = lines(&screen.buffer(100, 30));
    assert!(before.contains("a approve"), "{before}");
    screen.app.read_only = true;
    let text = lines(&screen.buffer(100, 30));
    assert!(!text.contains("a approve") && !text.contains("d deny"), "{text}");
    screen.press(&[k('5')]).await;
    let activity = lines(&screen.buffer(100, 30));
    assert!(!activity.contains("mark all read"), "{activity}");
    screen.press(&[k('3')]).await;
    let steps: [&[Step]; 6] =
        [&[k('a')], &[k('d')], &[k('4'), k('x')], &[k('2'), k('e')], &[k('1'), k('n')], &[k('5'), k('r')]];
    for steps in steps {
        screen.app.toasts.clear();
        screen.press(steps).await;
        assert!(screen.app.overlay.is_none(), "{steps:?} opened something");
        let shown = toasts(&screen);
        assert!(
            shown
                .iter()
                .any(|(t, error)| *error && t.contains("the service is gone, so nothing was changed")),
            "{steps:?}: {shown:?}"
        );
        screen.press(&[k('3')]).await;
    }
}

#[tokio::test]
async fn jit_settings_tell_who_cannot_change_them_who_can() {
    // Alice is an admin of contoso: she is told how.
    let text = text_after(Who::Approver, &[k('2')], 100, 30).await;
    assert!(text.contains("Press e to change"), "{text}");
    // Dave, a publisher, is told who can, and `e` says the same.
    let mut screen = Screen::open(Who::Publisher).await;
    screen.press(&[k('2')]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(!text.contains("Press e"), "{text}");
    assert!(text.contains("only an admin of"), "{text}");
    screen.press(&[k('e')]).await;
    assert!(screen.app.overlay.is_none());
    let last = toasts(&screen).pop().expect("a toast");
    assert!(last.0.starts_with("only an admin of") && last.0.contains("contoso-crm"), "{last:?}");
}

#[tokio::test]
async fn jit_settings_show_the_application_picked_on_applications_and_back() {
    let mut screen = Screen::open(Who::Approver).await;
    // The last application on tab 1 is contoso-crm-eu; tab 2 opened on contoso-crm.
    screen.press(&[k('1'), k('G'), k('2')]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("contoso-crm-eu"), "{text}");
    let detail: String = text.lines().filter(|l| l.contains("application ")).collect();
    assert!(detail.contains("contoso-crm-eu"), "the policy shown is contoso-crm-eu's:\n{text}");
    // And back: tab 1 keeps the one picked on tab 2.
    screen.press(&[k('g'), k('1')]).await;
    let picked = screen.app.selected_app().map(|a| a.name.clone());
    screen.press(&[k('2')]).await;
    assert_eq!(screen.app.selected_app().map(|a| a.name.clone()), picked);
}

// --- forms that protect what was typed ----------------------------------------------------------

fn form_error(screen: &Screen) -> Option<String> {
    match &screen.app.overlay {
        Some(jitdesk::tui::app::Overlay::Form(form)) => form.error.clone(),
        other => panic!("no form open: {other:?}"),
    }
}

#[tokio::test]
async fn esc_on_a_form_with_typed_text_asks_before_discarding_it() {
    // Nothing typed: Esc closes at once.
    let mut screen = Screen::open(Who::Approver).await;
    screen.press(&[k('a'), Key(KeyCode::Esc)]).await;
    assert!(screen.app.overlay.is_none());

    screen.press(&[k('a'), Type("Matches INC-20580"), Key(KeyCode::Esc)]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("Discard what you entered?"), "{text}");
    insta::assert_snapshot!("discard_prompt", screen.render(100, 30).backend());
    // n goes on editing, with the text kept.
    screen.press(&[k('n')]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(!text.contains("Discard what you entered?") && text.contains("Matches INC-20580"), "{text}");
    // y throws it away; nothing was sent.
    screen.press(&[Key(KeyCode::Esc), k('y')]).await;
    assert!(screen.app.overlay.is_none());
    assert!(
        screen
            .app
            .data
            .requests
            .iter()
            .any(|r| r.id == 10 && r.state == jitdesk::domain::RequestState::Pending)
    );
}

#[tokio::test]
async fn a_fields_error_clears_as_soon_as_the_field_is_fixed() {
    let mut screen = Screen::open(Who::Publisher).await;
    // No role chosen: the form says so and stays open.
    screen.press(&[k('n'), Ctrl('s')]).await;
    let error = form_error(&screen).expect("an error");
    assert!(error.contains("name at least one role"), "{error}");
    // Moving to the field changes nothing yet; choosing a role clears it at once.
    screen.press(&[TAB]).await;
    assert_eq!(form_error(&screen), Some(error));
    screen.press(&[k(' ')]).await;
    assert_eq!(form_error(&screen), None, "fixed, so the error has gone");
    // A duration that does not read shows its own error, gone once the duration reads.
    screen.press(&[TAB, TAB, Ctrl('u'), Type("2 parsecs"), Ctrl('s')]).await;
    assert!(form_error(&screen).is_some());
    for _ in 0.."2 parsecs".len() {
        screen.press(&[BACKSPACE]).await;
    }
    screen.press(&[Type("2")]).await;
    assert!(form_error(&screen).is_some(), "\"2\" is no duration either");
    screen.press(&[Type("h")]).await;
    assert_eq!(form_error(&screen), None);
    match &screen.app.overlay {
        Some(jitdesk::tui::app::Overlay::Form(form)) => assert_eq!(form.value("duration"), "2h"),
        other => panic!("no form open: {other:?}"),
    }
}

// --- Activity and details -----------------------------------------------------------------------

/// The request whose details are open, once they have loaded.
fn detail_open(screen: &Screen) -> Option<u64> {
    match &screen.app.overlay {
        Some(jitdesk::tui::app::Overlay::Detail { id, detail: Some(d) }) => {
            assert_eq!(d.request.id, *id);
            Some(*id)
        }
        _ => None,
    }
}

#[tokio::test]
async fn enter_on_an_audit_row_or_a_grant_opens_that_requests_details_with_its_history() {
    let mut screen = Screen::open(Who::Approver).await;
    screen.press(&[k('5')]).await;
    // The first audit row about a request, found from the data rather than assumed.
    let targets: Vec<_> = jitdesk::tui::rows::audit(&screen.app).iter().map(|a| a.target.clone()).collect();
    let (at, id) = targets
        .iter()
        .enumerate()
        .find_map(|(i, t)| match t {
            jitdesk::domain::Target::Request(id) => Some((i, *id)),
            _ => None,
        })
        .expect("an audit row about a request");
    screen.press(&[k('g')]).await;
    for _ in 0..at {
        screen.press(&[k('j')]).await;
    }
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("Enter details"), "the footer offers it:\n{text}");
    screen.press(&[ENTER]).await;
    assert_eq!(detail_open(&screen), Some(id));
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains(&format!("Request {id}")), "{text}");
    insta::assert_snapshot!("detail_from_activity", screen.render(100, 30).backend());
    screen.press(&[Key(KeyCode::Esc)]).await;
    assert!(screen.app.overlay.is_none());

    // A row about something else (an application, a user) offers nothing to open.
    if let Some(other) = targets.iter().position(|t| !matches!(t, jitdesk::domain::Target::Request(_))) {
        screen.press(&[k('g')]).await;
        for _ in 0..other {
            screen.press(&[k('j')]).await;
        }
        assert!(!lines(&screen.buffer(100, 30)).contains("Enter details"));
        screen.press(&[ENTER]).await;
        assert!(screen.app.overlay.is_none());
    }

    // Tab 4: Enter on a grant opens its request.
    screen.press(&[k('4')]).await;
    let grant = screen.app.selected_request().expect("a grant selected");
    screen.press(&[ENTER]).await;
    assert_eq!(detail_open(&screen), Some(grant));
}

#[tokio::test]
async fn notifications_scroll_keep_their_selection_by_id_and_open_their_request() {
    let mut screen = Screen::open(Who::Approver).await;
    let count = screen.app.data.notifications.len();
    assert!(count > 6, "more notifications than fit: {count}");
    screen.press(&[k('5'), k('n')]).await;
    // As the loop does: each frame hands the state where it put the list with the cursor.
    let frame = |screen: &mut Screen| {
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("a test terminal");
        let mut window = None;
        terminal.draw(|f| window = jitdesk::tui::view::drawn(f, &screen.app)).expect("a frame");
        screen.app.on_frame(window);
    };
    frame(&mut screen);
    assert_eq!(screen.app.window.rows, 6, "six notifications in view");
    screen.press(&[k('G')]).await;
    frame(&mut screen);
    let oldest = screen.app.data.notifications.last().expect("a notification").clone();
    let newest = screen.app.data.notifications[0].clone();
    let buf = screen.buffer(100, 30);
    let text = lines(&buf);
    // The oldest is in view now and the newest has scrolled out of it.
    let notes: String = text.lines().take_while(|l| !l.contains("Audit log")).collect::<Vec<_>>().join("\n");
    assert!(notes.contains(&oldest.message), "{text}");
    assert!(screen.app.notes.offset > 0, "scrolled:\n{text}");
    let first_shown = notes.lines().nth(4).unwrap_or_default();
    assert!(!first_shown.contains(&newest.message), "the newest is out of view:\n{text}");
    insta::assert_snapshot!("notifications_scrolled", screen.render(100, 30).backend());

    // A new notification arrives on top: the cursor stays on the same one.
    let selected = screen.app.notes.selected.clone();
    // Alice approves contoso-crm-dev by hand from now: Dave's request there is hers to decide.
    manual(&screen, "contoso-crm-dev", "1h", true).await;
    asks(&screen, DAVE, "contoso-crm-dev").await;
    screen.reload().await;
    assert!(screen.app.data.notifications.len() > count, "a notification arrived");
    assert_eq!(screen.app.notes.selected, selected);

    // Enter opens the request it is about, with its history.
    screen.press(&[ENTER]).await;
    assert_eq!(detail_open(&screen), oldest.request);
    screen.press(&[Key(KeyCode::Esc)]).await;

    // The filter works on the list with the cursor, and counts against its own rows.
    let total = screen.app.data.notifications.len();
    screen.press(&[k('/'), Type("Owner"), ENTER]).await;
    let text = lines(&screen.buffer(100, 30));
    assert!(
        text.contains("Notifications (1) · ") && text.contains(&format!("1 of {total} match `Owner`")),
        "{text}"
    );
    let audit = screen.app.data.audit.len();
    assert!(text.contains(&format!("Audit log ({audit}) ")), "the audit log is not filtered:\n{text}");

    // `n` goes back to the audit log.
    screen.press(&[k('n')]).await;
    assert!(!screen.app.on_notes);
}

#[tokio::test]
async fn the_bell_rings_once_for_a_burst_of_requests_to_decide_then_again_after_ten_seconds() {
    let mut screen = Screen::open(Who::Approver).await;
    screen.app.ui.bell = true;
    manual(&screen, "contoso-crm-dev", "1h", true).await;
    manual(&screen, "contoso-crm-eu", "1h", true).await;
    let arrive = async |screen: &mut Screen, who: &str, app: &str| {
        asks(screen, who, app).await;
        let snapshot = Snapshot::load(&screen.engine, screen.me).await.expect("a snapshot");
        screen.app.on_snapshot(snapshot).iter().filter(|e| matches!(e, Effect::Bell)).count()
    };
    assert_eq!(arrive(&mut screen, DAVE, "contoso-crm-dev").await, 1, "the first arrival rings");
    screen.app.tick(now() + chrono::TimeDelta::seconds(5));
    assert_eq!(arrive(&mut screen, "erin@fabrikam.com", "contoso-crm-dev").await, 0, "5 s later: quiet");
    screen.app.tick(now() + chrono::TimeDelta::seconds(10));
    assert_eq!(arrive(&mut screen, DAVE, "contoso-crm-eu").await, 1, "10 s after the ring: rings again");
}

/// The first snapshot comes in two parts: the Requests tab draws from the first (everything it
/// lists is there, so its first page is the most urgent), the Access and Activity tabs and the
/// Applications tab's access column say "loading…" until the rest is in (or why it is not), and
/// the two parts make the same snapshot as one whole load.
#[tokio::test]
async fn the_first_page_shows_before_the_rest_of_the_first_snapshot() {
    let mut screen = Screen::open(Who::Approver).await;
    let whole = screen.app.data.clone();
    let backend = jitdesk::client::Backend::from(&screen.engine);
    let first = Snapshot::first(&backend, screen.me).await.expect("the first part");
    assert!(first.partial, "the first part says it is one");
    assert!(first.grants.is_empty() && first.audit.is_empty(), "access and audit come after");
    assert_eq!(first.notifications.len(), whole.notifications.len(), "the unread count is right at once");
    assert_eq!(first.offers.len(), whole.offers.len(), "`n` has the marketplace at once");
    assert_eq!(first.requests.len(), whole.requests.len(), "every pending request, for the sort");
    let rest = Snapshot::rest(&backend, first.me.as_ref()).await.expect("the rest");
    let loaded = Snapshot::load(&screen.engine, screen.me).await.expect("a whole snapshot");
    let joined = first.clone().with(rest);
    assert!(format!("{joined:?}") == format!("{loaded:?}"), "the two parts make one whole load");

    let ui = Ui {
        theme: theme("default", true),
        keymap: Keymap::new(&HashMap::new()).expect("the default keymap"),
        time: TimeStyle::utc(),
        bell: false,
        mouse: false,
        ascii: false,
    };
    screen.app = App::new(ui, now());
    screen.app.on_snapshot(first);
    let requests = screen.render(100, 30).backend().to_string();
    assert!(
        requests.contains(&format!("Pending requests ({})", whole.waiting_for_me())),
        "the first page is drawn from the first part:\n{requests}"
    );
    for tab in ['4', '5'] {
        screen.press(&[Key(KeyCode::Char(tab))]).await;
        let text = screen.render(100, 30).backend().to_string();
        assert!(text.contains("loading…"), "tab {tab} waits for the rest:\n{text}");
    }
    screen.press(&[Key(KeyCode::Char('1'))]).await;
    let apps = screen.render(100, 30).backend().to_string();
    assert!(apps.contains("loading…") && !apps.contains("ends in"), "no access is said yet:\n{apps}");
    screen.press(&[Key(KeyCode::Char('4'))]).await;
    screen.app.trouble = Some("the store is damaged".into());
    let failed = screen.render(100, 30).backend().to_string();
    assert!(failed.contains("could not load this tab: the store is damaged"), "{failed}");
    screen.app.trouble = None;
    screen.reload().await;
    let access = screen.render(100, 30).backend().to_string();
    assert!(
        !access.contains("loading…") && access.contains(&format!("Access ({})", whole.grants.len())),
        "the rest is in:\n{access}"
    );
}

/// The grant numbered `id` under the Access tab's cursor, moving down to it.
async fn select_grant(screen: &mut Screen, id: u64) {
    screen.press(&[k('4')]).await;
    for _ in 0..10 {
        if screen.app.selected_request() == Some(id) {
            return;
        }
        screen.press(&[k('j')]).await;
    }
    panic!("grant {id} is not on the Access tab");
}

#[tokio::test]
async fn e_on_my_access_asks_for_more_time_decided_by_its_policy() {
    let mut screen = Screen::open(Who::Publisher).await;
    // Grant 9, Dave's on contoso-crm-dev, whose policy approves automatically.
    select_grant(&mut screen, 9).await;
    let before = screen.engine.request(&Viewer::Operator, 9).await.unwrap().request.end().unwrap();
    assert!(lines(&screen.buffer(100, 30)).contains("e extend"), "the footer offers it");
    screen.press(&[k('e'), TAB, Type("the deploy runs long"), ENTER]).await;
    let after = screen.engine.request(&Viewer::Operator, 9).await.unwrap().request;
    assert_eq!(after.extensions.len(), 1, "{after:?}");
    assert_eq!(after.end(), Some(before + chrono::TimeDelta::hours(1)), "the form's 1h, approved at once");
    let text = lines(&screen.buffer(100, 30));
    assert!(text.contains("extension of access 9 approved"), "{text}");
}

#[tokio::test]
async fn an_approver_decides_an_extension_on_the_access_tab_with_the_keys_of_requests() {
    let mut screen = Screen::open(Who::Approver).await;
    // Grant 7, Dave's scheduled access to contoso-crm, decided by hand.
    let extend = jitdesk::engine::Extend {
        id: 7,
        by: jitdesk::domain::Period::from_hours(1),
        reason: "CHG-1207 grew".into(),
    };
    screen.engine.run(&Actor::User(DAVE.into()), extend).await.unwrap();
    screen.reload().await;
    select_grant(&mut screen, 7).await;
    let wide = lines(&screen.buffer(160, 30));
    assert!(wide.contains("+1h asked: CHG-1207 grew"), "the row shows what waits: {wide}");
    let footer = lines(&screen.buffer(100, 30));
    assert!(footer.contains("a approve extension") && footer.contains("d deny extension"), "{footer}");
    screen.press(&[k('a')]).await;
    let form = lines(&screen.buffer(100, 30));
    assert!(form.contains("asks for 1h more") && form.contains("CHG-1207 grew"), "{form}");
    screen.press(&[Type("fits the window"), ENTER]).await;
    let after = screen.engine.request(&Viewer::Operator, 7).await.unwrap().request;
    assert_eq!(after.extensions[0].state, jitdesk::domain::ExtensionState::Approved, "{after:?}");
    assert_eq!(after.extensions[0].decision.as_ref().map(|v| v.by.as_str()), Some(ALICE));
}
