//! A throwaway PostgreSQL server for the tests, and a fresh database on it for each test that asks.
//! With JITDESK_TEST_PG set (a URL `.ci/run` exports), its server is used; otherwise one is started
//! here: a cluster under the temp folder, one per uid, listening on a Unix socket in its folder
//! alone, trusting local connections, and left running for the next test run to reuse. As root it
//! runs as the `postgres` user (PostgreSQL refuses to run as root). When no server can be had,
//! `database` says why in one line and the test returns early; in CI (`CI` set) it fails instead,
//! so no test passes there without having run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where the databases of this process are made: a URL whose database is to be replaced.
static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
/// Numbers this process's databases.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// The URL of a new, empty database for one test; None (after one line saying why) when no
/// server can be had outside CI.
pub fn database() -> Option<String> {
    let server = match SERVER.get_or_init(server) {
        Ok(server) => server,
        Err(why) => return skip(why),
    };
    let name = format!("jt_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut admin = match ::postgres::Client::connect(server, ::postgres::NoTls) {
        Ok(admin) => admin,
        Err(e) => {
            let cause = std::error::Error::source(&e).map(|c| format!(": {c}")).unwrap_or_default();
            return skip(&format!("the test server at {server} does not answer: {e}{cause}"));
        }
    };
    admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create a test database");
    Some(with_database(server, &name))
}

/// Whether a server can be had, saying why not once (or failing in CI).
pub fn available() -> bool {
    match SERVER.get_or_init(server) {
        Ok(_) => true,
        Err(why) => skip::<()>(why).is_some(),
    }
}

fn skip<T>(why: &str) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!(
            "no PostgreSQL for the tests ({why}), which CI must run: set JITDESK_TEST_PG, or install PostgreSQL"
        );
    }
    eprintln!("no PostgreSQL for the tests, so this one is skipped: {why}");
    None
}

/// `url` with its database replaced by `name`, its host and options kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &base[..authority_end])
}

/// The server's URL (its `postgres` database), starting a cluster when none is given.
fn server() -> Result<String, String> {
    if let Ok(url) = std::env::var("JITDESK_TEST_PG") {
        return Ok(url);
    }
    let bin = bin_dir().ok_or("no initdb and pg_ctl found (on PATH or under /usr/lib/postgresql)")?;
    let uid = nix::unistd::geteuid();
    let dir = std::env::temp_dir().join(format!("jitdesk-test-pg-{uid}"));
    let runner = if uid.is_root() {
        let user = nix::unistd::User::from_name("postgres")
            .ok()
            .flatten()
            .ok_or("running as root, and there is no `postgres` user to run the server as")?;
        Some(user)
    } else {
        None
    };
    // One process starts the cluster; the others wait here for it.
    let lock_path = std::env::temp_dir().join(format!("jitdesk-test-pg-{uid}.lock"));
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock_file.lock().map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let data = dir.join("data");
    let run = |program: &str, args: &[&str]| -> Result<std::process::Output, String> {
        let path = bin.join(program);
        let mut command = match &runner {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", &user.name, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        command.args(args).current_dir(&dir);
        command.output().map_err(|e| format!("cannot run {}: {e}", path.display()))
    };
    if !data.join("PG_VERSION").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .map_err(|e| format!("cannot chmod {}: {e}", dir.display()))?;
        if let Some(user) = &runner {
            std::os::unix::fs::chown(&dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .map_err(|e| format!("cannot give {} to {}: {e}", dir.display(), user.name))?;
        }
        let data = data.to_string_lossy().into_owned();
        let out = run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
        )?;
        if !out.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
    }
    let data_text = data.to_string_lossy().into_owned();
    let running = run("pg_ctl", &["-D", &data_text, "status"])?.status.success();
    if !running {
        let options = format!(
            "-k {} -c listen_addresses='' -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            dir.display()
        );
        let log = dir.join("server.log").to_string_lossy().into_owned();
        let out = run("pg_ctl", &["-D", &data_text, "-w", "-t", "60", "-l", &log, "-o", &options, "start"])?;
        if !out.status.success() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!(
                "the test server did not start: {} {}",
                String::from_utf8_lossy(&out.stderr).trim(),
                log.lines().last().unwrap_or_default()
            ));
        }
    }
    let url = format!("postgres://postgres@/postgres?host={}", dir.display());
    drop_leftovers(&url);
    drop(lock_file);
    Ok(url)
}

/// Drops the databases of earlier test processes that have ended, so runs do not pile them up.
fn drop_leftovers(url: &str) {
    let Ok(mut admin) = ::postgres::Client::connect(url, ::postgres::NoTls) else { return };
    let Ok(rows) = admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'jt\\_%'", &[]) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(1).unwrap_or_default();
        if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The folder of the newest PostgreSQL's initdb and pg_ctl: Debian keeps them off PATH.
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    found.sort_by_key(|bin| {
        bin.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok())
    });
    if let Some(newest) = found.pop() {
        return Some(newest);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}
