//! Webhooks: one POST of JSON per parcel, signed so the receiver knows it came from jitdesk and
//! was not changed on the way (`X-Jitdesk-Signature: sha256=<hex HMAC-SHA256 of the body>` with
//! the channel's secret), and keyed so it can drop a repeat (`X-Jitdesk-Delivery`). The body is
//! jitdesk's own JSON, or the shape a Slack or a Teams incoming webhook takes.
//!
//! A webhook's URL often holds a secret of its own (chats put one in the path), so failures name
//! only its host and port.

use std::time::Duration;

use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::json;
use sha2::Sha256;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{permanent, reach, retry};
use crate::domain::delivery::{Secret, WebhookFormat};
use crate::domain::message::Message;
use crate::domain::text::shown;
use crate::engine::outbox::Undelivered;

/// The header with the delivery's idempotency key.
const DELIVERY_HEADER: &str = "x-jitdesk-delivery";
/// The header with the body's signature.
const SIGNATURE_HEADER: &str = "x-jitdesk-signature";

/// The body a webhook of `format` gets: `jitdesk` (the JSON programs read) as it is, or the message
/// in a chat's shape.
pub(super) fn body(format: WebhookFormat, jitdesk: &[u8], message: &Message) -> Vec<u8> {
    let value = match format {
        WebhookFormat::Jitdesk => return jitdesk.to_vec(),
        WebhookFormat::Slack => json!({
            "text": format!("*{}*\n{}", mrkdwn(&message.subject), mrkdwn(&message.text)),
        }),
        WebhookFormat::Teams => teams_card(message),
    };
    // A `Value` always serializes.
    serde_json::to_vec(&value).unwrap_or_default()
}

/// Slack reads `&`, `<` and `>` as markup (links, mentions such as `<!channel>`): escaped, people's
/// text stays text.
fn mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Adaptive Cards read Markdown in a TextBlock's text and a fact's value: `[Approve](https://...)`
/// in a justification would be a live link beside the real commands. Each character that opens
/// markup anywhere is escaped with a backslash, as is what opens it only at a line's start (a
/// heading, a quote, a list item), so people's text stays text.
fn card_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let indent = line.len() - line.trim_start().len();
        let (lead, rest) = line.split_at(indent);
        out.push_str(lead);
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        for (i, c) in rest.char_indices() {
            let opens_line =
                (i == 0 && "#>-+=".contains(c)) || (i == digits && digits > 0 && ".)".contains(c));
            if opens_line || "\\`*_~[]<>&".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// An Adaptive Card in the message envelope Teams incoming webhooks (Workflows) take: a bold
/// subject, then each notice's sentence and its details as a fact set; commands in monospace so
/// they copy as they are.
fn teams_card(message: &Message) -> serde_json::Value {
    let mut body = vec![json!({
        "type": "TextBlock", "text": card_text(&message.subject), "weight": "Bolder", "size": "Medium", "wrap": true,
    })];
    for notice in &message.notices {
        let facts: Vec<_> = notice
            .details
            .iter()
            .map(|(title, value)| json!({ "title": title, "value": card_text(value) }))
            .collect();
        // A digest names each of its notices; one notice has its sentence as the card's title.
        if message.notices.len() > 1 {
            body.push(
                json!({ "type": "TextBlock", "text": card_text(&notice.message.subject), "wrap": true, "separator": true }),
            );
        }
        body.push(json!({ "type": "FactSet", "facts": facts }));
        // The commands are jitdesk's own words over checked names, shown as they are typed.
        for command in &notice.commands {
            body.push(json!({ "type": "TextBlock", "text": command, "fontType": "Monospace", "wrap": true }));
        }
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            },
        }],
    })
}

