//! How serde writes text that the engine itself writes again and again in every request's records
//! (state names, `system`, its own reasons): to compact binary encodings such as the store's, as
//! one reserved character that stands for it, and as itself to human-readable formats (JSON, the
//! API). The reserved characters are control characters, which the rules refuse in any text that
//! comes through a door, so no text a person wrote is ever read back as another; and text stored
//! before this encoding existed reads back as it was written.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The texts that have a character of their own: the one at index `i` is written as the
/// character `FIRST + i`. What a record stored is read back through this list, so its order never
/// changes and it only grows at the end (and never past `\u{1F}`).
const KNOWN: [&str; 13] = [
    "system",
    "Pending",
    "Approved",
    "Denied",
    "Canceled",
    "Expired",
    "Timeout",
    "Revoked",
    "automatic approval mode",
    "policy changed: approval is now automatic",
    "no decision before the request timeout",
    "the access duration is over",
    "canceled by the requester",
];

/// The character of `KNOWN[0]`.
const FIRST: u32 = 1;

/// Writes a known text as its character to a compact format, any other text as itself.
pub fn serialize<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    let known = KNOWN.iter().position(|k| *k == text).filter(|_| !serializer.is_human_readable());
    match known.and_then(|i| char::from_u32(FIRST + i as u32)) {
        Some(c) => serializer.serialize_char(c),
        None => serializer.serialize_str(text),
    }
}

/// Reads back what `serialize` wrote: a known text's character as that text.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let compact = !deserializer.is_human_readable();
    let text = String::deserialize(deserializer)?;
    Ok(if compact { expand(text) } else { text })
}

/// The text a lone reserved character stands for; any other text as it is.
fn expand(text: String) -> String {
    let mut chars = text.chars();
    let known = match (chars.next(), chars.next()) {
        (Some(c), None) => (c as u32).checked_sub(FIRST).and_then(|i| KNOWN.get(i as usize)),
        _ => None,
    };
    known.map_or(text, |k| k.to_string())
}

/// The same for text that may be absent.
pub mod option {
    use super::*;

    /// Carries a text through `Option`'s own encoding with the adapter above.
    #[derive(Serialize, Deserialize)]
    struct Known(#[serde(with = "super")] String);

    /// Writes a text that may be absent; a present one is written as `super::serialize` writes it.
    pub fn serialize<S: Serializer>(text: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
        text.clone().map(Known).serialize(serializer)
    }

    /// Reads back what `serialize` wrote: absent stays absent, a text stays the same text.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        Ok(Option::<Known>::deserialize(deserializer)?.map(|k| k.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RequestState;
    use crate::domain::model::SYSTEM;
    use crate::domain::rules::{AUTO_APPROVAL_REASON, POLICY_AUTO_REASON};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Record {
        #[serde(with = "super")]
        text: String,
        #[serde(with = "super::option")]
        maybe: Option<String>,
    }

    #[derive(Serialize)]
    struct Plain {
        text: String,
        maybe: Option<String>,
    }

    fn record(text: &str, maybe: Option<&str>) -> Record {
        Record { text: text.to_string(), maybe: maybe.map(str::to_string) }
    }

    #[test]
    fn known_texts_take_one_character_and_read_back_as_themselves() {
        let states = RequestState::ALL.map(RequestState::name);
        for text in [SYSTEM, AUTO_APPROVAL_REASON, POLICY_AUTO_REASON].into_iter().chain(states) {
            let r = record(text, Some(text));
            let bytes = postcard::to_stdvec(&r).unwrap();
            // One byte of length and one character for the text; the same after `Some`'s byte.
            assert_eq!(bytes.len(), 2 + 3, "{text}: {bytes:?}");
            assert_eq!(postcard::from_bytes::<Record>(&bytes).unwrap(), r);
        }
    }

    #[test]
    fn other_texts_are_stored_as_they_are_and_people_see_every_text_whole() {
        for r in
            [record("alice@contoso.com", None), record("Pending ", Some("approved")), record("", Some(""))]
        {
            let plain = Plain { text: r.text.clone(), maybe: r.maybe.clone() };
            let bytes = postcard::to_stdvec(&r).unwrap();
            assert_eq!(bytes, postcard::to_stdvec(&plain).unwrap(), "{r:?}");
            assert_eq!(postcard::from_bytes::<Record>(&bytes).unwrap(), r);
        }
        let known = record("Approved", Some("system"));
        let json = serde_json::to_string(&known).unwrap();
        assert_eq!(json, r#"{"text":"Approved","maybe":"system"}"#);
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), known);
    }

    #[test]
    fn a_known_text_stored_before_this_encoding_reads_back_the_same() {
        let plain = Plain { text: "Expired".into(), maybe: Some("the access duration is over".into()) };
        let bytes = postcard::to_stdvec(&plain).unwrap();
        let read = postcard::from_bytes::<Record>(&bytes).unwrap();
        assert_eq!(read, record("Expired", Some("the access duration is over")));
    }
}
