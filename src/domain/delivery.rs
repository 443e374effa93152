//! Notices that leave the store: where a tenant wants its notices sent (its channels), how each
//! user wants theirs (their contact), and each send the outbox owes (a delivery). A notification
//! inside the store reaches only someone with the dashboard open; a delivery carries it to mail, a
//! chat webhook or a command, and is queued in the same transaction as the notification, so a
//! change that commits is never left untold and one that does not is never told.
//!
//! Plain types and the rules about them (which notices a change makes, when a failed send is tried
//! again); no I/O: sending lives at the edge, behind the engine's courier.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::model::{AccessRequest, Action, AuditRecord};

/// The kinds of notice a person may be sent, each one a user may opt out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeKind {
    /// A new request, or an extension of a grant, waits for the recipient's decision.
    ToDecide,
    /// The recipient's request, or their extension of a grant, was approved or denied.
    Decided,
    /// A request the recipient asked for, or is to decide, got one of the several approvals it
    /// needs, and waits for more.
    Approval,
    /// A request the recipient was to decide was withdrawn by its requester.
    Canceled,
    /// The recipient's access began.
    Started,
    /// The recipient's access ends within minutes.
    EndingSoon,
    /// The recipient's access ran its whole duration.
    Ended,
    /// The recipient's request, or their extension of a grant, got no decision in time.
    TimedOut,
    /// The recipient's access was ended early.
    Revoked,
    /// The JIT settings of an application the recipient approves or uses changed.
    PolicyChanged,
    /// A delivery to one of the recipient's tenant's channels failed for good.
    DeliveryFailed,
}

impl NoticeKind {
    /// Every kind, in the order lists show them.
    pub const ALL: [NoticeKind; 11] = [
        NoticeKind::ToDecide,
        NoticeKind::Decided,
        NoticeKind::Approval,
        NoticeKind::Canceled,
        NoticeKind::Started,
        NoticeKind::EndingSoon,
        NoticeKind::Ended,
        NoticeKind::TimedOut,
        NoticeKind::Revoked,
        NoticeKind::PolicyChanged,
        NoticeKind::DeliveryFailed,
    ];

    /// The name people type (`--mute ending-soon`) and JSON shows.
    pub fn name(self) -> &'static str {
        match self {
            NoticeKind::ToDecide => "to-decide",
            NoticeKind::Decided => "decided",
            NoticeKind::Approval => "approval",
            NoticeKind::Canceled => "canceled",
            NoticeKind::Started => "started",
            NoticeKind::EndingSoon => "ending-soon",
            NoticeKind::Ended => "ended",
            NoticeKind::TimedOut => "timed-out",
            NoticeKind::Revoked => "revoked",
            NoticeKind::PolicyChanged => "policy-changed",
            NoticeKind::DeliveryFailed => "delivery-failed",
        }
    }

    /// The kind named, as `name` writes it.
    pub fn parse(text: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.name() == text)
    }

    /// The kind of notice a recorded change makes, if it makes one.
    pub fn of(action: Action) -> Option<NoticeKind> {
        Some(match action {
            Action::RequestCreated | Action::ExtensionAsked => NoticeKind::ToDecide,
            Action::RequestApproved
            | Action::RequestDenied
            | Action::ExtensionApproved
            | Action::ExtensionDenied => NoticeKind::Decided,
            Action::ApprovalGiven => NoticeKind::Approval,
            Action::RequestCanceled => NoticeKind::Canceled,
            Action::RequestTimedOut | Action::ExtensionLapsed => NoticeKind::TimedOut,
            Action::AccessStarted => NoticeKind::Started,
            Action::AccessEndingSoon => NoticeKind::EndingSoon,
            Action::AccessExpired => NoticeKind::Ended,
            Action::AccessRevoked => NoticeKind::Revoked,
            Action::PolicyChanged => NoticeKind::PolicyChanged,
            _ => return None,
        })
    }
}

