//! The HTTPS door's harness, for every test that reaches `jitdesk serve --listen` from outside: a
//! CA and certificates made in the test with rcgen, the service with its door on loopback, curl
//! on the door and on the socket, and the CLI with `JITDESK_URL` and `--ca`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType,
};
use serde_json::Value;

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
    serve_in(&store.path, store.dir.path(), args)
}

/// `jitdesk serve` on the store file `store`, its data (its log) in `dir` and its config folder
/// `dir/config`, with `args` after `serve`.
pub fn serve_in(store: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = serve_command(store, dir);
    cmd.env("XDG_CONFIG_HOME", dir.join("config")).args(args);
    cmd
}

/// The service with its HTTPS door, and the door's port (from its first line).
pub fn start(store: &Store, pki: &Pki) -> (Process, u16) {
    door(&mut serve(store, &["--listen", "127.0.0.1:0"]), pki)
}

/// Starts `cmd` (a `serve --listen`) with the test's server certificate and client CA; the
/// process and the door's port (from its first line).
pub fn door(cmd: &mut Command, pki: &Pki) -> (Process, u16) {
    let (cert, key, ca) = (pki.path("server.pem"), pki.path("server-key.pem"), pki.path("ca.pem"));
    cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key).arg("--client-ca").arg(ca);
    let (process, line) = Process::start(cmd);
    let port = line
        .rsplit_once("https://127.0.0.1:")
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("serve did not say where its door is: {line:?}"));
    (process, port)
}

/// One curl call: its exit code, the HTTP status, the answer's headers and its body.
#[derive(Debug)]
pub struct Curl {
    pub code: i32,
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Curl {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub fn curl(args: &[&str]) -> Curl {
    let headers = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("curl")
        .args(["-s", "--max-time", "30", "-o", "-", "-w", "\n%{http_code}", "-D"])
        .arg(headers.path())
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    Curl {
        code: out.status.code().unwrap_or(-1),
        status: status.trim().parse().unwrap_or(0),
        headers: std::fs::read_to_string(headers.path()).unwrap_or_default().to_lowercase(),
        body: body.to_string(),
    }
}

/// curl on the door, trusting the test's CA, with `extra` arguments (a client certificate, say).
pub fn https(pki: &Pki, port: u16, path: &str, extra: &[&str]) -> Curl {
    let ca = pki.path("ca.pem");
    let url = format!("https://127.0.0.1:{port}{path}");
    let mut args = vec!["--cacert", ca.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args)
}

pub fn as_client(pki: &Pki, name: &str) -> [String; 4] {
    let path = |p: &str| pki.path(p).to_string_lossy().to_string();
    ["--cert".into(), path(&format!("{name}.pem")), "--key".into(), path(&format!("{name}-key.pem"))]
}

pub fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// curl on the service's socket, as the operator naming `upn` (what the socket shows that user).
pub fn socket_as(store: &Store, upn: &str, path: &str) -> Curl {
    socket_call(store, upn, path, &[])
}

/// `socket_as` with `extra` arguments (a method and a body, say).
pub fn socket_call(store: &Store, upn: &str, path: &str, extra: &[&str]) -> Curl {
    let socket = format!("{}.sock", store.path.display());
    let (url, as_upn) = (format!("http://localhost{path}"), format!("X-Jitdesk-As: {upn}"));
    let mut args = vec!["--unix-socket", &socket, "-H", &as_upn];
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args)
}

pub fn curl_present() -> bool {
    let here = Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    if !here {
        eprintln!("skipped: curl is not installed (.ci/run installs it)");
    }
    here
}

/// The CLI with `JITDESK_URL` and `--ca`, on a store path that does not exist: with a URL nothing
/// is opened here. `extra` adds to its environment.
pub fn cli(pki: &Pki, port: u16, args: &[&str], extra: &[(&str, String)]) -> (Run, PathBuf) {
    let nowhere = pki.path("none.redb");
    let mut cmd = bare_command();
    cmd.env("XDG_CONFIG_HOME", pki.path("config"))
        .env("JITDESK_URL", format!("https://127.0.0.1:{port}"))
        .arg("--store")
        .arg(&nowhere)
        .arg("--ca")
        .arg(pki.path("ca.pem"))
        .args(args);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    (Run::from_cmd(&mut cmd), nowhere)
}
