//! Text from other people must never reach the terminal raw. The engine refuses control characters in
//! new text, so the hostile data is built directly as a dashboard snapshot; every screen is drawn
//! through a real crossterm backend into memory, and the bytes that would go to the terminal are
//! checked: no escape sequence other than the backend's own cursor moves and colours, no C1 controls,
//! no bidi overrides or invisible characters, and the visible placeholders present (the text was
//! drawn, not dropped).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use jitdesk::domain::text::sanitize;
use jitdesk::domain::*;
use jitdesk::engine::RequestDetail;
use jitdesk::tui::app::{App, Overlay, Ui};
use jitdesk::tui::data::Snapshot;
use jitdesk::tui::keymap::Keymap;
use jitdesk::tui::theme::{Load, Theme};

const OSC_TITLE: &str = "\x1b]0;pwned\x07";
const OSC_LINK: &str = "\x1b]8;;http://evil\x1b\\";
const CSI_CLEAR: &str = "\x1b[2J\x1b[H";
const C1_CSI: &str = "\u{9b}2J";
const C1_OSC: &str = "\u{9d}0;x\u{9c}";
const BIDI: &str = "\u{202e}\u{2066}\u{2067}\u{2068}\u{2069}\u{202a}\u{200e}\u{200f}\u{061c}";
const INVISIBLE: &str = "\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}\u{ad}";
/// Line separators, tags, Hangul fillers, variation selectors and other invisible characters.
const INVISIBLE_MORE: &str =
    "\u{2028}\u{2029}\u{e0041}\u{115f}\u{3164}\u{180e}\u{fe0f}\u{e0100}\u{34f}\u{fff9}\u{2063}";

/// Hostile text: it opens with an escape so the placeholder lands inside the narrowest column,
/// and carries every kind of trouble after a short readable label.
fn evil(label: &str) -> String {
    format!(
        "{OSC_TITLE}{label}{BIDI}{C1_CSI}{INVISIBLE}{CSI_CLEAR}{C1_OSC}{OSC_LINK}click\u{7f}\r\nend{INVISIBLE_MORE}"
    )
}

/// Hostile text that starts with a C1 control and a bidi override, for columns where only the first
/// few characters show.
fn evil_c1(label: &str) -> String {
    format!("\u{9b}\u{202e}{label}{OSC_TITLE}{CSI_CLEAR}{C1_OSC}{INVISIBLE}{OSC_LINK}")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).single().expect("a valid time")
}

struct World {
    snapshot: Snapshot,
    pending: u64,
}

