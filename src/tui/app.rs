//! The dashboard's state and everything that changes it. Keys, engine results, snapshots and ticks
//! come in; state changes and `Effect`s (work for the loop to do) go out. No I/O happens here, which
//! is what lets the snapshot tests drive it directly.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use tui_input::backend::crossterm::EventHandler;

use super::data::{Role, Snapshot};
use super::form::{Field, Form, FormKey, Tone};
use super::keymap::{KeyAction, Keymap, Scope};
use super::lists::{self, Key, ListState};
use super::marks::{self, Marks};
use super::refusal::Refusal;
use super::rows::{self, Which};
use super::theme::Theme;
use crate::domain::rules::{self, Deployment, NewRequest};
use crate::domain::time_style::TimeStyle;
use crate::domain::when::{example_start, parse_time};
use crate::domain::*;
use crate::engine::{Cancel, Decide, DecideExtension, Extend, RequestDetail, Revoke, SetPolicy};

/// The dashboard's five tabs, in the order of their number keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Tab 1: the applications the user's tenant is a party to.
    Applications,
    /// Tab 2: each application's JIT settings, and their editor.
    Settings,
    /// Tab 3: the requests to decide, or the publisher's own.
    Requests,
    /// Tab 4: access granted now, with its countdown.
    Access,
    /// Tab 5: the user's notifications above the audit log.
    Activity,
}

impl Tab {
    /// Every tab, in order: a tab's position here is its `index`.
    pub const ALL: [Tab; 5] = [Tab::Applications, Tab::Settings, Tab::Requests, Tab::Access, Tab::Activity];

    /// The tab's name on the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Applications => "Applications",
            Tab::Settings => "JIT settings",
            Tab::Requests => "Requests",
            Tab::Access => "Access",
            Tab::Activity => "Activity",
        }
    }

    /// The tab's place from 0 (its number key less one), which indexes per-tab arrays.
    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// The key scope of the tab's own bindings.
    pub fn scope(self) -> Scope {
        match self {
            Tab::Applications => Scope::Applications,
            Tab::Settings => Scope::Settings,
            Tab::Requests => Scope::Requests,
            Tab::Access => Scope::Access,
            Tab::Activity => Scope::Activity,
        }
    }
}

/// Work for the event loop: engine calls and terminal side effects.
#[derive(Debug)]
pub enum Effect {
    /// Sends a command to the engine; its answer comes back through `on_result` or `on_decided`.
    Run(Call),
    /// Loads a request's details and history for the open details; they come back through `on_detail`.
    LoadDetail(u64),
    /// Records that the user has seen their notifications up to this id.
    MarkSeen(u64),
    /// Rings the terminal's bell.
    Bell,
    /// Ends the dashboard.
    Quit,
}

/// The engine commands the dashboard can issue; each goes through the same rules as the CLI.
#[derive(Debug)]
pub enum Call {
    /// Approves or denies one request.
    Decide(Decide),
    /// One decision per marked request, each its own command: a refusal of one stops no other.
    /// Each marked request with its decision, or why none is sent for it (it changed while the
    /// form was open).
    DecideEach {
        /// Whether the decision approves (or denies).
        approve: bool,
        /// Each marked request's number with its decision, or why none is sent.
        each: Vec<(u64, Result<Decide, Refusal>)>,
    },
    /// Cancels the user's own pending request.
    Cancel(Cancel),
    /// Ends granted access before its time.
    Revoke(Revoke),
    /// Asks for more time on the user's own access.
    Extend(Extend),
    /// Approves or denies the extension a grant's requester asked for.
    DecideExtension(DecideExtension),
    /// Asks for access.
    Request(NewRequest),
    /// Deploys an application from an offer.
    Deploy(Deployment),
    /// Changes an application's JIT settings.
    SetPolicy(SetPolicy),
}

/// What a form does when submitted.
#[derive(Debug, Clone)]
pub enum Purpose {
    /// A decision on request `id`, with the request and its application's policy as the form
    /// showed them: a decision is sent only on what the approver read.
    Decide {
        /// The request's number.
        id: u64,
        /// Whether the form approves (or denies).
        approve: bool,
        /// The request and its application's policy (`None` if the application is not loaded).
        seen: Box<(AccessRequest, Option<JitPolicy>)>,
    },
    /// One decision, with one reason, on each marked request.
    /// Each request with its application's policy as the form showed them, like `Decide`.
    DecideEach {
        /// Whether the form approves (or denies).
        approve: bool,
        /// The marked requests, each with its application's policy.
        seen: Vec<(AccessRequest, Option<JitPolicy>)>,
    },
    /// The reason for ending access early, asked once the revocation is confirmed.
    Revoke {
        /// The number of the request that granted the access.
        id: u64,
    },
    /// How much more time to ask for on the user's own access, and why.
    Extend {
        /// The number of the request that granted the access.
        id: u64,
    },
    /// A decision on the extension waiting on a grant.
    DecideExtension {
        /// The number of the request that granted the access.
        id: u64,
        /// Whether the form approves (or denies).
        approve: bool,
    },
    /// The request form, with what each application it offers allows.
    Request(Vec<Requestable>),
    /// The JIT settings editor; `before` is the policy it opened with, so only what was changed is sent.
    Policy {
        /// The name of the application edited.
        app: String,
        /// The policy as the form opened with it.
        before: Box<JitPolicy>,
    },
    /// The deployment wizard, with the marketplace it offers.
    Deploy(Box<super::wizard::Marketplace>),
}

/// An application a publisher can ask for access to: the roles its offer has and its longest access.
#[derive(Debug, Clone)]
pub struct Requestable {
    /// The application's name.
    pub app: String,
    /// The roles its offer defines, the ones a request may ask for.
    pub roles: Vec<String>,
    /// The longest access its JIT policy allows.
    pub max: Period,
}

/// What a yes to a confirmation goes on to do.
#[derive(Debug, Clone)]
pub enum Confirmed {
    /// Cancels the user's own pending request with this number.
    Cancel(u64),
    /// Opens the form for the reason to revoke the access this request granted.
    Revoke(u64),
}

/// What covers the tabs, at most one at a time; while it is open, keys go to it.
#[derive(Debug)]
pub enum Overlay {
    /// The keys, scrolled down by `scroll` rows.
    Help {
        /// Rows scrolled past, at most what the last frame allows.
        scroll: usize,
    },
    /// A request's details and history.
    Detail {
        /// The request's number.
        id: u64,
        /// What the engine answered; `None` while it loads.
        detail: Option<Box<RequestDetail>>,
    },
    /// A question that waits for yes or no before a change.
    Confirm {
        /// The question, naming what would change.
        message: String,
        /// What a yes does.
        then: Confirmed,
    },
    /// A form, with what its submission does.
    Form(Form<Purpose>),
}

