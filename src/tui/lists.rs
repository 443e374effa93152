//! The rows of every list the dashboard shows, and which one is selected. The state and the
//! drawing both read rows from here, so they always agree on what row N is; the state owns the
//! selected row's id, so rows arriving, leaving or re-sorting never move the cursor to another
//! item, and drawing never decides what is selected.

use tui_input::Input;

use super::app::{App, Tab};
use super::data::Role;
use crate::domain::{AccessRequest, Action, Application, ApprovalMode, AuditRecord, Notification, Target};

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

/// A filter's words, lower-case.
fn words(filter: &str) -> Vec<String> {
    filter.split_whitespace().map(str::to_lowercase).collect()
}

/// Whether every word (already lower-case) is in one of the texts: `dave crm` finds Dave's
/// requests on contoso-crm, whichever columns hold each word.
pub fn matches(words: &[String], texts: &[&str]) -> bool {
    if words.is_empty() {
        return true;
    }
    let texts: Vec<String> = texts.iter().map(|t| t.to_lowercase()).collect();
    words.iter().all(|w| texts.iter().any(|t| t.contains(w.as_str())))
}

/// The applications (tab 1, and the list of tab 2), after that tab's filter.
pub fn apps(app: &App, tab: Tab) -> Vec<&Application> {
    apps_matching(app, &app.lists[tab.index()].needle())
}

fn apps_matching<'a>(app: &'a App, words: &[String]) -> Vec<&'a Application> {
    app.data
        .apps
        .iter()
        .filter(|a| {
            let p = &a.policy;
            let names: Vec<&str> = p.approvers.iter().map(|u| app.data.display_name(u)).collect();
            let max = p.max_duration.to_string();
            let (approvers, names) = (p.approvers.join(" "), names.join(" "));
            let mode = mode(a);
            matches(words, &[&a.name, &a.offer, &a.publisher_tenant, mode, &max, &approvers, &names])
        })
        .collect()
}

/// The orders pending requests can be shown in; `s` cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestSort {
    /// The least time left to decide first: what is urgent comes first.
    #[default]
    DecideBy,
    Newest,
    Application,
    Requester,
}

impl RequestSort {
    pub fn next(self) -> RequestSort {
        match self {
            RequestSort::DecideBy => RequestSort::Newest,
            RequestSort::Newest => RequestSort::Application,
            RequestSort::Application => RequestSort::Requester,
            RequestSort::Requester => RequestSort::DecideBy,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RequestSort::DecideBy => "decide-by",
            RequestSort::Newest => "newest",
            RequestSort::Application => "application",
            RequestSort::Requester => "requester",
        }
    }
}

/// How an application's requests are approved, as its JIT column says it.
pub fn mode(a: &Application) -> &'static str {
    match (a.policy.enabled, a.policy.mode) {
        (false, _) => "off",
        (true, ApprovalMode::AutoApprove) => "auto",
        (true, ApprovalMode::ManualApprove) => "manual",
    }
}

/// The requests of tab 3, after its filter. An approver's pending requests come in the order
/// chosen with `s`, and only those they can decide unless `m` asked for everything they can see;
/// a publisher's own requests stay newest first.
pub fn requests(app: &App) -> Vec<&AccessRequest> {
    requests_matching(app, &app.lists[Tab::Requests.index()].needle())
}

fn requests_matching<'a>(app: &'a App, words: &[String]) -> Vec<&'a AccessRequest> {
    let pending = app.role() != Role::Publisher;
    let mut rows: Vec<&AccessRequest> = app
        .data
        .requests
        .iter()
        .filter(|r| !pending || app.everything || app.can_decide(r))
        .filter(|r| {
            matches(
                words,
                &[
                    &r.id.to_string(),
                    &r.app,
                    &r.requester,
                    app.data.display_name(&r.requester),
                    &r.justification,
                    r.state.name(),
                    &r.roles.join(" "),
                    &app.ui.time.moment(r.start, app.now),
                    &r.duration.to_string(),
                ],
            )
        })
        .collect();
    if pending {
        match app.sort {
            RequestSort::DecideBy => rows.sort_by_key(|r| (r.decide_by, r.id)),
            RequestSort::Newest => rows.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id))),
            RequestSort::Application => {
                rows.sort_by(|a, b| (&a.app, a.decide_by).cmp(&(&b.app, b.decide_by)))
            }
            RequestSort::Requester => rows.sort_by(|a, b| {
                let name = |r: &AccessRequest| app.data.display_name(&r.requester).to_lowercase();
                (name(a), a.decide_by).cmp(&(name(b), b.decide_by))
            }),
        }
    }
    rows
}

