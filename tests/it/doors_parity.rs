//! One test, three doors: every cell of the README's role x action table, run as the CLI through
//! the socket, through the SSH door (each user's key added with `user key add`) and through the
//! HTTPS door (each user's client certificate), answers the same through each: the same exit code
//! and the same first line on stdout and on stderr. The rules live in the engine and every door only
//! carries them; a door that answered otherwise would be a door with rules of its own. Each door
//! runs on its own copy of one starting store, since the cells write.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::common::https::Pki;
use crate::common::os_users::{Accounts, binary_for_all, bounded, open_to_all, setpriv_ids};
use crate::common::process::{Process, serve_command};
use crate::common::ssh::{self, keygen, public_line};
use crate::common::table::{Cell, table};
use crate::common::*;

const APP: &str = "vault-prod";
const ADMIN: &str = "admin@contoso.com";
const APPROVER: &str = "approver@contoso.com";
const CUSTOMER: &str = "user@contoso.com";
const PUBLISHER: &str = "pat@fabrikam.com";
/// "Other tenant" is tried as a user of another publisher and a user of another customer.
const OTHERS: [&str; 2] = ["olga@litware.com", "wes@woodgrove.com"];

/// Other publisher users, whose requests the roles act on: one for each persona, since one user
/// may have only so many requests pending or granted at once.
fn requester(n: usize) -> String {
    format!("paul{n}@fabrikam.com")
}

/// Who acts in a cell: the operator (no directory identity), or a directory user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Operator,
    User(&'static str),
}

fn personas(role: &str) -> Vec<Who> {
    match role {
        "operator" => vec![Who::Operator],
        "customer admin" => vec![Who::User(ADMIN)],
        "approver" => vec![Who::User(APPROVER)],
        "customer user" => vec![Who::User(CUSTOMER)],
        "publisher user" => vec![Who::User(PUBLISHER)],
        "other tenant" => OTHERS.iter().map(|u| Who::User(u)).collect(),
        other => panic!("the table names a role the test does not know: `{other}`"),
    }
}

/// Every user who acts in a cell, numbered: the number names their key and certificate files and
/// keeps what they write apart from what others write.
fn users() -> Vec<&'static str> {
    let mut users = vec![ADMIN, APPROVER, CUSTOMER, PUBLISHER];
    users.extend(OTHERS);
    users
}

/// The requests of its requester's that one persona acts on, made in the starting store, each on an
/// application of its own (one may have only one pending request per application), so that each
/// cell meets a request in the state the table means, whatever the cells before it did.
#[derive(Debug, Clone)]
struct Targets {
    approve: String,
    deny: String,
    cancel: String,
    /// Where the caller's own request goes, in the "cancel" cell.
    cancel_app: String,
    see: String,
    revoke: String,
    /// A grant of the requester's, on an application of the persona's where the caller's own
    /// grant goes too, in the "extend" cell.
    extend: String,
    extend_app: String,
    /// Grants of the requester's with an extension waiting, one to approve and one to deny.
    approve_extension: String,
    deny_extension: String,
}

/// What one command answered, as far as the doors must agree on it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Answer {
    fn of(args: &[String], run: &Run) -> Answer {
        let first = |text: &str| text.lines().next().unwrap_or_default().to_string();
        Answer { args: args.to_vec(), code: run.code, stdout: first(&run.stdout), stderr: first(&run.stderr) }
    }
}

/// The starting store, built through the CLI on a local store: contoso deploys APP from fabrikam's
/// offer with manual approval by APPROVER; every user has an SSH key in the directory; each persona
/// has a requester with the requests it acts on.
struct World {
    store: Store,
    keys: tempfile::TempDir,
    targets: BTreeMap<Who, Targets>,
    /// The hour every request starts at, so that what a door answers about it is the same.
    start: String,
}

