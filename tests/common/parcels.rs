//! Notices and parcels made by hand, for tests that drive the couriers (`jitdesk::notify`) without
//! an engine: a request waiting for a decision, at a fixed time, on a clock the test holds.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use jitdesk::domain::Period;
use jitdesk::domain::delivery::{ChannelKind, Notice, NoticeKind};
use jitdesk::domain::model::{AccessRequest, Action, AuditRecord, RequestState, Target};
use jitdesk::domain::time_style::TimeStyle;
use jitdesk::engine::ManualClock;
use jitdesk::engine::outbox::{Parcel, Recipient};
use jitdesk::notify::Couriers;

/// When the request was made.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap()
}

/// When the couriers send: 2h 13m before the request's decide-by.
pub fn sent_at() -> DateTime<Utc> {
    t0() + TimeDelta::hours(1) + TimeDelta::minutes(47)
}

/// Request 12 by DAVE on `prod` for Owner, 2h, waiting for a decision until t0 + 4h.
pub fn to_decide(justification: &str) -> Notice {
    let request = AccessRequest {
        id: 12,
        app: "prod".into(),
        requester: super::DAVE.into(),
        roles: vec!["Owner".into()],
        start: t0(),
        duration: Period::from_hours(2),
        justification: justification.into(),
        ticket: None,
        created_at: t0(),
        decide_by: t0() + TimeDelta::hours(4),
        state: RequestState::Pending,
        decision: None,
        granted_from: None,
        closed: None,
        started: false,
        approvals: Vec::new(),
        extensions: Vec::new(),
        arm: None,
        tags: Default::default(),
    };
    Notice {
        kind: NoticeKind::ToDecide,
        record: AuditRecord {
            id: 40,
            at: t0(),
            actor: super::DAVE.into(),
            action: Action::RequestCreated,
            target: Target::Request(12),
            app: Some("prod".into()),
            reason: None,
            before: None,
            after: Some("Pending".into()),
        },
        request: Some(request),
    }
}

/// One notice over `channel` for contoso, to ALICE when `mail`.
pub fn parcel(channel: ChannelKind, notice: Notice, mail: bool) -> Parcel {
    Parcel {
        key: "jitdesk-40-7".into(),
        channel,
        tenant: "contoso".into(),
        restricted: false,
        to: mail.then(|| Recipient { upn: super::ALICE.into(), email: "alice@mail.contoso.com".into() }),
        notices: vec![notice],
    }
}

/// Couriers on a clock stopped at `sent_at`, times in UTC, the SSH door at jit.example.com:2222.
pub fn couriers() -> Couriers {
    Couriers::new(
        Arc::new(ManualClock::new(sent_at())),
        TimeStyle::utc(),
        Some("jit.example.com:2222".into()),
    )
}

/// An executable shell script at `dir/name`. Another process writes it, so no file descriptor of
/// this one is open on it for writing when a test runs it (a thread forking then would make the
/// exec fail with ETXTBSY).
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let mut writer = Command::new("sh")
        .arg("-c")
        .arg("cat > \"$0\" && chmod 755 \"$0\"")
        .arg(&path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run sh");
    writer.stdin.take().unwrap().write_all(format!("#!/bin/sh\n{body}\n").as_bytes()).unwrap();
    assert!(writer.wait().unwrap().success());
    path
}

/// The justification of the sanitizing tests: a screen clear, a bell, a carriage return and a
/// direction override.
pub const HOSTILE: &str = "fix it \x1b[2J\x07\r now\u{202E}";

/// What HOSTILE reads as once sanitized.
pub const HOSTILE_SHOWN: &str = "fix it ␛[2J␇␍ now�";

/// Whether `text` holds none of HOSTILE's dangerous characters.
pub fn harmless(text: &str) -> bool {
    !text.contains(['\x1b', '\x07', '\r', '\u{202E}']) && !text.contains("\\u001b")
}
