//! Faults of the disk and of the store file, through the real binary: a disk that fills up under a
//! running service (a small tmpfs, so root only; anyone else gets a printed skip), a store damaged
//! where only a write looks, and a service whose store thread stops on that damage.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::serve::{Serve, message};
use crate::common::{Run, Store, bare_command};

/// The sample's request still waiting for a decision that its requester may cancel.
const DAVES_PENDING: &str = "10";
const DAVE: &str = "dave@fabrikam.com";
/// Where redb keeps its "needs recovery" flag: the one byte a writable open changes at once.
const GOD_BYTE: usize = 9;
const RECOVERY_REQUIRED: u8 = 2;

/// Nothing a user sees names a place in the source, of jitdesk or of redb, nor says it panicked.
fn assert_no_internals(text: &str) {
    for leak in [".rs:", "panicked", "Poisoned", "internal error", "Previous I/O error"] {
        assert!(!text.contains(leak), "`{leak}` reached the user: {text}");
    }
}

// ---- a damaged store ----

/// The sample store, pristine.
fn sample() -> Store {
    let store = Store::new();
    let out = store.ok(&["init", "--sample"]);
    assert!(out.contains("loaded the sample"), "{out}");
    store
}

/// The store's bytes with 64 bytes scribbled inside page `page` (4 KiB pages).
fn scribbled(pristine: &[u8], page: usize) -> Vec<u8> {
    let mut bytes = pristine.to_vec();
    let start = page * 4096 + 100;
    for (at, byte) in bytes.iter_mut().enumerate().skip(start).take(64) {
        *byte = (at * 37) as u8;
    }
    bytes
}

/// Dave cancels his pending request on the store at `path`, in this process (no service).
fn cancel(path: &Path) -> Run {
    Run::from_cmd(bare_command().arg("--store").arg(path).args([
        "--as",
        DAVE,
        "request",
        "cancel",
        DAVES_PENDING,
    ]))
}

/// Damages each page of the sample in turn and tries one write on it. Every outcome is one line
/// (or success), never a panic or exit 101; where the write meets the damage, it says the store is
/// damaged, and the file keeps every byte but redb's "needs recovery" flag (set by any writable
/// open, and left set so that the next open checks the file rather than trusts it). Returns the
/// pages whose damage only that write met.
fn damaged_write_pages(s: &Store, stop_at_first: bool) -> Vec<usize> {
    let pristine = std::fs::read(&s.path).expect("read the store");
    let path = s.dir.path().join("damaged.redb");
    let mut found = Vec::new();
    for page in 1..pristine.len() / 4096 {
        let bytes = scribbled(&pristine, page);
        std::fs::write(&path, &bytes).expect("write the damaged copy");
        let run = cancel(&path);
        assert!(run.code == 0 || run.code == 1, "page {page}: exit {}: {run:?}", run.code);
        assert_no_internals(&run.stderr);
        if run.code == 1 {
            run.error_line();
        }
        if run.stderr.contains("the store is damaged:") {
            let line = run.error_line();
            assert!(line.ends_with("; restore it from a backup"), "page {page}: {line}");
            let after = std::fs::read(&path).expect("read the damaged copy");
            // The write may have grown the file by the pages it allocated (a compacted store has
            // no free ones inside it); every byte that was there stays.
            assert!(after.len() >= bytes.len(), "page {page}: the file shrank");
            for (at, (was, is)) in bytes.iter().zip(&after).enumerate() {
                assert!(
                    was == is || at == GOD_BYTE && (was ^ is) == RECOVERY_REQUIRED,
                    "page {page}: byte {at} changed from {was:#x} to {is:#x}"
                );
            }
            found.push(page);
            if stop_at_first {
                break;
            }
        }
    }
    found
}

#[test]
fn a_write_on_a_damaged_store_says_so_in_one_line_and_keeps_the_file() {
    let s = sample();
    let pages = damaged_write_pages(&s, false);
    assert!(!pages.is_empty(), "no damaged page was met by the write: the test proves nothing");
}

#[test]
fn a_service_whose_store_thread_stops_on_damage_says_so_and_exits_non_zero() {
    let s = sample();
    let pristine = std::fs::read(&s.path).expect("read the store");
    let page = *damaged_write_pages(&s, true).first().expect("a page only a write meets");
    std::fs::write(&s.path, scribbled(&pristine, page)).expect("damage the store");
    let mut service = Serve::on(&s.path);
    let (status, body) = service.request("GET", "/v1/health", None, None);
    assert_eq!(status, 200, "healthy before the write: {body}");

    let (status, body) =
        service.request("POST", &format!("/v1/requests/{DAVES_PENDING}/cancel"), Some(DAVE), None);
    assert_eq!(status, 503, "{body}");
    let refused = message(&body);
    assert!(refused.starts_with("the store is damaged: "), "{refused}");
    assert_no_internals(&body);

    let (status, body) = service.request("GET", "/v1/health", None, None);
    assert_eq!(status, 503, "health after the store thread stopped: {body}");
    let said = message(&body);
    assert!(said.contains("store thread has stopped") && said.contains("the store is damaged"), "{said}");
    assert_no_internals(&body);

    let (code, stderr) = service.exit(Duration::from_secs(60));
    assert_ne!(code, 0, "a service whose store thread died must exit non-zero: {stderr}");
    assert_ne!(code, 101, "a panic is no way to exit: {stderr}");
    assert_no_internals(&stderr);
}

