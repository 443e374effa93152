//! The Activity tab's delivery mark: an audit record whose notice went out by mail, webhook or hook
//! shows after its action whether it was sent, is queued, or failed, with a legend that says so;
//! records without deliveries, and a log with none, look as they always did.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use jitdesk::domain::*;
use jitdesk::tui::app::{App, Ui};
use jitdesk::tui::data::{Outbound, Snapshot};
use jitdesk::tui::keymap::Keymap;
use jitdesk::tui::theme::{Load, Theme};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn record(id: u64, action: Action, reason: &str) -> AuditRecord {
    AuditRecord {
        id,
        at: now() - TimeDelta::minutes(id as i64),
        actor: "dave@fabrikam.com".into(),
        action,
        target: Target::Request(id),
        app: Some("crm".into()),
        reason: Some(reason.into()),
        before: None,
        after: None,
    }
}

/// The operator's Activity tab over three records, `outbound` marking some, as lines of text.
fn activity(outbound: HashMap<u64, Outbound>, ascii: bool) -> Vec<String> {
    let ui = Ui {
        theme: Theme::load("default", &Load { user_dir: None, truecolor: true }).expect("the default theme"),
        keymap: Keymap::new(&HashMap::new()).expect("the default keymap"),
        time: jitdesk::domain::time_style::TimeStyle::utc(),
        bell: false,
        mouse: false,
        ascii,
    };
    let tenant =
        Tenant { id: "contoso".into(), kind: TenantKind::Customer, name: "Contoso".into(), license: None };
    let snapshot = Snapshot {
        tenants: vec![tenant],
        audit: vec![
            record(3, Action::RequestCreated, "third-record"),
            record(2, Action::RequestApproved, "second-record"),
            record(1, Action::RequestCreated, "first-record"),
        ],
        outbound,
        ..Default::default()
    };
    let mut app = App::new(ui, now());
    let _ = app.on_snapshot(snapshot);
    let _ = app.on_key(KeyEvent::new(KeyCode::Char('5'), KeyModifiers::NONE));
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).expect("a test terminal");
    terminal
        .draw(|f| {
            let _ = jitdesk::tui::view::drawn(f, &app);
        })
        .expect("draw");
    let buffer = terminal.backend().buffer();
    (0..30).map(|y| (0..120).map(|x| buffer[(x, y)].symbol().to_string()).collect()).collect()
}

fn line<'a>(lines: &'a [String], text: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no line shows {text}:\n{}", lines.join("\n")))
}

#[test]
fn a_record_whose_notice_went_out_is_marked_sent_queued_or_failed() {
    let marks = HashMap::from([(3, Outbound::Sent), (2, Outbound::Failed), (1, Outbound::Queued)]);
    let lines = activity(marks, false);
    assert!(line(&lines, "third-record").contains("request.create ✓"), "{}", lines.join("\n"));
    assert!(line(&lines, "second-record").contains("request.approve !"), "{}", lines.join("\n"));
    assert!(line(&lines, "first-record").contains("request.create …"), "{}", lines.join("\n"));
    assert!(line(&lines, "Audit log").contains("notices ✓ sent … queued ! failed"));

    let ascii = activity(HashMap::from([(3, Outbound::Sent)]), true);
    assert!(line(&ascii, "third-record").contains("request.create x"), "{}", ascii.join("\n"));
    assert!(line(&ascii, "Audit log").contains("notices x sent ~ queued ! failed"));
    assert!(ascii.iter().all(|l| l.is_ascii()), "{}", ascii.join("\n"));
}

#[test]
fn records_without_deliveries_carry_no_mark_and_no_legend() {
    let marked = activity(HashMap::from([(3, Outbound::Sent)]), false);
    for text in ["second-record", "first-record"] {
        let row = line(&marked, text);
        assert!(!row.contains('✓') && !row.contains('…') && !row.contains(" !"), "{row}");
    }
    let plain = activity(HashMap::new(), false);
    assert!(!line(&plain, "Audit log").contains("notices"), "{}", plain.join("\n"));
    assert!(line(&plain, "third-record").contains("request.create "), "{}", plain.join("\n"));
}

#[tokio::test]
async fn a_snapshot_marks_the_record_whose_notice_was_queued() {
    use jitdesk::domain::delivery::{ChannelKind, Secret, WebhookFormat};
    use jitdesk::domain::rules::{Actor, NewRequest};
    use jitdesk::engine::{AddChannel, Engine, OpenMode, SystemClock};

    let store = crate::common::Store::new();
    store.ok(&["init", "--sample"]);
    let engine =
        Engine::open(&store.path, OpenMode::Existing, std::sync::Arc::new(SystemClock)).await.expect("open");
    let kind = ChannelKind::Webhook {
        url: "https://chat.example/jit".into(),
        format: WebhookFormat::Jitdesk,
        secret: Secret("k".into()),
    };
    let alice = Actor::User("alice@contoso.com".into());
    engine.run(&alice, AddChannel { tenant: "contoso".into(), kind }).await.expect("a channel");
    let ask = NewRequest {
        app: "contoso-crm-eu".into(),
        roles: vec!["Owner".into()],
        start: None,
        duration: Period::from_hours(1),
        justification: "sync".into(),
        ticket: None,
    };
    let request = engine.run(&Actor::User("erin@fabrikam.com".into()), ask).await.expect("a request");
    let snapshot = Snapshot::load(&engine, None).await.expect("a snapshot");
    let created = snapshot
        .audit
        .iter()
        .find(|a| a.action == Action::RequestCreated && a.target == Target::Request(request.id))
        .expect("the request's record");
    assert_eq!(snapshot.outbound.get(&created.id), Some(&Outbound::Queued), "{:?}", snapshot.outbound);
    assert!(
        snapshot.audit.iter().filter(|a| a.id != created.id).all(|a| !snapshot.outbound.contains_key(&a.id))
    );
    engine.close().await.expect("close");
}