fn world(every: &[Who], logins: &BTreeMap<&'static str, String>) -> World {
    let s = Store::init();
    for (id, kind) in [
        ("contoso", "customer"),
        ("woodgrove", "customer"),
        ("fabrikam", "publisher"),
        ("litware", "publisher"),
    ] {
        s.ok(&["tenant", "add", id, "--kind", kind]);
    }
    let requesters = (0..every.len()).map(requester);
    for upn in users().into_iter().map(String::from).chain(requesters) {
        let tenant = upn.split(['@', '.']).nth(1).expect("a domain");
        let mut args = vec!["user", "add", &upn, "--tenant", tenant];
        if upn == ADMIN {
            args.push("--admin");
        }
        if let Some(login) = logins.get(upn.as_str()) {
            args.extend(["--login", login]);
        }
        s.ok(&args);
    }
    s.ok_as(PUBLISHER, &["offer", "publish", "vault", "--name", "Vault", "--jit", "--roles", "Owner"]);
    s.ok_as(
        ADMIN,
        &["app", "deploy", APP, "--offer", "vault", "--approval", "manual", "--approver", APPROVER],
    );
    let keys = tempfile::tempdir().expect("a folder for keys");
    for upn in users() {
        let key = keys.path().join(file_of(upn));
        keygen(&key);
        s.ok(&["user", "key", "add", upn, "--key", &public_line(&key)]);
    }
    // Requests start at one set hour, so that an approval's answer ("access from ... until ...")
    // is the same whenever a door gives it.
    let tomorrow = chrono::Utc::now() + chrono::Duration::days(1);
    let start = tomorrow.format("%Y-%m-%dT%H:00:00Z").to_string();
    let targets = every
        .iter()
        .enumerate()
        .map(|(n, who)| {
            let pending = |what: &str| {
                // Deployed like APP, so that every role is to it what it is to APP.
                let app = format!("{what}{n}");
                let deploy = ["app", "deploy", &app, "--offer", "vault", "--approval", "manual"];
                s.ok_as(ADMIN, &[&deploy[..], &["--approver", APPROVER]].concat());
                let ask = [&request_create(&app, "Owner", "1h", "table")[..], &["--start", &start]].concat();
                (parse_id(&s.ok_as(&requester(n), &ask)).to_string(), app)
            };
            let granted = |what: &str| {
                let (id, app) = pending(what);
                s.ok_as(APPROVER, &["request", "approve", &id, "--reason", "table"]);
                (id, app)
            };
            let (revoke, _) = granted("revoke");
            let (extend, extend_app) = granted("extend");
            // Long enough that an extension's deadline is the access's end, the same for every door.
            s.ok_as(ADMIN, &["app", "set", &extend_app, "--request-timeout", "72h"]);
            let waiting = |what: &str| {
                let (id, _) = granted(what);
                s.ok_as(&requester(n), &["request", "extend", &id, "--by", "1h", "--reason", "table"]);
                id
            };
            let (cancel, cancel_app) = pending("cancel");
            let targets = Targets {
                approve: pending("approve").0,
                deny: pending("deny").0,
                cancel,
                cancel_app,
                see: pending("see").0,
                revoke,
                extend,
                extend_app,
                approve_extension: waiting("approve-extension"),
                deny_extension: waiting("deny-extension"),
            };
            (*who, targets)
        })
        .collect();
    World { store: s, keys, targets, start }
}

/// A command line as the doors take it.
fn words(w: &[&str]) -> Vec<String> {
    w.iter().map(|s| s.to_string()).collect()
}

