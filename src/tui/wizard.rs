//! The deployment wizard and the JIT settings editor: which fields they have, how the fields follow
//! one another (the offer decides whether JIT can be enabled), and how the values become engine calls.
//! Both are ordinary `Form`s; the wizard is one cut into steps. Every rule stays the engine's: what
//! is checked here as you type is parsing, with the engine's own parsers, and the engine's refusal of
//! the whole shows inline.

use super::app::Purpose;
use super::data::Snapshot;
use super::form::{Field, FieldKind, Form, Person, PickRow, Tone};
use super::refusal::Refusal;
use crate::domain::rules::{Deployment, PolicyChange};
use crate::domain::text::check_id;
use crate::domain::{
    Application, ApprovalMode, JitPolicy, License, Offer, Period, RuleError, RuleResult, Tenant,
};

pub const OFFER: &str = "offer";
pub const NAME: &str = "name";
pub const GROUP: &str = "managed resource group";
pub const JIT: &str = "enable JIT access";
pub const MODE: &str = "approval mode";
pub const MAX: &str = "maximum duration";
pub const APPROVERS: &str = "approvers";
pub const TIMEOUT: &str = "request timeout";
pub const APPROVALS: &str = "approvals required";

const APPROVALS_HINT: &str = "how many different approvers must approve each request (manual approval)";

const MODES: [&str; 2] = ["automatic", "manual"];

fn mode_of(text: &str) -> ApprovalMode {
    if text == "manual" { ApprovalMode::ManualApprove } else { ApprovalMode::AutoApprove }
}

fn mode_name(mode: ApprovalMode) -> &'static str {
    match mode {
        ApprovalMode::AutoApprove => MODES[0],
        ApprovalMode::ManualApprove => MODES[1],
    }
}

fn check_span(text: &str) -> RuleResult<()> {
    Period::parse(text).map(|_| ())
}

/// A number of approvals as typed; whether it fits the policy is the engine's to say.
fn approvals(text: &str) -> RuleResult<u32> {
    text.trim().parse().map_err(|_| {
        RuleError::invalid(format!(
            "`{}` is not a number of approvals: give a whole number, like 2",
            crate::domain::text::shown(text)
        ))
    })
}

fn check_approvals(text: &str) -> RuleResult<()> {
    approvals(text).map(|_| ())
}

fn check_name(text: &str) -> RuleResult<()> {
    check_id("application name", text).map(|_| ())
}

fn check_group(text: &str) -> RuleResult<()> {
    if text.is_empty() { Ok(()) } else { check_id("resource group", text).map(|_| ()) }
}

/// A period as the short form, every unit kept (`1d2h30m`), so that showing a value and reading it
/// back gives the same span; `Display` keeps only the two largest units.
pub fn short(span: Period) -> String {
    let secs = span.as_secs();
    let units =
        [(secs / 86_400, 'd'), (secs % 86_400 / 3_600, 'h'), (secs % 3_600 / 60, 'm'), (secs % 60, 's')];
    let out: String = units.iter().filter(|(v, _)| *v > 0).map(|(v, u)| format!("{v}{u}")).collect();
    if out.is_empty() { "0s".into() } else { out }
}

/// A period for people: `8h (PT8H)`.
fn spoken(span: Period) -> String {
    format!("{} ({})", short(span), span.iso())
}

/// The users of a tenant, the directory approvers are searched in.
fn directory(data: &Snapshot, tenant: &str) -> Vec<Person> {
    let users = data.users.iter().filter(|u| u.tenant == tenant);
    let groups = data.groups.iter().filter(|g| g.tenant == tenant);
    users
        .map(|u| Person { upn: u.upn.clone(), name: u.display_name.clone() })
        // A group is picked by its id and marked as one, so searching `group` lists them all.
        .chain(groups.map(|g| Person { upn: g.id.clone(), name: format!("{GROUP_MARK}{}", g.display_name) }))
        .collect()
}

/// How the approver pickers mark a group among the people.
const GROUP_MARK: &str = "group: ";

/// A policy's approvers as the pickers choose them: users' UPNs, then groups' ids.
fn approvers_of(policy: &JitPolicy) -> Vec<String> {
    policy.approvers.iter().chain(&policy.approver_groups).cloned().collect()
}

fn person(form: &Form<Purpose>, upn: &str) -> String {
    let name = match form.get(APPROVERS).map(|f| &f.kind) {
        Some(FieldKind::People { directory, .. }) => {
            directory.iter().find(|p| p.upn == upn).map(|p| p.name.as_str())
        }
        _ => None,
    };
    match name {
        Some(name) if name != upn => format!("{name} <{upn}>"),
        _ => upn.to_string(),
    }
}

// ---- the deployment wizard ----

/// What the wizard knows beyond its fields: the marketplace and the tenant it deploys into.
#[derive(Debug, Clone)]
pub struct Marketplace {
    pub offers: Vec<Offer>,
    pub tenant: Option<Tenant>,
    pub publishers: Vec<Tenant>,
}

impl Marketplace {
    fn offer(&self, id: &str) -> Option<&Offer> {
        self.offers.iter().find(|o| o.id == id)
    }

    fn publisher(&self, offer: &Offer) -> String {
        self.publishers
            .iter()
            .find(|t| t.id == offer.publisher_tenant)
            .map_or_else(|| offer.publisher_tenant.clone(), |t| t.name.clone())
    }
}

