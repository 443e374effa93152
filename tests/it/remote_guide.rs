//! docs/remote.md cannot drift from the code: its shell blocks marked ```` ```sh title="runnable" ````
//! run, in order, in one bash under `set -euo pipefail`, in an empty folder, against the binary
//! built here, with the guide's ports 2222 and 8443 replaced by free ones. The block marked
//! ```` ```sh title="runnable: in a second terminal" ```` is one command, the service: it runs in the
//! background from where it appears until the script ends, when it is stopped with SIGTERM. What
//! the guide says it made is then in the store. Every other `jitdesk` command line of the guide
//! parses, and docs/jitdesk.service passes `systemd-analyze verify` with options `jitdesk serve`
//! knows.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common::*;

const GUIDE: &str = include_str!("../../docs/remote.md");
const UNIT: &str = include_str!("../../docs/jitdesk.service");

/// The markers of runnable blocks: run in turn, or in the background.
const RUN: &str = r#"sh title="runnable""#;
const BACKGROUND: &str = r#"sh title="runnable: in a second terminal""#;
/// The guide's ports, which the test replaces by free ones.
const SSH_PORT: &str = "2222";
const HTTPS_PORT: &str = "8443";
/// How long the whole guide may take before the test gives up on it: a guard against a hang, not a
/// measure (the guide takes seconds).
const HANG: Duration = Duration::from_secs(300);

/// One runnable block: the guide's line where it starts, its text, and whether it runs in the
/// background.
struct Block {
    line: usize,
    text: String,
    background: bool,
}

/// The runnable blocks of `markdown`, in order. A fence whose info string speaks of `runnable` but
/// is neither marker fails the test, so a misspelt marker cannot leave a block untested.
fn runnable(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Option<Block>> = None;
    for (n, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                let info = info.trim();
                let background = info == BACKGROUND;
                assert!(
                    info == RUN || background || !info.contains("runnable"),
                    "docs/remote.md line {}: unknown marker `{info}`",
                    n + 1
                );
                let run = info == RUN || background;
                open = Some(run.then(|| Block { line: n + 1, text: String::new(), background }));
            }
            (Some(block), Some(_)) => {
                blocks.extend(block.take());
                open = None;
            }
            (Some(Some(block)), None) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            _ => {}
        }
    }
    assert!(open.is_none(), "docs/remote.md ends inside a code block");
    blocks
}

/// The one command of a background block, its continuation lines joined and comments dropped.
fn one_command(block: &Block) -> String {
    let joined = block.text.replace("\\\n", " ");
    let lines: Vec<&str> =
        joined.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 1, "docs/remote.md line {}: a background block is one command", block.line);
    lines[0].to_string()
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// The tools the guide uses, or a reason to skip.
fn tools() -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = ["bash", "ssh", "ssh-keygen", "openssl", "curl"]
        .into_iter()
        .filter(|tool| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        .collect();
    if !missing.is_empty() {
        eprintln!("skipped: the guide needs {} (.ci/run installs them)", missing.join(", "));
    }
    missing.is_empty()
}

/// The bash script that runs `blocks`, with `ssh` and `https` for the guide's ports; what the
/// service prints and how it ended go to `out`.
fn script(blocks: &[Block], ssh: u16, https: u16, out: &Path) -> String {
    let out = out.display();
    let mut script = format!(
        "set -euo pipefail\n\
         __pids=\n\
         __stop() {{ for p in $__pids; do kill -TERM \"$p\" 2>/dev/null || true; \
         wait \"$p\" && s=0 || s=$?; echo \"$s\" > '{out}/serve.status'; done; }}\n\
         trap __stop EXIT\n"
    );
    for block in blocks {
        let text = block.text.replace(SSH_PORT, &ssh.to_string()).replace(HTTPS_PORT, &https.to_string());
        script.push_str(&format!("echo '### docs/remote.md line {}' >&2\n", block.line));
        if block.background {
            let command = one_command(&Block { text, ..*block });
            script.push_str(&format!(
                "( exec {command} ) > '{out}/serve.out' 2> '{out}/serve.err' &\n\
                 __pid=$!\n\
                 __pids=\"$__pids $__pid\"\n\
                 until [ -s '{out}/serve.out' ]; do \
                 kill -0 $__pid 2>/dev/null || {{ cat '{out}/serve.err' >&2; exit 1; }}; sleep 0.1; done\n"
            ));
        } else {
            script.push_str(&text);
        }
    }
    script
}

