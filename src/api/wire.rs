//! The API's own JSON shapes, header names and event names: everything on the wire that is not a
//! resource view of `crate::json` or a domain type. The service writes them and its clients (the
//! CLI and the dashboard talking to a service) read them, both from here. The contract is
//! described in docs/api.md.

use serde::{Deserialize, Serialize};

use crate::domain::delivery::{ChannelKind, ContactChange, MailRelay, NoticeKind, Secret, WebhookFormat};
use crate::domain::{Input, Period, RuleError, User};

/// The operator acts as a directory user by naming them in this header.
pub const AS_HEADER: &str = "x-jitdesk-as";
/// On every list answer: `true` when more come after it (then a `Link` header names the next part).
pub const MORE_HEADER: &str = "x-jitdesk-more";
/// On `GET /v1/notifications`: the id of the newest notification the user has marked as seen.
pub const SEEN_HEADER: &str = "x-jitdesk-seen-upto";

/// The SSE event name of the first event on `/v1/events`: the subscription is live, so whatever is
/// read after it and committed later will arrive as an event.
pub const EVENT_READY: &str = "ready";
/// The SSE event name that ends a stream: reload everything (and reconnect).
pub const EVENT_RELOAD: &str = "reload";

/// The kinds of refusal: the five of the rules (`limited`: a per-requester limit, with a
/// `Retry-After` header), and `unavailable` for trouble with the store, a busy service or a request
/// that took too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// 400: the input breaks a rule; sending it again changes nothing.
    Invalid,
    /// 404: no such thing, or one the caller may not see.
    NotFound,
    /// 403: the caller may see the thing but not do this to it.
    Forbidden,
    /// 409: the thing is not in a state that allows this (e.g. already decided).
    Conflict,
    /// 429: a limit on the caller was reached; try again later (after `Retry-After`, when given).
    Limited,
    /// 503: the store failed, the service is busy, or the request took too long; try again later.
    Unavailable,
}

impl From<crate::domain::ErrorKind> for ErrorKind {
    fn from(kind: crate::domain::ErrorKind) -> Self {
        use crate::domain::ErrorKind as K;
        match kind {
            K::Invalid => ErrorKind::Invalid,
            K::NotFound => ErrorKind::NotFound,
            K::Forbidden => ErrorKind::Forbidden,
            K::Conflict => ErrorKind::Conflict,
            K::Limited => ErrorKind::Limited,
        }
    }
}

/// Every error answer: `{"error": {"kind": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// What was refused and why.
    pub error: FailureDetail,
}

/// The body of `Failure`'s `error`: the kind of refusal, for programs, and a message, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureDetail {
    /// Which kind of refusal, and so which HTTP status came with it.
    pub kind: ErrorKind,
    /// A sentence for people: what is wrong and what to do about it.
    pub message: String,
    /// The inputs a refused rule is about, so that a client can say how its people give them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub about: Vec<Input>,
}

impl Failure {
    /// The rule's refusal, for a client that reports it as a local engine would; None for
    /// `unavailable`.
    pub fn rule(&self) -> Option<RuleError> {
        let message = self.error.message.clone();
        let rule = match self.error.kind {
            ErrorKind::Invalid => RuleError::invalid(message),
            ErrorKind::NotFound => RuleError::not_found(message),
            ErrorKind::Forbidden => RuleError::forbidden(message),
            ErrorKind::Conflict => RuleError::conflict(message),
            ErrorKind::Limited => RuleError::limited(message, None),
            ErrorKind::Unavailable => return None,
        };
        Some(rule.about(&self.error.about))
    }
}

/// `GET /v1/health`: answers anyone who can reach the socket, identity or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Always `jitdesk`.
    pub service: String,
    /// The service's crate version, as `jitdesk --version` prints it.
    pub version: String,
    /// The store file the service owns, as it was given to `serve`; empty on the HTTPS door.
    pub store: String,
}

/// `GET /v1/me`: who the service takes the caller to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The caller's OS login, from the socket's peer credentials.
    pub login: Option<String>,
    /// The caller runs as the service's own user: it manages the directory and may act as anyone.
    pub operator: bool,
    /// The directory user the caller acts as; None for the operator acting as itself.
    pub user: Option<User>,
    /// The newest notification that user has seen; None without a user.
    pub seen_upto: Option<u64>,
    /// The ids of the groups that user is a member of (whether they approve through one); empty
    /// without a user. Absent from services older than groups.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The body of `POST /v1/groups/{id}/members`: the users to make members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Members {
    /// Their UPNs.
    pub upns: Vec<String>,
}

/// The body of `approve`, `deny` and `revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reason {
    /// Why the decision or revocation is made; kept in the audit and shown to the people notified.
    pub reason: String,
}

/// The body of `extend`: how much longer, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Extension {
    /// How much longer the access should last, in ISO 8601 (`PT1H`) or the short form (`1h`).
    pub by: Period,
    /// Why, for the approvers and the audit log.
    pub reason: String,
}

/// The body of `POST /v1/notifications/seen`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarkSeen {
    /// The id of the newest notification the user has read; older ones count as seen too.
    pub upto: u64,
}

