//! Text that other people wrote (justifications, display names, ticket numbers, identifiers) ends up on
//! somebody else's terminal. Anything that could steer that terminal or hide what is really written is
//! either refused on the way in or made visible on the way out.

use std::borrow::Cow;

use super::error::{RuleError, RuleResult};

/// Longest justification, reason or ticket text accepted.
pub const MAX_TEXT: usize = 2000;
/// Longest display name accepted.
pub const MAX_NAME_TEXT: usize = 256;

const MAX_ID: usize = 64;
const MAX_UPN: usize = 254;
/// Error messages quote what people typed, but a whole pasted document would bury the message.
const MAX_SHOWN: usize = 64;

/// More combining marks than this in a row are trouble: every script's accents fit, while dozens
/// stack over the neighbouring lines ("Zalgo" text) and hide what is written there.
const MAX_MARKS: usize = 4;

/// Why a character must not reach a terminal as is, in words a person understands; `None` when it
/// is harmless on its own.
fn trouble(c: char) -> Option<&'static str> {
    match c {
        // C1 controls: U+009B alone is a CSI on many terminals, so these are as dangerous as ESC.
        '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' => Some("a control character"),
        // Bidi controls can make `evil` display as `live`.
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
            Some("a text-direction control")
        }
        // Terminals ignore them, but JavaScript and many editors break lines there.
        '\u{2028}' | '\u{2029}' => Some("a line or paragraph separator"),
        // Invisible ones make two different names look identical, or smuggle text nobody sees:
        // soft hyphen, combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian
        // selectors and vowel separator, zero-width spaces and joiners, word joiner and invisible
        // operators, variation selectors, byte order mark, interlinear annotations, shorthand and
        // musical format controls, tags.
        '\u{00AD}'
        | '\u{034F}'
        | '\u{115F}'
        | '\u{1160}'
        | '\u{17B4}'
        | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200D}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}' => Some("an invisible character"),
        _ => None,
    }
}

/// The visible stand-in for a character that is trouble.
fn placeholder(c: char) -> char {
    match c {
        // The Control Pictures block lays out one picture per C0 code, in order, so the picture says
        // exactly which control was there.
        '\u{0}'..='\u{1F}' => char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{FFFD}'),
        '\u{7F}' => '\u{2421}',
        _ => '\u{FFFD}',
    }
}

/// A character drawn on top of the one before it rather than beside it.
fn is_mark(c: char) -> bool {
    unicode_width::UnicodeWidthChar::width(c) == Some(0)
}

/// Each character of `s` with its byte offset and what is wrong with it, if anything: its own kind of
/// trouble, or being one combining mark too many in a row.
pub(crate) fn scan(s: &str) -> impl Iterator<Item = (usize, char, Option<&'static str>)> + '_ {
    let mut marks = 0;
    s.char_indices().map(move |(at, c)| {
        let mut why = trouble(c);
        marks = if why.is_none() && is_mark(c) { marks + 1 } else { 0 };
        if marks > MAX_MARKS {
            why = Some("a combining mark after 4 others in a row");
        }
        (at, c, why)
    })
}

/// Makes untrusted text safe to print: every control, text-direction, line-breaking or invisible
/// character, and every combining mark past the fourth in a row, becomes a visible placeholder
/// (control pictures such as `␛` for C0 and DEL, `�` for the rest). Each character maps to exactly
/// one character, so lengths and positions are kept.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    // Most text is clean; looking before allocating keeps the common case free. Printable ASCII
    // is never trouble nor a mark, and a byte test is far cheaper than a look at each character.
    if s.bytes().all(|b| (b' '..=b'~').contains(&b)) || scan(s).all(|(_, _, why)| why.is_none()) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(scan(s).map(|(_, c, why)| if why.is_some() { placeholder(c) } else { c }).collect())
}

/// Quotes untrusted text inside an error message: sanitized, and cut short with `…` when long.
pub(crate) fn shown(value: &str) -> String {
    let clean = sanitize(value);
    match clean.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean.into_owned(),
    }
}

fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// Checks free text such as a justification, a reason, a display name or a ticket, and returns it with
/// surrounding whitespace trimmed.
pub fn check_text(field: &str, value: &str, max_chars: usize) -> RuleResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(RuleError::invalid(format!(
            "{field} is required: give it as plain one-line text of at most {max_chars} characters"
        )));
    }
    let length = trimmed.chars().count();
    if length > max_chars {
        return Err(RuleError::invalid(format!(
            "{field} is too long: it has {length} characters and the limit is {max_chars}, so shorten it"
        )));
    }
    // Refusing rather than sanitizing keeps what is stored identical to what the author meant.
    let found =
        scan(trimmed).enumerate().find_map(|(position, (_, c, why))| why.map(|why| (position, c, why)));
    if let Some((position, bad, why)) = found {
        return Err(RuleError::invalid(format!(
            "{field} contains {} ({why}) at character {}: use plain one-line text",
            code_point(bad),
            position + 1
        )));
    }
    Ok(trimmed.to_owned())
}

/// Checks an identifier such as a tenant id, offer id, application name, resource group name or OS
/// login name: 1 to 64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit.
pub fn check_id(field: &str, value: &str) -> RuleResult<String> {
    // Identifiers are compared byte for byte as keys, so nothing is trimmed or folded here.
    if value.is_empty() {
        return Err(RuleError::invalid(format!(
            "{field} is required: use 1 to {MAX_ID} ASCII letters, digits, `.`, `_` or `-`"
        )));
    }
    let length = value.chars().count();
    if length > MAX_ID {
        return Err(RuleError::invalid(format!(
            "{field} `{}` is too long: it has {length} characters and the limit is {MAX_ID}",
            shown(value)
        )));
    }
    if let Some(bad) = value.chars().find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(RuleError::invalid(format!(
            "{field} `{}` contains `{}` ({}): use only ASCII letters, digits, `.`, `_` and `-`",
            shown(value),
            shown(&bad.to_string()),
            code_point(bad)
        )));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(RuleError::invalid(format!(
            "{field} `{}` must start with an ASCII letter or digit, not `.`, `_` or `-`",
            shown(value)
        )));
    }
    Ok(value.to_owned())
}

