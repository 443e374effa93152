//! Forms: a title, some context lines, fields, and one inline error. What a form does on submit
//! is its `Purpose`; the engine judges the values, so a refusal shows here in the engine's words.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::domain::text::sanitize;

#[derive(Debug, Clone)]
pub enum FieldKind {
    Text(Input),
    /// One of several options; Left/Right or Space cycles.
    Choice { options: Vec<String>, selected: usize },
    /// Any number of options; Left/Right moves, Space toggles.
    Multi { options: Vec<String>, chosen: Vec<bool>, cursor: usize },
}

#[derive(Debug, Clone)]
pub struct Field {
    pub label: &'static str,
    pub hint: String,
    pub kind: FieldKind,
}

impl Field {
    pub fn text(label: &'static str, value: &str, hint: impl Into<String>) -> Field {
        Field { label, hint: hint.into(), kind: FieldKind::Text(Input::new(value.to_string())) }
    }

    pub fn choice(label: &'static str, options: Vec<String>, selected: usize, hint: impl Into<String>) -> Field {
        Field { label, hint: hint.into(), kind: FieldKind::Choice { options, selected } }
    }

    pub fn multi(label: &'static str, options: Vec<String>, chosen: Vec<bool>, hint: impl Into<String>) -> Field {
        Field { label, hint: hint.into(), kind: FieldKind::Multi { options, chosen, cursor: 0 } }
    }

    pub fn value(&self) -> String {
        match &self.kind {
            FieldKind::Text(input) => input.value().to_string(),
            FieldKind::Choice { options, selected } => options.get(*selected).cloned().unwrap_or_default(),
            FieldKind::Multi { options, chosen, .. } => options
                .iter()
                .zip(chosen)
                .filter(|(_, on)| **on)
                .map(|(o, _)| o.clone())
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    pub fn values(&self) -> Vec<String> {
        self.value().split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect()
    }

    fn cycle(&mut self, forward: bool) {
        match &mut self.kind {
            FieldKind::Choice { options, selected } if !options.is_empty() => {
                let n = options.len();
                *selected = if forward { (*selected + 1) % n } else { (*selected + n - 1) % n };
            }
            FieldKind::Multi { options, cursor, .. } if !options.is_empty() => {
                let n = options.len();
                *cursor = if forward { (*cursor + 1) % n } else { (*cursor + n - 1) % n };
            }
            _ => {}
        }
    }
}

/// What a key did to a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKey {
    Handled,
    Submit,
    Close,
}

#[derive(Debug, Clone)]
pub struct Form<P> {
    pub title: String,
    /// Context above the fields: what is being decided, warnings, limits.
    pub intro: Vec<String>,
    pub fields: Vec<Field>,
    pub focus: usize,
    pub error: Option<String>,
    /// Waiting for the engine; keys are ignored so a double Enter cannot submit twice.
    pub busy: bool,
    pub purpose: P,
}

impl<P> Form<P> {
    pub fn new(title: impl Into<String>, purpose: P) -> Self {
        Form { title: title.into(), intro: Vec::new(), fields: Vec::new(), focus: 0, error: None, busy: false, purpose }
    }

    pub fn intro(mut self, line: impl Into<String>) -> Self {
        self.intro.push(line.into());
        self
    }

    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }

    pub fn value(&self, label: &str) -> String {
        self.fields.iter().find(|f| f.label == label).map(Field::value).unwrap_or_default()
    }

    pub fn get(&self, label: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.label == label)
    }

    pub fn key(&mut self, key: KeyEvent) -> FormKey {
        if self.busy {
            return FormKey::Handled;
        }
        let n = self.fields.len().max(1);
        match key.code {
            KeyCode::Esc => return FormKey::Close,
            KeyCode::Enter if self.focus + 1 >= n || key.modifiers.contains(KeyModifiers::CONTROL) => {
                return FormKey::Submit;
            }
            KeyCode::Enter | KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % n,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + n - 1) % n,
            _ => {
                let Some(field) = self.fields.get_mut(self.focus) else { return FormKey::Handled };
                match (&mut field.kind, key.code) {
                    (FieldKind::Text(input), _) => {
                        input.handle_event(&Event::Key(key));
                    }
                    (FieldKind::Multi { chosen, cursor, .. }, KeyCode::Char(' ')) => {
                        if let Some(on) = chosen.get_mut(*cursor) {
                            *on = !*on;
                        }
                    }
                    (_, KeyCode::Right | KeyCode::Char(' ') | KeyCode::Char('l')) => field.cycle(true),
                    (_, KeyCode::Left | KeyCode::Char('h')) => field.cycle(false),
                    _ => {}
                }
            }
        }
        FormKey::Handled
    }

    /// Pasted text goes into the focused text field, one line, without control characters.
    pub fn paste(&mut self, text: &str) {
        if self.busy {
            return;
        }
        if let Some(Field { kind: FieldKind::Text(input), .. }) = self.fields.get_mut(self.focus) {
            let clean: String = text.chars().filter(|c| !c.is_control()).collect();
            let clean = sanitize(&clean);
            let value = format!("{}{}", input.value(), clean);
            *input = Input::new(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(form: &mut Form<()>, code: KeyCode) -> FormKey {
        form.key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn typing_goes_to_the_focused_field_and_enter_on_the_last_submits() {
        let mut form = Form::new("t", ())
            .field(Field::text("reason", "", ""))
            .field(Field::choice("mode", vec!["auto".into(), "manual".into()], 0, ""));
        for c in "ok".chars() {
            press(&mut form, KeyCode::Char(c));
        }
        assert_eq!(form.value("reason"), "ok");
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Handled);
        assert_eq!(form.focus, 1);
        press(&mut form, KeyCode::Right);
        assert_eq!(form.value("mode"), "manual");
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Submit);
        assert_eq!(press(&mut form, KeyCode::Esc), FormKey::Close);
    }

    #[test]
    fn a_busy_form_ignores_keys_and_paste_is_cleaned() {
        let mut form = Form::new("t", ()).field(Field::text("reason", "", ""));
        form.paste("a\x1b]0;x\x07b\u{202e}c\n");
        assert_eq!(form.value("reason"), "a]0;xb\u{fffd}c");
        form.busy = true;
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Handled);
        press(&mut form, KeyCode::Char('z'));
        assert!(!form.value("reason").contains('z'));
    }

    #[test]
    fn multi_choice_toggles_with_space() {
        let mut form = Form::new("t", ()).field(Field::multi(
            "roles",
            vec!["Owner".into(), "Reader".into()],
            vec![false, false],
            "",
        ));
        press(&mut form, KeyCode::Right);
        press(&mut form, KeyCode::Char(' '));
        assert_eq!(form.values_of("roles"), vec!["Reader"]);
    }

    impl Form<()> {
        fn values_of(&self, label: &str) -> Vec<String> {
            self.get(label).map(Field::values).unwrap_or_default()
        }
    }
}
