//! A consistent copy of the whole store, for the operator: one read snapshot, taken beside the
//! writer, so nothing waits for it and it holds no half of any change.

use std::fs::File;

use super::Engine;
use super::Result;
use crate::domain::rules::{self, Actor};

impl Engine {
    /// Writes a copy of the store into `file` (new and empty), durable when this returns.
    pub async fn backup(&self, actor: &Actor, file: File) -> Result<()> {
        rules::may_back_up(actor)?;
        let storage = self.inner.storage.clone();
        super::blocking(move || storage.copy_into(file)).await
    }
}
