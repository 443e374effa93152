//! Every rule of the workflow. Each function reads what it needs through `Lookup`, checks everything,
//! and only then returns the new value: nothing is written until a rule has said yes, so a refused
//! command leaves no trace.

use chrono::{DateTime, Utc};

use super::error::RuleError;
use super::model::*;
use super::span::Span;
use super::text::{MAX_NAME_TEXT, MAX_TEXT, check_id, check_text, check_upn, shown};

/// Who is asking. The engine resolves `User` against the directory before any rule runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Whoever owns the store locally (or the service's operator): manages the directory.
    Operator(String),
    /// A directory user, by UPN.
    User(String),
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Operator(login) => format!("operator:{login}"),
            Actor::User(upn) => upn.clone(),
        }
    }
}

/// Read access to what the rules need to see. The store implements it inside a transaction.
pub trait Lookup {
    type Error: From<RuleError>;
    fn tenant(&self, id: &str) -> Result<Option<Tenant>, Self::Error>;
    fn user(&self, upn: &str) -> Result<Option<User>, Self::Error>;
    fn user_by_login(&self, login: &str) -> Result<Option<User>, Self::Error>;
    fn offer(&self, id: &str) -> Result<Option<Offer>, Self::Error>;
    fn app(&self, name: &str) -> Result<Option<Application>, Self::Error>;
    /// The requester's pending request on the application, if there is one.
    fn pending_request(&self, app: &str, requester: &str) -> Result<Option<u64>, Self::Error>;
}

pub fn need_tenant<L: Lookup>(l: &L, id: &str) -> Result<Tenant, L::Error> {
    Ok(l.tenant(id)?.ok_or_else(|| {
        RuleError::not_found(format!("no tenant `{}`: add it with `jitdesk tenant add`", shown(id)))
    })?)
}

pub fn need_user<L: Lookup>(l: &L, upn: &str) -> Result<User, L::Error> {
    let upn = upn.trim().to_lowercase();
    Ok(l.user(&upn)?.ok_or_else(|| {
        RuleError::not_found(format!(
            "no user `{}` in the directory: check the name with `jitdesk user search`",
            shown(&upn)
        ))
    })?)
}

pub fn need_offer<L: Lookup>(l: &L, id: &str) -> Result<Offer, L::Error> {
    Ok(l.offer(id)?.ok_or_else(|| {
        RuleError::not_found(format!("no offer `{}`: see `jitdesk offer list`", shown(id)))
    })?)
}

pub fn need_app<L: Lookup>(l: &L, name: &str) -> Result<Application, L::Error> {
    Ok(l.app(name)?.ok_or_else(|| {
        RuleError::not_found(format!("no application `{}`: see `jitdesk app list`", shown(name)))
    })?)
}

/// The directory user behind an actor; operators are not users and cannot act in the workflow.
pub fn resolve<L: Lookup>(l: &L, actor: &Actor) -> Result<User, L::Error> {
    match actor {
        Actor::User(upn) => need_user(l, upn),
        Actor::Operator(_) => Err(RuleError::forbidden(
            "this needs a directory user: pass --as UPN, set JITDESK_USER, or give a user your OS login with `jitdesk user add --login`",
        )
        .into()),
    }
}

fn need_operator(actor: &Actor) -> Result<(), RuleError> {
    match actor {
        Actor::Operator(_) => Ok(()),
        Actor::User(upn) => Err(RuleError::forbidden(format!(
            "{} may not manage the directory: only the store's operator can",
            shown(upn)
        ))),
    }
}

#[derive(Debug, Clone)]
pub struct NewTenant {
    pub id: String,
    pub kind: TenantKind,
    pub name: Option<String>,
    pub license: Option<License>,
}