/// The wizard `n` opens on the Applications tab: offer, basics, JIT configuration, customization, review.
pub fn deploy_form(data: &Snapshot) -> Result<Form<Purpose>, String> {
    if data.offers.is_empty() {
        return Err("the marketplace has no offers yet".into());
    }
    let me = data.me.as_ref();
    let market = Marketplace {
        offers: data.offers.clone(),
        tenant: me.and_then(|m| data.tenant(&m.tenant)).cloned(),
        publishers: data.tenants.clone(),
    };
    let rows = market
        .offers
        .iter()
        .map(|o| PickRow {
            key: o.id.clone(),
            cells: vec![
                o.name.clone(),
                market.publisher(o),
                if o.jit_available { "yes".into() } else { "no".into() },
                if o.roles.is_empty() { "-".into() } else { o.roles.join(", ") },
            ],
        })
        .collect();
    let people = me.map(|m| directory(data, &m.tenant)).unwrap_or_default();
    let form = Form::new("Deploy a managed application", Purpose::Deploy(Box::new(market)))
        .step("Offer")
        .step_intro("Choose the marketplace offer to deploy. JIT says whether its publisher offers just-in-time access.")
        .field(Field::pick(OFFER, vec!["OFFER", "PUBLISHER", "JIT", "ROLES"], rows, 0).placeholder("type to search the marketplace"))
        .step("Basics")
        .step_intro("Name the application. The publisher's access applies to its managed resource group.")
        .field(Field::text(NAME, "", "letters, digits, . _ - (at most 64)").check(check_name))
        .field(Field::text(GROUP, "", "optional: empty uses the default shown").check(check_group).placeholder("mrg-<name>"))
        .step("JIT Configuration")
        .step_intro("Just-in-time access lets you approve when and for how long the publisher can access the managed resource group. It can only be chosen now.")
        .field(Field::choice(JIT, vec!["Yes".into(), "No".into()], 0, "←/→ or y/n to choose"))
        .step("Customize")
        .step_when(JIT, "Yes")
        .step_intro("Customize JIT Configuration. Defaults: automatic approval, at most 8 hours, no approvers.")
        .field(Field::choice(MODE, MODES.map(String::from).to_vec(), 0, "←/→ to choose"))
        .field(Field::text(MAX, &short(JitPolicy::DEFAULT_MAX_DURATION), "the longest access a publisher can ask for: 8h, 90m, 1d, PT4H").check(check_span))
        .field(Field::people(APPROVERS, people, Vec::new()))
        .field(Field::text(APPROVALS, &JitPolicy::DEFAULT_APPROVALS_REQUIRED.to_string(), APPROVALS_HINT).check(check_approvals))
        .step("Review")
        .step_intro("Check the deployment, then press Enter to create it.")
        .on_change(sync_deploy);
    Ok(form)
}

/// Keeps the wizard's dependent parts current: the default resource group follows the name, the
/// offer decides whether JIT can be enabled, and the notes say what each choice means.
fn sync_deploy(form: &mut Form<Purpose>) {
    let Purpose::Deploy(market) = &form.purpose else { return };
    let offer = market.offer(&form.value(OFFER)).cloned();
    let publisher = offer.as_ref().map(|o| market.publisher(o));
    let licence = market.tenant.as_ref().and_then(|t| match t.license {
        Some(License::P2) | None => None,
        Some(other) => Some((t.id.clone(), if other == License::P1 { "P1" } else { "the free licence" })),
    });
    let name = form.value(NAME);
    if let Some(field) = form.get_mut(GROUP) {
        field.placeholder = format!("mrg-{}", if name.is_empty() { "<name>" } else { name.as_str() });
    }
    if let Some(field) = form.get_mut(OFFER) {
        field.note = offer.as_ref().zip(publisher.as_ref()).map(|(offer, publisher)| {
            let jit = if offer.jit_available {
                "JIT access available."
            } else {
                "No JIT access: the publisher gets permanent access."
            };
            (Tone::Info, format!("{} ({}) by {publisher}. {jit}", offer.name, offer.id))
        });
    }
    // While a search matches no offer, the JIT choice is left as it was.
    if let (Some(field), Some(offer)) = (form.get_mut(JIT), &offer)
        && let FieldKind::Choice { options, selected } = &mut field.kind
    {
        let allowed: Vec<String> =
            if offer.jit_available { vec!["Yes".into(), "No".into()] } else { vec!["No".into()] };
        if *options != allowed {
            *options = allowed;
            *selected = 0;
        }
        field.hint = if options.len() > 1 { "←/→ or y/n to choose".into() } else { String::new() };
        let yes = options.get(*selected).is_some_and(|o| o == "Yes");
        field.note = Some(if !offer.jit_available {
            (
                Tone::Warn,
                format!(
                    "Fixed to No: offer {} does not support JIT access, so {} gets permanent access to the managed resource group.",
                    offer.id,
                    publisher.as_deref().unwrap_or("its publisher")
                ),
            )
        } else if !yes {
            (
                Tone::Warn,
                "With No, the publisher gets permanent access to the managed resource group. This cannot be undone: JIT access cannot be enabled later.".into(),
            )
        } else if let Some((tenant, has)) = &licence {
            (
                Tone::Warn,
                format!("JIT access needs a Microsoft Entra ID P2 licence, and tenant {tenant} has {has}."),
            )
        } else {
            (Tone::Info, "You approve each access of the publisher; next, choose how.".into())
        });
    }
    sync_jit_notes(form);
}

