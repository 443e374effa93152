//! From a URL to a pool of connections: the URL parsed by the client's own parser (a password in
//! it refused), the password from `[store] password_file` or libpq's password file, TLS over
//! rustls as `sslmode` asks, and a connect timeout so that a server out of reach answers in
//! seconds. The pool's connections are the asynchronous client's, driven on the thread that
//! waits for them (`Driver`), so that a transaction can send statements without waiting for each
//! answer (`transaction::On`): a blocking client answers every statement before the next is sent.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::pgpass::{self, Wanted};
use super::{PgSettings, errors};
use crate::engine::StoreError;
use crate::private_file::{self, Rules};

/// The pool's connections: the store thread's writer, and the blocking readers beside it.
const POOL_SIZE: u32 = 8;
/// How long a connection may take to open when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a transaction waits for a free connection before it answers why.
/// (A server out of reach fails each connect at once; the pool tries again until this passes.)
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

const PASSWORD_FILE: Rules = Rules::secret("database password file", 64 * 1024);
const CA_FILE: Rules = Rules::shared("database CA certificate", 1024 * 1024).or_root();

/// The connections of one open database.
pub(super) type Pool = r2d2::Pool<PgManager>;

/// One connection of the pool, and the statements it has prepared, by their text: a query is
/// prepared once per connection and only executed after that, one round trip instead of two.
pub(super) struct Conn {
    pub client: Client,
    pub driver: Driver,
    pub statements: HashMap<String, Statement>,
}

/// What moves a connection's messages both ways: its socket's task, polled only while a caller
/// waits for an answer (`wait`), on the caller's own thread and a small runtime of its own, as the
/// blocking client does it. None once the connection has ended.
pub(super) struct Driver {
    runtime: tokio::runtime::Runtime,
    connection: Option<Socket>,
}

/// A connection's task: it ends when the connection does.
type Socket = Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send>>;

impl Driver {
    /// Waits for `work`, moving the connection's messages meanwhile. A connection that ends first
    /// fails the work as closed (its answers can no longer come). Never called from async code:
    /// it blocks its thread, as the storage interface does.
    pub fn wait<T>(&mut self, work: impl Future<Output = T>) -> T {
        let Driver { runtime, connection } = self;
        runtime.block_on(async {
            let mut work = std::pin::pin!(work);
            std::future::poll_fn(|cx| {
                if let Poll::Ready(out) = work.as_mut().poll(cx) {
                    return Poll::Ready(out);
                }
                if let Some(socket) = connection.as_mut()
                    && socket.as_mut().poll(cx).is_ready()
                {
                    // Dropping the task closes the client's side, so the work answers at once.
                    *connection = None;
                    return work.as_mut().poll(cx);
                }
                Poll::Pending
            })
            .await
        })
    }

    /// Whether the connection is still open, as far as its socket tells without asking the
    /// server: what arrived while nobody waited (a closing server's farewell) is read now.
    fn alive(&mut self) -> bool {
        let Driver { runtime, connection } = self;
        runtime.block_on(async {
            // Once as it is, and once more after the runtime has looked at the socket.
            for _ in 0..2 {
                std::future::poll_fn(|cx| {
                    if let Some(socket) = connection.as_mut()
                        && socket.as_mut().poll(cx).is_ready()
                    {
                        *connection = None;
                    }
                    Poll::Ready(())
                })
                .await;
                tokio::task::yield_now().await;
            }
        });
        connection.is_some()
    }
}

/// Makes the pool's connections as `Target::connect` does, each with its statements.
pub(super) struct PgManager {
    url: String,
    config: Config,
    tls: MakeRustlsConnect,
}

impl r2d2::ManageConnection for PgManager {
    type Connection = Conn;
    type Error = StoreError;

    fn connect(&self) -> Result<Conn, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
            StoreError::Storage(format!("cannot start the database connection's runtime: {e}"))
        })?;
        let (client, connection) = runtime
            .block_on(self.config.connect(self.tls.clone()))
            .map_err(|e| errors::connecting(&self.url, &e))?;
        let driver = Driver { runtime, connection: Some(Box::pin(connection)) };
        Ok(Conn { client, driver, statements: HashMap::new() })
    }

    /// Asked on every checkout, without a round trip: a server that closed the connection while
    /// it waited in the pool (a restart, an administrator) has said so on its socket.
    fn is_valid(&self, conn: &mut Conn) -> Result<(), StoreError> {
        if conn.driver.alive() {
            Ok(())
        } else {
            Err(StoreError::Storage("the database closed the connection".into()))
        }
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed() || conn.driver.connection.is_none()
    }
}

/// What an open needs to reach the database: the parsed URL with its password, and TLS.
#[derive(Clone)]
pub(super) struct Target {
    /// The URL as given (it holds no password): what the store's path shows.
    pub url: String,
    config: Config,
    tls: MakeRustlsConnect,
}