impl fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A secret a channel needs (a webhook's signing key, a mail relay's password): stored, used to
/// send, and never shown. Its `Debug` says only that it is there, so no log line or error carries it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// How a webhook's body is shaped: jitdesk's own JSON, or what a chat's incoming webhook takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// jitdesk's own JSON: the notice's facts, for programs.
    Jitdesk,
    /// What a Slack incoming webhook takes.
    Slack,
    /// What a Microsoft Teams incoming webhook takes.
    Teams,
}

impl WebhookFormat {
    /// Every format, in the order help lists them.
    pub const ALL: [WebhookFormat; 3] = [WebhookFormat::Jitdesk, WebhookFormat::Slack, WebhookFormat::Teams];

    /// The name people type (`--format slack`) and JSON shows.
    pub fn name(self) -> &'static str {
        match self {
            WebhookFormat::Jitdesk => "jitdesk",
            WebhookFormat::Slack => "slack",
            WebhookFormat::Teams => "teams",
        }
    }

    /// The format named, as `name` writes it.
    pub fn parse(text: &str) -> Option<WebhookFormat> {
        WebhookFormat::ALL.into_iter().find(|f| f.name() == text)
    }
}

/// Where a tenant's notices go, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChannelKind {
    /// A POST of JSON to a URL, signed with HMAC-SHA256 over the body.
    Webhook {
        /// Where the POST goes.
        url: String,
        /// How its body is shaped.
        format: WebhookFormat,
        /// The HMAC-SHA256 key the receiver checks the signature with.
        secret: Secret,
    },
    /// The relay that carries mail to the tenant's users, each at the address of their contact.
    Mail(MailRelay),
    /// A program run with the notice's JSON on its standard input.
    Hook {
        /// The program's absolute path.
        program: String,
        /// Its arguments, as given.
        args: Vec<String>,
    },
}

impl ChannelKind {
    /// What the channel is and where it sends, fit to show its tenant's admins: a URL's host and
    /// port, never its path, its user or a secret.
    pub fn label(&self) -> String {
        let host = |url: &str| {
            let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            authority.rsplit_once('@').map_or(authority, |(_, host)| host).to_string()
        };
        match self {
            ChannelKind::Webhook { url, .. } => format!("webhook to {}", host(url)),
            ChannelKind::Mail(MailRelay::Smtp { url, .. }) => format!("mail through {}", host(url)),
            ChannelKind::Mail(MailRelay::Sendmail { .. }) => "mail through sendmail".into(),
            ChannelKind::Hook { .. } => "hook".into(),
        }
    }
}

/// How mail leaves: an SMTP server (`smtp://` with STARTTLS, `smtps://` with TLS from the first
/// byte, the user name in the URL), or a local sendmail program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailRelay {
    /// An SMTP server.
    Smtp {
        /// `smtp://user@host:587` or `smtps://user@host:465`.
        url: String,
        /// The URL's user's password, if the server asks for one.
        password: Option<Secret>,
        /// The sender's address.
        from: String,
    },
    /// A local program that takes a message on its standard input, as sendmail does.
    Sendmail {
        /// The program's absolute path.
        program: String,
        /// The sender's address.
        from: String,
    },
}

/// One of a tenant's channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Unique in the store; what `tenant channel remove` names.
    pub id: u64,
    /// The tenant whose users' notices it carries.
    pub tenant: String,
    /// Where it sends, and how.
    pub kind: ChannelKind,
    /// Who added it: programs and plain-HTTP URLs only the operator may add.
    pub added_by: String,
    /// When.
    #[serde(with = "super::stamp")]
    pub added: DateTime<Utc>,
}

impl Channel {
    /// Whether someone other than the operator added it: then it reaches only the public network,
    /// as its adder could not be trusted with the service's own.
    pub fn restricted(&self) -> bool {
        !super::rules::is_operator_label(&self.added_by)
    }
}

