//! The shared service with real OS users: an approver and a publisher on one host,
//! each running the CLI as themselves through `jitdesk serve`, which knows them by their socket's
//! peer credentials alone. The publisher cannot approve, cannot act as someone else and cannot
//! manage the directory; the approver's decision reaches the publisher. Around them: a user with no
//! directory mapping is refused clearly, a user outside the socket's group cannot even connect, and
//! nobody but the operator can open the store file itself.
//!
//! Creating OS users needs root (CI runs as root); anyone else gets a printed skip. The users, their
//! group and every file are removed again at the end, whatever happens.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::os_users::{Accounts, binary_for_all, bounded, open_to_all, program_runs, setpriv_ids};
use crate::common::process::Process;
use crate::common::{Run, parse_id};

/// A refusal at the socket is immediate; this is generous.
const QUICK_REFUSAL: Duration = Duration::from_secs(5);
/// The only PATH the users' commands get.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The directory users the operator maps the OS logins to (the rest is `init --sample`).
const APPROVER: &str = "olivia@contoso.com"; // contoso admin, made an approver of contoso-crm
const PUBLISHER: &str = "paul@fabrikam.com"; // fabrikam, the publisher of contoso-crm's offer
const ALICE: &str = "alice@contoso.com"; // the sample's contoso admin and contoso-crm approver

// ---- the host: one store, the operator (root) and the users ----

/// How to become another user for one command.
#[derive(Debug, Clone, Copy)]
enum Switch {
    /// `runuser -u NAME --` (util-linux).
    Runuser,
    /// `setpriv --reuid --regid --init-groups --` (util-linux), where runuser is missing.
    Setpriv,
}

struct Host {
    switch: Switch,
    /// The binary, where every user can run it.
    bin: PathBuf,
    /// The folder everything lives in (mode 0711); also everyone's HOME.
    dir: PathBuf,
    store: PathBuf,
}

impl Host {
    /// `-i PATH HOME TZ [extra] jitdesk --store S args`, the arguments of `env`: the same clean
    /// environment for everyone.
    fn clean_env(&self, cmd: &mut Command, env: &[(&str, &str)], args: &[&str]) {
        cmd.arg("-i").arg(format!("PATH={PATH}")).arg(format!("HOME={}", self.dir.display())).arg("TZ=UTC");
        for (k, v) in env {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.arg(&self.bin).arg("--store").arg(&self.store).args(args);
    }

    /// The CLI as the OS user `login`, with extra environment variables.
    fn run_as_with(&self, login: &str, args: &[&str], env: &[(&str, &str)]) -> (Run, Duration) {
        let mut cmd = match self.switch {
            Switch::Runuser => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", login, "--", "env"]);
                cmd
            }
            Switch::Setpriv => {
                let mut cmd = Command::new("setpriv");
                cmd.args(setpriv_ids(login)).args(["--", "env"]);
                cmd
            }
        };
        self.clean_env(&mut cmd, env, args);
        bounded(cmd, &format!("jitdesk {args:?} as {login}"))
    }

    fn run_as(&self, login: &str, args: &[&str]) -> Run {
        self.run_as_with(login, args, &[]).0
    }

    fn ok_as(&self, login: &str, args: &[&str]) -> String {
        let run = self.run_as(login, args);
        assert_eq!(run.code, 0, "jitdesk {args:?} as {login} failed: {run:?}");
        assert!(run.stderr.is_empty(), "jitdesk {args:?} as {login} wrote to stderr: {run:?}");
        run.stdout
    }

    fn json_as(&self, login: &str, args: &[&str]) -> Value {
        let out = self.ok_as(login, args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("jitdesk {args:?} as {login}: no JSON ({e}): {out}"))
    }

    /// A refused command as `login`: exit 1, nothing on stdout, one `error:` line (returned).
    fn refused_as(&self, login: &str, args: &[&str], env: &[(&str, &str)]) -> String {
        let (run, _) = self.run_as_with(login, args, env);
        assert_eq!(run.code, 1, "jitdesk {args:?} as {login} {env:?} was not refused: {run:?}");
        assert!(run.stdout.is_empty(), "a refusal printed output: {run:?}");
        run.error_line().to_string()
    }

    /// The CLI as the operator: this process's own uid (root), the same clean environment.
    fn operator(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new("env");
        self.clean_env(&mut cmd, &[], args);
        bounded(cmd, &format!("jitdesk {args:?} as the operator")).0
    }