/// The command lines of one cell for persona number `n`, in order (the caller's own request of the
/// "cancel" cell is `through`'s, since its id is known only once made).
fn commands(action: &str, n: usize, t: &Targets) -> Vec<Vec<String>> {
    match action {
        "manage the directory" => {
            vec![words(&["tenant", "add", &format!("new{n}"), "--kind", "publisher"])]
        }
        "deploy" => vec![words(&["app", "deploy", &format!("another{n}"), "--offer", "vault"])],
        "change policy" => vec![words(&["app", "set", APP, "--max-duration", "2h"])],
        "request" => vec![words(&request_create(APP, "Owner", "1h", "table"))],
        "approve/deny" => vec![
            words(&["request", "approve", &t.approve, "--reason", "table"]),
            words(&["request", "deny", &t.deny, "--reason", "table"]),
        ],
        "cancel" => vec![words(&["request", "cancel", &t.cancel])],
        "revoke" => vec![words(&["access", "revoke", &t.revoke, "--reason", "table"])],
        "extend" => vec![words(&["request", "extend", &t.extend, "--by", "1h", "--reason", "table"])],
        "decide an extension" => vec![
            words(&["request", "extension", "approve", &t.approve_extension, "--reason", "table"]),
            words(&["request", "extension", "deny", &t.deny_extension, "--reason", "table"]),
        ],
        "see requests, grants, audit" => vec![
            words(&["request", "show", &t.see]),
            words(&["access", "list"]),
            words(&["audit", "--limit", "1"]),
            // The customer tenant, which only its parties see.
            words(&["tenant", "show", "contoso"]),
        ],
        other => panic!("the table names an action the test does not know: `{other}`"),
    }
}

/// How one door runs a command line as one persona.
trait Door {
    /// None when this door cannot carry `who` (the reason is the door's comment).
    fn run(&self, who: Who, args: &[String]) -> Option<Run>;
}

/// The socket: the operator as itself (the service's own uid, root), a user as the OS account
/// their login maps them to, run with setpriv, as a user of the host would run the CLI.
struct Socket {
    store: Store,
    /// The binary, where every account may run it.
    bin: PathBuf,
    logins: BTreeMap<&'static str, String>,
    _service: Process,
}

impl Door for Socket {
    fn run(&self, who: Who, args: &[String]) -> Option<Run> {
        let Who::User(upn) = who else {
            return Some(Run::from_cmd(self.store.command().args(args)));
        };
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(setpriv_ids(&self.logins[upn]))
            .args(["--", "env", "-i", "PATH=/usr/bin:/bin", "TZ=UTC"])
            .arg(format!("HOME={}", self.store.dir.path().display()))
            .arg(&self.bin)
            .arg("--store")
            .arg(&self.store.path)
            .args(args);
        Some(bounded(cmd, &format!("jitdesk {args:?} as {upn}")).0)
    }
}

/// The socket's door on a copy of the starting store in a folder every account may pass through,
/// served by root to the accounts' group.
fn socket(world: &World, group: &str, logins: BTreeMap<&'static str, String>) -> Socket {
    let store = copy_of(world);
    std::fs::set_permissions(store.dir.path(), std::fs::Permissions::from_mode(0o711)).expect("chmod 0711");
    assert!(open_to_all(store.dir.path()), "{} is not searchable by everyone", store.dir.path().display());
    let bin = binary_for_all(store.dir.path());
    let mut cmd = serve_command(&store.path, store.dir.path());
    cmd.env("XDG_CONFIG_HOME", store.dir.path()).args(["--group", group]);
    let (service, line) = Process::start(&mut cmd);
    assert!(line.starts_with("serving "), "serve did not start: {line:?}");
    Socket { store, bin, logins, _service: service }
}

/// The SSH door: the operator with a key of the operator's keys file, a user with their key.
struct Ssh {
    door: ssh::Door,
    keys: PathBuf,
}