pub fn add_tenant<L: Lookup>(l: &L, actor: &Actor, input: NewTenant) -> Result<Tenant, L::Error> {
    need_operator(actor)?;
    let id = check_id("tenant id", &input.id)?;
    let name = match input.name {
        Some(name) => check_text("tenant name", &name, MAX_NAME_TEXT)?,
        None => id.clone(),
    };
    let license = match (input.kind, input.license) {
        (TenantKind::Publisher, Some(_)) => {
            return Err(RuleError::invalid(
                "only customer tenants carry a licence: drop --license for a publisher tenant",
            )
            .into());
        }
        (TenantKind::Publisher, None) => None,
        (TenantKind::Customer, license) => Some(license.unwrap_or(License::P2)),
    };
    if l.tenant(&id)?.is_some() {
        return Err(RuleError::conflict(format!("tenant `{id}` already exists")).into());
    }
    Ok(Tenant { id, kind: input.kind, name, license })
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub upn: String,
    pub tenant: String,
    pub name: Option<String>,
    pub admin: bool,
    pub login: Option<String>,
}

pub fn add_user<L: Lookup>(l: &L, actor: &Actor, input: NewUser) -> Result<User, L::Error> {
    need_operator(actor)?;
    let upn = check_upn(&input.upn)?;
    let display_name = match input.name {
        Some(name) => check_text("display name", &name, MAX_NAME_TEXT)?,
        None => upn.split('@').next().unwrap_or(&upn).to_string(),
    };
    let login = input.login.map(|login| check_id("login name", &login)).transpose()?;
    let tenant = need_tenant(l, &input.tenant)?;
    if l.user(&upn)?.is_some() {
        return Err(RuleError::conflict(format!("user `{upn}` already exists")).into());
    }
    if let Some(login) = &login
        && let Some(owner) = l.user_by_login(login)?
    {
        return Err(RuleError::conflict(format!(
            "login `{login}` already belongs to {}: each OS login maps to one user",
            owner.upn
        ))
        .into());
    }
    Ok(User { upn, display_name, tenant: tenant.id, admin: input.admin, login })
}

#[derive(Debug, Clone)]
pub struct NewOffer {
    pub id: String,
    pub name: String,
    pub jit_available: bool,
    /// Empty means the default, `Owner`.
    pub roles: Vec<String>,
}

pub fn publish_offer<L: Lookup>(l: &L, actor: &User, input: NewOffer) -> Result<Offer, L::Error> {
    let tenant = need_tenant(l, &actor.tenant)?;
    if tenant.kind != TenantKind::Publisher {
        return Err(RuleError::forbidden(format!(
            "{} is in customer tenant `{}`: only publisher-tenant users publish offers",
            actor.upn, tenant.id
        ))
        .into());
    }
    let id = check_id("offer id", &input.id)?;
    let name = check_text("offer name", &input.name, MAX_NAME_TEXT)?;
    let mut roles = Vec::new();
    for role in input.roles {
        let role = check_id("role", &role)?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        roles.push("Owner".to_string());
    }
    if l.offer(&id)?.is_some() {
        return Err(RuleError::conflict(format!("offer `{id}` already exists")).into());
    }
    Ok(Offer {
        id,
        name,
        publisher_tenant: tenant.id,
        published_by: actor.upn.clone(),
        jit_available: input.jit_available,
        roles,
    })
}

#[derive(Debug, Clone, Default)]
pub struct Deployment {
    pub name: String,
    pub offer: String,
    /// None: on when the offer supports JIT.
    pub jit: Option<bool>,
    pub mode: Option<ApprovalMode>,
    pub max_duration: Option<Span>,
    pub approvers: Vec<String>,
    pub request_timeout: Option<Span>,
    pub resource_group: Option<String>,
}

fn need_customer_admin<L: Lookup>(l: &L, actor: &User, doing: &str) -> Result<Tenant, L::Error> {
    let tenant = need_tenant(l, &actor.tenant)?;
    if tenant.kind != TenantKind::Customer || !actor.admin {
        return Err(RuleError::forbidden(format!(
            "{} cannot {doing}: that needs an admin of the customer tenant",
            actor.upn
        ))
        .into());
    }
    Ok(tenant)
}

