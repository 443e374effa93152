//! What a notice says once it leaves the store: a mail's subject and body, a chat message, the JSON
//! a webhook or a hook gets. The store keeps only the facts (`Notice`); every channel words them
//! here, so a mail, a chat line and a program read the same thing, and approvers get what they need
//! to decide without opening anything: who asks, for what, why, how long is left, and the exact
//! commands that decide.
//!
//! Every text that people wrote (justifications, reasons, names) is sanitized on the way out, as on
//! a screen: a receiver may print it to a terminal. No secret is ever part of a notice.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::delivery::{Notice, NoticeKind};
use super::model::{AccessRequest, Action, Notification, RequestState};
use super::period::Period;
use super::text::sanitize;
use super::time_style::TimeStyle;

/// What every subject starts with, so people can sort and filter jitdesk's mail.
const SUBJECT_PREFIX: &str = "jitdesk: ";

/// The words people read: one subject line and a plain-text body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wording {
    /// One line, sanitized.
    pub subject: String,
    /// Lines of plain text, each sanitized.
    pub text: String,
}

/// A sent notice: its words for people, and the facts behind them for programs (the JSON of a
/// webhook or a hook).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// One line: the notice's sentence, or how many notices a digest holds.
    pub subject: String,
    /// The whole notice (or each notice of a digest) in plain text.
    pub text: String,
    /// The facts of each notice, oldest first.
    pub notices: Vec<Facts>,
}

/// The facts of one notice, as JSON formats carry them; every text sanitized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// What kind of notice it is.
    pub kind: NoticeKind,
    /// The change it tells of.
    pub action: Action,
    /// When the change was made.
    #[serde(with = "super::stamp")]
    pub at: DateTime<Utc>,
    /// Who made it.
    pub actor: String,
    /// The application it concerns, if any.
    pub app: Option<String>,
    /// The reason given with the change, if any.
    pub reason: Option<String>,
    /// The request it names, as it was when the notice was sent.
    pub request: Option<RequestFacts>,
    /// Its words for people.
    pub message: Wording,
    /// The labelled lines of its text (`Justification`, the text), for formats that lay them out
    /// themselves; JSON has the facts themselves.
    #[serde(skip)]
    pub details: Vec<(String, String)>,
    /// The exact commands that decide the request, while it waits for a decision.
    pub commands: Vec<String>,
}

/// What a notice tells of its request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestFacts {
    /// The request's id, which the commands name.
    pub id: u64,
    /// The application access is asked to.
    pub app: String,
    /// Who asks.
    pub requester: String,
    /// The roles asked for.
    pub roles: Vec<String>,
    /// The start asked for.
    #[serde(with = "super::stamp")]
    pub start: DateTime<Utc>,
    /// How long access lasts once granted, in ISO 8601.
    pub duration: Period,
    /// Why the requester needs access.
    pub justification: String,
    /// The ticket the requester named, if any.
    pub ticket: Option<String>,
    /// Where the request stands.
    pub state: RequestState,
    /// Past this, an undecided request times out.
    #[serde(with = "super::stamp")]
    pub decide_by: DateTime<Utc>,
    /// The time left to decide (`2h 13m`), while the request waits for a decision.
    pub time_left: Option<String>,
    /// Who decided, when and why, once decided.
    pub decision: Option<DecisionFacts>,
}

/// Who decided a request, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionFacts {
    /// Approved or denied.
    pub state: RequestState,
    /// Who decided.
    pub by: String,
    /// When.
    #[serde(with = "super::stamp")]
    pub at: DateTime<Utc>,
    /// Why, in their words.
    pub reason: String,
}

fn clean(text: &str) -> String {
    sanitize(text).into_owned()
}

impl Message {
    /// The words and facts of one notice, at `now`, its times in `times`, with the SSH door's
    /// public `host:port` (`ssh`) to quote in its commands when there is one.
    pub fn of(notice: &Notice, now: DateTime<Utc>, times: &TimeStyle, ssh: Option<&str>) -> Message {
        let facts = Facts::of(notice, now, times, ssh);
        Message {
            subject: facts.message.subject.clone(),
            text: facts.message.text.clone(),
            notices: vec![facts],
        }
    }

