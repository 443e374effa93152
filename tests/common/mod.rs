//! Shared helpers for the CLI integration tests: a temporary store per test, a runner for the real
//! binary with a clean environment, and a directory fixture built through the CLI alone.

#![allow(dead_code)]

pub mod alone;
pub mod https;
pub mod os_users;
pub mod parcels;
pub mod pg;
pub mod process;
pub mod receiver;
pub mod serve;
pub mod service;
pub mod smtp_sink;
pub mod ssh;
pub mod table;
pub mod tmux;

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// The built binary, as cargo hands it to integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_jitdesk");

/// An OS login that no fixture maps to a user, so identity comes only from `--as` unless a test says so.
pub const NO_LOGIN: &str = "jitdesk-test-unmapped";

/// What one run of the binary did.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(out: Output) -> Run {
        Run {
            // A signal leaves no code; -1 makes that fail every exit assertion.
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs a prepared command to its end.
    pub fn from_cmd(cmd: &mut Command) -> Run {
        Run::from_output(cmd.output().expect("run jitdesk"))
    }

    /// The single `error:` line of a refused command; fails unless stderr is exactly that.
    pub fn error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected exactly one line on stderr, got {:?}", self.stderr);
        assert!(lines[0].starts_with("error:"), "stderr does not start with `error:`: {:?}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "panic text reached the user: {:?}", self.stderr);
        lines[0]
    }
}

/// The environment every run of the binary starts from: TZ=UTC, no JITDESK_* variables, an OS
/// login that maps to nobody.
pub fn clean_env(cmd: &mut std::process::Command) -> &mut std::process::Command {
    cmd.env("TZ", "UTC")
        .env_remove("JITDESK_USER")
        .env_remove("JITDESK_STORE")
        .env_remove("JITDESK_UTC")
        .env_remove("JITDESK_SOCKET")
        .env_remove("JITDESK_LOG")
        .env_remove("JITDESK_URL")
        .env_remove("JITDESK_TOKEN")
        .env_remove("JITDESK_CA")
        .env_remove("JITDESK_CERT")
        .env_remove("JITDESK_KEY")
        .env("USER", NO_LOGIN)
        .env("LOGNAME", NO_LOGIN)
}

/// A clean command for the binary (`clean_env`). A service for the store is still found beside
/// it, as `<store>.sock`.
pub fn bare_command() -> Command {
    let mut std = std::process::Command::new(BIN);
    clean_env(&mut std);
    let mut cmd = Command::from_std(std);
    cmd.timeout(std::time::Duration::from_secs(120));
    cmd
}

/// A store file in its own temporary directory.
pub struct Store {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Store {
    /// A path for a store that does not exist yet.
    pub fn new() -> Store {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("jitdesk.redb");
        Store { dir, path }
    }

    /// A new empty store, made with `jitdesk init`.
    pub fn init() -> Store {
        let store = Store::new();
        let out = store.ok(&["init"]);
        assert!(out.contains("created an empty store"), "{out}");
        store
    }

    /// A command on this store with a clean environment.
    pub fn command(&self) -> Command {
        let mut cmd = bare_command();
        cmd.arg("--store").arg(&self.path);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// Runs with extra environment variables.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command();
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from_output(cmd.output().expect("run jitdesk"))
    }

    /// Runs as a directory user (`--as`).
    pub fn run_as(&self, upn: &str, args: &[&str]) -> Run {
        self.run(&as_user(upn, args))
    }

    /// Succeeds (exit 0, nothing on stderr) and returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        expect_ok(args, self.run(args))
    }

    pub fn ok_as(&self, upn: &str, args: &[&str]) -> String {
        expect_ok(args, self.run_as(upn, args))
    }

    pub fn json(&self, args: &[&str]) -> Value {
        parse_json(args, &self.ok(args))
    }

    pub fn json_as(&self, upn: &str, args: &[&str]) -> Value {
        parse_json(args, &self.ok_as(upn, args))
    }

    /// Everything a refused command must leave as it was, read through the CLI: the audit log, every
    /// request, the applications, offers and users. (redb may rewrite pages, so file bytes are no measure.)
    pub fn snapshot(&self) -> Vec<String> {
        [
            &["audit", "--json", "--limit", "1000"][..],
            &["request", "list", "--json", "--limit", "1000"],
            &["app", "list", "--json"],
            &["offer", "list", "--json"],
            &["user", "search", "", "--json"],
        ]
        .iter()
        .map(|args| self.ok(args))
        .collect()
    }