fn need_p2(tenant: &Tenant, doing: &str) -> Result<(), RuleError> {
    match tenant.license {
        Some(License::P2) => Ok(()),
        other => Err(RuleError::forbidden(format!(
            "{doing} needs a Microsoft Entra ID P2 licence, and tenant `{}` has {}: upgrade its licence first",
            tenant.id,
            match other {
                Some(License::P1) => "P1",
                _ => "the free licence",
            }
        ))),
    }
}

fn check_max_duration(max: Span) -> Result<Span, RuleError> {
    if max.is_zero() {
        return Err(RuleError::invalid("the maximum access duration must be longer than zero"));
    }
    Ok(max)
}

fn check_request_timeout(timeout: Span) -> Result<Span, RuleError> {
    if timeout.is_zero() {
        return Err(RuleError::invalid("the request timeout must be longer than zero"));
    }
    Ok(timeout)
}

/// Approvers must be users of the application's customer tenant; duplicates collapse.
fn resolve_approvers<L: Lookup>(l: &L, tenant: &str, upns: &[String]) -> Result<Vec<String>, L::Error> {
    let mut approvers: Vec<String> = Vec::new();
    for upn in upns {
        let user = need_user(l, upn)?;
        if user.tenant != tenant {
            return Err(RuleError::invalid(format!(
                "{} is in tenant `{}`: approvers must be users of the customer tenant `{tenant}`",
                user.upn, user.tenant
            ))
            .into());
        }
        if !approvers.contains(&user.upn) {
            approvers.push(user.upn);
        }
    }
    Ok(approvers)
}

fn check_policy(policy: &JitPolicy) -> Result<(), RuleError> {
    if policy.enabled && policy.mode == ApprovalMode::ManualApprove && policy.approvers.is_empty() {
        return Err(RuleError::invalid(
            "manual approval needs at least one approver, or nobody could approve: add one with --approver",
        ));
    }
    Ok(())
}

const JIT_ONLY_AT_DEPLOYMENT: &str = "JIT access can only be chosen at deployment";

pub fn deploy<L: Lookup>(
    l: &L,
    actor: &User,
    input: Deployment,
    now: DateTime<Utc>,
) -> Result<Application, L::Error> {
    let tenant = need_customer_admin(l, actor, "deploy applications")?;
    let name = check_id("application name", &input.name)?;
    let resource_group = match input.resource_group {
        Some(rg) => check_id("resource group", &rg)?,
        None => format!("mrg-{name}"),
    };
    let offer = need_offer(l, &input.offer)?;
    let enabled = input.jit.unwrap_or(offer.jit_available);
    if enabled && !offer.jit_available {
        return Err(RuleError::invalid(format!(
            "offer `{}` does not support JIT access: deploy with --jit off, which gives its publisher permanent access",
            offer.id
        ))
        .into());
    }
    if enabled {
        need_p2(&tenant, "JIT access")?;
    }
    let approvers = resolve_approvers(l, &tenant.id, &input.approvers)?;
    let policy = JitPolicy {
        enabled,
        mode: input.mode.unwrap_or(ApprovalMode::AutoApprove),
        max_duration: check_max_duration(input.max_duration.unwrap_or(JitPolicy::DEFAULT_MAX_DURATION))?,
        approvers,
        request_timeout: check_request_timeout(
            input.request_timeout.unwrap_or(JitPolicy::DEFAULT_REQUEST_TIMEOUT),
        )?,
    };
    check_policy(&policy)?;
    if l.app(&name)?.is_some() {
        return Err(RuleError::conflict(format!("an application named `{name}` already exists")).into());
    }
    Ok(Application {
        name,
        offer: offer.id,
        customer_tenant: tenant.id,
        publisher_tenant: offer.publisher_tenant,
        resource_group,
        policy,
        deployed_by: actor.upn.clone(),
        deployed_at: now,
    })
}

#[derive(Debug, Clone, Default)]
pub struct PolicyChange {
    /// Accepted only when it repeats the value chosen at deployment.
    pub jit: Option<bool>,
    pub mode: Option<ApprovalMode>,
    pub max_duration: Option<Span>,
    pub add_approvers: Vec<String>,
    pub remove_approvers: Vec<String>,
    pub request_timeout: Option<Span>,
}

