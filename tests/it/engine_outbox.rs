//! The outbox through the engine: who may add and remove a tenant's channels and change a user's
//! contact, what each may see of channels, contacts and deliveries, and what a change queues in
//! the transaction that records it (a mail to each notified user over their tenant's mail channel,
//! one delivery per webhook or hook channel of their tenant).

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use jitdesk::domain::delivery::{
    ChannelKind, ContactChange, Delivery, DeliveryFilter, DeliveryState, MailRelay, NoticeKind, Secret,
    WebhookFormat,
};
use jitdesk::domain::rules::{Actor, NewRequest, NewUser};
use jitdesk::domain::{Action, ErrorKind, Paging, Period};
use jitdesk::engine::{AddChannel, Clock, Engine, ManualClock, OpenMode, RemoveChannel, SetContact, Viewer};

pub(crate) async fn sample() -> (tempfile::TempDir, Engine, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let now = Utc::now();
    jitdesk::sample::create_at(&path, 0, now).await.unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let engine = Engine::open(&path, OpenMode::Existing, clock.clone()).await.unwrap();
    (dir, engine, clock)
}

pub(crate) fn user(upn: &str) -> Actor {
    Actor::User(upn.into())
}

pub(crate) fn operator() -> Actor {
    Actor::Operator("root".into())
}

fn kind<T: std::fmt::Debug>(result: jitdesk::Result<T>) -> ErrorKind {
    result.expect_err("refused").kind().expect("a rule's refusal")
}

pub(crate) fn webhook(url: &str) -> ChannelKind {
    ChannelKind::Webhook {
        url: url.into(),
        format: WebhookFormat::Slack,
        secret: Secret("s3cret-key".into()),
    }
}

pub(crate) fn smtp() -> ChannelKind {
    ChannelKind::Mail(MailRelay::Smtp {
        url: "smtp://jit@mail.contoso.com:587".into(),
        password: Some(Secret("mail-pass".into())),
        from: "jit@contoso.com".into(),
    })
}

pub(crate) fn email(address: &str) -> ContactChange {
    ContactChange { email: Some(Some(address.into())), ..ContactChange::default() }
}

/// A publisher's user with no request yet.
pub(crate) const FRANK: &str = "frank@fabrikam.com";

/// Contoso with a mail channel and a webhook, Fabrikam with a webhook, and Contoso's approvers
/// of contoso-crm (Alice, Bob) with addresses. The channels' ids: mail, Contoso's webhook,
/// Fabrikam's webhook.
pub(crate) async fn channels(engine: &Engine) -> (u64, u64, u64) {
    let add = |tenant: &str, kind| AddChannel { tenant: tenant.into(), kind };
    let mail = engine.run(&operator(), add("contoso", smtp())).await.unwrap().id;
    let contoso =
        engine.run(&user("alice@contoso.com"), add("contoso", webhook("https://chat.contoso.com/h"))).await;
    let fabrikam = engine.run(&operator(), add("fabrikam", webhook("https://chat.fabrikam.com/h"))).await;
    for upn in ["alice@contoso.com", "bob@contoso.com"] {
        engine.run(&user(upn), SetContact { upn: upn.into(), change: email(upn) }).await.unwrap();
    }
    let frank = NewUser {
        upn: FRANK.into(),
        tenant: "fabrikam".into(),
        name: None,
        admin: false,
        login: None,
        object_id: None,
    };
    engine.run(&operator(), frank).await.unwrap();
    (mail, contoso.unwrap().id, fabrikam.unwrap().id)
}

pub(crate) fn ask(app: &str) -> NewRequest {
    NewRequest {
        app: app.into(),
        roles: vec!["Reader".into()],
        start: None,
        duration: Period::from_hours(1),
        justification: "INC-7: look at the sign-in logs".into(),
        ticket: None,
    }
}

pub(crate) async fn all(engine: &Engine, viewer: &Viewer) -> Vec<Delivery> {
    engine.deliveries(viewer, DeliveryFilter::default(), &Paging::first(1000)).await.unwrap().items
}

#[tokio::test]
async fn a_request_queues_a_mail_per_approver_and_one_delivery_for_their_tenants_webhook() {
    let (_dir, engine, clock) = sample().await;
    let (mail, contoso, _fabrikam) = channels(&engine).await;
    let request = engine.run(&user(FRANK), ask("contoso-crm")).await.unwrap();
    let queued = all(&engine, &Viewer::Operator).await;
    let mut mails: Vec<(u64, Option<String>)> = queued.iter().map(|d| (d.channel, d.to.clone())).collect();
    mails.sort();
    assert_eq!(
        mails,
        [
            (mail, Some("alice@contoso.com".to_string())),
            (mail, Some("bob@contoso.com".to_string())),
            (contoso, None),
        ],
        "two mails, one webhook delivery for Contoso's channel, none for Fabrikam's"
    );
    for d in &queued {
        assert_eq!(
            (d.kind, d.state, d.attempts, d.tenant.as_str()),
            (NoticeKind::ToDecide, DeliveryState::Queued, 0, "contoso")
        );
        assert_eq!(d.next_at, clock.now(), "sent at once");
        let record = engine.audit(&Viewer::Operator, Paging::first(1)).await.unwrap().items.remove(0);
        assert_eq!((d.audit, record.action), (record.id, Action::RequestCreated));
        assert_eq!(record.target, jitdesk::domain::Target::Request(request.id));
    }
}

