//! `jitdesk export`: the pages of an export, made by the engine in this process or by the service
//! (whose answer's chunks are written as they arrive), to the caller's output or to a new private
//! file that takes its name only once it is whole. Neither side ever holds the whole export.

use std::io::Write;
use std::path::Path;

use super::backend::as_header;
use super::backup::{beside, sync_folder};
use super::{Backend, CALL_TIMEOUT, Client, Error, Result};
use crate::api::paths::{self, encode};
use crate::domain::RuleError;
use crate::engine::{StoreError, Viewer};
use crate::export::{Export, Pages};

impl Backend {
    /// Writes the export, as the viewer may see it, to `out` a page at a time; the bytes written.
    pub async fn export(&self, viewer: &Viewer, export: &Export, out: &mut dyn Write) -> Result<u64> {
        let unwritable = |e: std::io::Error| write_error("the output", e);
        match self {
            Backend::Local(engine) => {
                let mut pages = Pages::new(engine.clone(), viewer.clone(), export.clone());
                let mut written = 0;
                while let Some(chunk) = pages.next_chunk().await? {
                    out.write_all(&chunk).map_err(unwritable)?;
                    written += chunk.len() as u64;
                }
                Ok(written)
            }
            Backend::Remote(client) => client.export(as_header(viewer), export, out, &unwritable).await,
        }
    }

    /// Writes the export into the file `to`, created 0600, which replaces an existing one only
    /// when `replace` says so; the bytes written. A failed export leaves no file behind.
    pub async fn export_to(&self, viewer: &Viewer, export: &Export, to: &Path, replace: bool) -> Result<u64> {
        let named = to.display().to_string();
        let unwritable = |e: std::io::Error| write_error(&named, e);
        if !replace && std::fs::symlink_metadata(to).is_ok() {
            return Err(exists(to));
        }
        let mut partial = beside(to).map_err(unwritable)?;
        let written = self.export(viewer, export, partial.as_file_mut()).await?;
        partial.as_file().sync_all().map_err(unwritable)?;
        let kept = if replace { partial.persist(to) } else { partial.persist_noclobber(to) };
        kept.map_err(|e| match e.error.kind() {
            std::io::ErrorKind::AlreadyExists => exists(to),
            _ => unwritable(e.error),
        })?;
        sync_folder(to).map_err(unwritable)?;
        Ok(written)
    }
}

impl Client {
    /// `GET` of the export's route, its body written to `out` as it arrives.
    async fn export(
        &self,
        as_user: Option<&str>,
        export: &Export,
        out: &mut dyn Write,
        unwritable: &dyn Fn(std::io::Error) -> Error,
    ) -> Result<u64> {
        let mut query = vec![format!("format={}", export.format.name())];
        let bound = |t: chrono::DateTime<chrono::Utc>| encode(&t.to_rfc3339());
        query.extend(export.window.since.map(|t| format!("since={}", bound(t))));
        query.extend(export.window.until.map(|t| format!("until={}", bound(t))));
        query.extend(export.app.as_deref().map(|app| format!("app={}", encode(app))));
        let path = format!("{}?{}", paths::export(export.kind.name()), query.join("&"));
        let cut = "the export part way; what was written is incomplete: export again";
        self.download(&path, as_user, CALL_TIMEOUT, cut, out, unwritable).await
    }
}

fn exists(to: &Path) -> Error {
    Error::from(RuleError::conflict(format!(
        "{} already exists: name a new file, or replace it (--force)",
        to.display()
    )))
}

fn write_error(to: &str, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => StoreError::DiskFull.into(),
        _ => Error::Local(format!("cannot write the export to {to}: {e}")),
    }
}