/// The access of tab 4 that has not ended, soonest end first, after its filter.
pub fn grants(app: &App) -> Vec<&AccessRequest> {
    grants_matching(app, &app.lists[Tab::Access.index()].needle())
}

fn grants_matching<'a>(app: &'a App, words: &[String]) -> Vec<&'a AccessRequest> {
    let mut rows: Vec<&AccessRequest> = app
        .data
        .grants
        .iter()
        .filter(|g| g.end().is_some_and(|end| end > app.now))
        .filter(|g| {
            let by = g.decision.as_ref().map_or("", |d| d.by.as_str());
            let reason = g.decision.as_ref().map_or("", |d| d.reason.as_str());
            let texts = [
                &g.id.to_string(),
                &g.app,
                &g.requester,
                app.data.display_name(&g.requester),
                &g.roles.join(" "),
                by,
                app.data.display_name(by),
                reason,
            ];
            matches(words, &texts)
        })
        .collect();
    rows.sort_by_key(|g| (g.end(), g.id));
    rows
}

/// The audit log of tab 5, newest first, after its filter.
pub fn audit(app: &App) -> Vec<&AuditRecord> {
    audit_matching(app, &app.lists[Tab::Activity.index()].needle())
}

fn audit_matching<'a>(app: &'a App, words: &[String]) -> Vec<&'a AuditRecord> {
    app.data
        .audit
        .iter()
        .filter(|a| {
            let target = a.target.to_string();
            let who = app.data.display_name(&a.actor);
            let texts = [
                &app.ui.time.moment_secs(a.at, app.now),
                &a.actor,
                who,
                a.action.name(),
                &target,
                a.before.as_deref().unwrap_or(""),
                a.after.as_deref().unwrap_or(""),
                a.reason.as_deref().unwrap_or(""),
            ];
            matches(words, &texts)
        })
        .collect()
}

/// The user's notifications (tab 5's upper list), newest first, after that list's filter.
pub fn notifications(app: &App) -> Vec<&Notification> {
    notifications_matching(app, &app.notes.needle())
}

fn notifications_matching<'a>(app: &'a App, words: &[String]) -> Vec<&'a Notification> {
    app.data
        .notifications
        .iter()
        .filter(|n| matches(words, &[&app.ui.time.moment(n.at, app.now), &n.message]))
        .collect()
}

/// How many rows a tab's list has before its filter: the filter's count says "3 of 40".
pub fn unfiltered(app: &App, tab: Tab) -> usize {
    match tab {
        Tab::Applications | Tab::Settings => apps_matching(app, &[]).len(),
        Tab::Requests => requests_matching(app, &[]).len(),
        Tab::Access => grants_matching(app, &[]).len(),
        Tab::Activity => audit_matching(app, &[]).len(),
    }
}

/// The ids of a tab's rows, in the order they are shown.
pub fn keys(app: &App, tab: Tab) -> Vec<Key> {
    match tab {
        Tab::Applications | Tab::Settings => {
            apps(app, tab).iter().map(|a| Key::Name(a.name.clone())).collect()
        }
        Tab::Requests => requests(app).iter().map(|r| Key::Id(r.id)).collect(),
        Tab::Access => grants(app).iter().map(|g| Key::Id(g.id)).collect(),
        Tab::Activity if app.on_notes => notifications(app).iter().map(|n| Key::Id(n.id)).collect(),
        Tab::Activity => audit(app).iter().map(|a| Key::Id(a.id)).collect(),
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
    fn every_word_must_be_in_some_column() {
        let dave_crm = words("  Dave CRM ");
        assert!(matches(&dave_crm, &["contoso-crm", "Dave Moreau"]));
        assert!(!matches(&dave_crm, &["contoso-crm", "Erin Lindqvist"]), "dave is in no column");
        assert!(matches(&words(" "), &["anything"]), "no words match everything");
        assert!(matches(&words("10"), &["10", "contoso-crm"]), "ids are columns too");
    }

    #[test]
    fn scrolling_moves_the_offset_only_as_far_as_keeps_the_cursor_in_view() {
        assert_eq!(scrolled(0, 3, 5, 20), 0);
        assert_eq!(scrolled(0, 7, 5, 20), 3);
        assert_eq!(scrolled(10, 4, 5, 20), 4);
        assert_eq!(scrolled(18, 2, 5, 3), 2, "a list that shrank pulls the offset back");
    }
}
