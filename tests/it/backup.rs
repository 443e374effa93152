//! `jitdesk backup FILE`: a consistent copy of a live store, through the service when one runs and
//! from the store opened in this process otherwise, that `--store` opens with the same data; a new
//! private file, never one that exists; and through the service, for its operator alone.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::serve::{Serve, message};
use crate::common::{Run, Store, bare_command};

const DAVE: &str = "dave@fabrikam.com";

fn sample() -> Store {
    let store = Store::new();
    let out = store.ok(&["init", "--sample"]);
    assert!(out.contains("loaded the sample"), "{out}");
    store
}

/// What a restore must give back, read through the CLI from the store at `path`.
fn contents(path: &Path) -> Vec<String> {
    [
        &["request", "list", "--json", "--limit", "1000"][..],
        &["audit", "--json", "--limit", "1000"],
        &["app", "list", "--json"],
        &["user", "search", "", "--json"],
        &["offer", "list", "--json"],
    ]
    .iter()
    .map(|args| {
        let run = Run::from_cmd(bare_command().arg("--store").arg(path).args(*args));
        assert_eq!(run.code, 0, "{args:?} on {}: {run:?}", path.display());
        run.stdout
    })
    .collect()
}

fn backup(store: &Path, to: &Path) -> Run {
    Run::from_cmd(bare_command().arg("--store").arg(store).arg("backup").arg(to))
}

fn assert_private_new_file(path: &Path, run: &Run) {
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    assert!(run.stdout.starts_with("wrote a backup of the store to "), "{run:?}");
    let mode = std::fs::metadata(path).expect("the backup exists").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the backup holds every tenant's data: it is its owner's alone");
    let folder: Vec<String> = std::fs::read_dir(path.parent().expect("a folder"))
        .expect("list the folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!folder.iter().any(|n| n.ends_with(".partial")), "a partial file was left: {folder:?}");
}

#[test]
fn a_backup_of_a_store_opened_here_restores_the_same_data() {
    let s = sample();
    let to = s.dir.path().join("copy.redb");
    let run = backup(&s.path, &to);
    assert_private_new_file(&to, &run);
    assert_eq!(contents(&to), contents(&s.path));
}

#[test]
fn a_backup_of_a_live_store_goes_through_its_service_and_restores_the_same_data() {
    let s = sample();
    let service = Serve::on(&s.path);
    // A change made through the service just before is in the copy.
    let (status, body) = service.request("POST", "/v1/requests/10/cancel", Some(DAVE), None);
    assert_eq!(status, 200, "{body}");
    let to = s.dir.path().join("live.redb");
    // The service holds the store's lock, so only the service could have made this copy.
    let run = backup(&s.path, &to);
    assert_private_new_file(&to, &run);
    let copied = contents(&to);
    assert!(copied[0].contains("\"Canceled\""), "the latest change is missing from the backup");
    assert_eq!(copied, contents(&s.path), "the backup differs from the live store");
    drop(service);
}

#[test]
fn a_backup_never_overwrites_a_file() {
    let s = sample();
    let to = s.dir.path().join("taken.redb");
    std::fs::write(&to, "somebody else's file").expect("write");
    let run = backup(&s.path, &to);
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(line.contains("already exists") && line.contains("never overwrites"), "{line}");
    assert_eq!(std::fs::read_to_string(&to).expect("read"), "somebody else's file");

    // The same through a service, which is asked nothing.
    let service = Serve::on(&s.path);
    let run = backup(&s.path, &to);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("already exists"), "{run:?}");
    assert_eq!(std::fs::read_to_string(&to).expect("read"), "somebody else's file");
    drop(service);
}

#[test]
fn a_backup_into_a_folder_that_does_not_exist_is_one_line() {
    let s = sample();
    let to = s.dir.path().join("no-such-folder").join("copy.redb");
    let run = backup(&s.path, &to);
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(
        line.starts_with("error: cannot write the backup to ") && line.contains("nothing was kept"),
        "{line}"
    );
    assert!(!to.exists());
}

#[test]
fn only_the_operator_takes_a_backup_through_the_service() {
    let s = sample();
    let service = Serve::on(&s.path);
    for upn in [DAVE, "alice@contoso.com"] {
        let (status, body) = service.request("GET", "/v1/backup", Some(upn), None);
        assert_eq!(status, 403, "{upn} took a backup: {} bytes", body.len());
        let said = message(&body);
        assert!(said.contains("may not take a backup") && said.contains("operator"), "{said}");
    }
    let (status, body) = service.request("GET", "/v1/backup", None, None);
    assert_eq!(status, 200, "the operator's backup: {body}");
    drop(service);
}
