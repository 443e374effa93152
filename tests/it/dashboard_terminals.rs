//! The dashboard on terminals that cannot do everything, through the real binary: no terminal at
//! all and `TERM=dumb` are refused with a hint (and nothing is created) while every command still
//! works; the Linux console, VT100s and locales without UTF-8 get borders and symbols in ASCII.

use crate::common::tmux::{STARTUP, Tmux};
use crate::common::{BIN, Run, Store, bare_command};

const APPROVER: &str = "alice@contoso.com";

#[test]
fn without_a_terminal_the_dashboard_says_every_command_works_and_creates_nothing() {
    let s = Store::new();
    let tmp = tempfile::tempdir().expect("a temp dir");
    for args in [&[][..], &["demo"]] {
        let mut cmd = bare_command();
        cmd.arg("--store").arg(&s.path).args(args).env("TERM", "xterm-256color").env("TMPDIR", tmp.path());
        let run = Run::from_cmd(&mut cmd);
        assert_eq!(run.code, 1, "jitdesk {args:?}: {run:?}");
        let line = run.error_line();
        assert!(line.contains("the dashboard needs a terminal"), "{line}");
        assert!(line.contains("every command works without one, see `jitdesk --help`"), "{line}");
        assert!(!line.contains("os error"), "{line}");
        assert!(!s.path.exists(), "a refused dashboard created the store");
        let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("the temp dir").collect();
        assert!(left.is_empty(), "a refused demo left {left:?}");
    }
    // The help the hint points to says the same.
    let help = Run::from_cmd(bare_command().arg("--help"));
    assert_eq!(help.code, 0, "{help:?}");
    assert!(help.stdout.contains("Every command works without a terminal."), "{}", help.stdout);
}

/// Runs the dashboard in a pane under `env` (shell assignments) and returns what the pane shows:
/// the dashboard's output and then its exit code, which the shell prints.
fn refused(tag: &str, env: &str) -> String {
    let t = Tmux::new(tag);
    t.cli(&["init", "--sample"]);
    let store = t.store();
    // tmux has been seen to lose the first row a new pane is sent: a line of our own goes first.
    let command =
        format!("echo begin; {env} '{BIN}' --store '{}' --as {APPROVER}; echo \"exit $?\"", store.display());
    // Wide enough for the hint to stay on one row.
    t.start(200, 30, &command);
    let screen = t.wait_screen("the exit code", STARTUP, |s| s.contains("exit "));
    // The store is untouched and every command still answers.
    let listed = t.cli(&["request", "list", "--state", "pending"]);
    assert!(listed.lines().count() > 1, "the CLI works beside a refused dashboard: {listed}");
    screen
}

#[test]
fn term_dumb_or_unset_refuses_the_dashboard_with_one_line() {
    for (tag, env, says) in
        [("dumb", "TERM=dumb", "(TERM=dumb)"), ("unset", "unset TERM;", "(TERM is not set)")]
    {
        let screen = refused(tag, env);
        let lines: Vec<&str> = screen
            .lines()
            .filter(|l| !["", "begin"].contains(&l.trim()) && !l.starts_with("Pane is dead"))
            .collect();
        assert_eq!(lines.len(), 2, "{env}: one line and the exit code:\n{screen}");
        assert!(
            lines[0].starts_with("error: the dashboard needs a terminal that can move the cursor"),
            "{screen}"
        );
        assert!(lines[0].contains(says), "{env}: {screen}");
        assert!(lines[0].contains("see `jitdesk --help`"), "{screen}");
        assert_eq!(lines[1], "exit 1", "{env}: {screen}");
    }
}

/// The dashboard's first screen under `env`, once the pending requests show.
fn first_screen(tag: &str, env: &str) -> String {
    let t = Tmux::new(tag);
    t.cli(&["init", "--sample"]);
    t.start(100, 30, &format!("{env} {}", t.dashboard(&format!("--as {APPROVER}"))));
    let screen = t.wait_screen("the pending requests", STARTUP, |s| s.contains("Pending requests ("));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(STARTUP), 0, "{env}: q quits cleanly");
    screen
}

#[test]
fn the_linux_console_vt100_and_non_utf8_locales_get_ascii() {
    for (tag, env) in [
        ("vt100", "TERM=vt100"),
        ("linux", "TERM=linux"),
        ("c-locale", "LC_ALL=C"),
        ("latin1", "LANG=de_DE.ISO-8859-1"),
        ("no-locale", "unset LANG LC_ALL LC_CTYPE;"),
    ] {
        let screen = first_screen(tag, env);
        let odd: String = screen.chars().filter(|c| !c.is_ascii()).collect();
        assert!(odd.is_empty(), "{env}: {odd:?} on\n{screen}");
        assert!(screen.contains("+ Pending requests ("), "{env}: ASCII corners:\n{screen}");
        assert!(screen.lines().any(|l| l.starts_with("|") && l.ends_with("|")), "{env}:\n{screen}");
    }
    // A UTF-8 locale on a capable terminal keeps its box drawing.
    let screen = first_screen("utf8", "LANG=C.UTF-8");
    assert!(screen.contains("┌ Pending requests ("), "{screen}");
}
