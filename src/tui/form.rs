//! Forms: a title, some context lines, fields, and one inline error. What a form does on submit
//! is its `Purpose`; the engine judges the values, so a refusal shows here in the engine's words.
//!
//! A form may be cut into steps (a wizard): each step shows its own fields, Enter on a step's last
//! field goes to the next step, Esc or Shift-Tab goes back one, and a step can be shown only while
//! another field has a given value. Keys go to the focused field first, so anything typed into an
//! input (`q`, `j`, …) stays there; only keys the field does not use move between fields and steps.

use std::ops::Range;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::domain::RuleResult;
use crate::domain::text::sanitize;

/// How many search results a people picker shows under its input.
pub const PEOPLE_ROWS: usize = 5;
/// How many rows a table picker shows at once.
pub const PICK_ROWS: usize = 8;

/// Checks a text value as it is typed, with the engine's own parser: the message says what is wrong.
pub type Check = fn(&str) -> RuleResult<()>;

/// Someone in the directory a people picker searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub upn: String,
    pub name: String,
}

/// One row of a table picker: the value it stands for and the cells shown (and searched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickRow {
    pub key: String,
    pub cells: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum FieldKind {
    Text(Input),
    /// One of several options; Left/Right or Space cycles, a letter picks the option starting with it.
    Choice {
        options: Vec<String>,
        selected: usize,
    },
    /// Any number of options; Left/Right moves, Space toggles.
    Multi {
        options: Vec<String>,
        chosen: Vec<bool>,
        cursor: usize,
    },
    /// One row of a table; typing filters the rows, Up/Down move. `cursor` indexes the filtered rows.
    Pick {
        query: Input,
        header: Vec<&'static str>,
        rows: Vec<PickRow>,
        cursor: usize,
    },
    /// People found by searching a directory by any part of their UPN or name. `cursor` is `None`
    /// while the search input has the focus, else an index into the results shown (first) followed by
    /// the chosen people: Enter or Space adds a result; Space, Delete or Backspace removes a chosen person.
    People {
        directory: Vec<Person>,
        query: Input,
        chosen: Vec<String>,
        cursor: Option<usize>,
    },
}

/// How a note under a field reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Warn,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub label: &'static str,
    pub hint: String,
    pub kind: FieldKind,
    /// Shown dimmed while a text field is empty: what an empty value means.
    pub placeholder: String,
    /// Checks a text value as it is typed; the message shows under the field and holds the form back.
    pub check: Option<Check>,
    /// A remark under the field (what a choice means, why it is fixed), kept current by `on_change`.
    pub note: Option<(Tone, String)>,
}

impl Field {
    fn of(label: &'static str, hint: impl Into<String>, kind: FieldKind) -> Field {
        Field { label, hint: hint.into(), kind, placeholder: String::new(), check: None, note: None }
    }

    pub fn text(label: &'static str, value: &str, hint: impl Into<String>) -> Field {
        Field::of(label, hint, FieldKind::Text(Input::new(value.to_string())))
    }

    pub fn choice(
        label: &'static str,
        options: Vec<String>,
        selected: usize,
        hint: impl Into<String>,
    ) -> Field {
        Field::of(label, hint, FieldKind::Choice { options, selected })
    }

    pub fn multi(
        label: &'static str,
        options: Vec<String>,
        chosen: Vec<bool>,
        hint: impl Into<String>,
    ) -> Field {
        Field::of(label, hint, FieldKind::Multi { options, chosen, cursor: 0 })
    }

    pub fn pick(
        label: &'static str,
        header: Vec<&'static str>,
        rows: Vec<PickRow>,
        selected: usize,
    ) -> Field {
        let cursor = selected.min(rows.len().saturating_sub(1));
        Field::of(label, "", FieldKind::Pick { query: Input::default(), header, rows, cursor })
    }

    pub fn people(label: &'static str, directory: Vec<Person>, chosen: Vec<String>) -> Field {
        Field::of(label, "", FieldKind::People { directory, query: Input::default(), chosen, cursor: None })
    }

    pub fn placeholder(mut self, text: impl Into<String>) -> Field {
        self.placeholder = text.into();
        self
    }

