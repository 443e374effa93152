//! `jitdesk serve` as a child process, the one harness every service test starts it with: a clean
//! environment, its first line read without ever blocking the test, signals, a bounded wait for its
//! end, and a kill when the test ends however it ends, so that no service outlives its test.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::{BIN, clean_env};

/// How long a service may take to print its first line.
const STARTUP: Duration = Duration::from_secs(30);

/// `jitdesk --store STORE serve` with the environment of `bare_command` and its data (its log)
/// under `data`; stdin empty, stdout and stderr piped.
pub fn serve_command(store: &Path, data: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    clean_env(&mut cmd).env("XDG_DATA_HOME", data);
    cmd.arg("--store")
        .arg(store)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// The first line the child prints, without its line end; empty when it ends without one. What
/// it prints after that is read and dropped, so that it never blocks on a full pipe.
pub fn first_line(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = rx.recv_timeout(STARTUP).expect("serve printed its first line");
    line.trim_end().to_string()
}

/// A running child; killed and reaped when dropped.
pub struct Process {
    pub child: Child,
}

impl Process {
    /// Starts `cmd` with its stdout piped; the process and its first line.
    pub fn start(cmd: &mut Command) -> (Process, String) {
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start serve");
        let line = first_line(&mut child);
        (Process { child }, line)
    }

    pub fn signal(&self, signal: Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), signal).expect("signal");
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// Waits for the process to end by itself; its exit code (-1 for a signal).
    pub fn wait(&mut self, within: Duration) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            assert!(start.elapsed() < within, "serve did not stop within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM: a clean stop. Its exit code.
    pub fn stop(&mut self) -> i32 {
        self.signal(Signal::SIGTERM);
        self.wait(Duration::from_secs(15))
    }

    /// Kills the process (if it still runs) and reaps it.
    pub fn end(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.end();
    }
}
