//! Command hooks as the program sees them: jitdesk's JSON on stdin, the delivery's key in a
//! cleared environment; and what becomes of one that fails or hangs.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jitdesk::domain::delivery::ChannelKind;
use jitdesk::engine::outbox::Courier;

use crate::common::parcels::{HOSTILE, HOSTILE_SHOWN, couriers, harmless, parcel, script, to_decide};

fn hook(program: &std::path::Path, args: &[&str]) -> ChannelKind {
    ChannelKind::Hook {
        program: program.display().to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

#[tokio::test]
async fn a_hook_gets_the_json_on_stdin_and_its_key_in_an_otherwise_empty_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let program = script(
        dir.path(),
        "hook",
        &format!("cat > {0}.json; env > {0}.env; echo \"$@\" > {0}.args", out.display()),
    );
    couriers()
        .send(&parcel(hook(&program, &["--tenant", "contoso"]), to_decide("fix"), false))
        .await
        .expect("ran");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap()).unwrap();
    assert_eq!((json["delivery"].as_str(), json["tenant"].as_str()), (Some("jitdesk-40-7"), Some("contoso")));
    assert_eq!(json["notices"][0]["request"]["justification"], "fix");
    let env = std::fs::read_to_string(dir.path().join("out.env")).unwrap();
    assert!(env.lines().any(|l| l == "JITDESK_DELIVERY=jitdesk-40-7"), "{env}");
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    // The test's own environment (cargo's, the shell's) stays behind.
    for kept in ["HOME=", "CARGO", "RUST", "USER="] {
        assert!(!env.lines().any(|l| l.starts_with(kept)), "{kept} leaked: {env}");
    }
    let args = std::fs::read_to_string(dir.path().join("out.args")).unwrap();
    assert_eq!(args.trim(), "--tenant contoso");
}

/// A log that keeps what is written to it, for a test to read.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_hook_is_told_by_its_status_and_its_first_stderr_line_is_logged_sanitized() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "hook",
        "cat > /dev/null; printf '\\n  no route \\033[31mred\\n second\\n' >&2; exit 3",
    );
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    // A test's runtime is this thread's: the hook's failure is logged here.
    let logging = tracing::subscriber::set_default(subscriber);
    let failed =
        couriers().send(&parcel(hook(&program, &[]), to_decide("j"), false)).await.expect_err("failed");
    drop(logging);
    assert!(!failed.permanent, "{failed:?}");
    assert!(failed.reason.ends_with("exited with status 3"), "{}", failed.reason);
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("exited with status 3 for delivery jitdesk-40-7: no route ␛[31mred"), "{logged}");
    assert!(!logged.contains('\x1b') && !logged.contains("second"), "{logged}");
    let missing = dir.path().join("nowhere");
    let failed =
        couriers().send(&parcel(hook(&missing, &[]), to_decide("j"), false)).await.expect_err("missing");
    assert!(failed.permanent && failed.reason.starts_with("cannot run "), "{failed:?}");
}

#[tokio::test]
async fn a_hung_hook_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let program = script(dir.path(), "hook", &format!("echo $$ > {}; exec sleep 600", pid_file.display()));
    let couriers = couriers().with_timeout(Duration::from_millis(500));
    let failed = couriers.send(&parcel(hook(&program, &[]), to_decide("j"), false)).await.expect_err("hung");
    assert!(
        !failed.permanent && failed.reason.contains("did not finish within 0.5 s and was killed"),
        "{failed:?}"
    );
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    // Killed and reaped: no such process is left.
    let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None);
    assert_eq!(gone, Err(nix::errno::Errno::ESRCH));
}

#[tokio::test]
async fn control_characters_in_a_justification_arrive_sanitized_in_a_hooks_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let program = script(dir.path(), "hook", &format!("cat > {}", out.display()));
    couriers().send(&parcel(hook(&program, &[]), to_decide(HOSTILE), false)).await.expect("ran");
    let raw = std::fs::read_to_string(&out).unwrap();
    assert!(harmless(&raw), "{raw}");
    let json: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(json["notices"][0]["request"]["justification"], HOSTILE_SHOWN);
}