/// A directory where every name, justification, reason and ticket is hostile.
fn world(me_publisher: bool) -> World {
    let now = now();
    let customer = "contoso".to_string();
    let publisher = evil("fabrikam");
    let alice = "alice@contoso.com".to_string();
    let eve = evil("eve@fabrikam.com");
    let bob = evil_c1("bob@contoso.com");
    let tenants = vec![
        Tenant {
            id: customer.clone(),
            kind: TenantKind::Customer,
            name: evil("Contoso"),
            license: Some(License::P2),
        },
        Tenant { id: publisher.clone(), kind: TenantKind::Publisher, name: evil("Fabrikam"), license: None },
    ];
    let users = vec![
        User {
            upn: alice.clone(),
            display_name: evil("Alice"),
            tenant: customer.clone(),
            admin: true,
            login: None,
            object_id: String::new(),
        },
        User {
            upn: bob.clone(),
            display_name: evil_c1("Bob"),
            tenant: customer.clone(),
            admin: false,
            login: None,
            object_id: String::new(),
        },
        User {
            upn: eve.clone(),
            display_name: evil_c1("Eve"),
            tenant: publisher.clone(),
            admin: true,
            login: None,
            object_id: String::new(),
        },
    ];
    let offer = evil_c1("offer");
    let offers = vec![Offer {
        id: offer.clone(),
        name: evil("Offer"),
        publisher_tenant: publisher.clone(),
        published_by: eve.clone(),
        jit_available: true,
        roles: vec![evil("Contributor"), evil_c1("Reader")],
    }];
    let app = |name: String, enabled: bool| Application {
        name,
        offer: offer.clone(),
        customer_tenant: customer.clone(),
        publisher_tenant: publisher.clone(),
        resource_group: evil("mrg"),
        policy: JitPolicy {
            enabled,
            mode: ApprovalMode::ManualApprove,
            max_duration: Period::from_hours(8),
            approvers: vec![alice.clone(), bob.clone()],
            request_timeout: Period::from_hours(24),
            approvals_required: 1,
            approver_groups: Vec::new(),
            max_extensions: 0,
        },
        deployed_by: evil("deployer"),
        deployed_at: now - TimeDelta::days(3),
        resource_id: String::new(),
    };
    let crm = evil("crm");
    let apps = vec![app(crm.clone(), true), app(evil_c1("legacy"), false)];
    let verdict = |by: &str, minutes: i64, reason: String| Verdict {
        by: by.to_string(),
        at: now - TimeDelta::minutes(minutes),
        reason,
    };
    let request = |id: u64, state: RequestState| AccessRequest {
        id,
        app: crm.clone(),
        requester: eve.clone(),
        roles: vec![evil_c1("Contributor"), evil("Owner")],
        start: now - TimeDelta::minutes(30),
        duration: Period::from_hours(1),
        justification: evil("justification"),
        ticket: Some(evil("INC-1")),
        created_at: now - TimeDelta::minutes(40),
        decide_by: now + TimeDelta::hours(20),
        state,
        decision: None,
        granted_from: None,
        closed: None,
        started: false,
        approvals: Vec::new(),
        extensions: Vec::new(),
        arm: None,
        tags: Default::default(),
    };
    let pending = request(7, RequestState::Pending);
    let mut active = request(5, RequestState::Approved);
    active.decision = Some(verdict(&bob, 20, evil("approved because")));
    active.granted_from = Some(now - TimeDelta::minutes(20));
    active.started = true;
    let mut scheduled = request(6, RequestState::Approved);
    scheduled.decision = Some(verdict(&alice, 10, evil_c1("later")));
    scheduled.granted_from = Some(now + TimeDelta::hours(2));
    let mut denied = request(4, RequestState::Denied);
    denied.decision = Some(verdict(&bob, 50, evil("denied because")));
    denied.closed = Some(verdict(&bob, 50, evil("closed because")));
    let requests = if me_publisher {
        vec![pending.clone(), scheduled.clone(), active.clone(), denied]
    } else {
        vec![pending.clone()]
    };
    let record = |id: u64, actor: &str, action: Action, target: Target, reason: Option<String>| AuditRecord {
        id,
        at: now - TimeDelta::minutes(id as i64),
        actor: actor.to_string(),
        action,
        target,
        app: Some(crm.clone()),
        reason,
        before: Some(evil("Pending")),
        after: Some(evil_c1("Approved")),
    };
    let audit = vec![
        record(3, &bob, Action::RequestApproved, Target::Request(5), Some(evil("approved because"))),
        record(2, &eve, Action::RequestCreated, Target::App(crm.clone()), Some(evil_c1("why"))),
        record(1, &eve, Action::UserAdded, Target::User(eve.clone()), None),
    ];
    let notification = |id: u64, to: &str| Notification {
        id,
        to: to.to_string(),
        at: now - TimeDelta::minutes(id as i64),
        request: Some(7),
        app: crm.clone(),
        action: Action::RequestCreated,
        message: evil("someone asks for access"),
    };
    let me = if me_publisher { &users[2] } else { &users[0] };
    let notifications = vec![notification(2, &me.upn), notification(1, &me.upn)];
    World {
        snapshot: Snapshot {
            me: Some(me.clone()),
            tenants,
            users: users.clone(),
            offers,
            apps,
            requests,
            grants: vec![active, scheduled].into(),
            audit,
            notifications,
            seen_upto: 1,
            ..Default::default()
        },
        pending: pending.id,
    }
}

