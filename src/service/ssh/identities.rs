//! Who an SSH key or certificate is: the one decision the door asks at authentication, behind one
//! trait so that where keys are recorded (the operator's file, the directory's records) stays out of
//! the door. The operator's keys come first, then the engine's users' keys and tenants' authorities.
//! A key nobody owns is refused before any session opens.

use std::path::Path;

use russh::keys::ssh_key::AuthorizedKeys;
use russh::keys::ssh_key::public::KeyData;
use russh::keys::{Certificate, PublicKey};

use crate::engine::Engine;
use crate::private_file::{self, Rules};

/// Others may read the operator's keys (they are public keys) but only the service's user may
/// write them; a megabyte holds thousands of keys.
const OPERATOR_KEYS: Rules = Rules::shared("operator keys file", 1 << 20);

/// Who a key proved to be: the service's operator (`None`) or a directory user (their UPN), as
/// `identity::Peer::Known` takes it.
pub type Owner = Option<String>;

/// Answers who a verified key or certificate belongs to. A lookup that fails is an error (the
/// client is refused and may try again); a key or certificate that is nobody's is `None` / `Err`.
pub trait SshIdentities: Send + Sync + 'static {
    /// The owner of a plain public key; `None` when the key is nobody's.
    fn user_for_key(&self, key: &PublicKey) -> impl Future<Output = Result<Option<Owner>, String>> + Send;
    /// The directory user an OpenSSH certificate names, or why it names nobody (expired, an
    /// authority no tenant trusts, a principal outside that tenant).
    fn user_for_certificate(
        &self,
        certificate: &Certificate,
    ) -> impl Future<Output = Result<Result<String, String>, String>> + Send;
}

/// The operator's keys, read from an authorized_keys file at start: each is the operator.
#[derive(Debug, Clone, Default)]
pub struct OperatorKeys {
    keys: Vec<KeyData>,
}

impl OperatorKeys {
    /// Reads `path`, which must be a plain file of the service's user that nobody else may write:
    /// whoever can write it becomes the operator.
    pub fn load(path: &Path) -> Result<OperatorKeys, String> {
        let bytes = private_file::read(path, OPERATOR_KEYS).map_err(|e| e.to_string())?;
        let refuse = |why: String| format!("refusing the operator keys {}: {why}", path.display());
        let text = String::from_utf8(bytes).map_err(|_| refuse("it is not text".into()))?;
        OperatorKeys::parse(&text).map_err(refuse)
    }

    /// The keys of an authorized_keys text; a line that is not a key is refused with its number.
    pub fn parse(text: &str) -> Result<OperatorKeys, String> {
        let mut keys = Vec::new();
        for (n, entry) in AuthorizedKeys::new(text).enumerate() {
            let entry = entry.map_err(|e| format!("key {} is not an authorized_keys line ({e})", n + 1))?;
            keys.push(entry.public_key().key_data().clone());
        }
        Ok(OperatorKeys { keys })
    }

    fn holds(&self, key: &PublicKey) -> bool {
        self.keys.iter().any(|k| k == key.key_data())
    }
}

impl SshIdentities for OperatorKeys {
    async fn user_for_key(&self, key: &PublicKey) -> Result<Option<Owner>, String> {
        Ok(self.holds(key).then_some(None))
    }

    async fn user_for_certificate(
        &self,
        _certificate: &Certificate,
    ) -> Result<Result<String, String>, String> {
        Ok(Err("no tenant trusts a certificate authority here".into()))
    }
}

/// The operator's keys, then the directory's: a user's key is that user, and a certificate is the
/// user the engine finds for it. The door is bound before the store opens; this is made once it is.
pub struct Directory {
    operator: OperatorKeys,
    engine: Engine,
}

impl Directory {
    pub fn new(operator: OperatorKeys, engine: Engine) -> Directory {
        Directory { operator, engine }
    }
}

impl SshIdentities for Directory {
    async fn user_for_key(&self, key: &PublicKey) -> Result<Option<Owner>, String> {
        if self.operator.holds(key) {
            return Ok(Some(None));
        }
        let key = same_key(key)?;
        let user = self.engine.user_for_ssh_key(&key).await.map_err(|e| e.to_string())?;
        Ok(user.map(|user| Some(user.upn)))
    }

    async fn user_for_certificate(
        &self,
        certificate: &Certificate,
    ) -> Result<Result<String, String>, String> {
        let certificate = same_certificate(certificate)?;
        let found = self.engine.user_for_ssh_certificate(&certificate).await.map_err(|e| e.to_string())?;
        Ok(found.map(|user| user.upn).map_err(|why| why.to_string()))
    }
}

/// russh's key, as the engine's `ssh-key` has it: russh carries its own copy of that crate, so the
/// two meet through the key's wire bytes.
fn same_key(key: &PublicKey) -> Result<ssh_key::PublicKey, String> {
    let bytes = key.to_bytes().map_err(|e| format!("cannot encode a key: {e}"))?;
    ssh_key::PublicKey::from_bytes(&bytes).map_err(|e| format!("cannot read a key back: {e}"))
}

/// A russh certificate, as the engine's `ssh-key` has it (its wire bytes, as for a key).
fn same_certificate(certificate: &Certificate) -> Result<ssh_key::Certificate, String> {
    let bytes = certificate.to_bytes().map_err(|e| format!("cannot encode a certificate: {e}"))?;
    ssh_key::Certificate::from_bytes(&bytes).map_err(|e| format!("cannot read a certificate back: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const ONE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBTvFtLOZFtqVYuEf0WsQpQ4GR6mR59LEg4eUIeOc5HJ op@host";
    const TWO: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOiR7sLSc1PbJ3GDbtl8C0hLbsKxzZ1MUIvSCejQjyh4";

    #[tokio::test]
    async fn the_files_keys_are_the_operator_and_no_other_key_is_anyone() {
        let keys = OperatorKeys::parse(&format!("# the operator\n{ONE}\n\n")).unwrap();
        let one = PublicKey::from_openssh(ONE).unwrap();
        // The comment is no part of the key.
        let renamed = PublicKey::from_openssh(&ONE.replace("op@host", "someone")).unwrap();
        assert_eq!(keys.user_for_key(&one).await.unwrap(), Some(None));
        assert_eq!(keys.user_for_key(&renamed).await.unwrap(), Some(None));
        let two = PublicKey::from_openssh(TWO).unwrap();
        assert_eq!(keys.user_for_key(&two).await.unwrap(), None);
        let e = OperatorKeys::parse(&format!("{ONE}\nnot a key\n")).unwrap_err();
        assert!(e.contains("key 2"), "{e}");
    }

    #[test]
    fn a_keys_file_others_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, ONE).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(OperatorKeys::load(&path).unwrap().keys.len(), 1);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = OperatorKeys::load(&path).unwrap_err();
        assert!(e.contains("mode 0666") && e.contains("chmod go-w"), "{e}");
    }
}
