//! Certificates made with rcgen and a service started with its HTTPS door on loopback: what the
//! HTTPS door's tests and the test of the three doors need to reach a service over TLS as a
//! directory user's client certificate.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType,
};

use super::process::{Process, serve_command};
use super::*;

/// The certificates of one test, as PEM files in its folder.
pub struct Pki {
    pub dir: tempfile::TempDir,
}

impl Pki {
    /// A CA; the server's certificate for 127.0.0.1 and localhost; a client certificate for DAVE;
    /// and another CA with a client certificate of its own that also claims to be DAVE.
    pub fn new() -> Pki {
        Pki::with_clients(&[("dave", DAVE)])
    }

    /// As `new`, with a client certificate of the CA for each (file name, email) of `clients`
    /// instead of DAVE's alone.
    pub fn with_clients(clients: &[(&str, &str)]) -> Pki {
        let pki = Pki { dir: tempfile::tempdir().unwrap() };
        let ca = pki.ca("ca");
        let mut server = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        server.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        pki.leaf("server", server, &ca);
        for (name, email) in clients {
            pki.client(name, email, &ca);
        }
        let other = pki.ca("other-ca");
        pki.client("mallory", DAVE, &other);
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn ca(&self, name: &str) -> CertifiedIssuer<'static, KeyPair> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        self.write(&format!("{name}.pem"), &ca.pem(), 0o644);
        ca
    }

    pub fn client(&self, name: &str, email: &str, ca: &CertifiedIssuer<'static, KeyPair>) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = vec![SanType::Rfc822Name(email.try_into().unwrap())];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.leaf(name, params, ca);
    }

    pub fn leaf(&self, name: &str, params: CertificateParams, ca: &CertifiedIssuer<'static, KeyPair>) {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &**ca).unwrap();
        self.write(&format!("{name}.pem"), &cert.pem(), 0o644);
        self.write(&format!("{name}-key.pem"), &key.serialize_pem(), 0o600);
    }

    pub fn write(&self, name: &str, text: &str, mode: u32) {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// `jitdesk serve` on `store` with `args` after `serve`, its config folder empty.
pub fn serve(store: &Store, args: &[&str]) -> Command {
    let mut cmd = serve_command(&store.path, store.dir.path());
    cmd.env("XDG_CONFIG_HOME", store.dir.path().join("config")).args(args);
    cmd
}

/// The service with its HTTPS door, and the door's port (from its first line).
pub fn start(store: &Store, pki: &Pki) -> (Process, u16) {
    let (cert, key, ca) = (pki.path("server.pem"), pki.path("server-key.pem"), pki.path("ca.pem"));
    let mut cmd = serve(store, &["--listen", "127.0.0.1:0"]);
    cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key).arg("--client-ca").arg(ca);
    let (process, line) = Process::start(&mut cmd);
    let port = line
        .rsplit_once("https://127.0.0.1:")
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("serve did not say where its door is: {line:?}"));
    (process, port)
}
