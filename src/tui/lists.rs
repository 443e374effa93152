//! Which row of each list is selected, where the list sits on screen, and what a row that left
//! says. The state owns the selected row's id, so rows arriving, leaving or re-sorting never move
//! the cursor to another item, and drawing never decides what is selected; the rows themselves,
//! which the state and the drawing both read, are in `rows`.

use tui_input::Input;

use super::app::{App, Tab};
use crate::domain::{Action, Target};

/// A filter's words, lower-case.
pub fn words(filter: &str) -> Vec<String> {
    filter.split_whitespace().map(str::to_lowercase).collect()
}

/// What identifies a row across snapshots: an application by name, anything else by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Id(u64),
    Name(String),
}

/// Where a frame drew the list on screen: how many rows it shows (the page for PgUp/PgDn and for
/// keeping the cursor in view) and the screen row of its first one (for the mouse). Drawing returns
/// it and the event loop hands it to the state, so drawing itself changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub rows: usize,
    pub top: u16,
}

impl Default for Window {
    /// Until a first frame says otherwise.
    fn default() -> Self {
        Window { rows: 10, top: 0 }
    }
}

/// A list's selection, scroll position and filter.
#[derive(Debug, Default)]
pub struct ListState {
    /// The selected row's id; `None` only while the list is empty.
    pub selected: Option<Key>,
    /// Where the selected row is in the list now: kept in step with `selected` by the state, and
    /// where its neighbour is found when it leaves.
    pub at: usize,
    /// The first row on screen. The state moves it to keep the cursor in view; drawing reads it.
    pub offset: usize,
    pub filter: Input,
    pub filtering: bool,
}

impl ListState {
    /// The filter's words, lower-case: a row matches when every word is in one of its columns.
    pub fn needle(&self) -> Vec<String> {
        words(self.filter.value())
    }

    /// Selects the row at `at` of `keys` (clamped to the list).
    pub fn select_at(&mut self, keys: &[Key], at: usize) {
        self.at = at.min(keys.len().saturating_sub(1));
        self.selected = keys.get(self.at).cloned();
    }

    /// Finds the selected id again in a list that changed. Returns the id that left when it is no
    /// longer there; the cursor is then on its neighbour (the row that took its place, or the one
    /// above when it was last).
    pub fn follow(&mut self, keys: &[Key]) -> Option<Key> {
        match self.selected.as_ref().and_then(|k| keys.iter().position(|x| x == k)) {
            Some(at) => {
                self.at = at;
                None
            }
            None => {
                let left = self.selected.take();
                self.select_at(keys, self.at);
                left
            }
        }
    }

    /// Moves the first row on screen just enough to show the cursor in a view of `visible` rows.
    pub fn scroll(&mut self, visible: usize, len: usize) {
        self.offset = scrolled(self.offset, self.at, visible, len);
    }
}

/// The first row on screen for a cursor at `at`, moving `offset` as little as keeps it in view.
pub fn scrolled(offset: usize, at: usize, visible: usize, len: usize) -> usize {
    let at = at.min(len.saturating_sub(1));
    let offset = offset.min(len.saturating_sub(1));
    if at < offset {
        at
    } else if visible > 0 && at >= offset + visible {
        at + 1 - visible
    } else {
        offset
    }
}

/// "request 10 left: approved by Bob": what left a tab's list and why, from the snapshot it left
/// in (the JIT settings tab lists the same applications and leaves it to tab 1). Nothing is said of
/// what the user did themselves: their own toast already says it.
pub fn departure(app: &App, tab: Tab, key: &Key) -> Option<String> {
    let (what, id) = match (tab, key) {
        (Tab::Requests, Key::Id(id)) => ("request", *id),
        (Tab::Access, Key::Id(id)) => ("access", *id),
        (Tab::Applications, Key::Name(name)) => {
            return Some(format!(
                "application {} left: it is no longer deployed to you",
                super::view::fmt::safe(name)
            ));
        }
        _ => return None,
    };
    let (why, by) = settled(app, id).unwrap_or_else(|| {
        (if tab == Tab::Requests { "no longer pending" } else { "it ended" }.to_string(), None)
    });
    let me = app.data.me.as_ref().map(|u| u.upn.as_str());
    if by.is_some() && by == me {
        return None;
    }
    Some(format!("{what} {id} left: {why}"))
}