/// How one user wants to be reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Where their mail goes; none: they get no mail.
    pub email: Option<String>,
    /// Kinds they asked not to be sent (the dashboard still shows them).
    pub muted: Vec<NoticeKind>,
    /// Minutes between digests; none: one message per notice.
    pub digest_minutes: Option<u32>,
}

impl Contact {
    /// Whether a notice of this kind is sent to them at all.
    pub fn wants(&self, kind: NoticeKind) -> bool {
        !self.muted.contains(&kind)
    }
}

/// A change to someone's contact, as a door asks for it: `None` leaves a field as it is,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactChange {
    /// Their new address, or none to stop their mail.
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
    /// Kinds to stop sending them.
    #[serde(default)]
    pub mute: Vec<NoticeKind>,
    /// Kinds to send them again.
    #[serde(default)]
    pub unmute: Vec<NoticeKind>,
    /// Minutes between their digests, or none for one message per notice.
    #[serde(default, deserialize_with = "present")]
    pub digest_minutes: Option<Option<u32>>,
}

/// A field that is there, even as `null` (which clears it), as opposed to one left out.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Which deliveries a list shows, newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryFilter {
    /// Only those given up on.
    pub failed_only: bool,
}

/// Whose deliveries a list walks: what a viewer may see decides it, so a list never reads
/// another tenant's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryScope {
    /// Every delivery (the operator).
    All,
    /// Those over one tenant's channels (its admins).
    Tenant(String),
    /// The mail addressed to one user.
    To(String),
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "state")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Queued,
    /// The receiver took it.
    Sent {
        /// When the receiver took it.
        #[serde(with = "super::stamp")]
        at: DateTime<Utc>,
    },
    /// Given up on: every attempt failed until it was too old to send.
    Failed {
        /// When it was given up on.
        #[serde(with = "super::stamp")]
        at: DateTime<Utc>,
    },
}

/// One send the outbox owes: one notice (its audit record) over one channel, to one user for mail,
/// to the channel for a webhook or a hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Unique in the store, in the order queued.
    pub id: u64,
    /// The channel it goes over.
    pub channel: u64,
    /// The channel's tenant, whose admins see the delivery.
    pub tenant: String,
    /// The user a mail goes to; none for a webhook or a hook.
    pub to: Option<String>,
    /// The audit record of the change it tells of.
    pub audit: u64,
    /// What kind of notice it carries, which the recipient may have muted since.
    pub kind: NoticeKind,
    /// When it was queued: the commit of its change.
    #[serde(with = "super::stamp")]
    pub queued: DateTime<Utc>,
    /// When it is tried next (for a digest: when the digest goes).
    #[serde(with = "super::stamp")]
    pub next_at: DateTime<Utc>,
    /// Attempts made so far.
    pub attempts: u32,
    /// Queued, sent or given up on.
    pub state: DeliveryState,
    /// Why the last attempt failed, as the receiver or the network said it, sanitized.
    pub last_error: Option<String>,
}

/// Deliveries list newest first and walk on by id.
impl super::Listed for Delivery {
    type Cursor = u64;
    fn cursor(&self) -> u64 {
        self.id
    }
}

impl Delivery {
    /// What receivers use to drop a repeat: the same for every attempt of this delivery, different
    /// for every other. Mail carries it in `Message-ID`, a webhook in `X-Jitdesk-Delivery`.
    pub fn idempotency_key(&self) -> String {
        format!("jitdesk-{}-{}", self.audit, self.id)
    }
}

/// The idempotency key of one send of these deliveries: a lone delivery's own key; a digest's is
/// drawn from every delivery it carries, so a digest that gathered new notices on a retry is never
/// dropped as a repeat of the attempt before, while the same digest sent again is.
pub fn parcel_key(group: &[Delivery]) -> String {
    use sha2::{Digest, Sha256};
    match group {
        [one] => one.idempotency_key(),
        _ => {
            let mut hash = Sha256::new();
            for d in group {
                hash.update(d.id.to_be_bytes());
            }
            let short: String = hash.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("jitdesk-digest-{}-{short}", group.first().map_or(0, |d| d.id))
        }
    }
}

