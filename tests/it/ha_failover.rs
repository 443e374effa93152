//! Two `jitdesk serve` replicas on one PostgreSQL database, 32 clients spread over both, and one
//! replica killed with SIGKILL in the middle of the load. What must hold afterwards, read through
//! the replica left:
//! - every change a client was told is done is there (each acknowledged request, each acknowledged
//!   decision);
//! - no request is decided twice, though every manual request is raced by an approval on one replica
//!   and a denial on the other;
//! - grants that end around the kill expire on time, through the replica left: each one's expiry is
//!   recorded less than a second after its end, exactly once.
//!
//! A client whose replica dies moves to the other one by itself here (a new connection); a change
//! whose answer was lost with the replica is neither counted as acknowledged nor sent again. The
//! product's own client is given both replicas in the second test: a dashboard connected to the one
//! killed carries on through the other, hears a change another process makes in the database, and
//! decides it there.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::client_failover::{dashboard, kill};
use crate::common::https::{Pki, door, serve_in};
use crate::common::process::{Process, serve_command};
use crate::common::service::Connection;
use crate::common::tmux::{STARTUP, Tmux, row_ids};
use crate::common::{ALICE, DAVE, ERIN, Store, directory_in, pg};

/// Clients: the first `CREATORS` make short automatic grants, the rest make manual requests and
/// race a decision on each over both replicas.
const CLIENTS: usize = 32;
const CREATORS: usize = 24;
/// How long the load runs, and when in it the first replica is killed.
const LOAD: Duration = Duration::from_secs(8);
const KILL_AT: Duration = Duration::from_secs(4);
/// The automatic grants' length: short, so many end around the kill.
const GRANT: &str = "PT2S";
const CUSTOMER: &str = "haco";
const PUBLISHER: &str = "hapub";
const ADMIN: &str = "admin@haco.example";
const MANUAL_APP: &str = "ha-manual";
/// The limits are lifted: the clients create as fast as they can.
const CONFIG: &str = "[limits]\nrequests_per_hour = 4294967295\nlive_grants = 4294967295\n";

fn publisher(i: usize) -> String {
    format!("pub{i:02}@hapub.example")
}

fn app(i: usize) -> String {
    format!("ha-{i:02}")
}

/// One replica: `serve` on the shared database, on a socket of its own.
struct Replica {
    process: Process,
    socket: PathBuf,
}

impl Replica {
    fn start(store: &Store, name: &str) -> Replica {
        let data = store.dir.path().join(name);
        std::fs::create_dir_all(&data).expect("a data folder");
        let socket = store.dir.path().join(format!("{name}.sock"));
        let mut cmd = serve_command(&store.path, &data);
        cmd.env("XDG_CONFIG_HOME", store.dir.path()).arg("--socket").arg(&socket);
        let (process, line) = Process::start(&mut cmd);
        assert!(line.starts_with("serving "), "replica {name} did not start: {line:?}");
        Replica { process, socket }
    }
}

/// A client's connection, moved to the other replica when its own dies.
struct Door {
    sockets: [PathBuf; 2],
    on: usize,
    conn: Option<Connection>,
}

/// What one call came to: answered, or lost with its connection (its outcome unknown).
enum Outcome {
    Answered(u16, Value),
    Lost,
}

impl Door {
    fn new(sockets: &[PathBuf; 2], on: usize) -> Door {
        Door { sockets: sockets.clone(), on, conn: None }
    }

    /// One call; a connection that cannot be made moves the door to the other replica and tries
    /// there, but a call that was sent and lost is not sent again: it may have been applied.
    async fn call(&mut self, method: &str, path: &str, as_user: &str, body: &Value) -> Outcome {
        for _ in 0..2 {
            if self.conn.is_none() {
                match Connection::open(&self.sockets[self.on]).await {
                    Ok(conn) => self.conn = Some(conn),
                    Err(_) => {
                        self.on = 1 - self.on;
                        continue;
                    }
                }
            }
            let Some(conn) = self.conn.as_mut() else { continue };
            let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
            return match conn.try_call(method, path, Some(as_user), &body).await {
                Ok(reply) => {
                    Outcome::Answered(reply.status, serde_json::from_str(&reply.text).unwrap_or(Value::Null))
                }
                Err(_) => {
                    self.conn = None;
                    Outcome::Lost
                }
            };
        }
        Outcome::Lost
    }