pub fn change_policy<L: Lookup>(
    l: &L,
    actor: &User,
    app: &Application,
    change: PolicyChange,
) -> Result<JitPolicy, L::Error> {
    let tenant = need_customer_admin(l, actor, "change JIT settings")?;
    if tenant.id != app.customer_tenant {
        return Err(RuleError::forbidden(format!(
            "{} is not an admin of tenant `{}`, which owns `{}`",
            actor.upn, app.customer_tenant, app.name
        ))
        .into());
    }
    match change.jit {
        Some(true) if !app.policy.enabled => {
            return Err(RuleError::conflict(format!(
                "`{}` was deployed without JIT access, so its publisher has permanent access; {JIT_ONLY_AT_DEPLOYMENT}: redeploy to use it",
                app.name
            ))
            .into());
        }
        Some(false) if app.policy.enabled => {
            return Err(RuleError::conflict(format!(
                "`{}` was deployed with JIT access; {JIT_ONLY_AT_DEPLOYMENT} and cannot be turned off",
                app.name
            ))
            .into());
        }
        _ => {}
    }
    let touches_policy = change.mode.is_some()
        || change.max_duration.is_some()
        || change.request_timeout.is_some()
        || !change.add_approvers.is_empty()
        || !change.remove_approvers.is_empty();
    if touches_policy && !app.policy.enabled {
        return Err(RuleError::conflict(format!(
            "`{}` has no JIT access, so it has no JIT settings to change; {JIT_ONLY_AT_DEPLOYMENT}",
            app.name
        ))
        .into());
    }
    let mut policy = app.policy.clone();
    if let Some(mode) = change.mode {
        policy.mode = mode;
    }
    if let Some(max) = change.max_duration {
        policy.max_duration = check_max_duration(max)?;
    }
    if let Some(timeout) = change.request_timeout {
        policy.request_timeout = check_request_timeout(timeout)?;
    }
    for upn in &change.remove_approvers {
        let upn = upn.trim().to_lowercase();
        if !policy.is_approver(&upn) {
            return Err(RuleError::not_found(format!(
                "{} is not an approver of `{}`",
                shown(&upn),
                app.name
            ))
            .into());
        }
        policy.approvers.retain(|a| *a != upn);
    }
    for upn in resolve_approvers(l, &app.customer_tenant, &change.add_approvers)? {
        if !policy.approvers.contains(&upn) {
            policy.approvers.push(upn);
        }
    }
    check_policy(&policy)?;
    Ok(policy)
}

/// A one-line summary of a policy, for the audit log's before and after.
pub fn describe_policy(policy: &JitPolicy) -> String {
    if !policy.enabled {
        return "JIT off (permanent publisher access)".to_string();
    }
    let approvers = if policy.approvers.is_empty() { "none".to_string() } else { policy.approvers.join(", ") };
    format!(
        "{:?}, max {}, timeout {}, approvers: {approvers}",
        policy.mode,
        policy.max_duration.iso(),
        policy.request_timeout.iso()
    )
}

#[derive(Debug, Clone)]
pub struct NewRequest {
    pub app: String,
    pub roles: Vec<String>,
    /// None: now.
    pub start: Option<DateTime<Utc>>,
    pub duration: Span,
    pub justification: String,
    pub ticket: Option<String>,
}

/// Tolerance for a start given as `now` that reaches the engine a moment later.
const START_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

