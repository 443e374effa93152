//! A service on another machine: `JITDESK_URL=https://host:port` (or `url` in config.toml), reached
//! over TLS that trusts `--ca FILE` (`JITDESK_CA`, `ca`) or else the web's usual roots, proving who
//! the caller is with `JITDESK_TOKEN` (or the private file `token_file` names) as a bearer token,
//! or with a client certificate (`JITDESK_CERT` and `JITDESK_KEY`, or `cert` and `key`) when the
//! service takes them.
//! Plain `http://` is for a loopback address only: a token sent in the clear could be read on the
//! way. With a URL the client never opens a store of its own.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use http_body_util::Full;
use hyper::Uri;
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::HeaderValue;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{Error, Result};
use crate::config::Config;

/// The most of a CA or token file read.
const MAX_FILE: u64 = 1 << 20;

/// Where the remote service is and how to reach it.
#[derive(Clone)]
pub struct Remote {
    /// The URL as people read it, for messages: `https://host:port`.
    pub shown: String,
    /// `host:port`, to connect to and to send as `Host`.
    authority: String,
    /// None: plain HTTP on loopback.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// `Authorization: Bearer ...`, when a token is set.
    pub token: Option<HeaderValue>,
}

fn local(message: String) -> Error {
    Error::Local(message)
}

impl Remote {
    /// The remote service the environment or config.toml names, with `ca` (`--ca`) as its CA;
    /// None when neither names one.
    pub fn configured(ca: Option<&Path>, config: &Config) -> Result<Option<Remote>> {
        let env = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let Some(url) = env("JITDESK_URL").or(config.url.clone()) else { return Ok(None) };
        let token = match env("JITDESK_TOKEN") {
            Some(token) => Some(token),
            None => config.token_file.as_deref().map(token_from).transpose()?,
        };
        let ca = ca.map(Path::to_path_buf).or(config.ca.clone());
        let path = |name| env(name).map(std::path::PathBuf::from);
        let identity = match (
            path("JITDESK_CERT").or(config.cert.clone()),
            path("JITDESK_KEY").or(config.key.clone()),
        ) {
            (Some(cert), Some(key)) => Some(Identity { cert, key }),
            (None, None) => None,
            _ => return Err(local("JITDESK_CERT and JITDESK_KEY go together: give both, or neither".into())),
        };
        let remote = Remote::new(&url, token.as_deref(), ca.as_deref(), identity.as_ref())?;
        if remote.tls.is_none() && identity.is_some() {
            return Err(local("a client certificate needs https:// in JITDESK_URL".into()));
        }
        Ok(Some(remote))
    }

    /// The service at `url`, with `token`, the CA of `ca` (else the web's roots) and a client
    /// certificate.
    pub fn new(
        url: &str,
        token: Option<&str>,
        ca: Option<&Path>,
        identity: Option<&Identity>,
    ) -> Result<Remote> {
        let uri: Uri = url.trim().parse().map_err(|_| bad_url(url))?;
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else { return Err(bad_url(url)) };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let tls = match scheme {
            "https" => true,
            "http" if loopback(&host) => false,
            "http" => {
                return Err(local(format!(
                    "JITDESK_URL {} would send your token in the clear: use https:// (http:// is for a loopback address only)",
                    crate::domain::text::shown(url)
                )));
            }
            _ => return Err(bad_url(url)),
        };
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let authority =
            if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let scheme = if tls { "https" } else { "http" };
        let shown = format!("{scheme}://{authority}");
        let token = token
            .map(|t| {
                HeaderValue::from_str(&format!("Bearer {}", t.trim())).map_err(|_| {
                    local("the token holds characters no token has: check JITDESK_TOKEN or token_file".into())
                })
            })
            .transpose()?;
        let tls = match tls {
            false => None,
            true => {
                let name = ServerName::try_from(host.clone()).map_err(|_| bad_url(url))?;
                Some((TlsConnector::from(Arc::new(client_config(ca, identity)?)), name))
            }
        };
        Ok(Remote { shown, authority, tls, token })
    }

