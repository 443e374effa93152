//! The JSON shapes of where notices go: a tenant's channels, a user's contact and the deliveries
//! the outbox owes, for the CLI's `--json` and the API alike. A channel's view never carries its
//! secret, only whether it has one, so no listing, answer or log line can leak it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::delivery::{
    Channel as DomainChannel, ChannelKind, Contact as DomainContact, Delivery as DomainDelivery,
    DeliveryState, MailRelay, NoticeKind, WebhookFormat,
};

/// One of a tenant's channels as it may be shown: where it sends, never with what secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    /// What `tenant channel remove` names.
    pub id: u64,
    /// The tenant whose users' notices it carries.
    pub tenant: String,
    /// Where it sends, flattened into this object with its `type`.
    #[serde(flatten)]
    pub target: Target,
    /// Who added it.
    pub added_by: String,
    /// When, in UTC.
    pub added_at: DateTime<Utc>,
}

/// Where a channel sends: its `type` and the parts of it that may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Target {
    /// A signed POST of JSON.
    #[serde(rename_all = "camelCase")]
    Webhook {
        /// Where the POST goes.
        url: String,
        /// How its body is shaped.
        format: WebhookFormat,
        /// Whether it signs with a secret (always, once added).
        secret_set: bool,
    },
    /// Mail through an SMTP server.
    #[serde(rename_all = "camelCase")]
    Smtp {
        /// The server's URL, without any password in it.
        url: String,
        /// The sender's address.
        from: String,
        /// Whether a password is kept for the server.
        password_set: bool,
    },
    /// Mail through a local sendmail program.
    Sendmail {
        /// The program's path.
        program: String,
        /// The sender's address.
        from: String,
    },
    /// A program given each notice's JSON.
    Hook {
        /// The program's path.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

impl Channel {
    /// The view of a channel: everything but its secrets.
    pub fn new(channel: &DomainChannel) -> Self {
        let target = match &channel.kind {
            ChannelKind::Webhook { url, format, secret } => {
                Target::Webhook { url: url.clone(), format: *format, secret_set: !secret.0.is_empty() }
            }
            ChannelKind::Mail(MailRelay::Smtp { url, password, from }) => Target::Smtp {
                url: without_password(url),
                from: from.clone(),
                password_set: password.is_some(),
            },
            ChannelKind::Mail(MailRelay::Sendmail { program, from }) => {
                Target::Sendmail { program: program.clone(), from: from.clone() }
            }
            ChannelKind::Hook { program, args } => {
                Target::Hook { program: program.clone(), args: args.clone() }
            }
        };
        Channel {
            id: channel.id,
            tenant: channel.tenant.clone(),
            target,
            added_by: channel.added_by.clone(),
            added_at: channel.added,
        }
    }

    /// Where it sends, in a few words for a table: the URL, the relay or the program.
    pub fn summary(&self) -> String {
        match &self.target {
            Target::Webhook { url, format, .. } => format!("{url} ({})", format.name()),
            Target::Smtp { url, from, .. } => format!("{url} from {from}"),
            Target::Sendmail { program, from } => format!("{program} from {from}"),
            Target::Hook { program, args } if args.is_empty() => program.clone(),
            Target::Hook { program, args } => format!("{program} {}", args.join(" ")),
        }
    }

    /// The channel's type, as `type` names it.
    pub fn kind(&self) -> &'static str {
        match self.target {
            Target::Webhook { .. } => "webhook",
            Target::Smtp { .. } => "smtp",
            Target::Sendmail { .. } => "sendmail",
            Target::Hook { .. } => "hook",
        }
    }
}

/// `url` with any password in its user part taken out: `smtp://u:pw@host` shows as `smtp://u@host`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(name, _)| name);
            format!("{scheme}://{user}@{host}{path}")
        }
        None => url.to_string(),
    }
}

/// How one user wants to be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// The user.
    pub upn: String,
    /// Where their mail goes; null: they get no mail.
    pub email: Option<String>,
    /// The kinds of notice they are not sent.
    pub muted: Vec<NoticeKind>,
    /// Minutes between digests; null: one message per notice.
    pub digest_minutes: Option<u32>,
}

impl Contact {
    /// The view of `upn`'s contact.
    pub fn new(upn: &str, contact: &DomainContact) -> Self {
        Contact {
            upn: upn.to_string(),
            email: contact.email.clone(),
            muted: contact.muted.clone(),
            digest_minutes: contact.digest_minutes,
        }
    }
}

impl From<Contact> for DomainContact {
    fn from(view: Contact) -> Self {
        DomainContact { email: view.email, muted: view.muted, digest_minutes: view.digest_minutes }
    }
}

