//! `jitdesk serve` as a child process on a sample store, and one kept HTTP/1.1 connection to it,
//! for tests that send many calls and want to see every answer on the same connection.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

use super::Store;
use super::process::{Process, serve_command};

pub struct Service {
    process: Process,
    pub socket: PathBuf,
    pub store: Store,
}

impl Service {
    /// `init --sample`, then `serve` on it.
    pub fn sample() -> Service {
        let store = Store::new();
        let out = store.ok(&["init", "--sample"]);
        assert!(out.contains("loaded the sample"), "{out}");
        Service::on(store)
    }

    /// `serve` on a socket in the store's folder, once it answers.
    pub fn on(store: Store) -> Service {
        let socket = store.dir.path().join("api.sock");
        let mut cmd = serve_command(&store.path, store.dir.path());
        cmd.arg("--socket").arg(&socket).stderr(Stdio::null());
        let (process, line) = Process::start(&mut cmd);
        assert!(line.starts_with("serving "), "{line}");
        Service { process, socket, store }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.process.running()
    }

    /// A new connection, kept for as many calls as the test makes.
    pub async fn connect(&self) -> Connection {
        Connection::open(&self.socket).await.expect("connect to the socket")
    }
}

pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

/// One answer: its status and body as text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

impl Connection {
    /// A new connection to the service on `socket`; why not, when it cannot be made.
    pub async fn open(socket: &Path) -> Result<Connection, String> {
        let stream = UnixStream::connect(socket).await.map_err(|e| format!("connect: {e}"))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(connection);
        Ok(Connection { sender })
    }

    /// One call on this connection; panics when the connection is gone, since every call must be
    /// answered.
    pub async fn call(&mut self, method: &str, path: &str, as_user: Option<&str>, body: &[u8]) -> Reply {
        self.try_call(method, path, as_user, body).await.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// One call on this connection; why there is no answer when the connection went away.
    pub async fn try_call(
        &mut self,
        method: &str,
        path: &str,
        as_user: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, String> {
        let mut builder = Request::builder().method(method).uri(path).header("host", "jitdesk");
        if let Some(upn) = as_user {
            builder = builder.header("x-jitdesk-as", upn);
        }
        let request = builder.body(Full::new(Bytes::copy_from_slice(body))).expect("request");
        self.sender.ready().await.map_err(|e| format!("the connection is gone: {e}"))?;
        let response = self.sender.send_request(request).await.map_err(|e| format!("not answered: {e}"))?;
        let status = response.status().as_u16();
        let bytes =
            response.into_body().collect().await.map_err(|e| format!("the answer's body: {e}"))?.to_bytes();
        Ok(Reply { status, text: String::from_utf8_lossy(&bytes).into_owned() })
    }
}
