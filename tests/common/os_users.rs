//! Real OS accounts for the tests that need them (root only, as CI runs): made with the test's
//! pid in their names and removed again whatever happens, and commands run with a deadline so that
//! a hang fails the test instead of stalling the suite.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::{BIN, Run};

/// The longest any one command may take; it is killed (and the test fails) after that.
pub const NO_HANG: Duration = Duration::from_secs(10);

/// The account tools lock the password files and give up when another holds them, so the tests of
/// one binary, which run in parallel, take turns.
static ACCOUNT_TOOLS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn account_tools() -> std::sync::MutexGuard<'static, ()> {
    ACCOUNT_TOOLS.lock().unwrap_or_else(|p| p.into_inner())
}

// ---- commands with a deadline ----

/// Runs a command to its end in a process group of its own; kills the group and fails when it
/// takes longer than `NO_HANG`. Returns what it did and how long it took.
pub fn bounded(mut cmd: Command, what: &str) -> (Run, Duration) {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let started = Instant::now();
    let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let group = Pid::from_raw(child.id() as i32);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(NO_HANG) {
        Ok(output) => {
            let output = output.unwrap_or_else(|e| panic!("cannot wait for {what}: {e}"));
            let run = Run {
                // A signal leaves no code; -1 fails every exit assertion.
                code: output.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            };
            (run, started.elapsed())
        }
        Err(_) => {
            let _ = killpg(group, Signal::SIGKILL);
            let _ = rx.recv_timeout(Duration::from_secs(5));
            panic!("{what} hung: still running after {NO_HANG:?}, killed");
        }
    }
}

/// A system command as root (groupadd, useradd); fails unless it succeeds.
pub fn system(program: &str, args: &[&str]) {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let (run, _) = bounded(cmd, program);
    assert_eq!(run.code, 0, "{program} {args:?} failed: {run:?}");
}

pub fn program_runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

// ---- OS accounts, removed again whatever happens ----

#[derive(Default)]
pub struct Accounts {
    users: Vec<String>,
    groups: Vec<String>,
}

impl Accounts {
    pub fn group(&mut self, name: &str) {
        let _turn = account_tools();
        system("groupadd", &[name]);
        self.groups.push(name.to_string());
    }

    /// A user with no home and no shell, in `group` when given; its uid.
    pub fn user(&mut self, name: &str, group: Option<&str>) -> u32 {
        let mut args = vec!["--no-create-home", "--shell", "/usr/sbin/nologin"];
        if let Some(group) = group {
            args.extend(["-G", group]);
        }
        args.push(name);
        let turn = account_tools();
        system("useradd", &args);
        drop(turn);
        self.users.push(name.to_string());
        let user = nix::unistd::User::from_name(name).ok().flatten();
        user.unwrap_or_else(|| panic!("useradd made `{name}`, but the password database has no such user"))
            .uid
            .as_raw()
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        // No panics here: this also runs while a failed test unwinds.
        for user in self.users.iter().rev() {
            let done = {
                let _turn = account_tools();
                Command::new("userdel").arg(user).stderr(Stdio::piped()).output()
            };
            if !done.as_ref().is_ok_and(|o| o.status.success()) {
                eprintln!("warning: cannot remove the test user {user}: {done:?}");
            }
        }
        for group in self.groups.iter().rev() {
            let done = {
                let _turn = account_tools();
                Command::new("groupdel").arg(group).stderr(Stdio::piped()).output()
            };
            if !done.as_ref().is_ok_and(|o| o.status.success()) {
                eprintln!("warning: cannot remove the test group {group}: {done:?}");
            }
        }
    }
}

/// Runs `f` on a thread of its own whose effective uid and gid are those given: files it creates
/// are theirs, and a socket it listens on reports them as its peer. Linux keeps credentials per
/// thread under the raw system calls (the C library's setuid would change every thread), and the
/// thread ends with `f`, so the rest of the test stays root.
pub fn as_uid<T: Send>(uid: u32, gid: u32, f: impl FnOnce() -> T + Send) -> T {
    use nix::libc::{SYS_setresgid, SYS_setresuid, c_long, syscall};
    std::thread::scope(|s| {
        s.spawn(|| {
            let keep: c_long = -1;
            // SAFETY: plain system calls on this thread's own credentials; no memory is involved.
            #[allow(unsafe_code)]
            let (g, u) = unsafe {
                (
                    syscall(SYS_setresgid, keep, c_long::from(gid), keep),
                    syscall(SYS_setresuid, keep, c_long::from(uid), keep),
                )
            };
            assert!(g == 0 && u == 0, "cannot take uid {uid} and gid {gid} on a thread (root needed)");
            f()
        })
        .join()
        .expect("the thread as another uid")
    })
}

/// The uid and primary gid of a login.
pub fn ids(login: &str) -> (u32, u32) {
    let user = nix::unistd::User::from_name(login).ok().flatten();
    let user = user.unwrap_or_else(|| panic!("no user `{login}` in the password database"));
    (user.uid.as_raw(), user.gid.as_raw())
}

/// setpriv's options to become `login`: its uid, its primary group, its supplementary groups.
pub fn setpriv_ids(login: &str) -> Vec<String> {
    let user = nix::unistd::User::from_name(login).ok().flatten();
    let user = user.unwrap_or_else(|| panic!("no user `{login}` in the password database"));
    vec![format!("--reuid={}", user.uid), format!("--regid={}", user.gid), "--init-groups".into()]
}

/// Whether every user may search every folder from `/` down to `path` (and run it, for a file).
pub fn open_to_all(path: &Path) -> bool {
    path.ancestors().all(|p| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// The binary where every user may run it: where it was built, or a copy in `dir` (a folder they
/// may pass through).
pub fn binary_for_all(dir: &Path) -> PathBuf {
    if open_to_all(Path::new(BIN)) {
        return PathBuf::from(BIN);
    }
    let copy = dir.join("jitdesk");
    std::fs::copy(BIN, &copy).expect("copy the binary where the users can run it");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod 0755");
    copy
}