/// Kills the script's process group if the test ends before the script does, so that no service
/// outlives the test. Once the script has ended (its trap stopped the service) it is disarmed: the
/// group's id is free for reuse then.
struct Group {
    id: Pid,
    armed: bool,
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.armed {
            let _ = killpg(self.id, Signal::SIGKILL);
        }
    }
}

/// `jitdesk --store STORE ARGS --json` as the store's owner: its JSON.
fn json(store: &Path, args: &[&str]) -> Value {
    let out =
        bare_command().arg("--store").arg(store).args(args).arg("--json").output().expect("jitdesk runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn the_guides_runnable_blocks_work_on_loopback() {
    if !tools() {
        return;
    }
    let blocks = runnable(GUIDE);
    assert_eq!(blocks.iter().filter(|b| b.background).count(), 1, "one service block");
    let all: String = blocks.iter().map(|b| b.text.as_str()).collect();
    assert!(all.contains(SSH_PORT) && all.contains(HTTPS_PORT), "the guide's ports are where the test looks");

    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (ssh, https) = (free_port(), free_port());
    let bin_dir = Path::new(BIN).parent().expect("the binary's folder");
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    // A file, not stdin: ssh reads its stdin, which would swallow the rest of the script.
    let script_file = out.path().join("guide.sh");
    std::fs::write(&script_file, script(&blocks, ssh, https, out.path())).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(&script_file);
    clean_env(&mut cmd)
        .env("PATH", path)
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .current_dir(dir.path())
        .process_group(0)
        .stdin(Stdio::null())
        // Files, not pipes: nothing reads a pipe while the test waits, and a full one would stall bash.
        .stdout(std::fs::File::create(out.path().join("stdout")).unwrap())
        .stderr(std::fs::File::create(out.path().join("stderr")).unwrap());
    let mut child = cmd.spawn().expect("bash runs");
    let mut group = Group { id: Pid::from_raw(child.id() as i32), armed: true };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < HANG, "the guide's blocks never finished");
        std::thread::sleep(Duration::from_millis(50));
    };
    group.armed = false;
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap_or_default();
    let (stdout, stderr, serve_err) = (read("stdout"), read("stderr"), read("serve.err"));
    assert!(
        status.success(),
        "a runnable block failed (the last `###` line names it)\n--- stderr:\n{stderr}\n--- the service's stderr:\n{serve_err}\n--- stdout:\n{stdout}"
    );

    // The service answered on both doors, where the guide put them, and stopped cleanly.
    let serving = std::fs::read_to_string(out.path().join("serve.out")).unwrap();
    assert!(serving.starts_with("serving "), "{serving}");
    assert!(serving.contains(&format!("https://127.0.0.1:{https}")), "{serving}");
    assert!(serving.contains(&format!("ssh on 127.0.0.1:{ssh}")), "{serving}");
    let status = std::fs::read_to_string(out.path().join("serve.status")).unwrap();
    assert_eq!(status.trim(), "0", "the service stopped cleanly: {serve_err}");

    // What came back through the doors: the SSH door's help, the HTTPS door's health, and Dave's
    // certificate naming Dave.
    assert!(stdout.contains("Usage: jitdesk"), "{stdout}");
    assert!(stdout.contains(r#""service":"jitdesk""#), "{stdout}");
    assert!(stdout.contains(r#""upn":"dave@fabrikam.com""#), "{stdout}");

    // The pinned key is the service's.
    let folder = dir.path().join("jitdesk-try");
    let store = folder.join("jitdesk.redb");
    let printed =
        bare_command().arg("--store").arg(&store).args(["serve", "--print-host-key"]).output().unwrap();
    let public = String::from_utf8_lossy(&printed.stdout).lines().next().unwrap_or_default().to_string();
    assert!(public.starts_with("ssh-ed25519 "), "{public}");
    let pinned = std::fs::read_to_string(folder.join("known_hosts")).unwrap();
    assert_eq!(pinned, format!("[127.0.0.1]:{ssh} {public}\n"));

    // What the guide made is in the store: Dave's key, Fabrikam's CA, and Dave's token rotated (the
    // first revoked, the second live and in the token file).
    assert_eq!(json(&store, &["user", "key", "list", "dave@fabrikam.com"]).as_array().map(Vec::len), Some(1));
    assert_eq!(json(&store, &["tenant", "ca", "list", "fabrikam"]).as_array().map(Vec::len), Some(1));
    let tokens = json(&store, &["token", "list"]);
    let tokens = tokens.as_array().expect("a list");
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    let live: Vec<&Value> = tokens.iter().filter(|t| t["revokedAt"].is_null()).collect();
    assert_eq!(live.len(), 1, "{tokens:?}");
    let secret = std::fs::read_to_string(folder.join("dave.token")).unwrap();
    let id = live[0]["id"].as_str().expect("an id");
    assert!(secret.starts_with(&format!("jdt_{id}_")), "the file holds the live token: {id}");
}

/// Every `jitdesk` command line in the guide's shell blocks, runnable or not, as its arguments (after
/// `jitdesk`, or after the `jitdesk` host of `ssh ... jitdesk`), with the guide's line: continuation
/// lines joined, comments, pipes and redirections cut, `VAR=value` and `sudo -u USER` dropped.
fn command_lines(markdown: &str) -> Vec<(usize, Vec<String>)> {
    let mut found = Vec::new();
    let mut in_sh: Option<bool> = None;
    let mut pending = String::new();
    for (n, line) in markdown.lines().enumerate() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            in_sh = match in_sh {
                None => Some(info.trim().starts_with("sh")),
                Some(_) => None,
            };
            continue;
        }
        if in_sh != Some(true) {
            continue;
        }
        if let Some(start) = line.strip_suffix('\\') {
            pending.push_str(start);
            continue;
        }
        let whole = std::mem::take(&mut pending) + line;
        let code = whole.split(" #").next().unwrap_or_default();
        let Ok(words) = shell_words::split(code) else { continue };
        let mut words = words.as_slice();
        while let Some(first) = words.first() {
            if first.contains('=') && !first.starts_with('-') {
                words = &words[1..];
            } else if first == "sudo" && words.get(1).map(String::as_str) == Some("-u") {
                words = &words[words.len().min(3)..];
            } else {
                break;
            }
        }
        let args: Vec<String> = match words.first().map(String::as_str) {
            Some("jitdesk") => words[1..].to_vec(),
            Some("ssh") => match words.iter().position(|w| w == "jitdesk") {
                Some(host) => words[host + 1..].to_vec(),
                None => continue,
            },
            _ => continue,
        };
        let end = args.iter().position(|w| ["|", ">", ">>", "&&", ";"].contains(&w.as_str()));
        found.push((n + 1, args[..end.unwrap_or(args.len())].to_vec()));
    }
    found
}

#[test]
fn every_jitdesk_command_in_the_guide_parses() {
    let lines = command_lines(GUIDE);
    assert!(lines.len() > 20, "the guide's commands are where the test looks: {lines:?}");
    for (line, args) in lines {
        // `--help` after the arguments: clap refuses an unknown command or flag before it helps.
        // `help` itself only helps, with nothing after it.
        let help = (args.first().map(String::as_str) != Some("help")).then_some("--help");
        let out = bare_command().args(&args).args(help).output().expect("jitdesk runs");
        assert!(
            out.status.success(),
            "docs/remote.md line {line}: jitdesk {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    // The unit's flags are serve's own.
    let help = bare_command().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let exec_start = UNIT.replace("\\\n", " ");
    let exec_start = exec_start.lines().find(|l| l.starts_with("ExecStart=")).expect("an ExecStart line");
    let flags: Vec<&str> = exec_start.split_whitespace().filter(|w| w.starts_with("--")).collect();
    assert!(flags.contains(&"--ssh") && flags.contains(&"--listen"), "{exec_start}");
    for flag in flags {
        assert!(help.contains(&format!("{flag} ")), "`jitdesk serve` takes no {flag}");
    }

    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("skipped: systemd-analyze is not installed, so the unit was not verified");
        return;
    }
    // verify checks that the programs exist: the binary built here stands in for the installed one.
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("jitdesk.service");
    std::fs::write(&unit, UNIT.replace("/usr/local/bin/jitdesk", BIN)).unwrap();
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&unit).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Unknown keys and bad values are only warnings, exit 0: any line about the unit fails.
    let about: Vec<&str> = stderr.lines().filter(|l| l.contains("jitdesk.service")).collect();
    assert!(about.is_empty(), "{about:?}");
}
