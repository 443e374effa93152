//! Which rows each list shows, in which order: the filter, the sort and who may decide what. The
//! rows are computed when what they come from changes (a snapshot, the filter, the order, `m`, the
//! clock passing an end) and kept in the state, so a key or a frame over thousands of rows reads
//! them instead of filtering and sorting again. What a filter searches in each row is kept too,
//! lower-cased once per snapshot and day, so typing a filter searches and does not format.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::app::{App, Tab};
use super::data::Role;
use super::lists::{Key, ListState};
use crate::domain::{AccessRequest, Application, ApprovalMode, AuditRecord, Notification};

/// Which of the dashboard's lists: a tab's (tabs 1 and 2 list the same applications, each under
/// its own filter), or the notifications above tab 5's audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The list a tab shows.
    Tab(Tab),
    /// The notifications above the audit log of tab 5.
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

    /// How many items the list's source holds, before anything is left out.
    fn source_len(self, app: &App) -> usize {
        let d = &app.data;
        match self {
            Which::Tab(Tab::Applications | Tab::Settings) => d.apps.len(),
            Which::Tab(Tab::Requests) => d.requests.len(),
            Which::Tab(Tab::Access) => d.grants.len(),
            Which::Tab(Tab::Activity) => d.audit.len(),
            Which::Notes => d.notifications.len(),
        }
    }
}

/// The orders pending requests can be shown in; `s` cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestSort {
    /// The least time left to decide first: what is urgent comes first.
    #[default]
    DecideBy,
    /// The most recently made first.
    Newest,
    /// By application name, then the least time left.
    Application,
    /// By the requester's display name, ignoring case, then the least time left.
    Requester,
}

impl RequestSort {
    /// The order `s` switches to from this one; after the last comes the first again.
    pub fn next(self) -> RequestSort {
        match self {
            RequestSort::DecideBy => RequestSort::Newest,
            RequestSort::Newest => RequestSort::Application,
            RequestSort::Application => RequestSort::Requester,
            RequestSort::Requester => RequestSort::DecideBy,
        }
    }

