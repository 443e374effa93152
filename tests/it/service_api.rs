//! The shared service through its socket: the real binary runs `serve` as a child, and a small
//! HTTP/1.1 client made of hyper's connection API talks to it. All calls come from this test's own
//! uid, which is the service's operator, so directory users are named with `X-Jitdesk-As`; refusals
//! of other OS users are covered by the identity function's unit tests (and, later, by tests with
//! real OS users).

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::common::process::{self, Process, first_line};
use crate::common::{ALICE, BOB, CAROL, DAVE, ERIN, NADIA, Store};
use jitdesk::api::wire;
use jitdesk::json;

/// The sample's requests still waiting for a decision, both on `contoso-crm` (approvers alice, bob).
const DAVES_PENDING: u64 = 10;
const ERINS_PENDING: u64 = 11;

// ---- the service as a child process ----

struct Service {
    /// Signals, waits and the kill at the end.
    process: Process,
    socket: PathBuf,
    store: Store,
}

impl Service {
    /// `init --sample`, then `serve` on a socket in the store's folder.
    fn sample() -> Service {
        let store = Store::new();
        let out = store.ok(&["init", "--sample"]);
        assert!(out.contains("loaded the sample"), "{out}");
        let socket = store.dir.path().join("api.sock");
        Service::start(store, &socket)
    }

    fn start(store: Store, socket: &Path) -> Service {
        let (process, line) = Process::start(&mut serve_command(&store, Some(socket)));
        assert_eq!(
            line,
            format!("serving {} on {}", store.path.display(), socket.display()),
            "the one startup line"
        );
        Service { process, socket: socket.to_path_buf(), store }
    }

    async fn call(&self, method: &str, path: &str, as_user: Option<&str>, body: Option<Value>) -> Reply {
        call(&self.socket, method, path, as_user, body.map(|b| b.to_string().into_bytes())).await
    }

    async fn get(&self, path: &str, as_user: Option<&str>) -> Reply {
        self.call("GET", path, as_user, None).await
    }

    /// A call that must succeed with `status`; returns the JSON body.
    async fn ok(
        &self,
        method: &str,
        path: &str,
        as_user: Option<&str>,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let reply = self.call(method, path, as_user, body).await;
        assert_eq!(reply.status, status, "{method} {path} as {as_user:?}: {}", reply.text);
        reply.json()
    }

    /// Everything a refused call must leave as it was, as the operator sees it.
    async fn snapshot(&self) -> Vec<String> {
        let mut all = Vec::new();
        for path in [
            "/v1/audit?limit=1000",
            "/v1/requests?limit=1000",
            "/v1/applications",
            "/v1/offers",
            "/v1/users",
            "/v1/tenants",
            "/v1/access",
        ] {
            let reply = self.get(path, None).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.text);
            all.push(reply.text);
        }
        for upn in [DAVE, ERIN, ALICE, BOB] {
            all.push(self.get("/v1/notifications?limit=1000", Some(upn)).await.text);
            all.push(self.get("/v1/me", Some(upn)).await.text);
        }
        all
    }
}

/// `jitdesk --store S serve [--socket P]` with a clean environment; logs go to the store's folder.
fn serve_command(store: &Store, socket: Option<&Path>) -> Command {
    let mut cmd = process::serve_command(&store.path, store.dir.path());
    if let Some(socket) = socket {
        cmd.arg("--socket").arg(socket);
    }
    cmd
}

// ---- a small HTTP/1.1 client over the Unix socket ----

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A refusal: the status, and the error body with its kind and a message.
    fn refused(&self, status: u16, kind: &str) -> String {
        assert_eq!(self.status, status, "{}", self.text);
        let failure: wire::Failure = serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not an error body ({e}): {}", self.text));
        let kind_text = serde_json::to_value(failure.error.kind).unwrap();
        assert_eq!(kind_text, kind, "{}", self.text);
        assert!(!failure.error.message.is_empty());
        failure.error.message
    }
}

async fn connect(socket: &Path) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = UnixStream::connect(socket).await.expect("connect to the socket");
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    sender
}

fn request(method: &str, path: &str, as_user: Option<&str>, body: Option<Vec<u8>>) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri(path).header("host", "jitdesk");
    if let Some(upn) = as_user {
        builder = builder.header("x-jitdesk-as", upn);
    }
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    builder.body(Full::new(Bytes::from(body.unwrap_or_default()))).expect("request")
}

async fn call(
    socket: &Path,
    method: &str,
    path: &str,
    as_user: Option<&str>,
    body: Option<Vec<u8>>,
) -> Reply {
    let mut sender = connect(socket).await;
    let response = sender.send_request(request(method, path, as_user, body)).await.expect("send");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Writes raw bytes on a new connection and returns the status line of the answer.
async fn raw(socket: &Path, bytes: &[u8]) -> String {
    let mut stream = UnixStream::connect(socket).await.expect("connect");
    // The server may answer (and close) before it has read everything; that is the point.
    let _ = stream.write_all(bytes).await;
    let mut answer = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !answer.windows(2).any(|w| w == b"\r\n") {
        let mut chunk = [0u8; 1024];
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string()
}

/// One server-sent-events subscription.
struct Events {
    body: hyper::body::Incoming,
    buffer: String,
    _sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

/// One SSE message: its event name (`message` when none) and its data.
#[derive(Debug)]
struct Message {
    event: String,
    data: String,
}

impl Events {
    async fn open(socket: &Path, as_user: Option<&str>) -> Events {
        let mut sender = connect(socket).await;
        let response =
            sender.send_request(request("GET", "/v1/events", as_user, None)).await.expect("subscribe");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut events = Events { body: response.into_body(), buffer: String::new(), _sender: sender };
        let ready = events.next(Duration::from_secs(5)).await.expect("the ready event");
        assert_eq!(ready.event, wire::EVENT_READY);
        events
    }

    /// The next message (comments skipped), or None when the stream ends or nothing comes in time.
    async fn next(&mut self, within: Duration) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut data) = ("message".to_string(), Vec::new());
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event = name.trim().to_string();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
                    }
                }
                if !data.is_empty() {
                    return Some(Message { event, data: data.join("\n") });
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame()).await.ok()??.ok()?;
            if let Ok(chunk) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
    }

    /// The next engine event, skipping other messages.
    async fn next_event(&mut self, within: Duration) -> Option<json::Committed> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.next(left).await?;
            if message.event == "message" {
                return Some(serde_json::from_str(&message.data).expect("an engine event"));
            }
        }
    }
}

// ---- the tests ----