    fn operator_ok(&self, args: &[&str]) -> String {
        let run = self.operator(args);
        assert_eq!(run.code, 0, "jitdesk {args:?} as the operator failed: {run:?}");
        assert!(run.stderr.is_empty(), "jitdesk {args:?} as the operator wrote to stderr: {run:?}");
        run.stdout
    }
}

// ---- the service, as a child process of the operator ----

struct Service {
    /// SIGTERM, waits and the kill at the end.
    process: Process,
    socket: PathBuf,
    log: PathBuf,
}

impl Service {
    /// `serve --group GROUP` as root, on the store's default socket; returns once it says it serves.
    fn start(host: &Host, group: &str) -> Service {
        let data = host.dir.join("operator-data");
        let (mut process, line) = Process::start(
            Command::new(&host.bin)
                .env_clear()
                .env("PATH", PATH)
                .env("HOME", &host.dir)
                .env("XDG_DATA_HOME", &data)
                .env("TZ", "UTC")
                .arg("--store")
                .arg(&host.store)
                .args(["serve", "--group", group])
                .stdin(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let socket = PathBuf::from(format!("{}.sock", host.store.display()));
        let log = data.join("jitdesk").join("jitdesk.log");
        if !line.starts_with("serving ") {
            process.end();
            let mut stderr = String::new();
            let _ = process.child.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
            panic!("serve did not start: {line:?} {stderr:?}");
        }
        assert!(line.ends_with(&format!(" on {}", socket.display())), "{line}");
        Service { process, socket, log }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.process.end();
        if std::thread::panicking() {
            match std::fs::read_to_string(&self.log) {
                Ok(log) => eprintln!("--- the service's log ({}):\n{log}---", self.log.display()),
                Err(e) => eprintln!("--- no service log at {}: {e}", self.log.display()),
            }
        }
    }
}

fn setpriv_runs(login: &str) -> bool {
    let mut args = setpriv_ids(login);
    args.extend(["--".into(), "true".into()]);
    program_runs("setpriv", &args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// runuser where it works for `login` (it goes through PAM), else setpriv.
fn switch_for(login: &str) -> Switch {
    if program_runs("runuser", &["-u", login, "--", "true"]) {
        Switch::Runuser
    } else if setpriv_runs(login) {
        Switch::Setpriv
    } else {
        panic!("neither runuser nor setpriv (util-linux) can run a command as {login}");
    }
}

// ---- the test ----

#[test]
fn an_approver_and_a_publisher_each_use_the_service_as_themselves() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "SKIPPED service_os_users: creating OS users needs root (CI runs the tests as root); \
             run `cargo test --test it service_os_users` as root to prove the service with real users"
        );
        return;
    }
    for program in ["useradd", "groupadd", "userdel", "groupdel"] {
        assert!(
            program_runs("sh", &["-c", &format!("command -v {program}")]),
            "{program} is missing (Debian: apt-get install passwd)"
        );
    }
    let started = Instant::now();

    // ---- accounts: an approver, a publisher, one nobody mapped, and one outside the socket's group
    let pid = std::process::id();
    let group = format!("jdsock{pid}");
    let (approver, publisher) = (format!("jdappr{pid}"), format!("jdpub{pid}"));
    let (unmapped, outsider) = (format!("jdnomap{pid}"), format!("jdout{pid}"));
    let mut accounts = Accounts::default();
    accounts.group(&group);
    let approver_uid = accounts.user(&approver, Some(&group));
    let publisher_uid = accounts.user(&publisher, Some(&group));
    let unmapped_uid = accounts.user(&unmapped, Some(&group));
    let outsider_uid = accounts.user(&outsider, None);
    assert_ne!(approver_uid, publisher_uid);
    let switch = switch_for(&publisher);
    let gid = nix::unistd::Group::from_name(&group).ok().flatten().expect("the group exists").gid.as_raw();
    let accounts_made = started.elapsed();

    // ---- the files: a folder everyone may pass through, a store only root may open
    let base = std::env::temp_dir();
    let base = if open_to_all(&base) { base } else { PathBuf::from("/tmp") };
    let tmp = tempfile::Builder::new().prefix("jitdesk-os-users-").tempdir_in(&base).expect("temp dir");
    let dir = tmp.path().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).expect("chmod 0711");
    assert!(open_to_all(&dir), "{} is not searchable by everyone", dir.display());
    let bin = binary_for_all(&dir);
    let store = dir.join("jitdesk.redb");
    let host = Host { switch, bin, dir: dir.clone(), store: store.clone() };

