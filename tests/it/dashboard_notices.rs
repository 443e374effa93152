//! The dashboard's notifications list with a notice that names no request (a change of an
//! application's JIT settings) beside one that does: both are drawn, and Enter opens the request
//! of the one that names a request and nothing for the other.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use jitdesk::domain::{Action, License, Notification, Tenant, TenantKind, User};
use jitdesk::tui::app::{App, Overlay, Ui};
use jitdesk::tui::data::Snapshot;
use jitdesk::tui::keymap::{KeyAction, Keymap};
use jitdesk::tui::theme::{Load, Theme};

const ALICE: &str = "alice@contoso.com";
const POLICY: &str = "JIT settings of crm changed by admin@contoso.com: max PT4H (was PT8H)";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap()
}

fn app() -> App {
    let ui = Ui {
        theme: Theme::load("default", &Load { user_dir: None, truecolor: true }).expect("the default theme"),
        keymap: Keymap::new(&HashMap::new()).expect("the default keymap"),
        time: jitdesk::domain::time_style::TimeStyle::utc(),
        bell: false,
        mouse: false,
        ascii: false,
    };
    let alice = User {
        upn: ALICE.into(),
        display_name: "Alice".into(),
        tenant: "contoso".into(),
        admin: false,
        login: None,
        object_id: String::new(),
    };
    let note = |id: u64, request: Option<u64>, action: Action, message: &str| Notification {
        id,
        to: ALICE.into(),
        at: now() - TimeDelta::minutes(10 - id as i64),
        request,
        app: "crm".into(),
        action,
        message: message.into(),
    };
    let snapshot = Snapshot {
        me: Some(alice.clone()),
        tenants: vec![Tenant {
            id: "contoso".into(),
            kind: TenantKind::Customer,
            name: "Contoso".into(),
            license: Some(License::P2),
        }],
        users: vec![alice],
        // Newest first: the policy change on top, a request's notice below it.
        notifications: vec![
            note(9, None, Action::PolicyChanged, POLICY),
            note(8, Some(7), Action::RequestCreated, "pat@fabrikam.com asks for Owner on crm for 1h"),
        ],
        ..Default::default()
    };
    let mut app = App::new(ui, now());
    let _ = app.on_snapshot(snapshot);
    app
}

fn key(app: &mut App, code: KeyCode) {
    let _ = app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(140, 30)).expect("a terminal");
    terminal.draw(|f| jitdesk::tui::view::draw(f, app)).expect("draw");
    let buffer = terminal.backend().buffer();
    let width = buffer.area.width as usize;
    let cells: Vec<&str> = buffer.content.iter().map(|c| c.symbol()).collect();
    cells.chunks(width).map(|row| row.concat()).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_notice_that_names_no_request_is_listed_and_opens_nothing() {
    let mut app = app();
    key(&mut app, KeyCode::Char('5'));
    if !app.on_notes {
        key(&mut app, KeyCode::Char('n'));
    }
    assert!(app.on_notes, "the notifications list has the cursor");
    let shown = screen(&app);
    assert!(shown.contains(POLICY), "the policy change is listed:\n{shown}");
    assert!(shown.contains("pat@fabrikam.com asks for Owner"), "{shown}");

    // On the policy change: Enter is not offered, and opens nothing.
    assert_eq!(app.opened_request(), None);
    assert!(!app.offers(KeyAction::Open));
    key(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_none(), "nothing opened");

    // On the request's notice: Enter opens request 7.
    key(&mut app, KeyCode::Down);
    assert_eq!(app.opened_request(), Some(7));
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.overlay, Some(Overlay::Detail { id: 7, .. })), "the request opens");
}
