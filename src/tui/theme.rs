//! Themes are TOML files: a `[palette]` of named colours, `[styles]` that use them, and an optional
//! `inherits` naming a theme whose palette and styles this one overrides piece by piece. The built-in
//! themes ship inside the binary; users drop their own into `$XDG_CONFIG_HOME/jitdesk/themes/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

const BUILT_IN: [(&str, &str); 4] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// Every style the screens ask for; a theme naming anything else has a typo worth reporting.
pub const STYLE_NAMES: [&str; 27] = [
    "text",
    "dim",
    "title",
    "header",
    "border",
    "border.focus",
    "tab",
    "tab.active",
    "selection",
    "table.header",
    "key",
    "badge",
    "ok",
    "warn",
    "error",
    "state.pending",
    "state.approved",
    "state.denied",
    "state.ended",
    "countdown",
    "urgent",
    "critical",
    "unread",
    "input",
    "input.focus",
    "toast",
    "toast.error",
];

/// A loaded theme: every style it sets, its parents' merged in and colours already resolved.
#[derive(Debug, Clone)]
pub struct Theme {
    styles: HashMap<String, Style>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    inherits: Option<String>,
    #[serde(default)]
    palette: HashMap<String, Spanned<String>>,
    #[serde(default)]
    styles: HashMap<Spanned<String>, StyleSpec>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<Spanned<String>>,
    bg: Option<Spanned<String>>,
    #[serde(default)]
    modifiers: Vec<Spanned<String>>,
}

/// A theme's source text and where it came from, for error messages.
struct Source {
    origin: String,
    text: String,
}

impl Source {
    fn error(&self, span: std::ops::Range<usize>, message: &str) -> String {
        let line = self.text[..span.start.min(self.text.len())].matches('\n').count() + 1;
        format!("theme {} line {line}: {message}", self.origin)
    }
}

/// Options that decide how a theme turns into terminal styles.
pub struct Load<'a> {
    /// The user's themes folder, searched before the built-in themes; `None` when the system names no config folder.
    pub user_dir: Option<&'a Path>,
    /// Without true colour, RGB colours are mapped to the 256-colour palette.
    pub truecolor: bool,
}

impl Theme {
    /// The style for one of `STYLE_NAMES`; what the theme leaves unset looks like `text`.
    pub fn style(&self, name: &str) -> Style {
        self.styles.get(name).or_else(|| self.styles.get("text")).copied().unwrap_or_default()
    }

    /// Loads a theme by name, from the user's folder or else the built-in ones, with what it inherits;
    /// an error of one line names the file and line for a typo, an unknown style or a loop.
    pub fn load(name: &str, opts: &Load<'_>) -> Result<Theme, String> {
        let mut chain = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(name) = next {
            if chain.iter().any(|(n, _, _): &(String, Source, ThemeFile)| *n == name) || chain.len() > 8 {
                return Err(format!("theme `{name}` inherits from itself"));
            }
            let source = find(&name, opts.user_dir)?;
            let file: ThemeFile = toml::from_str(&source.text).map_err(|e| {
                let span = e.span().unwrap_or(0..0);
                source.error(span, e.message())
            })?;
            next = file.inherits.clone();
            chain.push((name, source, file));
        }
        // Parents first, so that children override.
        let mut palette: HashMap<String, (Color, usize)> = HashMap::new();
        let mut specs: HashMap<String, (StyleSpec, usize)> = HashMap::new();
        for (i, (_, source, file)) in chain.iter().enumerate().rev() {
            for (key, value) in &file.palette {
                let color = parse_color(value.get_ref(), &HashMap::new())
                    .map_err(|e| source.error(value.span(), &e))?;
                palette.insert(key.clone(), (color, i));
            }
            for (key, spec) in &file.styles {
                if !STYLE_NAMES.contains(&key.get_ref().as_str()) {
                    let known = STYLE_NAMES.join(", ");
                    return Err(source
                        .error(key.span(), &format!("unknown style `{}`; known: {known}", key.get_ref())));
                }
                specs.insert(key.get_ref().clone(), (spec.clone(), i));
            }
        }
        let palette: HashMap<String, Color> = palette.into_iter().map(|(k, (c, _))| (k, c)).collect();
        let mut styles = HashMap::new();
        for (key, (spec, i)) in specs {
            let source = &chain[i].1;
            let color = |c: &Spanned<String>| {
                parse_color(c.get_ref(), &palette)
                    .map(|c| if opts.truecolor { c } else { downgrade(c) })
                    .map_err(|e| source.error(c.span(), &e))
            };
            let mut style = Style::default();
            if let Some(fg) = &spec.fg {
                style = style.fg(color(fg)?);
            }
            if let Some(bg) = &spec.bg {
                style = style.bg(color(bg)?);
            }
            for m in &spec.modifiers {
                style =
                    style.add_modifier(parse_modifier(m.get_ref()).map_err(|e| source.error(m.span(), &e))?);
            }
            styles.insert(key, style);
        }
        Ok(Theme { styles })
    }
}

/// The names of the themes that ship inside the binary.
pub fn built_in() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(name, _)| *name)
}

fn find(name: &str, user_dir: Option<&Path>) -> Result<Source, String> {
    if let Some(dir) = user_dir {
        let path: PathBuf = dir.join(format!("{name}.toml"));
        if path.exists() {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("theme {}: {e}", path.display()))?;
            return Ok(Source { origin: path.display().to_string(), text });
        }
    }
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| Source { origin: format!("`{n}` (built in)"), text: text.to_string() })
        .ok_or_else(|| {
            let names: Vec<&str> = built_in().collect();
            format!(
                "no theme `{name}`: built in are {}, or put {name}.toml in the themes folder",
                names.join(", ")
            )
        })
}

