//! Notifications that reach people, proven from the outside: the real `jitdesk serve` on a store
//! of each test's own, set up through the CLI as an operator and its users would, sending to an
//! SMTP sink and a webhook receiver the test runs on loopback. A request reaches every approver by
//! mail and the tenant by a signed webhook, with what they need to decide; a receiver that is down
//! gets it soon after it is up again; a crash between commit and send delivers once more with the
//! same key; a wrong secret is given up on at once and the admins are told; one tenant's webhook
//! never carries another's data; and escape sequences in a justification arrive as harmless text.
//!
//! Each test waits for what it expects by polling (every 50 ms, with generous patience), never by
//! asserting how long anything took.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use jitdesk::domain::AccessRequest;
use jitdesk::domain::text::sanitize;
use jitdesk::engine::OpenMode;

use crate::common::receiver::{Receiver, sign};
use crate::common::serve::Serve;
use crate::common::smtp_sink::SmtpSink;
use crate::common::*;

/// The secret contoso's webhook and its receiver share.
const SECRET: &str = "e2e-webhook-secret-5c1d";
/// How long a test waits for what should happen within moments.
const PATIENCE: Duration = Duration::from_secs(30);
/// How long a delivery leased by a service that crashed waits before it is due again (the
/// worker's lease, a minute), and then some patience.
const AFTER_A_LEASE: Duration = Duration::from_secs(120);

/// Where contoso's approvers read their mail.
const ALICE_MAIL: &str = "alice@mail.contoso.com";
const BOB_MAIL: &str = "bob@mail.contoso.com";

/// Polls `check` every 50 ms until it gives something, for up to `patience`; fails naming `what`.
fn until<T>(what: &str, patience: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "waited in vain for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The store of `directory()` served by `jitdesk serve`, whose config tries a failed send again
/// after a second.
struct Desk {
    store: Store,
    config: PathBuf,
    serve: Serve,
}

impl Desk {
    fn contoso() -> Desk {
        let store = directory();
        let config = store.dir.path().join("config");
        std::fs::create_dir_all(config.join("jitdesk")).expect("a config folder");
        std::fs::write(config.join("jitdesk").join("config.toml"), "[deliveries]\nfirst_retry = \"1s\"\n")
            .expect("write config.toml");
        let serve = Serve::start(&store, &config, false);
        Desk { store, config, serve }
    }

    /// `jitdesk serve` again on the same store and config, after the last one ended.
    fn restart(&mut self) {
        self.serve = Serve::start(&self.store, &self.config, false);
    }

    /// A private file in the store's folder holding `text`.
    fn secret_file(&self, name: &str, text: &str) -> String {
        let path = self.store.dir.path().join(name);
        std::fs::write(&path, format!("{text}\n")).expect("write a secret file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        path.display().to_string()
    }

    /// The operator points `tenant`'s notices at `receiver`, signed with `secret`.
    fn webhook(&self, tenant: &str, receiver: &Receiver, secret: &str) {
        let file = self.secret_file(&format!("{tenant}.secret"), secret);
        let out = self.store.ok(&[
            "tenant",
            "channel",
            "add",
            tenant,
            "--webhook",
            &receiver.url(),
            "--secret-file",
            &file,
        ]);
        assert!(out.starts_with("added channel"), "{out}");
    }

    /// The operator sends contoso's mail through `sink`, and its approvers give their addresses.
    fn mail(&self, sink: &SmtpSink) {
        let url = sink.url(None);
        let out = self.store.ok(&[
            "tenant",
            "channel",
            "add",
            "contoso",
            "--smtp",
            &url,
            "--from",
            "jit@contoso.com",
        ]);
        assert!(out.starts_with("added channel"), "{out}");
        for (upn, address) in [(ALICE, ALICE_MAIL), (BOB, BOB_MAIL)] {
            self.store.ok_as(upn, &["user", "set", upn, "--email", address]);
        }
    }

    /// Every delivery, as the operator sees them.
    fn deliveries(&self, args: &[&str]) -> Vec<Value> {
        let all = self.store.json(&[&["deliveries", "--json"][..], args].concat());
        all.as_array().expect("a list of deliveries").clone()
    }

    /// The deliveries once there are `n` and none is queued any more.
    fn settled(&self, n: usize, patience: Duration) -> Vec<Value> {
        until(&format!("{n} deliveries sent or given up on"), patience, || {
            let all = self.deliveries(&[]);
            (all.len() == n && all.iter().all(|d| d["state"] != "queued")).then_some(all)
        })
    }
}

/// The one delivery addressed to `to` (None: the channel's own, a webhook's).
fn delivery_to<'a>(all: &'a [Value], to: Option<&str>) -> &'a Value {
    let mine: Vec<&Value> = all.iter().filter(|d| d["to"].as_str() == to).collect();
    assert_eq!(mine.len(), 1, "one delivery to {to:?}: {all:?}");
    mine[0]
}