    /// `request create` as `upn`; returns the id printed alone on stdout.
    pub fn create_request(&self, upn: &str, app: &str, role: &str, duration: &str, reason: &str) -> u64 {
        parse_id(&self.ok_as(upn, &request_create(app, role, duration, reason)))
    }

    pub fn request_json(&self, id: u64) -> Value {
        self.json(&["request", "show", &id.to_string(), "--json"])
    }

    pub fn state_of(&self, id: u64) -> String {
        self.request_json(id)["jitRequestState"].as_str().expect("jitRequestState").to_string()
    }
}

/// `args` as the directory user `upn` (`--as`).
pub fn as_user<'a>(upn: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--as", upn];
    all.extend_from_slice(args);
    all
}

/// The arguments of `request create` for one role.
pub fn request_create<'a>(app: &'a str, role: &'a str, duration: &'a str, reason: &'a str) -> [&'a str; 10] {
    ["request", "create", "--app", app, "--role", role, "--duration", duration, "--reason", reason]
}

pub fn expect_ok(args: &[&str], run: Run) -> String {
    assert_eq!(run.code, 0, "jitdesk {args:?} failed: {run:?}");
    assert!(run.stderr.is_empty(), "jitdesk {args:?} wrote to stderr: {:?}", run.stderr);
    run.stdout
}

pub fn parse_json(args: &[&str], out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("jitdesk {args:?} printed no JSON ({e}): {out}"))
}

/// The id `request create` prints: digits alone on one line, nothing else.
pub fn parse_id(out: &str) -> u64 {
    assert!(
        out.ends_with('\n') && out.lines().count() == 1,
        "request create printed more than an id: {out:?}"
    );
    out.trim_end().parse().unwrap_or_else(|_| panic!("request create printed no id: {out:?}"))
}

// ---- a small directory, built through the CLI ----

pub const ALICE: &str = "alice@contoso.com"; // customer admin, approver of prod and eu
pub const BOB: &str = "bob@contoso.com"; // approver of prod, not an admin
pub const CAROL: &str = "carol@contoso.com"; // customer admin, approver of nothing
pub const NADIA: &str = "nadia@northwind.com"; // admin of a free-licence customer tenant
pub const DAVE: &str = "dave@fabrikam.com"; // publisher
pub const ERIN: &str = "erin@fabrikam.com"; // publisher

/// contoso (p2) with alice, bob, carol; northwind (free) with nadia; fabrikam (publisher) with dave and
/// erin; offers `crm` (JIT; Owner, Contributor) and `plain` (no JIT); applications `prod` (manual,
/// approvers alice and bob, max 4h), `dev` (auto, defaults) and `legacy` (deployed without JIT).
pub fn directory() -> Store {
    let s = Store::init();
    s.ok(&["tenant", "add", "contoso", "--kind", "customer", "--name", "Contoso Ltd"]);
    s.ok(&["tenant", "add", "northwind", "--kind", "customer", "--license", "free"]);
    s.ok(&["tenant", "add", "fabrikam", "--kind", "publisher", "--name", "Fabrikam"]);
    s.ok(&["user", "add", ALICE, "--tenant", "contoso", "--admin", "--name", "Alice Fischer"]);
    s.ok(&["user", "add", BOB, "--tenant", "contoso", "--name", "Bob Nakamura"]);
    s.ok(&["user", "add", CAROL, "--tenant", "contoso", "--admin", "--name", "Carol Okafor"]);
    s.ok(&["user", "add", NADIA, "--tenant", "northwind", "--admin"]);
    s.ok(&["user", "add", DAVE, "--tenant", "fabrikam", "--name", "Dave Moreau"]);
    s.ok(&["user", "add", ERIN, "--tenant", "fabrikam", "--name", "Erin Lindqvist"]);
    s.ok_as(
        DAVE,
        &["offer", "publish", "crm", "--name", "Fabrikam CRM", "--jit", "--roles", "Owner,Contributor"],
    );
    s.ok_as(DAVE, &["offer", "publish", "plain", "--name", "Fabrikam Plain"]);
    s.ok_as(
        ALICE,
        &[
            "app",
            "deploy",
            "prod",
            "--offer",
            "crm",
            "--approval",
            "manual",
            "--max-duration",
            "4h",
            "--approver",
            ALICE,
            "--approver",
            BOB,
        ],
    );
    s.ok_as(ALICE, &["app", "deploy", "dev", "--offer", "crm"]);
    s.ok_as(ALICE, &["app", "deploy", "legacy", "--offer", "crm", "--jit", "off"]);
    s
}
