//! The rows of every list the dashboard shows, and which one is selected. The state and the
//! drawing both read rows from here, so they always agree on what row N is; the state owns the
//! selected row's id, so rows arriving, leaving or re-sorting never move the cursor to another
//! item, and drawing never decides what is selected.
//!
//! A list's rows are computed when what they come from changes (a snapshot, the filter, the order,
//! `m`, the clock passing an end) and kept in the state: a key or a frame over thousands of rows
//! reads them instead of filtering and sorting again.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
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
    rows(app, Which::Tab(tab)).iter().filter_map(|&i| app.data.apps.get(i)).collect()
}

fn apps_matching(app: &App, words: &[String]) -> Vec<usize> {
    positions(&app.data.apps, |a| {
        words.is_empty() || {
            let p = &a.policy;
            let names: Vec<&str> = p.approvers.iter().map(|u| app.data.display_name(u)).collect();
            let max = p.max_duration.to_string();
            let (approvers, names) = (p.approvers.join(" "), names.join(" "));
            let mode = mode(a);
            matches(words, &[&a.name, &a.offer, &a.publisher_tenant, mode, &max, &approvers, &names])
        }
    })
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
    rows(app, Which::Tab(Tab::Requests)).iter().filter_map(|&i| app.data.requests.get(i)).collect()
}

fn requests_matching(app: &App, words: &[String]) -> Vec<usize> {
    let pending = app.role() != Role::Publisher;
    let all = &app.data.requests;
    let mut rows = positions(all, |r| {
        (!pending || app.everything || app.can_decide(r))
            && (words.is_empty()
                || matches(
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
                ))
    });
    if pending {
        match app.sort {
            RequestSort::DecideBy => rows.sort_by_key(|&i| (all[i].decide_by, all[i].id)),
            RequestSort::Newest => rows.sort_by_key(|&i| std::cmp::Reverse((all[i].created_at, all[i].id))),
            RequestSort::Application => {
                rows.sort_by(|&a, &b| (&all[a].app, all[a].decide_by).cmp(&(&all[b].app, all[b].decide_by)))
            }
            RequestSort::Requester => {
                rows.sort_by_cached_key(|&i| {
                    (app.data.display_name(&all[i].requester).to_lowercase(), all[i].decide_by)
                });
            }
        }
    }
    rows
}

/// The access of tab 4 that has not ended, soonest end first, after its filter.
pub fn grants(app: &App) -> Vec<&AccessRequest> {
    rows(app, Which::Tab(Tab::Access)).iter().filter_map(|&i| app.data.grants.get(i)).collect()
}

fn grants_matching(app: &App, words: &[String]) -> Vec<usize> {
    let all = &app.data.grants;
    let mut rows = positions(all, |g| {
        g.end().is_some_and(|end| end > app.now)
            && (words.is_empty() || {
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
    });
    rows.sort_by_key(|&i| (all[i].end(), all[i].id));
    rows
}

/// The audit log of tab 5, newest first, after its filter.
pub fn audit(app: &App) -> Vec<&AuditRecord> {
    rows(app, Which::Tab(Tab::Activity)).iter().filter_map(|&i| app.data.audit.get(i)).collect()
}

fn audit_matching(app: &App, words: &[String]) -> Vec<usize> {
    positions(&app.data.audit, |a| {
        words.is_empty() || {
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
        }
    })
}

/// The user's notifications (tab 5's upper list), newest first, after that list's filter.
pub fn notifications(app: &App) -> Vec<&Notification> {
    rows(app, Which::Notes).iter().filter_map(|&i| app.data.notifications.get(i)).collect()
}

fn notifications_matching(app: &App, words: &[String]) -> Vec<usize> {
    positions(&app.data.notifications, |n| {
        words.is_empty() || matches(words, &[&app.ui.time.moment(n.at, app.now), &n.message])
    })
}

/// The positions of the items that pass, in order.
fn positions<T>(items: &[T], pass: impl Fn(&T) -> bool) -> Vec<usize> {
    items.iter().enumerate().filter(|(_, item)| pass(item)).map(|(i, _)| i).collect()
}

/// How many rows a list has before its filter: the filter's count says "3 of 40".
pub fn unfiltered(app: &App, which: Which) -> usize {
    match kept(app, which) {
        Some(rows) => rows.unfiltered,
        None => matching(app, which, &[]).len(),
    }
}

/// Which of the dashboard's lists: a tab's (tabs 1 and 2 list the same applications, each under
/// its own filter), or the notifications above tab 5's audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Tab(Tab),
    Notes,
}

impl Which {
    /// The list with the cursor on a tab.
    pub fn on(app: &App, tab: Tab) -> Which {
        if tab == Tab::Activity && app.on_notes { Which::Notes } else { Which::Tab(tab) }
    }

    fn slot(self) -> usize {
        match self {
            Which::Tab(tab) => tab.index(),
            Which::Notes => Tab::ALL.len(),
        }
    }

    fn state(self, app: &App) -> &ListState {
        match self {
            Which::Tab(tab) => &app.lists[tab.index()],
            Which::Notes => &app.notes,
        }
    }
}

/// What a list's rows are computed from: while it stays the same, so do they.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Basis {
    generation: u64,
    words: Vec<String>,
    sort: RequestSort,
    everything: bool,
    /// The quarter hour while a filter is on, since the filter also reads times: a time of day
    /// turns into a date at a local midnight, and every zone's midnight is on a UTC quarter hour.
    quarter: Option<i64>,
}