/// `sha256=` and the hex HMAC-SHA256 of `body` keyed with `secret`.
fn signature(secret: &Secret, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// POSTs `body` to `url`, signed with `secret`, within `timeout`: a 2xx answer is sent; 408, 429,
/// 5xx and network trouble are worth another try; any other answer is final. A `restricted`
/// channel reaches public addresses only (`reach`).
pub(super) async fn post(
    tls: &TlsConnector,
    url: &str,
    key: &str,
    secret: &Secret,
    body: Vec<u8>,
    restricted: bool,
    timeout: Duration,
) -> Result<(), Undelivered> {
    let bad = || permanent("the webhook's URL is not an http:// or https:// URL with a host".to_string());
    let uri: Uri = url.trim().parse().map_err(|_| bad())?;
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else { return Err(bad()) };
    let https = match scheme {
        "https" => true,
        "http" => false,
        _ => return Err(bad()),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let whom = format!("the webhook at {}", shown(&authority));
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(HOST, &authority)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, concat!("jitdesk/", env!("CARGO_PKG_VERSION")))
        .header(DELIVERY_HEADER, key)
        .header(SIGNATURE_HEADER, signature(secret, &body))
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| bad())?;
    let exchange = async {
        let addresses = reach::addresses(&host, port, restricted, &whom).await?;
        let tcp = TcpStream::connect(&addresses[..])
            .await
            .map_err(|e| reach::unreachable(&whom, &e, restricted))?;
        let _ = tcp.set_nodelay(true);
        if https {
            let name = ServerName::try_from(host.clone()).map_err(|_| bad())?;
            let stream = tls.connect(name, tcp).await.map_err(|e| {
                let why = if restricted { String::new() } else { format!(": {}", shown(&e.to_string())) };
                retry(format!("cannot open a TLS connection to {whom}{why}"))
            })?;
            answer(stream, request, &whom).await
        } else {
            answer(tcp, request, &whom).await
        }
    };
    let status = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| retry(format!("{whom} did not answer within {} s", timeout.as_secs_f32())))??;
    verdict(status, &whom)
}

/// The receiver's answer's status to `request` over `io`.
async fn answer<I>(io: I, request: Request<Full<Bytes>>, whom: &str) -> Result<StatusCode, Undelivered>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let broken = |e: hyper::Error| retry(format!("{whom} broke off the exchange: {}", shown(&e.to_string())));
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(broken)?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender.send_request(request).await.map_err(broken);
    // The body (the receiver's own words) is never read: only the status counts, and the connection
    // goes with the answer.
    driver.abort();
    Ok(response?.status())
}

/// What a status means for the delivery.
fn verdict(status: StatusCode, whom: &str) -> Result<(), Undelivered> {
    if status.is_success() {
        return Ok(());
    }
    let reason = format!("{whom} answered {status}");
    let again = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    Err(if again { retry(reason) } else { permanent(reason) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_or_failing_receivers_are_tried_again_and_refusals_are_final() {
        for (code, again) in
            [(408, true), (429, true), (500, true), (503, true), (400, false), (401, false), (404, false)]
        {
            let status = StatusCode::from_u16(code).unwrap();
            let e = verdict(status, "the webhook at h:1").unwrap_err();
            assert_eq!(e.permanent, !again, "{code}");
            assert!(e.reason.starts_with(&format!("the webhook at h:1 answered {code}")), "{}", e.reason);
        }
        assert!(verdict(StatusCode::NO_CONTENT, "w").is_ok());
    }

    #[test]
    fn the_signature_is_the_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        let secret = Secret("Jefe".into());
        assert_eq!(
            signature(&secret, b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn teams_markdown_in_peoples_text_stays_text() {
        assert_eq!(
            card_text("see [Approve](https://evil.example) **now** _x_ `c` <https://y> a\\b & ~z~"),
            "see \\[Approve\\](https://evil.example) \\*\\*now\\*\\* \\_x\\_ \\`c\\` \\<https://y\\> a\\\\b \\& \\~z\\~"
        );
        assert_eq!(
            card_text("# title\n> quote\n- item\n  + item\n12. twelve\n3) three\n= rule\n4 is 4. and - too"),
            "\\# title\n\\> quote\n\\- item\n  \\+ item\n12\\. twelve\n3\\) three\n\\= rule\n4 is 4. and - too"
        );
        assert_eq!(card_text("2026-11-28 13:00 UTC (2h 13m left)"), "2026-11-28 13:00 UTC (2h 13m left)");
    }

    #[test]
    fn slack_markup_in_peoples_text_stays_text() {
        assert_eq!(mrkdwn("<!channel> & <http://x|y>"), "&lt;!channel&gt; &amp; &lt;http://x|y&gt;");
    }
}
