//! `jitdesk serve` as a child process, and raw HTTP/1.1 on its socket, one request per connection:
//! for tests of what the service does at its edges (limits, fairness, logs, faults), where the
//! exact status, headers and body that went over the wire are the point.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Store;
use super::process::{Process, serve_command};

/// A running service; killed when dropped.
pub struct Serve {
    process: Process,
    pub socket: PathBuf,
    /// `XDG_DATA_HOME` of the service: its log is `jitdesk/jitdesk.log` in here.
    pub data: PathBuf,
}

impl Serve {
    /// Serves `store` on `<store>.sock` (where the CLI finds it), with `XDG_CONFIG_HOME=config`
    /// and a data folder of its own beside the store; under umask 000 when `open_umask`.
    pub fn start(store: &Store, config: &Path, open_umask: bool) -> Serve {
        Serve::spawn(&store.path, config, store.dir.path().join("service-data"), open_umask)
    }

    /// Serves the store file at `store` on `<store>.sock`, its config and data folder being the
    /// store's own folder.
    pub fn on(store: &Path) -> Serve {
        let dir = store.parent().expect("a store in a folder");
        Serve::spawn(store, dir, dir.to_path_buf(), false)
    }

    fn spawn(store: &Path, config: &Path, data: PathBuf, open_umask: bool) -> Serve {
        let mut cmd = serve_command(store, &data);
        cmd.env("XDG_CONFIG_HOME", config);
        if open_umask {
            // SAFETY: umask is async-signal-safe, and nothing else runs in the child before exec.
            #[allow(unsafe_code)]
            unsafe {
                cmd.pre_exec(|| {
                    nix::libc::umask(0);
                    Ok(())
                });
            }
        }
        let (process, line) = Process::start(&mut cmd);
        assert!(line.starts_with("serving "), "serve did not start: {line:?}");
        let mut name = store.file_name().expect("a file name").to_os_string();
        name.push(".sock");
        Serve { process, socket: store.with_file_name(name), data }
    }

    /// SIGTERM, and its exit code once it has stopped.
    pub fn stop(&mut self) -> i32 {
        self.process.stop()
    }

    /// SIGKILL: a crash, with nothing done on the way out.
    pub fn kill(&mut self) {
        self.process.end();
    }

    pub fn log(&self) -> PathBuf {
        self.data.join("jitdesk").join("jitdesk.log")
    }

    /// A new connection to the service.
    pub fn connect(&self) -> UnixStream {
        let stream = UnixStream::connect(&self.socket).expect("connect to the service");
        stream.set_read_timeout(Some(Duration::from_secs(60))).expect("a read timeout");
        stream
    }

    /// One whole call on a new connection (`Connection: close` is added): the whole answer as text
    /// (lossy where a body is binary, such as a backup's).
    pub fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
        let mut stream = self.connect();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: jitdesk\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes())).expect("send");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("an answer");
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// `call` as a directory user (`X-Jitdesk-As`, which the operator may send), with an optional
    /// JSON body: the status and the body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        as_user: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(upn) = as_user {
            headers.push(("X-Jitdesk-As", upn));
        }
        let answer = self.call(method, path, &headers, body.unwrap_or(""));
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status(&answer), body)
    }

    /// Waits for the process to end by itself; its exit code and what it wrote on stderr.
    pub fn exit(&mut self, within: Duration) -> (i32, String) {
        let code = self.process.wait(within);
        let mut stderr = String::new();
        if let Some(mut pipe) = self.process.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        (code, stderr)
    }
}

/// The status code of an answer's first line (`HTTP/1.1 429 Too Many Requests` -> 429); 0 for none.
pub fn status(answer: &str) -> u16 {
    answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0)
}

/// A header's value in an answer (names are matched without regard to case).
pub fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The message of a JSON error body.
pub fn message(body: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    value["error"]["message"].as_str().unwrap_or_else(|| panic!("no error message: {body}")).to_string()
}
