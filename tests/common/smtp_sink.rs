//! A mail server for tests: an SMTP sink on 127.0.0.1 that speaks just enough SMTP (EHLO, AUTH
//! PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for a client to hand it mail, and keeps every message
//! it is given, or is down (every connection closed at once) until told otherwise. It runs on a
//! thread of its own, so sync and async tests use it alike; it stops when dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64ct::{Base64, Encoding};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message the sink took.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// `MAIL FROM`.
    pub from: String,
    /// Each `RCPT TO`.
    pub to: Vec<String>,
    /// `user:password` of an `AUTH PLAIN` on its connection.
    pub auth: Option<String>,
    /// The message as sent after `DATA`, dots unstuffed, lines ending in CRLF.
    pub data: String,
}

impl Mail {
    /// The header `name`'s value, folded lines joined.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut().filter(|_| line.starts_with([' ', '\t'])) {
                v.push_str(line);
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value
    }

    /// The body, decoded from its transfer encoding (7bit, quoted-printable or base64).
    pub fn body(&self) -> String {
        let raw = self.data.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
        match self.header("Content-Transfer-Encoding").map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("base64") => {
                let joined: String = raw.split_whitespace().collect();
                String::from_utf8(Base64::decode_vec(&joined).expect("base64 body")).expect("UTF-8 body")
            }
            Some("quoted-printable") => quoted_printable(raw),
            _ => raw.to_string(),
        }
    }
}

fn quoted_printable(raw: &str) -> String {
    let mut bytes = Vec::new();
    let mut lines = raw.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        let (line, soft) = match line.strip_suffix('=') {
            Some(l) => (l, true),
            None => (line, false),
        };
        let mut chars = line.bytes();
        while let Some(b) = chars.next() {
            if b == b'=' {
                let hex: Vec<u8> = chars.by_ref().take(2).collect();
                bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).expect("=XX"));
            } else {
                bytes.push(b);
            }
        }
        if !soft && lines.peek().is_some() {
            bytes.extend_from_slice(b"\r\n");
        }
    }
    String::from_utf8(bytes).expect("UTF-8 body")
}

/// The sink, listening until dropped.
pub struct SmtpSink {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    down: Arc<AtomicBool>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let kept = mails.clone();
        let down = Arc::new(AtomicBool::new(false));
        let refusing = down.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                let accepting = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else { continue };
                        if refusing.load(Ordering::SeqCst) {
                            drop(stream);
                            continue;
                        }
                        tokio::spawn(session(stream, kept.clone()));
                    }
                };
                tokio::select! {
                    () = accepting => {}
                    _ = stopped => {}
                }
            });
        });
        SmtpSink { addr, mails, down, _stop: stop }
    }

    /// `smtp://127.0.0.1:PORT`, with `user@` when given.
    pub fn url(&self, user: Option<&str>) -> String {
        let user = user.map(|u| format!("{u}@")).unwrap_or_default();
        format!("smtp://{user}{}", self.addr)
    }

    /// Down: every new connection is closed before the greeting. Up again with `false`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// The mails once there are at least `n`, waiting up to a minute (a noisy machine is slow).
    pub fn wait_for(&self, n: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mails = self.mails();
            if mails.len() >= n || Instant::now() > deadline {
                return mails;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn session(stream: TcpStream, mails: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut reply = async |text: &str| write.write_all(format!("{text}\r\n").as_bytes()).await.is_ok();
    if !reply("220 sink ESMTP").await {
        return;
    }
    let mut mail = Mail::default();
    let mut auth = None;
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            "250-sink\r\n250-AUTH PLAIN\r\n250 8BITMIME".to_string()
        } else if upper.starts_with("AUTH PLAIN ") {
            let decoded = Base64::decode_vec(line[11..].trim()).unwrap_or_default();
            let parts: Vec<String> =
                decoded.split(|&b| b == 0).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
            auth = Some(format!(
                "{}:{}",
                parts.get(1).cloned().unwrap_or_default(),
                parts.get(2).cloned().unwrap_or_default()
            ));
            "235 ok".to_string()
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail { from: address(&line[10..]), auth: auth.clone(), ..Mail::default() };
            "250 ok".to_string()
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(address(&line[8..]));
            "250 ok".to_string()
        } else if upper == "DATA" {
            if !reply("354 go on").await {
                return;
            }
            let mut data = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push_str("\r\n");
            }
            mail.data = data;
            mails.lock().unwrap().push(std::mem::take(&mut mail));
            "250 kept".to_string()
        } else if upper == "QUIT" {
            let _ = reply("221 bye").await;
            return;
        } else if upper == "RSET" || upper == "NOOP" {
            mail = Mail::default();
            "250 ok".to_string()
        } else {
            "502 not here".to_string()
        };
        if !reply(&answer).await {
            return;
        }
    }
}

/// `<a@b> SIZE=1` -> `a@b`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    let end = arg.find('>').map_or(arg.len(), |i| i + 1);
    arg[..end].trim_matches(['<', '>']).to_string()
}
