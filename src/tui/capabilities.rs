//! What the terminal the dashboard would run in can do, judged from the environment before anything
//! is opened or drawn: whether there is a terminal at all and whether it can move the cursor (else the
//! dashboard is refused with a hint, while every command still works), and whether it shows Unicode
//! (else borders and symbols are drawn in ASCII).

use std::io::IsTerminal;

/// Why the dashboard cannot run here, if it cannot: no terminal on stdin or stdout, or one that
/// cannot address the cursor (`TERM` unset, empty or `dumb`).
pub fn refusal(terminal: bool, term: Option<&str>) -> Option<String> {
    const ELSE: &str = "every command works without one, see `jitdesk --help`";
    if !terminal {
        return Some(format!("the dashboard needs a terminal, and stdin or stdout is not one: {ELSE}"));
    }
    match term.map(str::trim) {
        None | Some("") => {
            Some(format!("the dashboard needs a terminal that can move the cursor (TERM is not set): {ELSE}"))
        }
        Some("dumb") => {
            Some(format!("the dashboard needs a terminal that can move the cursor (TERM=dumb): {ELSE}"))
        }
        Some(_) => None,
    }
}

/// `refusal` for this process's stdin, stdout and `TERM`.
pub fn check() -> Result<(), String> {
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let term = std::env::var("TERM").ok();
    refusal(terminal, term.as_deref()).map_or(Ok(()), Err)
}

/// Whether to draw in ASCII: the locale's character set is not UTF-8, or the terminal is the Linux
/// console or a VT100-style one, whose fonts lack box drawing and arrows. The locale is the first
/// non-empty of `LC_ALL`, `LC_CTYPE` and `LANG`, as the C library reads it; with none set it is the
/// C locale, whose character set is ASCII.
pub fn ascii(locale: Option<&str>, term: Option<&str>) -> bool {
    let term = term.unwrap_or_default();
    if term == "linux" || term.starts_with("vt") {
        return true;
    }
    let Some(locale) = locale else { return true };
    // language_TERRITORY.charset@modifier
    let charset = locale.split('@').next().unwrap_or_default().split_once('.').map(|(_, c)| c);
    let utf8 = charset.is_some_and(|c| c.replace(['-', '_'], "").eq_ignore_ascii_case("utf8"));
    !utf8
}

/// The environment a terminal's capabilities are judged from: this process's for the dashboard on
/// its own terminal, a session's for one on a remote terminal (whose client sends its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermEnv {
    /// `TERM`: what the terminal is.
    pub term: Option<String>,
    /// `COLORTERM`: `truecolor` or `24bit` when it shows RGB colours.
    pub colorterm: Option<String>,
    /// `NO_COLOR` set and not empty: the user wants no colour.
    pub no_color: bool,
    /// The locale whose character set decides Unicode or ASCII (see `ascii`).
    pub locale: Option<String>,
}

impl TermEnv {
    /// This process's environment; the locale is the first non-empty of `LC_ALL`, `LC_CTYPE` and
    /// `LANG`, as the C library reads it.
    pub fn from_process() -> TermEnv {
        let var = |name: &str| std::env::var(name).ok();
        TermEnv {
            term: var("TERM"),
            colorterm: var("COLORTERM"),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            locale: ["LC_ALL", "LC_CTYPE", "LANG"]
                .into_iter()
                .find_map(|name| var(name).filter(|v| !v.is_empty())),
        }
    }

    /// Whether to draw in ASCII (see `ascii`).
    pub fn ascii(&self) -> bool {
        ascii(self.locale.as_deref(), self.term.as_deref())
    }

    /// Whether the terminal announces 24-bit colour; over SSH COLORTERM is often lost, so no means
    /// no: RGB colours are then mapped to the 256-colour palette.
    pub fn truecolor(&self) -> bool {
        self.colorterm.as_deref().is_some_and(|v| v == "truecolor" || v == "24bit")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dashboard_needs_a_terminal_that_moves_the_cursor() {
        assert_eq!(refusal(true, Some("xterm-256color")), None);
        assert_eq!(refusal(true, Some("linux")), None);
        let no_tty = refusal(false, Some("xterm")).unwrap();
        assert!(no_tty.contains("needs a terminal") && no_tty.contains("jitdesk --help"), "{no_tty}");
        for term in [None, Some(""), Some("dumb")] {
            let why = refusal(true, term).unwrap();
            assert!(why.contains("move the cursor") && why.contains("jitdesk --help"), "{why}");
        }
        assert!(refusal(true, Some("dumb")).unwrap().contains("(TERM=dumb)"));
    }

    #[test]
    fn only_utf8_locales_on_capable_terminals_get_unicode() {
        for locale in ["en_US.UTF-8", "C.UTF-8", "de_DE.utf8", "sr_RS.UTF-8@latin"] {
            assert!(!ascii(Some(locale), Some("xterm-256color")), "{locale}");
        }
        for locale in ["C", "POSIX", "en_US", "en_US.ISO-8859-1", "ja_JP.eucJP", "de_DE@euro"] {
            assert!(ascii(Some(locale), Some("xterm-256color")), "{locale}");
        }
        assert!(ascii(None, Some("xterm-256color")), "no locale is the C locale");
        for term in ["linux", "vt100", "vt220"] {
            assert!(ascii(Some("en_US.UTF-8"), Some(term)), "{term}");
        }
    }
}