/// The facts a sent notice is worded from, read in one snapshot when it is sent: the change's audit
/// record and the request it names as it is then (none for a change to an application).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What kind of notice it is.
    pub kind: NoticeKind,
    /// The change's audit record.
    pub record: AuditRecord,
    /// The request the record names, as it is when the notice is sent.
    pub request: Option<AccessRequest>,
}

/// When a failed send is tried again: exponential backoff from `first`, capped at `longest`, with
/// jitter so that deliveries failing together do not retry together, until the delivery is older
/// than `give_up_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// The backoff after the first failure.
    pub first: TimeDelta,
    /// The longest backoff.
    pub longest: TimeDelta,
    /// How long after it was queued a delivery is still tried.
    pub give_up_after: TimeDelta,
}

impl Retry {
    /// Ten seconds, doubling to an hour at most, for 24 hours.
    pub const DEFAULT: Retry = Retry {
        first: TimeDelta::seconds(10),
        longest: TimeDelta::hours(1),
        give_up_after: TimeDelta::hours(24),
    };

    /// When to try again after attempt number `attempts` (1 for the first) failed at `now`;
    /// `jitter` in [0, 1) picks the moment within the upper half of the backoff. None: give up.
    pub fn next(
        &self,
        queued: DateTime<Utc>,
        attempts: u32,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> Option<DateTime<Utc>> {
        let doublings = attempts.saturating_sub(1).min(30);
        let full = self.first.checked_mul(1 << doublings).unwrap_or(self.longest).min(self.longest);
        let half = full / 2;
        let spread =
            TimeDelta::milliseconds((half.num_milliseconds() as f64 * jitter.clamp(0.0, 1.0)) as i64);
        let at = now + half + spread;
        (at - queued <= self.give_up_after).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0).unwrap()
    }

