//! One way to read a file that must be ours (and, for a secret, nobody else's) before its bytes are
//! trusted: the SSH host key, the operator's authorized keys, the TLS certificate and key, the
//! client's token and key. Looking at a path and then opening it again leaves a moment in which
//! someone may swap the file; so the file is opened first, without following a symbolic link at its
//! name, and the checks look at the file that was opened, whose bytes are then read, up to a cap the
//! caller gives. The service and the client both read through here, so every door refuses the same
//! files with the same words.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::os_user::named;

/// What a file must be to be read: who may own it, whether others may read it, and how big it may
/// be.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// What the file is, as the line that refuses it names it ("SSH host key").
    what: &'static str,
    /// A secret: nobody but its owner may read or write it (mode & 0o077 == 0). Otherwise only
    /// writing is refused to others (mode & 0o022 == 0): whoever writes it decides what we trust.
    secret: bool,
    /// Root may own it too (files an administrator installs, such as a TLS certificate).
    root_may_own: bool,
    /// The most bytes it may hold.
    max_len: u64,
}

impl Rules {
    /// A secret of this process's user, at most `max_len` bytes.
    pub const fn secret(what: &'static str, max_len: u64) -> Rules {
        Rules { what, secret: true, root_may_own: false, max_len }
    }

    /// A file others may read but only its owner, this process's user, may write.
    pub const fn shared(what: &'static str, max_len: u64) -> Rules {
        Rules { what, secret: false, root_may_own: false, max_len }
    }

    /// The same rules, but root may own the file as well as this process's user.
    pub const fn or_root(self) -> Rules {
        Rules { root_may_own: true, ..self }
    }
}

/// Why a file was not read.
#[derive(Debug)]
pub enum Why {
    /// It could not be opened (missing, no permission, ...).
    Open(io::Error),
    /// Its name is a symbolic link: whoever controls the link would choose the file.
    Link,
    /// It is a directory, a device, a pipe or a socket, not a plain file.
    NotAFile(&'static str),
    /// It belongs to another uid than `me` (or root, when root may own it).
    Owner { owner: u32, me: u32, or_root: bool },
    /// Others may read or write a secret.
    Exposed { mode: u32 },
    /// Others may write it.
    Writable { mode: u32 },
    /// It holds more than the caller's cap.
    TooBig { max_len: u64 },
    /// Reading it failed.
    Read(io::Error),
}

/// A file refused, with what it is and where: its `Display` is one line that says what is wrong and
/// what to do.
#[derive(Debug)]
pub struct Refused {
    pub what: &'static str,
    pub path: PathBuf,
    pub why: Why,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, path) = (self.what, self.path.display());
        match &self.why {
            Why::Open(e) => {
                write!(
                    f,
                    "cannot open the {what} {path} ({e}): check that the path names it and that you may read it"
                )
            }
            Why::Link => write!(
                f,
                "the {what} {path} is a symbolic link, which is not followed (whoever controls the link chooses the file): put the file itself there"
            ),
            Why::NotAFile(kind) => {
                write!(f, "the {what} {path} is {kind}, not a plain file: put the file itself there")
            }
            Why::Owner { owner, me, or_root } => {
                let nor_root = if *or_root { " (nor to root)" } else { "" };
                write!(
                    f,
                    "the {what} {path} belongs to {}, not to {}{nor_root}, who runs jitdesk, so it is not trusted: `chown` it, or use a file of your own",
                    named(*owner),
                    named(*me)
                )
            }
            Why::Exposed { mode } => {
                let how = if mode & 0o044 != 0 { "read" } else { "written" };
                write!(
                    f,
                    "the {what} {path} may be {how} by others (mode {mode:04o}), so it is not used: `chmod 600 {path}`"
                )
            }
            Why::Writable { mode } => write!(
                f,
                "the {what} {path} may be written by others (mode {mode:04o}), so it is not trusted: `chmod go-w {path}`"
            ),
            Why::TooBig { max_len } => write!(
                f,
                "the {what} {path} holds more than {max_len} bytes, more than any {what} needs, so it is not read: check that it is the right file"
            ),
            Why::Read(e) => write!(f, "cannot read the {what} {path}: {e}"),
        }
    }
}

impl std::error::Error for Refused {}