/// How request `id` was last settled ("approved by Bob", "timed out undecided") and by whom, from
/// the snapshot's grants and audit log; the text is safe for the terminal.
pub fn settled(app: &App, id: u64) -> Option<(String, Option<&str>)> {
    let record = app.data.audit.iter().find(|a| a.target == Target::Request(id) && settles(a.action));
    let (verb, by) = match record {
        Some(a) => (
            match a.action {
                Action::RequestApproved => "approved by",
                Action::RequestDenied => "denied by",
                Action::RequestCanceled => "cancelled by",
                Action::AccessRevoked => "revoked by",
                Action::RequestTimedOut => "timed out undecided",
                _ => "ended",
            },
            Some(a.actor.as_str()),
        ),
        None => {
            let grant = app.data.grants.iter().find(|g| g.id == id)?;
            ("approved by", grant.decision.as_ref().map(|d| d.by.as_str()))
        }
    };
    let text = match by {
        Some(by) if verb.ends_with(" by") => format!("{verb} {}", app.data.display_name(by)),
        _ => verb.trim_end_matches(" by").to_string(),
    };
    Some((super::view::fmt::safe(&text), by))
}

/// Whether an audit action takes a request off a list.
fn settles(action: Action) -> bool {
    matches!(
        action,
        Action::RequestApproved
            | Action::RequestDenied
            | Action::RequestCanceled
            | Action::RequestTimedOut
            | Action::AccessExpired
            | Action::AccessRevoked
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ids: &[u64]) -> Vec<Key> {
        ids.iter().map(|&i| Key::Id(i)).collect()
    }

    fn on(keys: &[Key], id: u64) -> ListState {
        let mut list = ListState::default();
        list.select_at(keys, keys.iter().position(|k| *k == Key::Id(id)).unwrap_or(0));
        list
    }

    #[test]
    fn the_selection_stays_on_its_id_when_rows_arrive_above_it() {
        let before = ids(&[12, 11, 10]);
        let mut list = on(&before, 10);
        assert_eq!(list.follow(&ids(&[15, 14, 13, 12, 11, 10])), None);
        assert_eq!((list.selected, list.at), (Some(Key::Id(10)), 5));
    }

    #[test]
    fn the_selection_stays_on_its_id_when_rows_re_sort() {
        let mut list = on(&ids(&[1, 2, 3, 4]), 2);
        assert_eq!(list.follow(&ids(&[4, 3, 2, 1])), None);
        assert_eq!((list.selected, list.at), (Some(Key::Id(2)), 2));
    }

    #[test]
    fn a_departure_moves_the_cursor_to_its_neighbour_and_says_which_left() {
        let mut list = on(&ids(&[1, 2, 3]), 2);
        assert_eq!(list.follow(&ids(&[1, 3])), Some(Key::Id(2)));
        assert_eq!(list.selected, Some(Key::Id(3)), "the row that took its place");
        let mut last = on(&ids(&[1, 2, 3]), 3);
        assert_eq!(last.follow(&ids(&[1, 2])), Some(Key::Id(3)));
        assert_eq!(last.selected, Some(Key::Id(2)), "the one above when it was last");
        let mut alone = on(&ids(&[7]), 7);
        assert_eq!(alone.follow(&[]), Some(Key::Id(7)));
        assert_eq!(alone.selected, None);
        assert_eq!(alone.follow(&ids(&[8])), None, "an empty list that fills selects without a departure");
        assert_eq!(alone.selected, Some(Key::Id(8)));
    }

    #[test]
    fn scrolling_moves_the_offset_only_as_far_as_keeps_the_cursor_in_view() {
        assert_eq!(scrolled(0, 3, 5, 20), 0);
        assert_eq!(scrolled(0, 7, 5, 20), 3);
        assert_eq!(scrolled(10, 4, 5, 20), 4);
        assert_eq!(scrolled(18, 2, 5, 3), 2, "a list that shrank pulls the offset back");
    }
}