fn key(delivery: &Value) -> String {
    delivery["idempotencyKey"].as_str().expect("an idempotency key").to_string()
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("not a time: {value}"))
}

/// Every string in `value`, keys included.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.iter().flat_map(|(k, v)| [vec![k.clone()], strings(v)].concat()).collect(),
        _ => Vec::new(),
    }
}

/// Whether `text` holds a control character other than a line end or a tab.
fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

#[test]
fn a_request_reaches_every_approver_by_mail_and_the_tenant_by_a_signed_webhook() {
    let sink = SmtpSink::start();
    let receiver = Receiver::start(Some(SECRET));
    let desk = Desk::contoso();
    desk.mail(&sink);
    desk.webhook("contoso", &receiver, SECRET);
    let id = desk.store.create_request(DAVE, "prod", "Owner", "1h", "rotate the CRM signing keys");
    let request = desk.store.request_json(id);
    let start = time(&request["jitSchedulingPolicy"]["startTime"]);

    let all = desk.settled(3, PATIENCE);
    assert!(all.iter().all(|d| d["state"] == "sent" && d["kind"] == "to-decide"), "{all:#?}");
    let approve = format!("jitdesk request approve {id} --reason \"...\"");
    let deny = format!("jitdesk request deny {id} --reason \"...\"");

    // One mail to each approver, at their address, keyed by their delivery.
    let mails = sink.mails();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    for (upn, address) in [(ALICE, ALICE_MAIL), (BOB, BOB_MAIL)] {
        let key = key(delivery_to(&all, Some(upn)));
        let mail = mails.iter().find(|m| m.to == [address]).unwrap_or_else(|| panic!("no mail to {address}"));
        assert_eq!(mail.header("To").as_deref(), Some(address));
        assert_eq!(mail.header("Message-ID"), Some(format!("<{key}@jitdesk>")));
        let body = mail.body();
        for expected in [
            format!("Request        {id}\n"),
            format!("Requester      {DAVE}\n"),
            "Application    prod\n".to_string(),
            "Roles          Owner\n".to_string(),
            format!("Start          {}", start.format("%Y-%m-%d %H:%M")),
            "Duration       1h\n".to_string(),
            "Justification  rotate the CRM signing keys\n".to_string(),
            "Decide by      ".to_string(),
            " left)\n".to_string(),
            approve.clone(),
            deny.clone(),
        ] {
            assert!(body.replace("\r\n", "\n").contains(&expected), "{expected:?} missing from:\n{body}");
        }
    }

    // One post for the tenant, signed with the channel's secret, with the same facts.
    let posts = receiver.posts();
    assert_eq!((posts.len(), receiver.refused(), receiver.repeats()), (1, 0, 0), "{posts:#?}");
    let post = &posts[0];
    let key = key(delivery_to(&all, None));
    assert_eq!(post.header("x-jitdesk-delivery"), Some(key.clone()));
    assert_eq!(post.header("x-jitdesk-signature"), Some(sign(SECRET, &post.body)));
    let json = post.json();
    assert_eq!((json["delivery"].as_str(), json["tenant"].as_str()), (Some(key.as_str()), Some("contoso")));
    let notices = json["notices"].as_array().expect("notices");
    assert_eq!(notices.len(), 1, "{json:#}");
    let facts = &notices[0]["request"];
    assert_eq!(facts["id"], id);
    assert_eq!(facts["app"], "prod");
    assert_eq!(facts["requester"], DAVE);
    assert_eq!(facts["roles"], serde_json::json!(["Owner"]));
    assert_eq!(time(&facts["start"]), start);
    assert_eq!(facts["duration"], request["jitSchedulingPolicy"]["duration"]);
    assert_eq!(facts["justification"], "rotate the CRM signing keys");
    assert!(facts["timeLeft"].as_str().is_some_and(|left| !left.is_empty()), "{facts:#}");
    assert_eq!(notices[0]["commands"], serde_json::json!([approve, deny]), "{json:#}");
}