    #[test]
    fn every_kind_parses_back_from_its_name_and_no_two_share_one() {
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(kind.name()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
        assert_eq!(NoticeKind::parse("to_decide"), None);
    }

    #[test]
    fn every_webhook_format_parses_back_from_its_name_as_json_writes_it() {
        for format in WebhookFormat::ALL {
            assert_eq!(WebhookFormat::parse(format.name()), Some(format));
            assert_eq!(serde_json::to_value(format).unwrap(), format.name());
        }
        assert_eq!(WebhookFormat::parse("Slack"), None);
    }

    #[test]
    fn a_channel_the_operator_added_is_unrestricted_and_any_other_is_restricted() {
        let channel = |by: &str| Channel {
            id: 1,
            tenant: "contoso".into(),
            kind: ChannelKind::Hook { program: "/bin/true".into(), args: vec![] },
            added_by: by.into(),
            added: t0(),
        };
        assert!(!channel(&super::super::rules::Actor::Operator("root".into()).label()).restricted());
        assert!(channel("a@contoso.com").restricted());
    }

    #[test]
    fn changes_people_are_told_of_make_notices_and_others_make_none() {
        assert_eq!(NoticeKind::of(Action::RequestCreated), Some(NoticeKind::ToDecide));
        assert_eq!(NoticeKind::of(Action::RequestDenied), Some(NoticeKind::Decided));
        assert_eq!(NoticeKind::of(Action::ApprovalGiven), Some(NoticeKind::Approval));
        assert_eq!(NoticeKind::parse("approval"), Some(NoticeKind::Approval));
        assert_eq!(NoticeKind::of(Action::AccessExpired), Some(NoticeKind::Ended));
        assert_eq!(NoticeKind::of(Action::AccessEndingSoon), Some(NoticeKind::EndingSoon));
        assert_eq!(NoticeKind::of(Action::PolicyChanged), Some(NoticeKind::PolicyChanged));
        assert_eq!(NoticeKind::of(Action::ExtensionAsked), Some(NoticeKind::ToDecide));
        assert_eq!(NoticeKind::of(Action::ExtensionApproved), Some(NoticeKind::Decided));
        assert_eq!(NoticeKind::of(Action::ExtensionDenied), Some(NoticeKind::Decided));
        assert_eq!(NoticeKind::of(Action::ExtensionLapsed), Some(NoticeKind::TimedOut));
        assert_eq!(NoticeKind::of(Action::TokenCreated), None);
        assert_eq!(NoticeKind::of(Action::UserAdded), None);
    }

    #[test]
    fn a_channels_label_names_its_host_and_no_path_user_or_secret() {
        let hook = ChannelKind::Webhook {
            url: "https://hooks.example.com:8443/services/T0/B1?token=x".into(),
            format: WebhookFormat::Slack,
            secret: Secret("k".into()),
        };
        assert_eq!(hook.label(), "webhook to hooks.example.com:8443");
        let smtp = ChannelKind::Mail(MailRelay::Smtp {
            url: "smtps://jit@mail.example.com:465".into(),
            password: Some(Secret("pw".into())),
            from: "jit@example.com".into(),
        });
        assert_eq!(smtp.label(), "mail through mail.example.com:465");
    }

    #[test]
    fn a_muted_kind_is_not_wanted_and_the_others_are() {
        let c = Contact { muted: vec![NoticeKind::Started], ..Contact::default() };
        assert!(!c.wants(NoticeKind::Started));
        assert!(c.wants(NoticeKind::ToDecide));
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let kind = ChannelKind::Webhook {
            url: "https://x".into(),
            format: WebhookFormat::Slack,
            secret: Secret("hunter2".into()),
        };
        assert!(!format!("{kind:?}").contains("hunter2"));
    }

    #[test]
    fn retries_back_off_doubling_within_the_upper_half_up_to_the_cap() {
        let r = Retry::DEFAULT;
        let after = |attempts, jitter| r.next(t0(), attempts, t0(), jitter).map(|at| at - t0());
        assert_eq!(after(1, 0.0), Some(TimeDelta::seconds(5)));
        assert_eq!(after(1, 0.999_999), Some(TimeDelta::milliseconds(9_999)));
        assert_eq!(after(2, 0.0), Some(TimeDelta::seconds(10)));
        assert_eq!(after(3, 0.5), Some(TimeDelta::seconds(30)));
        assert_eq!(after(40, 0.0), Some(TimeDelta::minutes(30)));
        assert_eq!(after(40, 1.0), Some(TimeDelta::hours(1)));
    }

    #[test]
    fn a_delivery_too_old_to_try_again_is_given_up() {
        let r = Retry::DEFAULT;
        let late = t0() + TimeDelta::hours(24) - TimeDelta::seconds(5);
        assert_eq!(r.next(t0(), 1, late, 0.0), Some(t0() + TimeDelta::hours(24)));
        assert_eq!(r.next(t0(), 1, late, 0.5), None);
    }

    #[test]
    fn every_delivery_has_its_own_key_and_keeps_it() {
        let d = Delivery {
            id: 7,
            channel: 1,
            tenant: "contoso".into(),
            to: None,
            audit: 42,
            kind: NoticeKind::ToDecide,
            queued: t0(),
            next_at: t0(),
            attempts: 0,
            state: DeliveryState::Queued,
            last_error: None,
        };
        let again = Delivery { attempts: 3, ..d.clone() };
        assert_eq!(d.idempotency_key(), again.idempotency_key());
        assert_ne!(d.idempotency_key(), Delivery { id: 8, ..d.clone() }.idempotency_key());
        assert_ne!(d.idempotency_key(), Delivery { audit: 43, ..d }.idempotency_key());
    }
}
