//! The socket file: refused in a folder where anyone could replace it, refused while another
//! service answers on it, replaced when stale and our own, created with owner and group
//! permissions before anyone can connect, and removed on the way out.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};

use super::ServeError;

/// Longest path a Unix socket address holds (`sun_path` less its final NUL).
const MAX_PATH: usize = 107;

/// Owner and group may connect; nobody else.
const MODE: u32 = 0o660;

pub struct Socket {
    pub listener: Option<UnixListener>,
    path: PathBuf,
    /// Device and inode, so that only our own socket file is ever removed.
    id: Option<(u64, u64)>,
}

impl Socket {
    /// Removes the socket file, if it is still ours.
    pub fn remove(&self) {
        let ours = std::fs::symlink_metadata(&self.path).ok().map(|m| (m.dev(), m.ino()));
        if ours.is_some()
            && ours == self.id
            && let Err(e) = std::fs::remove_file(&self.path)
        {
            tracing::warn!("cannot remove the socket {}: {e}", self.path.display());
        }
    }
}

fn fail(message: String) -> ServeError {
    ServeError::Socket(message)
}

/// Refuses a folder anyone may write to without the sticky bit: anyone could remove our socket
/// there and put theirs in its place, and the clients' commands would go to them.
fn check_folder(path: &Path) -> Result<(), ServeError> {
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir,
        None => Path::new("."),
    };
    let meta = std::fs::metadata(dir)
        .map_err(|e| fail(format!("cannot look at the folder {}: {e}", dir.display())))?;
    let mode = meta.mode();
    if mode & 0o002 != 0 && mode & 0o1000 == 0 {
        return Err(fail(format!(
            "the socket's folder {} may be written by anyone and has no sticky bit (mode {:04o}), so anyone could replace the socket: choose a socket in a folder only you may write to (--socket), or make this one sticky (`chmod +t {}`)",
            dir.display(),
            mode & 0o7777,
            dir.display()
        )));
    }
    Ok(())
}

/// Refuses when the socket's folder is open to anyone or a server answers on the socket; removes
/// a socket file of our own that nobody answers on.
pub async fn check_free(path: &Path) -> Result<(), ServeError> {
    if path.as_os_str().len() > MAX_PATH {
        return Err(fail(format!(
            "the socket path {} is too long for a Unix socket ({} bytes, at most {MAX_PATH}): choose a shorter one with --socket",
            path.display(),
            path.as_os_str().len()
        )));
    }
    check_folder(path)?;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(fail(format!("cannot look at {}: {e}", path.display()))),
    };
    use std::os::unix::fs::FileTypeExt;
    if !meta.file_type().is_socket() {
        return Err(fail(format!(
            "{} exists and is not a socket: remove it or choose another --socket",
            path.display()
        )));
    }
    match tokio::time::timeout(Duration::from_secs(2), UnixStream::connect(path)).await {
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            if meta.uid() != nix::unistd::geteuid().as_raw() {
                return Err(fail(format!(
                    "the stale socket {} belongs to {}, not to you, so it was left alone: have it removed by its owner, or choose another --socket",
                    path.display(),
                    crate::os_user::named(meta.uid())
                )));
            }
            tracing::info!("removing the stale socket {}", path.display());
            std::fs::remove_file(path)
                .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
                .map_err(|e| fail(format!("cannot remove the stale socket {}: {e}", path.display())))
        }
        Ok(Err(e)) => Err(fail(format!("cannot tell whether a service answers on {}: {e}", path.display()))),
        // Connected, or so busy that it did not answer in time: either way, someone is serving.
        Ok(Ok(_)) | Err(_) => Err(fail(format!(
            "a jitdesk service already answers on {}: stop it first, or choose another --socket",
            path.display()
        ))),
    }
}

pub fn group_id(name: &str) -> Result<u32, ServeError> {
    match nix::unistd::Group::from_name(name) {
        Ok(Some(group)) => Ok(group.gid.as_raw()),
        Ok(None) => Err(fail(format!("there is no group `{name}`: create it or name another with --group"))),
        Err(e) => Err(fail(format!("cannot look up group `{name}`: {e}"))),
    }
}

/// Binds the socket with its final permissions before it appears under its name: it is made in a
/// private folder beside the target, given mode 0660 (and the group), then linked into place. A
/// link never replaces a file, so a service that started meanwhile keeps its socket.
pub fn bind(path: &Path, gid: Option<u32>) -> Result<Socket, ServeError> {
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir.to_path_buf(),
        None => PathBuf::from("."),
    };
    let private = tempfile::Builder::new()
        .prefix(".jitdesk-")
        .rand_bytes(6)
        .tempdir_in(&dir)
        .map_err(|e| fail(format!("cannot create the socket in {}: {e}", dir.display())))?;
    let staged = private.path().join("s");
    // A path too long for the private folder is bound in place instead, then restricted at once.
    let direct = staged.as_os_str().len() > MAX_PATH;
    let at = if direct { path.to_path_buf() } else { staged };
    let listener =
        UnixListener::bind(&at).map_err(|e| fail(format!("cannot listen on {}: {e}", path.display())))?;
    let restrict = || -> std::io::Result<()> {
        std::fs::set_permissions(&at, std::fs::Permissions::from_mode(MODE))?;
        if let Some(gid) = gid {
            std::os::unix::fs::chown(&at, None, Some(gid))?;
        }
        Ok(())
    };
    let restricted =
        restrict().map_err(|e| fail(format!("cannot set the owner or mode of {}: {e}", path.display())));
    let linked = match restricted {
        Ok(()) if !direct => std::fs::hard_link(&at, path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                fail(format!(
                    "a jitdesk service already answers on {}: stop it first, or choose another --socket",
                    path.display()
                ))
            } else {
                fail(format!("cannot create the socket {}: {e}", path.display()))
            }
        }),
        other => other,
    };
    if let Err(e) = linked {
        if direct {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    // The private folder and the staged name go; the socket stays under its own name.
    drop(private);
    let id = std::fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()));
    Ok(Socket { listener: Some(listener), path: path.to_path_buf(), id })
}
