//! The HTTPS door (`jitdesk serve --listen ADDR:PORT --tls-cert FILE --tls-key FILE`): the same API
//! as the socket, over TLS on TCP, for people with no account on the host. Plain HTTP is refused
//! unless the address is loopback and `--insecure` asks for it: a token or an approval sent in the
//! clear could be read on the way. A caller with a client certificate the client CA signed is the
//! directory user its e-mail names; anyone else is named by each request's bearer token.
//!
//! The handshake has `TLS_HANDSHAKE_TIMEOUT`, and connections count against the caller's address
//! and the service's overall cap before a byte is read, as the socket's count against a uid.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::identity::Peer;
use super::{ServeError, tls};
use crate::api::limits::TLS_HANDSHAKE_TIMEOUT;

/// What `serve` was asked to listen on, from the command line or config.toml.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `ADDR:PORT`; without it there is no HTTPS door.
    pub listen: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub client_ca: Option<PathBuf>,
    /// Plain HTTP, on a loopback address only.
    pub insecure: bool,
}

/// The door, bound and ready to accept.
pub struct Door {
    pub listener: TcpListener,
    /// None: plain HTTP on loopback (`--insecure`).
    tls: Option<TlsAcceptor>,
}

fn fail(message: String) -> ServeError {
    ServeError::Config(message)
}

/// The door `settings` ask for, bound; None when they ask for none. Everything is checked before
/// the store is opened, so a mistake changes nothing.
pub async fn open(settings: &Settings) -> Result<Option<Door>, ServeError> {
    let Some(listen) = settings.listen.as_deref() else {
        return Ok(None);
    };
    let addr: SocketAddr = listen.trim().parse().map_err(|_| {
        fail(format!(
            "--listen needs an address and a port, like 127.0.0.1:8443 or [::1]:8443, not `{}`",
            crate::domain::text::shown(listen)
        ))
    })?;
    let tls = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => {
            Some(TlsAcceptor::from(tls::server_config(cert, key, settings.client_ca.as_deref())?))
        }
        (None, None) => None,
        _ => {
            return Err(fail(
                "--tls-cert and --tls-key go together: give both, the certificate and its key".into(),
            ));
        }
    };
    if tls.is_none() {
        if !settings.insecure || !addr.ip().is_loopback() {
            return Err(fail(format!(
                "--listen {addr} without TLS would send tokens and decisions in the clear: give --tls-cert and --tls-key (plain HTTP is only for a loopback address, with --insecure)"
            )));
        }
        if settings.client_ca.is_some() {
            return Err(fail("--client-ca needs TLS: give --tls-cert and --tls-key too".into()));
        }
    }
    let listener =
        TcpListener::bind(addr).await.map_err(|e| fail(format!("cannot listen on {addr}: {e}")))?;
    Ok(Some(Door { listener, tls }))
}

impl Door {
    /// Where the door listens and how, for the log.
    pub fn describe(&self) -> String {
        let addr = self.listener.local_addr().map_or_else(|_| "?".to_string(), |a| a.to_string());
        match self.tls {
            Some(_) => format!("https://{addr}"),
            None => format!("http://{addr} (plain, loopback only)"),
        }
    }

    /// The peer at the other end of a connection once its handshake is done, and the stream to
    /// serve; why not, when the handshake failed or took too long.
    pub async fn handshake(&self, stream: TcpStream, addr: IpAddr) -> Result<(Peer, Stream), String> {
        // Answers are small and each waits on its request: Nagle's algorithm would hold an answer
        // back until the client acknowledged the last one.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY on an HTTPS connection: {e}");
        }
        let Some(acceptor) = &self.tls else {
            return Ok((Peer::Remote(addr), Stream::Plain(stream)));
        };
        let stream = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(format!("the TLS handshake failed: {e}")),
            Err(_) => {
                return Err(format!(
                    "the TLS handshake took longer than {} s",
                    TLS_HANDSHAKE_TIMEOUT.as_secs()
                ));
            }
        };
        let email =
            stream.get_ref().1.peer_certificates().and_then(|chain| chain.first()).and_then(tls::email_of);
        let peer = match email {
            Some(upn) => Peer::Known(Some(upn)),
            None => Peer::Remote(addr),
        };
        Ok((peer, Stream::Tls(Box::new(stream))))
    }
}

/// A connection of the door, with or without TLS.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