/// The bytes of the file at `path`, once the file as opened is found to be what `rules` asks.
pub fn read(path: &Path, rules: Rules) -> Result<Vec<u8>, Refused> {
    let refuse = |why: Why| Refused { what: rules.what, path: path.to_path_buf(), why };
    let file = open(path).map_err(refuse)?;
    // From here on the opened file is looked at, never the path: nothing can be swapped in between.
    let meta = file.metadata().map_err(|e| refuse(Why::Open(e)))?;
    if let Some(kind) = not_a_file(&meta.file_type()) {
        return Err(refuse(Why::NotAFile(kind)));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me && !(rules.root_may_own && meta.uid() == 0) {
        return Err(refuse(Why::Owner { owner: meta.uid(), me, or_root: rules.root_may_own }));
    }
    let mode = meta.mode() & 0o7777;
    if rules.secret && mode & 0o077 != 0 {
        return Err(refuse(Why::Exposed { mode }));
    }
    if mode & 0o022 != 0 {
        return Err(refuse(Why::Writable { mode }));
    }
    if meta.len() > rules.max_len {
        return Err(refuse(Why::TooBig { max_len: rules.max_len }));
    }
    // One byte past the cap tells a file that grew since it was looked at from one that fits.
    let mut bytes = Vec::new();
    file.take(rules.max_len + 1).read_to_end(&mut bytes).map_err(|e| refuse(Why::Read(e)))?;
    if bytes.len() as u64 > rules.max_len {
        return Err(refuse(Why::TooBig { max_len: rules.max_len }));
    }
    Ok(bytes)
}

/// Opens `path` for reading without following a symbolic link at its name, and without waiting
/// on a pipe or a device someone put there (O_NONBLOCK; the checks refuse them next).
fn open(path: &Path) -> Result<File, Why> {
    let flags = nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY;
    OpenOptions::new().read(true).custom_flags(flags).open(path).map_err(|e| {
        // ELOOP under O_NOFOLLOW is the link at the name itself; a loop further up is its own error.
        let at_name = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if e.raw_os_error() == Some(nix::libc::ELOOP) && at_name { Why::Link } else { Why::Open(e) }
    })
}

/// What a file that is not a plain file is, for the line that refuses it.
fn not_a_file(kind: &std::fs::FileType) -> Option<&'static str> {
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a pipe")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_block_device() || kind.is_char_device() {
        Some("a device")
    } else {
        Some("something else")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const SECRET: Rules = Rules::secret("test key", 64);
    const SHARED: Rules = Rules::shared("test certificate", 64);

    fn file(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_private_file_of_ours_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "key", b"the key\n", 0o600);
        assert_eq!(read(&path, SECRET).unwrap(), b"the key\n");
        assert_eq!(read(&path, SHARED).unwrap(), b"the key\n");
        let full = file(dir.path(), "full", &[b'x'; 64], 0o600);
        assert_eq!(read(&full, SECRET).unwrap().len(), 64, "the cap itself fits");
    }

    #[test]
    fn a_symbolic_link_to_a_private_file_of_ours_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = file(dir.path(), "key", b"the key", 0o600);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for rules in [SECRET, SHARED] {
            let e = read(&link, rules).unwrap_err();
            assert!(matches!(e.why, Why::Link), "{e}");
            let line = e.to_string();
            assert!(line.contains("symbolic link") && line.contains(&link.display().to_string()), "{line}");
        }
        // A link through a folder is the folder's owner's choice; only the name itself is refused.
        let folder = dir.path().join("folder");
        std::os::unix::fs::symlink(dir.path(), &folder).unwrap();
        assert_eq!(read(&folder.join("key"), SECRET).unwrap(), b"the key");
    }

    #[test]
    fn a_file_of_another_user_is_refused_and_named() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: giving a file to another user needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "key", b"the key", 0o600);
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        for rules in [SECRET, SHARED, SHARED.or_root()] {
            let e = read(&path, rules).unwrap_err();
            assert!(matches!(e.why, Why::Owner { owner: 65534, .. }), "{e}");
            let line = e.to_string();
            assert!(line.contains("uid 65534") && line.contains("chown"), "{line}");
        }
    }

    #[test]
    fn others_may_read_a_certificate_but_not_a_secret_and_write_neither() {
        let dir = tempfile::tempdir().unwrap();
        let readable = file(dir.path(), "readable", b"x", 0o640);
        let e = read(&readable, SECRET).unwrap_err();
        assert!(matches!(e.why, Why::Exposed { mode: 0o640 }), "{e}");
        let line = e.to_string();
        assert!(line.contains("may be read by others (mode 0640)") && line.contains("chmod 600"), "{line}");
        assert_eq!(read(&readable, SHARED).unwrap(), b"x");
        let writable = file(dir.path(), "writable", b"x", 0o666);
        let e = read(&writable, SECRET).unwrap_err();
        assert!(e.to_string().contains("chmod 600"), "{e}");
        let e = read(&writable, SHARED).unwrap_err();
        assert!(matches!(e.why, Why::Writable { mode: 0o666 }), "{e}");
        assert!(e.to_string().contains("mode 0666") && e.to_string().contains("chmod go-w"), "{e}");
        let group_writable = file(dir.path(), "group", b"x", 0o620);
        assert!(read(&group_writable, SECRET).unwrap_err().to_string().contains("may be written by others"));
    }

    #[test]
    fn a_directory_or_a_pipe_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let e = read(dir.path(), SHARED).unwrap_err();
        assert!(matches!(e.why, Why::NotAFile("a directory")), "{e}");
        assert!(e.to_string().contains("not a plain file"), "{e}");
        let pipe = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&pipe).status().unwrap();
        assert!(made.success(), "mkfifo");
        // Opened without O_NONBLOCK, a pipe nobody writes would hold this test forever.
        let e = read(&pipe, SECRET).unwrap_err();
        assert!(matches!(e.why, Why::NotAFile("a pipe")), "{e}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_unread_and_a_missing_one_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let big = file(dir.path(), "big", &[b'x'; 65], 0o600);
        let e = read(&big, SECRET).unwrap_err();
        assert!(matches!(e.why, Why::TooBig { max_len: 64 }), "{e}");
        assert!(e.to_string().contains("more than 64 bytes"), "{e}");
        let e = read(&dir.path().join("missing"), SECRET).unwrap_err();
        assert!(matches!(&e.why, Why::Open(io) if io.kind() == io::ErrorKind::NotFound), "{e}");
        assert!(e.to_string().starts_with("cannot open the test key "), "{e}");
    }
}
