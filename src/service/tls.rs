//! The TLS of the HTTPS door: its certificate and key, read from files the service checks first
//! (nothing is trusted for being at a path: the files must be the operator's or root's, and the
//! key readable by nobody else), and, with a client CA, the certificates callers may prove who they
//! are with. A verified client certificate names its directory user by its e-mail address (an
//! rfc822Name in its subject alternative names).

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};

use super::ServeError;
use crate::private_file::{self, Rules};

/// The files are the service's user's or root's (an administrator may install them), writable by
/// nobody else, and the key readable by nobody else. A megabyte is far more than any chain or CA
/// bundle needs, 64 KiB more than any key.
const CERTIFICATE: Rules = Rules::shared("TLS certificate", 1 << 20).or_root();
const CLIENT_CA: Rules = Rules::shared("client CA file", 1 << 20).or_root();
const KEY: Rules = Rules::secret("TLS key", 64 * 1024).or_root();

fn fail(message: String) -> ServeError {
    ServeError::Config(message)
}

/// The TLS settings of the door: its certificate chain and key, and the CA of client certificates.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, ServeError> {
    let chain = certificates(cert, CERTIFICATE, "--tls-cert")?;
    let key_pem = private_file::read(key, KEY).map_err(|e| fail(e.to_string()))?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        fail(format!(
            "{} holds no private key in PEM ({e}): give the key of --tls-cert with --tls-key",
            key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(|e| fail(format!("cannot set up TLS: {e}")))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for der in certificates(ca, CLIENT_CA, "--client-ca")? {
                roots
                    .add(der)
                    .map_err(|e| fail(format!("{} holds a certificate that is no CA ({e})", ca.display())))?;
            }
            // A caller without a certificate is not refused here: a bearer token may name them.
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| fail(format!("cannot use {} as the client CA: {e}", ca.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key_der).map_err(|e| {
        fail(format!("the key {} does not fit the certificate {} ({e})", key.display(), cert.display()))
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The certificates of a PEM file, at least one.
fn certificates(path: &Path, rules: Rules, flag: &str) -> Result<Vec<CertificateDer<'static>>, ServeError> {
    let pem = private_file::read(path, rules).map_err(|e| fail(e.to_string()))?;
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&pem).collect::<Result<_, _>>().map_err(|e| {
            fail(format!("cannot read the certificates in {} ({e}): give PEM with {flag}", path.display()))
        })?;
    if chain.is_empty() {
        return Err(fail(format!("{} holds no certificate in PEM: give one with {flag}", path.display())));
    }
    Ok(chain)
}

/// The e-mail address a verified client certificate names, lower-cased: the directory user it is.
pub fn email_of(cert: &CertificateDer<'_>) -> Option<String> {
    use x509_parser::extensions::GeneralName;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let names = parsed.subject_alternative_name().ok()??;
    names.value.general_names.iter().find_map(|name| match name {
        GeneralName::RFC822Name(email) => Some(email.trim().to_lowercase()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn pair() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_key_others_may_read_or_a_file_others_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair();
        let cert_path = write(dir.path(), "cert.pem", &cert, 0o644);
        let open_key = write(dir.path(), "open.pem", &key, 0o640);
        let e = server_config(&cert_path, &open_key, None).unwrap_err().to_string();
        assert!(e.contains("may be read by others") && e.contains("chmod 600"), "{e}");
        let writable = write(dir.path(), "w.pem", &cert, 0o666);
        let private = write(dir.path(), "key.pem", &key, 0o600);
        let e = server_config(&writable, &private, None).unwrap_err().to_string();
        assert!(e.contains("may be written by others"), "{e}");
        assert!(server_config(&cert_path, &private, None).is_ok());
        let no_key = write(dir.path(), "no-key.pem", &cert, 0o600);
        let e = server_config(&cert_path, &no_key, None).unwrap_err().to_string();
        assert!(e.contains("no private key"), "{e}");
    }

    #[test]
    fn a_client_certificate_names_its_user_by_its_email() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![]).unwrap();
        params.subject_alt_names = vec![
            rcgen::SanType::DnsName("host.example".try_into().unwrap()),
            rcgen::SanType::Rfc822Name("Dave@Fabrikam.com".try_into().unwrap()),
        ];
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(email_of(cert.der()).as_deref(), Some("dave@fabrikam.com"));
        let (plain, _) = pair();
        let der = CertificateDer::from_pem_slice(plain.as_bytes()).unwrap();
        assert_eq!(email_of(&der), None, "no e-mail, no user");
    }
}