fn ui() -> Ui {
    Ui {
        theme: Theme::load("default", &Load { user_dir: None, truecolor: true }).expect("the default theme"),
        keymap: Keymap::new(&HashMap::new()).expect("the default keymap"),
        time: jitdesk::domain::time_style::TimeStyle::utc(),
        bell: false,
        mouse: false,
        ascii: false,
    }
}

fn app(me_publisher: bool) -> (App, World) {
    let world = world(me_publisher);
    let mut app = App::new(ui(), now());
    let _ = app.on_snapshot(world.snapshot.clone());
    (app, world)
}

fn key(app: &mut App, code: KeyCode) {
    let _ = app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// Stands in for the terminal: everything the backend writes lands here.
#[derive(Clone, Default)]
struct Sink(Rc<RefCell<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One full frame of the dashboard as the bytes a terminal of `w`x`h` would receive. A fixed
/// viewport: the test has no terminal to ask for its size.
fn frame_bytes(app: &App, w: u16, h: u16) -> Vec<u8> {
    let sink = Sink::default();
    let options = TerminalOptions { viewport: Viewport::Fixed(Rect::new(0, 0, w, h)) };
    let mut terminal =
        Terminal::with_options(CrosstermBackend::new(sink.clone()), options).expect("a terminal");
    terminal.draw(|f| jitdesk::tui::view::draw(f, app)).expect("draw");
    drop(terminal);
    sink.0.take()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every escape sequence in `bytes` is a CSI the backend itself writes: colours and attributes (`m`),
/// cursor moves (`H`) and cursor show/hide (`?25h`/`?25l`). Returns the number of sequences.
fn only_backend_sequences(screen: &str, bytes: &[u8]) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0x1b {
            assert_eq!(bytes.get(i + 1), Some(&b'['), "{screen}: ESC not followed by `[` at byte {i}");
            let mut j = i + 2;
            while j < bytes.len() && matches!(bytes[j], b'0'..=b'9' | b';' | b':' | b'?') {
                j += 1;
            }
            let sequence = String::from_utf8_lossy(&bytes[i + 1..(j + 1).min(bytes.len())]).into_owned();
            let ok = match bytes.get(j) {
                Some(b'm' | b'H') => !sequence.starts_with("[?"),
                Some(b'h' | b'l') => sequence == "[?25h" || sequence == "[?25l",
                _ => false,
            };
            assert!(ok, "{screen}: unexpected escape sequence ESC{sequence:?}");
            count += 1;
            i = j + 1;
        } else {
            assert!(b >= 0x20 && b != 0x7f, "{screen}: raw control byte {b:#04x} at {i}");
            i += 1;
        }
    }
    count
}

const FORBIDDEN: [(&str, &[u8]); 5] = [
    ("an OSC introducer (ESC ])", b"\x1b]"),
    ("BEL", b"\x07"),
    ("a string terminator (ESC \\)", b"\x1b\\"),
    ("a screen clear (ESC[2J)", b"\x1b[2J"),
    // The backend always writes row and column (`ESC[1;1H`); a bare one comes from the data.
    ("a bare cursor home (ESC[H)", b"\x1b[H"),
];

const HIDDEN: [char; 27] = [
    '\u{202a}',
    '\u{202b}',
    '\u{202c}',
    '\u{202d}',
    '\u{202e}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{200b}',
    '\u{200c}',
    '\u{200d}',
    '\u{feff}',
    '\u{2060}',
    '\u{200e}',
    '\u{200f}',
    '\u{2028}',
    '\u{2029}',
    '\u{e0041}',
    '\u{115f}',
    '\u{3164}',
    '\u{180e}',
    '\u{fe0f}',
    '\u{e0100}',
    '\u{34f}',
    '\u{fff9}',
    '\u{2063}',
];

/// How `evil(label)` must look on screen: the escape as its control picture, the rest of the payload
/// as plain characters, then the label.
fn esc(label: &str) -> String {
    format!("\u{241b}]0;pwned\u{2407}{label}")
}

/// How `evil_c1(label)` must look on screen.
fn c1(label: &str) -> String {
    format!("\u{fffd}\u{fffd}{label}")
}

/// The screen as the cells' symbols, row by row.
fn screen_rows(app: &App, w: u16, h: u16) -> Vec<Vec<String>> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    terminal.draw(|f| jitdesk::tui::view::draw(f, app)).expect("draw");
    let buffer = terminal.backend().buffer();
    (0..h).map(|y| (0..w).map(|x| buffer[(x, y)].symbol().to_string()).collect()).collect()
}