/// A one-line message over the screen that goes by itself after a few seconds.
#[derive(Debug, Clone)]
pub struct Toast {
    /// The message, one line.
    pub text: String,
    /// Shown in the error style when set.
    pub error: bool,
    /// When it goes.
    pub until: DateTime<Utc>,
}

/// Settings that shape the screens.
pub struct Ui {
    /// The styles every screen draws with.
    pub theme: Theme,
    /// The keys, with the config's overrides.
    pub keymap: Keymap,
    /// The zone every time on screen is shown in, and named.
    pub time: TimeStyle,
    /// Whether requests that arrive for the user to decide ring the bell.
    pub bell: bool,
    /// Whether the dashboard takes the mouse: the wheel moves the cursor, a click picks a tab or row.
    pub mouse: bool,
    /// Borders and symbols in ASCII, for terminals or locales without Unicode.
    pub ascii: bool,
}

/// Everything the dashboard shows and remembers between keys; the screens only read it.
pub struct App {
    /// The last snapshot loaded.
    pub data: Snapshot,
    /// Whether a first snapshot has arrived; until then the screens say they are loading.
    pub loaded: bool,
    /// Set when the engine could not be reached for the last snapshot.
    pub trouble: Option<String>,
    /// Set while the service is gone: the last data shows and nothing can change.
    pub read_only: bool,
    /// How the store is reached, for the header: in this process or through a service. None: not
    /// said (the tests that drive the state directly).
    pub link: Option<crate::client::Link>,
    /// The time as of the last key, event or tick, which countdowns and toasts are measured from.
    pub now: DateTime<Utc>,
    /// The tab on screen.
    pub tab: Tab,
    /// Each tab's cursor, scroll and filter, by `Tab::index` (tab 5's is the audit log's).
    pub lists: [ListState; 5],
    /// The notifications above tab 5's audit log: a list of their own.
    pub notes: ListState,
    /// Whether tab 5's cursor is in the notifications rather than the audit log.
    pub on_notes: bool,
    /// What covers the tabs, if anything.
    pub overlay: Option<Overlay>,
    /// The messages on screen, oldest first, at most three.
    pub toasts: Vec<Toast>,
    /// The look, keys and settings the dashboard started with.
    pub ui: Ui,
    /// Where the last frame drew the list: the page size for PgUp/PgDn and the mouse's row map.
    pub window: lists::Window,
    /// Each list's rows, kept until what they come from changes.
    pub rows: rows::AllRows,
    /// The help overlay's rows in view and how far it can scroll, from the last frame.
    pub help_rows: Cell<(usize, usize)>,
    /// Whether the JIT settings tab has been put on the first application with JIT yet.
    settings_placed: bool,
    /// Counts snapshots, so what is computed from one can be kept until the next.
    generation: u64,
    /// The widest cell of each column over the first rows of the list on screen, and what it was
    /// measured for: tables measure the top of a list once, not on every frame.
    pub scanned: RefCell<Option<(String, Vec<usize>)>>,
    /// The request number typed after `#` or `:`, while one is being typed.
    pub goto: Option<String>,
    /// The order of pending requests (`s`).
    pub sort: rows::RequestSort,
    /// Whether pending requests are only the user's to decide, or all they can see (`m` toggles).
    pub only_mine: bool,
    /// Pending requests already seen, so only new ones ring the bell.
    known_pending: HashSet<u64>,
    /// Requests marked on the Requests tab for one decision on them all.
    pub marks: Marks,
    /// When the bell last rang, so a burst of arrivals rings it once.
    last_bell: Option<DateTime<Utc>>,
    /// The UPN the dashboard was started as: the header names it until the first snapshot says
    /// who that is. None: started without an identity (or not said, in tests).
    pub starting_as: Option<String>,
    /// What a playing tour says about its current step; it takes the footer's place of the keys.
    pub caption: Option<String>,
}

const TOAST_SECONDS: i64 = 4;

/// The answer to a change asked for while the service is away.
pub const READ_ONLY: &str = "the service is gone, so nothing was changed: try again once it is back";

/// Whether an action asks the engine to change something (and so cannot while the service is gone).
fn changes_data(action: KeyAction) -> bool {
    matches!(
        action,
        KeyAction::Approve
            | KeyAction::Deny
            | KeyAction::Cancel
            | KeyAction::Revoke
            | KeyAction::Extend
            | KeyAction::New
            | KeyAction::Edit
            | KeyAction::MarkRead
    )
}

/// Keeps the request form's roles and maximum on the application chosen; roles already chosen that
/// the new application also offers stay chosen.
fn sync_request(form: &mut Form<Purpose>) {
    let Purpose::Request(apps) = &form.purpose else { return };
    let chosen_app = form.value("application");
    let Some(app) = apps.iter().find(|a| a.app == chosen_app).cloned() else { return };
    if let Some(field) = form.get_mut("roles")
        && let super::form::FieldKind::Multi { options, chosen, cursor } = &mut field.kind
        && *options != app.roles
    {
        let kept: Vec<String> =
            options.iter().zip(chosen.iter()).filter(|(_, on)| **on).map(|(o, _)| o.clone()).collect();
        *chosen = app.roles.iter().map(|r| kept.contains(r)).collect();
        *options = app.roles.clone();
        *cursor = 0;
    }
    if let Some(field) = form.get_mut("duration") {
        field.note = Some((Tone::Info, format!("at most {} on {}", app.max, app.app)));
    }
}

impl App {
    /// A dashboard with nothing loaded yet, on the Requests tab until the first snapshot says
    /// which tab suits the user.
    pub fn new(ui: Ui, now: DateTime<Utc>) -> App {
        App {
            data: Snapshot::default(),
            loaded: false,
            trouble: None,
            read_only: false,
            link: None,
            now,
            tab: Tab::Requests,
            lists: Default::default(),
            notes: ListState::default(),
            on_notes: false,
            overlay: None,
            toasts: Vec::new(),
            ui,
            window: lists::Window::default(),
            rows: Default::default(),
            help_rows: Cell::new((10, 0)),
            settings_placed: false,
            generation: 0,
            scanned: RefCell::new(None),
            goto: None,
            sort: rows::RequestSort::default(),
            only_mine: true,
            known_pending: HashSet::new(),
            marks: Marks::default(),
            last_bell: None,
            starting_as: None,
            caption: None,
        }
    }

