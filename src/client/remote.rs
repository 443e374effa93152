//! A service on another machine: `JITDESK_URL=https://host:port` (or `url` in config.toml), reached
//! over TLS that trusts `--ca FILE` (`JITDESK_CA`, `ca`) or else the web's usual roots, proving who
//! the caller is with `JITDESK_TOKEN` (or the private file `token_file` names) as a bearer token,
//! or with a client certificate (`JITDESK_CERT` and `JITDESK_KEY`, or `cert` and `key`) when the
//! service takes them.
//! Plain `http://` is for a loopback address only: a token sent in the clear could be read on the
//! way. With a URL the client never opens a store of its own.
//!
//! Several URLs name the replicas of one service (`JITDESK_URL=https://a:8443,https://b:8443`, or
//! `url = [...]`): each is vetted alike and reached with the same token, CA and certificate; the
//! client (`super::Client`) uses the one that answers and moves to the next when it cannot connect.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

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
use crate::private_file::{self, Rules};

/// The most of a CA or certificate file read.
const MAX_FILE: u64 = 1 << 20;
/// A token and a client certificate's key are secrets of this user; neither needs 64 KiB.
const TOKEN_FILE: Rules = Rules::secret("token file", 64 * 1024);
const KEY: Rules = Rules::secret("client key", 64 * 1024);

/// The most services one URL list may name: each may take `CONNECT_TIMEOUT` before the next is
/// tried, and trying all of them fits in one call's time.
pub const MAX_ENDPOINTS: usize = 5;
/// How long reaching one service may take (TCP and TLS) before the next is tried.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the remote service is and how to reach it: one service, or the replicas of one service
/// (on one database), tried in the order given.
#[derive(Clone)]
pub struct Remote {
    /// Never empty, no two alike.
    endpoints: Vec<Endpoint>,
    /// `Authorization: Bearer ...`, when a token is set: the same for every endpoint.
    pub token: Option<HeaderValue>,
}

/// One service's address.
#[derive(Clone)]
pub struct Endpoint {
    /// The URL as people read it, for messages: `https://host:port`.
    pub shown: String,
    /// `host:port`, to connect to and to send as `Host`.
    authority: String,
    /// None: plain HTTP on loopback.
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

/// Why a connection to an endpoint could not be made; nothing was sent on it.
#[derive(Debug)]
pub(super) enum Unreached {
    Tcp(std::io::Error),
    Tls(std::io::Error),
    Http(hyper::Error),
    Silent,
}

impl std::fmt::Display for Unreached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreached::Tcp(e) => write!(f, "{e}"),
            Unreached::Tls(e) => write!(f, "TLS: {e}"),
            Unreached::Http(e) => write!(f, "{e}"),
            Unreached::Silent => write!(f, "no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }
    }
}

impl Unreached {
    /// The one line for a URL that names one service.
    pub(super) fn into_error(self, shown: &str) -> Error {
        match self {
            Unreached::Tcp(e) => Error::Unreachable(format!(
                "cannot reach the jitdesk service at {shown}: {e}; nothing was changed: try again"
            )),
            Unreached::Tls(e) => Error::Service(format!(
                "cannot open a TLS connection to {shown} ({e}): if it has a certificate of a private CA, give that CA with --ca"
            )),
            Unreached::Http(e) => {
                Error::Service(format!("the jitdesk service at {shown} closed the connection ({e})"))
            }
            Unreached::Silent => Error::Unreachable(format!(
                "the jitdesk service at {shown} did not answer within {} s; nothing was changed: try again",
                CONNECT_TIMEOUT.as_secs()
            )),
        }
    }
}

fn local(message: String) -> Error {
    Error::Local(message)
}

impl Remote {
    /// The remote service the environment or config.toml names, with `ca` (`--ca`) as its CA;
    /// None when neither names one. `JITDESK_URL` names several replicas separated by commas;
    /// `url` in config.toml as a list.
    pub fn configured(ca: Option<&Path>, config: &Config) -> Result<Option<Remote>> {
        let env = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let urls: Vec<String> = match (env("JITDESK_URL"), &config.url) {
            (Some(list), _) => {
                list.split(',').map(str::trim).filter(|url| !url.is_empty()).map(str::to_string).collect()
            }
            (None, Some(url)) => url.to_vec(),
            (None, None) => return Ok(None),
        };
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
        let remote = Remote::new(&urls, token.as_deref(), ca.as_deref(), identity.as_ref())?;
        if identity.is_some() && remote.endpoints.iter().any(|e| e.tls.is_none()) {
            return Err(local("a client certificate needs https:// in JITDESK_URL".into()));
        }
        Ok(Some(remote))
    }

    /// The service at `urls` (its replicas, in the order to try them), each vetted alike, with
    /// `token`, the CA of `ca` (else the web's roots) and a client certificate.
    pub fn new(
        urls: &[impl AsRef<str>],
        token: Option<&str>,
        ca: Option<&Path>,
        identity: Option<&Identity>,
    ) -> Result<Remote> {
        if urls.iter().all(|url| url.as_ref().trim().is_empty()) {
            return Err(bad_url(""));
        }
        if urls.len() > MAX_ENDPOINTS {
            return Err(local(format!(
                "JITDESK_URL names {} services: name at most {MAX_ENDPOINTS}, the replicas to try in order",
                urls.len()
            )));
        }
        let token = token
            .map(|t| {
                HeaderValue::from_str(&format!("Bearer {}", t.trim())).map_err(|_| {
                    local("the token holds characters no token has: check JITDESK_TOKEN or token_file".into())
                })
            })
            .transpose()?;
        // Made once, and only when a URL needs it: a CA file is read for https:// alone.
        let mut tls: Option<Arc<rustls::ClientConfig>> = None;
        let mut endpoints: Vec<Endpoint> = Vec::with_capacity(urls.len());
        for url in urls {
            let endpoint = Endpoint::new(url.as_ref(), &mut tls, ca, identity)?;
            if endpoints.iter().any(|e| e.shown == endpoint.shown) {
                return Err(local(format!(
                    "JITDESK_URL names {} twice: name each service once",
                    endpoint.shown
                )));
            }
            endpoints.push(endpoint);
        }
        Ok(Remote { endpoints, token })
    }

