//! Records are stored in postcard's compact binary encoding (moments and periods as integers, see
//! `domain::stamp`) and decoded here, so a damaged record becomes an error naming where it is
//! instead of a panic inside redb's `Value::from_bytes`. Stores before schema 3 kept JSON, which
//! only their migration reads.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Error, Result};

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|e| Error::Storage(format!("cannot encode a record: {e}")))
}

pub fn decode<T: DeserializeOwned>(table: &str, key: &dyn std::fmt::Display, bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::Damaged(format!("record {key} in table {table}: {e}")))
}

/// A record as schemas 1 and 2 stored it.
pub fn decode_json<T: DeserializeOwned>(table: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Damaged(format!("a record in table {table}: {e}")))
}
