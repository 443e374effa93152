//! Mail: the notice as a plain-text message to one user, `Message-ID: <KEY@jitdesk>` so a mail
//! system drops a repeat, sent to an SMTP server or handed to a local sendmail program.
//!
//! An SMTP server is reached encrypted: `smtps://` with TLS from the first byte, `smtp://` with
//! STARTTLS required, so no password and no notice crosses a network in the clear. Only a server on
//! this machine (a loopback host) may be spoken to in plain SMTP, where nothing is on the way; only a
//! channel the operator added reaches one.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{permanent, reach, retry};
use crate::client::loopback;
use crate::domain::delivery::Secret;
use crate::domain::message::Message;
use crate::domain::text::shown;
use crate::engine::outbox::{Recipient, Undelivered};

/// The message for `to` from `from`, keyed by the delivery's `key`.
pub(super) fn compose(
    from: &str,
    to: &Recipient,
    key: &str,
    message: &Message,
) -> Result<lettre::Message, Undelivered> {
    let from: Mailbox = from
        .parse()
        .map_err(|_| permanent(format!("the sender's address `{}` is not a mail address", shown(from))))?;
    let address = to.email.parse().map_err(|_| {
        permanent(format!("the address of {} (`{}`) is not a mail address", shown(&to.upn), shown(&to.email)))
    })?;
    lettre::Message::builder()
        .from(from)
        .to(Mailbox::new(None, address))
        .subject(&message.subject)
        .message_id(Some(format!("<{key}@jitdesk>")))
        .header(ContentType::TEXT_PLAIN)
        .body(message.text.clone())
        .map_err(|e| permanent(format!("cannot make the mail: {}", shown(&e.to_string()))))
}

/// How the connection to an SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// TLS from the first byte (`smtps://`).
    Tls,
    /// Plain first, then STARTTLS, refusing to go on without it (`smtp://`).
    StartTls,
    /// Plain SMTP: to this machine only.
    Plain,
}

/// The security `scheme` asks for on `host`, and the port it uses when the URL names none.
fn security(scheme: &str, host: &str) -> Option<(Security, u16)> {
    match scheme {
        "smtps" => Some((Security::Tls, 465)),
        "smtp" if loopback(host) => Some((Security::Plain, 25)),
        "smtp" => Some((Security::StartTls, 587)),
        _ => None,
    }
}

/// Sends `mail` through the SMTP server of `url` (`smtp://user@host:port` or `smtps://...`),
/// logging in as the URL's user with `password` when there is one. A `restricted` channel reaches
/// public addresses only (`reach`).
pub(super) async fn smtp(
    url: &str,
    password: Option<&Secret>,
    mail: lettre::Message,
    restricted: bool,
    timeout: Duration,
) -> Result<(), Undelivered> {
    let bad = || permanent("the mail relay's URL is not an smtp:// or smtps:// URL with a host".to_string());
    let parsed = url::Url::parse(url.trim()).map_err(|_| bad())?;
    let host = parsed.host_str().ok_or_else(bad)?.trim_start_matches('[').trim_end_matches(']').to_string();
    let (security, default_port) = security(parsed.scheme(), &host).ok_or_else(bad)?;
    let port = parsed.port().unwrap_or(default_port);
    let whom = format!("the mail server {}:{port}", shown(&host));
    let sending = async {
        // lettre resolves the server it is given and connects by itself, so a restricted channel
        // gives it the one address checked here, and TLS checks the certificate against the host's
        // name all the same. What remains: lettre tries that one address only, not the host's others.
        let server = if restricted {
            let checked = reach::addresses(&host, port, true, &whom).await?;
            // `addresses` answers at least one address or an error.
            checked[0].ip().to_string()
        } else {
            host.clone()
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server).port(port).timeout(Some(timeout));
        if security != Security::Plain {
            let tls = TlsParameters::new_rustls(host.clone())
                .map_err(|e| permanent(format!("cannot set up TLS for {whom}: {}", shown(&e.to_string()))))?;
            builder =
                builder.tls(if security == Security::Tls { Tls::Wrapper(tls) } else { Tls::Required(tls) });
        }
        if !parsed.username().is_empty() {
            let user =
                percent_encoding::percent_decode_str(parsed.username()).decode_utf8_lossy().into_owned();
            let password = password.map(|p| p.0.clone()).unwrap_or_default();
            builder = builder.credentials(Credentials::new(user, password));
        }
        builder.build().send(mail).await.map_err(|e| failure(&e, security, &whom, restricted))
    };
    match tokio::time::timeout(timeout, sending).await {
        Err(_) => Err(retry(format!("{whom} did not take the mail within {} s", timeout.as_secs_f32()))),
        Ok(sent) => sent.map(|_| ()),
    }
}

/// One line for what went wrong: the server's refusal, or why the connection failed (for a
/// restricted channel, only that it did).
fn failure(
    e: &lettre::transport::smtp::Error,
    security: Security,
    whom: &str,
    restricted: bool,
) -> Undelivered {
    let said = shown(&e.to_string());
    if security == Security::StartTls && e.is_client() && e.to_string().contains("STARTTLS") {
        return retry(format!(
            "{whom} does not offer STARTTLS, and mail leaves this machine encrypted only: make the server offer it, or use smtps://"
        ));
    }
    if e.is_permanent() {
        return permanent(format!("{whom} refused the mail: {said}"));
    }
    if restricted && !e.is_response() {
        return reach::unreachable(whom, &said, restricted);
    }
    retry(format!("{whom} did not take the mail: {said}"))
}

/// The arguments a sendmail program takes for `mail`: as sendmail's own, `-i` (a lone dot does not
/// end the message), the sender, and the recipients after `--`, so no address is read as an option.
pub(super) fn sendmail_args(mail: &lettre::Message) -> Vec<String> {
    let envelope = mail.envelope();
    let mut args = vec!["-i".to_string()];
    if let Some(from) = envelope.from() {
        args.extend(["-f".to_string(), from.to_string()]);
    }
    args.push("--".to_string());
    args.extend(envelope.to().iter().map(ToString::to_string));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_leaves_this_machine_encrypted_and_only_loopback_may_be_plain() {
        assert_eq!(security("smtps", "mail.example.com"), Some((Security::Tls, 465)));
        assert_eq!(security("smtp", "mail.example.com"), Some((Security::StartTls, 587)));
        assert_eq!(security("smtp", "10.0.0.5"), Some((Security::StartTls, 587)));
        for host in ["127.0.0.1", "localhost", "::1"] {
            assert_eq!(security("smtp", host), Some((Security::Plain, 25)), "{host}");
        }
        assert_eq!(security("smtps", "127.0.0.1"), Some((Security::Tls, 465)));
        assert_eq!(security("http", "mail.example.com"), None);
    }

    #[test]
    fn sendmail_gets_the_sender_and_the_recipient_after_the_options() {
        let to = Recipient { upn: "a@x.com".into(), email: "-oQ@x.com".into() };
        let message = Message { subject: "s".into(), text: "t".into(), notices: vec![] };
        let mail = compose("jit@x.com", &to, "k", &message).unwrap();
        assert_eq!(sendmail_args(&mail), ["-i", "-f", "jit@x.com", "--", "-oQ@x.com"]);
    }
}