    pub fn check(mut self, check: Check) -> Field {
        self.check = Some(check);
        self
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
            FieldKind::Pick { query, rows, cursor, .. } => pick_matches(query.value(), rows)
                .get(*cursor)
                .map(|&i| rows[i].key.clone())
                .unwrap_or_default(),
            FieldKind::People { chosen, .. } => chosen.join(","),
        }
    }

    pub fn values(&self) -> Vec<String> {
        match &self.kind {
            FieldKind::People { chosen, .. } => chosen.clone(),
            _ => {
                self.value().split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect()
            }
        }
    }

    /// What is wrong with the value now, if anything: the check's message, or a picker with nothing left.
    pub fn problem(&self) -> Option<String> {
        match &self.kind {
            FieldKind::Text(input) => {
                self.check.and_then(|check| check(input.value()).err().map(|e| e.message))
            }
            FieldKind::Pick { query, rows, .. } if pick_matches(query.value(), rows).is_empty() => {
                Some(if rows.is_empty() {
                    "there is nothing to choose from".to_string()
                } else {
                    format!("nothing matches `{}`: Esc clears the search", sanitize(query.value()))
                })
            }
            _ => None,
        }
    }

    /// What the person has entered, for telling whether anything was; moving through a list is not entering.
    fn entered(&self) -> Option<String> {
        match &self.kind {
            FieldKind::Pick { .. } => None,
            _ => Some(self.value()),
        }
    }

    /// The text input that typing goes to, if the field has one.
    pub fn input(&self) -> Option<&Input> {
        match &self.kind {
            FieldKind::Text(input) => Some(input),
            FieldKind::Pick { query, .. } | FieldKind::People { query, .. } => Some(query),
            _ => None,
        }
    }

    fn input_mut(&mut self) -> Option<&mut Input> {
        match &mut self.kind {
            FieldKind::Text(input) => Some(input),
            FieldKind::Pick { query, .. } | FieldKind::People { query, .. } => Some(query),
            _ => None,
        }
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

    /// Gives the field a key first; false leaves it to the form (moving between fields and steps).
    fn key(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match &mut self.kind {
            FieldKind::Text(input) => match key.code {
                KeyCode::Enter
                | KeyCode::Tab
                | KeyCode::BackTab
                | KeyCode::Up
                | KeyCode::Down
                | KeyCode::Esc => false,
                _ => {
                    input.handle_event(&Event::Key(key));
                    true
                }
            },
            FieldKind::Choice { options, selected } => match key.code {
                KeyCode::Char(c) if !ctrl && !matches!(c, ' ' | 'h' | 'l') => {
                    let c = c.to_lowercase().next().unwrap_or(c);
                    if let Some(i) = options.iter().position(|o| o.to_lowercase().starts_with(c)) {
                        *selected = i;
                    }
                    true
                }
                KeyCode::Right | KeyCode::Char(' ') | KeyCode::Char('l') => {
                    self.cycle(true);
                    true
                }
                KeyCode::Left | KeyCode::Char('h') => {
                    self.cycle(false);
                    true
                }
                _ => false,
            },
            FieldKind::Multi { chosen, cursor, .. } => match key.code {
                KeyCode::Char(' ') => {
                    if let Some(on) = chosen.get_mut(*cursor) {
                        *on = !*on;
                    }
                    true
                }
                KeyCode::Right | KeyCode::Char('l') => {
                    self.cycle(true);
                    true
                }
                KeyCode::Left | KeyCode::Char('h') => {
                    self.cycle(false);
                    true
                }
                _ => false,
            },
            FieldKind::Pick { query, rows, cursor, .. } => {
                let n = pick_matches(query.value(), rows).len();
                let last = n.saturating_sub(1);
                match key.code {
                    KeyCode::Up => *cursor = cursor.saturating_sub(1),
                    KeyCode::Char('p') if ctrl => *cursor = cursor.saturating_sub(1),
                    KeyCode::Down => *cursor = (*cursor + 1).min(last),
                    KeyCode::Char('n') if ctrl => *cursor = (*cursor + 1).min(last),
                    KeyCode::PageUp => *cursor = cursor.saturating_sub(PICK_ROWS),
                    KeyCode::PageDown => *cursor = (*cursor + PICK_ROWS).min(last),
                    KeyCode::Enter | KeyCode::Tab | KeyCode::BackTab => return false,
                    KeyCode::Esc if query.value().is_empty() => return false,
                    _ => {
                        // The highlighted row stays highlighted while the search still shows it.
                        let held = pick_matches(query.value(), rows).get(*cursor).copied();
                        if key.code == KeyCode::Esc {
                            query.reset();
                        } else {
                            query.handle_event(&Event::Key(key));
                        }
                        let now = pick_matches(query.value(), rows);
                        *cursor = held.and_then(|h| now.iter().position(|&i| i == h)).unwrap_or(0);
                    }
                }
                true
            }
            FieldKind::People { directory, query, chosen, cursor } => {
                let shown = people_matches(directory, query.value(), chosen).len().min(PEOPLE_ROWS);
                let rows = shown + chosen.len();
                match (key.code, *cursor) {
                    (KeyCode::Up, None) | (KeyCode::Down, None) if rows == 0 => false,
                    (KeyCode::Up, None) => false,
                    (KeyCode::Char('p'), None) if ctrl => false,
                    (KeyCode::Up, Some(0)) => {
                        *cursor = None;
                        true
                    }
                    (KeyCode::Char('p'), Some(0)) if ctrl => {
                        *cursor = None;
                        true
                    }
                    (KeyCode::Up, Some(i)) => {
                        *cursor = Some(i - 1);
                        true
                    }
                    (KeyCode::Char('p'), Some(i)) if ctrl => {
                        *cursor = Some(i - 1);
                        true
                    }
                    (KeyCode::Down, at) => {
                        *cursor = Some(at.map_or(0, |i| (i + 1).min(rows.saturating_sub(1))));
                        true
                    }
                    (KeyCode::Char('n'), at) if ctrl && rows > 0 => {
                        *cursor = Some(at.map_or(0, |i| (i + 1).min(rows - 1)));
                        true
                    }
                    (KeyCode::Enter | KeyCode::Char(' '), Some(i)) if i < shown => {
                        let upn = people_matches(directory, query.value(), chosen)[i].upn.clone();
                        chosen.push(upn);
                        if query.value().is_empty() {
                            let left = people_matches(directory, "", chosen).len().min(PEOPLE_ROWS);
                            *cursor = (left > 0).then(|| i.min(left - 1));
                        } else {
                            query.reset();
                            *cursor = None;
                        }
                        true
                    }
                    // Enter on a chosen person moves on rather than removing: a removal takes a deliberate key.
                    (KeyCode::Char(' ') | KeyCode::Delete | KeyCode::Backspace, Some(i))
                        if i >= shown && i - shown < chosen.len() =>
                    {
                        let at = i - shown;
                        chosen.remove(at);
                        let shown = people_matches(directory, query.value(), chosen).len().min(PEOPLE_ROWS);
                        *cursor = (!chosen.is_empty()).then(|| shown + at.min(chosen.len() - 1));
                        true
                    }
                    (KeyCode::Char(' '), Some(_)) => true,
                    (KeyCode::Char(' '), None) => true,
                    (KeyCode::Esc, _) if !query.value().is_empty() => {
                        query.reset();
                        *cursor = None;
                        true
                    }
                    (KeyCode::Esc, Some(_)) => {
                        *cursor = None;
                        true
                    }
                    (KeyCode::Enter | KeyCode::Tab | KeyCode::BackTab | KeyCode::Esc, _) => false,
                    _ => {
                        let before = query.value().to_string();
                        query.handle_event(&Event::Key(key));
                        if query.value() != before {
                            let found = !people_matches(directory, query.value(), chosen).is_empty();
                            *cursor = (found && !query.value().is_empty()).then_some(0);
                        }
                        true
                    }
                }
            }
        }
    }
}