    /// The endpoints, in the order they are tried.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// Endpoint `at` (counted round the list).
    pub fn endpoint(&self, at: usize) -> &Endpoint {
        &self.endpoints[at % self.endpoints.len()]
    }
}

impl Endpoint {
    /// The service at `url`, vetted: https, or http on loopback. Its TLS set-up is `tls`, made
    /// from `ca` and `identity` when it is still None.
    fn new(
        url: &str,
        tls: &mut Option<Arc<rustls::ClientConfig>>,
        ca: Option<&Path>,
        identity: Option<&Identity>,
    ) -> Result<Endpoint> {
        let uri: Uri = url.trim().parse().map_err(|_| bad_url(url))?;
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else { return Err(bad_url(url)) };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let secure = match scheme {
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
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let authority =
            if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let scheme = if secure { "https" } else { "http" };
        let shown = format!("{scheme}://{authority}");
        let tls = match secure {
            false => None,
            true => {
                let name = ServerName::try_from(host.clone()).map_err(|_| bad_url(url))?;
                let config = match tls {
                    Some(config) => config.clone(),
                    None => tls.insert(Arc::new(client_config(ca, identity)?)).clone(),
                };
                Some((TlsConnector::from(config), name))
            }
        };
        Ok(Endpoint { shown, authority, tls })
    }

    /// `Host` for requests.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// A new connection to the service, its HTTP driver running as a task of its own.
    pub(super) async fn connect(&self) -> std::result::Result<SendRequest<Full<Bytes>>, Unreached> {
        let tcp = TcpStream::connect(&self.authority).await.map_err(Unreached::Tcp)?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => handshake(tcp).await,
            Some((connector, name)) => {
                let stream = connector.connect(name.clone(), tcp).await.map_err(Unreached::Tls)?;
                handshake(stream).await
            }
        }
    }
}

async fn handshake<I>(io: I) -> std::result::Result<SendRequest<Full<Bytes>>, Unreached>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(io)).await.map_err(Unreached::Http)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("a connection to the service ended: {e}");
        }
    });
    Ok(sender)
}

fn bad_url(url: &str) -> Error {
    local(format!(
        "JITDESK_URL must look like https://host:port (or several such, separated by commas), not `{}`",
        crate::domain::text::shown(url)
    ))
}

/// Whether `host` names this machine: where plain text cannot be read on the way.
pub(crate) fn loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A client certificate and its key, PEM files.
pub struct Identity {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

/// TLS that trusts the certificates of `ca`, or else the web's usual roots, and shows `identity`:
/// every connection jitdesk opens over TLS (to a remote service, to a webhook) is set up here.
pub(crate) fn client_config(ca: Option<&Path>, identity: Option<&Identity>) -> Result<rustls::ClientConfig> {
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
            let key_der = PrivateKeyDer::from_pem_slice(
                &private_file::read(key, KEY).map_err(|e| local(e.to_string()))?,
            )
            .map_err(|e| {
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
    let bytes = private_file::read(path, TOKEN_FILE).map_err(|e| local(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| local(format!("{} holds no token", path.display())))?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(local(format!("the token file {} is empty", path.display())));
    }
    Ok(token)
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
        let e = Remote::new(&["http://jit.example.com:8080"], None, None, None).err().unwrap().to_string();
        assert!(e.contains("in the clear") && e.contains("https://"), "{e}");
        for loopback in ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"] {
            let remote =
                Remote::new(&[loopback], Some("t"), None, None).unwrap_or_else(|e| panic!("{loopback}: {e}"));
            assert!(remote.endpoint(0).tls.is_none());
            assert_eq!(remote.token.as_ref().unwrap(), "Bearer t");
        }
        let remote = Remote::new(&["https://jit.example.com"], None, None, None).unwrap();
        let endpoint = remote.endpoint(0);
        assert_eq!(
            (endpoint.shown.as_str(), endpoint.authority()),
            ("https://jit.example.com:443", "jit.example.com:443")
        );
        for bad in ["jit.example.com", "ftp://x", "https://", ""] {
            assert!(Remote::new(&[bad], None, None, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_replica_is_vetted_alike_and_named_once() {
        let both = ["https://a.example.com:8443", "https://b.example.com:8443"];
        let remote = Remote::new(&both, Some("t"), None, None).unwrap();
        let shown: Vec<&str> = remote.endpoints().iter().map(|e| e.shown.as_str()).collect();
        assert_eq!(shown, both, "in the order given");
        assert!(remote.endpoints().iter().all(|e| e.tls.is_some()));
        assert_eq!(remote.endpoint(3).shown, both[1], "counted round the list");
        // One URL in the clear spoils the list: the token would go to it.
        let e = Remote::new(&[both[0], "http://b.example.com:8080"], None, None, None).err().unwrap();
        assert!(e.to_string().contains("in the clear"), "{e}");
        let e = Remote::new(&[both[0], "https://a.example.com:8443/"], None, None, None).err().unwrap();
        assert!(e.to_string().contains("twice"), "{e}");
        let many = vec![both[0]; MAX_ENDPOINTS + 1];
        let e = Remote::new(&many, None, None, None).err().unwrap();
        assert!(e.to_string().contains(&format!("at most {MAX_ENDPOINTS}")), "{e}");
    }
}