    async fn expect(&mut self, status: u16, method: &str, path: &str, as_user: &str, body: Value) -> Value {
        match self.call(method, path, as_user, &body).await {
            Outcome::Answered(got, value) if got == status => value,
            Outcome::Answered(got, value) => panic!("{method} {path} as {as_user}: {got} {value}"),
            Outcome::Lost => panic!("{method} {path} as {as_user}: no answer"),
        }
    }
}

/// What the clients were told.
#[derive(Default)]
struct Acknowledged {
    /// Automatic grants created: id and end.
    grants: Vec<(u64, DateTime<Utc>)>,
    /// Manual requests created, and the decision acknowledged on each (if any).
    manual: HashMap<u64, Vec<&'static str>>,
    /// Calls whose answer was lost with a replica.
    lost: usize,
}

/// The directory, through the first replica: two tenants, the customer's admin (the approver),
/// a publisher per client, an offer, an automatic application per creating client and one manual one.
async fn directory(door: &mut Door) {
    let tenants = [
        json!({"id": CUSTOMER, "kind": "customer", "name": "HA Co", "license": "p2"}),
        json!({"id": PUBLISHER, "kind": "publisher", "name": "HA Publisher"}),
    ];
    for tenant in tenants {
        door.expect(201, "POST", "/v1/tenants", "", tenant).await;
    }
    door.expect(201, "POST", "/v1/users", "", json!({"upn": ADMIN, "tenant": CUSTOMER, "admin": true})).await;
    for i in 0..CLIENTS {
        door.expect(201, "POST", "/v1/users", "", json!({"upn": publisher(i), "tenant": PUBLISHER})).await;
    }
    let offer = json!({"id": "ha-offer", "name": "HA offer", "jitAvailable": true, "roles": ["Owner"]});
    door.expect(201, "POST", "/v1/offers", &publisher(0), offer).await;
    for i in 0..CREATORS {
        let deploy =
            json!({"name": app(i), "offer": "ha-offer", "mode": "AutoApprove", "maxDuration": "PT1H"});
        door.expect(201, "POST", "/v1/applications", ADMIN, deploy).await;
    }
    let manual = json!({"name": MANUAL_APP, "offer": "ha-offer", "mode": "ManualApprove", "approvers": [ADMIN], "maxDuration": "PT1H"});
    door.expect(201, "POST", "/v1/applications", ADMIN, manual).await;
}

fn ask(app: &str, duration: &str) -> Value {
    json!({"app": app, "roles": ["Owner"], "duration": duration, "justification": "INC-7: failover test"})
}

#[test]
fn a_replica_killed_mid_load_loses_nothing_acknowledged_and_decides_nothing_twice() {
    // The database is made with the blocking client, before any runtime runs on this thread.
    let Some(url) = pg::database() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(failover(url));
}