pub fn create_request<L: Lookup>(
    l: &L,
    actor: &User,
    input: NewRequest,
    id: u64,
    now: DateTime<Utc>,
) -> Result<AccessRequest, L::Error> {
    let app = need_app(l, &input.app)?;
    if !app.policy.enabled {
        return Err(RuleError::conflict(format!(
            "`{}` was deployed without JIT access: the publisher already has permanent access",
            app.name
        ))
        .into());
    }
    if actor.tenant != app.publisher_tenant {
        return Err(RuleError::forbidden(format!(
            "{} is not in tenant `{}`, the publisher of `{}`: only its users can request access",
            actor.upn, app.publisher_tenant, app.name
        ))
        .into());
    }
    need_p2(&need_tenant(l, &app.customer_tenant)?, "requesting JIT access")?;
    let offer = need_offer(l, &app.offer)?;
    if input.roles.is_empty() {
        return Err(RuleError::invalid(format!(
            "name at least one role with --role; `{}` offers {}",
            app.name,
            offer.roles.join(", ")
        ))
        .into());
    }
    let mut roles: Vec<String> = Vec::new();
    for role in &input.roles {
        let Some(known) = offer.roles.iter().find(|r| r.eq_ignore_ascii_case(role.trim())) else {
            return Err(RuleError::not_found(format!(
                "`{}` offers no role `{}`: choose from {}",
                app.name,
                shown(role),
                offer.roles.join(", ")
            ))
            .into());
        };
        if !roles.contains(known) {
            roles.push(known.clone());
        }
    }
    if input.duration.is_zero() {
        return Err(RuleError::invalid("the duration must be longer than zero").into());
    }
    if input.duration > app.policy.max_duration {
        return Err(RuleError::invalid(format!(
            "{} is longer than `{}` allows: ask for at most {} ({})",
            input.duration,
            app.name,
            app.policy.max_duration,
            app.policy.max_duration.iso()
        ))
        .into());
    }
    let start = input.start.unwrap_or(now);
    if start + START_GRACE < now {
        return Err(RuleError::invalid("the start is in the past: use `now` or a future time").into());
    }
    let start = start.max(now);
    let justification = check_text("justification", &input.justification, MAX_TEXT)?;
    let ticket = input.ticket.map(|t| check_text("ticket", &t, MAX_NAME_TEXT)).transpose()?;
    if let Some(existing) = l.pending_request(&app.name, &actor.upn)? {
        return Err(RuleError::conflict(format!(
            "you already have pending request {existing} on `{}`: wait for it or cancel it",
            app.name
        ))
        .into());
    }
    Ok(AccessRequest {
        id,
        app: app.name,
        requester: actor.upn.clone(),
        roles,
        start,
        duration: input.duration,
        justification,
        ticket,
        created_at: now,
        decide_by: now + app.policy.request_timeout.to_delta(),
        state: RequestState::Pending,
        decision: None,
        granted_from: None,
        closed: None,
        started: false,
    })
}

pub const AUTO_APPROVAL_REASON: &str = "automatic approval mode";

fn approved(mut req: AccessRequest, verdict: Verdict) -> AccessRequest {
    let from = req.start.max(verdict.at);
    req.state = RequestState::Approved;
    req.granted_from = Some(from);
    req.started = from <= verdict.at;
    req.decision = Some(verdict);
    req
}

/// Automatic mode: the engine approves on the requester's behalf right after recording the request.
pub fn approve_automatically(req: AccessRequest, now: DateTime<Utc>) -> AccessRequest {
    approved(req, Verdict { by: SYSTEM.to_string(), at: now, reason: AUTO_APPROVAL_REASON.to_string() })
}

