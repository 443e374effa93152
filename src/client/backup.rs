//! `jitdesk backup FILE`: the copy is made by the engine, in this process or in the service (which
//! streams it), and written here into a private file beside FILE that takes FILE's name only once
//! it is whole. An existing FILE is never overwritten, and a broken transfer leaves nothing.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use http_body_util::BodyExt;
use hyper::Method;
use hyper::header::CONTENT_LENGTH;
use tempfile::NamedTempFile;

use super::{Backend, CALL_TIMEOUT, Client, failure};
use super::{Error, Result};
use crate::api::limits::BACKUP_TIMEOUT;
use crate::api::paths;
use crate::domain::RuleError;
use crate::domain::rules::Actor;
use crate::engine::StoreError;

impl Backend {
    /// Writes a backup of the store to the new file `to`, created 0600; its size in bytes. Through
    /// a service the caller must be its operator (the service decides who that is).
    pub async fn backup(&self, actor: &Actor, to: &Path) -> Result<u64> {
        let mut partial = beside(to)?;
        let file = partial.as_file_mut();
        match self {
            Backend::Local(engine) => {
                let copy = file.try_clone().map_err(|e| write_error(to, e))?;
                engine.backup(actor, copy).await?;
            }
            Backend::Remote(client) => {
                let as_user = match actor {
                    Actor::User(upn) => Some(upn.as_str()),
                    Actor::Operator(_) => None,
                };
                client.download(paths::BACKUP, as_user, file, to).await?;
            }
        }
        file.sync_all().map_err(|e| write_error(to, e))?;
        let size = file.metadata().map_err(|e| write_error(to, e))?.len();
        // A link, not a rename: a file that appeared under the name meanwhile stays.
        partial.persist_noclobber(to).map_err(|e| match e.error.kind() {
            std::io::ErrorKind::AlreadyExists => exists(to),
            _ => write_error(to, e.error),
        })?;
        // The new name is durable only once its folder is.
        File::open(folder_of(to)).and_then(|f| f.sync_all()).map_err(|e| write_error(to, e))?;
        Ok(size)
    }
}

/// A new private (0600) file in `to`'s folder, with a name nobody can guess.
fn beside(to: &Path) -> Result<NamedTempFile> {
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(exists(to));
    }
    let name = to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempfile_in(folder_of(to))
        .map_err(|e| write_error(to, e))
}

fn folder_of(to: &Path) -> &Path {
    to.parent().filter(|f| !f.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn exists(to: &Path) -> Error {
    Error::from(RuleError::conflict(format!(
        "{} already exists: a backup never overwrites a file, so name a new one",
        to.display()
    )))
}

fn write_error(to: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => StoreError::DiskFull.into(),
        _ => Error::from(RuleError::invalid(format!(
            "cannot write the backup to {}: {e}; nothing was kept",
            to.display()
        ))),
    }
}

impl Client {
    /// GETs `path` and writes the answer's body into `to` (for `named`) as it arrives; fails
    /// unless every byte the service announced arrived.
    async fn download(&self, path: &str, as_user: Option<&str>, to: &mut File, named: &Path) -> Result<()> {
        let asked = async {
            let mut sender = self.connect().await?;
            sender
                .send_request(self.request(Method::GET, path, as_user, None)?)
                .await
                .map_err(|e| self.lost(&e))
        };
        // The service may take up to its own limit to make the copy, and a margin to say so.
        let making = BACKUP_TIMEOUT + CALL_TIMEOUT;
        let response = tokio::time::timeout(making, asked).await.map_err(|_| self.no_answer(making))??;
        let status = response.status();
        let announced = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut body = response.into_body();
        if !status.is_success() {
            let bytes = body.collect().await.map_err(|e| self.lost(&e))?.to_bytes();
            return Err(failure(self.place(), status, &bytes));
        }
        let mut received = 0u64;
        // No limit on the whole transfer, which grows with the store; only on each silence.
        loop {
            let frame = tokio::time::timeout(CALL_TIMEOUT, body.frame())
                .await
                .map_err(|_| self.no_answer(CALL_TIMEOUT))?;
            let Some(frame) = frame else { break };
            if let Ok(data) = frame.map_err(|e| self.lost(&e))?.into_data() {
                to.write_all(&data).map_err(|e| write_error(named, e))?;
                received += data.len() as u64;
            }
        }
        if announced.is_some_and(|n| n != received) {
            return Err(Error::Service(format!(
                "the jitdesk service on {} stopped sending the backup part way; nothing was kept: try again",
                self.place()
            )));
        }
        Ok(())
    }
}