    /// One message for several notices (a user's digest), oldest first; each is worded as `of`
    /// words it alone.
    pub fn digest(notices: &[Notice], now: DateTime<Utc>, times: &TimeStyle, ssh: Option<&str>) -> Message {
        let facts: Vec<Facts> = notices.iter().map(|n| Facts::of(n, now, times, ssh)).collect();
        if let [one] = &facts[..] {
            return Message {
                subject: one.message.subject.clone(),
                text: one.message.text.clone(),
                notices: facts,
            };
        }
        let subject = format!("{SUBJECT_PREFIX}{} notices", facts.len());
        let mut text = format!("{} notices, oldest first:\n", facts.len());
        for f in &facts {
            text.push_str(&format!("- {}\n", f.message.subject.trim_start_matches(SUBJECT_PREFIX)));
        }
        for f in &facts {
            text.push_str(&format!("\n--- {}\n{}", times.full(f.at), f.message.text));
        }
        Message { subject, text, notices: facts }
    }
}

impl Facts {
    fn of(notice: &Notice, now: DateTime<Utc>, times: &TimeStyle, ssh: Option<&str>) -> Facts {
        let record = &notice.record;
        let sentence = Notification::of("", record, notice.request.as_ref()).message;
        let sentence = clean(&sentence);
        let reason = record.reason.as_deref().map(clean);
        let waiting = notice.request.as_ref().is_some_and(|r| {
            notice.kind == NoticeKind::ToDecide && r.state == RequestState::Pending && r.decide_by > now
        });
        // An extension waits as a request does, on a grant still approved.
        let extension_waiting = record.action == Action::ExtensionAsked
            && notice.request.as_ref().is_some_and(|r| {
                r.state == RequestState::Approved
                    && r.pending_extension().is_some_and(|(_, e)| e.decide_by > now)
            });
        let commands = match (&notice.request, waiting, extension_waiting) {
            (Some(r), true, _) => commands("request", r.id, ssh),
            (Some(r), _, true) => commands("request extension", r.id, ssh),
            _ => Vec::new(),
        };
        let request = notice.request.as_ref().map(|r| RequestFacts::of(r, now, waiting));

        let mut details: Vec<(String, String)> = Vec::new();
        let mut line = |label: &str, value: &str| details.push((label.to_string(), value.to_string()));
        match &request {
            Some(r) => {
                line("Request", &r.id.to_string());
                line("Application", &r.app);
                line("Requester", &r.requester);
                line("Roles", &r.roles.join(", "));
                line("Start", &times.full(r.start));
                line("Duration", &r.duration.to_string());
                line("Justification", &r.justification);
                if let Some(ticket) = &r.ticket {
                    line("Ticket", ticket);
                }
                line("State", r.state.name());
                for v in notice.request.iter().flat_map(|r| &r.approvals) {
                    let given = format!("{} at {}: {}", clean(&v.by), times.full(v.at), clean(&v.reason));
                    line("Approved by", &given);
                }
                if let Some(left) = &r.time_left {
                    line("Decide by", &format!("{} ({left} left)", times.full(r.decide_by)));
                }
                if let Some(d) = &r.decision {
                    let verb = if d.state == RequestState::Denied { "denied" } else { "approved" };
                    line("Decision", &format!("{verb} by {} at {}: {}", d.by, times.full(d.at), d.reason));
                }
            }
            None => {
                if let Some(app) = &record.app {
                    line("Application", &clean(app));
                }
                line("By", &clean(&record.actor));
                for (label, value) in [("Before", &record.before), ("After", &record.after)] {
                    if let Some(value) = value {
                        line(label, &clean(value));
                    }
                }
            }
        }
        if let Some(reason) = &reason {
            line("Reason", reason);
        }
        line("At", &times.full(record.at));
        let mut text = format!("{sentence}\n\n");
        for (label, value) in &details {
            text.push_str(&format!("{label:<15}{value}\n"));
        }
        if let Some(r) = &request
            && !commands.is_empty()
        {
            let what = if extension_waiting { "the extension of request" } else { "request" };
            text.push_str(&format!("\nTo approve or deny {what} {}, run one of:\n", r.id));
            for command in &commands {
                text.push_str(&format!("  {command}\n"));
            }
        }

        Facts {
            kind: notice.kind,
            action: record.action,
            at: record.at,
            actor: clean(&record.actor),
            app: record.app.as_deref().map(clean),
            reason,
            request,
            message: Wording { subject: format!("{SUBJECT_PREFIX}{sentence}"), text },
            details,
            commands,
        }
    }
}

