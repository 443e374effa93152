//! One list of key bindings drives the keys, the footer and the help overlay, so none of them can
//! drift from the others. Users can rebind any action in the config file.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks the dashboard to do; the same action may be bound in several scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAction {
    /// Ends the dashboard, or closes the help overlay.
    Quit,
    /// Shows the next tab, after the last the first.
    NextTab,
    /// Shows the previous tab, before the first the last.
    PrevTab,
    /// Shows tab 1, the applications.
    Tab1,
    /// Shows tab 2, the applications' JIT settings.
    Tab2,
    /// Shows tab 3, the requests.
    Tab3,
    /// Shows tab 4, the access granted now.
    Tab4,
    /// Shows tab 5, the notifications and the audit log.
    Tab5,
    /// Moves the cursor one row up, or scrolls an overlay.
    Up,
    /// Moves the cursor one row down, or scrolls an overlay.
    Down,
    /// Moves the cursor to the first row, or an overlay to its top.
    Top,
    /// Moves the cursor to the last row, or an overlay to its bottom.
    Bottom,
    /// Moves the cursor a screenful up, or an overlay a page up.
    PageUp,
    /// Moves the cursor a screenful down, or an overlay a page down.
    PageDown,
    /// Opens the details of the request the row is about (and closes them again).
    Open,
    /// Closes an overlay; on a list, drops the marks, or else the filter.
    Back,
    /// Starts typing a filter for the list.
    Filter,
    /// Opens the help overlay, or closes it.
    Help,
    /// Opens the form for something new: a deployment on tab 1, a request on tab 3.
    New,
    /// Opens the form that edits the JIT settings of the application under the cursor.
    Edit,
    /// Opens the approval of the request under the cursor, or of the marked ones.
    Approve,
    /// Opens the denial of the request under the cursor, or of the marked ones.
    Deny,
    /// Cancels the user's own pending request under the cursor.
    Cancel,
    /// Ends the access under the cursor before its time.
    Revoke,
    /// Opens the form that asks for more time on the user's own access under the cursor.
    Extend,
    /// Marks every notification read.
    MarkRead,
    /// Moves the cursor between the notifications and the audit log.
    Pane,
    /// Cycles the order of pending requests.
    Sort,
    /// Toggles pending requests between only mine (those the user can decide) and all they can see.
    Mine,
    /// Opens a request's details by its number, from any tab.
    Goto,
    /// Marks the request under the cursor for a bulk decision (or unmarks it).
    Mark,
    /// Marks every request on the list the user can decide.
    MarkAll,
    /// Answers a confirmation.
    Yes,
    /// Turns a confirmation down: nothing is done.
    No,
}

/// Where a binding applies; the footer shows what applies here, the help shows everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere but over an overlay.
    Global,
    /// On every tab's list.
    List,
    /// Tab 1 only.
    Applications,
    /// Tab 2 only.
    Settings,
    /// Tab 3 only.
    Requests,
    /// Tab 4 only.
    Access,
    /// Tab 5 only.
    Activity,
    /// The help overlay, the request details and a confirmation: only their own keys work there.
    Help,
    /// Over a request's details.
    Detail,
    /// Over a question that waits for yes or no.
    Confirm,
}

impl Scope {
    /// Whether this is an overlay's scope, where list and global keys do not apply.
    pub fn is_overlay(self) -> bool {
        matches!(self, Scope::Help | Scope::Detail | Scope::Confirm)
    }
}

/// One action's keys in one scope, with the words the footer and the help show for it.
#[derive(Debug, Clone)]
pub struct Binding {
    /// What the keys do.
    pub action: KeyAction,
    /// The name used in the config file's `[keys]` table.
    pub name: &'static str,
    /// The keys that do it: the defaults, or the config's instead when it names this binding.
    pub keys: Vec<KeyEvent>,
    /// A few words on what it does, for the footer and the help.
    pub desc: &'static str,
    /// Where the keys do it.
    pub scope: Scope,
    /// Shown in the footer (the rest only in the help overlay).
    pub footer: bool,
}

