//! The files jitdesk creates are private from their first byte, whatever the umask: the store
//! 0600 (its temporary file during creation included), the folders made for it 0700. And a store
//! someone else controls is refused with one line, its bytes unchanged: a symbolic link another
//! user owns, or another uid's file that anyone may write.
//!
//! The other user's files need root (CI runs the tests as root); anyone else gets a printed skip
//! for those.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::common::os_users::{Accounts, bounded, ids};
use crate::common::{BIN, Run};

/// The binary with a clean environment whose data and config live under `home`.
fn jitdesk(home: &Path, store: Option<&Path>, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TZ", "UTC")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"));
    if let Some(store) = store {
        cmd.arg("--store").arg(store);
    }
    cmd.args(args);
    cmd
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).mode() & 0o7777
}

#[test]
fn init_under_umask_000_makes_the_store_0600_and_its_folders_0700_from_the_start() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let store = data.join("jitdesk").join("jitdesk.redb");
    // A process watching the folders while the store is made, as another user would: every file
    // it ever sees there must be its owner's alone.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (done, folders) = (done.clone(), [home.path().to_path_buf(), data.clone(), data.join("jitdesk")]);
        std::thread::spawn(move || {
            let mut seen = std::collections::BTreeSet::new();
            // One last look after init has ended, so the finished store is always among them.
            loop {
                let finished = done.load(Ordering::SeqCst);
                for folder in &folders {
                    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
                        if let Ok(meta) = std::fs::symlink_metadata(entry.path())
                            && meta.is_file()
                        {
                            seen.insert((entry.path(), meta.mode() & 0o777));
                        }
                    }
                }
                if finished {
                    return seen;
                }
            }
        })
    };
    // No --store: the default place, under XDG_DATA_HOME, which does not exist yet.
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(r#"umask 000; exec "$0" "$@""#).arg(BIN).arg("init").env_clear();
    for (k, v) in jitdesk(home.path(), None, &[]).get_envs() {
        cmd.env(k, v.unwrap());
    }
    let (run, _) = bounded(cmd, "init under umask 000");
    done.store(true, Ordering::SeqCst);
    let seen = watcher.join().unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&store.display().to_string()), "{run:?}");

    assert_eq!(mode(&store), 0o600, "the store");
    assert_eq!(mode(&data), 0o700, "the data folder jitdesk made");
    assert_eq!(mode(&data.join("jitdesk")), 0o700, "its own folder");
    let open: Vec<_> = seen.iter().filter(|(_, mode)| mode & 0o077 != 0).collect();
    assert!(open.is_empty(), "files others could open while the store was made: {open:?}");
    assert!(seen.iter().any(|(path, _)| path == &store), "the watcher saw the folder");
    let left: Vec<_> =
        std::fs::read_dir(data.join("jitdesk")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("jitdesk.redb")], "no temporary file is left");
}

/// A store made by root (this process) in a folder everyone may enter, and the other user.
struct Scene {
    _accounts: Accounts,
    login: String,
    uid: u32,
    gid: u32,
    dir: tempfile::TempDir,
    store: PathBuf,
}

impl Scene {
    fn new(tag: &str) -> Option<Scene> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!(
                "SKIPPED store_files {tag}: another user's files need root (CI runs the tests as root); run `cargo test --test it store_files` as root"
            );
            return None;
        }
        let login = format!("jd{tag}{}", std::process::id());
        let mut accounts = Accounts::default();
        let uid = accounts.user(&login, None);
        let gid = ids(&login).1;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = dir.path().join("jitdesk.redb");
        let made = Scene::run_in(dir.path(), &store, &["init", "--sample"]);
        assert_eq!(made.code, 0, "{made:?}");
        Some(Scene { _accounts: accounts, login, uid, gid, dir, store })
    }

    fn run_in(home: &Path, store: &Path, args: &[&str]) -> Run {
        bounded(jitdesk(home, Some(store), args), &format!("jitdesk {args:?}")).0
    }

    fn run(&self, store: &Path, args: &[&str]) -> Run {
        Scene::run_in(self.dir.path(), store, args)
    }

    /// Every command on `store`, a read and a write, is refused with one line; the file behind it
    /// keeps every byte. The line, for the caller to check.
    fn refused_everything(&self, store: &Path) -> String {
        let before = std::fs::read(&self.store).unwrap();
        let mut lines = Vec::new();
        for args in [&["request", "list"][..], &["tenant", "add", "intruder", "--kind", "customer"]] {
            let run = self.run(store, args);
            assert_eq!(run.code, 1, "{args:?} was not refused: {run:?}");
            assert!(run.stdout.is_empty(), "{run:?}");
            lines.push(run.error_line().to_string());
        }
        assert_eq!(std::fs::read(&self.store).unwrap(), before, "the file was changed");
        assert_eq!(lines[0], lines[1], "a read and a write are refused alike");
        lines.swap_remove(0)
    }
}

#[test]
fn a_store_that_is_another_users_symlink_is_refused() {
    let Some(scene) = Scene::new("link") else { return };
    let link = scene.dir.path().join("shared.redb");
    std::os::unix::fs::symlink(&scene.store, &link).unwrap();
    // Root's own link to root's store is fine.
    assert_eq!(scene.run(&link, &["request", "list"]).code, 0);
    std::os::unix::fs::lchown(&link, Some(scene.uid), Some(scene.gid)).unwrap();

    let line = scene.refused_everything(&link);
    assert!(line.contains(&link.display().to_string()), "{line}");
    assert!(
        line.contains("symbolic link") && line.contains(&format!("{} (uid {})", scene.login, scene.uid)),
        "{line}"
    );
}

#[test]
fn another_uids_store_that_anyone_may_write_is_refused() {
    let Some(scene) = Scene::new("open") else { return };
    std::os::unix::fs::chown(&scene.store, Some(scene.uid), Some(scene.gid)).unwrap();
    // Theirs but private to them: root may still read it as before.
    std::fs::set_permissions(&scene.store, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(scene.run(&scene.store, &["request", "list"]).code, 0);
    std::fs::set_permissions(&scene.store, std::fs::Permissions::from_mode(0o666)).unwrap();

    let line = scene.refused_everything(&scene.store);
    assert!(line.contains(&scene.store.display().to_string()), "{line}");
    assert!(
        line.contains(&format!("{} (uid {})", scene.login, scene.uid)) && line.contains("0666"),
        "{line}"
    );
    assert!(line.contains("anyone may write"), "says why: {line}");
}