impl Door for Ssh {
    fn run(&self, who: Who, args: &[String]) -> Option<Run> {
        let key = match who {
            Who::Operator => self.door.operator.clone(),
            Who::User(upn) => self.keys.join(file_of(upn)),
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Some(self.door.ssh_key(&key, &args))
    }
}

/// The HTTPS door: a user with their client certificate, the operator with an API token made for
/// the operator (a client certificate names a directory user, never the operator).
struct Https {
    store: Store,
    pki: Pki,
    port: u16,
    operator_token: String,
    _service: Process,
}

impl Door for Https {
    fn run(&self, who: Who, args: &[String]) -> Option<Run> {
        let mut cmd = bare_command();
        match who {
            Who::Operator => cmd.env("JITDESK_TOKEN", &self.operator_token),
            Who::User(upn) => {
                let name = file_of(upn);
                cmd.env("JITDESK_CERT", self.pki.path(&format!("{name}.pem")))
                    .env("JITDESK_KEY", self.pki.path(&format!("{name}-key.pem")))
            }
        };
        cmd.env("XDG_CONFIG_HOME", self.pki.path("config"))
            .env("JITDESK_URL", format!("https://127.0.0.1:{}", self.port))
            .arg("--store")
            .arg(self.store.dir.path().join("none.redb"))
            .arg("--ca")
            .arg(self.pki.path("ca.pem"))
            .args(args);
        Some(Run::from_cmd(&mut cmd))
    }
}

/// The name of `upn`'s key and certificate files: their number.
fn file_of(upn: &str) -> String {
    let n = users().iter().position(|u| *u == upn).expect("a user of the table");
    format!("user{n}")
}

/// A copy of the starting store, in a folder of its own, for one door.
fn copy_of(world: &World) -> Store {
    let copy = Store::new();
    std::fs::copy(&world.store.path, &copy.path).expect("copy the store");
    copy
}

/// One cell's answers through one door: (role, persona, action, what the table promises) and what
/// each command answered.
type Answers = Vec<((String, Who, String, Cell), Vec<Answer>)>;

/// Every cell of the table through `door`. The "see" column goes first, so that what it shows (the
/// newest audit entry, say) is the starting store's and not what the cells before it wrote.
fn through(door: &dyn Door, world: &World) -> Answers {
    let table = table();
    let mut cells: Vec<(String, Who, usize, String, Cell)> = Vec::new();
    for (role, row) in &table {
        for who in personas(role) {
            // The persona's number keeps the names it writes (a tenant, an application) its own.
            let n = cells.len() / row.len();
            for (action, cell) in row {
                cells.push((role.clone(), who, n, action.clone(), *cell));
            }
        }
    }
    cells.sort_by_key(|(_, _, _, action, _)| !action.starts_with("see"));
    let mut answers = Vec::new();
    for (role, who, n, action, cell) in cells {
        let targets = &world.targets[&who];
        let mut got = Vec::new();
        // The caller's own request first, when they may make one, then what the cell does to it:
        // cancel it, or extend it once the approver approved it through the same door.
        let own_app = match action.as_str() {
            "cancel" => Some(&targets.cancel_app),
            "extend" => Some(&targets.extend_app),
            _ => None,
        };
        if let Some(app) = own_app {
            let ask = [&request_create(app, "Owner", "1h", "own")[..], &["--start", &world.start]].concat();
            let ask = words(&ask);
            let Some(made) = door.run(who, &ask) else { continue };
            got.push(Answer::of(&ask, &made));
            if made.code == 0 {
                let id = made.stdout.trim();
                let then = if action == "cancel" {
                    words(&["request", "cancel", id])
                } else {
                    let approve = words(&["request", "approve", id, "--reason", "own"]);
                    let approved =
                        door.run(Who::User(APPROVER), &approve).expect("the door carries the approver");
                    assert_eq!(
                        approved.code, 0,
                        "the approver approves the caller's own request: {approved:?}"
                    );
                    words(&["request", "extend", id, "--by", "1h", "--reason", "own"])
                };
                let run = door.run(who, &then).expect("the door carried this persona");
                got.push(Answer::of(&then, &run));
            }
        }
        for args in commands(&action, n, targets) {
            let Some(run) = door.run(who, &args) else { break };
            got.push(Answer::of(&args, &run));
        }
        if !got.is_empty() {
            answers.push(((role, who, action, cell), got));
        }
    }
    answers
}

#[test]
fn every_cell_of_the_table_answers_the_same_through_each_door() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "SKIPPED doors_parity: the socket's users are OS accounts, and making them needs root \
             (CI runs the tests as root)"
        );
        return;
    }
    if !ssh::openssh() {
        return;
    }
    let table = table();
    let every: Vec<Who> = table.iter().flat_map(|(role, _)| personas(role)).collect();
    // Every user an OS account of their own, in the group the socket is served to.
    let pid = std::process::id();
    let group = format!("jdpar{pid}");
    let mut accounts = Accounts::default();
    accounts.group(&group);
    let logins: BTreeMap<&'static str, String> = users()
        .into_iter()
        .map(|upn| {
            let login = format!("jdpar{pid}{}", file_of(upn));
            accounts.user(&login, Some(&group));
            (upn, login)
        })
        .collect();
    let world = world(&every, &logins);
    // The operator's token for the HTTPS door, made in the starting store so that every door's copy
    // has the same audit log.
    let made =
        world.store.command().args(["token", "create", "--operator", "--name", "parity", "--json"]).output();
    let made = made.expect("token create runs");
    assert!(made.status.success(), "token create: {}", String::from_utf8_lossy(&made.stderr));
    let made: serde_json::Value = serde_json::from_slice(&made.stdout).expect("token create --json is JSON");
    let operator_token = made["secret"].as_str().expect("the token's secret").to_string();
    let socket = through(&socket(&world, &group, logins), &world);
    let over_ssh = {
        let (door, _) = ssh::Door::on(copy_of(&world), &[]);
        through(&Ssh { door, keys: world.keys.path().to_path_buf() }, &world)
    };
    let over_https = {
        let names: Vec<(String, &str)> = users().into_iter().map(|upn| (file_of(upn), upn)).collect();
        let clients: Vec<(&str, &str)> = names.iter().map(|(n, u)| (n.as_str(), *u)).collect();
        let pki = Pki::with_clients(&clients);
        let store = copy_of(&world);
        let (service, port) = crate::common::https::start(&store, &pki);
        through(&Https { store, pki, port, operator_token, _service: service }, &world)
    };
    // The socket's answers are what the table promises, so that the doors agree on something.
    for ((role, who, action, cell), answers) in &socket {
        assert!(
            promised(*cell, answers),
            "{role} ({who:?}) / {action}: the README says `{cell:?}`: {answers:?}"
        );
    }
    let mut found = differences("SSH", &over_ssh, &socket);
    found.extend(differences("HTTPS", &over_https, &socket));
    assert!(found.is_empty(), "the doors answer differently:\n{}", found.join("\n"));
}