impl Basis {
    fn of(app: &App, which: Which) -> Basis {
        let words = which.state(app).needle();
        let quarter = (!words.is_empty()).then(|| app.now.timestamp().div_euclid(900));
        Basis { generation: app.generation(), words, sort: app.sort, everything: app.everything, quarter }
    }
}

/// A list's rows as positions in the snapshot, in the order shown, with their ids; kept in the
/// state from one change of what they come from to the next.
#[derive(Debug, Default)]
pub struct Rows {
    basis: Option<Basis>,
    /// The rows hold until this moment whatever else happens: the first end on the Access tab.
    until: Option<DateTime<Utc>>,
    at: Vec<usize>,
    keys: Vec<Key>,
    unfiltered: usize,
}

/// One `Rows` for each list, indexed by `Which::slot`.
pub type AllRows = [Rows; 6];

/// The rows kept for a list, when they still hold.
fn kept(app: &App, which: Which) -> Option<&Rows> {
    let rows = &app.rows[which.slot()];
    let holds =
        rows.basis.as_ref() == Some(&Basis::of(app, which)) && rows.until.is_none_or(|until| app.now < until);
    holds.then_some(rows)
}

/// A list's rows as positions: the kept ones, or computed now when they no longer hold (the state
/// keeps them up to date, so that happens only for a state driven without it, as in tests).
fn rows(app: &App, which: Which) -> Cow<'_, [usize]> {
    match kept(app, which) {
        Some(rows) => Cow::Borrowed(&rows.at),
        None => Cow::Owned(matching(app, which, &which.state(app).needle())),
    }
}

fn matching(app: &App, which: Which, words: &[String]) -> Vec<usize> {
    match which {
        Which::Tab(Tab::Applications | Tab::Settings) => apps_matching(app, words),
        Which::Tab(Tab::Requests) => requests_matching(app, words),
        Which::Tab(Tab::Access) => grants_matching(app, words),
        Which::Tab(Tab::Activity) => audit_matching(app, words),
        Which::Notes => notifications_matching(app, words),
    }
}

/// Computes a list's rows again when what they come from changed since they were kept.
pub fn update(app: &mut App, which: Which) {
    if kept(app, which).is_some() {
        return;
    }
    let basis = Basis::of(app, which);
    let at = matching(app, which, &basis.words);
    let unfiltered = if basis.words.is_empty() { at.len() } else { matching(app, which, &[]).len() };
    let keys = at.iter().map(|&i| key_at(app, which, i)).collect();
    let until = match which {
        Which::Tab(Tab::Access) => at.iter().filter_map(|&i| app.data.grants[i].end()).min(),
        _ => None,
    };
    app.rows[which.slot()] = Rows { basis: Some(basis), until, at, keys, unfiltered };
}

/// The id of the item at position `i` of a list's source: positions come from enumerating the
/// same snapshot, so they are in bounds.
fn key_at(app: &App, which: Which, i: usize) -> Key {
    let d = &app.data;
    match which {
        Which::Tab(Tab::Applications | Tab::Settings) => Key::Name(d.apps[i].name.clone()),
        Which::Tab(Tab::Requests) => Key::Id(d.requests[i].id),
        Which::Tab(Tab::Access) => Key::Id(d.grants[i].id),
        Which::Tab(Tab::Activity) => Key::Id(d.audit[i].id),
        Which::Notes => Key::Id(d.notifications[i].id),
    }
}