/// Checks a user principal name such as `alice@contoso.com` and returns it lowercased, because
/// directories compare UPNs case-insensitively and one person must not become two.
pub fn check_upn(value: &str) -> RuleResult<String> {
    let refuse = |reason: String| {
        RuleError::invalid(format!(
            "`{}` is not a user principal name: {reason}; give one like alice@contoso.com",
            shown(value)
        ))
    };
    if value.is_empty() {
        return Err(RuleError::invalid("a user principal name is required: give one like alice@contoso.com"));
    }
    let length = value.chars().count();
    if length > MAX_UPN {
        return Err(refuse(format!("it has {length} characters and the limit is {MAX_UPN}")));
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Err(refuse("it has no `@`".to_owned()));
    };
    if domain.contains('@') {
        return Err(refuse("it has more than one `@`".to_owned()));
    }
    if local.is_empty() {
        return Err(refuse("the part before the `@` is empty".to_owned()));
    }
    if let Some(bad) = local.chars().find(|&c| !(c.is_ascii_alphanumeric() || "._%+-'".contains(c))) {
        return Err(refuse(format!(
            "`{}` ({}) is not allowed before the `@`, only ASCII letters, digits and . _ % + - '",
            shown(&bad.to_string()),
            code_point(bad)
        )));
    }
    if domain.is_empty() {
        return Err(refuse("the domain after the `@` is empty".to_owned()));
    }
    if !domain.contains('.') {
        return Err(refuse(format!("the domain `{}` needs at least one dot", shown(domain))));
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(refuse(format!("the domain `{}` has an empty part between dots", shown(domain))));
        }
        if let Some(bad) = label.chars().find(|&c| !(c.is_ascii_alphanumeric() || c == '-')) {
            return Err(refuse(format!(
                "`{}` ({}) is not allowed in the domain, only ASCII letters, digits, `-` and dots",
                shown(&bad.to_string()),
                code_point(bad)
            )));
        }
        // DNS host names never begin or end a label with a hyphen, so such a domain cannot be real.
        if label.starts_with('-') || label.ends_with('-') {
            return Err(refuse(format!("the domain part `{}` starts or ends with `-`", shown(label))));
        }
    }
    Ok(value.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::ErrorKind;
    use proptest::prelude::*;

    fn message(result: RuleResult<String>) -> String {
        let error = result.expect_err("expected a refusal");
        assert_eq!(error.kind, ErrorKind::Invalid);
        error.message
    }

    // ---- sanitize ----

    #[test]
    fn clean_text_is_borrowed_unchanged() {
        let input = "Need access for INC-1234 — café ☕ naïve 日本語";
        let out = sanitize(input);
        assert!(matches!(out, Cow::Borrowed(_)));
        assert_eq!(out, input);
        assert!(matches!(sanitize(""), Cow::Borrowed("")));
    }

    #[test]
    fn osc_title_sequence_is_defused() {
        let out = sanitize("\x1b]0;pwned\x07rest");
        assert!(matches!(out, Cow::Owned(_)));
        assert_eq!(out, "␛]0;pwned␇rest");
    }

    #[test]
    fn csi_clear_screen_is_defused() {
        assert_eq!(sanitize("a\x1b[2Jb"), "a␛[2Jb");
    }

    #[test]
    fn raw_c1_csi_is_replaced() {
        assert_eq!(sanitize("\u{9b}2J"), "\u{FFFD}2J");
        assert_eq!(sanitize("\u{80}\u{85}\u{9f}"), "\u{FFFD}\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn every_c0_control_maps_to_its_picture() {
        assert_eq!(sanitize("\0"), "␀");
        assert_eq!(sanitize("\t"), "␉");
        assert_eq!(sanitize("\n"), "␊");
        assert_eq!(sanitize("\r"), "␍");
        assert_eq!(sanitize("\x1f"), "␟");
        assert_eq!(sanitize("\x7f"), "␡");
        for code in 0u32..0x20 {
            let c = char::from_u32(code).expect("valid");
            let expected = char::from_u32(0x2400 + code).expect("valid").to_string();
            assert_eq!(sanitize(&c.to_string()), expected, "code {code:#x}");
        }
    }

    #[test]
    fn bidi_override_in_a_name_is_replaced() {
        // "Bob\u{202E}gpj.exe" would display as "Bobexe.jpg".
        assert_eq!(sanitize("Bob\u{202E}gpj.exe"), "Bob\u{FFFD}gpj.exe");
        for c in ['\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202D}', '\u{2066}', '\u{2069}'] {
            assert_eq!(sanitize(&format!("x{c}y")), "x\u{FFFD}y", "{c:?}");
        }
    }

    #[test]
    fn invisible_characters_are_replaced() {
        for c in ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}'] {
            assert_eq!(sanitize(&format!("ad{c}min")), "ad\u{FFFD}min", "{c:?}");
        }
    }

    #[test]
    fn neighbours_of_the_replaced_ranges_are_kept() {
        let input =
            " ~\u{A0}\u{A1}\u{2010}\u{2027}\u{202F}\u{2070}\u{3163}\u{FDFF}\u{FE10}\u{FFF8}\u{FFFD}\u{E0080}";
        assert!(matches!(sanitize(input), Cow::Borrowed(_)));
    }

    /// One character of each kind the checks refuse and the sanitizer replaces, with its description.
    const TROUBLE: &[(char, &str)] = &[
        ('\u{2028}', "a line or paragraph separator"),
        ('\u{2029}', "a line or paragraph separator"),
        ('\u{E0000}', "an invisible character"),
        ('\u{E0041}', "an invisible character"),
        ('\u{E007F}', "an invisible character"),
        ('\u{115F}', "an invisible character"),
        ('\u{1160}', "an invisible character"),
        ('\u{3164}', "an invisible character"),
        ('\u{FFA0}', "an invisible character"),
        ('\u{180E}', "an invisible character"),
        ('\u{2060}', "an invisible character"),
        ('\u{2063}', "an invisible character"),
        ('\u{206F}', "an invisible character"),
        ('\u{FE00}', "an invisible character"),
        ('\u{FE0F}', "an invisible character"),
        ('\u{E0100}', "an invisible character"),
        ('\u{E01EF}', "an invisible character"),
        ('\u{034F}', "an invisible character"),
        ('\u{FFF9}', "an invisible character"),
        ('\u{FFFB}', "an invisible character"),
        ('\u{2067}', "a text-direction control"),
    ];

    #[test]
    fn the_whole_class_of_invisible_and_line_breaking_characters_is_replaced() {
        for &(c, _) in TROUBLE {
            assert_eq!(sanitize(&format!("ad{c}min")), "ad\u{FFFD}min", "{c:?}");
        }
    }

    #[test]
    fn the_whole_class_is_refused_at_input_naming_it() {
        for &(c, what) in TROUBLE {
            assert_eq!(
                message(check_text("justification", &format!("ok{c}x"), MAX_TEXT)),
                format!(
                    "justification contains U+{:04X} ({what}) at character 3: use plain one-line text",
                    u32::from(c)
                ),
            );
            assert!(check_id("tenant id", &format!("a{c}")).is_err(), "{c:?}");
            assert!(check_upn(&format!("a{c}@contoso.com")).is_err(), "{c:?}");
        }
    }

    #[test]
    fn combining_marks_are_kept_up_to_four_in_a_row() {
        let four = format!("e{}", "\u{301}\u{302}\u{303}\u{304}");
        assert!(matches!(sanitize(&four), Cow::Borrowed(_)));
        assert_eq!(check_text("reason", &four, MAX_TEXT), Ok(four.clone()));
        // Vietnamese and Devanagari stay as written.
        for text in ["Nguye\u{302}\u{303}n", "नमस्ते", "ញ\u{17D2}\u{1789}"] {
            assert_eq!(check_text("display name", text, MAX_NAME_TEXT), Ok(text.to_owned()), "{text}");
        }
        let zalgo = format!("a{}b{}", "\u{301}".repeat(7), "\u{300}".repeat(3));
        assert_eq!(
            sanitize(&zalgo),
            format!("a{}{}b{}", "\u{301}".repeat(4), "\u{FFFD}".repeat(3), "\u{300}".repeat(3))
        );
        assert_eq!(
            message(check_text("display name", &zalgo, MAX_NAME_TEXT)),
            "display name contains U+0301 (a combining mark after 4 others in a row) at character 6: use plain one-line text"
        );
    }

    #[test]
    fn shown_cuts_long_values() {
        let long = "a".repeat(100);
        assert_eq!(shown(&long), format!("{}…", "a".repeat(64)));
        assert_eq!(shown(&"a".repeat(64)), "a".repeat(64));
        assert_eq!(shown("x\x1by"), "x␛y");
    }

    // ---- check_text ----

    #[test]
    fn check_text_trims_and_accepts() {
        assert_eq!(check_text("justification", "  fix INC-42 \n", MAX_TEXT), Ok("fix INC-42".to_owned()));
        assert_eq!(check_text("reason", "日本語", 3), Ok("日本語".to_owned()));
    }

    #[test]
    fn check_text_refuses_empty() {
        assert_eq!(
            message(check_text("justification", " \t\n ", MAX_TEXT)),
            "justification is required: give it as plain one-line text of at most 2000 characters"
        );
        assert_eq!(
            message(check_text("display name", "", MAX_NAME_TEXT)),
            "display name is required: give it as plain one-line text of at most 256 characters"
        );
    }

    #[test]
    fn check_text_counts_characters_not_bytes() {
        assert_eq!(
            message(check_text("reason", "日本語!", 3)),
            "reason is too long: it has 4 characters and the limit is 3, so shorten it"
        );
        let exact = "é".repeat(MAX_NAME_TEXT);
        assert_eq!(check_text("display name", &exact, MAX_NAME_TEXT), Ok(exact.clone()));
        assert!(check_text("display name", &format!("{exact}é"), MAX_NAME_TEXT).is_err());
    }

    #[test]
    fn check_text_refuses_controls_naming_the_code_point() {
        assert_eq!(
            message(check_text("justification", "ok\x1b]0;pwned\x07", MAX_TEXT)),
            "justification contains U+001B (a control character) at character 3: use plain one-line text"
        );
        assert_eq!(
            message(check_text("reason", "line one\nline two", MAX_TEXT)),
            "reason contains U+000A (a control character) at character 9: use plain one-line text"
        );
        assert_eq!(
            message(check_text("display name", "Bob\u{202E}gpj.exe", MAX_NAME_TEXT)),
            "display name contains U+202E (a text-direction control) at character 4: use plain one-line text"
        );
        assert_eq!(
            message(check_text("ticket", "INC\u{200B}1", MAX_TEXT)),
            "ticket contains U+200B (an invisible character) at character 4: use plain one-line text"
        );
        assert_eq!(
            message(check_text("ticket", "x\u{9b}2J", MAX_TEXT)),
            "ticket contains U+009B (a control character) at character 2: use plain one-line text"
        );
        assert!(check_text("ticket", "a\x7fb", MAX_TEXT).is_err());
    }

    // ---- check_id ----

    #[test]
    fn check_id_accepts_valid_identifiers() {
        for id in ["contoso", "a", "0", "rg-prod_01.east", "9a", "A.B-C_D", &"x".repeat(64)] {
            assert_eq!(check_id("tenant id", id), Ok(id.to_owned()));
        }
    }

    #[test]
    fn check_id_refuses_empty() {
        assert_eq!(
            message(check_id("offer id", "")),
            "offer id is required: use 1 to 64 ASCII letters, digits, `.`, `_` or `-`"
        );
    }

    #[test]
    fn check_id_refuses_too_long() {
        let long = "x".repeat(65);
        assert_eq!(
            message(check_id("application name", &long)),
            format!(
                "application name `{}…` is too long: it has 65 characters and the limit is 64",
                "x".repeat(64)
            )
        );
    }

    #[test]
    fn check_id_refuses_bad_characters_showing_them_sanitized() {
        assert_eq!(
            message(check_id("resource group name", "rg prod")),
            "resource group name `rg prod` contains ` ` (U+0020): use only ASCII letters, digits, `.`, `_` and `-`"
        );
        assert_eq!(
            message(check_id("tenant id", "evil\x1b[2J")),
            "tenant id `evil␛[2J` contains `␛` (U+001B): use only ASCII letters, digits, `.`, `_` and `-`"
        );
        assert_eq!(
            message(check_id("OS login name", "jösé")),
            "OS login name `jösé` contains `ö` (U+00F6): use only ASCII letters, digits, `.`, `_` and `-`"
        );
    }

    #[test]
    fn check_id_refuses_punctuation_first() {
        for id in ["-rf", ".hidden", "_x"] {
            assert_eq!(
                message(check_id("OS login name", id)),
                format!("OS login name `{id}` must start with an ASCII letter or digit, not `.`, `_` or `-`")
            );
        }
    }

    // ---- check_upn ----

    #[test]
    fn check_upn_accepts_and_lowercases() {
        assert_eq!(check_upn("Alice@Contoso.COM"), Ok("alice@contoso.com".to_owned()));
        assert_eq!(
            check_upn("o'brien.j_x%1+tag-2@mail.sub-1.example.co.uk"),
            Ok("o'brien.j_x%1+tag-2@mail.sub-1.example.co.uk".to_owned())
        );
    }

    #[test]
    fn check_upn_refusals() {
        assert_eq!(
            message(check_upn("")),
            "a user principal name is required: give one like alice@contoso.com"
        );
        assert_eq!(
            message(check_upn("alice")),
            "`alice` is not a user principal name: it has no `@`; give one like alice@contoso.com"
        );
        assert_eq!(
            message(check_upn("a@b@contoso.com")),
            "`a@b@contoso.com` is not a user principal name: it has more than one `@`; give one like alice@contoso.com"
        );
        assert_eq!(
            message(check_upn("@contoso.com")),
            "`@contoso.com` is not a user principal name: the part before the `@` is empty; give one like alice@contoso.com"
        );
        assert_eq!(
            message(check_upn("al ice@contoso.com")),
            "`al ice@contoso.com` is not a user principal name: ` ` (U+0020) is not allowed before the `@`, only ASCII letters, digits and . _ % + - '; give one like alice@contoso.com"
        );
        assert_eq!(
            message(check_upn("alice@")),
            "`alice@` is not a user principal name: the domain after the `@` is empty; give one like alice@contoso.com"
        );
        assert_eq!(
            message(check_upn("alice@localhost")),
            "`alice@localhost` is not a user principal name: the domain `localhost` needs at least one dot; give one like alice@contoso.com"
        );
        assert_eq!(
            message(check_upn("alice@contoso..com")),
            "`alice@contoso..com` is not a user principal name: the domain `contoso..com` has an empty part between dots; give one like alice@contoso.com"
        );
        assert_eq!(
            message(check_upn("alice@contoso.com.")),
            "`alice@contoso.com.` is not a user principal name: the domain `contoso.com.` has an empty part between dots; give one like alice@contoso.com"
        );
        assert_eq!(
            message(check_upn("alice@con_toso.com")),
            "`alice@con_toso.com` is not a user principal name: `_` (U+005F) is not allowed in the domain, only ASCII letters, digits, `-` and dots; give one like alice@contoso.com"
        );
        assert_eq!(
            message(check_upn("alice@-contoso.com")),
            "`alice@-contoso.com` is not a user principal name: the domain part `-contoso` starts or ends with `-`; give one like alice@contoso.com"
        );
        assert_eq!(
            message(check_upn("alice@contoso\x1b.com")),
            "`alice@contoso␛.com` is not a user principal name: `␛` (U+001B) is not allowed in the domain, only ASCII letters, digits, `-` and dots; give one like alice@contoso.com"
        );
    }

    #[test]
    fn check_upn_length_limit() {
        let domain = format!("{}.com", "d".repeat(60));
        let local_ok = "a".repeat(254 - 1 - domain.len());
        let ok = format!("{local_ok}@{domain}");
        assert_eq!(ok.len(), 254);
        assert_eq!(check_upn(&ok), Ok(ok.clone()));
        let too_long = format!("a{ok}");
        let msg = message(check_upn(&too_long));
        assert!(msg.contains("it has 255 characters and the limit is 254"), "{msg}");
        assert!(msg.contains("…`"), "{msg}");
    }

    #[test]
    fn printable_ascii_is_never_trouble_nor_a_mark() {
        // `sanitize` passes such text through without looking at its characters one by one.
        for c in ' '..='~' {
            assert!(trouble(c).is_none() && !is_mark(c), "{c:?}");
        }
        assert!(matches!(sanitize("erin@fabrikam.com  Pending ~"), Cow::Borrowed(_)));
    }

    proptest! {
        #[test]
        fn sanitize_output_is_always_safe_and_keeps_length(s in any::<String>()) {
            let out = sanitize(&s);
            prop_assert_eq!(out.chars().count(), s.chars().count());
            prop_assert!(scan(&out).all(|(_, _, why)| why.is_none()));
            prop_assert_eq!(sanitize(&out), out.clone());
        }

        #[test]
        fn check_text_never_panics_and_accepts_only_safe_text(s in any::<String>()) {
            if let Ok(kept) = check_text("reason", &s, MAX_TEXT) {
                prop_assert!(matches!(sanitize(&kept), Cow::Borrowed(_)));
                prop_assert_eq!(kept.trim(), kept.as_str());
            }
        }

        #[test]
        fn valid_ids_round_trip(id in "[A-Za-z0-9][A-Za-z0-9._-]{0,63}") {
            prop_assert_eq!(check_id("tenant id", &id), Ok(id.clone()));
        }

        #[test]
        fn check_id_and_upn_never_panic(s in any::<String>()) {
            let _ = check_id("tenant id", &s);
            let _ = check_upn(&s);
        }

        #[test]
        fn valid_upns_are_accepted_lowercased(
            local in "[A-Za-z0-9._%+'-]{1,20}",
            labels in proptest::collection::vec("[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", 2..4),
        ) {
            let upn = format!("{local}@{}", labels.join("."));
            prop_assert_eq!(check_upn(&upn), Ok(upn.to_ascii_lowercase()));
        }
    }
}