impl Target {
    /// Reads the URL and everything beside it that a connection needs, refusing in one line what
    /// cannot work.
    pub fn new(url: &str, settings: &PgSettings) -> Result<Target, StoreError> {
        let refuse = |detail: String| StoreError::Unreadable { path: PathBuf::from(url), detail };
        let mut config: Config = url
            .parse()
            .map_err(|e| refuse(format!("this is not a PostgreSQL URL jitdesk can use ({}): check its form, postgres://USER@HOST:PORT/DATABASE", errors::with_cause(&e))))?;
        if config.get_password().is_some() {
            return Err(refuse(
                "the URL holds a password, which would show wherever the URL does: take it out, and put it in the file [store] password_file names, or in PGPASSFILE (~/.pgpass)".into(),
            ));
        }
        if config.get_user().is_none() {
            let name = os_user_name().ok_or_else(|| {
                refuse("the URL names no user: give one, as in postgres://USER@HOST/DATABASE".into())
            })?;
            config.user(&name);
        }
        if config.get_hosts().is_empty() {
            return Err(refuse(
                "the URL names no host: give one, or a socket folder with ?host=/path".into(),
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("jitdesk");
        }
        if let Some(password) = password(&config, settings).map_err(refuse)? {
            config.password(password);
        }
        let tls = MakeRustlsConnect::new(tls_config(settings.ca_file.as_deref()).map_err(refuse)?);
        Ok(Target { url: url.to_string(), config, tls })
    }

    /// One blocking connection (for migrations and listening), with the server's refusal worded
    /// for whoever runs jitdesk.
    pub fn connect(&self) -> Result<::postgres::Client, StoreError> {
        ::postgres::Config::from(self.config.clone())
            .connect(self.tls.clone())
            .map_err(|e| errors::connecting(&self.url, &e))
    }

    /// A pool that opens connections as they are needed, each as `connect` does.
    pub fn pool(&self) -> Pool {
        let manager = PgManager { url: self.url.clone(), config: self.config.clone(), tls: self.tls.clone() };
        r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .build_unchecked(manager)
    }
}

/// The name of the user this process runs as: libpq's default database user.
fn os_user_name() -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::geteuid()).ok().flatten().map(|u| u.name)
}

/// The password: the whole first line of `[store] password_file` when one is set; else the line
/// of PGPASSFILE (or ~/.pgpass, when it exists) that matches the connection; else none (the
/// server may trust the connection, or ask and refuse).
fn password(config: &Config, settings: &PgSettings) -> Result<Option<String>, String> {
    if let Some(file) = &settings.password_file {
        let bytes = private_file::read(file, PASSWORD_FILE).map_err(|e| e.to_string())?;
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("the database password file {} is not UTF-8 text", file.display()))?;
        return Ok(Some(text.lines().next().unwrap_or_default().to_string()));
    }
    let (file, named) = match std::env::var_os("PGPASSFILE") {
        Some(file) => (PathBuf::from(file), true),
        None => match std::env::var_os("HOME") {
            Some(home) => (Path::new(&home).join(".pgpass"), false),
            None => return Ok(None),
        },
    };
    if !named && !file.exists() {
        return Ok(None);
    }
    let bytes = private_file::read(&file, PASSWORD_FILE).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&bytes);
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.as_str(),
        _ => "localhost",
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = config.get_user().unwrap_or_default();
    let database = config.get_dbname().unwrap_or(user);
    Ok(pgpass::find(&text, &Wanted { host, port: &port, database, user }))
}

/// TLS that trusts the CA of `ca_file`, or else the web's usual roots. Used only when `sslmode`
/// asks for TLS (`prefer`, `require`) and the connection is not over a Unix socket.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(ca) => {
            let pem = private_file::read(ca, CA_FILE).map_err(|e| e.to_string())?;
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(&pem).collect::<Result<_, _>>().map_err(|e| {
                    format!(
                        "cannot read the certificates in {} ({e}): [store] ca_file needs PEM",
                        ca.display()
                    )
                })?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "{} holds no CA certificate in PEM: check [store] ca_file",
                    ca.display()
                ));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> String {
        match Target::new(url, &PgSettings::default()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{url} was taken"),
        }
    }

    #[test]
    fn a_password_in_the_url_is_refused_in_one_line_saying_where_it_goes() {
        let line = refused("postgres://jit:secret@db.example/jit");
        assert!(line.contains("password_file") && line.contains("PGPASSFILE"), "{line}");
        assert!(!line.contains('\n'), "{line}");
        let line = refused("postgresql://jit@db.example/jit?password=secret");
        assert!(line.contains("password_file"), "{line}");
    }

    #[test]
    fn a_url_that_does_not_parse_is_refused_saying_the_form() {
        let line = refused("postgres://jit@db.example/jit?sslmode=sometimes");
        assert!(line.contains("postgres://USER@HOST:PORT/DATABASE"), "{line}");
    }

    #[test]
    fn the_password_file_gives_its_first_line() {
        let dir = tempfile::tempdir().expect("a temp folder");
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\nignored\n").expect("write");
        let settings = PgSettings { password_file: Some(file.clone()), ca_file: None };
        let config: Config = "postgres://jit@db.example/jit".parse().expect("a URL");
        // Others may read it: refused, saying how to fix it.
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).expect("chmod");
        let refusal = password(&config, &settings).expect_err("an exposed file");
        assert!(refusal.contains("chmod 600"), "{refusal}");
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        assert_eq!(password(&config, &settings).expect("read").as_deref(), Some("s3cret"));
    }
}