fn screen_text(rows: &[Vec<String>]) -> String {
    rows.iter().map(|r| r.concat().trim_end().to_string()).collect::<Vec<_>>().join("\n")
}

/// The text inside the box whose top border carries `title` (a popup), rows joined.
fn boxed(rows: &[Vec<String>], title: &str) -> Option<String> {
    let (top, line) = rows.iter().enumerate().find(|(_, r)| r.concat().contains(title))?;
    let at = line.concat().find(title)?;
    let title_x = line.concat()[..at].chars().count();
    let left = (0..title_x).rev().find(|&x| line[x] == "┌")?;
    let right = (title_x..line.len()).find(|&x| line[x] == "┐")?;
    let inner = rows[top + 1..]
        .iter()
        .take_while(|r| r[left] != "└")
        .map(|r| r[left + 1..right].concat())
        .collect::<Vec<_>>();
    Some(inner.join(" "))
}

/// Runs of whitespace as one space, so text wrapped over lines still matches.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks the bytes one frame sent to the terminal: nothing that steers it, only the backend's own
/// sequences, and each of `expect` (sanitized hostile text) drawn on screen, inside the popup titled
/// `within` when given.
fn check(screen: &str, app: &App, (w, h): (u16, u16), expect: &[String], within: Option<&str>) {
    let screen = format!("{screen} at {w}x{h}");
    let bytes = frame_bytes(app, w, h);
    let rows = screen_rows(app, w, h);
    let shown = || screen_text(&rows);
    assert!(!bytes.is_empty(), "{screen}: nothing was written");
    for (what, needle) in FORBIDDEN {
        assert!(!contains(&bytes, needle), "{screen}: the bytes contain {what}:\n{}", shown());
    }
    // UTF-8 encoded C1 code points (U+0080..U+009F) are C2 80..C2 9F; raw C1 bytes are not valid
    // UTF-8 on their own, so they would fail the decode below.
    for c in 0x80..=0x9fu8 {
        assert!(
            !contains(&bytes, &[0xc2, c]),
            "{screen}: the bytes contain C1 control U+{c:04X}:\n{}",
            shown()
        );
    }
    let text = std::str::from_utf8(&bytes).unwrap_or_else(|e| panic!("{screen}: not UTF-8 ({e})"));
    for c in HIDDEN.into_iter().chain(['\u{061c}']) {
        assert!(!text.contains(c), "{screen}: the bytes contain U+{:04X}:\n{}", u32::from(c), shown());
    }
    let sequences = only_backend_sequences(&screen, &bytes);
    assert!(sequences > 0, "{screen}: expected the backend's own cursor moves and colours");
    if expect.is_empty() {
        return;
    }
    // What the terminal shows is what the bytes drew; the placeholders must be among them.
    assert!(text.contains('\u{241b}') && text.contains('\u{fffd}'), "{screen}: no placeholders in the bytes");
    let area = match within {
        Some(title) => {
            boxed(&rows, title).unwrap_or_else(|| panic!("{screen}: no box titled {title:?}:\n{}", shown()))
        }
        None => rows.iter().map(|r| r.concat()).collect::<Vec<_>>().join(" "),
    };
    let area = squeeze(&area);
    for fragment in expect {
        assert!(
            area.contains(&squeeze(fragment)),
            "{screen}: {fragment:?} was not drawn{}: hostile text must show as placeholders, not vanish:\n{}",
            within.map(|t| format!(" in {t:?}")).unwrap_or_default(),
            shown()
        );
    }
}