#[tokio::test]
async fn every_route_answers_on_the_sample() {
    let mut s = Service::sample();
    let mode = std::fs::metadata(&s.socket).unwrap();
    assert!(mode.file_type().is_socket());
    assert_eq!(mode.permissions().mode() & 0o777, 0o660, "owner and group only");

    // Health needs no identity and names the store.
    let health: wire::Health =
        serde_json::from_value(s.ok("GET", "/v1/health", None, None, 200).await).unwrap();
    assert_eq!((health.service.as_str(), health.store), ("jitdesk", s.store.path.display().to_string()));

    // Who am I: the operator, as itself and as a directory user.
    let me: wire::Me = serde_json::from_value(s.ok("GET", "/v1/me", None, None, 200).await).unwrap();
    assert!(me.operator && me.user.is_none() && me.seen_upto.is_none(), "{me:?}");
    let me: wire::Me = serde_json::from_value(s.ok("GET", "/v1/me", Some(DAVE), None, 200).await).unwrap();
    assert!(me.operator);
    assert_eq!(me.user.map(|u| u.upn), Some(DAVE.to_string()));

    // The directory: the operator manages it.
    let tenants = s.ok("GET", "/v1/tenants", None, None, 200).await;
    assert_eq!(tenants.as_array().unwrap().len(), 3);
    let t =
        s.ok("POST", "/v1/tenants", None, Some(json!({"id": "woodgrove", "kind": "customer"})), 201).await;
    assert_eq!(t, json!({"id": "woodgrove", "kind": "customer", "name": "woodgrove", "license": "p2"}));
    let u = s
        .ok(
            "POST",
            "/v1/users",
            None,
            Some(
                json!({"upn": "Wendy@Woodgrove.com", "tenant": "woodgrove", "admin": true, "login": "wendy"}),
            ),
            201,
        )
        .await;
    assert_eq!(u["upn"], "wendy@woodgrove.com");
    assert_eq!(u["login"], "wendy");
    // A directory user finds their own tenant's users only; the operator anyone.
    let found = s.ok("GET", "/v1/users?search=wendy", Some("wendy@woodgrove.com"), None, 200).await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    let found = s.ok("GET", "/v1/users?search=wendy", Some(DAVE), None, 200).await;
    assert_eq!(found, json!([]), "Wendy is Woodgrove's");
    assert_eq!(s.ok("GET", "/v1/users?search=wendy", None, None, 200).await.as_array().unwrap().len(), 1);
    assert_eq!(s.ok("GET", "/v1/users", None, None, 200).await.as_array().unwrap().len(), 7);

    // The marketplace: a publisher publishes.
    let offer = s
        .ok(
            "POST",
            "/v1/offers",
            Some(DAVE),
            Some(json!({"id": "fabrikam-erp", "name": "Fabrikam ERP", "jitAvailable": true, "roles": ["Owner", "Reader"]})),
            201,
        )
        .await;
    assert_eq!(offer["publishedBy"], DAVE);
    assert_eq!(s.ok("GET", "/v1/offers", Some(ERIN), None, 200).await.as_array().unwrap().len(), 3);

    // Applications: a customer admin deploys and changes JIT settings; ARM names throughout.
    let deployed = s
        .call(
            "POST",
            "/v1/applications",
            Some(ALICE),
            Some(json!({"name": "contoso-erp", "offer": "fabrikam-erp", "mode": "ManualApprove", "maxDuration": "4h", "approvers": [BOB]})),
        )
        .await;
    assert_eq!(deployed.status, 201, "{}", deployed.text);
    assert_eq!(deployed.header("location"), Some("/v1/applications/contoso-erp"));
    let app: json::App = serde_json::from_str(&deployed.text).unwrap();
    assert_eq!(app.jit_access_policy.jit_approvers[0].display_name, "Bob Nakamura");
    let app = jitdesk::domain::Application::from(app);
    assert_eq!(app.policy.max_duration.iso(), "PT4H");
    let shown = s.ok("GET", "/v1/applications/contoso-erp", Some(DAVE), None, 200).await;
    assert_eq!(shown["jitAccessPolicy"]["jitApprovalMode"], "ManualApprove");
    let changed = s
        .ok(
            "PATCH",
            "/v1/applications/contoso-erp",
            Some(ALICE),
            Some(json!({"maxDuration": "PT6H", "addApprovers": [CAROL]})),
            200,
        )
        .await;
    assert_eq!(changed["jitAccessPolicy"]["maximumJitAccessDuration"], "PT6H");
    assert_eq!(changed["jitAccessPolicy"]["jitApprovers"].as_array().unwrap().len(), 2);
    let apps = s.ok("GET", "/v1/applications", None, None, 200).await;
    assert_eq!(apps.as_array().unwrap().len(), 5);
    // A user sees only the applications their tenant is a party to.
    assert_eq!(s.ok("GET", "/v1/applications", Some(NADIA), None, 200).await, json!([]));

    // Requests: create, list with each filter, show with history, decide.
    let created = s
        .call(
            "POST",
            "/v1/requests",
            Some(DAVE),
            Some(json!({"app": "contoso-erp", "roles": ["owner"], "duration": "PT2H", "justification": "INC-1: month end", "ticket": "INC-1"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let request: json::Request = serde_json::from_str(&created.text).unwrap();
    let id = request.id;
    assert_eq!(created.header("location"), Some(format!("/v1/requests/{id}").as_str()));
    assert_eq!(request.jit_authorization_policies[0].role_definition_id, "Owner");
    let domain = jitdesk::domain::AccessRequest::from(request);
    assert_eq!(domain.state, jitdesk::domain::RequestState::Pending);

    let pending = s.call("GET", "/v1/requests?state=pending&limit=100", None, None).await;
    assert_eq!(pending.status, 200);
    assert_eq!(pending.header("x-jitdesk-more"), Some("false"));
    let ids: Vec<u64> =
        pending.json().as_array().unwrap().iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [id, ERINS_PENDING, DAVES_PENDING], "newest first");
    let one = s.call("GET", "/v1/requests?limit=1", None, None).await;
    assert_eq!(one.header("x-jitdesk-more"), Some("true"));
    assert_eq!(one.json().as_array().unwrap().len(), 1);
    let by_app = s.ok("GET", "/v1/requests?app=contoso-erp", None, None, 200).await;
    assert_eq!(by_app.as_array().unwrap().len(), 1);
    let by_requester =
        s.ok("GET", &format!("/v1/requests?requester={ERIN}&limit=100"), None, None, 200).await;
    assert!(by_requester.as_array().unwrap().iter().all(|r| r["requester"] == ERIN));
    let mine = s.ok("GET", "/v1/requests?mine=true&limit=100", Some(DAVE), None, 200).await;
    assert!(!mine.as_array().unwrap().is_empty());
    assert!(mine.as_array().unwrap().iter().all(|r| r["requester"] == DAVE));
    assert_eq!(s.ok("GET", "/v1/requests?limit=100", Some(NADIA), None, 200).await, json!([]));

    let approved = s
        .ok(
            "POST",
            &format!("/v1/requests/{id}/approve"),
            Some(BOB),
            Some(json!({"reason": "month end"})),
            200,
        )
        .await;
    assert_eq!(approved["jitRequestState"], "Approved");
    assert_eq!(approved["decision"]["by"], BOB);
    let detail = s.ok("GET", &format!("/v1/requests/{id}"), Some(ERIN), None, 200).await;
    let actions: Vec<&str> =
        detail["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["request.create", "request.approve"]);

    // Access: grants, a check, a revocation.
    let grants = s.ok("GET", "/v1/access", Some(DAVE), None, 200).await;
    assert!(grants.as_array().unwrap().iter().any(|g| g["id"] == id), "{grants}");
    let check = s.ok("GET", "/v1/access/check?app=contoso-erp", Some(DAVE), None, 200).await;
    assert_eq!(check["access"], "active");
    assert_eq!(check["request"], id);
    let check: json::AccessCheck = serde_json::from_value(
        s.ok("GET", &format!("/v1/access/check?app=contoso-erp&user={ERIN}"), None, None, 200).await,
    )
    .unwrap();
    assert!(matches!(check.access, json::Access::None { .. }));
    let revoked = s
        .ok(
            "POST",
            &format!("/v1/access/{id}/revoke"),
            Some(ALICE),
            Some(json!({"reason": "done early"})),
            200,
        )
        .await;
    assert_eq!(revoked["jitRequestState"], "Revoked");

    // Deny and cancel.
    let ask = |why: &str| json!({"app": "contoso-erp", "roles": ["Reader"], "duration": "1h", "justification": why});
    let second =
        s.ok("POST", "/v1/requests", Some(DAVE), Some(ask("again")), 201).await["id"].as_u64().unwrap();
    let denied = s
        .ok(
            "POST",
            &format!("/v1/requests/{second}/deny"),
            Some(CAROL),
            Some(json!({"reason": "no ticket"})),
            200,
        )
        .await;
    assert_eq!(denied["jitRequestState"], "Denied");
    let third =
        s.ok("POST", "/v1/requests", Some(DAVE), Some(ask("once more")), 201).await["id"].as_u64().unwrap();
    let canceled = s.ok("POST", &format!("/v1/requests/{third}/cancel"), Some(DAVE), None, 200).await;
    assert_eq!(canceled["jitRequestState"], "Canceled");

    // Notifications, and marking them seen.
    let notes = s.call("GET", "/v1/notifications?limit=100", Some(DAVE), None).await;
    assert_eq!(notes.status, 200);
    assert_eq!(notes.header("x-jitdesk-seen-upto"), Some("0"));
    let notes: Vec<jitdesk::domain::Notification> = serde_json::from_str(&notes.text).unwrap();
    assert!(notes.iter().any(|n| n.request == Some(id) && n.message.contains("revoked")), "{notes:?}");
    let newest = notes[0].id;
    let seen = s.ok("POST", "/v1/notifications/seen", Some(DAVE), Some(json!({"upto": newest})), 200).await;
    assert_eq!(seen, json!({"seenUpto": newest}));
    let me: wire::Me = serde_json::from_value(s.ok("GET", "/v1/me", Some(DAVE), None, 200).await).unwrap();
    assert_eq!(me.seen_upto, Some(newest));

    // The audit log: everything for the operator, the parties' share for a user.
    let audit = s.ok("GET", "/v1/audit?limit=3", None, None, 200).await;
    let actions: Vec<&str> =
        audit.as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["request.cancel", "request.create", "request.deny"]);
    let all = s.ok("GET", "/v1/audit?limit=1000", None, None, 200).await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "tenant.add" && r["actor"].as_str().unwrap().starts_with("operator:"))
    );
    assert_eq!(s.ok("GET", "/v1/audit", Some(NADIA), None, 200).await, json!([]));
    let daves = s.ok("GET", "/v1/audit?limit=1000", Some(DAVE), None, 200).await;
    assert!(daves.as_array().unwrap().iter().all(|r| r["app"].is_string()), "only application records");

    // Everything the CLI reads after the service stops agrees with what the API said.
    s.process.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(s.process.wait(Duration::from_secs(15)), 0);
    assert_eq!(s.store.state_of(id), "Revoked");
}

#[tokio::test]
async fn refusals_have_fitting_codes_and_change_nothing() {
    let s = Service::sample();
    let before = s.snapshot().await;
    let decision = format!("/v1/requests/{DAVES_PENDING}/approve");

    // 400: malformed JSON, unknown fields, missing fields, empty bodies, bad queries, rule refusals.
    let bad = |text: &str| Some(text.as_bytes().to_vec());
    let m =
        call(&s.socket, "POST", "/v1/tenants", None, bad("{\"id\": \"x\",")).await.refused(400, "invalid");
    assert!(m.contains("EOF"), "{m}");
    let m =
        call(&s.socket, "POST", "/v1/tenants", None, bad(r#"{"id": "x", "kind": "customer", "colour": 1}"#))
            .await
            .refused(400, "invalid");
    assert!(m.contains("unknown field `colour`"), "{m}");
    let m = call(&s.socket, "POST", "/v1/tenants", None, bad(r#"{"id": "x"}"#)).await.refused(400, "invalid");
    assert!(m.contains("missing field `kind`"), "{m}");
    let m = call(&s.socket, "POST", "/v1/tenants", None, bad(r#"{"id": "x", "kind": "galaxy"}"#))
        .await
        .refused(400, "invalid");
    assert!(m.contains("galaxy"), "{m}");
    let m = call(&s.socket, "POST", &decision, Some(ALICE), None).await.refused(400, "invalid");
    assert!(m.contains("empty"), "{m}");
    let m = call(&s.socket, "POST", &decision, Some(ALICE), bad("[1, 2]")).await.refused(400, "invalid");
    assert!(m.contains("JSON"), "{m}");
    s.call("POST", &decision, Some(ALICE), Some(json!({"reason": "   "}))).await.refused(400, "invalid");
    let m = s.get("/v1/requests?state=Sleeping", None).await.refused(400, "invalid");
    assert!(m.contains("Pending"), "{m}");
    let m = s.get("/v1/requests?stat=Pending", None).await.refused(400, "invalid");
    assert!(m.contains("unknown field `stat`"), "{m}");
    s.get("/v1/requests?limit=many", None).await.refused(400, "invalid");
    s.get("/v1/audit?limit=100000000", None).await.refused(400, "invalid");
    s.get("/v1/access/check", Some(DAVE)).await.refused(400, "invalid");
    let m = s.get("/v1/access/check?app=contoso-crm", None).await.refused(400, "invalid");
    assert!(m.contains("user="), "the operator names the user: {m}");
    s.get(&format!("/v1/requests?mine=true&requester={ERIN}"), Some(DAVE)).await.refused(400, "invalid");
    let too_long =
        json!({"app": "contoso-crm-eu", "roles": ["Reader"], "duration": "PT9H", "justification": "x"});
    s.call("POST", "/v1/requests", Some(DAVE), Some(too_long)).await.refused(400, "invalid");
    let m = s
        .call(
            "POST",
            "/v1/requests",
            Some(DAVE),
            Some(json!({"app": "contoso-crm-eu", "duration": "soon", "justification": "x"})),
        )
        .await
        .refused(400, "invalid");
    assert!(m.contains("PT8H"), "the duration forms are named: {m}");
    let status = raw(&s.socket, b"GET /v1/me HTTP/1.1\r\nHost x\r\n\r\n").await;
    assert!(status.starts_with("HTTP/1.1 400"), "a malformed request line: {status:?}");
    let huge = format!("GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n", "p".repeat(70 * 1024));
    let status = raw(&s.socket, huge.as_bytes()).await;
    assert!(status.starts_with("HTTP/1.1 431"), "headers over 64 KiB: {status:?}");

    // 403: directory writes by users, workflow steps the rules refuse, no user where one is needed.
    let m = s
        .call("POST", "/v1/tenants", Some(DAVE), Some(json!({"id": "x", "kind": "customer"})))
        .await
        .refused(403, "forbidden");
    assert!(m.contains("only the store's operator"), "{m}");
    s.call("POST", "/v1/users", Some(ALICE), Some(json!({"upn": "x@contoso.com", "tenant": "contoso"})))
        .await
        .refused(403, "forbidden");
    let m = s
        .call(
            "POST",
            &format!("/v1/requests/{DAVES_PENDING}/approve"),
            Some(DAVE),
            Some(json!({"reason": "me"})),
        )
        .await
        .refused(403, "forbidden");
    assert!(m.contains("your own"), "{m}");
    s.call("POST", &decision, Some(CAROL), Some(json!({"reason": "ok"}))).await.refused(403, "forbidden");
    s.call("POST", &format!("/v1/requests/{DAVES_PENDING}/cancel"), Some(ERIN), None)
        .await
        .refused(403, "forbidden");
    s.call(
        "POST",
        "/v1/requests",
        None,
        Some(json!({"app": "contoso-crm", "roles": ["Owner"], "duration": "1h", "justification": "x"})),
    )
    .await
    .refused(403, "forbidden");
    s.get("/v1/notifications", None).await.refused(403, "forbidden");
    s.call("POST", "/v1/notifications/seen", None, Some(json!({"upto": 5}))).await.refused(403, "forbidden");

    // 404: unknown ids, names, routes and users; other tenants' applications look the same.
    s.call("POST", "/v1/requests/999/approve", Some(ALICE), Some(json!({"reason": "ok"})))
        .await
        .refused(404, "notFound");
    s.get("/v1/requests/999", None).await.refused(404, "notFound");
    s.get("/v1/requests/ten", None).await.refused(404, "notFound");
    s.get("/v1/applications/nowhere", None).await.refused(404, "notFound");
    let hidden = s.get("/v1/applications/contoso-crm", Some(NADIA)).await.refused(404, "notFound");
    let missing = s.get("/v1/applications/nowhere", Some(NADIA)).await.refused(404, "notFound");
    assert_eq!(
        hidden.replace("contoso-crm", "nowhere"),
        missing,
        "a hidden application reads as a missing one"
    );
    s.get(&format!("/v1/requests/{DAVES_PENDING}"), Some(NADIA)).await.refused(404, "notFound");
    s.get("/v1/access/check?app=contoso-crm", Some(NADIA)).await.refused(404, "notFound");
    s.get("/v1/nothing-here", None).await.refused(404, "notFound");
    let m = s.get("/v1/me", Some("nobody@nowhere.com")).await.refused(404, "notFound");
    assert!(m.contains("nobody@nowhere.com"), "{m}");
    s.call("PATCH", "/v1/applications/nowhere", Some(ALICE), Some(json!({"maxDuration": "1h"})))
        .await
        .refused(404, "notFound");

    // 405 for a route that does not take the method.
    s.call("DELETE", "/v1/tenants", None, None).await.refused(405, "invalid");

    // 409: duplicates and decisions on requests no longer pending.
    s.call("POST", "/v1/tenants", None, Some(json!({"id": "contoso", "kind": "customer"})))
        .await
        .refused(409, "conflict");
    s.call(
        "POST",
        "/v1/requests",
        Some(DAVE),
        Some(json!({"app": "contoso-crm", "roles": ["Owner"], "duration": "1h", "justification": "x"})),
    )
    .await
    .refused(409, "conflict");
    s.call("POST", "/v1/requests/1/approve", Some(ALICE), Some(json!({"reason": "late"})))
        .await
        .refused(409, "conflict");
    s.call("PATCH", "/v1/applications/contoso-crm", Some(ALICE), Some(json!({"jit": false})))
        .await
        .refused(409, "conflict");

    // 413: a declared length over 64 KiB, and a chunked body that grows past it.
    let big = format!(r#"{{"id": "x", "kind": "customer", "name": "{}"}}"#, "n".repeat(70 * 1024));
    let m =
        call(&s.socket, "POST", "/v1/tenants", None, Some(big.into_bytes())).await.refused(413, "invalid");
    assert!(m.contains("64 KiB"), "{m}");
    let mut chunked = b"POST /v1/tenants HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("1000\r\n{}\r\n", "a".repeat(4096)).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let status = raw(&s.socket, &chunked).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status:?}");

    assert_eq!(s.snapshot().await, before, "a refused call changes nothing");
}

/// On every write route, another tenant's request or application answers with the very body a missing
/// one gets: the same 404, the same words, nothing about its tenant or requester.
#[tokio::test]
async fn hidden_objects_answer_exactly_as_missing_ones_on_every_write_route() {
    let s = Service::sample();
    s.ok("POST", "/v1/tenants", None, Some(json!({"id": "litware", "kind": "publisher"})), 201).await;
    s.ok("POST", "/v1/users", None, Some(json!({"upn": "olga@litware.com", "tenant": "litware"})), 201).await;
    let grants = s.ok("GET", "/v1/access", None, None, 200).await;
    let granted = grants[0]["id"].as_u64().expect("the sample has a current grant");
    let before = s.snapshot().await;
    let reason = || Some(json!({"reason": "x"}));
    for who in [NADIA, "olga@litware.com"] {
        for id in [DAVES_PENDING, granted] {
            for (method, route, body) in [
                ("POST", "approve", reason()),
                ("POST", "deny", reason()),
                ("POST", "cancel", None),
                ("POST", "revoke", reason()),
            ] {
                let path = |id: &str| match route {
                    "revoke" => format!("/v1/access/{id}/revoke"),
                    _ => format!("/v1/requests/{id}/{route}"),
                };
                let hidden = s.call(method, &path(&id.to_string()), Some(who), body.clone()).await;
                let missing = s.call(method, &path("99999"), Some(who), body).await;
                missing.refused(404, "notFound");
                assert_eq!(
                    (hidden.status, hidden.text.replace(&id.to_string(), "99999")),
                    (missing.status, missing.text.clone()),
                    "{who} {route} {id}"
                );
            }
        }
        for app in ["contoso-crm", "contoso-analytics"] {
            let set = |name: &str| format!("/v1/applications/{name}");
            let change = || Some(json!({"maxDuration": "1h"}));
            let hidden = s.call("PATCH", &set(app), Some(who), change()).await;
            let missing = s.call("PATCH", &set("nowhere"), Some(who), change()).await;
            missing.refused(404, "notFound");
            assert_eq!(
                (hidden.status, hidden.text.replace(app, "nowhere")),
                (404, missing.text),
                "{who} {app}"
            );
            // Asking for access, including to an application deployed without JIT.
            let ask = |name: &str| {
                Some(json!({"app": name, "roles": ["Owner"], "duration": "1h", "justification": "x"}))
            };
            let hidden = s.call("POST", "/v1/requests", Some(who), ask(app)).await;
            let missing = s.call("POST", "/v1/requests", Some(who), ask("nowhere")).await;
            missing.refused(404, "notFound");
            assert_eq!(
                (hidden.status, hidden.text.replace(app, "nowhere")),
                (404, missing.text),
                "{who} {app}"
            );
        }
    }
    assert_eq!(s.snapshot().await, before, "nothing changed");
}

#[tokio::test]
async fn events_reach_subscribers_within_a_second() {
    let s = Service::sample();
    let mut everything = Events::open(&s.socket, None).await;
    let mut dave = Events::open(&s.socket, Some(DAVE)).await;
    let mut nadia = Events::open(&s.socket, Some(NADIA)).await;

    // A decision made through another connection.
    let sent = Instant::now();
    s.ok(
        "POST",
        &format!("/v1/requests/{DAVES_PENDING}/approve"),
        Some(ALICE),
        Some(json!({"reason": "go"})),
        200,
    )
    .await;
    let event =
        everything.next_event(Duration::from_secs(1)).await.expect("the decision's event within a second");
    let took = sent.elapsed();
    assert_eq!(event.record.action, jitdesk::domain::Action::RequestApproved);
    assert_eq!(event.record.target, jitdesk::domain::Target::Request(DAVES_PENDING));
    assert_eq!(event.record.actor, ALICE);
    assert_eq!(event.notified, [DAVE]);
    eprintln!("decision to event: {took:?}");

    // The requester's stream has it too; a user of an unrelated tenant does not.
    let seen = dave.next_event(Duration::from_secs(1)).await.expect("dave hears of his request");
    assert_eq!(seen.record, event.record);
    assert_eq!(seen.notified, [DAVE]);
    // Directory changes are public, so nadia's next event is the tenant added after the decision.
    s.ok("POST", "/v1/tenants", None, Some(json!({"id": "woodgrove", "kind": "publisher"})), 201).await;
    let next = nadia.next_event(Duration::from_secs(1)).await.expect("a directory event");
    assert_eq!(next.record.action, jitdesk::domain::Action::TenantAdded);
    assert!(next.notified.is_empty());
}

#[tokio::test]
async fn events_of_someones_keys_and_tokens_reach_only_them_and_the_operator() {
    let s = Service::sample();
    let mut everything = Events::open(&s.socket, None).await;
    let mut dave = Events::open(&s.socket, Some(DAVE)).await;
    let mut erin = Events::open(&s.socket, Some(ERIN)).await;
    let key = s.store.dir.path().join("dave");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(made.success());
    let line = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    s.ok("POST", &format!("/v1/users/{DAVE}/keys"), Some(DAVE), Some(json!({"key": line})), 201).await;
    s.ok("POST", "/v1/tokens", Some(DAVE), Some(json!({"name": "ci"})), 201).await;
    // A public directory change after them: the next event anyone else hears.
    s.ok("POST", "/v1/tenants", None, Some(json!({"id": "woodgrove", "kind": "publisher"})), 201).await;

    use jitdesk::domain::Action;
    for stream in [&mut everything, &mut dave] {
        let mut heard = Vec::new();
        for _ in 0..3 {
            heard.push(stream.next_event(Duration::from_secs(5)).await.expect("an event").record.action);
        }
        assert_eq!(heard, [Action::UserKeyAdded, Action::TokenCreated, Action::TenantAdded]);
    }
    let next = erin.next_event(Duration::from_secs(5)).await.expect("the directory event");
    assert_eq!(next.record.action, Action::TenantAdded, "Erin hears nothing of Dave's key and token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_behind_is_told_to_reload() {
    let s = Service::sample();
    let mut stalled = Events::open(&s.socket, None).await;
    // More changes than the event buffer holds (4096) plus what the socket buffers, while the
    // subscriber reads nothing. Sixteen writers, so the commits share transactions.
    let started = Instant::now();
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let socket = s.socket.clone();
            tokio::spawn(async move {
                let mut sender = connect(&socket).await;
                for i in 0..400 {
                    let body =
                        json!({"id": format!("t{w}x{i}"), "kind": "customer"}).to_string().into_bytes();
                    let response =
                        sender.send_request(request("POST", "/v1/tenants", None, Some(body))).await.unwrap();
                    assert_eq!(response.status(), 201);
                    // Read the answer so the connection can take the next request.
                    response.into_body().collect().await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    eprintln!("6400 changes in {:?}", started.elapsed());
    // The other writers were never held up, and now the subscriber reads: what was buffered, then
    // the reload hint, then the end.
    let mut delivered = 0;
    let reload = loop {
        let message = stalled.next(Duration::from_secs(10)).await.expect("a reload before the stream ends");
        if message.event == wire::EVENT_RELOAD {
            break message;
        }
        delivered += 1;
    };
    let reload: wire::Reload = serde_json::from_str(&reload.data).unwrap();
    assert_eq!(reload.reason, wire::ReloadReason::Lagged);
    assert!(reload.missed.unwrap_or(0) > 0, "{reload:?}");
    assert!(delivered < 6400, "{delivered}");
    assert!(stalled.next(Duration::from_secs(5)).await.is_none(), "the stream ends");
    // A new subscription works at once.
    Events::open(&s.socket, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_decisions_record_exactly_one() {
    let s = Service::sample();
    let path = format!("/v1/requests/{ERINS_PENDING}");
    let calls = (0..32).map(|i| {
        let socket = s.socket.clone();
        let (verb, who) = if i % 2 == 0 { ("approve", ALICE) } else { ("deny", BOB) };
        let path = format!("{path}/{verb}");
        tokio::spawn(async move {
            call(
                &socket,
                "POST",
                &path,
                Some(who),
                Some(json!({"reason": format!("racer {i}")}).to_string().into_bytes()),
            )
            .await
        })
    });
    let calls: Vec<_> = calls.collect();
    let mut codes = Vec::new();
    for call in calls {
        let reply = call.await.expect("task");
        if reply.status == 409 {
            reply.refused(409, "conflict");
        }
        codes.push(reply.status);
    }
    let won = codes.iter().filter(|c| **c == 200).count();
    let lost = codes.iter().filter(|c| **c == 409).count();
    assert_eq!((won, lost), (1, 31), "{codes:?}");
    let detail = s.ok("GET", &path, None, None, 200).await;
    let decisions = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["action"] == "request.approve" || h["action"] == "request.deny")
        .count();
    assert_eq!(decisions, 1, "{detail}");
}

#[tokio::test]
async fn sigterm_stops_cleanly() {
    let mut s = Service::sample();
    let mut events = Events::open(&s.socket, None).await;
    // A connection in the middle of a request is answered or closed, never left hanging.
    let mut idle = UnixStream::connect(&s.socket).await.unwrap();
    idle.write_all(b"GET /v1/health HTTP/1.1\r\n").await.unwrap();

    let stopped = Instant::now();
    s.process.signal(nix::sys::signal::Signal::SIGTERM);
    let last = events.next(Duration::from_secs(5)).await.expect("a last event");
    assert_eq!(last.event, wire::EVENT_RELOAD);
    let reload: wire::Reload = serde_json::from_str(&last.data).unwrap();
    assert_eq!(reload.reason, wire::ReloadReason::Shutdown);
    assert!(events.next(Duration::from_secs(5)).await.is_none(), "the stream ends");
    assert_eq!(s.process.wait(Duration::from_secs(15)), 0, "exit 0");
    eprintln!("SIGTERM to exit: {:?}", stopped.elapsed());
    assert!(!s.socket.exists(), "the socket file is gone");
    // Closed cleanly: a read-only open needs no recovery, and the CLI works at once.
    let reopened = jitdesk::store::Store::open_read_only(&s.store.path).expect("open");
    assert!(reopened.is_some(), "the store was closed cleanly and needs no repair");
    drop(reopened);
    let audit = s.store.ok(&["audit"]);
    assert!(audit.contains("ACTOR"), "{audit}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(s.process.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(stderr, "", "nothing on stderr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_under_load_loses_nothing_acknowledged() {
    let mut s = Service::sample();
    let socket = s.socket.clone();
    // Eight clients add tenants one after another until the service goes away.
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let socket = socket.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    let id = format!("t{w}x{i}");
                    let body = json!({"id": id, "kind": "customer"}).to_string().into_bytes();
                    let Ok(stream) = UnixStream::connect(&socket).await else { break };
                    let Ok((mut sender, connection)) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
                    else {
                        break;
                    };
                    tokio::spawn(connection);
                    let Ok(response) =
                        sender.send_request(request("POST", "/v1/tenants", None, Some(body))).await
                    else {
                        break;
                    };
                    match response.status().as_u16() {
                        201 => acknowledged.push(id),
                        other => panic!("a write during shutdown answered {other}"),
                    }
                }
                acknowledged
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.process.signal(nix::sys::signal::Signal::SIGTERM);
    let mut acknowledged = Vec::new();
    for worker in workers {
        acknowledged.extend(worker.await.expect("worker"));
    }
    assert_eq!(s.process.wait(Duration::from_secs(15)), 0);
    assert!(acknowledged.len() > 8, "the load ran: {}", acknowledged.len());
    eprintln!("{} writes acknowledged before the stop", acknowledged.len());
    let audit = s.store.json(&["audit", "--json", "--limit", "1000"]);
    let added: std::collections::HashSet<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "tenant.add")
        .filter_map(|r| r["target"]["id"].as_str())
        .collect();
    let lost: Vec<&String> = acknowledged.iter().filter(|id| !added.contains(id.as_str())).collect();
    assert!(lost.is_empty(), "acknowledged but not in the store: {lost:?}");
}

#[tokio::test]
async fn sigint_stops_cleanly_too() {
    let mut s = Service::sample();
    s.ok("GET", "/v1/me", None, None, 200).await;
    s.process.signal(nix::sys::signal::Signal::SIGINT);
    assert_eq!(s.process.wait(Duration::from_secs(15)), 0);
    assert!(!s.socket.exists());
    assert!(jitdesk::store::Store::open_read_only(&s.store.path).unwrap().is_some());
}

#[tokio::test]
async fn a_second_serve_on_the_socket_is_refused() {
    let mut s = Service::sample();
    let started = Instant::now();
    let second = serve_command(&s.store, Some(&s.socket)).output().expect("second serve");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.starts_with("error: a jitdesk service already answers on") && stderr.contains("api.sock"),
        "{stderr:?}"
    );
    assert!(second.stdout.is_empty());
    eprintln!("second serve refused in {:?}", started.elapsed());
    // The first one is untouched.
    assert!(s.socket.exists());
    s.ok("GET", "/v1/health", None, None, 200).await;

    // A socket nobody answers on (the service was killed) is stale, and the next serve replaces it.
    s.process.signal(nix::sys::signal::Signal::SIGKILL);
    s.process.wait(Duration::from_secs(5));
    assert!(s.socket.exists(), "SIGKILL leaves the socket file behind");
    let store = std::mem::replace(&mut s.store, Store::new());
    let again = Service::start(store, &s.socket.clone());
    again.ok("GET", "/v1/health", None, None, 200).await;
}

#[tokio::test]
async fn the_socket_defaults_to_beside_the_store() {
    let store = Store::new();
    store.ok(&["init", "--sample"]);
    let mut child = serve_command(&store, None).stdout(Stdio::piped()).spawn().unwrap();
    let expected = PathBuf::from(format!("{}.sock", store.path.display()));
    assert_eq!(first_line(&mut child), format!("serving {} on {}", store.path.display(), expected.display()));
    assert_eq!(call(&expected, "GET", "/v1/health", None, None).await.status, 200);
    child.kill().unwrap();
    child.wait().unwrap();

    // JITDESK_SOCKET moves it; --socket would beat both.
    let elsewhere = store.dir.path().join("env.sock");
    let mut child =
        serve_command(&store, None).env("JITDESK_SOCKET", &elsewhere).stdout(Stdio::piped()).spawn().unwrap();
    assert!(first_line(&mut child).ends_with("env.sock"));
    assert_eq!(call(&elsewhere, "GET", "/v1/health", None, None).await.status, 200);
    child.kill().unwrap();
    child.wait().unwrap();

    // --group gives the socket to a group (here our own, which needs no privilege).
    let gid = nix::unistd::getegid();
    let group = nix::unistd::Group::from_gid(gid).unwrap().expect("our group has a name").name;
    let grouped = store.dir.path().join("group.sock");
    let mut child = serve_command(&store, Some(&grouped))
        .args(["--group", &group])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    first_line(&mut child);
    let meta = std::fs::metadata(&grouped).unwrap();
    assert_eq!((meta.gid(), meta.permissions().mode() & 0o777), (gid.as_raw(), 0o660));
    child.kill().unwrap();
    child.wait().unwrap();
    let out = serve_command(&store, Some(&grouped)).args(["--group", "no-such-group-here"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: there is no group `no-such-group-here`"), "{stderr}");

    // Not a socket: refused, and the file is left alone.
    let file = store.dir.path().join("plain.sock");
    std::fs::write(&file, "keep me").unwrap();
    let out = serve_command(&store, Some(&file)).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a socket"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

/// Walks a list route part by part, following each `Link: <...>; rel="next"` until there is none;
/// every part's `X-Jitdesk-More` says whether a link came with it. The items, in order.
async fn walk(s: &Service, first: &str, as_user: Option<&str>) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(path) = next.take() {
        let reply = s.get(&path, as_user).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        let part = reply.json().as_array().expect("a JSON array").clone();
        assert!(!part.is_empty(), "{path}: a part with a link after it is never empty");
        next = reply.header("link").map(|link| {
            let target = link.strip_prefix('<').and_then(|l| l.strip_suffix(">; rel=\"next\"")).expect(link);
            target.to_string()
        });
        assert_eq!(
            reply.header("x-jitdesk-more"),
            Some(if next.is_some() { "true" } else { "false" }),
            "{path}"
        );
        items.extend(part);
        assert!(items.len() <= 10_000, "{first}: the walk does not end");
    }
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_is_bounded_and_walks_on_with_its_link() {
    let s = Service::sample();
    let routes = [
        ("/v1/requests", None, "id"),
        ("/v1/requests?state=approved", None, "id"),
        ("/v1/requests", Some(DAVE), "id"),
        ("/v1/requests?app=contoso-crm", Some(ALICE), "id"),
        ("/v1/access", None, "id"),
        ("/v1/access", Some(ALICE), "id"),
        ("/v1/audit", None, "id"),
        ("/v1/audit", Some(DAVE), "id"),
        ("/v1/applications", None, "name"),
        ("/v1/applications", Some(ALICE), "name"),
        ("/v1/notifications", Some(ALICE), "id"),
        ("/v1/tenants", None, "id"),
        ("/v1/users", None, "upn"),
        ("/v1/users?search=fabrikam", Some(DAVE), "upn"),
        ("/v1/users?tenant=contoso", Some(ALICE), "upn"),
        ("/v1/tenants", Some(DAVE), "id"),
        ("/v1/people", Some(DAVE), "upn"),
        ("/v1/offers", None, "id"),
    ];
    for (route, who, key) in routes {
        let joint = if route.contains('?') { '&' } else { '?' };
        let whole = s.get(&format!("{route}{joint}limit=1000"), who).await;
        assert_eq!(whole.header("x-jitdesk-more"), Some("false"), "{route}");
        assert_eq!(whole.header("link"), None, "{route}: no link when nothing more exists");
        let whole = whole.json().as_array().expect("an array").clone();
        assert!(whole.len() >= 2, "{route} as {who:?}: the sample has something to walk");
        // In parts of any size: every item once, in order, and a link exactly when more exist.
        for limit in [1, 2, 3, whole.len() - 1, whole.len()] {
            let walked = walk(&s, &format!("{route}{joint}limit={limit}"), who).await;
            let keys = |items: &[Value]| items.iter().map(|i| i[key].clone()).collect::<Vec<_>>();
            assert_eq!(keys(&walked), keys(&whole), "{route} as {who:?} by {limit}");
        }
    }

    // Without a limit a list gives 100 items, and links to the rest; more than 1,000, or none, is
    // refused.
    for i in 0..100 {
        let tenant = json!({"id": format!("t{i:03}"), "kind": "customer"});
        s.ok("POST", "/v1/tenants", None, Some(tenant), 201).await;
    }
    let all = s.ok("GET", "/v1/tenants?limit=1000", None, None, 200).await;
    assert!(all.as_array().unwrap().len() > 100, "more than the default");
    let first = s.get("/v1/tenants", None).await;
    assert_eq!(first.json().as_array().unwrap().len(), 100);
    let last = &all[99]["id"].as_str().unwrap();
    assert_eq!(first.header("link"), Some(format!("</v1/tenants?after={last}>; rel=\"next\"").as_str()));
    for refused in ["limit=1001", "limit=0", "limit=100000", "after=newest"] {
        let routes = ["/v1/requests", "/v1/access", "/v1/audit", "/v1/notifications", "/v1/applications"];
        for route in routes.into_iter().chain(["/v1/tenants", "/v1/users", "/v1/offers"]) {
            if refused.starts_with("after") && !routes[..4].contains(&route) {
                continue; // names and ids of the directory are cursors
            }
            let m = s.get(&format!("{route}?{refused}"), Some(ALICE)).await.refused(400, "invalid");
            if refused.starts_with("limit") {
                assert!(m.contains("1 to 1000"), "{route}?{refused}: {m}");
            }
        }
    }
}

#[tokio::test]
async fn channel_contact_and_delivery_routes_take_and_answer_their_documented_shapes() {
    let s = Service::sample();
    let secret = "sekret-never-answered-5c1e";
    let webhook =
        json!({"type": "webhook", "url": "https://chat.example/jit", "format": "teams", "secret": secret});
    let channels = "/v1/tenants/contoso/channels";
    let added = s.call("POST", channels, Some(ALICE), Some(webhook.clone())).await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert!(!added.text.contains(secret), "{}", added.text);
    let added = added.json();
    assert_eq!((added["type"].clone(), added["secretSet"].clone()), (json!("webhook"), json!(true)));
    let id = added["id"].as_u64().expect("an id");
    let listed = s.get(channels, Some(ALICE)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(!listed.text.contains(secret), "{}", listed.text);
    assert_eq!(listed.json().as_array().map(Vec::len), Some(1));
    // A publisher may not manage a customer's channels; a body that is no channel is refused.
    s.call("POST", channels, Some(DAVE), Some(webhook)).await.refused(403, "forbidden");
    let hook = json!({"type": "hook", "program": "/bin/true", "shell": true});
    s.call("POST", channels, None, Some(hook)).await.refused(400, "invalid");
    s.call("DELETE", &format!("{channels}/first"), Some(ALICE), None).await.refused(404, "notFound");
    let removed = s.ok("DELETE", &format!("{channels}/{id}"), Some(ALICE), None, 200).await;
    assert_eq!(removed["id"], id);

    // A contact changes only in what the body names; `null` clears.
    let bobs = format!("/v1/users/{BOB}/contact");
    let put = |body: Value| s.ok("PUT", &bobs, Some(BOB), Some(body), 200);
    let c = put(json!({"email": "bob@contoso.com", "digestMinutes": 15})).await;
    assert_eq!(c, json!({"upn": BOB, "email": "bob@contoso.com", "muted": [], "digestMinutes": 15}));
    let c = put(json!({"mute": ["started"]})).await;
    assert_eq!(c, json!({"upn": BOB, "email": "bob@contoso.com", "muted": ["started"], "digestMinutes": 15}));
    let c = put(json!({"email": null, "unmute": ["started"]})).await;
    assert_eq!(c, json!({"upn": BOB, "email": null, "muted": [], "digestMinutes": 15}));
    assert_eq!(s.ok("GET", &bobs, Some(BOB), None, 200).await, c);
    s.call("PUT", &bobs, Some(BOB), Some(json!({"mute": ["bogus"]}))).await.refused(400, "invalid");
    s.call("PUT", &bobs, Some(BOB), Some(json!({"colour": "red"}))).await.refused(400, "invalid");
    // Someone else's contact answers as one that does not exist.
    let hidden = s.get(&format!("/v1/users/{ALICE}/contact"), Some(DAVE)).await;
    let missing = s.get("/v1/users/nobody@contoso.com/contact", Some(DAVE)).await;
    missing.refused(404, "notFound");
    assert_eq!((hidden.status, hidden.text.replace(ALICE, "nobody@contoso.com")), (404, missing.text));

    let failed = s.get("/v1/deliveries?failed=true&limit=5", None).await;
    assert_eq!((failed.status, failed.text.as_str()), (200, "[]"), "{}", failed.text);
    assert_eq!(failed.header(wire::MORE_HEADER), Some("false"));
    s.get("/v1/deliveries?failed=maybe", None).await.refused(400, "invalid");
}

#[tokio::test]
async fn several_approvals_answer_with_their_progress_over_http() {
    let s = Service::sample();
    let app = "/v1/applications/contoso-crm";
    s.call("PATCH", app, Some(ALICE), Some(json!({"approvalsRequired": 3}))).await.refused(400, "invalid");
    let changed = s.ok("PATCH", app, Some(ALICE), Some(json!({"approvalsRequired": 2})), 200).await;
    assert_eq!(changed["jitAccessPolicy"]["approvalsRequired"], 2, "{changed}");

    let approve = format!("/v1/requests/{DAVES_PENDING}/approve");
    let once = s.ok("POST", &approve, Some(ALICE), Some(json!({"reason": "one key"})), 200).await;
    assert_eq!(
        (once["jitRequestState"].as_str(), once["approvalsRequired"].as_u64()),
        (Some("Pending"), Some(2))
    );
    assert_eq!(once["approvals"][0]["by"], ALICE, "{once}");
    let listed = s.ok("GET", "/v1/requests?state=Pending&app=contoso-crm", None, None, 200).await;
    assert!(listed.as_array().unwrap().iter().all(|r| r["approvalsRequired"] == 2), "{listed}");
    let dev = s.ok("GET", "/v1/requests?app=contoso-crm-dev", None, None, 200).await;
    assert!(dev.as_array().unwrap().iter().all(|r| r.get("approvalsRequired").is_none()), "automatic: {dev}");

    s.call("POST", &approve, Some(ALICE), Some(json!({"reason": "again"}))).await.refused(409, "conflict");
    let twice = s.ok("POST", &approve, Some(BOB), Some(json!({"reason": "second key"})), 200).await;
    assert_eq!(twice["jitRequestState"], "Approved", "{twice}");
    let detail = s.ok("GET", &format!("/v1/requests/{DAVES_PENDING}"), Some(DAVE), None, 200).await;
    let actions: Vec<&str> =
        detail["history"].as_array().unwrap().iter().filter_map(|r| r["action"].as_str()).collect();
    assert_eq!(actions, ["request.create", "request.approval", "request.approve"], "{detail}");
}

/// A tenant's routes: its details as far as the caller sees them, a hidden tenant answered as a
/// missing one, and a downgrade that warns of its JIT applications in the answer and refuses new
/// requests in the guide's words until the tenant is on P2 again.
#[tokio::test]
async fn tenant_routes_show_change_a_licence_and_hide_what_the_caller_may_not_see() {
    let s = Service::sample();
    let contoso = s.ok("GET", "/v1/tenants/contoso", Some(ALICE), None, 200).await;
    assert_eq!(contoso["tenant"]["license"], "p2");
    assert_eq!(contoso["users"], 3);
    assert_eq!(contoso["jitApplications"], json!(["contoso-crm", "contoso-crm-dev", "contoso-crm-eu"]));
    assert_eq!(s.ok("GET", "/v1/tenants/contoso", Some(DAVE), None, 200).await["users"], Value::Null);

    let before = s.snapshot().await;
    let p1 = || Some(json!({"license": "p1"}));
    for (hidden, missing) in [
        (
            s.call("GET", "/v1/tenants/contoso", Some(NADIA), None).await,
            s.get("/v1/tenants/nosuch", Some(NADIA)).await,
        ),
        (
            s.call("PATCH", "/v1/tenants/contoso", Some(NADIA), p1()).await,
            s.call("PATCH", "/v1/tenants/nosuch", Some(NADIA), p1()).await,
        ),
    ] {
        missing.refused(404, "notFound");
        assert_eq!((hidden.status, hidden.text.replace("contoso", "nosuch")), (404, missing.text));
    }
    s.call("PATCH", "/v1/tenants/contoso", Some(BOB), p1()).await.refused(403, "forbidden");
    s.call("PATCH", "/v1/tenants/fabrikam", None, Some(json!({"license": "p2"})))
        .await
        .refused(400, "invalid");
    s.call("PATCH", "/v1/tenants/contoso", None, Some(json!({"license": "gold"})))
        .await
        .refused(400, "invalid");
    s.call("GET", "/v1/users?tenant=contoso", Some(DAVE), None).await.refused(403, "forbidden");
    assert_eq!(s.snapshot().await, before, "refusals change nothing");

    let change = s.ok("PATCH", "/v1/tenants/contoso", Some(ALICE), p1(), 200).await;
    assert_eq!((&change["before"], &change["tenant"]["license"]), (&json!("p2"), &json!("p1")));
    assert_eq!(change["warnings"].as_array().map(Vec::len), Some(3), "{change}");
    let ask = json!({"app": "contoso-crm-dev", "roles": ["Owner"], "duration": "1h", "justification": "x"});
    let refused =
        s.call("POST", "/v1/requests", Some(ERIN), Some(ask.clone())).await.refused(403, "forbidden");
    assert!(refused.contains("needs a Microsoft Entra ID P2 licence"), "{refused}");
    s.ok("PATCH", "/v1/tenants/contoso", None, Some(json!({"license": "p2"})), 200).await;
    s.ok("POST", "/v1/requests", Some(ERIN), Some(ask), 201).await;
}

#[tokio::test]
async fn group_routes_answer_their_codes_and_hide_other_tenants_groups() {
    let s = Service::sample();
    let group = "/v1/groups/contoso-approvers";
    let shown = s.ok("GET", group, Some(BOB), None, 200).await;
    assert_eq!(
        (shown["displayName"].as_str(), shown["members"].clone()),
        (Some("Contoso approvers"), json!(["bob@contoso.com", "carol@contoso.com"]))
    );
    let me: wire::Me = serde_json::from_value(s.ok("GET", "/v1/me", Some(BOB), None, 200).await).unwrap();
    assert_eq!(me.groups, ["contoso-approvers"]);
    let eu = s.ok("GET", "/v1/applications/contoso-crm-eu", Some(BOB), None, 200).await;
    assert_eq!(
        eu["jitAccessPolicy"]["jitApprovers"][1],
        json!({"id": "contoso-approvers", "type": "group", "displayName": "Contoso approvers"})
    );

    let before = s.snapshot().await;
    let hidden = s.call("GET", group, Some(NADIA), None).await;
    let missing = s.call("GET", "/v1/groups/nowhere", Some(NADIA), None).await;
    missing.refused(404, "notFound");
    assert_eq!((hidden.status, hidden.text.replace("contoso-approvers", "nowhere")), (404, missing.text));
    let add = |upn: &str| Some(json!({"upns": [upn]}));
    let members = format!("{group}/members");
    s.call("POST", &members, Some(NADIA), add(NADIA)).await.refused(404, "notFound");
    s.call("POST", &members, Some(BOB), add(ALICE)).await.refused(403, "forbidden");
    s.call("POST", &members, Some(ALICE), add(DAVE)).await.refused(404, "notFound");
    s.call("DELETE", &format!("{members}/{DAVE}"), Some(ALICE), None).await.refused(404, "notFound");
    let twin = json!({"id": "contoso-approvers", "tenant": "contoso"});
    s.call("POST", "/v1/groups", Some(ALICE), Some(twin)).await.refused(409, "conflict");
    assert!(s.ok("GET", "/v1/groups", Some(NADIA), None, 200).await.as_array().unwrap().is_empty());
    assert_eq!(s.snapshot().await, before, "nothing changed");

    let made =
        s.ok("POST", "/v1/groups", Some(ALICE), Some(json!({"id": "ops", "tenant": "contoso"})), 201).await;
    assert_eq!(made["displayName"], "ops");
    let added = s.ok("POST", "/v1/groups/ops/members", Some(ALICE), add(ALICE), 200).await;
    assert_eq!(added["members"], json!([ALICE]));
    let removed = s.ok("DELETE", &format!("/v1/groups/ops/members/{ALICE}"), Some(ALICE), None, 200).await;
    assert_eq!(removed["members"], json!([ALICE]));
}