/// A built-in binding: (action, config name, default keys, description, scope, in the footer).
type DefaultBinding = (KeyAction, &'static str, &'static [&'static str], &'static str, Scope, bool);

const DEFAULTS: &[DefaultBinding] = &[
    (KeyAction::Help, "help", &["?"], "help", Scope::Global, true),
    (KeyAction::Quit, "quit", &["q", "ctrl-c"], "quit", Scope::Global, true),
    (KeyAction::NextTab, "next_tab", &["tab"], "next tab", Scope::Global, false),
    (KeyAction::PrevTab, "prev_tab", &["shift-tab", "backtab"], "previous tab", Scope::Global, false),
    (KeyAction::Tab1, "tab_applications", &["1"], "applications", Scope::Global, false),
    (KeyAction::Tab2, "tab_settings", &["2"], "JIT settings", Scope::Global, false),
    (KeyAction::Tab3, "tab_requests", &["3"], "requests", Scope::Global, false),
    (KeyAction::Tab4, "tab_access", &["4"], "access", Scope::Global, false),
    (KeyAction::Tab5, "tab_activity", &["5"], "activity", Scope::Global, false),
    (KeyAction::Up, "up", &["up", "k"], "move up", Scope::List, false),
    (KeyAction::Down, "down", &["down", "j"], "move down", Scope::List, false),
    (KeyAction::Top, "top", &["g", "home"], "first row", Scope::List, false),
    (KeyAction::Bottom, "bottom", &["G", "end"], "last row", Scope::List, false),
    (KeyAction::PageUp, "page_up", &["pageup"], "page up", Scope::List, false),
    (KeyAction::PageDown, "page_down", &["pagedown"], "page down", Scope::List, false),
    (KeyAction::Filter, "filter", &["/"], "filter", Scope::List, true),
    // Offered only on a row about a request: a request, a grant, an audit row.
    (KeyAction::Open, "open", &["enter"], "details", Scope::List, true),
    (KeyAction::Back, "back", &["esc"], "back / close", Scope::Global, false),
    (KeyAction::Goto, "goto", &["#", ":"], "open request by number", Scope::Global, false),
    (KeyAction::New, "new", &["n"], "deploy", Scope::Applications, true),
    (KeyAction::Edit, "edit", &["e"], "edit", Scope::Settings, true),
    (KeyAction::Approve, "approve", &["a"], "approve", Scope::Requests, true),
    (KeyAction::Deny, "deny", &["d"], "deny", Scope::Requests, true),
    (KeyAction::New, "new_request", &["n"], "request access", Scope::Requests, true),
    (KeyAction::Cancel, "cancel", &["c"], "cancel request", Scope::Requests, true),
    (KeyAction::Sort, "sort", &["s"], "sort", Scope::Requests, true),
    (KeyAction::Mine, "mine", &["m"], "mine / all", Scope::Requests, true),
    (KeyAction::Mark, "mark", &["space"], "mark", Scope::Requests, true),
    (KeyAction::MarkAll, "mark_all", &["*"], "mark all I can decide", Scope::Requests, false),
    (KeyAction::Revoke, "revoke", &["x"], "revoke", Scope::Access, true),
    (KeyAction::Extend, "extend", &["e"], "extend", Scope::Access, true),
    // On a grant whose requester asked for more time: the same keys decide the extension.
    (KeyAction::Approve, "approve", &["a"], "approve extension", Scope::Access, true),
    (KeyAction::Deny, "deny", &["d"], "deny extension", Scope::Access, true),
    (KeyAction::MarkRead, "mark_read", &["r"], "mark all read", Scope::Activity, true),
    (KeyAction::Pane, "pane", &["n"], "notifications / audit", Scope::Activity, true),
    // Over the tabs. A name used above rebinds the same action here too.
    (KeyAction::Back, "back", &["esc"], "close", Scope::Help, true),
    (KeyAction::Help, "help", &["?"], "close", Scope::Help, false),
    (KeyAction::Quit, "quit", &["q"], "close", Scope::Help, false),
    (KeyAction::Down, "down", &["down", "j"], "scroll down", Scope::Help, true),
    (KeyAction::Up, "up", &["up", "k"], "scroll up", Scope::Help, true),
    (KeyAction::PageDown, "page_down", &["pagedown"], "page down", Scope::Help, false),
    (KeyAction::PageUp, "page_up", &["pageup"], "page up", Scope::Help, false),
    (KeyAction::Top, "top", &["g", "home"], "top", Scope::Help, false),
    (KeyAction::Bottom, "bottom", &["G", "end"], "bottom", Scope::Help, false),
    (KeyAction::Approve, "approve", &["a"], "approve", Scope::Detail, true),
    (KeyAction::Deny, "deny", &["d"], "deny", Scope::Detail, true),
    (KeyAction::Back, "back", &["esc"], "close", Scope::Detail, true),
    (KeyAction::Open, "open", &["enter"], "close", Scope::Detail, false),
    (KeyAction::Yes, "confirm", &["y", "enter"], "yes", Scope::Confirm, true),
    (KeyAction::No, "dismiss", &["n", "esc"], "no", Scope::Confirm, true),
];

/// Every binding, in the order the help lists them.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// The bindings, with the config's keys in place of the defaults it overrides.
    pub bindings: Vec<Binding>,
}

