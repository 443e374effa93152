//! `jitdesk backup FILE`: the copy is made by the engine, in this process or in the service (which
//! streams it), and written here into a private file beside FILE that takes FILE's name only once
//! it is whole. An existing FILE is never overwritten, and a broken transfer leaves nothing.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

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
        if std::fs::symlink_metadata(to).is_ok() {
            return Err(exists(to));
        }
        let mut partial = beside(to).map_err(|e| write_error(to, e))?;
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
                // The service may take up to its own limit to make the copy, and a margin to say so.
                let making = BACKUP_TIMEOUT + CALL_TIMEOUT;
                let cut = "the backup part way; nothing was kept: try again";
                client.download(paths::BACKUP, as_user, making, cut, file, &|e| write_error(to, e)).await?;
            }
        }
        file.sync_all().map_err(|e| write_error(to, e))?;
        let size = file.metadata().map_err(|e| write_error(to, e))?.len();
        // A link, not a rename: a file that appeared under the name meanwhile stays.
        partial.persist_noclobber(to).map_err(|e| match e.error.kind() {
            std::io::ErrorKind::AlreadyExists => exists(to),
            _ => write_error(to, e.error),
        })?;
        sync_folder(to).map_err(|e| write_error(to, e))?;
        Ok(size)
    }
}

/// A new private (0600) file in `to`'s folder, with a name nobody can guess: what is written
/// takes `to`'s name only once it is whole.
pub(super) fn beside(to: &Path) -> std::io::Result<NamedTempFile> {
    let name = to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".partial").tempfile_in(folder_of(to))
}

/// Makes a new name in `to`'s folder durable: a name is only once its folder is.
pub(super) fn sync_folder(to: &Path) -> std::io::Result<()> {
    File::open(folder_of(to)).and_then(|f| f.sync_all())
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
    /// GETs `path` and writes the answer's body into `to` as it arrives: waits `making` for the
    /// answer to start, then no longer than `CALL_TIMEOUT` through any silence, since the whole
    /// transfer grows with the store. Fails unless the body ends whole and holds every byte the
    /// service announced, if it did (`cut` says what was cut short); `unwritable` words a failed
    /// write. The bytes written.
    pub(super) async fn download(
        &self,
        path: &str,
        as_user: Option<&str>,
        making: Duration,
        cut: &str,
        to: &mut dyn Write,
        unwritable: &dyn Fn(std::io::Error) -> Error,
    ) -> Result<u64> {
        let asked = async {
            let (mut sender, at) = self.connect().await?;
            let response = sender
                .send_request(self.request(at, Method::GET, path, as_user, None)?)
                .await
                .map_err(|e| self.lost(at, &e, &Method::GET))?;
            Ok::<_, Error>((response, at))
        };
        let (response, at) =
            tokio::time::timeout(making, asked).await.map_err(|_| self.no_answer(making, &Method::GET))??;
        let status = response.status();
        let announced = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut body = response.into_body();
        if !status.is_success() {
            let bytes = body.collect().await.map_err(|e| self.lost(at, &e, &Method::GET))?.to_bytes();
            return Err(failure(&self.place_of(at), status, &bytes));
        }
        let stopped =
            || Error::Service(format!("the jitdesk service on {} stopped sending {cut}", self.place()));
        let mut received = 0u64;
        loop {
            let frame = tokio::time::timeout(CALL_TIMEOUT, body.frame())
                .await
                .map_err(|_| self.no_answer(CALL_TIMEOUT, &Method::GET))?;
            let Some(frame) = frame else { break };
            if let Ok(data) = frame.map_err(|_| stopped())?.into_data() {
                to.write_all(&data).map_err(unwritable)?;
                received += data.len() as u64;
            }
        }
        if announced.is_some_and(|n| n != received) {
            return Err(stopped());
        }
        Ok(received)
    }
}
