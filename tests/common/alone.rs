//! Every integration test runs as a thread of one process, so a test that must change what the
//! whole process shares (its local time zone, who reaps orphaned children) reruns the test binary
//! for itself alone, and does that work there.

use std::process::Command;

/// Set in a copy of the test binary made for one test: that test's full name.
const ALONE: &str = "JITDESK_TEST_ALONE";

/// The full name of the running test, as `--exact` takes it: libtest names each test's thread
/// after the test.
fn this_test() -> String {
    std::thread::current().name().expect("a test runs on a thread named after it").to_string()
}

/// A command that runs the running test, and nothing else, in a new copy of this test binary; the
/// caller adds what differs there (its environment).
pub fn rerun() -> Command {
    let name = this_test();
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args(["--exact", &name, "--test-threads=1", "--nocapture"]).env(ALONE, &name);
    cmd
}

/// Runs `test` in a process of its own: here when this process is the copy made for it, else in a
/// new copy, which must run it and pass.
pub fn alone(test: impl FnOnce()) {
    if std::env::var_os(ALONE).is_some_and(|name| name == this_test().as_str()) {
        test();
        return;
    }
    let output = rerun().output().expect("rerun this test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "the test failed in a process of its own:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