/// Whether `answers` are what `cell` promises: `yes` all succeed (a list may say on stderr that it
/// has more); `no` all refused in one line that is not "no such thing"; `own` makes the caller's
/// request, cancels (or extends) it and not somebody else's; `hidden` refuses as for what does not exist (a
/// list it does answer is an empty one, as the engine's own test of the table checks).
fn promised(cell: Cell, answers: &[Answer]) -> bool {
    let refused = |a: &Answer| a.code == 1 && a.stdout.is_empty() && a.stderr.starts_with("error: ");
    let hidden = |a: &Answer| refused(a) && a.stderr.starts_with("error: no ");
    let denied = |a: &Answer| refused(a) && !hidden(a);
    match cell {
        Cell::Yes => answers.iter().all(|a| a.code == 0),
        Cell::No => answers.iter().all(denied),
        Cell::Own => {
            matches!(answers, [made, done, other] if made.code == 0 && done.code == 0 && denied(other))
        }
        Cell::Hidden => hidden(&answers[0]) && answers.iter().all(|a| a.code == 0 || hidden(a)),
    }
}

/// Each cell that `door` answered otherwise than the socket, in words.
fn differences(door: &str, got: &Answers, socket: &Answers) -> Vec<String> {
    let mut out = Vec::new();
    if got.len() != socket.len() {
        out.push(format!("{door} answered {} cells, the socket {}", got.len(), socket.len()));
    }
    for ((cell, answers), (_, want)) in got.iter().zip(socket) {
        if answers != want {
            out.push(format!("{door} {cell:?}:\n  {door}:   {answers:?}\n  socket: {want:?}"));
        }
    }
    out
}
