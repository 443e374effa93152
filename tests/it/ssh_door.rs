//! `jitdesk serve --ssh`: OpenSSH's own client against the built-in server on loopback. The
//! operator's key runs CLI commands with the socket's answers, exit codes and stderr; what would
//! reach the host itself, unknown keys, forwarding, subsystems and a shell without a terminal are
//! refused; the host key is private, and the same across restarts.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::process::{Process, serve_command};
use crate::common::ssh::*;
use crate::common::{self, *};

#[test]
fn the_operators_key_runs_commands_with_the_sockets_answers() {
    if !openssh() {
        return;
    }
    let door = Door::open();
    for args in [
        &["request", "list", "--json"][..],
        &["--as", DAVE, "request", "list", "--json"],
        &["request", "list", "--json", "--as", ALICE],
        &["app", "list"],
    ] {
        let over_ssh = door.ssh(args);
        let on_socket = door.store.run(args);
        assert_eq!(over_ssh.code, 0, "{args:?}: {}", over_ssh.stderr);
        assert!(!over_ssh.stdout.is_empty(), "{args:?}");
        assert_eq!(over_ssh.stdout, on_socket.stdout, "{args:?}");
        assert_eq!(over_ssh.stderr, on_socket.stderr, "{args:?}");
    }
    // A change made over SSH is the service's: the socket sees it.
    let made = door.ssh(&as_user(DAVE, &request_create("dev", "Owner", "1h", "'over ssh'")));
    assert_eq!(made.code, 0, "{}", made.stderr);
    let id = parse_id(&made.stdout);
    let made = door.store.request_json(id);
    assert_eq!(
        (made["justification"].as_str(), made["requester"].as_str()),
        (Some("over ssh"), Some(DAVE)),
        "{made}"
    );
}

#[test]
fn refused_commands_keep_the_clis_exit_codes_and_stderr() {
    if !openssh() {
        return;
    }
    let door = Door::open();
    // Refused by the rules: the same code and line as on the socket, on stderr only.
    for args in [
        &["request", "show", "99999"][..],
        &["request", "frobnicate"],
        &["--as", "nobody@x.com", "request", "list"],
    ] {
        let over_ssh = door.ssh(args);
        let on_socket = door.store.run(args);
        assert_ne!(on_socket.code, 0, "{args:?}");
        assert_eq!((over_ssh.code, &over_ssh.stderr), (on_socket.code, &on_socket.stderr), "{args:?}");
        assert_eq!(over_ssh.stdout, "", "{args:?}");
    }
    // Refused by the door: what would reach the host itself.
    let before = door.store.snapshot();
    for (args, says) in [
        (&["--store", "/tmp/elsewhere.redb", "request", "list"][..], "`--store` is not taken over SSH"),
        (&["init"], "on the service's host itself"),
        (&["store", "compact"], "on the service's host itself"),
        (&["backup", "/tmp/copy.redb"], "writes a file on the service's host"),
    ] {
        let run = door.ssh(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.error_line().contains(says), "{args:?}: {}", run.stderr);
    }
    assert!(!Path::new("/tmp/copy.redb").exists());
    assert_eq!(door.store.snapshot(), before, "nothing changed");
}

