//! JSON as jitdesk writes it, for `--json` and for every answer of the service alike. serde_json
//! escapes only what JSON requires, so text from other people could still carry C1 controls,
//! line separators, bidi controls or invisible characters to whoever prints the output or pastes it
//! into JavaScript; here each of them (the same set the sanitizer replaces) is written as `\uXXXX`.
//! The value read back is unchanged.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

use crate::domain::text::scan;

/// One line of JSON, for the service's answers and event streams.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    write(value, CompactFormatter)
}

/// Indented JSON, for people and scripts reading the CLI's `--json`.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    write(value, PrettyFormatter::new())
}

fn write<T: Serialize + ?Sized, F: Formatter>(value: &T, formatter: F) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, Escaping(formatter));
    value.serialize(&mut serializer)?;
    // The formatters write only UTF-8 (and ASCII escapes); should that ever change, the error says
    // so instead of printing broken text.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(format!("not UTF-8: {e}")))
}

/// Wraps a formatter, escaping troublesome characters inside strings and leaving layout to it.
struct Escaping<F>(F);

impl<F: Formatter> Formatter for Escaping<F> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        // serde_json hands over the text between its own escapes (quotes, backslashes, C0), which
        // are never combining marks, so a run of marks is never split across two fragments.
        // Printable ASCII, most of what is written, holds nothing to escape.
        if fragment.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut written = 0;
        for (at, c, why) in scan(fragment) {
            if why.is_none() {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[written..at])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            written = at + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[written..])
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    #[test]
    fn troublesome_characters_are_escaped_and_read_back() {
        let text = "a\u{2028}b\u{2029}c\u{85}d\u{202e}e\u{e0041}f\u{fe0f}g\u{200b}h";
        let out = to_string(&json!({ "name": text })).unwrap();
        assert_eq!(out, r#"{"name":"a\u2028b\u2029c\u0085d\u202ee\udb40\udc41f\ufe0fg\u200bh"}"#);
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["name"], text);
    }

    #[test]
    fn long_runs_of_combining_marks_are_escaped_past_the_fourth() {
        let text = format!("e{}", "\u{301}".repeat(6));
        let out = to_string(&text).unwrap();
        assert_eq!(out, format!("\"e{}\\u0301\\u0301\"", "\u{301}".repeat(4)));
    }

    #[test]
    fn pretty_output_keeps_serde_json_layout() {
        let value = json!({ "a": [1, "x\u{2028}"], "b": { "c": null } });
        let ours = to_string_pretty(&value).unwrap();
        let theirs = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(ours, theirs.replace('\u{2028}', "\\u2028"));
        assert_eq!(to_string(&value).unwrap(), value.to_string().replace('\u{2028}', "\\u2028"));
    }

    proptest! {
        #[test]
        fn any_text_reads_back_and_prints_safely(text in any::<String>()) {
            let out = to_string_pretty(&text).unwrap();
            prop_assert!(scan(&out).all(|(_, _, why)| why.is_none()), "{:?}", out);
            let back: String = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(back, text);
        }
    }
}