    /// The order's word in the title of tab 3 ("by decide-by").
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

/// Whether every word (already lower-case) is in one column of a row's haystack: `dave crm` finds
/// Dave's requests on contoso-crm, whichever columns hold each word.
fn matches(words: &[String], haystack: &str) -> bool {
    words.iter().all(|w| haystack.contains(w.as_str()))
}

/// What a filter searches in item `i` of a list's source: its columns, lower-case, one per line. A
/// word never holds a line break, so a word found is found within one column. Positions come from
/// enumerating the same snapshot, so they are in bounds.
fn haystack(app: &App, which: Which, i: usize) -> String {
    let d = &app.data;
    let columns: Vec<String> = match which {
        Which::Tab(Tab::Applications | Tab::Settings) => {
            let a = &d.apps[i];
            let p = &a.policy;
            let names = d.approver_names(p);
            vec![
                a.name.clone(),
                a.offer.clone(),
                a.publisher_tenant.clone(),
                mode(a).into(),
                p.max_duration.to_string(),
                p.approvers.join(" "),
                p.approver_groups.join(" "),
                names.join(" "),
            ]
        }
        Which::Tab(Tab::Requests) => {
            let r = &d.requests[i];
            vec![
                r.id.to_string(),
                r.app.clone(),
                r.requester.clone(),
                d.display_name(&r.requester).into(),
                r.justification.clone(),
                r.state.name().into(),
                r.roles.join(" "),
                app.ui.time.moment(r.start, app.now),
                r.duration.to_string(),
            ]
        }
        Which::Tab(Tab::Access) => {
            let g = &d.grants[i];
            let by = g.decision.as_ref().map_or("", |d| d.by.as_str());
            let reason = g.decision.as_ref().map_or("", |d| d.reason.as_str());
            vec![
                g.id.to_string(),
                g.app.clone(),
                g.requester.clone(),
                d.display_name(&g.requester).into(),
                g.roles.join(" "),
                by.into(),
                d.display_name(by).into(),
                reason.into(),
            ]
        }
        Which::Tab(Tab::Activity) => {
            let a = &d.audit[i];
            vec![
                app.ui.time.moment_secs(a.at, app.now),
                a.actor.clone(),
                d.display_name(&a.actor).into(),
                a.action.name().into(),
                a.target.to_string(),
                a.before.clone().unwrap_or_default(),
                a.after.clone().unwrap_or_default(),
                a.reason.clone().unwrap_or_default(),
            ]
        }
        Which::Notes => {
            let n = &d.notifications[i];
            vec![app.ui.time.moment(n.at, app.now), n.message.clone()]
        }
    };
    columns.join("\n").to_lowercase()
}

/// Whether item `i` of a list's source passes the list's own rule, before any filter: pending
/// requests this user can decide (unless `m` asked for everything), access that has not ended.
fn admitted(app: &App, which: Which, i: usize) -> bool {
    let d = &app.data;
    match which {
        Which::Tab(Tab::Requests) => {
            app.role() == Role::Publisher || !app.only_mine || app.can_decide(&d.requests[i])
        }
        Which::Tab(Tab::Access) => d.grants[i].end().is_some_and(|end| end > app.now),
        _ => true,
    }
}

/// The positions of a list's rows, in the order shown: what the list admits and every word of the
/// filter finds. `haystacks`, when given, are the list's kept haystacks; otherwise they are made
/// here.
fn matching(app: &App, which: Which, words: &[String], haystacks: Option<&[String]>) -> Vec<usize> {
    let found = |i: usize| {
        words.is_empty()
            || match haystacks.and_then(|h| h.get(i)) {
                Some(h) => matches(words, h),
                None => matches(words, &haystack(app, which, i)),
            }
    };
    let mut rows: Vec<usize> =
        (0..which.source_len(app)).filter(|&i| admitted(app, which, i) && found(i)).collect();
    match which {
        Which::Tab(Tab::Requests) if app.role() != Role::Publisher => {
            sort_requests(app, &app.data.requests, &mut rows)
        }
        Which::Tab(Tab::Access) => {
            let all = &app.data.grants;
            rows.sort_by_key(|&i| (all[i].end(), all[i].id));
        }
        _ => {}
    }
    rows
}

/// Pending requests in the order chosen with `s`.
fn sort_requests(app: &App, all: &[AccessRequest], rows: &mut [usize]) {
    match app.sort {
        RequestSort::DecideBy => rows.sort_by_key(|&i| (all[i].decide_by, all[i].id)),
        RequestSort::Newest => rows.sort_by_key(|&i| std::cmp::Reverse((all[i].created_at, all[i].id))),
        RequestSort::Application => {
            rows.sort_by(|&a, &b| (&all[a].app, all[a].decide_by).cmp(&(&all[b].app, all[b].decide_by)))
        }
        RequestSort::Requester => rows.sort_by_cached_key(|&i| {
            (app.data.display_name(&all[i].requester).to_lowercase(), all[i].decide_by)
        }),
    }
}

/// The applications (tab 1, and the list of tab 2), after that tab's filter.
pub fn apps(app: &App, tab: Tab) -> Vec<&Application> {
    rows(app, Which::Tab(tab)).iter().filter_map(|&i| app.data.apps.get(i)).collect()
}

/// The requests of tab 3, after its filter. An approver's pending requests come in the order
/// chosen with `s`, and only those they can decide unless `m` asked for everything they can see;
/// a publisher's own requests stay newest first.
pub fn requests(app: &App) -> Vec<&AccessRequest> {
    rows(app, Which::Tab(Tab::Requests)).iter().filter_map(|&i| app.data.requests.get(i)).collect()
}

/// The access of tab 4 that has not ended, soonest end first, after its filter.
pub fn grants(app: &App) -> Vec<&AccessRequest> {
    rows(app, Which::Tab(Tab::Access)).iter().filter_map(|&i| app.data.grants.get(i)).collect()
}

/// The audit log of tab 5, newest first, after its filter.
pub fn audit(app: &App) -> Vec<&AuditRecord> {
    rows(app, Which::Tab(Tab::Activity)).iter().filter_map(|&i| app.data.audit.get(i)).collect()
}

/// The user's notifications (tab 5's upper list), newest first, after that list's filter.
pub fn notifications(app: &App) -> Vec<&Notification> {
    rows(app, Which::Notes).iter().filter_map(|&i| app.data.notifications.get(i)).collect()
}

/// The ids of a list's rows, in the order they are shown.
pub fn keys(app: &App, which: Which) -> Cow<'_, [Key]> {
    match kept(app, which) {
        Some(rows) => Cow::Borrowed(&rows.keys),
        None => Cow::Owned(rows(app, which).iter().map(|&i| key_at(app, which, i)).collect()),
    }
}