#[test]
fn a_receiver_that_is_down_gets_the_post_once_it_is_up_again() {
    let receiver = Receiver::start(Some(SECRET));
    receiver.set_down(true);
    let desk = Desk::contoso();
    desk.webhook("contoso", &receiver, SECRET);
    desk.store.create_request(DAVE, "prod", "Owner", "1h", "look at the logs");
    // With `first_retry = "1s"` the second attempt comes about a second after the first, not once
    // the minute the worker leased the delivery for has run out.
    let tried = until("a second failed attempt", PATIENCE, || {
        let all = desk.deliveries(&[]);
        all.iter().find(|d| d["attempts"].as_u64() >= Some(2)).cloned()
    });
    assert_eq!(tried["state"], "queued", "still tried while the receiver is down: {tried:#}");
    assert!(tried["lastError"].as_str().is_some_and(|e| !e.is_empty()), "{tried:#}");
    assert!(receiver.posts().is_empty());

    receiver.set_down(false);
    let all = desk.settled(1, PATIENCE);
    assert_eq!(all[0]["state"], "sent", "{all:#?}");
    assert!(all[0]["attempts"].as_u64() > Some(1), "{all:#?}");
    let posts = receiver.posts();
    assert_eq!((posts.len(), receiver.repeats()), (1, 0), "{posts:#?}");
    assert_eq!(posts[0].header("x-jitdesk-delivery"), Some(key(&all[0])));
}

#[test]
fn a_crash_between_commit_and_answer_delivers_once_more_with_the_same_key() {
    let receiver = Receiver::start(Some(SECRET));
    receiver.hold(true);
    let mut desk = Desk::contoso();
    desk.webhook("contoso", &receiver, SECRET);
    desk.store.create_request(DAVE, "prod", "Owner", "1h", "look at the logs");
    until("the post being held", PATIENCE, || (receiver.held() >= 1).then_some(()));
    desk.serve.kill();
    receiver.hold(false);
    let first = receiver.posts();
    assert_eq!(first.len(), 1, "{first:#?}");

    desk.restart();
    let all = desk.settled(1, AFTER_A_LEASE);
    assert_eq!(all[0]["state"], "sent", "{all:#?}");
    // The service never heard the receiver's answer, so it sent once more, with the same key: the
    // receiver dropped it as a repeat, and holds one post of it.
    let posts = receiver.posts();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert_eq!(receiver.repeats(), 1, "sent once more, with the same key");
    assert_eq!(posts[0].header("x-jitdesk-delivery"), Some(key(&all[0])));
}

#[test]
fn a_wrong_secret_is_refused_given_up_on_at_once_and_the_admins_are_told() {
    let receiver = Receiver::start(Some(SECRET));
    let desk = Desk::contoso();
    desk.webhook("contoso", &receiver, "not-the-receivers-secret");
    let id = desk.store.create_request(DAVE, "prod", "Owner", "1h", "look at the logs");
    let all = desk.settled(1, PATIENCE);
    assert_eq!(
        (all[0]["state"].as_str(), all[0]["attempts"].as_u64()),
        (Some("failed"), Some(1)),
        "{all:#?}"
    );
    assert!(all[0]["lastError"].as_str().is_some_and(|e| e.contains("401")), "{all:#?}");
    assert_eq!((receiver.refused(), receiver.posts().len()), (1, 0));

    let failed = desk.deliveries(&["--failed"]);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(key(&failed[0]), key(&all[0]));

    // Each of contoso's admins is told in the app that the notice of this request did not go.
    let told = |upn: &str| {
        let all = desk.store.json_as(upn, &["notifications", "--json"]);
        all.as_array().expect("a list of notifications").iter().any(|n| {
            n["action"] == "delivery.fail"
                && n["message"].as_str().is_some_and(|m| {
                    m.contains(&format!("request {id} "))
                        && m.contains("could not be delivered")
                        && m.contains("401")
                })
        })
    };
    assert!(told(ALICE) && told(CAROL), "the admins were not told");
    assert!(!told(BOB), "bob is no admin");
}