#[test]
fn a_key_nobody_owns_is_refused_at_authentication() {
    if !openssh() {
        return;
    }
    let door = Door::open();
    let run = Run::from_cmd(&mut assert_cmd::Command::from_std(door.ssh_with(
        &door.stranger,
        &[],
        &["request", "list"],
    )));
    assert_eq!(run.code, 255, "{run:?}");
    assert!(run.stderr.contains("Permission denied (publickey)"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

#[test]
fn shells_without_a_terminal_subsystems_and_forwarding_are_refused() {
    if !openssh() {
        return;
    }
    let door = Door::open();
    let shell = door.ssh(&[]);
    assert_eq!(shell.code, 1, "{shell:?}");
    assert!(
        shell.error_line().contains("use `ssh -t` for the dashboard or give a command"),
        "{}",
        shell.stderr
    );

    // With a terminal, the shell is the dashboard's, which a terminal that cannot move the cursor
    // cannot show: said in one line, before anything is drawn.
    let mut dumb = door.ssh_with(&door.operator, &["-tt"], &[]);
    dumb.env("TERM", "dumb");
    let dashboard = Run::from_cmd(&mut assert_cmd::Command::from_std(dumb));
    assert_eq!(dashboard.code, 1, "{dashboard:?}");
    assert!(
        dashboard.stderr.contains("needs a terminal that can move the cursor (TERM=dumb)"),
        "{dashboard:?}"
    );
    assert!(!dashboard.stdout.contains('\x1b'), "nothing drawn: {dashboard:?}");

    let sftp =
        Run::from_cmd(&mut assert_cmd::Command::from_std(door.ssh_with(&door.operator, &["-s"], &["sftp"])));
    assert_ne!(sftp.code, 0, "{sftp:?}");

    // Remote forwarding: the service will not listen for the client.
    let remote = Run::from_cmd(&mut assert_cmd::Command::from_std(door.ssh_with(
        &door.operator,
        &["-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9"],
        &[],
    )));
    assert_eq!(remote.code, 255, "{remote:?}");
    assert!(remote.stderr.contains("forwarding failed"), "{}", remote.stderr);

    // Local forwarding: the client listens, but the service opens nothing for it.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let local_port = free.local_addr().unwrap().port();
    drop(free);
    let forward = format!("{local_port}:127.0.0.1:{}", door.port);
    let mut ssh = door.ssh_with(&door.operator, &["-N", "-o", "LogLevel=INFO", "-L", &forward], &[]);
    let mut child = ssh.stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    let mut through = loop {
        match std::net::TcpStream::connect(("127.0.0.1", local_port)) {
            Ok(stream) => break stream,
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("ssh -L never listened: {e}"),
        }
    };
    through.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut got = Vec::new();
    let _ = through.read_to_end(&mut got);
    assert!(got.is_empty(), "nothing came through the forwarding: {:?}", String::from_utf8_lossy(&got));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("administratively prohibited"), "{stderr}");
}

#[test]
fn the_host_key_is_private_and_pinned_across_restarts() {
    if !openssh() {
        return;
    }
    let mut door = Door::open();
    let key_file = door.store.dir.path().join("jitdesk.redb.ssh_host_ed25519_key");
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    let first = print_host_key(&door.store);
    assert_eq!(door.process.stop(), 0);
    let (process, port) = start(&door.store, &door.keys_file);
    door.process = process;
    door.port = port;
    assert_eq!(print_host_key(&door.store), first, "the same key after a restart");
    std::fs::write(&door.known_hosts, format!("[127.0.0.1]:{port} {}\n", first.0)).unwrap();
    assert_eq!(door.ssh(&["app", "list"]).code, 0, "the pinned key still matches");

    // A key file others may read is refused, with one line, and left as it is.
    assert_eq!(door.process.stop(), 0);
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = door.store.run(&["serve", "--print-host-key"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("chmod 600"), "{}", run.stderr);
}

#[test]
fn a_host_key_or_operator_keys_behind_a_symbolic_link_keep_the_service_from_starting() {
    // Both files are ours and private; only the link at their names is refused, and no ssh is needed.
    let store = Store::init();
    let key_file = store.dir.path().join("jitdesk.redb.ssh_host_ed25519_key");
    let elsewhere = store.dir.path().join("host_key_elsewhere");
    assert_eq!(store.run(&["serve", "--print-host-key"]).code, 0);
    std::fs::rename(&key_file, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &key_file).unwrap();
    let run = store.run(&["serve", "--print-host-key"]);
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(line.contains("symbolic link") && line.contains("ssh_host_ed25519_key"), "{line}");
    assert!(std::fs::symlink_metadata(&key_file).unwrap().file_type().is_symlink(), "left as it is");

    let keys = store.dir.path().join("operator_keys");
    std::fs::write(
        &keys,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBTvFtLOZFtqVYuEf0WsQpQ4GR6mR59LEg4eUIeOc5HJ\n",
    )
    .unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = store.dir.path().join("operator_keys_link");
    std::os::unix::fs::symlink(&keys, &link).unwrap();
    let run = store.run(&["serve", "--ssh", "127.0.0.1:0", "--operator-keys", link.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(line.contains("symbolic link") && line.contains("operator_keys_link"), "{line}");
}

#[test]
fn a_command_for_the_service_only_never_opens_the_store_itself() {
    let store = common::directory();
    let before = store.snapshot();
    let run = store.run_with(
        &as_user(DAVE, &request_create("dev", "Owner", "1h", "x")),
        &[("JITDESK_SERVICE_ONLY", "1"), ("JITDESK_SOCKET", "/nonexistent/jitdesk.sock")],
    );
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.error_line().contains("runs only through one"), "{}", run.stderr);
    assert_eq!(store.snapshot(), before);
}

#[test]
fn an_address_that_keeps_failing_is_refused_at_once_and_logged_a_few_lines() {
    if !openssh() {
        return;
    }
    let door = Door::open();
    let stranger = |door: &Door| {
        Run::from_cmd(&mut assert_cmd::Command::from_std(door.ssh_with(
            &door.stranger,
            &[],
            &["app", "list"],
        )))
    };
    for _ in 0..jitdesk::api::limits::SSH_FAILURES {
        assert_eq!(stranger(&door).code, 255);
    }
    // The address is refused now whatever key it brings, the operator's included.
    let blocked = door.ssh(&["app", "list"]);
    assert_eq!(blocked.code, 255, "{blocked:?}");
    assert_eq!(blocked.stdout, "");
    let log = std::fs::read_to_string(door.store.dir.path().join("jitdesk").join("jitdesk.log")).unwrap();
    let refused: Vec<&str> = log.lines().filter(|l| l.contains("SSH: refused address 127.0.0.1")).collect();
    // More failures than the lines a holder gets: exactly those lines, and no client text.
    assert_eq!(refused.len(), jitdesk::api::limits::REFUSAL_LINES as usize, "{refused:?}");
    assert!(refused.iter().all(|l| l.ends_with("a key nobody owns")), "{refused:?}");
}

#[test]
fn the_config_files_ssh_address_opens_the_door() {
    let store = common::directory();
    let config = store.dir.path().join("jitdesk");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "ssh = \"127.0.0.1:0\"\n").unwrap();
    let mut cmd = serve_command(&store.path, store.dir.path());
    cmd.env("XDG_CONFIG_HOME", store.dir.path()).stderr(Stdio::null());
    let (mut process, line) = Process::start(&mut cmd);
    assert!(line.contains(", ssh on 127.0.0.1:"), "{line}");
    assert_eq!(process.stop(), 0);
    // An address it cannot listen on is one line, and nothing starts.
    std::fs::write(config.join("config.toml"), "ssh = \"not an address\"\n").unwrap();
    let mut cmd = serve_command(&store.path, store.dir.path());
    cmd.env("XDG_CONFIG_HOME", store.dir.path());
    let out = cmd.output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: cannot listen for SSH on not an address"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
