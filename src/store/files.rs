//! The store's file and folders on disk. Whoever can read the store reads every justification, and
//! whoever can write it forges anything; so what jitdesk creates is private from its first byte
//! (a file 0600, a folder 0700, whatever the umask, never chmod-ed afterwards, which would leave a
//! moment for someone to open it), a new file never lands on something planted in its place, and a
//! store that someone else chose or could have written is refused rather than used.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use tempfile::TempPath;

use super::{Error, Result};
use crate::os_user::named;

/// Creates `dir` and whichever of its parents are missing, each 0700; existing ones are left as
/// they are.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// A new file in `dir`, named `.<name>.<random>.partial` so that nobody can guess it and plant
/// something there first: created 0600, never over an existing name (O_EXCL) nor through a
/// symbolic link (O_NOFOLLOW). The name goes when the `TempPath` is dropped.
pub fn create_private_temp(dir: &Path, name: &str) -> io::Result<(File, TempPath)> {
    let prefix = format!(".{name}.");
    let file = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".partial")
        .rand_bytes(12)
        .make_in(dir, |path| private().open(path))?;
    Ok(file.into_parts())
}

/// How a new private file is opened: read-write, created 0600 and only if nothing is at the name.
fn private() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true).mode(0o600).custom_flags(nix::libc::O_NOFOLLOW);
    options
}

/// Refuses a store someone else controls: a symbolic link owned by another user (they choose
/// which file it names, and may point it at one of yours), or a file of another uid that anyone
/// may write (anyone could have forged its records). Nothing is opened, so the file keeps every
/// byte. A path that cannot be looked at is left for the open to report.
pub fn check_owner(path: &Path) -> Result<()> {
    let me = nix::unistd::geteuid().as_raw();
    let refuse = |detail: String| Error::Unreadable { path: path.to_path_buf(), detail };
    let Ok(link) = std::fs::symlink_metadata(path) else { return Ok(()) };
    if link.file_type().is_symlink() && link.uid() != me {
        return Err(refuse(format!(
            "it is a symbolic link owned by {}, not by you, and it decides which file would be written; it was left untouched: use the file it points to, or a store of your own, with --store",
            named(link.uid())
        )));
    }
    let Ok(file) = std::fs::metadata(path) else { return Ok(()) };
    if file.uid() != me && file.mode() & 0o002 != 0 {
        return Err(refuse(format!(
            "it belongs to {} and anyone may write it (mode {:04o}), so anyone could have forged its records; it was left untouched: have its owner make it private (chmod 600) or use another --store",
            named(file.uid()),
            file.mode() & 0o7777
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_private_temp_file_is_0600_unguessable_and_never_over_something_there() {
        let dir = tempfile::tempdir().unwrap();
        let (_a, a) = create_private_temp(dir.path(), "jitdesk.redb").unwrap();
        let (_b, b) = create_private_temp(dir.path(), "jitdesk.redb").unwrap();
        assert_ne!(a.to_path_buf(), b.to_path_buf(), "every temporary file has a name of its own");
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(".jitdesk.redb.") && name.ends_with(".partial"), "{name}");
        assert!(name.len() >= ".jitdesk.redb.".len() + 12 + ".partial".len(), "{name}");
        // Asked for 0600 at creation: any umask only takes bits away.
        assert_eq!(std::fs::metadata(&a).unwrap().permissions().mode() & 0o777, 0o600);

        // The flags themselves: an existing file, a symbolic link (dangling or not) are not opened.
        let planted = dir.path().join("planted");
        std::fs::write(&planted, b"theirs").unwrap();
        let err = private().open(&planted).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        assert!(private().open(&link).is_err());
        assert!(!dir.path().join("nowhere").exists(), "nothing was created through the link");
        assert_eq!(std::fs::read(&planted).unwrap(), b"theirs");
    }

    #[test]
    fn private_folders_are_0700_and_existing_ones_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let deep = dir.path().join("a").join("b");
        create_private_dir(&deep).unwrap();
        for folder in [dir.path().join("a"), deep] {
            assert_eq!(std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777, 0o700);
        }
        assert_eq!(std::fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777, 0o755);
    }
}