/// The answer of `POST /v1/notifications/seen`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seen {
    /// The newest notification now marked as seen (never lower than before).
    pub seen_upto: u64,
}

/// Why an event stream ended with a `reload` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReloadReason {
    /// The client fell too far behind; events were dropped.
    Lagged,
    /// The service is stopping.
    Shutdown,
}

/// The data of a `reload` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reload {
    /// Why the stream ended.
    pub reason: ReloadReason,
    /// How many events were dropped, for `lagged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<u64>,
}

/// The body that adds an SSH key to a user, or a CA to a tenant: the public key as an OpenSSH line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKey {
    /// `ssh-ed25519 AAAA... comment`, as in a .pub file.
    pub key: String,
}

/// The body that adds a channel to a tenant: what kind of channel, and everything it needs to send,
/// secrets included (they go in and never come out: answers show only that one is set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum NewChannel {
    /// A signed POST of JSON to `url`.
    Webhook {
        /// Where the POST goes.
        url: String,
        /// How its body is shaped [default: jitdesk].
        #[serde(default = "jitdesk_format")]
        format: WebhookFormat,
        /// The HMAC-SHA256 key the receiver checks the signature with.
        secret: Secret,
    },
    /// Mail through an SMTP server.
    Smtp {
        /// `smtp://user@host:587` (STARTTLS) or `smtps://user@host:465` (TLS).
        url: String,
        /// The URL's user's password, if the server asks for one.
        #[serde(default)]
        password: Option<Secret>,
        /// The sender's address.
        from: String,
    },
    /// Mail through a local sendmail program (the operator only).
    Sendmail {
        /// The program's absolute path.
        program: String,
        /// The sender's address.
        from: String,
    },
    /// A program run with each notice's JSON on its standard input (the operator only).
    Hook {
        /// The program's absolute path.
        program: String,
        /// Its arguments.
        #[serde(default)]
        args: Vec<String>,
    },
}

fn jitdesk_format() -> WebhookFormat {
    WebhookFormat::Jitdesk
}

impl From<NewChannel> for ChannelKind {
    fn from(body: NewChannel) -> Self {
        match body {
            NewChannel::Webhook { url, format, secret } => ChannelKind::Webhook { url, format, secret },
            NewChannel::Smtp { url, password, from } => {
                ChannelKind::Mail(MailRelay::Smtp { url, password, from })
            }
            NewChannel::Sendmail { program, from } => {
                ChannelKind::Mail(MailRelay::Sendmail { program, from })
            }
            NewChannel::Hook { program, args } => ChannelKind::Hook { program, args },
        }
    }
}

impl From<ChannelKind> for NewChannel {
    fn from(kind: ChannelKind) -> Self {
        match kind {
            ChannelKind::Webhook { url, format, secret } => NewChannel::Webhook { url, format, secret },
            ChannelKind::Mail(MailRelay::Smtp { url, password, from }) => {
                NewChannel::Smtp { url, password, from }
            }
            ChannelKind::Mail(MailRelay::Sendmail { program, from }) => {
                NewChannel::Sendmail { program, from }
            }
            ChannelKind::Hook { program, args } => NewChannel::Hook { program, args },
        }
    }
}

/// The body of `PUT /v1/users/{upn}/contact`: only what it names changes. `email` and
/// `digestMinutes` take `null` to clear them; absent, they stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactBody {
    /// Where their mail goes; `null`: no mail.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub email: Option<Option<String>>,
    /// Kinds of notice not to send them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mute: Vec<NoticeKind>,
    /// Kinds of notice to send them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmute: Vec<NoticeKind>,
    /// Minutes between digests; `null`: one message per notice.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub digest_minutes: Option<Option<u32>>,
}

/// A field that is there, `null` or not: absent is the only "leave it as it is".
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl From<ContactBody> for ContactChange {
    fn from(body: ContactBody) -> Self {
        ContactChange {
            email: body.email,
            mute: body.mute,
            unmute: body.unmute,
            digest_minutes: body.digest_minutes,
        }
    }
}

impl From<ContactChange> for ContactBody {
    fn from(change: ContactChange) -> Self {
        ContactBody {
            email: change.email,
            mute: change.mute,
            unmute: change.unmute,
            digest_minutes: change.digest_minutes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_channels_secret_and_password_never_show_in_debug() {
        let bodies = [
            r#"{"type": "webhook", "url": "https://x.com/h", "secret": "s3cret-key"}"#,
            r#"{"type": "smtp", "url": "smtps://jit@x.com", "password": "s3cret-key", "from": "j@x.com"}"#,
        ];
        for body in bodies {
            let channel: NewChannel = serde_json::from_str(body).unwrap();
            assert!(!format!("{channel:?}").contains("s3cret-key"), "{channel:?}");
            let kind = ChannelKind::from(channel.clone());
            assert_eq!(NewChannel::from(kind), channel, "a secret survives the round trip");
            assert!(
                serde_json::to_string(&channel).unwrap().contains("s3cret-key"),
                "it still goes on the wire"
            );
        }
    }
}