impl Keymap {
    /// The defaults with the config's overrides applied; unknown names and bad keys are errors.
    pub fn new(overrides: &HashMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut bindings = Vec::new();
        for (action, name, keys, desc, scope, footer) in DEFAULTS {
            let keys: Vec<String> = match overrides.get(*name) {
                Some(custom) => custom.clone(),
                None => keys.iter().map(|k| k.to_string()).collect(),
            };
            let keys = keys.iter().map(|k| parse_key(k)).collect::<Result<Vec<_>, _>>()?;
            bindings.push(Binding { action: *action, name, keys, desc, scope: *scope, footer: *footer });
        }
        if let Some(unknown) = overrides.keys().find(|k| !DEFAULTS.iter().any(|d| d.1 == k.as_str())) {
            let names: Vec<&str> = DEFAULTS.iter().map(|d| d.1).collect();
            return Err(format!("no action `{unknown}` to bind; actions are {}", names.join(", ")));
        }
        Ok(Keymap { bindings })
    }

    /// The action a key means in a scope; a tab's own bindings win over list and global ones, and
    /// an overlay's are the only ones that work while it is open.
    pub fn action(&self, key: &KeyEvent, scope: Scope) -> Option<KeyAction> {
        let matches = |b: &&Binding| b.keys.iter().any(|k| same_key(k, key));
        let find = |s: Scope| self.bindings.iter().filter(|b| b.scope == s).find(matches).map(|b| b.action);
        match scope {
            s if s.is_overlay() => find(s),
            Scope::Global => find(Scope::Global),
            s => find(s).or_else(|| find(Scope::List)).or_else(|| find(Scope::Global)),
        }
    }

    /// Every binding that works in a scope, in the order of the keymap: what `action` can answer.
    pub fn working(&self, scope: Scope) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| match scope {
            s if s.is_overlay() || s == Scope::Global => b.scope == s,
            s => b.scope == s || b.scope == Scope::Global || b.scope == Scope::List,
        })
    }

    /// The bindings worth a place in the footer here: the working ones marked for it.
    pub fn footer(&self, scope: Scope) -> impl Iterator<Item = &Binding> {
        self.working(scope).filter(|b| b.footer)
    }

    /// The keys of a binding as shown, each label once (`shift-tab` and `backtab` are the same key).
    pub fn label(&self, binding: &Binding) -> String {
        let mut labels: Vec<String> = Vec::new();
        for label in binding.keys.iter().map(key_label) {
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
        labels.join("/")
    }
}

fn same_key(a: &KeyEvent, b: &KeyEvent) -> bool {
    // Shift is implied by an upper-case letter; terminals disagree on whether they report it.
    let strip = |m: KeyModifiers, c: KeyCode| match c {
        KeyCode::Char(_) | KeyCode::BackTab => m - KeyModifiers::SHIFT,
        _ => m,
    };
    a.code == b.code && strip(a.modifiers, a.code) == strip(b.modifiers, b.code)
}

