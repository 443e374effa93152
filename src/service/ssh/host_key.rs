//! The SSH door's host key: what clients pin to know they reach this service and no other. It is
//! made once, on the first start, beside the store, private from its first byte, and read again on
//! every start after; a key file someone else owns or can read is refused, never used: whoever can
//! read it can pose as the service, whoever chose it can read what clients send.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{HashAlg, PrivateKey};

use crate::private_file::{self, Rules, Why};
use crate::store::files::create_private_temp;

/// A host key is a secret; an ed25519 key in OpenSSH's format is some 400 bytes.
const HOST_KEY: Rules = Rules::secret("SSH host key", 64 * 1024);

/// Where the host key of the service on `store` lives: `<store file>.ssh_host_ed25519_key`; for a
/// PostgreSQL store, which has no folder here, one named from its URL in the folder of the default
/// store (made private if missing).
pub fn path_for(store: &Path) -> PathBuf {
    if let Some(url) = crate::engine::location::database(store) {
        let dir = crate::cli::default_store().with_file_name("");
        // A folder that cannot be made is reported by the key's own creation, naming the path.
        let _ = crate::store::files::create_private_dir(&dir);
        return crate::engine::location::local_file(&dir, url, ".ssh_host_ed25519_key");
    }
    let mut name = store.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "jitdesk".into());
    name.push(".ssh_host_ed25519_key");
    store.with_file_name(name)
}

/// The host key at `path`, made there (ed25519, mode 0600) when nothing is.
pub fn load_or_create(path: &Path) -> Result<PrivateKey, String> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => load(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(format!("cannot look at the SSH host key {}: {e}", path.display())),
    }
}

/// The line to pin (`ssh-ed25519 AAAA...`) and its SHA256 fingerprint.
pub fn public_line(key: &PrivateKey) -> Result<(String, String), String> {
    let public = key.public_key();
    let line =
        public.to_openssh().map_err(|e| format!("cannot write the SSH host key's public half: {e}"))?;
    Ok((line, public.fingerprint(HashAlg::Sha256).to_string()))
}

/// Reads a key file only when it is a plain file of this process's user that nobody else may read
/// or write.
fn load(path: &Path) -> Result<PrivateKey, String> {
    let bytes = private_file::read(path, HOST_KEY).map_err(|e| match e.why {
        // The path is fixed beside the store: removing what is there is the way to a key.
        Why::Link | Why::NotAFile(_) => format!("{e}, or remove it and a new key is made on the next start"),
        _ => e.to_string(),
    })?;
    let refuse = |why: String| format!("refusing the SSH host key {}: {why}", path.display());
    let text = String::from_utf8(bytes).map_err(|_| refuse("it is not text".into()))?;
    PrivateKey::from_openssh(&text).map_err(|e| refuse(format!("it is not an OpenSSH private key ({e})")))
}

/// Makes a new ed25519 key, written to a private temporary file that then takes the name only if
/// nothing took it meanwhile.
fn create(path: &Path) -> Result<PrivateKey, String> {
    let fail = |why: String| format!("cannot make the SSH host key {}: {why}", path.display());
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut r| r.read_exact(&mut seed))
        .map_err(|e| fail(e.to_string()))?;
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    let text = key.to_openssh(LineEnding::LF).map_err(|e| fail(e.to_string()))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (mut file, temp) = create_private_temp(dir, &name).map_err(|e| fail(e.to_string()))?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| fail(e.to_string()))?;
    temp.persist_noclobber(path).map_err(|e| fail(e.error.to_string()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn a_key_is_made_private_once_and_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("j.redb"));
        assert!(path.ends_with("j.redb.ssh_host_ed25519_key"));
        let made = load_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let again = load_or_create(&path).unwrap();
        assert_eq!(public_line(&made).unwrap(), public_line(&again).unwrap());
        let (line, fingerprint) = public_line(&made).unwrap();
        assert!(
            line.starts_with("ssh-ed25519 ") && fingerprint.starts_with("SHA256:"),
            "{line} {fingerprint}"
        );
    }

    #[test]
    fn a_key_others_may_read_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("j.redb"));
        load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load_or_create(&path).unwrap_err();
        assert!(e.contains("mode 0644") && e.contains("chmod 600"), "{e}");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o644);
        let link = path_for(&dir.path().join("k.redb"));
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let e = load_or_create(&link).unwrap_err();
        assert!(e.contains("symbolic link") && e.contains("a new key is made"), "{e}");
    }
}