/// How many rows a list has before its filter: the filter's count says "3 of 40".
pub fn unfiltered(app: &App, which: Which) -> usize {
    match kept(app, which) {
        Some(rows) => rows.unfiltered,
        None => (0..which.source_len(app)).filter(|&i| admitted(app, which, i)).count(),
    }
}

/// The id of item `i` of a list's source.
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

/// What a list's rows are computed from: while it stays the same, so do they.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Basis {
    generation: u64,
    words: Vec<String>,
    sort: RequestSort,
    only_mine: bool,
    /// The shown zone's day while a filter is on, since the filter also reads times.
    day: Option<String>,
}

impl Basis {
    fn of(app: &App, which: Which) -> Basis {
        let words = which.state(app).needle();
        let day = (!words.is_empty()).then(|| app.ui.time.day(app.now));
        Basis { generation: app.generation(), words, sort: app.sort, only_mine: app.only_mine, day }
    }
}

/// A list's rows as positions in the snapshot, in the order shown, with their ids and haystacks;
/// kept in the state from one change of what they come from to the next.
#[derive(Debug, Default)]
pub struct Rows {
    basis: Option<Basis>,
    /// The rows hold until this moment whatever else happens: the first end on the Access tab.
    until: Option<DateTime<Utc>>,
    at: Vec<usize>,
    keys: Vec<Key>,
    unfiltered: usize,
    /// Every item's haystack, by position in the source, made when a filter is first typed, and
    /// the snapshot and day they were made for.
    haystacks: Vec<String>,
    made_for: Option<(u64, String)>,
}

/// One `Rows` for each list, indexed by `Which::slot`: one per tab, and the notifications.
pub type AllRows = [Rows; Tab::ALL.len() + 1];

/// The rows kept for a list, when they still hold.
fn kept(app: &App, which: Which) -> Option<&Rows> {
    let rows = &app.rows[which.slot()];
    let holds =
        rows.basis.as_ref() == Some(&Basis::of(app, which)) && rows.until.is_none_or(|until| app.now < until);
    holds.then_some(rows)
}

/// A list's rows as positions: the kept ones, or computed now when they no longer hold (the state
/// brings them up to date on every change and tick, so that happens only for a state driven
/// without it, as in tests).
fn rows(app: &App, which: Which) -> Cow<'_, [usize]> {
    match kept(app, which) {
        Some(rows) => Cow::Borrowed(&rows.at),
        None => Cow::Owned(matching(app, which, &which.state(app).needle(), None)),
    }
}