/// Reads a key as the config file writes it (`a`, `G`, `ctrl-c`, `shift-tab`, `pagedown`, `f5`);
/// the error says what is not a key and gives examples.
pub fn parse_key(text: &str) -> Result<KeyEvent, String> {
    let bad = || {
        format!("`{text}` is not a key: use e.g. a, G, ctrl-c, enter, esc, tab, shift-tab, up, pagedown, f5")
    };
    let (mods, name) = match text.rsplit_once('-').filter(|(_, n)| !n.is_empty()) {
        Some((prefix, name)) if text.len() > 1 => {
            let mut mods = KeyModifiers::NONE;
            for m in prefix.split('-') {
                mods |= match m {
                    "ctrl" => KeyModifiers::CONTROL,
                    "alt" => KeyModifiers::ALT,
                    "shift" => KeyModifiers::SHIFT,
                    _ => return Err(bad()),
                };
            }
            (mods, name)
        }
        _ => (KeyModifiers::NONE, text),
    };
    let code = match name {
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "backspace" => KeyCode::Backspace,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        "space" => KeyCode::Char(' '),
        f if f.starts_with('f') && f.len() > 1 => KeyCode::F(f[1..].parse().map_err(|_| bad())?),
        c if c.chars().count() == 1 => KeyCode::Char(c.chars().next().ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    Ok(KeyEvent::new(code, mods))
}

fn key_label(key: &KeyEvent) -> String {
    let name = match key.code {
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "S-Tab".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Backspace => "Bksp".into(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::Char(' ') => "Space".into(),
        KeyCode::Char(c) => c.to_string(),
        _ => "?".into(),
    };
    if key.modifiers.contains(KeyModifiers::CONTROL) { format!("C-{name}") } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> KeyEvent {
        parse_key(text).unwrap()
    }

    #[test]
    fn scope_bindings_win_and_globals_apply_everywhere() {
        let map = Keymap::new(&HashMap::new()).unwrap();
        assert_eq!(map.action(&key("a"), Scope::Requests), Some(KeyAction::Approve));
        // On a grant, `a` decides its extension, and `e` asks for one.
        assert_eq!(map.action(&key("a"), Scope::Access), Some(KeyAction::Approve));
        assert_eq!(map.action(&key("a"), Scope::Applications), None);
        assert_eq!(map.action(&key("e"), Scope::Access), Some(KeyAction::Extend));
        assert_eq!(map.action(&key("e"), Scope::Settings), Some(KeyAction::Edit));
        assert_eq!(map.action(&key("n"), Scope::Applications), Some(KeyAction::New));
        assert_eq!(map.action(&key("ctrl-c"), Scope::Activity), Some(KeyAction::Quit));
        assert_eq!(map.action(&key("j"), Scope::Access), Some(KeyAction::Down));
        assert_eq!(
            map.action(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT), Scope::Access),
            Some(KeyAction::Bottom)
        );
    }

    #[test]
    fn overrides_replace_keys_and_unknown_names_are_refused() {
        let overrides = HashMap::from([("approve".to_string(), vec!["A".to_string(), "f2".to_string()])]);
        let map = Keymap::new(&overrides).unwrap();
        assert_eq!(map.action(&key("a"), Scope::Requests), None);
        assert_eq!(map.action(&key("A"), Scope::Requests), Some(KeyAction::Approve));
        assert_eq!(map.action(&key("f2"), Scope::Requests), Some(KeyAction::Approve));
        let approve = map.bindings.iter().find(|b| b.action == KeyAction::Approve).unwrap();
        assert_eq!(map.label(approve), "A/F2");
        let bad = HashMap::from([("aprove".to_string(), vec!["a".to_string()])]);
        assert!(Keymap::new(&bad).unwrap_err().contains("no action `aprove`"));
        let bad_key = HashMap::from([("approve".to_string(), vec!["hyper-x".to_string()])]);
        assert!(Keymap::new(&bad_key).unwrap_err().contains("not a key"));
    }

    #[test]
    fn footer_shows_only_what_applies_here() {
        let map = Keymap::new(&HashMap::new()).unwrap();
        let here: Vec<&str> = map.footer(Scope::Access).map(|b| b.desc).collect();
        assert!(here.contains(&"revoke") && here.contains(&"quit"));
        assert!(!here.contains(&"approve"));
    }

    #[test]
    fn overlays_answer_only_their_own_keys_and_the_footer_says_which() {
        let map = Keymap::new(&HashMap::new()).unwrap();
        assert_eq!(map.action(&key("q"), Scope::Confirm), None, "q neither quits nor closes a question");
        assert_eq!(map.action(&key("y"), Scope::Confirm), Some(KeyAction::Yes));
        assert_eq!(map.action(&key("esc"), Scope::Confirm), Some(KeyAction::No));
        assert_eq!(map.action(&key("?"), Scope::Detail), None);
        assert_eq!(map.action(&key("a"), Scope::Detail), Some(KeyAction::Approve));
        assert_eq!(map.action(&key("j"), Scope::Help), Some(KeyAction::Down));
        let footer = |s: Scope| map.footer(s).map(|b| map.label(b)).collect::<Vec<_>>();
        assert_eq!(footer(Scope::Confirm), ["y/Enter", "n/Esc"]);
        assert_eq!(footer(Scope::Detail), ["a", "d", "Esc"]);
        assert_eq!(footer(Scope::Help), ["Esc", "↓/j", "↑/k"]);
        // Every key the footer shows does what it says there.
        for scope in [Scope::Help, Scope::Detail, Scope::Confirm, Scope::Requests, Scope::Global] {
            for b in map.footer(scope) {
                for k in &b.keys {
                    assert_eq!(map.action(k, scope), Some(b.action), "{} in {scope:?}", map.label(b));
                }
            }
        }
        // A rebound action is rebound over the tabs too.
        let map = Keymap::new(&HashMap::from([("approve".to_string(), vec!["A".to_string()])])).unwrap();
        assert_eq!(map.action(&key("A"), Scope::Detail), Some(KeyAction::Approve));
        assert_eq!(map.action(&key("a"), Scope::Detail), None);
    }

    #[test]
    fn labels_name_each_key_once() {
        let map = Keymap::new(&HashMap::new()).unwrap();
        let prev = map.bindings.iter().find(|b| b.action == KeyAction::PrevTab).unwrap();
        assert_eq!(map.label(prev), "S-Tab");
    }
}
