//! Records are stored as JSON bytes and decoded here, so a damaged record becomes an error naming
//! where it is instead of a panic inside redb's `Value::from_bytes`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Error, Result};

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Storage(format!("cannot encode a record: {e}")))
}

pub fn decode<T: DeserializeOwned>(table: &str, key: &dyn std::fmt::Display, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Damaged(format!("record {key} in table {table}: {e}")))
}
