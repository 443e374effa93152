//! The service's socket can be set in the config file; `serve` and every client follow it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn jitdesk(config_home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jitdesk"));
    c.env_remove("JITDESK_SOCKET").env_remove("JITDESK_STORE").env_remove("JITDESK_USER");
    c.env("XDG_CONFIG_HOME", config_home).env("XDG_DATA_HOME", config_home).env("TZ", "UTC");
    c
}

#[test]
fn serve_and_clients_use_the_socket_named_in_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.redb");
    let socket = dir.path().join("elsewhere.sock");
    std::fs::create_dir_all(dir.path().join("jitdesk")).unwrap();
    std::fs::write(
        dir.path().join("jitdesk/config.toml"),
        format!("socket = {:?}\n", socket.display().to_string()),
    )
    .unwrap();
    let init =
        jitdesk(dir.path()).args(["--store", store.to_str().unwrap(), "init", "--sample"]).output().unwrap();
    assert!(init.status.success(), "{init:?}");

    let mut serve = jitdesk(dir.path())
        .args(["--store", store.to_str().unwrap(), "serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !socket.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(socket.exists(), "serve did not listen on the configured socket");
    assert!(!dir.path().join("s.redb.sock").exists(), "the default socket was used instead");

    // The store is held by the service, so this only works through the configured socket.
    let list = jitdesk(dir.path())
        .args(["--store", store.to_str().unwrap(), "request", "list", "--state", "pending", "--json"])
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "the sample's two pending requests");

    // A broken config is one clear line naming the file and line.
    std::fs::write(dir.path().join("jitdesk/config.toml"), "socket = 42\n").unwrap();
    let broken = jitdesk(dir.path()).args(["--store", store.to_str().unwrap(), "audit"]).output().unwrap();
    let err = String::from_utf8_lossy(&broken.stderr);
    assert_eq!(broken.status.code(), Some(1));
    assert!(err.starts_with("error: config ") && err.contains("config.toml line 1"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    terminate(serve.id());
    let _ = serve.wait();
}

/// SIGTERM, so the service closes the store cleanly.
fn terminate(pid: u32) {
    let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
}