// ---- a full disk ----

/// A small tmpfs mounted on a new folder, unmounted again whatever happens.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// None, with the reason printed, when this is not root or the mount fails.
    fn mount(size: &str) -> Option<Tmpfs> {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: mounting a small tmpfs to fill needs root");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let done = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .output();
        match done {
            Ok(out) if out.status.success() => Some(Tmpfs { dir }),
            other => {
                eprintln!("skipped: cannot mount a tmpfs: {other:?}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let done = Command::new("umount").arg("-l").arg(self.dir.path()).output();
        if !done.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!("warning: cannot unmount the test tmpfs {}: {done:?}", self.dir.path().display());
        }
    }
}

/// Writes zeros to `path` until the disk has no room left.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).expect("create the filler");
    let chunk = vec![0u8; 16 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let small = [0u8; 512];
    while file.write_all(&small).is_ok() {}
}

fn user_body(n: usize) -> String {
    // Long names fill pages quickly, so the store must grow soon.
    format!(r#"{{"upn":"filler{n}@contoso.com","tenant":"contoso","name":"{}"}}"#, "N".repeat(250))
}

#[test]
fn a_full_disk_refuses_writes_with_503_and_the_service_recovers_once_there_is_room() {
    let Some(disk) = Tmpfs::mount("3m") else { return };
    let path = disk.path().join("jitdesk.redb");
    let out = Run::from_cmd(bare_command().arg("--store").arg(&path).args(["init", "--sample"]));
    assert_eq!(out.code, 0, "{out:?}");
    let service = Serve::on(&path);
    let filler = disk.path().join("filler");
    fill(&filler);

    // Writes go on while redb finds room inside its file; the first that needs more is refused.
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for n in 0..5000 {
        let (status, body) = service.request("POST", "/v1/users", None, Some(&user_body(n)));
        match status {
            201 => acknowledged.push(format!("filler{n}@contoso.com")),
            503 => {
                refused = Some((n, message(&body)));
                break;
            }
            other => panic!("user {n}: {other} {body}"),
        }
    }
    let (lost, said) = refused.expect("no write was refused on a full disk");
    assert!(said.starts_with("the disk is full; nothing was changed"), "{said}");

    // The CLI through the service: one line, exit 1.
    let run = Run::from_cmd(bare_command().arg("--store").arg(&path).args([
        "user",
        "add",
        "cli-filler@contoso.com",
        "--tenant",
        "contoso",
    ]));
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(line.starts_with("error: the disk is full; nothing was changed"), "{line}");
    assert_no_internals(line);

    // Room again: the service opens its store again by itself, and the next write is kept.
    std::fs::remove_file(&filler).expect("free the disk");
    let retry = Instant::now();
    loop {
        let (status, body) = service.request("POST", "/v1/users", None, Some(&user_body(lost)));
        if status == 201 {
            acknowledged.push(format!("filler{lost}@contoso.com"));
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(retry.elapsed() < Duration::from_secs(60), "the service did not recover: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, body) = service.request("GET", "/v1/users", None, None);
    assert_eq!(status, 200, "{body}");
    let users: Vec<serde_json::Value> = serde_json::from_str(&body).expect("users");
    let upns: Vec<&str> = users.iter().filter_map(|u| u["upn"].as_str()).collect();
    for upn in &acknowledged {
        assert!(upns.contains(&upn.as_str()), "{upn} was acknowledged and is gone");
    }
    assert!(!upns.contains(&"cli-filler@contoso.com"), "a refused write was kept");
    drop(service);
}

#[test]
fn a_full_disk_refuses_a_local_write_in_one_line_and_keeps_the_store() {
    let Some(disk) = Tmpfs::mount("3m") else { return };
    let path = disk.path().join("jitdesk.redb");
    let local = |args: &[&str]| Run::from_cmd(bare_command().arg("--store").arg(&path).args(args));
    let out = local(&["init", "--sample"]);
    assert_eq!(out.code, 0, "{out:?}");
    let filler = disk.path().join("filler");
    fill(&filler);
    let name = "N".repeat(250);
    let add = |n: usize| {
        let upn = format!("filler{n}@contoso.com");
        local(&["user", "add", &upn, "--tenant", "contoso", "--name", &name])
    };
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for n in 0..400 {
        let run = add(n);
        if run.code == 0 {
            acknowledged.push(format!("filler{n}@contoso.com"));
            continue;
        }
        assert_eq!(run.code, 1, "{run:?}");
        refused = Some((n, run.error_line().to_string()));
        break;
    }
    let (lost, line) = refused.expect("no write was refused on a full disk");
    assert!(line.starts_with("error: the disk is full; nothing was changed"), "{line}");
    assert_no_internals(&line);

    std::fs::remove_file(&filler).expect("free the disk");
    let run = add(lost);
    assert_eq!(run.code, 0, "a write once there is room again: {run:?}");
    acknowledged.push(format!("filler{lost}@contoso.com"));
    let run = local(&["user", "search", "filler", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let users: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("users");
    let upns: Vec<&str> = users.iter().filter_map(|u| u["upn"].as_str()).collect();
    assert_eq!(upns.len(), acknowledged.len(), "exactly the acknowledged users: {upns:?}");
    for upn in &acknowledged {
        assert!(upns.contains(&upn.as_str()), "{upn} was acknowledged and is gone");
    }
}