/// Checks the screen at several sizes; the hostile text must be visible at the largest two.
fn check_screen(screen: &str, app: &App, expect: &[String]) {
    check_in(screen, app, expect, None);
}

/// Like `check_screen`, with the hostile text expected inside the popup titled `within`.
fn check_in(screen: &str, app: &App, expect: &[String], within: Option<&str>) {
    check(screen, app, (120, 35), expect, within);
    check(screen, app, (100, 30), expect, within);
    check(screen, app, (80, 24), &[], None);
}

#[test]
fn every_tab_of_an_approver_writes_no_escape_sequence_from_the_data() {
    let (mut app, _) = app(false);
    let header = esc("Alice");
    let pending = [header.clone(), esc("crm"), c1("Eve"), c1("Contributor")];
    check_screen("first screen (approver's pending requests)", &app, &pending);
    let tabs: [(char, &str, Vec<String>); 5] = [
        ('1', "Applications", vec![header.clone(), esc("crm"), c1("offer"), c1("legacy")]),
        ('2', "JIT settings", vec![header.clone(), esc("crm"), esc("mrg"), c1("offer")]),
        ('3', "Requests", pending.to_vec()),
        ('4', "Access", vec![header.clone(), esc("crm"), c1("Eve"), c1("Contributor")]),
        // The audit log names its actors as the other tabs do: bob by his (hostile) display name.
        ('5', "Activity", vec![header.clone(), esc("someone"), c1("Bob")]),
    ];
    for (tab, name, expect) in tabs {
        key(&mut app, KeyCode::Char(tab));
        check_screen(&format!("tab {tab} {name}"), &app, &expect);
    }
    // The second application (no JIT) on the settings tab.
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Down);
    check_screen("JIT settings of the app without JIT", &app, &[c1("legacy"), esc("mrg")]);
}

#[test]
fn engine_error_in_the_header_is_sanitized() {
    let (mut app, _) = app(false);
    // The header is one line and a long name would push the message out of sight (reported
    // separately), so this one signs in with a short, plain name.
    if let Some(me) = app.data.me.as_mut() {
        me.display_name = "A".into();
    }
    // Wide enough for the header to show the whole error beside the badge and the zoned clock.
    app.trouble = Some(evil("store-trouble"));
    check("header with an engine error", &app, (160, 35), &[esc("store-trouble")], None);
    check("header with an engine error", &app, (80, 24), &[], None);
}

#[test]
fn detail_overlay_shows_the_full_history_safely() {
    let (mut app, world) = app(false);
    key(&mut app, KeyCode::Char('3'));
    key(&mut app, KeyCode::Enter);
    assert!(
        matches!(app.overlay, Some(Overlay::Detail { id, .. }) if id == world.pending),
        "Enter should open the details of the selected request"
    );
    let title = format!("Request {}", world.pending);
    check_in("detail overlay while loading", &app, &[esc("Alice")], None);
    let request = world.snapshot.requests[0].clone();
    let history = world.snapshot.audit.clone();
    app.on_detail(RequestDetail { request, history });
    assert!(
        matches!(&app.overlay, Some(Overlay::Detail { detail: Some(_), .. })),
        "the detail should be shown"
    );
    let expect = [
        esc("crm"),
        c1("Eve"),
        esc("eve@fabrikam.com"),
        esc("justification"),
        esc("INC-1"),
        c1("bob@contoso.com"),
        esc("approved because"),
    ];
    check_in("detail overlay", &app, &expect, Some(&title));
}

