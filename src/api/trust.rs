//! Whom the CLI and the dashboard talk to. Whoever answers on the socket receives every command:
//! justifications, reasons, whom the caller acts as; and whatever it answers is believed. A socket
//! path is no proof (another user may have created it first, in a shared folder), so a process
//! on it is sent nothing, not even a health check, unless the kernel says (peer credentials, on
//! our own end of the connection) that it runs as the store file's owner or as the configured
//! service account (`service_user` in config.toml, or `JITDESK_SERVICE_USER`). A process about to
//! serve a store asks the same rule whether its clients would talk to it (`trusted_to_serve`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use tokio::net::UnixStream;

use crate::config::Config;
use crate::os_user::named;

/// Why a process on a socket may not be told anything, or why that cannot be told: one whole
/// sentence for a person, worded the same whichever side asks. The client reports it as trouble
/// with the service; the service, as why it does not serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    /// The config file that may name the service account could not be read.
    #[error("{0}")]
    Config(String),
    /// The process is not the store's owner nor the service account, or who it is cannot be told.
    #[error("{0}")]
    Refused(String),
}

type Result<T> = std::result::Result<T, Untrusted>;

/// The variable that names the service account, ahead of the config file.
const ACCOUNT_VARIABLE: &str = "JITDESK_SERVICE_USER";

/// Ok when clients of `store` would trust this process on `socket` (it runs as the store's owner
/// or as the service account); else why not, in the words a client would use.
pub fn trusted_to_serve(store: &Path, socket: &Path) -> Result<()> {
    Trust::for_store(store)?.vouch(socket, nix::unistd::geteuid().as_raw())
}

/// Who may answer for a store.
#[derive(Debug, Clone)]
pub(crate) struct Trust {
    store: PathBuf,
    /// The configured service account's login, if any.
    account: Option<String>,
}

impl Trust {
    /// The rule for `store`, with the service account from `JITDESK_SERVICE_USER`, else the config.
    pub fn for_store(store: &Path) -> Result<Trust> {
        let account = match std::env::var(ACCOUNT_VARIABLE).ok().filter(|a| !a.trim().is_empty()) {
            Some(account) => Some(account),
            None => Config::user().map_err(Untrusted::Config)?.service_user,
        };
        let account = account.map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
        Ok(Trust { store: store.to_path_buf(), account })
    }

    /// Ok when the process at the other end of `stream` may be told things for our store; else
    /// the one line that says who it is and what to do.
    pub fn check(&self, socket: &Path, stream: &UnixStream) -> Result<()> {
        let peer = stream.peer_cred().map(|c| c.uid()).map_err(|e| {
            Untrusted::Refused(format!(
                "cannot tell who answers on {} ({e}), so nothing was sent to it: try again, or ask the operator",
                socket.display()
            ))
        })?;
        self.vouch(socket, peer)
    }

    /// Ok when a process running as `peer` may answer on `socket` for our store; else the one line
    /// that says who it is and what to do.
    pub fn vouch(&self, socket: &Path, peer: u32) -> Result<()> {
        // A database has no file to own: a service for it is trusted when it runs as whoever asks.
        let owner = match crate::engine::location::database(&self.store) {
            Some(_) => Ok(nix::unistd::geteuid().as_raw()),
            None => std::fs::metadata(&self.store).map(|m| m.uid()),
        };
        if owner.as_ref().is_ok_and(|owner| *owner == peer) {
            return Ok(());
        }
        let account = match &self.account {
            Some(login) => Some((login.as_str(), uid_of(login)?)),
            None => None,
        };
        if account.is_some_and(|(_, uid)| uid == peer) {
            return Ok(());
        }
        let who = format!(
            "the process answering on {} runs as {}, so nothing was sent to it",
            socket.display(),
            named(peer)
        );
        let store = self.store.display();
        Err(Untrusted::Refused(match (owner, account) {
            (Ok(owner), Some((login, uid))) => format!(
                "{who}: it neither owns the store {store} (that is {}) nor is the service account `{login}` (uid {uid}); it may be posing as the service: remove the socket if it is stale and yours, otherwise tell your administrator",
                named(owner)
            ),
            (Ok(owner), None) => format!(
                "{who}: it does not own the store {store} (that is {}); if it is the jitdesk service, run it as the store's owner or name its account with `service_user = \"...\"` in {} (or {ACCOUNT_VARIABLE}); otherwise tell your administrator",
                named(owner),
                config_file()
            ),
            (Err(e), Some((login, uid))) => format!(
                "{who}: you cannot see who owns the store {store} ({e}), and it is not the service account `{login}` (uid {uid}); it may be posing as the service: tell your administrator"
            ),
            (Err(e), None) => format!(
                "{who}: you cannot see who owns the store {store} ({e}), so only a configured service account is trusted and none is: if it is the jitdesk service, set `service_user = \"<its account>\"` in {} (or {ACCOUNT_VARIABLE})",
                config_file()
            ),
        }))
    }
}

/// The uid of the configured service account.
fn uid_of(login: &str) -> Result<u32> {
    match nix::unistd::User::from_name(login) {
        Ok(Some(user)) => Ok(user.uid.as_raw()),
        Ok(None) => Err(Untrusted::Refused(format!(
            "the service account `{}` (service_user in {}, or {ACCOUNT_VARIABLE}) is not a user on this host: name the account `jitdesk serve` runs as",
            crate::domain::text::shown(login),
            config_file()
        ))),
        Err(e) => Err(Untrusted::Refused(format!(
            "cannot look up the service account `{}` ({e}): try again",
            crate::domain::text::shown(login)
        ))),
    }
}

fn config_file() -> String {
    Config::dir().map_or_else(|| "config.toml".to_string(), |d| d.join("config.toml").display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_service_is_trusted_when_it_runs_as_whoever_asks() {
        let trust = Trust { store: PathBuf::from("postgres://jit@db.example.com/jitdesk"), account: None };
        let me = nix::unistd::geteuid().as_raw();
        let socket = Path::new("/run/user/1000/jitdesk-pg-0.sock");
        assert!(trust.vouch(socket, me).is_ok());
        let other = trust.vouch(socket, me.wrapping_add(1)).expect_err("another user's process");
        assert!(
            other.to_string().contains("does not own the store postgres://jit@db.example.com/jitdesk"),
            "{other}"
        );
    }
}