fn refuse_unless(req: &AccessRequest, wanted: RequestState, doing: &str) -> Result<(), RuleError> {
    if req.state == wanted {
        return Ok(());
    }
    let by = req
        .decision
        .iter()
        .chain(req.closed.iter())
        .last()
        .map(|v| format!(" by {} at {}", v.by, v.at.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    Err(RuleError::conflict(format!("cannot {doing} request {}: it is already {}{by}", req.id, req.state)))
}

pub fn decide(
    app: &Application,
    actor: &User,
    req: AccessRequest,
    approve: bool,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<AccessRequest, RuleError> {
    let doing = if approve { "approve" } else { "deny" };
    if actor.upn == req.requester {
        return Err(RuleError::forbidden(format!("you cannot {doing} your own request")));
    }
    if !app.policy.is_approver(&actor.upn) {
        return Err(RuleError::forbidden(format!(
            "{} is not an approver of `{}`: only its approvers decide its requests",
            actor.upn, app.name
        )));
    }
    refuse_unless(&req, RequestState::Pending, doing)?;
    if now >= req.decide_by {
        return Err(RuleError::conflict(format!(
            "request {} waited past its deadline and has timed out",
            req.id
        )));
    }
    let reason = check_text("reason", reason, MAX_TEXT)?;
    let verdict = Verdict { by: actor.upn.clone(), at: now, reason };
    Ok(if approve {
        approved(req, verdict)
    } else {
        AccessRequest { state: RequestState::Denied, decision: Some(verdict), ..req }
    })
}

pub fn cancel(actor: &User, req: AccessRequest, now: DateTime<Utc>) -> Result<AccessRequest, RuleError> {
    if actor.upn != req.requester {
        return Err(RuleError::forbidden(format!(
            "request {} belongs to {}: only the requester can cancel it",
            req.id, req.requester
        )));
    }
    refuse_unless(&req, RequestState::Pending, "cancel")?;
    let closed = Verdict { by: actor.upn.clone(), at: now, reason: "canceled by the requester".to_string() };
    Ok(AccessRequest { state: RequestState::Canceled, closed: Some(closed), ..req })
}

pub fn revoke(
    app: &Application,
    actor: &User,
    req: AccessRequest,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<AccessRequest, RuleError> {
    let admin_here = actor.admin && actor.tenant == app.customer_tenant;
    if !admin_here && !app.policy.is_approver(&actor.upn) {
        return Err(RuleError::forbidden(format!(
            "{} cannot revoke access to `{}`: that needs one of its approvers or an admin of tenant `{}`",
            actor.upn, app.name, app.customer_tenant
        )));
    }
    refuse_unless(&req, RequestState::Approved, "revoke")?;
    if req.end().is_some_and(|end| end <= now) {
        return Err(RuleError::conflict(format!("cannot revoke request {}: its access has already ended", req.id)));
    }
    let reason = check_text("reason", reason, MAX_TEXT)?;
    let closed = Verdict { by: actor.upn.clone(), at: now, reason };
    Ok(AccessRequest { state: RequestState::Revoked, closed: Some(closed), ..req })
}

/// What the ticker does to a request whose deadline has come; None when nothing is due.
pub fn advance(req: &AccessRequest, now: DateTime<Utc>) -> Option<(AccessRequest, Action)> {
    let (at, kind) = req.deadline()?;
    if now < at {
        return None;
    }
    let system = |reason: &str| Some(Verdict { by: SYSTEM.to_string(), at, reason: reason.to_string() });
    let next = match kind {
        DeadlineKind::Timeout => (
            AccessRequest {
                state: RequestState::Timeout,
                closed: system("no decision before the request timeout"),
                ..req.clone()
            },
            Action::RequestTimedOut,
        ),
        DeadlineKind::Start => (AccessRequest { started: true, ..req.clone() }, Action::AccessStarted),
        DeadlineKind::End => (
            AccessRequest {
                state: RequestState::Expired,
                closed: system("the access duration is over"),
                ..req.clone()
            },
            Action::AccessExpired,
        ),
    };
    Some(next)
}

/// Why someone does or does not have access to an application right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessStatus {
    /// The application was deployed without JIT: its publisher's users always have access.
    Permanent,
    Active { request: u64, until: DateTime<Utc> },
    None { why: String },
}

pub fn access_status<'a>(
    app: &Application,
    user: &User,
    requests: impl IntoIterator<Item = &'a AccessRequest>,
    now: DateTime<Utc>,
) -> AccessStatus {
    if user.tenant != app.publisher_tenant {
        return AccessStatus::None {
            why: format!("{} is not in `{}`, the publisher tenant of `{}`", user.upn, app.publisher_tenant, app.name),
        };
    }
    if !app.policy.enabled {
        return AccessStatus::Permanent;
    }
    let active = requests
        .into_iter()
        .filter(|r| r.app == app.name && r.requester == user.upn && r.is_active(now))
        .filter_map(|r| Some((r.id, r.end()?)))
        .max_by_key(|(_, end)| *end);
    match active {
        Some((request, until)) => AccessStatus::Active { request, until },
        None => AccessStatus::None { why: "no active JIT grant".to_string() },
    }
}