    let out = host.operator_ok(&["init", "--sample"]);
    assert!(out.starts_with("loaded the sample into "), "{out}");
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o600)).expect("chmod 0600");

    // The first gate: with no service, the publisher cannot open the store file at all.
    let direct = host.refused_as(&publisher, &["request", "list"], &[]);
    assert!(direct.to_lowercase().contains("permission denied"), "{direct}");
    assert!(!direct.contains("in use"), "{direct}");

    // ---- the operator (root) serves the store to the socket's group
    let service_started = Instant::now();
    let mut service = Service::start(&host, &group);
    let service_up = service_started.elapsed();
    let meta = std::fs::symlink_metadata(&service.socket).expect("the socket exists");
    assert_eq!(meta.mode() & 0o777, 0o660, "the socket is for its owner and group only");
    assert_eq!((meta.uid(), meta.gid()), (0, gid), "the socket belongs to root and the group");
    let store_mode = std::fs::metadata(&store).expect("the store").mode() & 0o777;
    assert_eq!(store_mode, 0o600, "serving the store leaves its file root's alone");

    // The operator maps the OS logins to directory users, and makes the approver one (as Alice,
    // with `--as`, which only the operator may do for someone else). Through the service: its
    // audit names the operator by the login of its uid, which a local run without USER cannot know.
    let add = ["user", "add", APPROVER, "--tenant", "contoso", "--admin", "--login", &approver];
    assert_eq!(host.operator_ok(&add), format!("added user {APPROVER} to contoso\n"));
    let add = ["user", "add", PUBLISHER, "--tenant", "fabrikam", "--login", &publisher];
    assert_eq!(host.operator_ok(&add), format!("added user {PUBLISHER} to fabrikam\n"));
    host.operator_ok(&["--as", ALICE, "app", "set", "contoso-crm", "--add-approver", APPROVER]);
    let audit: Value = serde_json::from_str(&host.operator_ok(&["audit", "--json", "--limit", "3"])).unwrap();
    let audit = audit.as_array().expect("audit records");
    assert_eq!(audit[0]["action"], "app.policy", "{audit:?}");
    assert_eq!(audit[0]["actor"], ALICE, "{audit:?}");
    assert_eq!(audit[1]["action"], "user.add", "{audit:?}");
    assert_eq!(audit[1]["actor"], "operator:root", "through the service, as its operator: {audit:?}");

    // ---- the publisher asks for access to contoso-crm (manual approval), as themselves
    let reason = "INC-4242: nightly sync failing, need the function app logs";
    let (created, create_took) = host.run_as_with(
        &publisher,
        &[
            "request",
            "create",
            "--app",
            "contoso-crm",
            "--role",
            "Reader",
            "--duration",
            "1h",
            "--reason",
            reason,
            "--ticket",
            "INC-4242",
        ],
        &[],
    );
    assert_eq!(created.code, 0, "{created:?}");
    assert!(created.stderr.is_empty(), "{created:?}");
    let id = parse_id(&created.stdout);
    let id_text = id.to_string();
    let shown = host.json_as(&publisher, &["request", "show", &id_text, "--json"]);
    assert_eq!(shown["requester"], PUBLISHER, "the service knew the publisher by uid: {shown}");
    assert_eq!(shown["jitRequestState"], "Pending", "{shown}");
    assert_eq!(shown["justification"], reason, "{shown}");

    // ---- the publisher cannot approve: not their own request...
    let line =
        host.refused_as(&publisher, &["request", "approve", &id_text, "--reason", "self-service"], &[]);
    assert_eq!(line, "error: you cannot approve your own request");
    // ... nor anyone else's: they are no approver of contoso-crm.
    let pending = host
        .json_as(&publisher, &["request", "list", "--state", "pending", "--app", "contoso-crm", "--json"]);
    let others = pending.as_array().expect("a list").iter().find(|r| r["requester"] != PUBLISHER);
    let other = others.expect("the sample has other publishers' pending requests on contoso-crm")["id"]
        .as_u64()
        .expect("an id")
        .to_string();
    let line = host.refused_as(&publisher, &["request", "approve", &other, "--reason", "colleague"], &[]);
    assert_eq!(
        line,
        format!(
            "error: {PUBLISHER} is not an approver of `contoso-crm`: only its approvers decide its requests"
        )
    );
    // ... nor by claiming the approver's OS login in the environment: the service goes by uid.
    let spoofed = [("USER", approver.as_str()), ("LOGNAME", approver.as_str())];
    let line =
        host.refused_as(&publisher, &["request", "approve", &id_text, "--reason", "spoofed"], &spoofed);
    assert_eq!(line, "error: you cannot approve your own request", "still the publisher");
    // ... nor by making themselves an approver: that is the customer's admins' call.
    let line = host.refused_as(&publisher, &["app", "set", "contoso-crm", "--add-approver", PUBLISHER], &[]);
    assert!(line.contains(PUBLISHER), "{line}");

    // ---- the publisher cannot act as someone else, by flag or by environment
    let as_alice = format!(
        "error: you are {PUBLISHER} (OS login `{publisher}`) and may not act as {ALICE}: only the service's operator (root) can act as someone else"
    );
    let line = host.refused_as(
        &publisher,
        &["--as", ALICE, "request", "approve", &id_text, "--reason", "as alice"],
        &[],
    );
    assert_eq!(line, as_alice);
    let line = host.refused_as(
        &publisher,
        &["request", "approve", &id_text, "--reason", "as alice"],
        &[("JITDESK_USER", ALICE)],
    );
    assert_eq!(line, as_alice);
    let line = host.refused_as(&publisher, &["--as", ALICE, "notifications", "--json"], &[]);
    assert_eq!(line, as_alice, "nor read as someone else");
    // Naming oneself is fine.
    let mine = host.json_as(&publisher, &["--as", PUBLISHER, "request", "list", "--mine", "--json"]);
    assert!(mine.as_array().expect("a list").iter().any(|r| r["id"] == id), "{mine}");

    // ---- the publisher cannot manage the directory, with or without --as
    let not_directory =
        format!("error: {PUBLISHER} may not manage the directory: only the store's operator can");
    for args in [
        &["tenant", "add", "woodgrove", "--kind", "customer"][..],
        &["user", "add", "mallory@contoso.com", "--tenant", "contoso", "--admin"],
        // Mapping the approver's login to a user of one's own making would be a way in.
        &["user", "add", "mallory@contoso.com", "--tenant", "contoso", "--admin", "--login", &approver],
        &["--as", ALICE, "tenant", "add", "woodgrove", "--kind", "customer"],
    ] {
        assert_eq!(host.refused_as(&publisher, args, &[]), not_directory, "{args:?}");
    }

    // ---- a user nobody mapped is refused clearly, whatever they claim
    let not_mapped = format!(
        "error: your OS login `{unmapped}` is not mapped to a directory user; ask the operator to `jitdesk user add ... --login {unmapped}`"
    );
    assert_eq!(host.refused_as(&unmapped, &["request", "list"], &[]), not_mapped);
    assert_eq!(host.refused_as(&unmapped, &["notifications"], &[]), not_mapped);
    let line =
        host.refused_as(&unmapped, &["--as", ALICE, "request", "approve", &id_text, "--reason", "x"], &[]);
    assert_eq!(line, not_mapped);

    // ---- a user outside the socket's group cannot even connect: one clear line, at once
    for args in [
        &["request", "list"][..],
        &["request", "approve", &id_text, "--reason", "outsider"],
        &["--as", ALICE, "request", "approve", &id_text, "--reason", "outsider"],
    ] {
        let (run, took) = host.run_as_with(&outsider, args, &[]);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        let line = run.error_line();
        assert!(
            line.starts_with(
                "error: a jitdesk service owns this store, and you may not connect to its socket "
            ) && line.contains(&service.socket.display().to_string())
                && line.contains("Permission denied")
                && line.contains("--group"),
            "{line}"
        );
        assert!(!line.contains("in use"), "{line}");
        assert!(took < QUICK_REFUSAL, "the outsider waited {took:?} for a refusal");
    }

    // Nothing of that changed anything.
    let shown = host.json_as(&publisher, &["request", "show", &id_text, "--json"]);
    assert_eq!(shown["jitRequestState"], "Pending", "{shown}");
    assert!(shown["decision"].is_null(), "{shown}");
    assert_eq!(host.operator_ok(&["user", "search", "mallory", "--json"]).trim(), "[]");
    let app = host.json_as(&publisher, &["app", "show", "contoso-crm", "--json"]);
    assert!(!app.to_string().contains(PUBLISHER), "the publisher is no approver: {app}");

    // ---- the approver hears of the request and approves it, as themselves
    let heard = host.json_as(&approver, &["notifications", "--json"]);
    let heard = heard.as_array().expect("a list");
    assert!(
        heard.iter().any(|n| n["request"] == id && n["action"] == "request.create" && n["to"] == APPROVER),
        "the approver is told of the new request: {heard:?}"
    );
    let decision = "INC-4242 confirmed with the customer's on-call";
    let out = host.ok_as(&approver, &["request", "approve", &id_text, "--reason", decision]);
    assert!(out.starts_with(&format!("request {id} Approved: access from ")), "{out}");

    // ---- the publisher sees the decision
    let shown = host.json_as(&publisher, &["request", "show", &id_text, "--json"]);
    assert_eq!(shown["jitRequestState"], "Approved", "{shown}");
    assert_eq!(shown["decision"]["by"], APPROVER, "{shown}");
    assert_eq!(shown["decision"]["reason"], decision, "{shown}");
    let told = host.json_as(&publisher, &["notifications", "--json"]);
    let told = told.as_array().expect("a list");
    let approval = told
        .iter()
        .find(|n| n["request"] == id && n["action"] == "request.approve")
        .unwrap_or_else(|| panic!("the publisher is told of the approval: {told:?}"));
    assert_eq!(approval["to"], PUBLISHER);
    let message = approval["message"].as_str().expect("a message");
    assert!(message.contains(APPROVER) && message.contains(decision), "{message}");
    let (check, _) =
        host.run_as_with(&publisher, &["access", "check", "--app", "contoso-crm", "--user", PUBLISHER], &[]);
    assert_eq!(check.code, 0, "the publisher has access now: {check:?}");
    assert!(check.stdout.starts_with(&format!("{PUBLISHER} has access to contoso-crm until ")), "{check:?}");
    // A second decision is a conflict, and says who decided.
    let line = host.refused_as(&approver, &["request", "deny", &id_text, "--reason", "too late"], &[]);
    assert!(line.starts_with(&format!("error: cannot deny request {id}: it is already Approved")), "{line}");

    // ---- a clean stop; the store file is still root's alone
    assert_eq!(service.process.stop(), 0, "a clean stop");
    assert!(!service.socket.exists(), "the socket goes with the service");
    let direct = host.refused_as(&approver, &["request", "show", &id_text], &[]);
    assert!(direct.to_lowercase().contains("permission denied"), "{direct}");

    // The service's log (refusals at `info`) has the status of each refusal: 403 for the publisher's
    // tries and for the unmapped user; nothing at all from the outsider, who never got in. A uid's
    // first refusals each have their line, the rest are summed up (here when the service stopped).
    let log = std::fs::read_to_string(&service.log).expect("the service's log");
    for (call, uid) in [
        (format!("POST /v1/requests/{id}/approve"), publisher_uid),
        (format!("POST /v1/requests/{other}/approve"), publisher_uid),
        ("PATCH /v1/applications/contoso-crm".to_string(), publisher_uid),
        ("GET /v1/requests".to_string(), unmapped_uid),
    ] {
        let line = format!("{call} uid {uid} -> 403 Forbidden");
        assert!(log.contains(&line), "no `{line}` in the service's log:\n{log}");
    }
    let publishers = log.lines().filter(|l| l.contains(&format!(" uid {publisher_uid} -> "))).count();
    let lines = jitdesk::api::limits::REFUSAL_LINES as usize;
    assert_eq!(publishers, lines, "the publisher's first refusals, and no more:\n{log}");
    let summed_up = format!("uid {publisher_uid}: ");
    assert!(
        log.lines().any(|l| l.contains(&summed_up) && l.contains(" more refusals in the last ")),
        "the rest of the publisher's refusals are summed up:\n{log}"
    );
    let refusals = log.lines().filter(|l| l.contains(" -> 4")).count();
    let forbidden = log.lines().filter(|l| l.contains(" -> 403 Forbidden")).count();
    assert_eq!(refusals, forbidden + 1, "every refusal but the late deny is a 403:\n{log}");
    assert!(
        log.contains(&format!("POST /v1/requests/{id}/deny uid {approver_uid} -> 409 Conflict")),
        "{log}"
    );
    assert!(!log.contains(&format!("uid {outsider_uid} ")), "the outsider reached the service:\n{log}");

    eprintln!(
        "service_os_users ({switch:?}): accounts {accounts_made:?}, service up in {service_up:?}, \
         request create as the publisher {create_took:?}, all {:?}",
        started.elapsed()
    );
    drop(service);
    drop(tmp);
    drop(accounts);
}
