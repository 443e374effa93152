//! `jitdesk serve` as a child process on `<store>.sock`, and plain HTTP/1.1 over its socket: one
//! request per connection, so a test sees exactly the status and body the service answered.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{BIN, NO_LOGIN};

pub struct Service {
    child: Child,
    socket: PathBuf,
}

impl Service {
    /// `serve` on `<store>.sock`, once it says it is serving.
    pub fn start(store: &Path) -> Service {
        let dir = store.parent().expect("a store in a folder");
        let mut child = Command::new(BIN)
            .env("TZ", "UTC")
            .env_remove("JITDESK_USER")
            .env_remove("JITDESK_STORE")
            .env_remove("JITDESK_SOCKET")
            .env("USER", NO_LOGIN)
            .env("LOGNAME", NO_LOGIN)
            .env("XDG_DATA_HOME", dir)
            .arg("--store")
            .arg(store)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start serve");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first = Vec::new();
            let mut byte = [0u8; 1];
            while stdout.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
                first.push(byte[0]);
            }
            let _ = tx.send(String::from_utf8_lossy(&first).into_owned());
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("serve printed its startup line");
        assert!(line.starts_with("serving "), "{line}");
        let mut name = store.file_name().expect("a file name").to_os_string();
        name.push(".sock");
        Service { child, socket: store.with_file_name(name) }
    }

    pub fn call(&self, method: &str, path: &str, as_user: Option<&str>, body: Option<&str>) -> (u16, String) {
        http(&self.socket, method, path, as_user, body)
    }

    /// Waits for the process to end by itself; its exit code and what it wrote on stderr.
    pub fn exit(&mut self, within: Duration) -> (i32, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                return (status.code().unwrap_or(-1), stderr);
            }
            assert!(start.elapsed() < within, "serve did not stop by itself within {within:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request on a new connection, closed after the answer: its status and body (as text).
pub fn http(
    socket: &Path,
    method: &str,
    path: &str,
    as_user: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut stream = UnixStream::connect(socket).expect("connect to the service");
    stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: jitdesk\r\nconnection: close\r\n");
    if let Some(upn) = as_user {
        head.push_str(&format!("x-jitdesk-as: {upn}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        head.push_str("content-type: application/json\r\n");
    }
    head.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read the answer");
    // A backup's body is binary; what tests read of it is its length.
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

pub fn message(body: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    value["error"]["message"].as_str().unwrap_or_else(|| panic!("no error message: {body}")).to_string()
}
