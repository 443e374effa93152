//! The couriers that carry the outbox's parcels out of the process: mail over SMTP or through a
//! local sendmail program, webhooks signed with HMAC-SHA256, and command hooks. The engine decides
//! what is owed and when; this edge only words each parcel (`domain::message`), sends it over its
//! channel, and says how that went in one sanitized line that never holds a secret, with whether
//! trying again can help.

mod mail;
mod program;
mod reach;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::domain::delivery::{ChannelKind, MailRelay};
use crate::domain::message::{Facts, Message};
use crate::domain::time_style::TimeStyle;
use crate::engine::Clock;
use crate::engine::outbox::{Courier, Parcel, Sending, Undelivered};

/// How long a receiver has to take one parcel, from connecting to its answer (or a hook's exit).
pub const RECEIVER_TIMEOUT: Duration = Duration::from_secs(10);

/// The couriers for every kind of channel, behind the engine's one `Courier`.
pub struct Couriers {
    clock: Arc<dyn Clock>,
    times: TimeStyle,
    ssh: Option<String>,
    timeout: Duration,
    tls: tokio_rustls::TlsConnector,
}

impl Couriers {
    /// Couriers that word times with `times` and the time left by `clock`, quoting the SSH door's
    /// public `host:port` (`ssh`) in the commands a notice gives, when it has one.
    pub fn new(clock: Arc<dyn Clock>, times: TimeStyle, ssh: Option<String>) -> Couriers {
        // With no files to read, the set-up fails only if ring offered none of rustls's default
        // protocol versions, which it always does.
        let tls = crate::client::client_config(None, None).expect("ring supports TLS 1.2 and 1.3");
        Couriers {
            clock,
            times,
            ssh,
            timeout: RECEIVER_TIMEOUT,
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
        }
    }

    /// The same couriers, giving each send `timeout` instead of `RECEIVER_TIMEOUT`.
    pub fn with_timeout(self, timeout: Duration) -> Couriers {
        Couriers { timeout, ..self }
    }

    async fn carry(&self, parcel: &Parcel) -> Result<(), Undelivered> {
        let message = Message::digest(&parcel.notices, self.clock.now(), &self.times, self.ssh.as_deref());
        match &parcel.channel {
            ChannelKind::Webhook { url, format, secret } => {
                let body = webhook::body(*format, &jitdesk_json(parcel, &message), &message);
                webhook::post(&self.tls, url, &parcel.key, secret, body, parcel.restricted, self.timeout)
                    .await
            }
            ChannelKind::Hook { program, args } => {
                let input = jitdesk_json(parcel, &message);
                program::run(program, args, &parcel.key, &input, self.timeout).await
            }
            ChannelKind::Mail(relay) => {
                let Some(to) = &parcel.to else {
                    return Err(permanent("a mail delivery names no recipient".into()));
                };
                match relay {
                    MailRelay::Smtp { url, password, from } => {
                        let mail = mail::compose(from, to, &parcel.key, &message)?;
                        mail::smtp(url, password.as_ref(), mail, parcel.restricted, self.timeout).await
                    }
                    MailRelay::Sendmail { program, from } => {
                        let mail = mail::compose(from, to, &parcel.key, &message)?;
                        let args = mail::sendmail_args(&mail);
                        program::run(program, &args, &parcel.key, &mail.formatted(), self.timeout).await
                    }
                }
            }
        }
    }
}

impl Courier for Couriers {
    fn send<'a>(&'a self, parcel: &'a Parcel) -> Sending<'a> {
        Box::pin(self.carry(parcel))
    }
}

/// jitdesk's own JSON for programs: `{delivery, tenant, notices: [...]}`, what a webhook in the
/// jitdesk format and a hook get.
fn jitdesk_json(parcel: &Parcel, message: &Message) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        delivery: &'a str,
        tenant: &'a str,
        notices: &'a [Facts],
    }
    let body = Body { delivery: &parcel.key, tenant: &parcel.tenant, notices: &message.notices };
    // Plain structs of strings, numbers and times always serialize.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A failure trying again may cure (the receiver is down, busy or slow).
fn retry(reason: String) -> Undelivered {
    Undelivered { reason, permanent: false }
}

/// A failure only a change of the channel or the receiver can cure.
fn permanent(reason: String) -> Undelivered {
    Undelivered { reason, permanent: true }
}
