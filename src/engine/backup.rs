//! A consistent copy of the whole store, for the operator: one read snapshot, taken beside the
//! writer, so nothing waits for it and it holds no half of any change.

use std::fs::File;

use super::Engine;
use super::Result;
use crate::domain::RuleError;
use crate::domain::rules::{self, Actor};

impl Engine {
    /// Writes a copy of the store into `file` (new and empty), durable when this returns. A
    /// PostgreSQL store is backed up by PostgreSQL's own tools, or copied into a redb file.
    pub async fn backup(&self, actor: &Actor, file: File) -> Result<()> {
        rules::may_back_up(actor)?;
        if super::location::database(self.path()).is_some() {
            return Err(RuleError::invalid(
                "a PostgreSQL store is backed up with pg_dump (and restored with pg_restore), or copied into a redb file with `jitdesk store copy --from URL --to FILE`",
            )
            .into());
        }
        let storage = self.inner.storage.clone();
        super::blocking(move || storage.copy_into(file)).await
    }
}
