//! Mail as a mail server sees it: to the user's address, from the channel's sender, with the
//! delivery's key as Message-ID, the notice's subject and text, people's text sanitized; through
//! SMTP (logging in when the URL names a user) or a sendmail program.

use jitdesk::domain::delivery::{ChannelKind, MailRelay, Secret};
use jitdesk::engine::outbox::Courier;

use crate::common::parcels::{HOSTILE, HOSTILE_SHOWN, couriers, harmless, parcel, script, to_decide};
use crate::common::smtp_sink::SmtpSink;

fn smtp(url: String, password: Option<&str>) -> ChannelKind {
    ChannelKind::Mail(MailRelay::Smtp {
        url,
        password: password.map(|p| Secret(p.into())),
        from: "jitdesk@contoso.com".into(),
    })
}

#[tokio::test]
async fn a_notice_arrives_by_smtp_with_its_key_subject_and_text() {
    let sink = SmtpSink::start();
    couriers()
        .send(&parcel(smtp(sink.url(None), None), to_decide("fix the outage"), true))
        .await
        .expect("sent");
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(
        (mail.from.as_str(), mail.to.as_slice()),
        ("jitdesk@contoso.com", &["alice@mail.contoso.com".to_string()][..])
    );
    assert_eq!(mail.auth, None);
    assert_eq!(mail.header("Message-ID").as_deref(), Some("<jitdesk-40-7@jitdesk>"));
    assert_eq!(mail.header("To").as_deref(), Some("alice@mail.contoso.com"));
    assert_eq!(mail.header("From").as_deref(), Some("jitdesk@contoso.com"));
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("jitdesk: dave@fabrikam.com asks for Owner on prod for 2h")
    );
    let body = mail.body();
    for expected in [
        "Justification  fix the outage",
        "Decide by      2026-11-28 13:00 UTC (2h 13m left)",
        "jitdesk request approve 12 --reason \"...\"",
        "ssh -p 2222 jit.example.com request deny 12 --reason \"...\"",
    ] {
        assert!(body.contains(expected), "{expected:?} missing from:\n{body}");
    }
}

#[tokio::test]
async fn the_urls_user_logs_in_with_the_password() {
    let sink = SmtpSink::start();
    let url = sink.url(Some("alerts%40contoso.com"));
    couriers().send(&parcel(smtp(url, Some("pa55")), to_decide("j"), true)).await.expect("sent");
    assert_eq!(sink.mails()[0].auth.as_deref(), Some("alerts@contoso.com:pa55"));
}

#[tokio::test]
async fn a_bad_address_fails_for_good_and_an_absent_server_is_tried_again() {
    let sink = SmtpSink::start();
    let mut p = parcel(smtp(sink.url(None), None), to_decide("j"), true);
    p.to.as_mut().unwrap().email = "not an address".into();
    let failed = couriers().send(&p).await.expect_err("a bad address");
    assert!(failed.permanent && failed.reason.contains("is not a mail address"), "{failed:?}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let p = parcel(smtp(format!("smtp://u@127.0.0.1:{port}"), Some("hunter2")), to_decide("j"), true);
    let failed = couriers().send(&p).await.expect_err("nobody there");
    assert!(!failed.permanent && failed.reason.contains(&format!("127.0.0.1:{port}")), "{failed:?}");
    assert!(!failed.reason.contains("hunter2"), "{}", failed.reason);
    assert!(sink.mails().is_empty());
}

#[tokio::test]
async fn a_channel_a_tenant_admin_added_never_reaches_a_server_on_this_machine() {
    let sink = SmtpSink::start();
    let mut p = parcel(smtp(sink.url(None), None), to_decide("j"), true);
    p.restricted = true;
    let refused = couriers().send(&p).await.expect_err("an internal address");
    assert!(refused.permanent, "{refused:?}");
    assert!(refused.reason.contains("resolves to a private address"), "{}", refused.reason);
    assert!(sink.mails().is_empty());
    p.restricted = false;
    couriers().send(&p).await.expect("the operator's channel reaches it");
    assert_eq!(sink.mails().len(), 1);
}

#[tokio::test]
async fn sendmail_gets_the_message_on_stdin_and_the_recipient_after_its_options() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let program =
        script(dir.path(), "sendmail", &format!("echo \"$@\" > {0}.args; cat > {0}.mail", out.display()));
    let channel = ChannelKind::Mail(MailRelay::Sendmail {
        program: program.display().to_string(),
        from: "jitdesk@contoso.com".into(),
    });
    couriers().send(&parcel(channel, to_decide("fix the outage"), true)).await.expect("sent");
    let args = std::fs::read_to_string(dir.path().join("out.args")).unwrap();
    assert_eq!(args.trim(), "-i -f jitdesk@contoso.com -- alice@mail.contoso.com");
    let mail = std::fs::read_to_string(dir.path().join("out.mail")).unwrap();
    assert!(mail.contains("Message-ID: <jitdesk-40-7@jitdesk>\r\n"), "{mail}");
    assert!(mail.contains("Justification  fix the outage"), "{mail}");
}

#[tokio::test]
async fn control_characters_in_a_justification_arrive_sanitized_by_mail() {
    let sink = SmtpSink::start();
    couriers().send(&parcel(smtp(sink.url(None), None), to_decide(HOSTILE), true)).await.expect("sent");
    let body = sink.mails()[0].body().replace("\r\n", "\n");
    assert!(harmless(&body), "{body}");
    assert!(body.contains(HOSTILE_SHOWN), "{body}");
}

#[tokio::test]
async fn a_server_reached_by_a_name_other_than_loopback_must_offer_starttls() {
    use std::net::ToSocketAddrs;
    let sink = SmtpSink::start();
    // This machine's name, when it resolves to the sink's address, is a host the rule does not
    // take for loopback: the sink offers no STARTTLS, so nothing may be sent.
    let name = std::fs::read_to_string("/etc/hostname").unwrap_or_default().trim().to_string();
    let reaches_sink =
        (name.as_str(), sink.addr.port()).to_socket_addrs().is_ok_and(|mut a| a.any(|a| a == sink.addr));
    if name.is_empty() || name == "localhost" || !reaches_sink {
        eprintln!("skipped: this machine's name does not resolve to 127.0.0.1");
        return;
    }
    let url = format!("smtp://u@{name}:{}", sink.addr.port());
    let failed =
        couriers().send(&parcel(smtp(url, Some("hunter2")), to_decide("j"), true)).await.expect_err("plain");
    assert!(failed.reason.contains("does not offer STARTTLS"), "{failed:?}");
    assert!(!failed.reason.contains("hunter2"), "{}", failed.reason);
    assert!(sink.mails().is_empty());
}