/// Notes shared by the wizard's last step and the editor: what the mode means, and a manual mode
/// with nobody to approve.
fn sync_jit_notes<P>(form: &mut Form<P>) {
    let manual = form.value(MODE) == "manual";
    let nobody = form.get(APPROVERS).is_some_and(|f| f.values().is_empty());
    if let Some(field) = form.get_mut(MODE) {
        field.note = Some((
            Tone::Info,
            if manual {
                "approvers are notified of each request, and as many as required must approve it".into()
            } else {
                "requests are approved at once; approvers are notified of each".into()
            },
        ));
    }
    if let Some(field) = form.get_mut(APPROVERS) {
        field.note =
            (manual && nobody).then(|| (Tone::Warn, "manual approval needs at least one approver".into()));
    }
}

/// The deployment the wizard's values describe; JIT settings only when JIT is enabled.
pub fn deployment(form: &Form<Purpose>) -> Result<Deployment, RuleError> {
    let jit = form.value(JIT) == "Yes";
    let manual = jit && form.value(MODE) == "manual";
    let group = form.value(GROUP);
    Ok(Deployment {
        name: form.value(NAME),
        offer: form.value(OFFER),
        jit: Some(jit),
        mode: jit.then(|| mode_of(&form.value(MODE))),
        max_duration: if jit { Some(Period::parse(&form.value(MAX))?) } else { None },
        approvers: if jit { form.get(APPROVERS).map(Field::values).unwrap_or_default() } else { Vec::new() },
        request_timeout: None,
        approvals_required: if manual { Some(approvals(&form.value(APPROVALS))?) } else { None },
        resource_group: (!group.is_empty()).then_some(group),
        resource_id: None,
        max_extensions: None,
    })
}

/// The review step: every choice, in words, with what it means where that matters.
pub fn review(form: &Form<Purpose>) -> Vec<(&'static str, String, Tone)> {
    let Purpose::Deploy(market) = &form.purpose else { return Vec::new() };
    let mut rows = Vec::new();
    let id = form.value(OFFER);
    let offer = match market.offer(&id) {
        Some(o) => format!("{} ({}) by {}", o.name, o.id, market.publisher(o)),
        None => id,
    };
    rows.push(("offer", offer, Tone::Info));
    let name = form.value(NAME);
    rows.push(("application name", name.clone(), Tone::Info));
    let group = form.value(GROUP);
    let group = if group.is_empty() { format!("mrg-{name} (default)") } else { group };
    rows.push((GROUP, group, Tone::Info));
    if form.value(JIT) == "Yes" {
        rows.push(("JIT access", "enabled".into(), Tone::Info));
        let manual = form.value(MODE) == "manual";
        let mode = if manual {
            "manual: approvers must approve each request"
        } else {
            "automatic: approvers are notified"
        };
        rows.push((MODE, mode.into(), Tone::Info));
        let max = form.value(MAX);
        rows.push((MAX, Period::parse(&max).map(spoken).unwrap_or(max), Tone::Info));
        let approvers = form.get(APPROVERS).map(Field::values).unwrap_or_default();
        if approvers.is_empty() {
            rows.push((APPROVERS, "none".into(), if manual { Tone::Warn } else { Tone::Info }));
        }
        for (i, upn) in approvers.iter().enumerate() {
            rows.push((if i == 0 { APPROVERS } else { "" }, person(form, upn), Tone::Info));
        }
        if manual {
            rows.push((APPROVALS, form.value(APPROVALS).trim().to_string(), Tone::Info));
        }
        rows.push((
            TIMEOUT,
            format!(
                "{} (default; change it later in JIT settings)",
                spoken(JitPolicy::DEFAULT_REQUEST_TIMEOUT)
            ),
            Tone::Info,
        ));
    } else {
        rows.push((
            "JIT access",
            "disabled: the publisher gets permanent access to the managed resource group, and this cannot be undone".into(),
            Tone::Warn,
        ));
    }
    rows
}

// ---- the JIT settings editor ----

/// The editor `e` opens on the JIT settings tab, filled with the application's policy.
pub fn policy_form(data: &Snapshot, app: &Application) -> Form<Purpose> {
    let p = &app.policy;
    let mode = usize::from(p.mode == ApprovalMode::ManualApprove);
    Form::new(
        format!("JIT settings of {}", app.name),
        Purpose::Policy { app: app.name.clone(), before: Box::new(p.clone()) },
    )
    .intro(format!("offer {} · managed resource group {}", app.offer, app.resource_group))
    .field(Field::choice(MODE, MODES.map(String::from).to_vec(), mode, "←/→ to choose"))
    .field(
        Field::text(
            MAX,
            &short(p.max_duration),
            "the longest access a publisher can ask for: 8h, 90m, 1d, PT4H",
        )
        .check(check_span),
    )
    .field(Field::people(APPROVERS, directory(data, &app.customer_tenant), approvers_of(p)))
    .field(
        Field::text(TIMEOUT, &short(p.request_timeout), "how long a request waits for a decision: 24h, 2d")
            .check(check_span),
    )
    .field(Field::text(APPROVALS, &p.approvals_required.to_string(), APPROVALS_HINT).check(check_approvals))
    .saving()
    .on_change(sync_jit_notes)
}

