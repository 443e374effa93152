//! The durable-creation load that more than one bench puts on the service: one HTTP/1.1 keep-alive
//! connection per client, over the Unix socket or the HTTPS door, each client a distinct publisher
//! creating requests on its own auto-approved application. One copy, so that the socket's figure and
//! the HTTPS door's are the same load and their ratio means what it says.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::{TcpStream, UnixStream};

pub const CUSTOMER: &str = "benchco";
pub const PUBLISHER: &str = "benchpub";
pub const ADMIN: &str = "admin@benchco.example";
pub const OFFER: &str = "bench-offer";
/// Requests ask for the application's maximum, so no grant made here ends during the run.
pub const DURATION: &str = "PT8H";
/// Requests each client makes before the clock starts (connections warm, pages cached).
pub const WARMUP: usize = 3;
/// The request create route.
pub const CREATE: &str = jitdesk::api::paths::REQUESTS;

/// Client i's publisher.
pub fn publisher(i: usize) -> String {
    format!("pub{i:02}@benchpub.example")
}

/// Client i's application, which only client i asks for.
pub fn app(i: usize) -> String {
    format!("bench-{i:02}")
}

/// The config.toml a bench's service runs with: the per-requester limits lifted, since each client
/// creates as fast as it can and throughput is measured here, not the limits. Both at their largest
/// value are `Limits::NONE`, which the engine does not check at all; merely large limits would be
/// checked, each check reading every request the requester holds (they pile up under this load).
pub const LIFTED_LIMITS: &str = "[limits]\nrequests_per_hour = 4294967295\nlive_grants = 4294967295\n";

/// One HTTP/1.1 connection; with a bearer token (the HTTPS door), every call carries it.
pub struct Conn {
    pub sender: SendRequest<Full<Bytes>>,
    bearer: Option<String>,
}

pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request to the service; `as_user` is the operator's `X-Jitdesk-As` (the socket's way of
/// acting as a directory user).
pub fn build(method: Method, path: &str, as_user: Option<&str>, body: Bytes) -> Request<Full<Bytes>> {
    let mut request = Request::builder().method(method).uri(path).header("host", "jitdesk");
    if let Some(upn) = as_user {
        request = request.header("x-jitdesk-as", upn);
    }
    request.body(Full::new(body)).expect("a well-formed request")
}

impl Conn {
    /// A connection to the service's socket: the operator, who may act as anyone.
    pub async fn open(socket: &Path) -> Conn {
        let stream = UnixStream::connect(socket).await.expect("the service accepts a connection");
        Conn::over(stream, None).await
    }

    /// A connection to the HTTPS door on loopback `port`, trusting `tls`'s roots, as `token`'s user.
    pub async fn tls(port: u16, tls: Arc<rustls::ClientConfig>, token: &str) -> Conn {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.expect("the door accepts a connection");
        tcp.set_nodelay(true).expect("TCP_NODELAY");
        let name = rustls::pki_types::ServerName::from(std::net::IpAddr::from([127, 0, 0, 1]));
        let stream = tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await.expect("a TLS handshake");
        Conn::over(stream, Some(format!("Bearer {token}"))).await
    }

    async fn over<S>(stream: S, bearer: Option<String>) -> Conn
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("an HTTP/1.1 handshake");
        tokio::spawn(connection);
        Conn { sender, bearer }
    }

    pub async fn call(&mut self, method: Method, path: &str, as_user: Option<&str>, body: Bytes) -> Answer {
        let mut request = build(method, path, as_user, body);
        if let Some(bearer) = &self.bearer {
            request.headers_mut().insert("authorization", bearer.parse().expect("a header value"));
        }
        self.sender.ready().await.expect("the connection stays open");
        let response = self.sender.send_request(request).await.expect("an answer");
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.expect("the whole body").to_bytes();
        Answer { status, body }
    }

    /// A call that must answer `status`; its JSON.
    pub async fn expect(
        &mut self,
        status: u16,
        method: Method,
        path: &str,
        as_user: Option<&str>,
        body: Value,
    ) -> Value {
        let body = if body.is_null() { Bytes::new() } else { Bytes::from(body.to_string()) };
        let answer = self.call(method.clone(), path, as_user, body).await;
        assert_eq!(answer.status, status, "{method} {path} as {as_user:?}: {}", answer.text());
        answer.json()
    }
}

impl Conn {
    /// Every request the list `query` (`state=Approved`, say) gives the operator, walking the pages
    /// by their last id, since a page holds at most `MAX_LIMIT`.
    pub async fn all_requests(&mut self, query: &str) -> Vec<Value> {
        let limit = jitdesk::domain::list::MAX_LIMIT;
        let mut all: Vec<Value> = Vec::new();
        loop {
            let after =
                all.last().and_then(|r| r["id"].as_u64()).map_or(String::new(), |id| format!("&after={id}"));
            let path = format!("{CREATE}?{query}&limit={limit}{after}");
            let page = self.expect(200, Method::GET, &path, None, Value::Null).await;
            let page = page.as_array().cloned().unwrap_or_default();
            let last = page.len() < limit;
            all.extend(page);
            if last {
                return all;
            }
        }
    }
}