/// The rows of a table picker whose key or any cell contains the query, ignoring case, as indexes.
pub fn pick_matches(query: &str, rows: &[PickRow]) -> Vec<usize> {
    let needle = query.trim().to_lowercase();
    let hit = |row: &PickRow| {
        needle.is_empty()
            || row.key.to_lowercase().contains(&needle)
            || row.cells.iter().any(|c| c.to_lowercase().contains(&needle))
    };
    (0..rows.len()).filter(|&i| hit(&rows[i])).collect()
}

/// The people not chosen yet whose UPN or name contains the query, ignoring case.
pub fn people_matches<'a>(directory: &'a [Person], query: &str, chosen: &[String]) -> Vec<&'a Person> {
    let needle = query.trim().to_lowercase();
    directory
        .iter()
        .filter(|p| !chosen.contains(&p.upn))
        .filter(|p| {
            needle.is_empty()
                || p.upn.to_lowercase().contains(&needle)
                || p.name.to_lowercase().contains(&needle)
        })
        .collect()
}

/// What a key did to a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKey {
    Handled,
    Submit,
    Close,
}

/// One step of a wizard: its fields are the next `len` fields of the form.
#[derive(Debug, Clone)]
pub struct Step {
    pub title: &'static str,
    /// What the step is about, above its fields.
    pub intro: Vec<String>,
    pub len: usize,
    /// Shown only while the field with this label has this value; otherwise skipped.
    pub when: Option<(&'static str, &'static str)>,
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
    /// Empty for a plain form; otherwise the wizard's steps, in order.
    pub steps: Vec<Step>,
    pub step: usize,
    /// Something was entered since the form opened.
    pub dirty: bool,
    /// The form edits something that exists: Enter or Ctrl-S saves it rather than submitting.
    pub saves: bool,
    /// Asking whether to throw away what was entered (y closes, n or Esc goes on editing).
    pub discarding: bool,
    /// Moving on was refused because of a field's problem: problems of empty fields show from now on.
    pub tried: bool,
    /// Runs after every change, to keep fields that depend on others (notes, options) current.
    pub on_change: Option<fn(&mut Form<P>)>,
}