async fn failover(url: String) {
    let store = Store { dir: tempfile::tempdir().expect("a temp folder"), path: PathBuf::from(url) };
    std::fs::create_dir_all(store.dir.path().join("jitdesk")).expect("a config folder");
    std::fs::write(store.dir.path().join("jitdesk").join("config.toml"), CONFIG).expect("the config");
    store.ok(&["init"]);
    let mut a = Replica::start(&store, "a");
    let b = Replica::start(&store, "b");
    let sockets = [a.socket.clone(), b.socket.clone()];
    directory(&mut Door::new(&sockets, 0)).await;

    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let until = Instant::now() + LOAD;
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let (sockets, acknowledged) = (sockets.clone(), acknowledged.clone());
        clients.push(tokio::spawn(async move {
            if i < CREATORS {
                create_grants(i, Door::new(&sockets, i % 2), until, &acknowledged).await;
            } else {
                race_decisions(i, &sockets, until, &acknowledged).await;
            }
        }));
    }
    tokio::time::sleep(KILL_AT).await;
    a.process.child.kill().expect("SIGKILL the first replica");
    let killed_at = Utc::now();
    for client in clients {
        client.await.expect("a client");
    }
    // Every grant made has ended by now; give the replica left a moment past the last end.
    tokio::time::sleep(Duration::from_millis(3500)).await;

    let acknowledged = acknowledged.lock().await;
    let mut survivor = Door::new(&sockets, 1);
    assert!(acknowledged.grants.len() > 100, "the load made too few grants: {}", acknowledged.grants.len());
    let mut late = Vec::new();
    for (id, end) in &acknowledged.grants {
        let request = survivor.expect(200, "GET", &format!("/v1/requests/{id}"), "", Value::Null).await;
        assert_eq!(request["jitRequestState"], "Expired", "grant {id} acknowledged, then: {request}");
        let expiries: Vec<&Value> =
            history(&request).into_iter().filter(|r| r["action"] == "access.expire").collect();
        assert_eq!(expiries.len(), 1, "grant {id} must expire exactly once: {request}");
        let at: DateTime<Utc> = serde_json::from_value(expiries[0]["at"].clone()).expect("an expiry time");
        late.push(((at - *end).as_seconds_f64(), *id));
    }
    late.sort_by(|x, y| x.0.total_cmp(&y.0));
    let worst = late.last().copied().unwrap_or_default();
    assert!(
        worst.0 < 1.0,
        "grant {} expired {:.3} s after its end (killed at {killed_at})",
        worst.1,
        worst.0
    );
    assert!(late.first().is_some_and(|l| l.0 >= 0.0), "a grant expired before its end: {late:?}");

    let mut decided = 0;
    for (id, acks) in &acknowledged.manual {
        let request = survivor.expect(200, "GET", &format!("/v1/requests/{id}"), "", Value::Null).await;
        let decisions: Vec<String> = history(&request)
            .into_iter()
            .filter(|r| r["action"] == "request.approve" || r["action"] == "request.deny")
            .map(|r| r["action"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(decisions.len() <= 1, "request {id} was decided twice: {decisions:?}");
        assert!(acks.len() <= 1, "two decisions of request {id} were both acknowledged: {acks:?}");
        if let Some(ack) = acks.first() {
            assert_eq!(
                decisions,
                vec![ack.to_string()],
                "request {id}: acknowledged {ack}, recorded {decisions:?}"
            );
            decided += 1;
        }
    }
    assert!(decided > 20, "too few races were decided: {decided}");
    eprintln!(
        "failover: {} grants and {} manual requests acknowledged, {decided} decided, {} calls lost with the replica; worst expiry {:.0} ms late",
        acknowledged.grants.len(),
        acknowledged.manual.len(),
        acknowledged.lost,
        worst.0 * 1000.0
    );
}

fn history(request: &Value) -> Vec<&Value> {
    request["history"].as_array().map(|h| h.iter().collect()).unwrap_or_default()
}

/// Creates short automatic grants until `until`, noting each acknowledged one with its end.
async fn create_grants(i: usize, mut door: Door, until: Instant, acknowledged: &Mutex<Acknowledged>) {
    while Instant::now() < until {
        match door.call("POST", "/v1/requests", &publisher(i), &ask(&app(i), GRANT)).await {
            Outcome::Answered(201, created) => {
                let id = created["id"].as_u64().expect("an id");
                let end: DateTime<Utc> = serde_json::from_value(created["endTime"].clone()).expect("an end");
                acknowledged.lock().await.grants.push((id, end));
            }
            Outcome::Answered(status, body) => panic!("a grant was refused: {status} {body}"),
            Outcome::Lost => acknowledged.lock().await.lost += 1,
        }
    }
}

/// Makes a manual request, then races an approval on one replica against a denial on the other,
/// until `until`.
async fn race_decisions(
    i: usize,
    sockets: &[PathBuf; 2],
    until: Instant,
    acknowledged: &Mutex<Acknowledged>,
) {
    let mut door = Door::new(sockets, i % 2);
    let (mut approver, mut denier) = (Door::new(sockets, 0), Door::new(sockets, 1));
    while Instant::now() < until {
        let id = match door.call("POST", "/v1/requests", &publisher(i), &ask(MANUAL_APP, "PT1H")).await {
            Outcome::Answered(201, created) => created["id"].as_u64().expect("an id"),
            Outcome::Answered(409, _) => continue,
            Outcome::Answered(status, body) => panic!("a manual request was refused: {status} {body}"),
            Outcome::Lost => {
                acknowledged.lock().await.lost += 1;
                continue;
            }
        };
        acknowledged.lock().await.manual.insert(id, Vec::new());
        let reason = json!({"reason": "INC-7: racing"});
        let (approve_path, deny_path) =
            (format!("/v1/requests/{id}/approve"), format!("/v1/requests/{id}/deny"));
        let (approve, deny) = tokio::join!(
            approver.call("POST", &approve_path, ADMIN, &reason),
            denier.call("POST", &deny_path, ADMIN, &reason),
        );
        let mut acknowledged = acknowledged.lock().await;
        for (outcome, action) in [(approve, "request.approve"), (deny, "request.deny")] {
            match outcome {
                Outcome::Answered(200, _) => acknowledged.manual.entry(id).or_default().push(action),
                Outcome::Answered(409, _) => {}
                Outcome::Answered(status, body) => panic!("{action} of {id}: {status} {body}"),
                Outcome::Lost => acknowledged.lost += 1,
            }
        }
        // A request whose deciders were both lost stays pending: the requester may not ask again.
        if acknowledged.manual.get(&id).is_some_and(Vec::is_empty) {
            drop(acknowledged);
            let _ = door.call("POST", &format!("/v1/requests/{id}/cancel"), &publisher(i), &reason).await;
        }
    }
}

#[test]
fn a_dashboard_on_the_killed_replica_carries_on_through_the_other() {
    let Some(url) = pg::database() else { return };
    let store = Store { dir: tempfile::tempdir().expect("a temp folder"), path: PathBuf::from(url) };
    store.ok(&["init"]);
    let store = directory_in(store);
    let before = store.create_request(DAVE, "prod", "Owner", "1h", "asked before the failover");
    let pki = Pki::with_clients(&[("alice", ALICE)]);
    let https = |name: &str| {
        let dir = store.dir.path().join(name);
        std::fs::create_dir_all(&dir).expect("a data folder");
        let socket = dir.join("api.sock").to_string_lossy().into_owned();
        door(&mut serve_in(&store.path, &dir, &["--listen", "127.0.0.1:0", "--socket", &socket]), &pki)
    };
    let (mut first, port_a) = https("a");
    let (_second, port_b) = https("b");

    let t = Tmux::new("ha-dashboard");
    t.start(120, 35, &dashboard(&t, &pki, &[port_a, port_b]));
    t.wait_screen("the pending request", STARTUP, |s| {
        s.contains("Pending requests (") && row_ids(s) == [before]
    });
    kill(&mut first);
    let moved = format!("now on https://127.0.0.1:{port_b}");
    t.wait_screen("the toast naming the replica left", STARTUP, |s| s.contains(&moved));

    // Made by another process on the database: the replica left hears of it and tells the dashboard.
    let after = store.create_request(ERIN, "prod", "Contributor", "2h", "asked after the failover");
    t.wait_screen("the request made after the failover", STARTUP, |s| row_ids(s).contains(&after));
    t.keys(&["Down"]);
    t.keys(&["a"]);
    let form = format!("Approve request {after}");
    t.wait_screen("the approve form", STARTUP, |s| s.contains(&form));
    let reason = "approved through the replica left";
    t.type_text(reason);
    t.wait_screen("the typed reason", STARTUP, |s| s.contains(reason));
    t.keys(&["Enter"]);
    t.wait_screen("the approved row to leave the list", STARTUP, |s| {
        !s.contains("Approve request ") && !row_ids(s).contains(&after)
    });
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0, "q ends the dashboard with status 0");
    let shown = store.request_json(after);
    assert_eq!(shown["jitRequestState"], "Approved", "{shown:#}");
    assert_eq!(shown["decision"]["by"], ALICE, "{shown:#}");
    assert_eq!(shown["decision"]["reason"], reason, "{shown:#}");
}