#[test]
fn one_tenants_webhook_never_carries_another_tenants_data() {
    const WOODGROVE: &str = "wendy@woodgrove.com";
    let contoso = Receiver::start(Some(SECRET));
    let woodgrove = Receiver::start(Some("woodgrove-secret"));
    let desk = Desk::contoso();
    let s = &desk.store;
    s.ok(&["tenant", "add", "woodgrove", "--kind", "customer", "--name", "Woodgrove Bank"]);
    s.ok(&["user", "add", WOODGROVE, "--tenant", "woodgrove", "--admin", "--name", "Wendy Woodgrove"]);
    s.ok_as(
        WOODGROVE,
        &["app", "deploy", "wg-prod", "--offer", "crm", "--approval", "manual", "--approver", WOODGROVE],
    );
    desk.webhook("contoso", &contoso, SECRET);
    desk.webhook("woodgrove", &woodgrove, "woodgrove-secret");
    let a = s.create_request(DAVE, "prod", "Owner", "1h", "contoso-only-justification");
    let b = s.create_request(ERIN, "wg-prod", "Owner", "1h", "woodgrove-only-justification");
    desk.settled(2, PATIENCE);

    for (receiver, own, other) in [
        (&contoso, ("contoso", a), ["woodgrove", WOODGROVE, "wg-prod", "woodgrove-only", ERIN]),
        (&woodgrove, ("woodgrove", b), ["contoso", ALICE, "\"prod\"", "contoso-only", DAVE]),
    ] {
        let posts = receiver.posts();
        assert_eq!((posts.len(), receiver.refused()), (1, 0), "{}: {posts:#?}", own.0);
        let body = String::from_utf8_lossy(&posts[0].body).into_owned();
        for theirs in other {
            assert!(!body.contains(theirs), "{}'s post carries {theirs:?}: {body}", own.0);
        }
        let json = posts[0].json();
        assert_eq!(json["tenant"], own.0);
        for notice in json["notices"].as_array().expect("notices") {
            assert_eq!(notice["request"]["id"], own.1, "{}'s post names another request: {json:#}", own.0);
            for command in notice["commands"].as_array().expect("commands") {
                assert!(command.as_str().is_some_and(|c| c.contains(&format!(" {} ", own.1))), "{json:#}");
            }
        }
    }
}

/// Writes `justification` into request `id` of the store at `path` as text stored before the
/// engine checked it would be (the engine refuses control characters in new text today).
fn overwrite_justification(path: &Path, id: u64, justification: &str) {
    let storage = jitdesk::store::open(path, OpenMode::Existing).expect("open the store");
    storage
        .transact(|t| {
            let old = t.request(id)?.expect("the request");
            let new = AccessRequest { justification: justification.to_string(), ..old.clone() };
            t.save_request(Some(&old), &new)
        })
        .expect("overwrite the justification");
}

#[test]
fn escape_sequences_in_a_justification_arrive_as_harmless_text_by_mail_and_webhook() {
    let hostile = "fix it \x1b[2J now \x1b]0;pwned\x07 and \u{9b}31m red";
    let sink = SmtpSink::start();
    let receiver = Receiver::start(Some(SECRET));
    sink.set_down(true);
    receiver.set_down(true);
    let mut desk = Desk::contoso();
    desk.mail(&sink);
    desk.webhook("contoso", &receiver, SECRET);
    let id = desk.store.create_request(DAVE, "prod", "Owner", "1h", "placeholder");
    until("every delivery tried once", PATIENCE, || {
        let all = desk.deliveries(&[]);
        (all.len() == 3 && all.iter().all(|d| d["attempts"].as_u64() >= Some(1))).then_some(())
    });
    assert_eq!(desk.serve.stop(), 0);
    overwrite_justification(&desk.store.path, id, hostile);
    sink.set_down(false);
    receiver.set_down(false);
    desk.restart();
    let all = desk.settled(3, PATIENCE);
    assert!(all.iter().all(|d| d["state"] == "sent"), "{all:#?}");

    let shown = sanitize(hostile).into_owned();
    assert!(!has_control(&shown), "{shown:?}");
    let mails = sink.mails();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    for mail in &mails {
        let body = mail.body();
        assert!(!has_control(&mail.data) && !has_control(&body), "{:?}", mail.data);
        assert!(body.contains(&format!("Justification  {shown}")), "{body}");
    }
    let posts = receiver.posts();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    let raw = String::from_utf8(posts[0].body.clone()).expect("UTF-8 JSON");
    assert!(!has_control(&raw) && !raw.contains("\\u00"), "{raw}");
    let json = posts[0].json();
    assert!(strings(&json).iter().all(|s| !has_control(s)), "{json:#}");
    assert_eq!(json["notices"][0]["request"]["justification"], shown.as_str());
}