#[test]
fn approve_form_with_the_justification_in_its_intro_and_typed_controls() {
    let (mut app, world) = app(false);
    key(&mut app, KeyCode::Char('3'));
    key(&mut app, KeyCode::Char('a'));
    let title = format!("Approve request {}", world.pending);
    match &app.overlay {
        Some(Overlay::Form(form)) => {
            assert_eq!(form.title, title);
            assert!(
                form.intro.iter().any(|l| l.contains(OSC_TITLE)),
                "the intro quotes the raw justification"
            );
        }
        other => panic!("`a` should open the approve form, got {other:?}"),
    }
    let intro = [c1("Eve"), esc("crm"), format!("justification: {}", esc("justification"))];
    check_in("approve form", &app, &intro, Some(&title));
    // Keys can carry control characters too (a terminal passes through what it is sent).
    type_text(&mut app, "ok\u{1b}]0;typed\u{7}\u{9b}2J\u{202e}!");
    let typed = "ok\u{241b}]0;typed\u{2407}\u{fffd}2J\u{fffd}!".to_string();
    check_in("approve form with controls typed in the reason", &app, &[typed], Some(&title));
    // Submitting, then the engine refusing with a message that quotes hostile text.
    key(&mut app, KeyCode::Enter);
    app.on_result(Err(evil("refused").into()));
    match &app.overlay {
        Some(Overlay::Form(form)) => assert!(form.error.is_some(), "the refusal shows inline"),
        other => panic!("the form should stay open with the error, got {other:?}"),
    }
    check_in("approve form with an engine error", &app, &[esc("refused")], Some(&title));
    // A reason was typed: Esc asks first, and y discards it.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('y'));
    key(&mut app, KeyCode::Char('d'));
    assert!(matches!(app.overlay, Some(Overlay::Form(_))), "`d` should open the deny form");
    check_in("deny form", &app, &intro, Some(&format!("Deny request {}", world.pending)));
}

#[test]
fn toasts_and_filters_are_sanitized() {
    let (mut app, _) = app(false);
    app.toast(evil("toast"), true);
    app.toast(evil_c1("second-toast"), false);
    check_screen("toasts", &app, &[esc("toast"), c1("second-toast")]);

    // A filter typed with control characters is echoed in the footer.
    let (mut app, _) = self::app(false);
    key(&mut app, KeyCode::Char('5'));
    key(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "\u{1b}]0;f\u{7}\u{202e}");
    let filter = "\u{241b}]0;f\u{2407}\u{fffd}".to_string();
    check_screen("filter being typed", &app, std::slice::from_ref(&filter));
    key(&mut app, KeyCode::Enter);
    check_screen("filter kept", &app, &[filter]);
}

#[test]
fn wizard_policy_editor_and_revoke_are_sanitized() {
    // The deployment wizard starts from the marketplace's offers.
    let (mut app, _) = app(false);
    key(&mut app, KeyCode::Char('1'));
    key(&mut app, KeyCode::Char('n'));
    let Some(Overlay::Form(form)) = &app.overlay else { panic!("n should open the deployment wizard") };
    let title = form.title.clone();
    check_in("deployment wizard", &app, &[c1("offer")], Some(&title));
    // Walk its steps with Tab: whatever each shows must be clean too.
    for step in 0..12 {
        key(&mut app, KeyCode::Tab);
        check(&format!("deployment wizard after {} Tab", step + 1), &app, (120, 35), &[], None);
    }

    // The JIT settings editor lists the approvers from the directory.
    let (mut app, _) = self::app(false);
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('e'));
    let Some(Overlay::Form(form)) = &app.overlay else { panic!("e should open the policy editor") };
    let title = form.title.clone();
    assert!(title.contains(OSC_TITLE), "the editor's title names the app: {title:?}");
    check_in(
        "policy editor",
        &app,
        &[esc("mrg"), esc("Alice"), c1("Bob"), format!("<{}", c1("bob"))],
        Some(" JIT settings of "),
    );

    // Revoking a grant: confirmation, then the reason form.
    let (mut app, _) = self::app(false);
    key(&mut app, KeyCode::Char('4'));
    key(&mut app, KeyCode::Char('x'));
    assert!(matches!(app.overlay, Some(Overlay::Confirm { .. })), "x should ask for confirmation");
    check_screen("revoke confirmation", &app, &[]);
    key(&mut app, KeyCode::Char('y'));
    assert!(matches!(app.overlay, Some(Overlay::Form(_))), "y should open the revoke form");
    check_screen("revoke form", &app, &[]);
}

