//! Webhooks as a receiver sees them: signed with the channel's secret, keyed for repeats, in each
//! format's shape, with people's text sanitized; and how each kind of trouble is reported.

use jitdesk::domain::delivery::{ChannelKind, Secret, WebhookFormat};
use jitdesk::engine::outbox::Courier;

use crate::common::parcels::{HOSTILE, HOSTILE_SHOWN, couriers, harmless, parcel, to_decide};
use crate::common::receiver::{Receiver, sign};

fn webhook(receiver: &Receiver, format: WebhookFormat, secret: &str) -> ChannelKind {
    ChannelKind::Webhook { url: receiver.url(), format, secret: Secret(secret.into()) }
}

#[tokio::test]
async fn a_signed_post_carries_the_notice_as_jitdesk_json() {
    let receiver = Receiver::start(Some("s3cret"));
    let p = parcel(webhook(&receiver, WebhookFormat::Jitdesk, "s3cret"), to_decide("fix the outage"), false);
    couriers().send(&p).await.expect("sent");
    let posts = receiver.posts();
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    assert_eq!(post.path, "/hook");
    assert_eq!(post.header("content-type").as_deref(), Some("application/json"));
    assert_eq!(post.header("x-jitdesk-delivery").as_deref(), Some("jitdesk-40-7"));
    assert_eq!(post.header("x-jitdesk-signature"), Some(sign("s3cret", &post.body)));
    let json = post.json();
    assert_eq!(json["delivery"], "jitdesk-40-7");
    assert_eq!(json["tenant"], "contoso");
    let notice = &json["notices"][0];
    assert_eq!(notice["kind"], "to-decide");
    assert_eq!(notice["at"], "2026-11-28T09:00:00Z");
    assert_eq!(notice["request"]["id"], 12);
    assert_eq!(notice["request"]["justification"], "fix the outage");
    assert_eq!(notice["request"]["timeLeft"], "2h 13m");
    assert_eq!(notice["request"]["duration"], "PT2H");
    assert!(
        notice["message"]["subject"].as_str().unwrap().contains("dave@fabrikam.com asks for Owner on prod")
    );
    assert!(notice["message"]["text"].as_str().unwrap().contains("Justification  fix the outage"));
    let commands: Vec<&str> =
        notice["commands"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert!(commands.contains(&"jitdesk request approve 12 --reason \"...\""), "{commands:?}");
    assert!(
        commands.contains(&"ssh -p 2222 jit.example.com request deny 12 --reason \"...\""),
        "{commands:?}"
    );
    assert!(!String::from_utf8_lossy(&post.body).contains("s3cret"));
}

#[tokio::test]
async fn a_wrong_secret_fails_the_receivers_check_for_good() {
    let receiver = Receiver::start(Some("the-right-one"));
    let p = parcel(webhook(&receiver, WebhookFormat::Jitdesk, "a-wrong-one"), to_decide("j"), false);
    let failed = couriers().send(&p).await.expect_err("refused");
    assert!(failed.permanent, "{failed:?}");
    assert!(failed.reason.contains("answered 401"), "{}", failed.reason);
    assert!(!failed.reason.contains("wrong-one") && !failed.reason.contains("/hook"), "{}", failed.reason);
    assert_eq!((receiver.refused(), receiver.posts().len()), (1, 0));
}

#[tokio::test]
async fn a_failing_or_absent_receiver_is_worth_another_try_and_a_repeat_is_dropped() {
    let receiver = Receiver::start(Some("k"));
    let p = parcel(webhook(&receiver, WebhookFormat::Jitdesk, "k"), to_decide("j"), false);
    let couriers = couriers();
    receiver.fail_next(1);
    let failed = couriers.send(&p).await.expect_err("a 500");
    assert!(!failed.permanent && failed.reason.contains("answered 500"), "{failed:?}");
    receiver.set_down(true);
    let failed = couriers.send(&p).await.expect_err("down");
    assert!(!failed.permanent && failed.reason.contains(&receiver.addr.to_string()), "{failed:?}");
    receiver.set_down(false);
    couriers.send(&p).await.expect("up again");
    couriers.send(&p).await.expect("a repeat is taken too");
    assert_eq!((receiver.posts().len(), receiver.repeats()), (1, 1));
}

#[tokio::test]
async fn nobody_listening_is_worth_another_try() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let channel = ChannelKind::Webhook {
        url: format!("http://127.0.0.1:{port}/x?token=hidden"),
        format: WebhookFormat::Slack,
        secret: Secret("k".into()),
    };
    let failed = couriers().send(&parcel(channel, to_decide("j"), false)).await.expect_err("refused");
    assert!(
        !failed.permanent && failed.reason.starts_with("cannot reach the webhook at 127.0.0.1:"),
        "{failed:?}"
    );
    assert!(!failed.reason.contains("hidden"), "{}", failed.reason);
}