    /// Which snapshot is shown: it changes with every snapshot.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The list with the cursor on the tab on screen.
    pub fn list(&self) -> &ListState {
        self.list_of(self.tab)
    }

    fn list_mut(&mut self) -> &mut ListState {
        self.list_of_mut(self.tab)
    }

    /// A tab's list with the cursor: on tab 5, the notifications or the audit log.
    pub fn list_of(&self, tab: Tab) -> &ListState {
        if tab == Tab::Activity && self.on_notes { &self.notes } else { &self.lists[tab.index()] }
    }

    fn list_of_mut(&mut self, tab: Tab) -> &mut ListState {
        if tab == Tab::Activity && self.on_notes { &mut self.notes } else { &mut self.lists[tab.index()] }
    }

    /// How the signed-in user relates to the workflow, as the snapshot says.
    pub fn role(&self) -> Role {
        self.data.role()
    }

    /// Whether an action in a scope is one this user's role can ever take; the help lists only those.
    pub fn role_allows(&self, scope: Scope, action: KeyAction) -> bool {
        let role = self.role();
        let admin = self.data.me.as_ref().is_some_and(|m| m.admin);
        match action {
            KeyAction::Approve | KeyAction::Deny | KeyAction::Mark | KeyAction::MarkAll => {
                role == Role::Approver
            }
            KeyAction::Cancel | KeyAction::Extend => role == Role::Publisher,
            KeyAction::New if scope == Scope::Requests => role == Role::Publisher,
            KeyAction::New => matches!(role, Role::Admin | Role::Approver) && admin,
            KeyAction::Edit => admin,
            KeyAction::Revoke => matches!(role, Role::Admin | Role::Approver),
            _ => true,
        }
    }

    /// Whether an action means anything for this user here; the footer leaves out what does not.
    pub fn offers(&self, action: KeyAction) -> bool {
        if self.read_only && changes_data(action) {
            return false;
        }
        match action {
            KeyAction::Approve | KeyAction::Deny if matches!(self.overlay, Some(Overlay::Detail { .. })) => {
                matches!(&self.overlay, Some(Overlay::Detail { id, .. }) if self.decidable(*id))
            }
            KeyAction::MarkRead => self.data.unread() > 0,
            // On the Access tab they decide the extension waiting on the grant under the cursor.
            KeyAction::Approve | KeyAction::Deny if self.tab == Tab::Access => {
                self.role_allows(Scope::Access, action) && self.selected_extension_to_decide().is_some()
            }
            KeyAction::Extend => {
                self.role_allows(Scope::Access, action) && self.selected_grant_to_extend().is_some()
            }
            // Marks are decided whatever the cursor is on.
            KeyAction::Approve | KeyAction::Deny if !self.marks.is_empty() => true,
            KeyAction::Pane => self.on_notes || !self.data.notifications.is_empty(),
            // Only a row about a request has details to open.
            KeyAction::Open => self.opened_request().is_some(),
            // Only a request this user can decide offers a decision, or a mark.
            KeyAction::Approve | KeyAction::Deny | KeyAction::Mark => {
                self.role_allows(self.tab.scope(), action)
                    && self.selected_request().is_some_and(|id| self.decidable(id))
            }
            KeyAction::Sort | KeyAction::Mine => self.role() == Role::Approver,
            // Only an admin of the application's customer tenant changes its JIT settings.
            KeyAction::Edit => {
                let me = self.data.me.as_ref();
                self.role_allows(self.tab.scope(), action)
                    && self.selected_app().is_none_or(|a| me.is_some_and(|m| m.tenant == a.customer_tenant))
            }
            // The help offers scrolling only when it has more than fits.
            KeyAction::Down | KeyAction::Up if matches!(self.overlay, Some(Overlay::Help { .. })) => {
                self.help_rows.get().1 > 0
            }
            _ => self.role_allows(self.tab.scope(), action),
        }
    }

    /// Why an action that changes data cannot be taken here, for a key pressed that the footer does
    /// not offer: said at once, before any form is opened or typed into. None when there is nothing
    /// to explain (a key that means nothing here, or no row selected).
    pub fn why_not(&self, action: KeyAction) -> Option<String> {
        if !changes_data(action) {
            return None;
        }
        if self.read_only {
            return Some(READ_ONLY.into());
        }
        match action {
            KeyAction::Approve | KeyAction::Deny if self.tab == Tab::Access => {
                let id = self.selected_request()?;
                Some(format!(
                    "access {id} has no extension you can decide: only its application's approvers decide one its requester asked for"
                ))
            }
            KeyAction::Extend => {
                let id = self.selected_request()?;
                Some(format!("only the requester of access {id} extends it, one extension at a time"))
            }
            KeyAction::Approve | KeyAction::Deny => {
                let id = match &self.overlay {
                    Some(Overlay::Detail { id, .. }) => *id,
                    _ => self.selected_request()?,
                };
                let Some(r) = self.data.requests.iter().find(|r| r.id == id) else {
                    return Some(format!(
                        "request {id} is no longer pending: only a pending request is decided"
                    ));
                };
                Some(if r.state != RequestState::Pending {
                    format!("request {id} is {}: only a pending request is decided", r.state.name())
                } else {
                    format!("you are not an approver of {}: only its approvers decide request {id}", r.app)
                })
            }
            KeyAction::Edit => {
                let app = self.selected_app()?;
                Some(format!(
                    "only an admin of {} changes the JIT settings of {}",
                    self.tenant_name(&app.customer_tenant),
                    app.name
                ))
            }
            KeyAction::Cancel if self.selected_request().is_some() => {
                Some("only the requester can cancel a request".into())
            }
            KeyAction::Revoke if self.selected_request().is_some() => Some(
                "revoking access needs one of its application's approvers or an admin of its customer tenant"
                    .into(),
            ),
            _ => None,
        }
    }

    /// A tenant's name as the dashboard shows it; its id when it is not in the snapshot.
    pub fn tenant_name(&self, id: &str) -> String {
        self.data.tenant(id).map_or_else(|| id.to_string(), |t| t.name.clone())
    }

    /// Whether this user can decide the request now: pending, on an application they approve.
    fn decidable(&self, id: u64) -> bool {
        self.data.requests.iter().any(|r| r.id == id && self.can_decide(r))
    }

    /// Whether this user can decide the request now: pending, on an application they approve,
    /// and not approved by them already.
    pub fn can_decide(&self, r: &AccessRequest) -> bool {
        r.state == RequestState::Pending
            && self.data.approves(&r.app)
            && !self.data.me.as_ref().is_some_and(|me| crate::domain::rules::has_approved(r, &me.upn))
    }