#[tokio::test]
async fn a_muted_kind_queues_no_mail_and_a_digest_waits_for_its_time() {
    let (_dir, engine, clock) = sample().await;
    let (mail, _, _) = channels(&engine).await;
    let mute = ContactChange { mute: vec![NoticeKind::ToDecide], ..ContactChange::default() };
    engine
        .run(&user("bob@contoso.com"), SetContact { upn: "bob@contoso.com".into(), change: mute })
        .await
        .unwrap();
    let digest = ContactChange { digest_minutes: Some(Some(30)), ..ContactChange::default() };
    engine
        .run(&user("alice@contoso.com"), SetContact { upn: "alice@contoso.com".into(), change: digest })
        .await
        .unwrap();
    engine.run(&user(FRANK), ask("contoso-crm")).await.unwrap();
    clock.advance(TimeDelta::minutes(10));
    engine.run(&user(FRANK), ask("contoso-crm-dev")).await.unwrap();
    let mails: Vec<Delivery> =
        all(&engine, &Viewer::Operator).await.into_iter().filter(|d| d.channel == mail).collect();
    assert!(mails.iter().all(|d| d.to.as_deref() == Some("alice@contoso.com")), "Bob muted it: {mails:?}");
    let first = mails.last().expect("Alice's mail");
    assert_eq!(first.next_at, first.queued + TimeDelta::minutes(30), "her digest goes in 30 minutes");
}

#[tokio::test]
async fn a_refused_command_queues_nothing() {
    let (_dir, engine, _) = sample().await;
    channels(&engine).await;
    let too_long = NewRequest { duration: Period::from_hours(1000), ..ask("contoso-crm") };
    assert_eq!(kind(engine.run(&user(FRANK), too_long).await), ErrorKind::Invalid);
    assert!(all(&engine, &Viewer::Operator).await.is_empty());
}