/// Computes a list's rows again when what they come from changed since they were kept; says
/// whether it did.
pub fn update(app: &mut App, which: Which) -> bool {
    if kept(app, which).is_some() {
        return false;
    }
    let basis = Basis::of(app, which);
    let slot = which.slot();
    let mut haystacks = std::mem::take(&mut app.rows[slot].haystacks);
    let mut made_for = app.rows[slot].made_for.take();
    if let Some(day) = &basis.day {
        let now = (app.generation(), day.clone());
        if made_for.as_ref() != Some(&now) {
            haystacks = (0..which.source_len(app)).map(|i| haystack(app, which, i)).collect();
            made_for = Some(now);
        }
    }
    let at = matching(app, which, &basis.words, Some(&haystacks));
    let unfiltered = if basis.words.is_empty() {
        at.len()
    } else {
        (0..which.source_len(app)).filter(|&i| admitted(app, which, i)).count()
    };
    let keys = at.iter().map(|&i| key_at(app, which, i)).collect();
    // Every end still to come, matched by the filter or not: the unfiltered count changes too.
    let until = match which {
        Which::Tab(Tab::Access) => {
            app.data.grants.iter().filter_map(|g| g.end()).filter(|&end| end > app.now).min()
        }
        _ => None,
    };
    app.rows[slot] = Rows { basis: Some(basis), until, at, keys, unfiltered, haystacks, made_for };
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::lists::words;

    #[test]
    fn every_word_must_be_in_some_column() {
        let dave_crm = words("  Dave CRM ");
        assert!(matches(&dave_crm, "contoso-crm\ndave moreau"));
        assert!(!matches(&dave_crm, "contoso-crm\nerin lindqvist"), "dave is in no column");
        assert_eq!(
            words("crm\ndave"),
            ["crm", "dave"],
            "a word never holds a line break: it stays in a column"
        );
        assert!(matches(&words(" "), "anything"), "no words match everything");
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
            object_id: String::new(),
        };
        let request = |id: u64, state| AccessRequest {
            id,
            app: "contoso-crm".into(),
            requester: "dave@fabrikam.com".into(),
            roles: vec!["Reader".into()],
            start: now,
            duration: Period::from_secs(30),
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
            approvals: Vec::new(),
            extensions: Vec::new(),
            arm: None,
            tags: Default::default(),
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
                    max_duration: Period::from_hours(8),
                    approvers: vec!["alice@contoso.com".into()],
                    request_timeout: Period::from_hours(24),
                    approvals_required: 1,
                    approver_groups: Vec::new(),
                    max_extensions: 0,
                },
                deployed_by: "alice@contoso.com".into(),
                deployed_at: now,
                resource_id: String::new(),
            }],
            requests: pending.iter().map(|&id| request(id, RequestState::Pending)).collect(),
            grants: vec![grant].into(),
            ..Default::default()
        }
    }

    fn shown(app: &App, which: Which) -> Vec<u64> {
        assert!(kept(app, which).is_some(), "the state keeps {which:?}'s rows up to date");
        keys(app, which).iter().map(|k| if let Key::Id(id) = k { *id } else { 0 }).collect()
    }

    /// A key as typed; a line break is Enter.
    fn press(app: &mut App, c: char) {
        use crossterm::event::{KeyCode, KeyEvent};
        let code = if c == '\n' { KeyCode::Enter } else { KeyCode::Char(c) };
        app.on_key(KeyEvent::from(code));
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
        let kept = &app.rows[requests.slot()];
        assert_eq!(kept.haystacks.len(), 4, "each row's filter text is made once and kept");
        app.on_snapshot(snapshot(now, &[2, 5]));
        assert_eq!(shown(&app, requests), [2], "the filter searches the new snapshot's texts");
        let access = Which::Tab(Tab::Access);
        press(&mut app, '\n');
        press(&mut app, '4');
        app.tick(now + chrono::TimeDelta::seconds(29));
        assert_eq!(shown(&app, access), [9]);
        app.tick(now + chrono::TimeDelta::seconds(30));
        assert_eq!(shown(&app, access), Vec::<u64>::new(), "access that ended left");
        let said: Vec<&str> = app.toasts.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(said, ["access 9 left: it ended"], "the cursor was on it");
    }

    #[test]
    fn an_approver_lists_what_they_decide_unless_m_asks_for_everything() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").expect("a time").to_utc();
        let mut app = loaded(now);
        let mut data = snapshot(now, &[1, 2]);
        let mut elsewhere = data.apps[0].clone();
        elsewhere.name = "contoso-eu".into();
        elsewhere.policy.approvers = vec!["bob@contoso.com".into()];
        let mut theirs = data.requests[0].clone();
        theirs.id = 7;
        theirs.app = elsewhere.name.clone();
        data.apps.push(elsewhere);
        data.requests.push(theirs);
        app.on_snapshot(data);
        let requests = Which::Tab(Tab::Requests);
        assert!(app.only_mine, "an approver starts on their own requests to decide");
        assert_eq!(shown(&app, requests), [1, 2], "request 7 is bob's to decide");
        press(&mut app, 'm');
        assert!(!app.only_mine, "m, mine, toggles only mine off");
        assert_eq!(shown(&app, requests), [1, 7, 2], "everything alice can see, soonest first");
    }

    #[test]
    fn a_request_the_approver_already_approved_shows_its_progress_and_waits_for_others() {
        use crate::domain::Verdict;
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").expect("a time").to_utc();
        let mut app = loaded(now);
        let mut data = snapshot(now, &[1, 2]);
        data.apps[0].policy.approvers.push("bob@contoso.com".into());
        data.apps[0].policy.approvals_required = 2;
        let given = |by: &str| Verdict { by: by.into(), at: now, reason: "ok".into() };
        data.requests[0].approvals = vec![given("alice@contoso.com")];
        data.requests[1].approvals = vec![given("bob@contoso.com")];
        app.on_snapshot(data);
        let (mine, bobs) = (&app.data.requests[0], &app.data.requests[1]);
        assert_eq!(app.data.state_shown(mine), "Pending (1 of 2 approvals)");
        assert!(!app.can_decide(mine), "alice's approval is counted: it waits for bob");
        assert!(app.can_decide(bobs), "bob's waits for alice");
        assert_eq!(shown(&app, Which::Tab(Tab::Requests)), [bobs.id]);
        assert_eq!(app.data.waiting_for_me(), 1, "the header counts only what waits for her");
    }

    #[test]
    fn the_header_counts_an_extension_waiting_for_the_approver_until_they_approve_it() {
        use crate::domain::{Extension, ExtensionState, Period, Verdict};
        use chrono::TimeDelta;
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").expect("a time").to_utc();
        let mut app = loaded(now);
        let mut data = snapshot(now, &[]);
        let asked = |by: &str| Verdict { by: by.into(), at: now, reason: "more".into() };
        let mut grant = data.grants[0].clone();
        grant.duration = Period::from_hours(1);
        grant.extensions = vec![Extension {
            by: Period::from_hours(1),
            asked: asked(&grant.requester),
            decide_by: now + TimeDelta::minutes(20),
            state: ExtensionState::Pending,
            approvals: Vec::new(),
            decision: None,
        }];
        data.grants = vec![grant.clone()].into();
        app.on_snapshot(data.clone());
        assert_eq!(app.data.waiting_for_me(), 1, "the extension waits for alice");
        assert_eq!(app.data.due_for_me(now, TimeDelta::minutes(30)), 1, "due by the extension's deadline");
        assert_eq!(app.data.due_for_me(now, TimeDelta::minutes(10)), 0);
        grant.extensions[0].approvals = vec![asked("alice@contoso.com")];
        data.grants = vec![grant].into();
        app.on_snapshot(data);
        assert_eq!(app.data.waiting_for_me(), 0, "her approval is given: it waits for others");
    }

    #[test]
    fn a_publisher_lists_their_own_requests_as_loaded_whatever_the_order_key() {
        use crate::domain::{RequestState, Tenant, TenantKind, User};
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").expect("a time").to_utc();
        let mut app = loaded(now);
        let mut data = snapshot(now, &[3, 1, 2]);
        data.requests[1].state = RequestState::Denied;
        data.tenants.push(Tenant {
            id: "fabrikam".into(),
            kind: TenantKind::Publisher,
            name: "Fabrikam".into(),
            license: None,
        });
        let dave = User {
            upn: "dave@fabrikam.com".into(),
            display_name: "Dave".into(),
            tenant: "fabrikam".into(),
            admin: false,
            login: None,
            object_id: String::new(),
        };
        data.me = Some(dave.clone());
        data.users.push(dave);
        app.on_snapshot(data);
        assert_eq!(shown(&app, Which::Tab(Tab::Requests)), [3, 1, 2], "newest first, the denied one too");
    }

    #[test]
    fn access_lists_the_soonest_end_first() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").expect("a time").to_utc();
        let mut app = loaded(now);
        let mut data = snapshot(now, &[]);
        let mut sooner = data.grants[0].clone();
        sooner.id = 8;
        sooner.duration = crate::domain::Period::from_secs(10);
        data.grants = data.grants.iter().cloned().chain([sooner]).collect();
        app.on_snapshot(data);
        assert_eq!(shown(&app, Which::Tab(Tab::Access)), [8, 9]);
    }

    #[test]
    fn a_filter_on_times_follows_the_readers_day() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").expect("a time").to_utc();
        let mut app = loaded(now);
        let requests = Which::Tab(Tab::Requests);
        for c in ['/', 'n', 'o', 'v'] {
            press(&mut app, c);
        }
        assert_eq!(shown(&app, requests), Vec::<u64>::new(), "today's start reads 10:00 UTC, no date");
        app.tick(now + chrono::TimeDelta::hours(14));
        assert_eq!(shown(&app, requests), [1, 2, 3], "tomorrow it reads Nov 28 10:00 UTC");
    }
}