/// The ids of a list's rows, in the order they are shown.
pub fn keys(app: &App, which: Which) -> Cow<'_, [Key]> {
    match kept(app, which) {
        Some(rows) => Cow::Borrowed(&rows.keys),
        None => Cow::Owned(rows(app, which).iter().map(|&i| key_at(app, which, i)).collect()),
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

    /// Alice, approver of contoso-crm, with three pending requests and one grant ending at +30 s.
    fn loaded(now: DateTime<Utc>) -> App {
        use crate::tui::app::Ui;
        let ui = Ui {
            theme: crate::tui::theme::Theme::load(
                "default",
                &crate::tui::theme::Load { user_dir: None, truecolor: true },
            )
            .expect("the default theme"),
            keymap: crate::tui::keymap::Keymap::new(&Default::default()).expect("the default keys"),
            time: crate::domain::time_style::TimeStyle::utc(),
            bell: false,
            mouse: false,
            ascii: false,
        };
        let mut app = App::new(ui, now);
        app.on_snapshot(snapshot(now, &[1, 2, 3]));
        app
    }

    fn snapshot(now: DateTime<Utc>, pending: &[u64]) -> crate::tui::data::Snapshot {
        use crate::domain::*;
        use chrono::TimeDelta;
        let alice = User {
            upn: "alice@contoso.com".into(),
            display_name: "Alice".into(),
            tenant: "contoso".into(),
            admin: true,
            login: None,
        };
        let request = |id: u64, state| AccessRequest {
            id,
            app: "contoso-crm".into(),
            requester: "dave@fabrikam.com".into(),
            roles: vec!["Reader".into()],
            start: now,
            duration: Span::from_secs(30),
            justification: format!("reason {id}"),
            ticket: None,
            // The newest has the most time left to decide.
            created_at: now + TimeDelta::seconds(id as i64),
            decide_by: now + TimeDelta::hours(id as i64),
            state,
            decision: None,
            granted_from: None,
            closed: None,
            started: false,
        };
        let mut grant = request(9, RequestState::Approved);
        grant.granted_from = Some(now);
        grant.decision = Some(Verdict { by: alice.upn.clone(), at: now, reason: "ok".into() });
        crate::tui::data::Snapshot {
            me: Some(alice.clone()),
            tenants: vec![Tenant {
                id: "contoso".into(),
                kind: TenantKind::Customer,
                name: "Contoso".into(),
                license: Some(License::P2),
            }],
            users: vec![alice],
            apps: vec![Application {
                name: "contoso-crm".into(),
                offer: "crm".into(),
                customer_tenant: "contoso".into(),
                publisher_tenant: "fabrikam".into(),
                resource_group: "mrg-crm".into(),
                policy: JitPolicy {
                    enabled: true,
                    mode: ApprovalMode::ManualApprove,
                    max_duration: Span::from_hours(8),
                    approvers: vec!["alice@contoso.com".into()],
                    request_timeout: Span::from_hours(24),
                },
                deployed_by: "alice@contoso.com".into(),
                deployed_at: now,
            }],
            requests: pending.iter().map(|&id| request(id, RequestState::Pending)).collect(),
            grants: vec![grant],
            ..Default::default()
        }
    }

    fn shown(app: &App, which: Which) -> Vec<u64> {
        assert!(kept(app, which).is_some(), "the state keeps {which:?}'s rows up to date");
        keys(app, which).iter().map(|k| if let Key::Id(id) = k { *id } else { 0 }).collect()
    }

    fn press(app: &mut App, c: char) {
        app.on_key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(c)));
    }

    #[test]
    fn kept_rows_follow_every_change_they_come_from() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").expect("a time").to_utc();
        let mut app = loaded(now);
        let requests = Which::Tab(Tab::Requests);
        assert_eq!(shown(&app, requests), [1, 2, 3], "decide-by, soonest first");
        press(&mut app, 's');
        assert_eq!(shown(&app, requests), [3, 2, 1], "newest first");
        app.on_snapshot(snapshot(now, &[1, 2, 3, 4]));
        assert_eq!(shown(&app, requests), [4, 3, 2, 1], "a new snapshot's rows");
        press(&mut app, '/');
        press(&mut app, '2');
        assert_eq!(shown(&app, requests), [2], "the filter's rows");
        assert_eq!(unfiltered(&app, requests), 4);
        let access = Which::Tab(Tab::Access);
        app.tick(now + chrono::TimeDelta::seconds(29));
        assert_eq!(shown(&app, access), [9]);
        app.tick(now + chrono::TimeDelta::seconds(30));
        assert_eq!(shown(&app, access), Vec::<u64>::new(), "access that ended left");
    }

    #[test]
    fn scrolling_moves_the_offset_only_as_far_as_keeps_the_cursor_in_view() {
        assert_eq!(scrolled(0, 3, 5, 20), 0);
        assert_eq!(scrolled(0, 7, 5, 20), 3);
        assert_eq!(scrolled(10, 4, 5, 20), 4);
        assert_eq!(scrolled(18, 2, 5, 3), 2, "a list that shrank pulls the offset back");
    }
}