/// The change the editor's values make to the policy it opened with. Only what was changed is sent,
/// so edits made meanwhile by someone else stay; approvers are added and removed one by one against
/// the current list (`live`), so nobody is added twice or removed who is already gone.
pub fn policy_change(
    form: &Form<Purpose>,
    before: &JitPolicy,
    live: Option<&JitPolicy>,
) -> Result<PolicyChange, Refusal> {
    let mode = mode_of(&form.value(MODE));
    let max = Period::parse(&form.value(MAX))?;
    let timeout = Period::parse(&form.value(TIMEOUT))?;
    let required = approvals(&form.value(APPROVALS))?;
    let wanted = form.get(APPROVERS).map(Field::values).unwrap_or_default();
    let (had, current) = (approvers_of(before), approvers_of(live.unwrap_or(before)));
    let change = PolicyChange {
        jit: None,
        mode: (mode != before.mode).then_some(mode),
        max_duration: (max != before.max_duration).then_some(max),
        add_approvers: wanted.iter().filter(|w| !had.contains(w) && !current.contains(w)).cloned().collect(),
        remove_approvers: had
            .iter()
            .filter(|b| !wanted.contains(b) && current.contains(b))
            .cloned()
            .collect(),
        request_timeout: (timeout != before.request_timeout).then_some(timeout),
        max_extensions: None,
        approvals_required: (required != before.approvals_required).then_some(required),
    };
    let nothing = change.mode.is_none()
        && change.max_duration.is_none()
        && change.request_timeout.is_none()
        && change.approvals_required.is_none()
        && change.add_approvers.is_empty()
        && change.remove_approvers.is_empty();
    if nothing {
        return Err("nothing to save: every setting is as it was (Esc closes)".into());
    }
    Ok(change)
}