    /// `Host` for requests.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// A new connection to the service, its HTTP driver running as a task of its own.
    pub async fn connect(&self) -> Result<SendRequest<Full<Bytes>>> {
        let unreachable = |e: std::io::Error| {
            Error::Unreachable(format!(
                "cannot reach the jitdesk service at {}: {e}; nothing was changed: try again",
                self.shown
            ))
        };
        let tcp = TcpStream::connect(&self.authority).await.map_err(unreachable)?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => handshake(tcp, &self.shown).await,
            Some((connector, name)) => {
                let stream = connector.connect(name.clone(), tcp).await.map_err(|e| {
                    Error::Service(format!(
                        "cannot open a TLS connection to {} ({e}): if it has a certificate of a private CA, give that CA with --ca",
                        self.shown
                    ))
                })?;
                handshake(stream, &self.shown).await
            }
        }
    }
}

async fn handshake<I>(io: I, shown: &str) -> Result<SendRequest<Full<Bytes>>>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| Error::Service(format!("the jitdesk service at {shown} closed the connection ({e})")))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("a connection to the service ended: {e}");
        }
    });
    Ok(sender)
}

fn bad_url(url: &str) -> Error {
    local(format!("JITDESK_URL must look like https://host:port, not `{}`", crate::domain::text::shown(url)))
}

fn loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A client certificate and its key, PEM files.
pub struct Identity {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

/// TLS that trusts the certificates of `ca`, or else the web's usual roots, and shows `identity`.
fn client_config(ca: Option<&Path>, identity: Option<&Identity>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(ca) => {
            let pem = read(ca)?;
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(&pem).collect::<std::result::Result<_, _>>().map_err(|e| {
                    local(format!("cannot read the certificates in {} ({e}): --ca needs PEM", ca.display()))
                })?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(local(format!("{} holds no CA certificate in PEM: check --ca", ca.display())));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(|e| local(format!("cannot set up TLS: {e}")))?
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(Identity { cert, key }) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&read(cert)?)
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| {
                    local(format!(
                        "cannot read the certificate {} ({e}): JITDESK_CERT needs PEM",
                        cert.display()
                    ))
                })?;
            let key_der = PrivateKeyDer::from_pem_slice(&read_private(key, "key")?).map_err(|e| {
                local(format!("{} holds no private key in PEM ({e}): check JITDESK_KEY", key.display()))
            })?;
            builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                local(format!(
                    "the key {} does not fit the certificate {} ({e})",
                    key.display(),
                    cert.display()
                ))
            })?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| local(format!("cannot open {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE)
        .read_to_end(&mut bytes)
        .map_err(|e| local(format!("cannot read {}: {e}", path.display())))?;
    Ok(bytes)
}

/// The token in `path`, a file its owner alone may read: a token others can read is anyone's.
fn token_from(path: &Path) -> Result<String> {
    let text = String::from_utf8(read_private(path, "token file")?)
        .map_err(|_| local(format!("{} holds no token", path.display())))?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(local(format!("the token file {} is empty", path.display())));
    }
    Ok(token)
}

/// The bytes of `path`, a secret (the `what`) that only its owner, this user, may read.
pub(crate) fn read_private(path: &Path, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| local(format!("cannot open the {what} {}: {e}", path.display())))?;
    let meta = file.metadata().map_err(|e| local(format!("cannot look at {}: {e}", path.display())))?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(local(format!(
            "the {what} {} may be read by others (mode {mode:04o}), so it is not used: `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(local(format!("the {what} {} is not yours, so it is not used", path.display())));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE)
        .read_to_end(&mut bytes)
        .map_err(|e| local(format!("cannot read {}: {e}", path.display())))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_token_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = token_from(&path).unwrap_err().to_string();
        assert!(e.contains("may be read by others") && e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(token_from(&path).unwrap(), "secret");
    }

    #[test]
    fn plain_http_is_for_loopback_only_and_a_url_needs_a_host() {
        let e = Remote::new("http://jit.example.com:8080", None, None, None).err().unwrap().to_string();
        assert!(e.contains("in the clear") && e.contains("https://"), "{e}");
        for loopback in ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"] {
            let remote =
                Remote::new(loopback, Some("t"), None, None).unwrap_or_else(|e| panic!("{loopback}: {e}"));
            assert!(remote.tls.is_none());
            assert_eq!(remote.token.as_ref().unwrap(), "Bearer t");
        }
        let remote = Remote::new("https://jit.example.com", None, None, None).unwrap();
        assert_eq!(
            (remote.shown.as_str(), remote.authority()),
            ("https://jit.example.com:443", "jit.example.com:443")
        );
        for bad in ["jit.example.com", "ftp://x", "https://"] {
            assert!(Remote::new(bad, None, None, None).is_err(), "{bad}");
        }
    }
}
