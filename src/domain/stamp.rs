//! How a moment is written by serde: as RFC 3339 text for people and JSON (what the API and
//! `--json` show), and as two integers, seconds and nanoseconds since the epoch, for compact
//! binary encodings such as the store's. The two never mix: the format says which it is through
//! `is_human_readable`. Nanoseconds are kept, so a moment read back is the moment written.

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Writes a moment as RFC 3339 text to a human-readable format, as seconds and nanoseconds otherwise.
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        t.serialize(serializer)
    } else {
        (t.timestamp(), t.timestamp_subsec_nanos()).serialize(serializer)
    }
}

/// Reads a moment back in the form `serialize` wrote it; a count outside chrono's range is an error.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    if deserializer.is_human_readable() {
        DateTime::<Utc>::deserialize(deserializer)
    } else {
        let (secs, nanos) = <(i64, u32)>::deserialize(deserializer)?;
        DateTime::from_timestamp(secs, nanos)
            .ok_or_else(|| D::Error::custom(format!("{secs}.{nanos:09} s is not a moment chrono can hold")))
    }
}

/// The same for a moment that may be absent.
pub mod option {
    use super::*;

    /// Carries a moment through `Option`'s own encoding with the adapter above.
    #[derive(Serialize, Deserialize)]
    struct Stamp(#[serde(with = "super")] DateTime<Utc>);

    /// Writes a moment that may be absent; a present one is written as `super::serialize` writes it.
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        t.map(Stamp).serialize(serializer)
    }

    /// Reads back what `serialize` wrote: absent stays absent, a moment stays the same moment.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Ok(Option::<Stamp>::deserialize(deserializer)?.map(|s| s.0))
    }
}