#[tokio::test]
async fn channels_are_managed_by_the_tenants_admins_and_the_operator_alone() {
    let (_dir, engine, _) = sample().await;
    let add = |tenant: &str, kind| AddChannel { tenant: tenant.into(), kind };
    let hook = ChannelKind::Hook { program: "/usr/local/bin/page".into(), args: vec!["--urgent".into()] };
    // An admin of another tenant, and a plain user of this one, may not.
    assert_eq!(
        kind(engine.run(&user("nadia@northwind.com"), add("contoso", webhook("https://x.com/h"))).await),
        ErrorKind::Forbidden
    );
    assert_eq!(
        kind(engine.run(&user("bob@contoso.com"), add("contoso", webhook("https://x.com/h"))).await),
        ErrorKind::Forbidden
    );
    // Programs and plain http are the operator's.
    assert_eq!(
        kind(engine.run(&user("alice@contoso.com"), add("contoso", hook.clone())).await),
        ErrorKind::Forbidden
    );
    assert_eq!(
        kind(engine.run(&user("alice@contoso.com"), add("contoso", webhook("http://10.0.0.1/h"))).await),
        ErrorKind::Forbidden
    );
    assert_eq!(
        kind(engine.run(&operator(), add("nowhere", webhook("https://x.com/h"))).await),
        ErrorKind::NotFound
    );
    let added = engine.run(&operator(), add("contoso", hook.clone())).await.unwrap();
    let webhook =
        engine.run(&user("alice@contoso.com"), add("contoso", webhook("https://x.com/h"))).await.unwrap();
    assert_eq!((added.tenant.as_str(), &added.kind), ("contoso", &hook));
    assert_eq!(
        engine.channels(&Viewer::User("carol@contoso.com".into()), "contoso").await.unwrap(),
        [added.clone(), webhook.clone()]
    );
    assert_eq!(
        kind(engine.channels(&Viewer::User("bob@contoso.com".into()), "contoso").await),
        ErrorKind::Forbidden
    );

    // Another tenant's channel answers like one that does not exist.
    let other =
        engine.run(&operator(), AddChannel { tenant: "northwind".into(), kind: smtp() }).await.unwrap();
    let remove = |id| RemoveChannel { tenant: "contoso".into(), id };
    let foreign = engine.run(&user("alice@contoso.com"), remove(other.id)).await.unwrap_err();
    let missing = engine.run(&user("alice@contoso.com"), remove(999)).await.unwrap_err();
    assert_eq!(
        foreign.to_string().replace(&other.id.to_string(), "N"),
        missing.to_string().replace("999", "N")
    );
    assert_eq!(engine.run(&user("alice@contoso.com"), remove(webhook.id)).await.unwrap(), webhook);
    assert_eq!(engine.channels(&Viewer::Operator, "contoso").await.unwrap(), [added]);

    // The audit log says what was added and removed, never a secret.
    let log = engine.audit(&Viewer::Operator, Paging::first(10)).await.unwrap().items;
    let records: Vec<_> =
        log.iter().filter(|r| matches!(r.action, Action::ChannelAdded | Action::ChannelRemoved)).collect();
    assert_eq!(records.len(), 4);
    for r in records {
        let text = format!("{r:?}");
        assert!(
            !text.contains("s3cret-key") && !text.contains("mail-pass") && !text.contains("x.com/h"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_contact_is_seen_and_changed_by_its_user_their_admins_and_the_operator_alone() {
    let (_dir, engine, _) = sample().await;
    let bob = "bob@contoso.com";
    let set = |change| SetContact { upn: bob.into(), change };
    engine.run(&user(bob), set(email("bob@contoso.com"))).await.unwrap();
    let digest = ContactChange {
        digest_minutes: Some(Some(60)),
        mute: vec![NoticeKind::Started],
        ..ContactChange::default()
    };
    let changed = engine.run(&user("carol@contoso.com"), set(digest)).await.unwrap();
    assert_eq!(changed.email.as_deref(), Some("bob@contoso.com"), "what a change does not name stays");
    assert_eq!((changed.digest_minutes, changed.muted.clone()), (Some(60), vec![NoticeKind::Started]));
    assert_eq!(engine.contact(&Viewer::Operator, bob).await.unwrap(), changed);
    assert_eq!(engine.contact(&Viewer::User(bob.into()), bob).await.unwrap(), changed);

    // To a user of another tenant, or a plain colleague, Bob is as missing as nobody.
    let nobody = engine.contact(&Viewer::Operator, "nobody@contoso.com").await.unwrap_err().to_string();
    for who in ["nadia@northwind.com", "erin@fabrikam.com"] {
        let hidden = engine.contact(&Viewer::User(who.into()), bob).await.unwrap_err().to_string();
        assert_eq!(hidden.replace(bob, "X"), nobody.replace("nobody@contoso.com", "X"));
        let refused = engine.run(&user(who), set(ContactChange::default())).await.unwrap_err().to_string();
        assert_eq!(refused.replace(bob, "X"), nobody.replace("nobody@contoso.com", "X"));
    }
    let bad = [
        set(email("bob at contoso")),
        set(ContactChange { digest_minutes: Some(Some(0)), ..ContactChange::default() }),
        set(ContactChange { digest_minutes: Some(Some(1441)), ..ContactChange::default() }),
    ];
    for change in bad {
        let e = engine.run(&user(bob), change).await.unwrap_err();
        assert_eq!(e.kind(), Some(ErrorKind::Invalid));
        assert!(!e.to_string().contains('\n'));
    }
    assert_eq!(engine.contact(&Viewer::Operator, bob).await.unwrap(), changed, "a refusal changes nothing");
}

#[tokio::test]
async fn deliveries_are_seen_by_the_operator_a_tenants_admins_and_their_addressee() {
    let (_dir, engine, _) = sample().await;
    let (_, contoso, fabrikam) = channels(&engine).await;
    engine.run(&user(FRANK), ask("contoso-crm")).await.unwrap();
    let everything = all(&engine, &Viewer::Operator).await;
    assert_eq!(everything.len(), 3);
    assert!(everything.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(all(&engine, &Viewer::User("carol@contoso.com".into())).await, everything, "Contoso's admin");
    let bobs = all(&engine, &Viewer::User("bob@contoso.com".into())).await;
    assert_eq!(bobs.iter().map(|d| d.to.as_deref()).collect::<Vec<_>>(), [Some("bob@contoso.com")]);
    assert!(all(&engine, &Viewer::User("nadia@northwind.com".into())).await.is_empty());
    assert!(all(&engine, &Viewer::User("erin@fabrikam.com".into())).await.is_empty());
    assert!(
        everything.iter().all(|d| d.channel != fabrikam) && everything.iter().any(|d| d.channel == contoso)
    );
    let failed =
        engine.deliveries(&Viewer::Operator, DeliveryFilter { failed_only: true }, &Paging::first(10)).await;
    assert!(failed.unwrap().items.is_empty());
    let paged =
        engine.deliveries(&Viewer::Operator, DeliveryFilter::default(), &Paging::first(2)).await.unwrap();
    assert_eq!((paged.items.len(), paged.more), (2, true));
}