impl<P> Form<P> {
    pub fn new(title: impl Into<String>, purpose: P) -> Self {
        Form {
            title: title.into(),
            intro: Vec::new(),
            fields: Vec::new(),
            focus: 0,
            error: None,
            busy: false,
            purpose,
            steps: Vec::new(),
            step: 0,
            dirty: false,
            saves: false,
            discarding: false,
            tried: false,
            on_change: None,
        }
    }

    pub fn intro(mut self, line: impl Into<String>) -> Self {
        self.intro.push(line.into());
        self
    }

    /// Adds a field, to the last step begun if this is a wizard.
    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        if let Some(step) = self.steps.last_mut() {
            step.len += 1;
        }
        self
    }

    /// Begins a step; the fields added next belong to it.
    pub fn step(mut self, title: &'static str) -> Self {
        self.steps.push(Step { title, intro: Vec::new(), len: 0, when: None });
        self
    }

    /// A line about the last step begun.
    pub fn step_intro(mut self, line: impl Into<String>) -> Self {
        if let Some(step) = self.steps.last_mut() {
            step.intro.push(line.into());
        }
        self
    }

    /// Shows the last step begun only while the field `label` has `value`.
    pub fn step_when(mut self, label: &'static str, value: &'static str) -> Self {
        if let Some(step) = self.steps.last_mut() {
            step.when = Some((label, value));
        }
        self
    }

    /// Marks a form that edits something that exists, so its keys say "saves".
    pub fn saving(mut self) -> Self {
        self.saves = true;
        self
    }

    pub fn on_change(mut self, hook: fn(&mut Form<P>)) -> Self {
        self.on_change = Some(hook);
        self.changed();
        self
    }

    fn changed(&mut self) {
        if let Some(hook) = self.on_change {
            hook(self);
        }
    }

    pub fn value(&self, label: &str) -> String {
        self.fields.iter().find(|f| f.label == label).map(Field::value).unwrap_or_default()
    }

    pub fn get(&self, label: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.label == label)
    }

    pub fn get_mut(&mut self, label: &str) -> Option<&mut Field> {
        self.fields.iter_mut().find(|f| f.label == label)
    }

    pub fn is_wizard(&self) -> bool {
        !self.steps.is_empty()
    }

    /// The fields shown now, as indexes: the current step's, or all of a plain form's.
    pub fn range(&self) -> Range<usize> {
        if self.steps.is_empty() {
            return 0..self.fields.len();
        }
        let start: usize = self.steps.iter().take(self.step).map(|s| s.len).sum();
        let len = self.steps.get(self.step).map_or(0, |s| s.len);
        start..(start + len).min(self.fields.len())
    }

    pub fn current_step(&self) -> Option<&Step> {
        self.steps.get(self.step)
    }

    /// Whether a step is part of the way through, given what has been chosen so far.
    pub fn shows(&self, step: usize) -> bool {
        self.steps.get(step).is_some_and(|s| s.when.is_none_or(|(label, value)| self.value(label) == value))
    }

    /// Whether Enter on this step submits rather than moving on.
    pub fn on_last_step(&self) -> bool {
        !(self.step + 1..self.steps.len()).any(|i| self.shows(i))
    }

    pub fn focused(&self) -> Option<&Field> {
        self.range().contains(&self.focus).then(|| &self.fields[self.focus])
    }

    fn focused_mut(&mut self) -> Option<&mut Field> {
        if self.range().contains(&self.focus) { self.fields.get_mut(self.focus) } else { None }
    }

    /// The first field shown now whose value has a problem.
    fn first_problem(&self) -> Option<usize> {
        self.range().find(|&i| self.fields[i].problem().is_some())
    }

    /// Whether a field's problem is worth showing yet: always once typed into, or after a refused Next.
    pub fn shows_problem(&self, field: &Field) -> bool {
        self.tried
            || field.input().is_none_or(|i| !i.value().is_empty())
            || matches!(field.kind, FieldKind::Pick { .. })
    }

    /// Moves on: to the next step shown, or submits after the last. A field with a problem holds it back.
    fn next(&mut self) -> FormKey {
        if let Some(bad) = self.first_problem() {
            self.focus = bad;
            self.tried = true;
            return FormKey::Handled;
        }
        match (self.step + 1..self.steps.len()).find(|&i| self.shows(i)) {
            Some(next) => {
                self.go_to(next);
                FormKey::Handled
            }
            None => FormKey::Submit,
        }
    }

    fn back(&mut self) -> FormKey {
        match (0..self.step).rev().find(|&i| self.shows(i)) {
            Some(previous) => {
                self.go_to(previous);
                FormKey::Handled
            }
            None => self.close(),
        }
    }

    fn go_to(&mut self, step: usize) {
        self.step = step;
        self.focus = self.range().start;
        self.error = None;
        self.tried = false;
    }

    /// Closes the form; with something typed it asks first, so one Esc loses no work.
    fn close(&mut self) -> FormKey {
        if self.dirty {
            self.discarding = true;
            FormKey::Handled
        } else {
            FormKey::Close
        }
    }

    fn submit(&mut self) -> FormKey {
        if self.is_wizard() {
            return self.next();
        }
        if let Some(bad) = self.first_problem() {
            self.focus = bad;
            self.tried = true;
            return FormKey::Handled;
        }
        FormKey::Submit
    }

    fn move_focus(&mut self, forward: bool) {
        let range = self.range();
        if range.is_empty() {
            return;
        }
        let n = range.len();
        let at = self.focus.saturating_sub(range.start).min(n - 1);
        self.focus = range.start + if forward { (at + 1) % n } else { (at + n - 1) % n };
    }

    pub fn key(&mut self, key: KeyEvent) -> FormKey {
        if self.busy {
            return FormKey::Handled;
        }
        if self.discarding {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => return FormKey::Close,
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => self.discarding = false,
                _ => {}
            }
            return FormKey::Handled;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('s') && !self.is_wizard() {
            return self.submit();
        }
        if let Some(field) = self.focused_mut() {
            let before = field.entered();
            if field.key(key) {
                if field.entered() != before {
                    self.dirty = true;
                }
                self.changed();
                return FormKey::Handled;
            }
        }
        let wizard = self.is_wizard();
        let result = match key.code {
            KeyCode::Esc | KeyCode::BackTab if wizard => self.back(),
            KeyCode::Esc => self.close(),
            KeyCode::Enter if ctrl => self.submit(),
            KeyCode::Enter if self.focus + 1 >= self.range().end => self.submit(),
            KeyCode::Enter | KeyCode::Tab | KeyCode::Down => {
                self.move_focus(true);
                FormKey::Handled
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.move_focus(false);
                FormKey::Handled
            }
            _ => FormKey::Handled,
        };
        self.changed();
        result
    }

    /// Pasted text goes into the focused input at its cursor, one line, without control characters.
    pub fn paste(&mut self, text: &str) {
        if self.busy || self.discarding {
            return;
        }
        let Some(field) = self.focused_mut() else { return };
        let Some(input) = field.input_mut() else { return };
        let clean: String = text.chars().filter(|c| !c.is_control()).collect();
        let clean = sanitize(&clean);
        if clean.is_empty() {
            return;
        }
        let at = input.cursor();
        let value = input.value();
        let split = value.char_indices().nth(at).map_or(value.len(), |(i, _)| i);
        let joined = format!("{}{}{}", &value[..split], clean, &value[split..]);
        *input = Input::new(joined).with_cursor(at + clean.chars().count());
        match &mut field.kind {
            FieldKind::Pick { cursor, .. } => *cursor = 0,
            FieldKind::People { directory, query, chosen, cursor } => {
                *cursor = (!people_matches(directory, query.value(), chosen).is_empty()).then_some(0);
            }
            _ => {}
        }
        if field.entered().is_some() {
            self.dirty = true;
        }
        self.changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(form: &mut Form<()>, code: KeyCode) -> FormKey {
        form.key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn typed(form: &mut Form<()>, text: &str) {
        for c in text.chars() {
            press(form, KeyCode::Char(c));
        }
    }

    fn directory() -> Vec<Person> {
        [
            ("alice@contoso.com", "Alice Fischer"),
            ("bob@contoso.com", "Bob Nakamura"),
            ("carol@contoso.com", "Carol Okafor"),
        ]
        .iter()
        .map(|(upn, name)| Person { upn: upn.to_string(), name: name.to_string() })
        .collect()
    }

    #[test]
    fn typing_goes_to_the_focused_field_and_enter_on_the_last_submits() {
        let mut form = Form::new("t", ()).field(Field::text("reason", "", "")).field(Field::choice(
            "mode",
            vec!["auto".into(), "manual".into()],
            0,
            "",
        ));
        typed(&mut form, "qjok");
        assert_eq!(form.value("reason"), "qjok", "q and j are text in an input");
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Handled);
        assert_eq!(form.focus, 1);
        press(&mut form, KeyCode::Right);
        assert_eq!(form.value("mode"), "manual");
        press(&mut form, KeyCode::Char('a'));
        assert_eq!(form.value("mode"), "auto", "a letter picks the option starting with it");
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Submit);
        assert_eq!(press(&mut form, KeyCode::Esc), FormKey::Handled, "something was typed: ask first");
        assert!(form.discarding);
        assert_eq!(press(&mut form, KeyCode::Char('y')), FormKey::Close);
    }

    #[test]
    fn esc_closes_a_form_at_once_when_nothing_was_typed() {
        let mut form = Form::new("t", ()).field(Field::text("reason", "", ""));
        press(&mut form, KeyCode::Tab);
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
    fn paste_goes_in_at_the_cursor() {
        let mut form = Form::new("t", ()).field(Field::text("name", "ad", ""));
        press(&mut form, KeyCode::Left);
        form.paste("bc");
        assert_eq!(form.value("name"), "abcd");
        typed(&mut form, "!");
        assert_eq!(form.value("name"), "abc!d");
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
        assert_eq!(form.get("roles").map(Field::values).unwrap_or_default(), vec!["Reader"]);
    }

    #[test]
    fn a_checked_field_holds_the_form_back() {
        let check: Check =
            |v| if v == "ok" { Ok(()) } else { Err(crate::domain::RuleError::invalid("not ok")) };
        let mut form =
            Form::new("t", ()).field(Field::text("a", "", "").check(check)).field(Field::text("b", "", ""));
        press(&mut form, KeyCode::Tab);
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Handled, "a's problem keeps the form open");
        assert_eq!(form.focus, 0, "and the focus goes to it");
        assert!(form.tried);
        typed(&mut form, "ok");
        press(&mut form, KeyCode::Tab);
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Submit);
    }

    #[test]
    fn people_are_found_by_any_part_and_added_and_removed() {
        let mut form = Form::new("t", ()).field(Field::people(
            "approvers",
            directory(),
            vec!["carol@contoso.com".into()],
        ));
        typed(&mut form, "NAKA");
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Handled, "Enter adds the highlighted result");
        assert_eq!(form.get("approvers").unwrap().values(), vec!["carol@contoso.com", "bob@contoso.com"]);
        let Some(FieldKind::People { query, cursor, .. }) = form.get("approvers").map(|f| &f.kind) else {
            panic!()
        };
        assert_eq!((query.value(), *cursor), ("", None), "the search starts over");
        // Empty search: everyone left is listed (alice), then the chosen (carol, bob).
        press(&mut form, KeyCode::Down);
        press(&mut form, KeyCode::Down);
        press(&mut form, KeyCode::Down);
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Submit, "Enter on a chosen person moves on");
        press(&mut form, KeyCode::Delete);
        assert_eq!(form.get("approvers").unwrap().values(), vec!["carol@contoso.com"]);
        assert_eq!(press(&mut form, KeyCode::Esc), FormKey::Handled, "Esc first leaves the list");
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Submit, "Enter on the search box moves on");
        typed(&mut form, "zzz");
        assert_eq!(press(&mut form, KeyCode::Char(' ')), FormKey::Handled, "nothing to add");
        assert_eq!(form.get("approvers").unwrap().values(), vec!["carol@contoso.com"]);
        assert_eq!(press(&mut form, KeyCode::Esc), FormKey::Handled, "Esc clears the search");
        assert_eq!(press(&mut form, KeyCode::Esc), FormKey::Handled, "people were changed: ask first");
        assert_eq!(press(&mut form, KeyCode::Char('y')), FormKey::Close);
    }

    #[test]
    fn a_picker_filters_as_you_type_and_moves_with_arrows() {
        let rows = ["fabrikam-crm", "fabrikam-analytics", "other-app"]
            .iter()
            .map(|k| PickRow { key: k.to_string(), cells: vec![k.to_string()] })
            .collect();
        let mut form = Form::new("t", ()).field(Field::pick("offer", vec!["OFFER"], rows, 0));
        press(&mut form, KeyCode::Down);
        assert_eq!(form.value("offer"), "fabrikam-analytics");
        typed(&mut form, "jqo");
        assert_eq!(form.value("offer"), "");
        assert!(form.fields[0].problem().is_some());
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Handled, "nothing to pick");
        press(&mut form, KeyCode::Esc);
        typed(&mut form, "other");
        assert_eq!(form.value("offer"), "other-app");
        press(&mut form, KeyCode::Esc);
        assert_eq!(form.value("offer"), "other-app", "clearing the search keeps the highlighted row");
        typed(&mut form, "fabrikam-crm");
        assert_eq!(form.value("offer"), "fabrikam-crm", "the key is searched too");
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Submit);
    }

    #[test]
    fn steps_go_forward_and_back_and_skip_what_does_not_apply() {
        let mut form = Form::new("t", ())
            .step("one")
            .field(Field::text("name", "", ""))
            .step("two")
            .field(Field::choice("extra", vec!["Yes".into(), "No".into()], 0, ""))
            .step("three")
            .step_when("extra", "Yes")
            .field(Field::text("more", "", ""))
            .step("review");
        typed(&mut form, "x");
        assert_eq!(press(&mut form, KeyCode::Enter), FormKey::Handled);
        assert_eq!((form.step, form.focus), (1, 1));
        press(&mut form, KeyCode::Char('n'));
        press(&mut form, KeyCode::Enter);
        assert_eq!(form.step, 3, "step three is skipped without extra");
        assert_eq!(press(&mut form, KeyCode::BackTab), FormKey::Handled);
        assert_eq!(form.step, 1, "and skipped on the way back too");
        press(&mut form, KeyCode::Esc);
        assert_eq!(form.step, 0);
        assert_eq!(form.value("name"), "x", "values are kept");
        assert_eq!(press(&mut form, KeyCode::Esc), FormKey::Handled, "something was typed: ask first");
        assert!(form.discarding);
        press(&mut form, KeyCode::Char('n'));
        assert!(!form.discarding);
        press(&mut form, KeyCode::Esc);
        assert_eq!(press(&mut form, KeyCode::Char('y')), FormKey::Close);
    }
}
