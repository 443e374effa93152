//! `jitdesk serve` on a test store, with its own config and data folders, and raw HTTP/1.1 on its
//! socket: for tests of what the service does at its edges (limits, fairness, logs), where what
//! goes over the wire byte by byte is the point.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{BIN, NO_LOGIN, Store};

/// A running service; killed when dropped.
pub struct Serve {
    child: Child,
    pub socket: PathBuf,
    /// `XDG_DATA_HOME` of the service: its log is `jitdesk/jitdesk.log` in here.
    pub data: PathBuf,
}

impl Serve {
    /// Serves `store` on `<store>.sock` (where the CLI finds it), with `XDG_CONFIG_HOME=config`
    /// and a data folder of its own beside the store; under umask 000 when `open_umask`.
    pub fn start(store: &Store, config: &Path, open_umask: bool) -> Serve {
        let data = store.dir.path().join("service-data");
        let mut cmd = Command::new(BIN);
        cmd.env("TZ", "UTC")
            .env_remove("JITDESK_USER")
            .env_remove("JITDESK_SOCKET")
            .env_remove("JITDESK_LOG")
            .env("USER", NO_LOGIN)
            .env("LOGNAME", NO_LOGIN)
            .env("XDG_CONFIG_HOME", config)
            .env("XDG_DATA_HOME", &data)
            .arg("--store")
            .arg(&store.path)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if open_umask {
            // SAFETY: umask is async-signal-safe, and nothing else runs in the child before exec.
            unsafe {
                cmd.pre_exec(|| {
                    nix::libc::umask(0);
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().expect("start serve");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("the startup line");
        assert!(line.starts_with("serving "), "serve did not start: {line:?}");
        let socket = store.path.with_file_name("jitdesk.redb.sock");
        Serve { child, socket, data }
    }

    pub fn log(&self) -> PathBuf {
        self.data.join("jitdesk").join("jitdesk.log")
    }

    /// A new connection to the service.
    pub fn connect(&self) -> UnixStream {
        let stream = UnixStream::connect(&self.socket).expect("connect to the service");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("a read timeout");
        stream
    }

    /// One whole call on a new connection (`Connection: close` is added): the whole answer as text.
    pub fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
        let mut stream = self.connect();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: jitdesk\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes())).expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("an answer");
        answer
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