fn parse_color(text: &str, palette: &HashMap<String, Color>) -> Result<Color, String> {
    if let Some(color) = palette.get(text) {
        return Ok(*color);
    }
    if let Some(hex) = text.strip_prefix('#')
        && hex.len() == 6
        && let Ok(rgb) = u32::from_str_radix(hex, 16)
    {
        return Ok(Color::Rgb((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8));
    }
    let named = match text {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "white" | "gray" => Color::Gray,
        "bright-black" | "dark-gray" => Color::DarkGray,
        "bright-red" => Color::LightRed,
        "bright-green" => Color::LightGreen,
        "bright-yellow" => Color::LightYellow,
        "bright-blue" => Color::LightBlue,
        "bright-magenta" => Color::LightMagenta,
        "bright-cyan" => Color::LightCyan,
        "bright-white" => Color::White,
        _ => return Err(format!("`{text}` is not a colour: use an ANSI name, #rrggbb, or a palette name")),
    };
    Ok(named)
}

fn parse_modifier(text: &str) -> Result<Modifier, String> {
    Ok(match text {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        "crossed-out" => Modifier::CROSSED_OUT,
        _ => return Err(format!("`{text}` is not a modifier: use bold, dim, italic, underlined, reversed")),
    })
}

/// The nearest colour of xterm's 256-colour palette (its 6x6x6 cube or its grey ramp).
pub fn downgrade(color: Color) -> Color {
    let Color::Rgb(r, g, b) = color else { return color };
    let level = |v: u8| -> (u8, u8) {
        const STEPS: [u8; 6] = [0, 95, 135, 175, 215, 255];
        let i = STEPS
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| (i16::from(**s) - i16::from(v)).abs())
            .map_or(0, |(i, _)| i);
        (i as u8, STEPS[i])
    };
    let ((ri, rv), (gi, gv), (bi, bv)) = (level(r), level(g), level(b));
    let cube_index = 16 + 36 * ri + 6 * gi + bi;
    let grey = ((u16::from(r) + u16::from(g) + u16::from(b)) / 3) as u8;
    let grey_index = if grey < 8 { 0 } else { ((grey - 8) / 10).min(23) };
    let grey_value = 8 + 10 * grey_index;
    let dist = |a: (u8, u8, u8)| -> u32 {
        let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).unsigned_abs();
        d(a.0, r).pow(2) + d(a.1, g).pow(2) + d(a.2, b).pow(2)
    };
    if dist((grey_value, grey_value, grey_value)) < dist((rv, gv, bv)) {
        Color::Indexed(232 + grey_index)
    } else {
        Color::Indexed(cube_index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str, dir: Option<&Path>, truecolor: bool) -> Result<Theme, String> {
        Theme::load(name, &Load { user_dir: dir, truecolor })
    }

    #[test]
    fn every_built_in_theme_loads_and_defines_every_style() {
        for (name, _) in BUILT_IN {
            let theme = load(name, None, true).unwrap();
            for style in STYLE_NAMES {
                assert!(theme.styles.contains_key(style), "{name} lacks {style}");
            }
        }
    }

    #[test]
    fn default_theme_uses_only_ansi_colours() {
        let theme = load("default", None, true).unwrap();
        for style in theme.styles.values() {
            for color in [style.fg, style.bg].into_iter().flatten() {
                assert!(!matches!(color, Color::Rgb(..) | Color::Indexed(_)), "{color:?}");
            }
        }
    }

    #[test]
    fn mono_keeps_the_selection_visible_without_colour() {
        let theme = load("mono", None, true).unwrap();
        let sel = theme.style("selection");
        assert!(sel.add_modifier.contains(Modifier::REVERSED));
        for style in theme.styles.values() {
            assert_eq!((style.fg, style.bg), (None, None));
        }
    }

    #[test]
    fn inheritance_overrides_palette_and_styles() {
        let light = load("light", None, true).unwrap();
        assert_eq!(light.style("title").fg, Some(Color::Rgb(0x00, 0x5f, 0x87)));
        // Inherited unchanged from default:
        assert!(light.style("title").add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn rgb_is_downgraded_without_truecolor() {
        let light = load("light", None, false).unwrap();
        assert!(matches!(light.style("title").fg, Some(Color::Indexed(_))));
        assert_eq!(downgrade(Color::Rgb(255, 0, 0)), Color::Indexed(196));
        assert_eq!(downgrade(Color::Rgb(128, 128, 128)), Color::Indexed(244));
        assert_eq!(downgrade(Color::Cyan), Color::Cyan);
    }

    #[test]
    fn user_theme_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "inherits = \"default\"\n[styles]\ntitle = { fg = \"chartreuse\" }\n",
        )
        .unwrap();
        let err = load("mine", Some(dir.path()), true).unwrap_err();
        assert!(err.contains("mine.toml line 3"), "{err}");
        assert!(err.contains("chartreuse"), "{err}");
        std::fs::write(dir.path().join("bad.toml"), "[styles\n").unwrap();
        let err = load("bad", Some(dir.path()), true).unwrap_err();
        assert!(err.contains("bad.toml line 1"), "{err}");
        std::fs::write(dir.path().join("typo.toml"), "[styles]\ntitel = {}\n").unwrap();
        assert!(load("typo", Some(dir.path()), true).unwrap_err().contains("unknown style `titel`"));
    }

    #[test]
    fn user_themes_override_built_ins_and_cycles_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "inherits = \"b\"\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "inherits = \"a\"\n").unwrap();
        assert!(load("a", Some(dir.path()), true).unwrap_err().contains("inherits from itself"));
        assert!(load("nope", None, true).unwrap_err().contains("no theme `nope`"));
    }
}