    /// Where the frame just drawn put the list; the cursor is kept inside it.
    pub fn on_frame(&mut self, window: Option<lists::Window>) {
        if let Some(window) = window
            && window != self.window
        {
            self.window = window;
            self.refollow(self.tab);
        }
    }

    /// A new snapshot; rings the bell for requests that just arrived for this user to decide.
    pub fn on_snapshot(&mut self, mut data: Snapshot) -> Vec<Effect> {
        data.index();
        let first = !self.loaded;
        if first {
            self.tab = match data.role() {
                Role::Publisher | Role::Approver => Tab::Requests,
                _ => Tab::Applications,
            };
        }
        // The JIT settings tab opens on the first application that has JIT to configure.
        if !self.settings_placed && !data.apps.is_empty() {
            self.settings_placed = true;
            let list = &mut self.lists[Tab::Settings.index()];
            if list.selected.is_none() && list.filter.value().is_empty() {
                list.selected =
                    data.apps.iter().find(|a| a.policy.enabled).map(|a| Key::Name(a.name.clone()));
            }
        }
        self.generation += 1;
        let decidable: HashSet<u64> = data
            .requests
            .iter()
            .filter(|r| r.state == RequestState::Pending && data.approves(&r.app))
            .map(|r| r.id)
            .collect();
        let arrived = decidable.difference(&self.known_pending).count();
        self.known_pending = decidable;
        self.data = data;
        self.loaded = true;
        self.trouble = None;
        for tab in Tab::ALL {
            if let Some(left) = self.refollow(tab)
                && !first
                && let Some(text) = lists::departure(self, tab, &left)
            {
                self.toast(text, false);
            }
        }
        self.update_rows_off_cursor();
        let mut effects = Vec::new();
        if !first && arrived > 0 && self.ui.bell && super::bell::due(self.last_bell, self.now) {
            self.last_bell = Some(self.now);
            effects.push(Effect::Bell);
        }
        if let Some(Overlay::Detail { id, .. }) = &self.overlay {
            effects.push(Effect::LoadDetail(*id));
        }
        effects
    }

    /// The rest of the first snapshot: the snapshot on screen made whole.
    pub fn on_rest(&mut self, rest: super::data::Rest) -> Vec<Effect> {
        let whole = std::mem::take(&mut self.data).with(rest);
        self.on_snapshot(whole)
    }

    /// A request's details as loaded; shown if the details of that request are still open.
    pub fn on_detail(&mut self, detail: RequestDetail) {
        if let Some(Overlay::Detail { id, detail: slot }) = &mut self.overlay
            && *id == detail.request.id
        {
            *slot = Some(Box::new(detail));
        }
    }

    /// The engine's answer to a call: a form closes on success and shows the refusal otherwise.
    pub fn on_result(&mut self, result: Result<String, Refusal>) {
        match (&mut self.overlay, result.map_err(|e| e.to_string())) {
            (Some(Overlay::Form(form)), Ok(message)) if form.busy => {
                self.overlay = None;
                self.toast(message, false);
            }
            (Some(Overlay::Form(form)), Err(message)) if form.busy => {
                form.busy = false;
                form.error = Some(message);
            }
            (_, Ok(message)) => self.toast(message, false),
            (_, Err(message)) => self.toast(message, true),
        }
    }

    /// Shows a message for a few seconds; beyond three, the oldest goes.
    pub fn toast(&mut self, text: String, error: bool) {
        let until = self.now + chrono::TimeDelta::seconds(TOAST_SECONDS);
        self.toasts.push(Toast { text, error, until });
        if self.toasts.len() > 3 {
            self.toasts.remove(0);
        }
    }