impl RequestFacts {
    fn of(r: &AccessRequest, now: DateTime<Utc>, waiting: bool) -> RequestFacts {
        RequestFacts {
            id: r.id,
            app: clean(&r.app),
            requester: clean(&r.requester),
            roles: r.roles.iter().map(|role| clean(role)).collect(),
            start: r.start,
            duration: r.duration,
            justification: clean(&r.justification),
            ticket: r.ticket.as_deref().map(clean),
            state: r.state,
            decide_by: r.decide_by,
            time_left: waiting.then(|| Period::from_secs((r.decide_by - now).num_seconds()).to_string()),
            decision: r.decision.as_ref().map(|v| DecisionFacts {
                // A decided request ends approved or denied; what came after (expiry, revocation)
                // does not change which.
                state: if r.state == RequestState::Denied {
                    RequestState::Denied
                } else {
                    RequestState::Approved
                },
                by: clean(&v.by),
                at: v.at,
                reason: clean(&v.reason),
            }),
        }
    }
}

/// The commands that approve and deny request `id` (or its extension: `command` is the CLI's
/// words before the verb), the CLI's, and the SSH door's when its public `host:port` is known.
/// The reason is left for the approver to write.
fn commands(command: &str, id: u64, ssh: Option<&str>) -> Vec<String> {
    let ssh = ssh.map(|address| {
        let address = clean(address.trim());
        match address.rsplit_once(':') {
            Some((host, port)) if port.parse::<u16>().is_ok() && !host.is_empty() => {
                let host = host.trim_start_matches('[').trim_end_matches(']');
                format!("ssh -p {port} {host}")
            }
            _ => format!("ssh {address}"),
        }
    });
    let mut all = Vec::new();
    for verb in ["approve", "deny"] {
        let args = format!("{command} {verb} {id} --reason \"...\"");
        all.push(format!("jitdesk {args}"));
        if let Some(ssh) = &ssh {
            all.push(format!("{ssh} {args}"));
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::domain::model::tests::request;
    use crate::domain::model::{AuditRecord, Target, Verdict};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap()
    }

    fn record(action: Action, actor: &str, reason: Option<&str>) -> AuditRecord {
        AuditRecord {
            id: 42,
            at: t0(),
            actor: actor.into(),
            action,
            target: Target::Request(1),
            app: Some("a".into()),
            reason: reason.map(Into::into),
            before: None,
            after: None,
        }
    }

    fn to_decide(justification: &str) -> Notice {
        let r = AccessRequest {
            decision: None,
            justification: justification.into(),
            ticket: Some("INC-7".into()),
            ..request(RequestState::Pending, None)
        };
        Notice {
            kind: NoticeKind::ToDecide,
            record: record(Action::RequestCreated, "p@x.com", None),
            request: Some(r),
        }
    }

    #[test]
    fn a_request_to_decide_says_everything_an_approver_needs_and_how_long_is_left() {
        // decide_by is t0 + 24h; 21h 47m later, 2h 13m (and 20 s) are left.
        let now = t0() + TimeDelta::hours(21) + TimeDelta::minutes(46) + TimeDelta::seconds(40);
        let m = Message::of(&to_decide("fix the outage"), now, &TimeStyle::utc(), None);
        assert_eq!(m.subject, format!("jitdesk: p@x.com asks for Owner on a for {}", Period::from_hours(2)));
        for expected in [
            "Requester      p@x.com\n",
            "Roles          Owner\n",
            "Application    a\n",
            "Start          2026-11-26 10:00 UTC\n",
            "Duration       2h\n",
            "Justification  fix the outage\n",
            "Ticket         INC-7\n",
            "Decide by      2026-11-27 10:00 UTC (2h 13m left)\n",
            "  jitdesk request approve 1 --reason \"...\"\n",
            "  jitdesk request deny 1 --reason \"...\"\n",
        ] {
            assert!(m.text.contains(expected), "{expected:?} missing from:\n{}", m.text);
        }
        assert!(!m.text.contains("ssh"), "{}", m.text);
        let facts = &m.notices[0];
        assert_eq!(facts.request.as_ref().unwrap().time_left.as_deref(), Some("2h 13m"));
        assert_eq!(facts.commands.len(), 2);
    }

    #[test]
    fn the_ssh_door_is_quoted_when_its_address_is_known() {
        let m = Message::of(&to_decide("j"), t0(), &TimeStyle::utc(), Some("jit.example.com:2222"));
        assert_eq!(
            m.notices[0].commands,
            [
                "jitdesk request approve 1 --reason \"...\"",
                "ssh -p 2222 jit.example.com request approve 1 --reason \"...\"",
                "jitdesk request deny 1 --reason \"...\"",
                "ssh -p 2222 jit.example.com request deny 1 --reason \"...\"",
            ]
        );
        let v6 = Message::of(&to_decide("j"), t0(), &TimeStyle::utc(), Some("[::1]:22"));
        assert_eq!(v6.notices[0].commands[1], "ssh -p 22 ::1 request approve 1 --reason \"...\"");
    }

    #[test]
    fn a_request_no_longer_waiting_gets_no_commands() {
        let mut notice = to_decide("j");
        let late = t0() + TimeDelta::hours(25);
        let m = Message::of(&notice, late, &TimeStyle::utc(), None);
        assert!(m.notices[0].commands.is_empty() && !m.text.contains("Decide by"), "{}", m.text);
        notice.request.as_mut().unwrap().state = RequestState::Approved;
        let m = Message::of(&notice, t0(), &TimeStyle::utc(), None);
        assert!(m.notices[0].commands.is_empty() && !m.text.contains("jitdesk request"), "{}", m.text);
    }

    #[test]
    fn an_extension_to_decide_quotes_the_commands_that_decide_it_while_it_waits() {
        let asked = Verdict { by: "p@x.com".into(), at: t0(), reason: "not done yet".into() };
        let r = AccessRequest {
            extensions: vec![crate::domain::model::Extension {
                by: Period::from_hours(1),
                asked,
                decide_by: t0() + TimeDelta::hours(1),
                state: crate::domain::model::ExtensionState::Pending,
                approvals: Vec::new(),
                decision: None,
            }],
            ..request(RequestState::Approved, Some(t0()))
        };
        let notice = Notice {
            kind: NoticeKind::ToDecide,
            record: AuditRecord {
                after: Some(crate::domain::extension::describe(0, &r.extensions[0])),
                ..record(Action::ExtensionAsked, "p@x.com", Some("not done yet"))
            },
            request: Some(r),
        };
        let m = Message::of(&notice, t0(), &TimeStyle::utc(), None);
        assert_eq!(m.subject, "jitdesk: p@x.com asks for 1h more on request 1 on a: not done yet");
        assert!(m.text.contains("To approve or deny the extension of request 1, run one of:"), "{}", m.text);
        assert_eq!(
            m.notices[0].commands,
            [
                "jitdesk request extension approve 1 --reason \"...\"",
                "jitdesk request extension deny 1 --reason \"...\""
            ]
        );
        let late = Message::of(&notice, t0() + TimeDelta::hours(1), &TimeStyle::utc(), None);
        assert!(late.notices[0].commands.is_empty(), "a lapsed extension is not decided any more");
    }

    #[test]
    fn a_decision_tells_who_decided_and_why_in_the_readers_zone() {
        let r = AccessRequest {
            decision: Some(Verdict { by: "a@x.com".into(), at: t0(), reason: "looks fine".into() }),
            ..request(RequestState::Denied, None)
        };
        let notice = Notice {
            kind: NoticeKind::Decided,
            record: record(Action::RequestDenied, "a@x.com", Some("looks fine")),
            request: Some(r),
        };
        let india = TimeStyle::in_zone(jiff::tz::TimeZone::get("Asia/Kolkata").unwrap());
        let m = Message::of(&notice, t0(), &india, None);
        assert_eq!(m.subject, "jitdesk: request 1 on a denied by a@x.com: looks fine");
        assert!(
            m.text.contains("Decision       denied by a@x.com at 2026-11-26 15:30 IST: looks fine\n"),
            "{}",
            m.text
        );
        assert!(m.text.contains("State          Denied\n"), "{}", m.text);
        assert!(m.notices[0].commands.is_empty());
        let decision = m.notices[0].request.as_ref().unwrap().decision.as_ref().unwrap();
        assert_eq!((decision.state, decision.reason.as_str()), (RequestState::Denied, "looks fine"));
    }

    #[test]
    fn an_approval_of_several_says_how_far_and_lists_who_approved() {
        let given = Verdict { by: "a@x.com".into(), at: t0(), reason: "fine\u{1b}[2J by me".into() };
        let r = AccessRequest { approvals: vec![given], ..request(RequestState::Pending, None) };
        let notice = Notice {
            kind: NoticeKind::Approval,
            record: AuditRecord {
                after: Some("1 of 2 approvals".into()),
                ..record(Action::ApprovalGiven, "a@x.com", Some("fine by me"))
            },
            request: Some(r),
        };
        let m = Message::of(&notice, t0(), &TimeStyle::utc(), None);
        assert_eq!(m.subject, "jitdesk: a@x.com approved request 1 on a: fine by me (1 of 2 approvals)");
        assert!(m.text.contains("Approved by    a@x.com at "), "{}", m.text);
        assert!(!m.text.contains('\u{1b}'), "{}", m.text);
        assert!(m.notices[0].commands.is_empty(), "the requester hears of it too: no commands to decide");
    }

    #[test]
    fn every_other_kind_reads_as_its_notification_with_the_request_and_no_commands() {
        let approved = request(RequestState::Approved, Some(t0()));
        for (kind, action, state, reason) in [
            (NoticeKind::Started, Action::AccessStarted, RequestState::Approved, None),
            (NoticeKind::Ended, Action::AccessExpired, RequestState::Expired, None),
            (NoticeKind::Revoked, Action::AccessRevoked, RequestState::Revoked, Some("done early")),
            (NoticeKind::Canceled, Action::RequestCanceled, RequestState::Canceled, None),
            (NoticeKind::TimedOut, Action::RequestTimedOut, RequestState::Timeout, None),
        ] {
            let r = AccessRequest { state, ..approved.clone() };
            let record = record(action, "a@x.com", reason);
            let sentence = Notification::of("p@x.com", &record, Some(&r)).message;
            let notice = Notice { kind, record, request: Some(r) };
            let m = Message::of(&notice, t0(), &TimeStyle::utc(), Some("h:22"));
            assert_eq!(m.subject, format!("jitdesk: {sentence}"), "{kind}");
            assert!(m.text.starts_with(&format!("{sentence}\n\nRequest        1\n")), "{kind}: {}", m.text);
            assert!(m.text.contains(&format!("State          {}\n", state.name())), "{kind}: {}", m.text);
            assert!(m.notices[0].commands.is_empty() && !m.text.contains("ssh"), "{kind}: {}", m.text);
            if let Some(reason) = reason {
                assert!(m.text.contains(&format!("Reason         {reason}\n")), "{kind}: {}", m.text);
            }
        }
    }

    #[test]
    fn a_change_to_no_request_is_told_as_its_notification_words_it() {
        let notice = Notice {
            kind: NoticeKind::PolicyChanged,
            record: AuditRecord {
                target: Target::App("a".into()),
                before: Some("manual, max 8h".into()),
                after: Some("auto, max 4h".into()),
                ..record(Action::PolicyChanged, "c@x.com", None)
            },
            request: None,
        };
        let m = Message::of(&notice, t0(), &TimeStyle::utc(), None);
        assert_eq!(
            m.subject,
            "jitdesk: JIT settings of a changed by c@x.com: auto, max 4h (was manual, max 8h)"
        );
        assert!(
            m.text.contains("Before         manual, max 8h\nAfter          auto, max 4h\n"),
            "{}",
            m.text
        );
        assert!(m.notices[0].request.is_none());
    }

    #[test]
    fn text_from_people_is_sanitized_everywhere_it_appears() {
        let mut notice = to_decide("wipe \x1b[2J\x07 now\u{202E}");
        notice.record.reason = Some("r\r\nInjected: yes".into());
        let m = Message::of(&notice, t0(), &TimeStyle::utc(), None);
        let json = serde_json::to_string(&m.notices).unwrap();
        for text in [&m.subject, &m.text, &json] {
            assert!(!text.contains('\x1b') && !text.contains('\x07') && !text.contains('\u{202E}'), "{text}");
            assert!(!text.contains("\\u001b"), "{text}");
        }
        assert!(m.text.contains("wipe ␛[2J␇ now�"), "{}", m.text);
        assert!(m.text.contains("Reason         r␍␊Injected: yes\n"), "{}", m.text);
        assert!(!m.subject.contains('\n'));
    }

    #[test]
    fn a_digest_lists_each_notice_then_tells_each_in_full() {
        let first = to_decide("first");
        let mut second = to_decide("second");
        second.record.id = 43;
        second.request.as_mut().unwrap().id = 2;
        let m = Message::digest(&[first, second], t0(), &TimeStyle::utc(), None);
        assert_eq!(m.subject, "jitdesk: 2 notices");
        assert_eq!(m.notices.len(), 2);
        assert!(m.text.starts_with("2 notices, oldest first:\n- p@x.com asks for Owner on a"), "{}", m.text);
        let at_first = m.text.find("Justification  first").unwrap();
        let at_second = m.text.find("Justification  second").unwrap();
        assert!(at_first < at_second, "{}", m.text);
        assert!(m.text.contains("jitdesk request approve 2 --reason"), "{}", m.text);
        // A digest of one reads as the notice alone.
        let one = Message::digest(&[to_decide("x")], t0(), &TimeStyle::utc(), None);
        assert_eq!(one, Message::of(&to_decide("x"), t0(), &TimeStyle::utc(), None));
    }
}