/// The editor's pending changes, in words, for the line above its status.
pub fn policy_preview(form: &Form<Purpose>) -> Vec<String> {
    let Purpose::Policy { before, .. } = &form.purpose else { return Vec::new() };
    let mut out = Vec::new();
    let mode = mode_of(&form.value(MODE));
    if mode != before.mode {
        out.push(format!("mode {} → {}", mode_name(before.mode), mode_name(mode)));
    }
    for (label, old) in [(MAX, before.max_duration), (TIMEOUT, before.request_timeout)] {
        if let Ok(new) = Period::parse(&form.value(label))
            && new != old
        {
            out.push(format!("{label} {} → {}", short(old), short(new)));
        }
    }
    if let Ok(required) = approvals(&form.value(APPROVALS))
        && required != before.approvals_required
    {
        out.push(format!("{APPROVALS} {} → {required}", before.approvals_required));
    }
    let wanted = form.get(APPROVERS).map(Field::values).unwrap_or_default();
    let had = approvers_of(before);
    out.extend(wanted.iter().filter(|w| !had.contains(w)).map(|w| format!("+ {w}")));
    out.extend(had.iter().filter(|b| !wanted.contains(b)).map(|b| format!("− {b}")));
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::domain::rules::PolicyChange;
    use crate::domain::{TenantKind, User};
    use crate::engine::SetPolicy;
    use crate::tui::app::{App, Call, Effect, Overlay, Tab, Ui};
    use crate::tui::keymap::Keymap;
    use crate::tui::theme::{Load, Theme};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
    }

    fn user(upn: &str, tenant: &str, name: &str, admin: bool) -> User {
        User {
            upn: upn.into(),
            display_name: name.into(),
            tenant: tenant.into(),
            admin,
            login: None,
            object_id: String::new(),
        }
    }

    fn tenant(id: &str, kind: TenantKind, license: Option<License>) -> Tenant {
        Tenant { id: id.into(), kind, name: format!("{id} Ltd"), license }
    }

    fn offer(id: &str, jit: bool) -> Offer {
        Offer {
            id: id.into(),
            name: id.into(),
            publisher_tenant: "fabrikam".into(),
            published_by: "dave@fabrikam.com".into(),
            jit_available: jit,
            roles: if jit { vec!["Owner".into(), "Reader".into()] } else { Vec::new() },
        }
    }

    fn application(name: &str, jit: bool, approvers: &[&str]) -> Application {
        Application {
            name: name.into(),
            offer: "fabrikam-crm".into(),
            customer_tenant: "contoso".into(),
            publisher_tenant: "fabrikam".into(),
            resource_group: format!("mrg-{name}"),
            policy: JitPolicy {
                enabled: jit,
                mode: ApprovalMode::ManualApprove,
                max_duration: Period::from_hours(8),
                approvers: approvers.iter().map(|a| a.to_string()).collect(),
                request_timeout: Period::from_hours(24),
                approvals_required: 1,
                approver_groups: Vec::new(),
                max_extensions: 0,
            },
            deployed_by: "alice@contoso.com".into(),
            deployed_at: now(),
            resource_id: String::new(),
        }
    }

    /// Alice, admin of contoso, with the sample's directory and marketplace.
    fn app_as(upn: &str) -> App {
        let ui = Ui {
            theme: Theme::load("default", &Load { user_dir: None, truecolor: true }).unwrap(),
            keymap: Keymap::new(&Default::default()).unwrap(),
            time: crate::domain::time_style::TimeStyle::utc(),
            bell: false,
            mouse: false,
            ascii: false,
        };
        let mut app = App::new(ui, now());
        let users = vec![
            user("alice@contoso.com", "contoso", "Alice Fischer", true),
            user("bob@contoso.com", "contoso", "Bob Nakamura", false),
            user("carol@contoso.com", "contoso", "Carol Okafor", true),
            user("nadia@northwind.com", "northwind", "Nadia Petrova", true),
            user("dave@fabrikam.com", "fabrikam", "Dave Moreau", false),
        ];
        let data = Snapshot {
            me: users.iter().find(|u| u.upn == upn).cloned(),
            tenants: vec![
                tenant("contoso", TenantKind::Customer, Some(License::P2)),
                tenant("northwind", TenantKind::Customer, Some(License::Free)),
                tenant("fabrikam", TenantKind::Publisher, None),
            ],
            users,
            offers: vec![offer("fabrikam-crm", true), offer("fabrikam-analytics", false)],
            apps: vec![
                application("contoso-crm", true, &["alice@contoso.com", "carol@contoso.com"]),
                application("contoso-analytics", false, &[]),
            ],
            ..Snapshot::default()
        };
        app.on_snapshot(data);
        app
    }

    fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
        app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn typed(app: &mut App, text: &str) {
        for c in text.chars() {
            assert!(key(app, KeyCode::Char(c)).is_empty(), "typing {c:?} does nothing but type");
        }
    }

    fn form(app: &App) -> &Form<Purpose> {
        match &app.overlay {
            Some(Overlay::Form(form)) => form,
            other => panic!("no form open: {other:?}"),
        }
    }

    fn step(app: &App) -> &'static str {
        form(app).current_step().map(|s| s.title).unwrap_or("-")
    }

    fn only_call(effects: Vec<Effect>) -> Call {
        match <[Effect; 1]>::try_from(effects) {
            Ok([Effect::Run(call)]) => call,
            Ok([other]) => panic!("not a call: {other:?}"),
            Err(effects) => panic!("not one effect: {effects:?}"),
        }
    }

    fn open_wizard(app: &mut App) {
        app.tab = Tab::Applications;
        key(app, KeyCode::Char('n'));
        assert_eq!(step(app), "Offer");
    }

    #[test]
    fn the_wizard_deploys_with_jit_and_an_approver_found_by_search() {
        let mut app = app_as("alice@contoso.com");
        open_wizard(&mut app);
        assert_eq!(form(&app).value(OFFER), "fabrikam-crm");
        key(&mut app, KeyCode::Enter);
        assert_eq!(step(&app), "Basics");
        typed(&mut app, "crm-qj");
        assert_eq!(
            form(&app).get(GROUP).unwrap().placeholder,
            "mrg-crm-qj",
            "the default group follows the name"
        );
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Enter);
        assert_eq!(step(&app), "JIT Configuration");
        assert_eq!(form(&app).value(JIT), "Yes", "Yes by default for an offer with JIT");
        key(&mut app, KeyCode::Enter);
        assert_eq!(step(&app), "Customize");
        key(&mut app, KeyCode::Right);
        assert_eq!(form(&app).value(MODE), "manual");
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Tab);
        typed(&mut app, "bob");
        key(&mut app, KeyCode::Enter);
        assert_eq!(form(&app).get(APPROVERS).unwrap().values(), vec!["bob@contoso.com"]);
        assert_eq!(step(&app), "Customize", "Enter added bob and stayed");
        key(&mut app, KeyCode::Enter);
        assert_eq!(form(&app).focused().map(|f| f.label), Some(APPROVALS), "then the approvals required");
        key(&mut app, KeyCode::Enter);
        assert_eq!(step(&app), "Review");
        let review = review(form(&app));
        assert!(review.iter().any(|(_, v, _)| v == "Bob Nakamura <bob@contoso.com>"), "{review:?}");
        let Call::Deploy(d) = only_call(key(&mut app, KeyCode::Enter)) else { panic!("not a deployment") };
        assert_eq!(
            (d.name.as_str(), d.offer.as_str(), d.jit, d.mode, d.max_duration, d.resource_group),
            (
                "crm-qj",
                "fabrikam-crm",
                Some(true),
                Some(ApprovalMode::ManualApprove),
                Some(Period::from_hours(8)),
                None
            )
        );
        assert_eq!(d.approvers, vec!["bob@contoso.com"]);
        assert!(form(&app).busy);
        assert!(key(&mut app, KeyCode::Enter).is_empty(), "a second Enter while busy sends nothing");
        app.on_result(Ok("deployed crm-qj".into()));
        assert!(app.overlay.is_none());
    }

    #[test]
    fn an_offer_without_jit_forces_no_and_skips_customize() {
        let mut app = app_as("alice@contoso.com");
        open_wizard(&mut app);
        typed(&mut app, "analytics");
        assert_eq!(form(&app).value(OFFER), "fabrikam-analytics");
        key(&mut app, KeyCode::Enter);
        typed(&mut app, "plain");
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Enter);
        assert_eq!(step(&app), "JIT Configuration");
        assert_eq!(form(&app).value(JIT), "No");
        let note = form(&app).get(JIT).and_then(|f| f.note.clone()).unwrap();
        assert_eq!(note.0, Tone::Warn);
        assert!(note.1.contains("does not support JIT") && note.1.contains("permanent access"), "{note:?}");
        key(&mut app, KeyCode::Char('y'));
        assert_eq!(form(&app).value(JIT), "No", "Yes cannot be chosen");
        key(&mut app, KeyCode::Enter);
        assert_eq!(step(&app), "Review", "Customize is skipped");
        assert!(
            review(form(&app)).iter().any(|(_, v, t)| v.contains("permanent access") && *t == Tone::Warn)
        );
        let Call::Deploy(d) = only_call(key(&mut app, KeyCode::Enter)) else { panic!("not a deployment") };
        assert_eq!((d.jit, d.mode, d.max_duration, d.approvers.len()), (Some(false), None, None, 0));
        // Back from the review goes to the JIT step, past the skipped one.
        app.on_result(Err("refused".into()));
        key(&mut app, KeyCode::Esc);
        assert_eq!(step(&app), "JIT Configuration");
    }

    #[test]
    fn choosing_no_warns_that_it_cannot_be_undone() {
        let mut app = app_as("alice@contoso.com");
        open_wizard(&mut app);
        key(&mut app, KeyCode::Enter);
        typed(&mut app, "x");
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Char('n'));
        let (tone, note) = form(&app).get(JIT).and_then(|f| f.note.clone()).unwrap();
        assert_eq!(tone, Tone::Warn);
        assert!(note.contains("permanent access") && note.contains("cannot be undone"), "{note}");
        key(&mut app, KeyCode::Enter);
        assert_eq!(step(&app), "Review");
    }

    #[test]
    fn esc_goes_back_a_step_keeping_values_and_closes_only_after_asking() {
        let mut app = app_as("alice@contoso.com");
        open_wizard(&mut app);
        key(&mut app, KeyCode::Enter);
        typed(&mut app, "keep-me");
        key(&mut app, KeyCode::Tab);
        typed(&mut app, "rg-1");
        key(&mut app, KeyCode::Enter);
        assert_eq!(step(&app), "JIT Configuration");
        key(&mut app, KeyCode::Esc);
        assert_eq!(step(&app), "Basics");
        assert_eq!((form(&app).value(NAME), form(&app).value(GROUP)), ("keep-me".into(), "rg-1".into()));
        key(&mut app, KeyCode::BackTab);
        assert_eq!(step(&app), "Offer");
        key(&mut app, KeyCode::Esc);
        assert!(form(&app).discarding, "something was typed: Esc asks first");
        key(&mut app, KeyCode::Char('n'));
        assert_eq!(step(&app), "Offer");
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Char('y'));
        assert!(app.overlay.is_none());
        // With nothing typed, Esc closes at once.
        open_wizard(&mut app);
        key(&mut app, KeyCode::Esc);
        assert!(app.overlay.is_none());
    }

    #[test]
    fn an_invalid_duration_shows_inline_and_sends_nothing() {
        let mut app = app_as("alice@contoso.com");
        open_wizard(&mut app);
        key(&mut app, KeyCode::Enter);
        typed(&mut app, "x");
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Tab);
        for _ in 0..2 {
            key(&mut app, KeyCode::Backspace);
        }
        typed(&mut app, "8 parsecs");
        let problem =
            form(&app).get(MAX).and_then(Field::problem).expect("the parse error shows as it is typed");
        assert!(problem.contains("parsecs") || problem.contains("8 parsecs"), "{problem}");
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Tab);
        assert!(key(&mut app, KeyCode::Enter).is_empty(), "no call");
        assert_eq!(step(&app), "Customize", "held on the step");
        assert_eq!(form(&app).focused().map(|f| f.label), Some(MAX), "with the focus on the bad field");
    }

    #[test]
    fn an_engine_refusal_shows_on_the_review_and_keeps_everything() {
        let mut app = app_as("nadia@northwind.com");
        open_wizard(&mut app);
        key(&mut app, KeyCode::Enter);
        typed(&mut app, "nw-crm");
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Enter);
        let (tone, note) = form(&app).get(JIT).and_then(|f| f.note.clone()).unwrap();
        assert!(tone == Tone::Warn && note.contains("P2") && note.contains("free licence"), "{note}");
        key(&mut app, KeyCode::Enter);
        assert_eq!(step(&app), "Customize");
        for _ in 0..4 {
            key(&mut app, KeyCode::Enter);
        }
        assert_eq!(step(&app), "Review", "Enter goes through the fields, then on");
        only_call(key(&mut app, KeyCode::Enter));
        let refusal =
            "JIT access needs a Microsoft Entra ID P2 licence, and tenant `northwind` has the free licence";
        app.on_result(Err(refusal.into()));
        assert_eq!(step(&app), "Review");
        assert_eq!(form(&app).error.as_deref(), Some(refusal));
        assert!(!form(&app).busy);
        assert_eq!(form(&app).value(NAME), "nw-crm");
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Char('n'));
        assert_eq!(step(&app), "JIT Configuration");
        assert_eq!(form(&app).error, None, "the refusal belongs to the review");
        key(&mut app, KeyCode::Enter);
        let Call::Deploy(d) = only_call(key(&mut app, KeyCode::Enter)) else { panic!() };
        assert_eq!(d.jit, Some(false));
    }

    #[test]
    fn a_name_with_a_space_is_refused_as_typed() {
        let mut app = app_as("alice@contoso.com");
        open_wizard(&mut app);
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Enter);
        assert_eq!(form(&app).focused().map(|f| f.label), Some(GROUP));
        key(&mut app, KeyCode::Enter);
        assert_eq!(step(&app), "Basics", "the name is required");
        assert!(form(&app).tried);
        assert_eq!(form(&app).focused().map(|f| f.label), Some(NAME), "and the focus goes back to it");
        typed(&mut app, "my app");
        assert!(
            form(&app).get(NAME).and_then(Field::problem).is_some_and(|p| p.contains("application name"))
        );
        app.on_paste("\u{1b}[2J");
        assert!(!form(&app).value(NAME).contains('\u{1b}'), "paste goes through the sanitizer");
    }

    fn open_editor(app: &mut App) {
        app.tab = Tab::Settings;
        key(app, KeyCode::Char('g'));
        key(app, KeyCode::Char('e'));
        assert!(matches!(form(app).purpose, Purpose::Policy { .. }));
    }

    /// The JIT settings editor, opened and in hand to change its fields directly.
    fn opened_editor(app: &mut App) -> &mut Form<Purpose> {
        open_editor(app);
        match &mut app.overlay {
            Some(Overlay::Form(f)) => f,
            other => panic!("no form open: {other:?}"),
        }
    }

    fn set_policy(call: Call) -> SetPolicy {
        match call {
            Call::SetPolicy(s) => s,
            other => panic!("not a policy change: {other:?}"),
        }
    }

    #[test]
    fn the_editor_removes_and_adds_approvers_and_sends_only_changes() {
        let mut app = app_as("alice@contoso.com");
        open_editor(&mut app);
        assert_eq!(form(&app).value(MAX), "8h");
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Tab);
        assert_eq!(form(&app).focused().map(|f| f.label), Some(APPROVERS));
        // Down: bob (the only one left to add), then alice and carol, the chosen.
        key(&mut app, KeyCode::Down);
        key(&mut app, KeyCode::Down);
        key(&mut app, KeyCode::Delete);
        assert_eq!(form(&app).get(APPROVERS).unwrap().values(), vec!["carol@contoso.com"]);
        key(&mut app, KeyCode::Esc);
        typed(&mut app, "Nakam");
        key(&mut app, KeyCode::Enter);
        assert_eq!(policy_preview(form(&app)), vec!["+ bob@contoso.com", "− alice@contoso.com"]);
        let s = set_policy(only_call(app.on_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL))));
        assert_eq!(s.app, "contoso-crm");
        let PolicyChange {
            jit,
            mode,
            max_duration,
            add_approvers,
            remove_approvers,
            request_timeout,
            max_extensions,
            approvals_required,
        } = s.change;
        assert_eq!(
            (jit, mode, max_duration, request_timeout, max_extensions, approvals_required),
            (None, None, None, None, None, None)
        );
        assert_eq!(add_approvers, vec!["bob@contoso.com"]);
        assert_eq!(remove_approvers, vec!["alice@contoso.com"]);
        app.on_result(Err("refused".into()));
        assert_eq!(form(&app).error.as_deref(), Some("refused"));
    }

    #[test]
    fn the_editor_lists_the_tenants_groups_marked_and_adds_one_by_id() {
        let mut app = app_as("alice@contoso.com");
        let group = |id: &str, tenant: &str| crate::domain::Group {
            id: id.into(),
            display_name: format!("{id} team"),
            tenant: tenant.into(),
            object_id: String::new(),
        };
        app.data.groups = vec![group("ops", "contoso"), group("nw", "northwind")];
        open_editor(&mut app);
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Tab);
        let Some(FieldKind::People { directory, .. }) = form(&app).get(APPROVERS).map(|f| &f.kind) else {
            panic!("the approvers are a people picker");
        };
        let groups: Vec<&str> =
            directory.iter().filter(|p| p.name.starts_with(GROUP_MARK)).map(|p| p.upn.as_str()).collect();
        assert_eq!(groups, ["ops"], "contoso's group alone, marked as a group");
        typed(&mut app, "group");
        key(&mut app, KeyCode::Enter);
        assert_eq!(policy_preview(form(&app)), vec!["+ ops"]);
        let s = set_policy(only_call(app.on_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL))));
        assert_eq!((s.change.add_approvers, s.change.remove_approvers), (vec!["ops".to_string()], vec![]));

        // A group that approves is chosen already, and taking it out removes it by id.
        let mut before = app.data.apps[0].policy.clone();
        before.approver_groups = vec!["ops".into()];
        let chosen = approvers_of(&before);
        assert_eq!(chosen, ["alice@contoso.com", "carol@contoso.com", "ops"]);
    }

    #[test]
    fn the_editor_checks_durations_and_saves_mode_and_timeout() {
        let mut app = app_as("alice@contoso.com");
        open_editor(&mut app);
        key(&mut app, KeyCode::Char('a'));
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Char('x'));
        assert!(form(&app).get(MAX).and_then(Field::problem).is_some());
        let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert!(app.on_key(ctrl_s).is_empty(), "an invalid duration sends nothing");
        assert_eq!(form(&app).focused().map(|f| f.label), Some(MAX));
        key(&mut app, KeyCode::Backspace);
        key(&mut app, KeyCode::Tab);
        key(&mut app, KeyCode::Tab);
        for _ in 0..3 {
            key(&mut app, KeyCode::Backspace);
        }
        typed(&mut app, "2d");
        key(&mut app, KeyCode::Enter);
        let s = set_policy(only_call(key(&mut app, KeyCode::Enter)));
        assert_eq!(s.change.mode, Some(ApprovalMode::AutoApprove));
        assert_eq!(s.change.max_duration, None);
        assert_eq!(s.change.request_timeout, Some(Period::from_hours(48)));
        assert_eq!(s.change.approvals_required, None, "left as it was");
        assert!(s.change.add_approvers.is_empty() && s.change.remove_approvers.is_empty());
    }

    #[test]
    fn the_editor_saves_the_approvals_required_and_previews_the_change() {
        let mut app = app_as("alice@contoso.com");
        open_editor(&mut app);
        for _ in 0..4 {
            key(&mut app, KeyCode::Tab);
        }
        assert_eq!(form(&app).focused().map(|f| f.label), Some(APPROVALS));
        key(&mut app, KeyCode::Backspace);
        typed(&mut app, "two");
        assert!(form(&app).get(APPROVALS).and_then(Field::problem).is_some(), "not a number");
        for _ in 0..3 {
            key(&mut app, KeyCode::Backspace);
        }
        typed(&mut app, "2");
        assert_eq!(policy_preview(form(&app)), vec!["approvals required 1 → 2"]);
        let s = set_policy(only_call(key(&mut app, KeyCode::Enter)));
        assert_eq!(s.change.approvals_required, Some(2));
        assert_eq!((s.change.mode, s.change.max_duration, s.change.request_timeout), (None, None, None));
    }

    #[test]
    fn saving_nothing_says_so_and_leaving_edits_asks() {
        let mut app = app_as("alice@contoso.com");
        open_editor(&mut app);
        let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert!(app.on_key(ctrl_s).is_empty());
        assert!(form(&app).error.as_deref().is_some_and(|e| e.contains("nothing to save")));
        key(&mut app, KeyCode::Char('a'));
        key(&mut app, KeyCode::Esc);
        assert!(form(&app).discarding);
        key(&mut app, KeyCode::Char('y'));
        assert!(app.overlay.is_none());
    }

    #[test]
    fn an_application_without_jit_cannot_be_edited_and_says_why() {
        let mut app = app_as("alice@contoso.com");
        app.tab = Tab::Settings;
        key(&mut app, KeyCode::Char('g'));
        key(&mut app, KeyCode::Char('j'));
        key(&mut app, KeyCode::Char('e'));
        assert!(app.overlay.is_none());
        let toast = app.toasts.last().map(|t| t.text.clone()).unwrap_or_default();
        assert!(toast.contains("without JIT") && toast.contains("cannot be enabled"), "{toast}");
    }

    #[test]
    fn removals_someone_already_made_are_not_sent_again() {
        let mut app = app_as("alice@contoso.com");
        let f = opened_editor(&mut app);
        if let Some(FieldKind::People { chosen, .. }) = f.get_mut(APPROVERS).map(|f| &mut f.kind) {
            chosen.clear();
        }
        let Purpose::Policy { before, .. } = &f.purpose else { unreachable!() };
        let live = JitPolicy { approvers: vec!["alice@contoso.com".into()], ..(**before).clone() };
        let change = policy_change(f, before, Some(&live)).unwrap();
        assert_eq!(change.remove_approvers, vec!["alice@contoso.com"], "carol was removed meanwhile");
    }

    #[test]
    fn the_editor_keeps_a_rule_refusal_typed_apart_from_its_own_reasons() {
        let mut app = app_as("alice@contoso.com");
        let f = opened_editor(&mut app);
        let Purpose::Policy { before, .. } = &f.purpose else { unreachable!() };
        let before = (**before).clone();
        match policy_change(f, &before, None) {
            Err(Refusal::NotSent(why)) => assert!(why.contains("nothing to save"), "{why}"),
            other => panic!("an unchanged editor is the dashboard's own refusal: {other:?}"),
        }
        if let Some(FieldKind::Text(input)) = f.get_mut(MAX).map(|f| &mut f.kind) {
            *input = tui_input::Input::new("forever".into());
        }
        match policy_change(f, &before, None) {
            Err(Refusal::Invalid(e)) => {
                assert_eq!(e.kind, crate::domain::ErrorKind::Invalid);
                assert_eq!(e, Period::parse("forever").unwrap_err(), "the domain's own refusal, whole");
            }
            other => panic!("a bad duration is the domain's refusal: {other:?}"),
        }
    }

    fn screen(app: &App, width: u16, height: u16) -> String {
        let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| crate::tui::view::draw(f, app)).unwrap();
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| (0..width).map(|x| buffer[(x, y)].symbol().to_string()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn every_step_draws_at_any_size_with_outside_text_made_safe() {
        let mut app = app_as("alice@contoso.com");
        app.data.offers[0].name = "CRM\u{1b}]0;owned\u{7}\u{202e}".into();
        app.data.users[1].display_name = "Bob\u{200b}\u{1b}[2J".into();
        open_wizard(&mut app);
        let mut seen = Vec::new();
        for keys in [
            &[][..],
            &[KeyCode::Enter],
            &[KeyCode::Char('x'), KeyCode::Enter, KeyCode::Enter],
            &[KeyCode::Enter],
            &[KeyCode::Tab, KeyCode::Tab, KeyCode::Char('b')],
            &[KeyCode::Enter, KeyCode::Enter, KeyCode::Enter],
        ] {
            for &k in keys {
                key(&mut app, k);
            }
            for (w, h) in [(110, 32), (80, 24), (60, 12), (20, 5), (1, 1)] {
                let text = screen(&app, w, h);
                assert!(!text.contains(['\u{1b}', '\u{7}', '\u{202e}', '\u{200b}']), "{text}");
                if (w, h) == (80, 24) {
                    seen.push(text);
                }
            }
        }
        assert_eq!(step(&app), "Review");
        assert!(
            seen[0].contains("1 Offer › 2 Basics › 3 JIT Configuration › 4 Customize › 5 Review"),
            "{}",
            seen[0]
        );
        assert!(seen[0].contains("CRM␛]0;owned␇"), "{}", seen[0]);
        assert!(seen[1].contains("mrg-<name>"), "{}", seen[1]);
        assert!(seen[2].contains("● Yes"), "{}", seen[2]);
        assert!(seen[4].contains("+ Bob�␛[2J  <bob@contoso.com>"), "{}", seen[4]);
        assert!(seen[5].contains("mrg-x (default)") && seen[5].contains("Enter creates"), "{}", seen[5]);
    }

    #[test]
    fn short_spans_read_back_the_same() {
        for secs in [60, 3_600, 8 * 3_600, 86_400 + 2 * 3_600 + 30 * 60, 90 * 60 + 5] {
            let span = Period::from_secs(secs);
            assert_eq!(Period::parse(&short(span)).unwrap(), span, "{}", short(span));
        }
    }
}