#[test]
fn every_tab_of_a_publisher_writes_no_escape_sequence_from_the_data() {
    let (mut app, _) = app(true);
    // The header is cut to the width: only its start (the display name) is sure to show.
    let header = [c1("Eve")];
    let mine = [&header[..], &[esc("crm"), c1("Contributor")]].concat();
    check_screen("first screen (publisher's own requests)", &app, &mine);
    for tab in ['1', '2', '3', '4', '5'] {
        key(&mut app, KeyCode::Char(tab));
        let expect = if tab == '3' { mine.clone() } else { header.to_vec() };
        check_screen(&format!("publisher tab {tab}"), &app, &expect);
    }
    key(&mut app, KeyCode::Char('3'));
    key(&mut app, KeyCode::Char('n'));
    assert!(matches!(app.overlay, Some(Overlay::Form(_))), "n should open the request form");
    // The maximum shown is that of the application chosen, named in its own words.
    let expect = [format!("at most 8h on {}", esc("crm")), esc("crm"), esc("Contributor")];
    check_in("request form", &app, &expect, Some("Request JIT access"));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('c'));
    assert!(matches!(app.overlay, Some(Overlay::Confirm { .. })), "c should ask to cancel");
    check_screen("cancel confirmation", &app, &[]);
}

#[test]
fn too_small_terminal_notice_is_clean() {
    let (app, _) = app(false);
    for size in [(1, 1), (30, 8), (59, 40)] {
        check("too small", &app, size, &[], None);
    }
}

/// The one sanitizer's contract, which the CLI's tables and the dashboard share: every control,
/// bidi and invisible character becomes exactly one visible placeholder, everything else is kept.
#[test]
fn sanitize_replaces_each_dangerous_character_with_one_visible_placeholder() {
    for raw in [evil("x"), evil_c1("y"), OSC_LINK.to_string(), format!("{C1_CSI}{C1_OSC}")] {
        let clean = sanitize(&raw);
        assert_eq!(clean.chars().count(), raw.chars().count(), "one placeholder per character: {clean:?}");
        for c in clean.chars() {
            assert!(!c.is_control(), "a control survived: {clean:?}");
            assert!(
                !HIDDEN.contains(&c) && c != '\u{061c}' && c != '\u{ad}',
                "U+{:04X} survived",
                u32::from(c)
            );
        }
        for (r, c) in raw.chars().zip(clean.chars()) {
            match r {
                '\u{0}'..='\u{1f}' => {
                    assert_eq!(u32::from(c), 0x2400 + u32::from(r), "C0 becomes its control picture")
                }
                '\u{7f}' => assert_eq!(c, '\u{2421}'),
                '\u{80}'..='\u{9f}' => assert_eq!(c, '\u{fffd}'),
                _ if HIDDEN.contains(&r) || r == '\u{061c}' || r == '\u{ad}' => assert_eq!(c, '\u{fffd}'),
                _ => assert_eq!(c, r, "plain text is kept"),
            }
        }
    }
    assert_eq!(sanitize("plain text, ünïcødé and 日本語"), "plain text, ünïcødé and 日本語");
}