    /// Moves the clock: toasts that are due go, and rows that hang on the clock are computed again.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        self.now = now;
        self.toasts.retain(|t| t.until > now);
        // Rows that hang on the clock (access that ends, a filter's times once the day changes) are
        // computed again and the cursor follows; access that ends under the cursor says so.
        for tab in Tab::ALL {
            if !rows::update(self, Which::on(self, tab)) {
                continue;
            }
            if let Some(Key::Id(id)) = self.refollow(tab)
                && tab == Tab::Access
            {
                self.toast(format!("access {id} left: it ended"), false);
            }
        }
        self.update_rows_off_cursor();
    }

    /// Tab 5 shows two lists and `refollow` keeps the one with the cursor: the other is kept too.
    fn update_rows_off_cursor(&mut self) {
        rows::update(self, Which::Notes);
        rows::update(self, Which::Tab(Tab::Activity));
    }

    /// Whether the screen shows anything that changes by itself each second.
    pub fn has_countdowns(&self) -> bool {
        if !self.toasts.is_empty() {
            return true;
        }
        match (&self.overlay, self.tab) {
            (Some(Overlay::Help { .. } | Overlay::Form(_) | Overlay::Confirm { .. }), _) => false,
            (_, Tab::Requests) => !self.data.requests.is_empty(),
            (_, Tab::Access | Tab::Applications) => !self.data.grants.is_empty(),
            _ => false,
        }
    }

    /// Pasted text, which only a form takes.
    pub fn on_paste(&mut self, text: &str) {
        if let Some(Overlay::Form(form)) = &mut self.overlay {
            form.paste(text);
        }
    }

    /// A mouse event, when the mouse is on and no overlay is open: the wheel moves the cursor, a click
    /// picks a tab (`tab_at` says which is at a column) or a row.
    pub fn on_mouse(&mut self, mouse: MouseEvent, tab_at: impl Fn(u16) -> Option<Tab>) -> Vec<Effect> {
        if !self.ui.mouse || self.overlay.is_some() {
            return Vec::new();
        }
        match mouse.kind {
            MouseEventKind::ScrollDown => self.act(KeyAction::Down),
            MouseEventKind::ScrollUp => self.act(KeyAction::Up),
            MouseEventKind::Down(MouseButton::Left) if mouse.row == 1 => {
                if let Some(tab) = tab_at(mouse.column) {
                    self.go(tab);
                }
                Vec::new()
            }
            MouseEventKind::Down(MouseButton::Left) if mouse.row >= self.window.top => {
                let row = usize::from(mouse.row - self.window.top) + self.list().offset;
                if row < self.row_count() {
                    self.select(row);
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// A key, from the keyboard or a tour: an open overlay, a number after `#` or a filter being typed
    /// takes it first, else the tab's bindings; Ctrl-C quits whatever is open.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return vec![Effect::Quit];
        }
        match self.overlay.take() {
            Some(overlay) => self.overlay_key(overlay, key),
            None if self.goto.is_some() => self.goto_key(key),
            None if self.list().filtering => {
                self.filter_key(key);
                Vec::new()
            }
            None => match self.ui.keymap.action(&key, self.tab.scope()) {
                Some(action) => self.act(action),
                None => Vec::new(),
            },
        }
    }

    /// A key typed after `#`: digits make the number, Enter opens that request, Esc gives up.
    fn goto_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(typed) = self.goto.as_mut() else { return Vec::new() };
        match key.code {
            KeyCode::Char(c) if c.is_ascii_digit() && typed.len() < 20 => typed.push(c),
            KeyCode::Backspace => {
                typed.pop();
            }
            KeyCode::Esc => self.goto = None,
            KeyCode::Enter => {
                let typed = self.goto.take().unwrap_or_default();
                match typed.parse::<u64>() {
                    Ok(id) => {
                        self.overlay = Some(Overlay::Detail { id, detail: None });
                        return vec![Effect::LoadDetail(id)];
                    }
                    Err(_) => self.toast("type a request number after # (e.g. #10), then Enter".into(), true),
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Details that could not be loaded: the overlay waiting for them closes and says why.
    pub fn on_detail_failed(&mut self, message: String) {
        if matches!(self.overlay, Some(Overlay::Detail { detail: None, .. })) {
            self.overlay = None;
        }
        self.toast(message, true);
    }

    /// A key typed into the filter. The selection stays on its row while that row still matches,
    /// and goes to the first row that does otherwise.
    fn filter_key(&mut self, key: KeyEvent) {
        let list = self.list_mut();
        match key.code {
            KeyCode::Enter => list.filtering = false,
            KeyCode::Esc => {
                list.filtering = false;
                list.filter.reset();
            }
            _ => {
                list.filter.handle_event(&crossterm::event::Event::Key(key));
                list.at = 0;
            }
        }
        self.refollow(self.tab);
    }

    /// Finds the selected id again in a tab's list after it changed; returns the id that left.
    /// A marked request that left the Requests list, or that the user can no longer decide, loses
    /// its mark.
    fn refollow(&mut self, tab: Tab) -> Option<Key> {
        let which = Which::on(self, tab);
        rows::update(self, which);
        if tab == Tab::Requests {
            let markable = self.markable();
            self.marks.keep(&markable);
        }
        let page = self.window.rows;
        let keys = rows::keys(self, which).into_owned();
        let list = self.list_of_mut(tab);
        let left = list.follow(&keys);
        list.scroll(page, keys.len());
        left
    }

    /// Puts the cursor on row `at` of the current list.
    fn select(&mut self, at: usize) {
        let which = Which::on(self, self.tab);
        rows::update(self, which);
        let keys = rows::keys(self, which).into_owned();
        let page = self.window.rows;
        let list = self.list_mut();
        list.select_at(&keys, at);
        list.scroll(page, keys.len());
    }

    /// Keys over the tabs. The help, the details and a confirmation answer only their own scope's
    /// bindings, the same ones their footer shows; a form handles its keys itself.
    fn overlay_key(&mut self, overlay: Overlay, key: KeyEvent) -> Vec<Effect> {
        match overlay {
            Overlay::Help { scroll } => {
                let (page, max) = self.help_rows.get();
                let page = page.max(1);
                let scroll = match self.ui.keymap.action(&key, Scope::Help) {
                    Some(KeyAction::Back | KeyAction::Help | KeyAction::Quit) => return Vec::new(),
                    Some(KeyAction::Down) => scroll + 1,
                    Some(KeyAction::Up) => scroll.saturating_sub(1),
                    Some(KeyAction::PageDown) => scroll + page,
                    Some(KeyAction::PageUp) => scroll.saturating_sub(page),
                    Some(KeyAction::Top) => 0,
                    Some(KeyAction::Bottom) => max,
                    _ => scroll,
                };
                self.overlay = Some(Overlay::Help { scroll: scroll.min(max) });
                Vec::new()
            }
            Overlay::Detail { id, detail } => {
                self.overlay = Some(Overlay::Detail { id, detail });
                match self.ui.keymap.action(&key, Scope::Detail) {
                    Some(KeyAction::Back | KeyAction::Open) => self.overlay = None,
                    Some(a @ (KeyAction::Approve | KeyAction::Deny)) if self.offers(a) => {
                        self.open_decision(id, a == KeyAction::Approve);
                    }
                    Some(a @ (KeyAction::Approve | KeyAction::Deny)) => {
                        if let Some(why) = self.why_not(a) {
                            self.toast(why, true);
                        }
                    }
                    _ => {}
                }
                Vec::new()
            }
            Overlay::Confirm { message, then } => match self.ui.keymap.action(&key, Scope::Confirm) {
                Some(KeyAction::Yes) => self.confirmed(then),
                Some(KeyAction::No) => Vec::new(),
                _ => {
                    self.overlay = Some(Overlay::Confirm { message, then });
                    Vec::new()
                }
            },
            Overlay::Form(form) => {
                // An error of the dashboard's own reading of the fields (not the engine's answer)
                // is read again after each key, so it goes as soon as the field is fixed.
                let ours =
                    form.error.is_some() && self.call_for(&form).err().map(|e| e.to_string()) == form.error;
                self.form_key(form, key, ours)
            }
        }
    }

    /// A key for a form; `recheck` reads the fields again after it, for an error of ours on show.
    fn form_key(&mut self, mut form: Form<Purpose>, key: KeyEvent, recheck: bool) -> Vec<Effect> {
        match form.key(key) {
            FormKey::Close => Vec::new(),
            FormKey::Handled => {
                if recheck {
                    form.error = self.call_for(&form).err().map(|e| e.to_string());
                }
                self.overlay = Some(Overlay::Form(form));
                Vec::new()
            }
            FormKey::Submit => {
                let call = self.call_for(&form);
                match call {
                    Ok(call) => {
                        form.busy = true;
                        form.error = None;
                        self.overlay = Some(Overlay::Form(form));
                        vec![Effect::Run(call)]
                    }
                    Err(refusal) => {
                        form.error = Some(refusal.to_string());
                        self.overlay = Some(Overlay::Form(form));
                        Vec::new()
                    }
                }
            }
        }
    }

    fn confirmed(&mut self, then: Confirmed) -> Vec<Effect> {
        match then {
            Confirmed::Cancel(id) => vec![Effect::Run(Call::Cancel(Cancel { id }))],
            Confirmed::Revoke(id) => {
                let whose = self.whose_access(id);
                let mut first = whose.chars();
                let whose: String =
                    first.next().map(|c| c.to_uppercase().chain(first).collect()).unwrap_or_default();
                let form = Form::new(format!("Revoke access {id}"), Purpose::Revoke { id })
                    .intro(format!("{whose} ends now; they are told, with your reason."))
                    .field(Field::text("reason", "", "required: why access ends early"));
                self.overlay = Some(Overlay::Form(form));
                Vec::new()
            }
        }
    }

    /// Turns a submitted form into an engine call. Only parsing happens here; every rule is the engine's.
    fn call_for(&self, form: &Form<Purpose>) -> Result<Call, Refusal> {
        Ok(match &form.purpose {
            Purpose::Decide { id, approve, seen } => {
                self.unchanged(*id, seen)?;
                Call::Decide(Decide { id: *id, approve: *approve, reason: form.value("reason") })
            }
            Purpose::DecideEach { approve, seen } => {
                let reason = form.value("reason");
                let each = |seen: &(AccessRequest, Option<JitPolicy>)| {
                    let id = seen.0.id;
                    let changes = self.changes(id, seen);
                    let decision = if changes.is_empty() {
                        Ok(Decide { id, approve: *approve, reason: reason.clone() })
                    } else {
                        Err(Refusal::NotSent(format!(
                            "not sent: it changed while the form was open: {}",
                            changes.join("; ")
                        )))
                    };
                    (id, decision)
                };
                Call::DecideEach { approve: *approve, each: seen.iter().map(each).collect() }
            }
            Purpose::Revoke { id } => Call::Revoke(Revoke { id: *id, reason: form.value("reason") }),
            Purpose::Extend { id } => Call::Extend(Extend {
                id: *id,
                by: Period::parse(&form.value("by"))?,
                reason: form.value("reason"),
            }),
            Purpose::DecideExtension { id, approve } => Call::DecideExtension(DecideExtension {
                id: *id,
                approve: *approve,
                reason: form.value("reason"),
            }),
            Purpose::Request(apps) => {
                let roles = form.get("roles").map(Field::values).unwrap_or_default();
                let app = form.value("application");
                let offered =
                    apps.iter().find(|a| a.app == app).map(|a| a.roles.as_slice()).unwrap_or_default();
                rules::need_some_role(&roles, &app, offered)?;
                let start = form.value("start");
                let start = if start.trim().is_empty() { None } else { Some(parse_time(&start, self.now)?) };
                let ticket = form.value("ticket");
                Call::Request(NewRequest {
                    app: form.value("application"),
                    roles,
                    start,
                    duration: Period::parse(&form.value("duration"))?,
                    justification: form.value("justification"),
                    ticket: (!ticket.trim().is_empty()).then_some(ticket),
                })
            }
            Purpose::Policy { app, before } => {
                let live = self.data.app(app).map(|a| &a.policy);
                Call::SetPolicy(SetPolicy {
                    app: app.clone(),
                    change: super::wizard::policy_change(form, before, live)?,
                })
            }
            Purpose::Deploy(_) => Call::Deploy(super::wizard::deployment(form)?),
        })
    }

    /// Rows the current list shows, after its filter.
    pub fn row_count(&self) -> usize {
        rows::keys(self, Which::on(self, self.tab)).len()
    }

    /// The request (or grant) under the cursor on the Requests or Access tab.
    pub fn selected_request(&self) -> Option<u64> {
        match (self.tab, &self.list().selected) {
            (Tab::Requests | Tab::Access, Some(Key::Id(id))) => Some(*id),
            _ => None,
        }
    }

    /// The request Enter opens: the selected request or grant, or the request a notification or
    /// an audit row is about.
    pub fn opened_request(&self) -> Option<u64> {
        match (self.tab, &self.list().selected) {
            (Tab::Activity, Some(Key::Id(id))) if self.on_notes => {
                // A notice of a change to an application names no request, and opens nothing.
                self.data.notifications.iter().find(|n| n.id == *id).and_then(|n| n.request)
            }
            (Tab::Activity, Some(Key::Id(id))) => {
                match self.data.audit.iter().find(|a| a.id == *id).map(|a| &a.target) {
                    Some(Target::Request(request)) => Some(*request),
                    _ => None,
                }
            }
            _ => self.selected_request(),
        }
    }

    /// The application under the cursor on the Applications or JIT settings tab.
    pub fn selected_app(&self) -> Option<&crate::domain::Application> {
        match (self.tab, &self.list().selected) {
            (Tab::Applications | Tab::Settings, Some(Key::Name(name))) => self.data.app(name),
            _ => None,
        }
    }

    fn act(&mut self, action: KeyAction) -> Vec<Effect> {
        if !self.offers(action) {
            if let Some(why) = self.why_not(action) {
                self.toast(why, true);
            }
            return Vec::new();
        }
        let rows = self.row_count();
        let page = self.window.rows.max(1);
        let at = self.list().at;
        let last = rows.saturating_sub(1);
        match action {
            KeyAction::Quit => return vec![Effect::Quit],
            KeyAction::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            KeyAction::NextTab => self.go(Tab::ALL[(self.tab.index() + 1) % 5]),
            KeyAction::PrevTab => self.go(Tab::ALL[(self.tab.index() + 4) % 5]),
            KeyAction::Tab1 => self.go(Tab::Applications),
            KeyAction::Tab2 => self.go(Tab::Settings),
            KeyAction::Tab3 => self.go(Tab::Requests),
            KeyAction::Tab4 => self.go(Tab::Access),
            KeyAction::Tab5 => self.go(Tab::Activity),
            KeyAction::Up => self.select(at.saturating_sub(1)),
            KeyAction::Down => self.select((at + 1).min(last)),
            KeyAction::Top => self.select(0),
            KeyAction::Bottom => self.select(last),
            KeyAction::PageUp => self.select(at.saturating_sub(page)),
            KeyAction::PageDown => self.select((at + page).min(last)),
            KeyAction::Filter => self.list_mut().filtering = true,
            KeyAction::Back if !self.marks.is_empty() => self.marks.clear(),
            KeyAction::Back => {
                let list = self.list_mut();
                list.filter.reset();
                list.filtering = false;
                self.refollow(self.tab);
            }
            KeyAction::Open => {
                if let Some(id) = self.opened_request() {
                    self.overlay = Some(Overlay::Detail { id, detail: None });
                    return vec![Effect::LoadDetail(id)];
                }
            }
            KeyAction::Approve | KeyAction::Deny if self.tab == Tab::Access => {
                if let Some(id) = self.selected_extension_to_decide() {
                    self.open_extension_decision(id, action == KeyAction::Approve);
                }
            }
            KeyAction::Extend => {
                if let Some(id) = self.selected_grant_to_extend() {
                    let form = Form::new(format!("Extend access {id}"), Purpose::Extend { id })
                        .intro(format!(
                            "{} ends {}; ask for more time, decided as requests are.",
                            self.whose_access(id),
                            self.data
                                .grants
                                .iter()
                                .find(|g| g.id == id)
                                .and_then(AccessRequest::end)
                                .map(|end| self.ui.time.moment(end, self.now))
                                .unwrap_or_default()
                        ))
                        .field(Field::text("by", "1h", "how much longer, e.g. 30m or 1h"))
                        .field(Field::text("reason", "", "required: approvers will read it"));
                    self.overlay = Some(Overlay::Form(form));
                }
            }
            KeyAction::Approve | KeyAction::Deny if !self.marks.is_empty() => {
                self.open_bulk_decision(action == KeyAction::Approve);
            }
            KeyAction::Approve | KeyAction::Deny => {
                if let Some(id) = self.selected_request() {
                    self.open_decision(id, action == KeyAction::Approve);
                }
            }
            KeyAction::Cancel => {
                if let Some(id) = self.selected_request() {
                    let what = match self.data.requests.iter().find(|r| r.id == id) {
                        Some(r) => format!(" for {} on {}", r.roles.join(", "), r.app),
                        None => String::new(),
                    };
                    let message = format!("Cancel your pending request {id}{what}?");
                    self.overlay = Some(Overlay::Confirm { message, then: Confirmed::Cancel(id) });
                }
            }
            KeyAction::Revoke => {
                if let Some(id) = self.selected_request() {
                    let message = format!("Revoke {} now? It ends immediately.", self.whose_access(id));
                    self.overlay = Some(Overlay::Confirm { message, then: Confirmed::Revoke(id) });
                }
            }
            KeyAction::New => self.open_new(),
            KeyAction::Edit => self.open_policy(),
            KeyAction::MarkRead => {
                if let Some(newest) = self.data.notifications.iter().map(|n| n.id).max() {
                    self.data.seen_upto = newest;
                    return vec![Effect::MarkSeen(newest)];
                }
            }
            KeyAction::Goto => self.goto = Some(String::new()),
            KeyAction::Mark => {
                if let Some(id) = self.selected_request() {
                    self.marks.toggle(id);
                }
            }
            KeyAction::MarkAll => {
                let markable = self.markable();
                self.marks.extend(markable);
            }
            KeyAction::Pane => {
                self.on_notes = !self.on_notes;
                self.refollow(Tab::Activity);
            }
            KeyAction::Sort => {
                self.sort = self.sort.next();
                self.refollow(Tab::Requests);
            }
            KeyAction::Mine => {
                self.only_mine = !self.only_mine;
                self.refollow(Tab::Requests);
            }
            // Only a confirmation answers these.
            KeyAction::Yes | KeyAction::No => {}
        }
        Vec::new()
    }

    /// Shows a tab. The Applications and JIT settings tabs list the same applications, so each opens
    /// on the application the other had selected: tab 2 shows the policy of the one picked on tab 1.
    fn go(&mut self, tab: Tab) {
        let other = match (self.tab, tab) {
            (Tab::Applications, Tab::Settings) | (Tab::Settings, Tab::Applications) => self.tab,
            _ => {
                self.tab = tab;
                return;
            }
        };
        self.tab = tab;
        let Some(picked) = self.lists[other.index()].selected.clone() else { return };
        if rows::keys(self, Which::Tab(tab)).contains(&picked) {
            self.list_mut().selected = Some(picked);
            self.refollow(tab);
        }
    }

    /// "Erin Lindqvist's Reader access to contoso-crm-eu", for the revoke question and form.
    fn whose_access(&self, id: u64) -> String {
        match self.data.grants.iter().find(|g| g.id == id) {
            Some(g) => format!(
                "{}'s {} access to {}",
                self.data.display_name(&g.requester),
                g.roles.join(", "),
                g.app
            ),
            None => format!("access {id}"),
        }
    }

    /// The grant under the cursor on the Access tab if it is the user's own with no extension
    /// waiting: what `e` extends.
    fn selected_grant_to_extend(&self) -> Option<u64> {
        let me = self.data.me.as_ref()?;
        let id = self.selected_request().filter(|_| self.tab == Tab::Access)?;
        let grant = self.data.grants.iter().find(|g| g.id == id)?;
        (grant.requester == me.upn && grant.pending_extension().is_none()).then_some(id)
    }

    /// The grant under the cursor on the Access tab if an extension waits on it that the user
    /// approves and did not ask for: what `a` and `d` decide there.
    fn selected_extension_to_decide(&self) -> Option<u64> {
        let me = self.data.me.as_ref()?;
        let id = self.selected_request().filter(|_| self.tab == Tab::Access)?;
        let grant = self.data.grants.iter().find(|g| g.id == id)?;
        let waiting = grant.pending_extension().is_some() && grant.requester != me.upn;
        (waiting && self.data.approves(&grant.app)).then_some(id)
    }

    /// The form that decides an extension names the grant, how much more is asked and why.
    fn open_extension_decision(&mut self, id: u64, approve: bool) {
        let Some(g) = self.data.grants.iter().find(|g| g.id == id) else { return };
        let Some((_, e)) = g.pending_extension() else { return };
        let verb = if approve { "Approve" } else { "Deny" };
        let intro = format!(
            "{} asks for {} more; decide by {}",
            self.data.display_name(&g.requester),
            e.by,
            self.ui.time.moment(e.decide_by, self.now)
        );
        let why = format!("reason: {}", e.asked.reason);
        let form = Form::new(
            format!("{verb} the extension of access {id}"),
            Purpose::DecideExtension { id, approve },
        )
        .intro(self.whose_access(id))
        .intro(intro)
        .intro(why)
        .field(Field::text("reason", "", "required: the requester will read it"));
        self.overlay = Some(Overlay::Form(form));
    }

    /// The decision form names everything the decision is about, so nobody approves the wrong request.
    fn open_decision(&mut self, id: u64, approve: bool) {
        let Some(r) = self.data.requests.iter().find(|r| r.id == id) else { return };
        let verb = if approve { "Approve" } else { "Deny" };
        let policy = self.data.app(&r.app).map(|a| a.policy.clone());
        let seen = Box::new((r.clone(), policy));
        let form = Form::new(format!("{verb} request {id}"), Purpose::Decide { id, approve, seen })
            .intro(format!(
                "request {id} by {} <{}> on {}",
                self.data.display_name(&r.requester),
                r.requester,
                r.app
            ))
            .intro(format!(
                "roles {}; starts {}; for {}",
                r.roles.join(", "),
                self.ui.time.moment(r.start, self.now),
                r.duration
            ))
            .intro(format!("justification: {}", r.justification))
            .field(Field::text("reason", "", "required: approvers and the requester will read it"));
        self.overlay = Some(Overlay::Form(form));
    }

    /// The requests on the Requests list (after its filter) that this user can decide: what can
    /// be marked.
    fn markable(&self) -> std::collections::BTreeSet<u64> {
        rows::requests(self).into_iter().filter(|r| self.can_decide(r)).map(|r| r.id).collect()
    }

    /// One form for every marked request: it names each (id, requester, application) and asks for
    /// the one reason they all get.
    fn open_bulk_decision(&mut self, approve: bool) {
        let seen: Vec<(AccessRequest, Option<JitPolicy>)> = self
            .marks
            .ids()
            .iter()
            .filter_map(|id| self.data.requests.iter().find(|r| r.id == *id))
            .map(|r| (r.clone(), self.data.app(&r.app).map(|a| a.policy.clone())))
            .collect();
        let marked = seen.len();
        let verb = if approve { "Approve" } else { "Deny" };
        let named: Vec<AccessRequest> = seen.iter().take(marks::NAMED).map(|(r, _)| r.clone()).collect();
        let mut form =
            Form::new(format!("{verb} {marked} marked requests"), Purpose::DecideEach { approve, seen });
        for r in &named {
            form = form.intro(format!(
                "request {} by {} <{}> on {}",
                r.id,
                self.data.display_name(&r.requester),
                r.requester,
                r.app
            ));
        }
        if marked > marks::NAMED {
            form = form.intro(format!("and {} more", marked - marks::NAMED));
        }
        let form = form
            .intro("each is decided on its own: a refusal of one stops no other")
            .field(Field::text("reason", "", "required: approvers and each requester will read it"));
        self.overlay = Some(Overlay::Form(form));
    }

    /// The outcomes of a bulk decision, one per request. When any went through the form closes, the
    /// marks clear and a toast sums up; when none did, the form stays open with the refusals, so
    /// the user can fix the reason and send again.
    pub fn on_decided(&mut self, approve: bool, outcomes: &[(u64, Result<String, Refusal>)]) {
        let (line, done) = marks::summary(approve, outcomes);
        let refused = done < outcomes.len();
        match &mut self.overlay {
            Some(Overlay::Form(form)) if form.busy && done == 0 => {
                form.busy = false;
                form.error = Some(line);
            }
            _ => {
                if matches!(&self.overlay, Some(Overlay::Form(form)) if form.busy) {
                    self.overlay = None;
                }
                self.marks.clear();
                self.toast(line, refused);
            }
        }
    }

    /// Refuses a decision on a request that changed since its form opened, saying what changed.
    fn unchanged(&self, id: u64, seen: &(AccessRequest, Option<JitPolicy>)) -> Result<(), Refusal> {
        let changes = self.changes(id, seen);
        if changes.is_empty() {
            return Ok(());
        }
        Err(Refusal::NotSent(format!(
            "request {id} changed while this form was open: {}. Nothing was sent; Esc closes the form.",
            changes.join("; ")
        )))
    }

    /// What changed in a request, or its application's policy, since a form showed them.
    fn changes(&self, id: u64, seen: &(AccessRequest, Option<JitPolicy>)) -> Vec<String> {
        let (before, policy) = seen;
        let mut changes = Vec::new();
        match self.data.requests.iter().find(|r| r.id == id) {
            None => changes.push(match lists::settled(self, id) {
                Some((why, _)) => format!("it was {why}"),
                None => "it is no longer pending".to_string(),
            }),
            Some(now) => {
                if now.state != before.state {
                    changes.push(format!("it is {} now", now.state.name()));
                }
                if now.roles != before.roles || now.start != before.start || now.duration != before.duration {
                    changes.push("what it asks for changed".to_string());
                }
            }
        }
        if changes.is_empty() && before.decide_by <= self.now {
            changes.push("it timed out undecided".to_string());
        }
        if self.data.app(&before.app).map(|a| &a.policy) != policy.as_ref() {
            changes.push(format!("the JIT policy of {} changed", before.app));
        }
        changes
    }

    fn open_new(&mut self) {
        match (self.tab, self.role()) {
            (Tab::Requests, Role::Publisher) => self.open_request_form(),
            (Tab::Applications, Role::Admin | Role::Approver | Role::Customer) => self.open_deploy_form(),
            _ => {}
        }
    }

    /// The request form. No role is chosen for the publisher: they pick what they need. The roles
    /// and the maximum duration shown follow the application chosen.
    fn open_request_form(&mut self) {
        let Some(me) = &self.data.me else { return };
        let apps: Vec<Requestable> = self
            .data
            .apps
            .iter()
            .filter(|a| a.policy.enabled && a.publisher_tenant == me.tenant)
            .map(|a| Requestable {
                app: a.name.clone(),
                roles: self
                    .data
                    .offers
                    .iter()
                    .find(|o| o.id == a.offer)
                    .map(|o| o.roles.clone())
                    .unwrap_or_default(),
                max: a.policy.max_duration,
            })
            .collect();
        if apps.is_empty() {
            self.toast("no application with JIT access is deployed from your offers".into(), true);
            return;
        }
        let names = apps.iter().map(|a| a.app.clone()).collect();
        let form = Form::new("Request JIT access", Purpose::Request(apps))
            .field(Field::choice("application", names, 0, "←/→ to choose"))
            .field(Field::multi("roles", Vec::new(), Vec::new(), "←/→ to move, Space to toggle"))
            .field(Field::text("start", "now", format!("now, +30m or {}", example_start(self.now))))
            .field(Field::text("duration", "1h", "e.g. 2h, 90m, PT8H"))
            .field(Field::text("justification", "", "required: approvers decide on this"))
            .field(Field::text("ticket", "", "optional"))
            .on_change(sync_request);
        self.overlay = Some(Overlay::Form(form));
    }

    /// The deployment wizard: offer, basics, JIT configuration, its customization, review.
    fn open_deploy_form(&mut self) {
        match super::wizard::deploy_form(&self.data) {
            Ok(form) => self.overlay = Some(Overlay::Form(form)),
            Err(message) => self.toast(message, true),
        }
    }

    /// The JIT settings editor of the selected application; one deployed without JIT says why not.
    fn open_policy(&mut self) {
        let Some(app) = self.selected_app().cloned() else { return };
        if !app.policy.enabled {
            self.toast(format!("{} was deployed without JIT: it cannot be enabled later", app.name), true);
            return;
        }
        self.overlay = Some(Overlay::Form(super::wizard::policy_form(&self.data, &app)));
    }
}