/// Tenants, users, an offer and one auto-approved application per (publisher, application) of
/// `people`, as the operator on the socket (itself for the directory, the customer's admin and a
/// publisher through `X-Jitdesk-As` for the rest).
pub async fn setup_directory(socket: &Path, people: &[(String, String)]) {
    let mut c = Conn::open(socket).await;
    let post = Method::POST;
    let customer = json!({"id": CUSTOMER, "kind": "customer", "name": "Bench Co", "license": "p2"});
    c.expect(201, post.clone(), "/v1/tenants", None, customer).await;
    let publisher_tenant = json!({"id": PUBLISHER, "kind": "publisher", "name": "Bench Publisher"});
    c.expect(201, post.clone(), "/v1/tenants", None, publisher_tenant).await;
    c.expect(201, post.clone(), "/v1/users", None, json!({"upn": ADMIN, "tenant": CUSTOMER, "admin": true}))
        .await;
    for (upn, _) in people {
        c.expect(201, post.clone(), "/v1/users", None, json!({"upn": upn, "tenant": PUBLISHER})).await;
    }
    let offer = json!({"id": OFFER, "name": "Bench offer", "jitAvailable": true, "roles": ["Owner"]});
    c.expect(201, post.clone(), "/v1/offers", Some(&people[0].0), offer).await;
    for (_, name) in people {
        let deploy = json!({"name": name, "offer": OFFER, "mode": "AutoApprove", "maxDuration": DURATION});
        let app = c.expect(201, post.clone(), "/v1/applications", Some(ADMIN), deploy).await;
        assert_eq!(app["jitAccessPolicy"]["jitApprovalMode"], "AutoApprove", "{app}");
    }
}

/// A request create body, as the socket and the door take it.
pub fn ask(app: &str) -> Bytes {
    Bytes::from(
        json!({"app": app, "roles": ["Owner"], "duration": DURATION, "justification": "INC-1: service benchmark"})
            .to_string(),
    )
}

/// The part of a created request the benches look at.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    pub id: u64,
    pub jit_request_state: String,
    pub created_at: String,
}

#[derive(Default)]
pub struct Load {
    pub latencies: Vec<f64>,
    /// When each answer came, in seconds from the start.
    pub done: Vec<f64>,
    /// Each answer's `createdAt`: requests committed together share their transaction's clock reading.
    pub commits: Vec<String>,
    pub ids: Vec<u64>,
    pub failures: Vec<String>,
    pub last: Option<Instant>,
}

impl Load {
    fn absorb(&mut self, other: Load) {
        self.latencies.extend(other.latencies);
        self.done.extend(other.done);
        self.commits.extend(other.commits);
        self.ids.extend(other.ids);
        self.failures.extend(other.failures);
        self.last = self.last.max(other.last);
    }

    pub fn commits(&self) -> usize {
        self.commits.iter().collect::<BTreeSet<_>>().len()
    }

    /// Answers per whole second of the run, to show a rate that drifts.
    pub fn per_whole_second(&self) -> String {
        let mut counts = BTreeMap::new();
        for t in &self.done {
            *counts.entry(*t as u64).or_insert(0usize) += 1;
        }
        let whole = self.done.iter().copied().fold(0.0, f64::max) as u64;
        counts.range(..whole).map(|(_, n)| n.to_string()).collect::<Vec<_>>().join(", ")
    }
}

/// One creating client: its connection, whom it acts as on the socket (None: its token says), and
/// its application.
pub struct Client {
    pub conn: Conn,
    pub as_user: Option<String>,
    pub app: String,
}

impl Client {
    /// Makes `WARMUP` requests, each of which must be created.
    pub async fn warm(mut self) -> Client {
        for _ in 0..WARMUP {
            let answer = self.conn.call(Method::POST, CREATE, self.as_user.as_deref(), ask(&self.app)).await;
            assert_eq!(answer.status, 201, "warm-up request: {}", answer.text());
        }
        self
    }

    /// Creates until `until`; only an approved 201 counts, anything else is a failure.
    async fn create_until(mut self, start: Instant, until: Instant) -> Load {
        let body = ask(&self.app);
        let mut load = Load::default();
        while Instant::now() < until {
            let t = Instant::now();
            let answer = self.conn.call(Method::POST, CREATE, self.as_user.as_deref(), body.clone()).await;
            let done = Instant::now();
            load.last = Some(done);
            match (answer.status, serde_json::from_slice::<Created>(&answer.body)) {
                (201, Ok(created)) if created.jit_request_state == "Approved" => {
                    load.latencies.push((done - t).as_secs_f64());
                    load.done.push((done - start).as_secs_f64());
                    load.commits.push(created.created_at);
                    load.ids.push(created.id);
                }
                (status, _) => load.failures.push(format!("{status}: {}", answer.text())),
            }
        }
        load
    }
}

/// Every client creating at once for `how_long`: what they got, and the seconds from the start to
/// the last answer.
pub async fn drive(clients: Vec<Client>, how_long: Duration) -> (Load, f64) {
    let start = Instant::now();
    let until = start + how_long;
    let tasks: Vec<_> = clients.into_iter().map(|c| tokio::spawn(c.create_until(start, until))).collect();
    let mut load = Load::default();
    for task in tasks {
        load.absorb(task.await.expect("a client task"));
    }
    let secs = load.last.map_or(f64::NAN, |l| (l - start).as_secs_f64());
    (load, secs)
}