#[tokio::test]
async fn a_channel_a_tenant_admin_added_never_reaches_this_machine_even_by_name() {
    let receiver = Receiver::start(None);
    let taken = || receiver.posts().len() + receiver.repeats() as usize;
    for (sent, url) in
        [receiver.url(), receiver.url().replace("127.0.0.1", "localhost")].into_iter().enumerate()
    {
        let channel =
            ChannelKind::Webhook { url, format: WebhookFormat::Jitdesk, secret: Secret("k".into()) };
        let mut p = parcel(channel, to_decide("j"), false);
        p.restricted = true;
        let refused = couriers().send(&p).await.expect_err("an internal address");
        assert!(refused.permanent, "{refused:?}");
        assert!(
            refused.reason.starts_with("the host of the webhook at ")
                && refused.reason.contains("resolves to a private address"),
            "{}",
            refused.reason
        );
        assert_eq!(taken(), sent, "nothing more reached the receiver");
        p.restricted = false;
        couriers().send(&p).await.expect("the operator's channel reaches it");
        assert_eq!(taken(), sent + 1);
    }
    assert_eq!((receiver.posts().len(), receiver.repeats()), (1, 1));
}

#[tokio::test]
async fn slack_gets_its_text_with_markup_escaped() {
    let receiver = Receiver::start(None);
    let p = parcel(webhook(&receiver, WebhookFormat::Slack, "k"), to_decide("<!channel> & more"), false);
    couriers().send(&p).await.expect("sent");
    let json = receiver.posts()[0].json();
    let text = json["text"].as_str().expect("Slack's text");
    assert_eq!(json.as_object().unwrap().len(), 1, "{json}");
    assert!(text.starts_with("*jitdesk: dave@fabrikam.com asks for Owner on prod"), "{text}");
    assert!(text.contains("&lt;!channel&gt; &amp; more") && !text.contains("<!channel>"), "{text}");
    assert!(text.contains("jitdesk request approve 12"), "{text}");
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_in_a_message() {
    let receiver = Receiver::start(None);
    let p = parcel(webhook(&receiver, WebhookFormat::Teams, "k"), to_decide("fix the outage"), false);
    couriers().send(&p).await.expect("sent");
    let json = receiver.posts()[0].json();
    assert_eq!(json["type"], "message");
    let attachment = &json["attachments"][0];
    assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &attachment["content"];
    assert_eq!((card["type"].as_str(), card["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")));
    let blocks = card["body"].as_array().unwrap();
    assert!(blocks.iter().all(|b| b["type"] == "TextBlock" || b["type"] == "FactSet"), "{card}");
    assert!(blocks[0]["text"].as_str().unwrap().contains("asks for Owner on prod"), "{card}");
    let facts = &blocks.iter().find(|b| b["type"] == "FactSet").expect("a fact set")["facts"];
    let fact = |title: &str| {
        facts.as_array().unwrap().iter().find(|f| f["title"] == title).map(|f| f["value"].clone())
    };
    assert_eq!(fact("Justification"), Some("fix the outage".into()), "{card}");
    assert_eq!(fact("Decide by"), Some("2026-11-28 13:00 UTC (2h 13m left)".into()), "{card}");
    assert!(
        blocks
            .iter()
            .any(|b| b["fontType"] == "Monospace"
                && b["text"] == "jitdesk request approve 12 --reason \"...\""),
        "{card}"
    );
}

#[tokio::test]
async fn teams_shows_a_link_in_a_justification_as_text_not_as_a_link() {
    let receiver = Receiver::start(None);
    let hostile = "[Approve](https://evil.example/approve) **now**";
    couriers()
        .send(&parcel(webhook(&receiver, WebhookFormat::Teams, "k"), to_decide(hostile), false))
        .await
        .expect("sent");
    let card = receiver.posts()[0].json()["attachments"][0]["content"].clone();
    let facts = card["body"].as_array().unwrap().iter().find(|b| b["type"] == "FactSet").expect("a fact set")
        ["facts"]
        .clone();
    let justification =
        facts.as_array().unwrap().iter().find(|f| f["title"] == "Justification").expect("the justification");
    assert_eq!(justification["value"], r"\[Approve\](https://evil.example/approve) \*\*now\*\*", "{card}");
    assert!(!card.to_string().contains("[Approve]("), "{card}");
}

#[tokio::test]
async fn control_characters_in_a_justification_arrive_sanitized_in_every_format() {
    for format in [WebhookFormat::Jitdesk, WebhookFormat::Slack, WebhookFormat::Teams] {
        let receiver = Receiver::start(None);
        couriers()
            .send(&parcel(webhook(&receiver, format, "k"), to_decide(HOSTILE), false))
            .await
            .expect("sent");
        let body = String::from_utf8(receiver.posts()[0].body.clone()).unwrap();
        let decoded = receiver.posts()[0].json().to_string();
        assert!(harmless(&body) && harmless(&decoded), "{format:?}: {body}");
        // Teams reads Markdown, so its card has the `[` escaped too.
        let shown = if format == WebhookFormat::Teams {
            HOSTILE_SHOWN.replace('[', r"\\[")
        } else {
            HOSTILE_SHOWN.into()
        };
        assert!(decoded.contains(&shown), "{format:?}: {decoded}");
    }
}