/// One send the outbox owes, or made, or gave up on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Unique, in the order queued.
    pub id: u64,
    /// The channel it goes over.
    pub channel: u64,
    /// The channel's tenant.
    pub tenant: String,
    /// The user a mail goes to; null for a webhook or a hook.
    pub to: Option<String>,
    /// The audit record of the change it tells of.
    pub audit: u64,
    /// The kind of notice.
    pub kind: NoticeKind,
    /// `queued`, `sent` or `failed`.
    pub state: State,
    /// When it was sent or given up on; null while queued.
    pub done_at: Option<DateTime<Utc>>,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When it is tried next.
    pub next_at: DateTime<Utc>,
    /// Attempts made so far.
    pub attempts: u32,
    /// Why the last attempt failed, sanitized.
    pub last_error: Option<String>,
    /// What receivers drop a repeat by: `Message-ID` of a mail, `X-Jitdesk-Delivery` of a webhook.
    pub idempotency_key: String,
}

/// Where a delivery stands, in a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for its next attempt.
    Queued,
    /// The receiver took it.
    Sent,
    /// Given up on.
    Failed,
}

impl State {
    /// The word, as JSON writes it.
    pub fn name(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Sent => "sent",
            State::Failed => "failed",
        }
    }
}

impl Delivery {
    /// The view of a delivery.
    pub fn new(d: &DomainDelivery) -> Self {
        let (state, done_at) = match d.state {
            DeliveryState::Queued => (State::Queued, None),
            DeliveryState::Sent { at } => (State::Sent, Some(at)),
            DeliveryState::Failed { at } => (State::Failed, Some(at)),
        };
        Delivery {
            id: d.id,
            channel: d.channel,
            tenant: d.tenant.clone(),
            to: d.to.clone(),
            audit: d.audit,
            kind: d.kind,
            state,
            done_at,
            queued_at: d.queued,
            next_at: d.next_at,
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            idempotency_key: d.idempotency_key(),
        }
    }
}

impl From<Delivery> for DomainDelivery {
    fn from(view: Delivery) -> Self {
        let state = match (view.state, view.done_at) {
            (State::Sent, Some(at)) => DeliveryState::Sent { at },
            (State::Failed, Some(at)) => DeliveryState::Failed { at },
            _ => DeliveryState::Queued,
        };
        DomainDelivery {
            id: view.id,
            channel: view.channel,
            tenant: view.tenant,
            to: view.to,
            audit: view.audit,
            kind: view.kind,
            queued: view.queued_at,
            next_at: view.next_at,
            attempts: view.attempts,
            state,
            last_error: view.last_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::delivery::Secret;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, h, 0, 0).unwrap()
    }

    fn channel(kind: ChannelKind) -> DomainChannel {
        DomainChannel { id: 4, tenant: "contoso".into(), kind, added_by: "op".into(), added: at(1) }
    }

    #[test]
    fn a_channel_shows_that_it_has_a_secret_never_the_secret() {
        let webhook = ChannelKind::Webhook {
            url: "https://chat.example/hook".into(),
            format: WebhookFormat::Slack,
            secret: Secret("hunter2-signing".into()),
        };
        let smtp = ChannelKind::Mail(MailRelay::Smtp {
            url: "smtps://jit:in-url-pw@mail.example:465".into(),
            password: Some(Secret("hunter2-mail".into())),
            from: "jit@contoso.com".into(),
        });
        for kind in [webhook, smtp] {
            let text = serde_json::to_string(&Channel::new(&channel(kind))).unwrap();
            for secret in ["hunter2", "in-url-pw"] {
                assert!(!text.contains(secret), "{text}");
            }
            assert!(text.contains("\"secretSet\":true") || text.contains("\"passwordSet\":true"), "{text}");
        }
    }

    #[test]
    fn a_url_shows_its_user_without_a_password() {
        assert_eq!(without_password("smtp://u:p@h:587/x"), "smtp://u@h:587/x");
        assert_eq!(without_password("smtp://u@h:587"), "smtp://u@h:587");
        assert_eq!(without_password("smtp://h:587"), "smtp://h:587");
        assert_eq!(without_password("https://h/a@b"), "https://h/a@b");
    }

    #[test]
    fn a_delivery_reads_back_as_itself() {
        for state in
            [DeliveryState::Queued, DeliveryState::Sent { at: at(3) }, DeliveryState::Failed { at: at(5) }]
        {
            let d = DomainDelivery {
                id: 9,
                channel: 4,
                tenant: "contoso".into(),
                to: Some("alice@contoso.com".into()),
                audit: 31,
                kind: NoticeKind::ToDecide,
                queued: at(1),
                next_at: at(2),
                attempts: 2,
                state,
                last_error: Some("refused".into()),
            };
            let text = serde_json::to_string(&Delivery::new(&d)).unwrap();
            let view: Delivery = serde_json::from_str(&text).unwrap();
            assert_eq!(DomainDelivery::from(view), d);
        }
    }
}
