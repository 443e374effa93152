//! Every rule of the workflow. Each function reads what it needs through `Lookup`, checks everything,
//! and only then returns the new value: nothing is written until a rule has said yes, so a refused
//! command leaves no trace.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::approvals::{self, Tally};
use super::approvers;
use super::arm_ids;
use super::error::{Input, RuleError};
use super::extension;
use super::model::*;
use super::period::Period;
use super::text::{MAX_NAME_TEXT, MAX_TEXT, check_id, check_text, check_upn, shown};
use super::time_style::TimeStyle;
use super::when::check_within_range;

/// Who is asking. The engine resolves `User` against the directory before any rule runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Whoever owns the store locally (or the service's operator): manages the directory.
    Operator(String),
    /// A directory user, by UPN.
    User(String),
}

/// How the audit log names the operator, before their login. No UPN holds a `:`, so no user's
/// label starts so.
const OPERATOR_LABEL: &str = "operator:";

/// Whether `label` (as `Actor::label` writes it) names the operator.
pub fn is_operator_label(label: &str) -> bool {
    label.starts_with(OPERATOR_LABEL)
}

impl Actor {
    /// How the actor is named in the audit log: its UPN, or `operator:{login}` for the operator.
    pub fn label(&self) -> String {
        match self {
            Actor::Operator(login) => format!("{OPERATOR_LABEL}{login}"),
            Actor::User(upn) => upn.clone(),
        }
    }
}

/// Read access to what the rules need to see. The store implements it inside a transaction.
pub trait Lookup {
    /// What a lookup fails with; a rule's refusal converts into it, so each rule returns one error type.
    type Error: From<RuleError>;
    /// The tenant of this id, if there is one.
    fn tenant(&self, id: &str) -> Result<Option<Tenant>, Self::Error>;
    /// The user of this UPN as stored (lower-case), if there is one.
    fn user(&self, upn: &str) -> Result<Option<User>, Self::Error>;
    /// The user this OS login belongs to, if any.
    fn user_by_login(&self, login: &str) -> Result<Option<User>, Self::Error>;
    /// The offer of this id, if there is one.
    fn offer(&self, id: &str) -> Result<Option<Offer>, Self::Error>;
    /// The application of this name, if there is one, whoever asks.
    fn app(&self, name: &str) -> Result<Option<Application>, Self::Error>;
    /// The requester's pending request on the application, if there is one.
    fn pending_request(&self, app: &str, requester: &str) -> Result<Option<u64>, Self::Error>;
    /// The user of this (canonical, lower-case) object id, if there is one.
    fn user_by_object_id(&self, object_id: &str) -> Result<Option<User>, Self::Error>;
    /// The group of this id, if there is one.
    fn group(&self, id: &str) -> Result<Option<Group>, Self::Error>;
    /// The group of this (canonical, lower-case) object id, if there is one.
    fn group_by_object_id(&self, object_id: &str) -> Result<Option<Group>, Self::Error>;
    /// The ids of the groups the user of this UPN is a member of.
    fn groups_of(&self, upn: &str) -> Result<Vec<String>, Self::Error>;
    /// The application of this ARM resource id, whatever the case of its letters, if there is one.
    fn app_by_resource_id(&self, resource_id: &str) -> Result<Option<Application>, Self::Error>;
}

/// The tenant of this id, or a not-found refusal that says how to add one.
pub(crate) fn need_tenant<L: Lookup + ?Sized>(l: &L, id: &str) -> Result<Tenant, L::Error> {
    Ok(l.tenant(id)?.ok_or_else(|| {
        RuleError::not_found(format!("no tenant `{}`: add it with `jitdesk tenant add`", shown(id)))
    })?)
}

/// The user of this UPN (case and surrounding spaces aside), or of this object id as ARM documents
/// name principals, or a not-found refusal that says how to find the right name. Every door names
/// users through here, so each takes either form.
pub fn need_user<L: Lookup + ?Sized>(l: &L, upn: &str) -> Result<User, L::Error> {
    Ok(find_user(l, upn)?.ok_or_else(|| no_user(&upn.trim().to_lowercase()))?)
}

/// The user a UPN (whatever its case) or an object id names, if any.
pub fn find_user<L: Lookup + ?Sized>(l: &L, upn: &str) -> Result<Option<User>, L::Error> {
    let upn = upn.trim().to_lowercase();
    match arm_ids::parse_guid(&upn) {
        Some(object_id) => l.user_by_object_id(&object_id),
        None => l.user(&upn),
    }
}

/// The application of this name, or of this ARM resource id (whatever its case), if there is one.
pub fn find_app<L: Lookup + ?Sized>(l: &L, name: &str) -> Result<Option<Application>, L::Error> {
    match arm_ids::parse_application_id(name) {
        Some(_) => l.app_by_resource_id(name.trim()),
        None => l.app(name),
    }
}

/// The refusal for a user who does not exist, or whom the asker may not see.
pub fn no_user(upn: &str) -> RuleError {
    RuleError::not_found(format!(
        "no user `{}` in the directory: check the name with `jitdesk user search`",
        shown(upn)
    ))
}

/// The offer of this id, or a not-found refusal that says where to see the offers.
fn need_offer<L: Lookup + ?Sized>(l: &L, id: &str) -> Result<Offer, L::Error> {
    Ok(l.offer(id)?
        .ok_or_else(|| RuleError::not_found(format!("no offer `{}`: see `jitdesk offer list`", shown(id))))?)
}

/// The application of this name, whoever asks; on a user's behalf, use `need_visible_app`.
pub fn need_app<L: Lookup + ?Sized>(l: &L, name: &str) -> Result<Application, L::Error> {
    Ok(find_app(l, name)?.ok_or_else(|| no_app(name))?)
}

/// The refusal for an application that does not exist, or that the asker may not see.
pub fn no_app(name: &str) -> RuleError {
    RuleError::not_found(format!("no application `{}`: see `jitdesk app list`", shown(name)))
}

/// The refusal for a request that does not exist, or that the asker may not see.
pub fn no_request(id: u64) -> RuleError {
    RuleError::not_found(format!("no request {id}: see `jitdesk request list`"))
}

/// The application, if the user may see it; otherwise exactly the answer for one that does not exist,
/// so that acting on another tenant's application tells nothing about it.
pub fn need_visible_app<L: Lookup + ?Sized>(l: &L, user: &User, name: &str) -> Result<Application, L::Error> {
    match find_app(l, name)? {
        Some(app) if can_see(user, &app) => Ok(app),
        _ => Err(no_app(name).into()),
    }
}

/// Refuses a request on an application the user may not see exactly as a request that does not exist.
fn need_visible_request(app: &Application, user: &User, req: &AccessRequest) -> Result<(), RuleError> {
    if can_see(user, app) { Ok(()) } else { Err(no_request(req.id)) }
}

/// The directory user behind an actor; operators are not users and cannot act in the workflow.
pub fn resolve<L: Lookup + ?Sized>(l: &L, actor: &Actor) -> Result<User, L::Error> {
    match actor {
        Actor::User(upn) => need_user(l, upn),
        Actor::Operator(_) => Err(needs_user().into()),
    }
}

/// The refusal for workflow actions attempted without a directory identity.
pub fn needs_user() -> RuleError {
    RuleError::forbidden("this needs a directory user: act as one, or give one your OS login")
        .about(&[Input::Identity])
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

/// A backup holds every tenant's data, so only the store's operator takes one.
pub fn may_back_up(actor: &Actor) -> Result<(), RuleError> {
    match actor {
        Actor::Operator(_) => Ok(()),
        Actor::User(upn) => Err(RuleError::forbidden(format!(
            "{} may not take a backup: it holds every tenant's data, so only the store's operator can",
            shown(upn)
        ))),
    }
}

/// The inputs below are also the bodies the service accepts (and its clients send): camelCase, unknown
/// fields refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewTenant {
    /// The new tenant's id, unique in the directory.
    pub id: String,
    /// Publisher or customer; it never changes.
    pub kind: TenantKind,
    /// For people; None: the id.
    pub name: Option<String>,
    /// A customer tenant's licence (None: P2); refused for a publisher tenant.
    pub license: Option<License>,
}

/// The checked tenant to add to the directory; only the operator adds tenants.
pub fn add_tenant<L: Lookup + ?Sized>(l: &L, actor: &Actor, input: NewTenant) -> Result<Tenant, L::Error> {
    need_operator(actor)?;
    let id = check_id("tenant id", &input.id)?;
    let name = match input.name {
        Some(name) => check_text("tenant name", &name, MAX_NAME_TEXT)?,
        None => id.clone(),
    };
    let license = match (input.kind, input.license) {
        (TenantKind::Publisher, Some(_)) => {
            return Err(RuleError::invalid(
                "only customer tenants carry a licence: give none for a publisher tenant",
            )
            .about(&[Input::License])
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

/// A user to add to the directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    /// The user principal name, kept lower-case.
    pub upn: String,
    /// The id of the tenant the user belongs to, which must exist.
    pub tenant: String,
    /// The display name; None: the part of the UPN before `@`.
    pub name: Option<String>,
    /// Whether the user is an admin of its tenant; false when absent.
    #[serde(default)]
    pub admin: bool,
    /// The OS login that identifies the user when no `--as` is given; one user per login.
    pub login: Option<String>,
    /// The user's object id in the directory (a GUID); None: one made from the UPN.
    #[serde(default)]
    pub object_id: Option<String>,
}

/// A GUID given for a new user or group: well formed, and nobody's in the directory yet.
pub(crate) fn check_object_id<L: Lookup + ?Sized>(l: &L, given: &str) -> Result<String, L::Error> {
    let Some(id) = arm_ids::parse_guid(given) else {
        return Err(RuleError::invalid(format!(
            "`{}` is not an object id: give a GUID like 2a5c8b04-7e1f-4b6d-9c3e-0f8a1d2b3c4e",
            shown(given)
        ))
        .into());
    };
    if l.user_by_object_id(&id)?.is_some() || l.group_by_object_id(&id)?.is_some() {
        return Err(
            RuleError::conflict(format!("object id {id} already names someone in the directory")).into()
        );
    }
    Ok(id)
}

/// The checked user to add to the directory; only the operator adds users.
pub fn add_user<L: Lookup + ?Sized>(l: &L, actor: &Actor, input: NewUser) -> Result<User, L::Error> {
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
    let object_id = match &input.object_id {
        Some(given) => check_object_id(l, given)?,
        None => check_object_id(l, &arm_ids::user_guid(&upn))?,
    };
    Ok(User { upn, display_name, tenant: tenant.id, admin: input.admin, login, object_id })
}

/// An offer for a publisher-tenant user to publish.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOffer {
    /// The new offer's id, unique in the store.
    pub id: String,
    /// For people.
    pub name: String,
    /// Whether applications deployed from it may have JIT access; false when absent.
    #[serde(default)]
    pub jit_available: bool,
    /// Empty means the default, `Owner`.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The offer a publisher-tenant user publishes for its tenant, its roles checked and each kept once.
pub fn publish_offer<L: Lookup + ?Sized>(l: &L, actor: &User, input: NewOffer) -> Result<Offer, L::Error> {
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

/// An application for a customer admin to deploy from an offer, with its JIT settings; settings left out
/// take the defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deployment {
    /// The new application's name, unique in the store.
    pub name: String,
    /// The id of the offer to deploy.
    pub offer: String,
    /// None: on when the offer supports JIT.
    pub jit: Option<bool>,
    /// How requests are decided; None: automatically.
    pub mode: Option<ApprovalMode>,
    /// The longest access one request may ask for; None: `JitPolicy::DEFAULT_MAX_DURATION`.
    pub max_duration: Option<Period>,
    /// UPNs of users of the deploying customer tenant; manual approval needs at least one.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// How long a request may wait for a decision; None: `JitPolicy::DEFAULT_REQUEST_TIMEOUT`.
    pub request_timeout: Option<Period>,
    /// How many different approvers must approve a request, in manual mode only; None:
    /// `JitPolicy::DEFAULT_APPROVALS_REQUIRED`.
    #[serde(default)]
    pub approvals_required: Option<u32>,
    /// The managed resource group; None: `mrg-{name}`.
    pub resource_group: Option<String>,
    /// The application's ARM resource id, whose last segment is its name; None: one made from
    /// the tenant and the name (`arm_ids::application_id`).
    #[serde(default)]
    pub resource_id: Option<String>,
    /// How many extensions a grant may have beyond the maximum duration; None: 0.
    #[serde(default)]
    pub max_extensions: Option<u32>,
}

/// The ARM resource id a deployment gives its application: well formed, naming the application,
/// and no other application's.
fn check_resource_id<L: Lookup + ?Sized>(l: &L, name: &str, given: &str) -> Result<String, L::Error> {
    let Some((_, _, named)) = arm_ids::parse_application_id(given) else {
        return Err(RuleError::invalid(format!(
            "`{}` is not an application's resource id: give /subscriptions/{{id}}/resourceGroups/{{group}}/providers/Microsoft.Solutions/applications/{name}",
            shown(given)
        ))
        .into());
    };
    if named != name {
        return Err(RuleError::invalid(format!(
            "resource id `{}` names application `{}`, not `{name}`: its last segment must be the application's name",
            shown(given),
            shown(&named)
        ))
        .into());
    }
    if let Some(other) = l.app_by_resource_id(given)? {
        return Err(RuleError::conflict(format!(
            "resource id `{}` already belongs to application `{}`",
            shown(given),
            other.name
        ))
        .into());
    }
    Ok(given.trim().to_string())
}

fn need_customer_admin<L: Lookup + ?Sized>(l: &L, actor: &User, doing: &str) -> Result<Tenant, L::Error> {
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

/// Refuses `doing` on a customer tenant below P2, in the guide's words: JIT access needs an Entra ID P2 licence.
pub fn need_p2(tenant: &Tenant, doing: &str) -> Result<(), RuleError> {
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

fn check_max_duration(max: Period) -> Result<Period, RuleError> {
    if max.is_zero() {
        return Err(RuleError::invalid("the maximum access duration must be longer than zero"));
    }
    Ok(max)
}

fn check_request_timeout(timeout: Period) -> Result<Period, RuleError> {
    if timeout.is_zero() {
        return Err(RuleError::invalid("the request timeout must be longer than zero"));
    }
    Ok(timeout)
}

/// A number of approvals given for a policy: at least one, and only where approvers decide, since
/// in automatic mode nobody approves and the number would mean nothing.
fn check_approvals_required(given: u32, mode: ApprovalMode) -> Result<u32, RuleError> {
    if mode == ApprovalMode::AutoApprove {
        return Err(RuleError::invalid(
            "the number of approvals required applies only when approvers decide: add --approval manual, or drop it",
        )
        .about(&[Input::ApprovalsRequired, Input::ApprovalMode]));
    }
    if given == 0 {
        return Err(RuleError::invalid("the number of approvals required must be at least 1")
            .about(&[Input::ApprovalsRequired]));
    }
    Ok(given)
}

/// A manual policy has enough possible approvers to reach its number of approvals, or requests
/// would wait for approvals nobody could give.
fn check_policy(policy: &JitPolicy) -> Result<(), RuleError> {
    if !policy.enabled || policy.mode != ApprovalMode::ManualApprove {
        return Ok(());
    }
    if policy.approvers.is_empty() && policy.approver_groups.is_empty() {
        return Err(RuleError::invalid(
            "manual approval needs at least one approver, or nobody could approve: add an approver first",
        ));
    }
    // A group's members come and go after the policy is set, so only users named directly are
    // counted, and only while no group approves.
    let (have, need) = (policy.approvers.len(), policy.approvals_required);
    if policy.approver_groups.is_empty() && (have as u64) < u64::from(need) {
        return Err(RuleError::invalid(format!(
            "{need} approvals required need at least {need} approvers, and there are {have}: add approvers or require fewer approvals"
        ))
        .about(&[Input::ApprovalsRequired, Input::Approvers]));
    }
    Ok(())
}

/// JIT settings given for a deployment without JIT would be silently dropped; they are refused instead,
/// so nobody believes an application has an approval step it does not have.
fn refuse_settings_without_jit(input: &Deployment, offer: &str) -> Result<(), RuleError> {
    let given: Vec<(&str, Input)> = [
        (input.mode.is_some(), "the approval mode", Input::ApprovalMode),
        (input.max_duration.is_some(), "the maximum duration", Input::MaxDuration),
        (!input.approvers.is_empty(), "the approver list", Input::Approvers),
        (input.request_timeout.is_some(), "the request timeout", Input::RequestTimeout),
        (input.max_extensions.is_some(), "the extensions allowed", Input::MaxExtensions),
        (input.approvals_required.is_some(), "the approvals required", Input::ApprovalsRequired),
    ]
    .into_iter()
    .filter_map(|(set, name, input)| set.then_some((name, input)))
    .collect();
    if given.is_empty() {
        return Ok(());
    }
    let (verb, them) = if given.len() == 1 { ("applies", "it") } else { ("apply", "them") };
    let mut about: Vec<Input> = given.iter().map(|(_, input)| *input).collect();
    let how = if input.jit == Some(false) {
        about.push(Input::Jit);
        format!("this deployment has no JIT access, so drop {them}, or deploy with JIT access")
    } else {
        format!("offer `{offer}` has no JIT access, so drop {them}")
    };
    let names: Vec<&str> = given.iter().map(|(name, _)| *name).collect();
    Err(RuleError::conflict(format!("{} only {verb} with JIT access: {how}", names.join(", "))).about(&about))
}

const JIT_ONLY_AT_DEPLOYMENT: &str = "JIT access can only be chosen at deployment";

/// The application a customer admin deploys from an offer into its tenant. JIT access needs an offer that
/// supports it and a P2 licence; JIT settings for a deployment without JIT are refused.
pub fn deploy<L: Lookup + ?Sized>(
    l: &L,
    actor: &User,
    input: Deployment,
    now: DateTime<Utc>,
) -> Result<Application, L::Error> {
    let tenant = need_customer_admin(l, actor, "deploy applications")?;
    let name = check_id("application name", &input.name)?;
    let resource_group = match &input.resource_group {
        Some(rg) => check_id("resource group", rg)?,
        None => format!("mrg-{name}"),
    };
    let offer = need_offer(l, &input.offer)?;
    let enabled = input.jit.unwrap_or(offer.jit_available);
    if enabled && !offer.jit_available {
        return Err(RuleError::invalid(format!(
            "offer `{}` does not support JIT access: deploy without it, which gives its publisher permanent access",
            offer.id
        ))
        .about(&[Input::Jit])
        .into());
    }
    if enabled {
        need_p2(&tenant, "JIT access")?;
    } else {
        refuse_settings_without_jit(&input, &offer.id)?;
    }
    let mode = input.mode.unwrap_or(ApprovalMode::AutoApprove);
    let approvals_required = match input.approvals_required {
        Some(given) => check_approvals_required(given, mode)?,
        None => JitPolicy::DEFAULT_APPROVALS_REQUIRED,
    };
    let mut policy = JitPolicy {
        enabled,
        mode,
        max_duration: check_max_duration(input.max_duration.unwrap_or(JitPolicy::DEFAULT_MAX_DURATION))?,
        approvers: Vec::new(),
        request_timeout: check_request_timeout(
            input.request_timeout.unwrap_or(JitPolicy::DEFAULT_REQUEST_TIMEOUT),
        )?,
        approver_groups: Vec::new(),
        approvals_required,
        max_extensions: input.max_extensions.unwrap_or(0),
    };
    approvers::add(l, &tenant.id, &mut policy, &input.approvers)?;
    check_policy(&policy)?;
    if l.app(&name)?.is_some() {
        return Err(RuleError::conflict(format!("an application named `{name}` already exists")).into());
    }
    let resource_id = match &input.resource_id {
        Some(given) => check_resource_id(l, &name, given)?,
        None => arm_ids::application_id(&tenant.id, &name),
    };
    Ok(Application {
        name,
        offer: offer.id,
        customer_tenant: tenant.id,
        publisher_tenant: offer.publisher_tenant,
        resource_group,
        policy,
        deployed_by: actor.upn.clone(),
        deployed_at: now,
        resource_id,
    })
}

/// A change to an application's JIT settings; whatever is left out stays as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PolicyChange {
    /// Accepted only when it repeats the value chosen at deployment.
    pub jit: Option<bool>,
    /// The new approval mode.
    pub mode: Option<ApprovalMode>,
    /// The new maximum duration.
    pub max_duration: Option<Period>,
    /// UPNs of customer-tenant users to make approvers; those who already are stay as they are.
    pub add_approvers: Vec<String>,
    /// UPNs of approvers to remove; one who is not an approver is refused.
    pub remove_approvers: Vec<String>,
    /// The new request timeout, for requests made from then on.
    pub request_timeout: Option<Period>,
    /// How many extensions a grant may have beyond the maximum duration from then on.
    pub max_extensions: Option<u32>,
    /// The new number of approvals a request needs, in manual mode only; pending requests that
    /// already have as many are approved.
    pub approvals_required: Option<u32>,
}

/// The policy after a change by an admin of the application's customer tenant. Whether JIT is on cannot
/// change after deployment, and manual approval keeps at least one approver.
pub fn change_policy<L: Lookup + ?Sized>(
    l: &L,
    actor: &User,
    app: &Application,
    change: PolicyChange,
) -> Result<JitPolicy, L::Error> {
    if !can_see(actor, app) {
        return Err(no_app(&app.name).into());
    }
    if actor.tenant != app.customer_tenant || !actor.admin {
        return Err(RuleError::forbidden(format!(
            "{} cannot change JIT settings of `{}`: that needs an admin of its customer tenant",
            actor.upn, app.name
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
        || change.max_extensions.is_some()
        || change.approvals_required.is_some()
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
    if let Some(allowed) = change.max_extensions {
        policy.max_extensions = allowed;
    }
    if let Some(required) = change.approvals_required {
        policy.approvals_required = check_approvals_required(required, policy.mode)?;
    }
    for given in &change.remove_approvers {
        approvers::remove(l, app, &mut policy, given)?;
    }
    approvers::add(l, &app.customer_tenant, &mut policy, &change.add_approvers)?;
    check_policy(&policy)?;
    Ok(policy)
}

/// How a policy summary labels its number of approvals required; summaries written before there
/// was one leave it out, and meant 1.
pub(crate) const APPROVALS_LABEL: &str = "approvals ";

/// How a policy summary names an approver group, before its id.
pub const GROUP_LABEL: &str = "group ";

/// A one-line summary of a policy, for the audit log's before and after.
pub fn describe_policy(policy: &JitPolicy) -> String {
    if !policy.enabled {
        return "JIT off (permanent publisher access)".to_string();
    }
    // Groups by id: ids hold no `, `, so the summary reads back setting by setting
    // (`notice::settings`), and an id never changes as a display name may.
    let named: Vec<String> = policy
        .approvers
        .iter()
        .cloned()
        .chain(policy.approver_groups.iter().map(|g| format!("{GROUP_LABEL}{g}")))
        .collect();
    let approvers = if named.is_empty() { "none".to_string() } else { named.join(", ") };
    // Extensions beyond the maximum are named only when allowed, so summaries of policies that
    // allow none read as they always have.
    let extensions = match policy.max_extensions {
        0 => String::new(),
        n => format!("extensions {n}, "),
    };
    format!(
        "{:?}, max {}, timeout {}, {APPROVALS_LABEL}{}, {extensions}approvers: {approvers}",
        policy.mode,
        policy.max_duration.iso(),
        policy.request_timeout.iso(),
        policy.approvals_required
    )
}

/// A publisher user's request for access to an application.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRequest {
    /// The name of the application.
    pub app: String,
    /// Empty is refused by the rules with the roles the application offers.
    #[serde(default)]
    pub roles: Vec<String>,
    /// None: now.
    pub start: Option<DateTime<Utc>>,
    /// How long access lasts once granted: longer than zero, and within the application's maximum.
    pub duration: Period,
    /// Why access is needed, for the approvers to judge.
    pub justification: String,
    /// A reference to a ticket elsewhere (an incident, a change), if any.
    pub ticket: Option<String>,
}

/// Tolerance for a start given as `now` that reaches the engine a moment later.
const START_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// A request names at least one of the roles the application's offer has (`offered`); every door
/// that builds a request asks this, so each says it in the same words.
pub fn need_some_role(roles: &[String], app: &str, offered: &[String]) -> Result<(), RuleError> {
    if roles.is_empty() {
        return Err(RuleError::invalid(format!(
            "name at least one role; `{app}` offers {}",
            offered.join(", ")
        ))
        .about(&[Input::Roles]));
    }
    Ok(())
}

/// The offer's role a request names, by the name the offer spells it with (whatever its case) or
/// by its ARM role definition id.
pub fn offer_role<'a>(offer: &'a Offer, role: &str) -> Option<&'a String> {
    let role = role.trim();
    let by_id = arm_ids::parse_guid(role);
    offer.roles.iter().find(|r| {
        r.eq_ignore_ascii_case(role)
            || by_id.as_ref().is_some_and(|id| *id == arm_ids::role_definition_id(&offer.id, r))
    })
}

/// The new pending request `id`, once every check passes: the application has JIT access and the
/// actor's tenant is its publisher, the customer tenant has a P2 licence, the roles are offered, the duration fits, the
/// start is not past, and the actor has no other pending request on it.
pub fn create_request<L: Lookup + ?Sized>(
    l: &L,
    actor: &User,
    input: NewRequest,
    id: u64,
    now: DateTime<Utc>,
) -> Result<AccessRequest, L::Error> {
    let app = need_visible_app(l, actor, &input.app)?;
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
    need_some_role(&input.roles, &app.name, &offer.roles)?;
    let mut roles: Vec<String> = Vec::new();
    for role in &input.roles {
        let Some(known) = offer_role(&offer, role) else {
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
    // Checked before any arithmetic on it: a start near the end of chrono's range would overflow.
    let start = check_within_range("the start", input.start.unwrap_or(now))?;
    check_within_range(
        "the end",
        start.checked_add_signed(input.duration.to_delta()).unwrap_or(DateTime::<Utc>::MAX_UTC),
    )?;
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
        approvals: Vec::new(),
        extensions: Vec::new(),
        arm: None,
        tags: Default::default(),
    })
}

/// The reason the system gives when it approves a request in automatic mode.
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
        .map(|v| format!(" by {} at {}", v.by, TimeStyle::utc().full(v.at)))
        .unwrap_or_default();
    Err(RuleError::conflict(format!("cannot {doing} request {}: it is already {}{by}", req.id, req.state)))
}

/// Who may decide a request whatever its state: an approver of its application (directly or
/// through a group), but never its requester. `doing` ("approve" or "deny") words the refusal.
pub fn need_decider<L: Lookup + ?Sized>(
    l: &L,
    app: &Application,
    upn: &str,
    req: &AccessRequest,
    doing: &str,
) -> Result<(), L::Error> {
    refuse_own(upn, req, doing)?;
    approvers::need_approver(l, app, upn)
}

/// The requester never decides their own request, whatever groups they are in.
pub fn refuse_own(upn: &str, req: &AccessRequest, doing: &str) -> Result<(), RuleError> {
    if upn == req.requester {
        return Err(RuleError::forbidden(format!("you cannot {doing} your own request")));
    }
    Ok(())
}

/// The request approved or denied by an approver of its application other than its requester; only
/// while it is pending and before its deadline, and an approval only within today's maximum duration.
/// An approval is counted towards the approvals the policy requires: until the last of them the
/// request stays pending with the approval kept, each approver counting once; one denial denies.
pub fn decide<L: Lookup + ?Sized>(
    l: &L,
    app: &Application,
    actor: &User,
    req: AccessRequest,
    approve: bool,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<AccessRequest, L::Error> {
    need_visible_request(app, actor, &req)?;
    let doing = if approve { "approve" } else { "deny" };
    need_decider(l, app, &actor.upn, &req, doing)?;
    refuse_unless(&req, RequestState::Pending, doing)?;
    if now >= req.decide_by {
        return Err(RuleError::conflict(format!(
            "request {} waited past its deadline and has timed out",
            req.id
        ))
        .into());
    }
    if approve && req.duration > app.policy.max_duration {
        return Err(RuleError::conflict(format!(
            "request {} asks for {}, longer than the {} `{}` allows now: deny it, and its requester can ask again for less",
            req.id, req.duration, app.policy.max_duration, app.name
        ))
        .into());
    }
    let reason = check_text("reason", reason, MAX_TEXT)?;
    let verdict = Verdict { by: actor.upn.clone(), at: now, reason };
    if !approve {
        return Ok(AccessRequest { state: RequestState::Denied, decision: Some(verdict), ..req });
    }
    let required = app.policy.approvals_required;
    let mut given = req.approvals.clone();
    Ok(match approvals::count(&mut given, verdict.clone(), required)? {
        // One approval is the decision itself, as it always was: nothing to keep beside it.
        Tally::Approved if required <= 1 => approved(req, verdict),
        Tally::Approved => approved(AccessRequest { approvals: given, ..req }, verdict),
        Tally::Waiting { .. } => AccessRequest { approvals: given, ..req },
    })
}

/// How far a pending request's approvals are (`1 of 2 approvals`) under `policy`; None when it
/// is not pending, or has no approval yet.
pub fn approval_progress(req: &AccessRequest, policy: &JitPolicy) -> Option<String> {
    (req.state == RequestState::Pending && !req.approvals.is_empty())
        .then(|| Tally::progress(req.approvals.len() as u32, policy.approvals_required.max(1)))
}

/// Whether `upn` already gave one of the approvals a pending request waits with: theirs is
/// counted, so it no longer waits for them.
pub fn has_approved(req: &AccessRequest, upn: &str) -> bool {
    req.approvals.iter().any(|v| v.by == upn)
}

/// A request's state as people read it, with how far its approvals are under its application's
/// `policy` while it waits for more: `Pending (1 of 2 approvals)`.
pub fn state_shown(req: &AccessRequest, policy: Option<&JitPolicy>) -> String {
    match policy.and_then(|p| approval_progress(req, p)) {
        Some(progress) => format!("{} ({progress})", req.state),
        None => req.state.to_string(),
    }
}

/// The request canceled by its requester while it is still pending.
pub fn cancel(
    app: &Application,
    actor: &User,
    req: AccessRequest,
    now: DateTime<Utc>,
) -> Result<AccessRequest, RuleError> {
    need_visible_request(app, actor, &req)?;
    if actor.upn != req.requester {
        return Err(RuleError::forbidden(format!(
            "request {} is not yours: only the requester can cancel it",
            req.id
        )));
    }
    refuse_unless(&req, RequestState::Pending, "cancel")?;
    let closed = Verdict { by: actor.upn.clone(), at: now, reason: "canceled by the requester".to_string() };
    Ok(AccessRequest { state: RequestState::Canceled, closed: Some(closed), ..req })
}

/// The request with its access ended early by an approver or an admin of the customer tenant; only
/// approved access that has not ended yet.
pub fn revoke<L: Lookup + ?Sized>(
    l: &L,
    app: &Application,
    actor: &User,
    req: AccessRequest,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<AccessRequest, L::Error> {
    need_visible_request(app, actor, &req)?;
    let admin_here = actor.admin && actor.tenant == app.customer_tenant;
    if !admin_here && !approvers::is_approver(l, &app.policy, &actor.upn)? {
        return Err(RuleError::forbidden(format!(
            "{} cannot revoke access to `{}`: that needs one of its approvers or an admin of its customer tenant",
            actor.upn, app.name
        ))
        .into());
    }
    if req.state == RequestState::Pending {
        return Err(RuleError::conflict(format!(
            "request {} is still Pending, so there is no access to revoke: its requester can cancel it, or an approver deny it",
            req.id
        ))
        .into());
    }
    refuse_unless(&req, RequestState::Approved, "revoke")?;
    if req.end().is_some_and(|end| end <= now) {
        return Err(RuleError::conflict(format!(
            "cannot revoke request {}: its access has already ended",
            req.id
        ))
        .into());
    }
    let reason = check_text("reason", reason, MAX_TEXT)?;
    let closed = Verdict { by: actor.upn.clone(), at: now, reason };
    let revoked = AccessRequest { state: RequestState::Revoked, closed: Some(closed), ..req };
    Ok(extension::lapse(revoked, now, extension::ACCESS_ENDED))
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
            extension::lapse(
                AccessRequest {
                    state: RequestState::Expired,
                    closed: system("the access duration is over"),
                    ..req.clone()
                },
                at,
                extension::ACCESS_ENDED,
            ),
            Action::AccessExpired,
        ),
        DeadlineKind::ExtensionLapse => {
            (extension::lapse(req.clone(), at, extension::NO_DECISION), Action::ExtensionLapsed)
        }
    };
    Some(next)
}

/// What a change of policy does to a pending request of its application, judged by the new policy in the
/// same transaction, so that no request waits for a decision the new policy cannot give: within the new
/// maximum and automatic, it is approved, and so it is in manual mode once it has as many approvals
/// as are now required (approvals given by approvers since removed still count: they were given
/// by an approver); over the new maximum, or in manual mode with no approver but the requester, the
/// system denies it with the reason, and its requester may ask again. None when it still waits for
/// an approver, or when its deadline has passed (the ticker times it out).
pub fn reevaluate(
    policy: &JitPolicy,
    req: &AccessRequest,
    now: DateTime<Utc>,
) -> Option<(AccessRequest, Action)> {
    if req.state != RequestState::Pending || now >= req.decide_by {
        return None;
    }
    let system = |reason: String| Verdict { by: SYSTEM.to_string(), at: now, reason };
    let deny = |reason: String| {
        let denied =
            AccessRequest { state: RequestState::Denied, decision: Some(system(reason)), ..req.clone() };
        Some((denied, Action::RequestDenied))
    };
    if req.duration > policy.max_duration {
        return deny(format!("policy changed: maximum is now {}", policy.max_duration));
    }
    match policy.mode {
        ApprovalMode::AutoApprove => {
            Some((approved(req.clone(), system(POLICY_AUTO_REASON.to_string())), Action::RequestApproved))
        }
        ApprovalMode::ManualApprove => {
            match approvals::now_enough(req.approvals.len(), policy.approvals_required) {
                Some(reason) => Some((approved(req.clone(), system(reason)), Action::RequestApproved)),
                // Approvers are customer users and requesters publisher users, so today someone else
                // is always left; the rule does not depend on that staying true.
                None if policy.approver_groups.is_empty()
                    && policy.approvers.iter().all(|a| *a == req.requester) =>
                {
                    deny("policy changed: no approver but the requester is left to decide it".to_string())
                }
                None => None,
            }
        }
    }
}

/// The reason the system gives when a change to automatic mode approves a pending request.
pub(crate) const POLICY_AUTO_REASON: &str = "policy changed: approval is now automatic";

/// Whether a user may see an application's requests, grants and history: its customer tenant and
/// its publisher tenant are the parties to it; nobody else is.
pub fn can_see(user: &User, app: &Application) -> bool {
    user.tenant == app.customer_tenant || user.tenant == app.publisher_tenant
}

/// Why someone does or does not have access to an application right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessStatus {
    /// The application was deployed without JIT: its publisher's users always have access.
    Permanent,
    /// A JIT grant is running now.
    Active {
        /// The id of the request that granted it (the one that ends last, if several run).
        request: u64,
        /// When that access ends.
        until: DateTime<Utc>,
    },
    /// No access now.
    None {
        /// Why not, in a sentence for people.
        why: String,
    },
}

/// Whether `user` has access to `app` at `now`, judged from `requests` (those of other users or other
/// applications are passed over).
pub fn access_status<'a>(
    app: &Application,
    user: &User,
    requests: impl IntoIterator<Item = &'a AccessRequest>,
    now: DateTime<Utc>,
) -> AccessStatus {
    if user.tenant != app.publisher_tenant {
        return AccessStatus::None {
            why: format!(
                "{} is not in `{}`, the publisher tenant of `{}`",
                user.upn, app.publisher_tenant, app.name
            ),
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::domain::error::ErrorKind;

    // ---- an in-memory directory ----

    const ADMIN: &str = "admin@contoso.com";
    const ADMIN2: &str = "boss@contoso.com";
    const APPROVER: &str = "approver@contoso.com";
    const CAROL: &str = "carol@contoso.com";
    const PAT: &str = "pat@fabrikam.com";
    const PAUL: &str = "paul@fabrikam.com";
    const PUB_ADMIN: &str = "padmin@fabrikam.com";
    const OLGA: &str = "olga@other.com";
    const FREE_ADMIN: &str = "admin@cheap.com";
    const P1_ADMIN: &str = "admin@mid.com";
    const OTHER_ADMIN: &str = "admin@woodgrove.com";

    #[derive(Default)]
    struct Dir {
        tenants: HashMap<String, Tenant>,
        users: HashMap<String, User>,
        offers: HashMap<String, Offer>,
        apps: HashMap<String, Application>,
        requests: Vec<AccessRequest>,
        groups: HashMap<String, Group>,
        members: Vec<(String, String)>,
    }

    impl Lookup for Dir {
        type Error = RuleError;
        fn tenant(&self, id: &str) -> Result<Option<Tenant>, RuleError> {
            Ok(self.tenants.get(id).cloned())
        }
        fn user(&self, upn: &str) -> Result<Option<User>, RuleError> {
            Ok(self.users.get(upn).cloned())
        }
        fn user_by_login(&self, login: &str) -> Result<Option<User>, RuleError> {
            Ok(self.users.values().find(|u| u.login.as_deref() == Some(login)).cloned())
        }
        fn offer(&self, id: &str) -> Result<Option<Offer>, RuleError> {
            Ok(self.offers.get(id).cloned())
        }
        fn app(&self, name: &str) -> Result<Option<Application>, RuleError> {
            Ok(self.apps.get(name).cloned())
        }
        fn pending_request(&self, app: &str, requester: &str) -> Result<Option<u64>, RuleError> {
            Ok(self
                .requests
                .iter()
                .find(|r| r.app == app && r.requester == requester && r.state == RequestState::Pending)
                .map(|r| r.id))
        }
        fn user_by_object_id(&self, object_id: &str) -> Result<Option<User>, RuleError> {
            Ok(self.users.values().find(|u| u.object_id == object_id).cloned())
        }
        fn group(&self, id: &str) -> Result<Option<Group>, RuleError> {
            Ok(self.groups.get(id).cloned())
        }
        fn group_by_object_id(&self, object_id: &str) -> Result<Option<Group>, RuleError> {
            Ok(self.groups.values().find(|g| g.object_id == object_id).cloned())
        }
        fn groups_of(&self, upn: &str) -> Result<Vec<String>, RuleError> {
            Ok(self.members.iter().filter(|(_, u)| u == upn).map(|(g, _)| g.clone()).collect())
        }
        fn app_by_resource_id(&self, resource_id: &str) -> Result<Option<Application>, RuleError> {
            Ok(self.apps.values().find(|a| a.resource_id.eq_ignore_ascii_case(resource_id)).cloned())
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 10, 9, 0, 0).unwrap()
    }

    fn hours(h: i64) -> TimeDelta {
        TimeDelta::hours(h)
    }

    fn op() -> Actor {
        Actor::Operator("root".to_string())
    }

    impl Dir {
        fn add_t(&mut self, id: &str, kind: TenantKind, license: Option<License>) {
            let t = add_tenant(self, &op(), NewTenant { id: id.into(), kind, name: None, license }).unwrap();
            self.tenants.insert(t.id.clone(), t);
        }

        fn add_u(&mut self, upn: &str, tenant: &str, admin: bool) {
            let u = add_user(
                self,
                &op(),
                NewUser {
                    upn: upn.into(),
                    tenant: tenant.into(),
                    name: None,
                    admin,
                    login: None,
                    object_id: None,
                },
            )
            .unwrap();
            self.users.insert(u.upn.clone(), u);
        }

        fn get(&self, upn: &str) -> User {
            self.users[upn].clone()
        }

        fn deploy(&mut self, by: &str, d: Deployment) -> Application {
            let app = deploy(&*self, &self.get(by), d, t0()).unwrap();
            self.apps.insert(app.name.clone(), app.clone());
            app
        }

        fn manual_app(&mut self, name: &str, approvers: &[&str]) -> Application {
            self.deploy(
                ADMIN,
                Deployment {
                    name: name.into(),
                    offer: "jit-offer".into(),
                    mode: Some(ApprovalMode::ManualApprove),
                    approvers: approvers.iter().map(|a| a.to_string()).collect(),
                    ..Deployment::default()
                },
            )
        }

        /// Creates a request and keeps it, so the pending-request lookup sees it.
        fn request(
            &mut self,
            app: &str,
            by: &str,
            duration: Period,
            start: Option<DateTime<Utc>>,
        ) -> AccessRequest {
            let id = self.requests.len() as u64 + 1;
            let r =
                create_request(&*self, &self.get(by), new_request(app, duration, start), id, t0()).unwrap();
            self.requests.push(r.clone());
            r
        }
    }

    fn new_request(app: &str, duration: Period, start: Option<DateTime<Utc>>) -> NewRequest {
        NewRequest {
            app: app.into(),
            roles: vec!["Owner".into()],
            start,
            duration,
            justification: "investigate incident".into(),
            ticket: None,
        }
    }

    /// contoso (P2), cheap (free), mid (P1) and woodgrove (P2) are customers; fabrikam and other publish.
    /// `jit-offer` supports JIT with roles Owner and Contributor; `plain-offer` does not.
    fn dir() -> Dir {
        let mut d = Dir::default();
        d.add_t("contoso", TenantKind::Customer, Some(License::P2));
        d.add_t("cheap", TenantKind::Customer, Some(License::Free));
        d.add_t("mid", TenantKind::Customer, Some(License::P1));
        d.add_t("woodgrove", TenantKind::Customer, None);
        d.add_t("fabrikam", TenantKind::Publisher, None);
        d.add_t("other", TenantKind::Publisher, None);
        d.add_u(ADMIN, "contoso", true);
        d.add_u(ADMIN2, "contoso", true);
        d.add_u(APPROVER, "contoso", false);
        d.add_u(CAROL, "contoso", false);
        d.add_u(PAT, "fabrikam", false);
        d.add_u(PAUL, "fabrikam", false);
        d.add_u(PUB_ADMIN, "fabrikam", true);
        d.add_u(OLGA, "other", false);
        d.add_u(FREE_ADMIN, "cheap", true);
        d.add_u(P1_ADMIN, "mid", true);
        d.add_u(OTHER_ADMIN, "woodgrove", true);
        for (id, jit) in [("jit-offer", true), ("plain-offer", false)] {
            let o = publish_offer(
                &d,
                &d.get(PAT),
                NewOffer {
                    id: id.into(),
                    name: format!("{id} name"),
                    jit_available: jit,
                    roles: vec!["Owner".into(), "Contributor".into()],
                },
            )
            .unwrap();
            d.offers.insert(o.id.clone(), o);
        }
        d
    }

    fn refused<T: std::fmt::Debug>(result: Result<T, RuleError>, kind: ErrorKind) -> String {
        match result {
            Ok(value) => panic!("expected a {kind:?} refusal, got {value:?}"),
            Err(e) => {
                assert_eq!(e.kind, kind, "wrong kind for: {}", e.message);
                e.message
            }
        }
    }

    // ---- tenants, users, offers ----

    #[test]
    fn add_tenant_defaults_and_validation() {
        let d = dir();
        let t = add_tenant(
            &d,
            &op(),
            NewTenant { id: "northwind".into(), kind: TenantKind::Customer, name: None, license: None },
        )
        .unwrap();
        assert_eq!(t.name, "northwind", "the name defaults to the id");
        assert_eq!(t.license, Some(License::P2), "customer tenants default to P2");
        let p = add_tenant(
            &d,
            &op(),
            NewTenant {
                id: "acme".into(),
                kind: TenantKind::Publisher,
                name: Some(" Acme Ltd ".into()),
                license: None,
            },
        )
        .unwrap();
        assert_eq!((p.name.as_str(), p.license), ("Acme Ltd", None));

        let m = refused(
            add_tenant(
                &d,
                &op(),
                NewTenant { id: "contoso".into(), kind: TenantKind::Customer, name: None, license: None },
            ),
            ErrorKind::Conflict,
        );
        assert!(m.contains("contoso"), "{m}");
        refused(
            add_tenant(
                &d,
                &op(),
                NewTenant {
                    id: "acme".into(),
                    kind: TenantKind::Publisher,
                    name: None,
                    license: Some(License::P2),
                },
            ),
            ErrorKind::Invalid,
        );
        refused(
            add_tenant(
                &d,
                &op(),
                NewTenant { id: "bad id".into(), kind: TenantKind::Customer, name: None, license: None },
            ),
            ErrorKind::Invalid,
        );
        refused(
            add_tenant(
                &d,
                &Actor::User(ADMIN.into()),
                NewTenant { id: "northwind".into(), kind: TenantKind::Customer, name: None, license: None },
            ),
            ErrorKind::Forbidden,
        );
    }

    #[test]
    fn add_user_rules() {
        let mut d = dir();
        let new = |upn: &str, tenant: &str, login: Option<&str>| NewUser {
            upn: upn.into(),
            tenant: tenant.into(),
            name: None,
            admin: false,
            login: login.map(str::to_string),
            object_id: None,
        };
        let u = add_user(&d, &op(), new("Dana.Smith@Contoso.com", "contoso", Some("dana"))).unwrap();
        assert_eq!(u.upn, "dana.smith@contoso.com", "UPNs are lowercased");
        assert_eq!(u.display_name, "dana.smith", "the display name defaults to the local part");
        assert_eq!(u.tenant, "contoso");
        d.users.insert(u.upn.clone(), u);

        let m =
            refused(add_user(&d, &op(), new("DANA.SMITH@contoso.com", "contoso", None)), ErrorKind::Conflict);
        assert!(m.contains("dana.smith@contoso.com"), "{m}");
        let m = refused(
            add_user(&d, &op(), new("eve@contoso.com", "contoso", Some("dana"))),
            ErrorKind::Conflict,
        );
        assert!(m.contains("dana.smith@contoso.com"), "the message names the login's owner: {m}");
        refused(add_user(&d, &op(), new("eve@nowhere.com", "nowhere", None)), ErrorKind::NotFound);
        refused(add_user(&d, &op(), new("not-an-upn", "contoso", None)), ErrorKind::Invalid);
        refused(
            add_user(&d, &Actor::User(ADMIN.into()), new("eve@contoso.com", "contoso", None)),
            ErrorKind::Forbidden,
        );
        assert!(add_user(&d, &op(), new("eve@contoso.com", "contoso", Some("eve"))).is_ok());
    }

    #[test]
    fn publish_offer_rules() {
        let d = dir();
        let offer = |id: &str, roles: &[&str]| NewOffer {
            id: id.into(),
            name: "Offer".into(),
            jit_available: true,
            roles: roles.iter().map(|r| r.to_string()).collect(),
        };
        let o = publish_offer(&d, &d.get(PAUL), offer("o1", &[])).unwrap();
        assert_eq!(o.roles, vec!["Owner".to_string()], "no roles means Owner");
        assert_eq!((o.publisher_tenant.as_str(), o.published_by.as_str()), ("fabrikam", PAUL));
        let o = publish_offer(&d, &d.get(PAUL), offer("o2", &["Reader", "Owner", "Reader"])).unwrap();
        assert_eq!(
            o.roles,
            vec!["Reader".to_string(), "Owner".to_string()],
            "duplicates collapse, order kept"
        );

        refused(publish_offer(&d, &d.get(ADMIN), offer("o3", &[])), ErrorKind::Forbidden);
        refused(publish_offer(&d, &d.get(PAUL), offer("jit-offer", &[])), ErrorKind::Conflict);
        refused(publish_offer(&d, &d.get(PAUL), offer("o4", &["bad role"])), ErrorKind::Invalid);
    }

    // ---- deploy ----

    fn deployment(name: &str, offer: &str) -> Deployment {
        Deployment { name: name.into(), offer: offer.into(), ..Deployment::default() }
    }

    #[test]
    fn deploy_defaults() {
        let d = dir();
        let app = deploy(&d, &d.get(ADMIN), deployment("app1", "jit-offer"), t0()).unwrap();
        assert!(app.policy.enabled, "JIT is on by default when the offer supports it");
        assert_eq!(app.policy.mode, ApprovalMode::AutoApprove);
        assert_eq!(app.policy.max_duration, Period::from_hours(8));
        assert!(app.policy.approvers.is_empty());
        assert_eq!(app.policy.request_timeout, Period::from_hours(24));
        assert_eq!(app.resource_group, "mrg-app1");
        assert_eq!(app.customer_tenant, "contoso");
        assert_eq!(app.publisher_tenant, "fabrikam");
        assert_eq!(app.deployed_by, ADMIN);
        assert_eq!(app.deployed_at, t0());

        let plain = deploy(&d, &d.get(ADMIN), deployment("app2", "plain-offer"), t0()).unwrap();
        assert!(!plain.policy.enabled, "JIT is off by default when the offer does not support it");

        let off = deploy(
            &d,
            &d.get(ADMIN),
            Deployment { jit: Some(false), ..deployment("app3", "jit-offer") },
            t0(),
        )
        .unwrap();
        assert!(!off.policy.enabled, "JIT can be declined on a JIT offer");

        let custom = deploy(
            &d,
            &d.get(ADMIN),
            Deployment {
                resource_group: Some("rg-custom".into()),
                max_duration: Some(Period::from_hours(2)),
                request_timeout: Some(Period::from_hours(1)),
                ..deployment("app4", "jit-offer")
            },
            t0(),
        )
        .unwrap();
        assert_eq!(custom.resource_group, "rg-custom");
        assert_eq!(custom.policy.max_duration, Period::from_hours(2));
        assert_eq!(custom.policy.request_timeout, Period::from_hours(1));
    }

    #[test]
    fn deploy_refuses_jit_on_an_offer_without_it() {
        let d = dir();
        let m = refused(
            deploy(
                &d,
                &d.get(ADMIN),
                Deployment { jit: Some(true), ..deployment("app", "plain-offer") },
                t0(),
            ),
            ErrorKind::Invalid,
        );
        assert!(m.contains("plain-offer") && m.contains("does not support JIT"), "{m}");
    }

    #[test]
    fn deploy_with_jit_needs_p2_and_names_the_licence() {
        let d = dir();
        let m = refused(
            deploy(&d, &d.get(FREE_ADMIN), deployment("app", "jit-offer"), t0()),
            ErrorKind::Forbidden,
        );
        assert!(m.contains("P2") && m.contains("free licence") && m.contains("cheap"), "{m}");
        let m =
            refused(deploy(&d, &d.get(P1_ADMIN), deployment("app", "jit-offer"), t0()), ErrorKind::Forbidden);
        assert!(m.contains("P2") && m.contains("P1") && m.contains("mid"), "{m}");
        // Without JIT no licence is needed.
        assert!(deploy(&d, &d.get(FREE_ADMIN), deployment("app", "plain-offer"), t0()).is_ok());
        assert!(
            deploy(
                &d,
                &d.get(P1_ADMIN),
                Deployment { jit: Some(false), ..deployment("app", "jit-offer") },
                t0()
            )
            .is_ok()
        );
        // A customer tenant added without a licence gets P2.
        assert!(deploy(&d, &d.get(OTHER_ADMIN), deployment("app", "jit-offer"), t0()).is_ok());
    }

    #[test]
    fn deploy_manual_needs_an_approver() {
        let d = dir();
        let manual = |approvers: &[&str]| Deployment {
            mode: Some(ApprovalMode::ManualApprove),
            approvers: approvers.iter().map(|a| a.to_string()).collect(),
            ..deployment("app", "jit-offer")
        };
        let m = refused(deploy(&d, &d.get(ADMIN), manual(&[]), t0()), ErrorKind::Invalid);
        assert!(m.contains("approver"), "{m}");
        let app = deploy(&d, &d.get(ADMIN), manual(&[APPROVER]), t0()).unwrap();
        assert_eq!(app.policy.mode, ApprovalMode::ManualApprove);
        assert_eq!(app.policy.approvers, vec![APPROVER.to_string()]);
    }

    #[test]
    fn deploy_approvers_must_be_customer_tenant_users() {
        let d = dir();
        let with = |approvers: &[&str]| Deployment {
            approvers: approvers.iter().map(|a| a.to_string()).collect(),
            ..deployment("app", "jit-offer")
        };
        // Another tenant's user is nobody of contoso's: refused as one nobody has, in the same words.
        let m = refused(deploy(&d, &d.get(ADMIN), with(&[APPROVER, PAT]), t0()), ErrorKind::NotFound);
        let ghost =
            refused(deploy(&d, &d.get(ADMIN), with(&["ghost@contoso.com"]), t0()), ErrorKind::NotFound);
        assert_eq!(m.replace(PAT, "X"), ghost.replace("ghost@contoso.com", "X"));
        assert!(m.contains("in tenant `contoso`"), "{m}");
        refused(deploy(&d, &d.get(ADMIN), with(&[OTHER_ADMIN]), t0()), ErrorKind::NotFound);
        let app =
            deploy(&d, &d.get(ADMIN), with(&[" Approver@Contoso.com ", APPROVER, CAROL]), t0()).unwrap();
        assert_eq!(
            app.policy.approvers,
            vec![APPROVER.to_string(), CAROL.to_string()],
            "approvers are normalised and duplicates collapse"
        );
    }

    #[test]
    fn only_customer_admins_deploy() {
        let d = dir();
        for who in [APPROVER, PAT, PUB_ADMIN] {
            let m =
                refused(deploy(&d, &d.get(who), deployment("app", "jit-offer"), t0()), ErrorKind::Forbidden);
            assert!(m.contains(who), "{m}");
        }
    }

    #[test]
    fn deploy_validation_and_conflicts() {
        let mut d = dir();
        d.deploy(ADMIN, deployment("taken", "jit-offer"));
        refused(deploy(&d, &d.get(ADMIN2), deployment("taken", "jit-offer"), t0()), ErrorKind::Conflict);
        refused(deploy(&d, &d.get(ADMIN), deployment("app", "no-such-offer"), t0()), ErrorKind::NotFound);
        refused(deploy(&d, &d.get(ADMIN), deployment("bad name", "jit-offer"), t0()), ErrorKind::Invalid);
        refused(
            deploy(
                &d,
                &d.get(ADMIN),
                Deployment { resource_group: Some("bad/rg".into()), ..deployment("app", "jit-offer") },
                t0(),
            ),
            ErrorKind::Invalid,
        );
        refused(
            deploy(
                &d,
                &d.get(ADMIN),
                Deployment { max_duration: Some(Period::from_secs(0)), ..deployment("app", "jit-offer") },
                t0(),
            ),
            ErrorKind::Invalid,
        );
        refused(
            deploy(
                &d,
                &d.get(ADMIN),
                Deployment { request_timeout: Some(Period::from_secs(0)), ..deployment("app", "jit-offer") },
                t0(),
            ),
            ErrorKind::Invalid,
        );
    }

    // ---- change_policy ----

    #[test]
    fn jit_cannot_be_enabled_after_deployment() {
        let mut d = dir();
        let app = d.deploy(ADMIN, deployment("plain", "plain-offer"));
        let m = refused(
            change_policy(
                &d,
                &d.get(ADMIN),
                &app,
                PolicyChange { jit: Some(true), ..PolicyChange::default() },
            ),
            ErrorKind::Conflict,
        );
        assert!(m.contains("only be chosen at deployment"), "{m}");
        let m = refused(
            change_policy(
                &d,
                &d.get(ADMIN),
                &app,
                PolicyChange { max_duration: Some(Period::from_hours(2)), ..PolicyChange::default() },
            ),
            ErrorKind::Conflict,
        );
        assert!(
            m.contains("only be chosen at deployment"),
            "no JIT settings to change on a non-JIT app: {m}"
        );
        // Repeating the current value is accepted and changes nothing.
        let same = change_policy(
            &d,
            &d.get(ADMIN),
            &app,
            PolicyChange { jit: Some(false), ..PolicyChange::default() },
        )
        .unwrap();
        assert_eq!(same, app.policy);
    }

    #[test]
    fn each_jit_setting_alone_is_a_conflict_on_an_app_without_jit() {
        let mut d = dir();
        let app = d.deploy(ADMIN, deployment("plain", "plain-offer"));
        let changes = [
            PolicyChange { mode: Some(ApprovalMode::ManualApprove), ..PolicyChange::default() },
            PolicyChange { max_duration: Some(Period::from_hours(2)), ..PolicyChange::default() },
            PolicyChange { request_timeout: Some(Period::from_hours(2)), ..PolicyChange::default() },
            PolicyChange { add_approvers: vec![APPROVER.into()], ..PolicyChange::default() },
            PolicyChange { remove_approvers: vec![APPROVER.into()], ..PolicyChange::default() },
        ];
        for change in changes {
            let what = format!("{change:?}");
            let m = refused(change_policy(&d, &d.get(ADMIN), &app, change), ErrorKind::Conflict);
            assert!(m.contains("has no JIT access, so it has no JIT settings to change"), "{what}: {m}");
        }
    }

    #[test]
    fn jit_cannot_be_disabled_after_deployment() {
        let mut d = dir();
        let app = d.deploy(ADMIN, deployment("jit", "jit-offer"));
        let m = refused(
            change_policy(
                &d,
                &d.get(ADMIN),
                &app,
                PolicyChange { jit: Some(false), ..PolicyChange::default() },
            ),
            ErrorKind::Conflict,
        );
        assert!(m.contains("only be chosen at deployment"), "{m}");
        let same = change_policy(
            &d,
            &d.get(ADMIN),
            &app,
            PolicyChange { jit: Some(true), ..PolicyChange::default() },
        )
        .unwrap();
        assert_eq!(same, app.policy);
    }

    #[test]
    fn change_policy_applies_settings() {
        let mut d = dir();
        let app = d.deploy(ADMIN, deployment("jit", "jit-offer"));
        let p = change_policy(
            &d,
            &d.get(ADMIN2),
            &app,
            PolicyChange {
                mode: Some(ApprovalMode::ManualApprove),
                max_duration: Some(Period::from_hours(2)),
                request_timeout: Some(Period::from_hours(3)),
                add_approvers: vec![APPROVER.into(), "APPROVER@contoso.com".into(), CAROL.into()],
                ..PolicyChange::default()
            },
        )
        .unwrap();
        assert!(p.enabled);
        assert_eq!(p.mode, ApprovalMode::ManualApprove);
        assert_eq!(p.max_duration, Period::from_hours(2));
        assert_eq!(p.request_timeout, Period::from_hours(3));
        assert_eq!(p.approvers, vec![APPROVER.to_string(), CAROL.to_string()]);
        refused(
            change_policy(
                &d,
                &d.get(ADMIN),
                &app,
                PolicyChange { max_duration: Some(Period::from_secs(0)), ..PolicyChange::default() },
            ),
            ErrorKind::Invalid,
        );
        refused(
            change_policy(
                &d,
                &d.get(ADMIN),
                &app,
                PolicyChange { request_timeout: Some(Period::from_secs(0)), ..PolicyChange::default() },
            ),
            ErrorKind::Invalid,
        );
        refused(
            change_policy(
                &d,
                &d.get(ADMIN),
                &app,
                PolicyChange { add_approvers: vec![PAT.into()], ..PolicyChange::default() },
            ),
            ErrorKind::NotFound,
        );
    }

    #[test]
    fn change_policy_keeps_manual_mode_approvable() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER, CAROL]);
        let remove = |upns: &[&str]| PolicyChange {
            remove_approvers: upns.iter().map(|u| u.to_string()).collect(),
            ..PolicyChange::default()
        };
        let p = change_policy(&d, &d.get(ADMIN), &app, remove(&[CAROL])).unwrap();
        assert_eq!(p.approvers, vec![APPROVER.to_string()]);
        let one = Application { policy: p, ..app.clone() };
        let m = refused(change_policy(&d, &d.get(ADMIN), &one, remove(&[APPROVER])), ErrorKind::Invalid);
        assert!(m.contains("approver"), "{m}");
        refused(change_policy(&d, &d.get(ADMIN), &app, remove(&[APPROVER, CAROL])), ErrorKind::Invalid);
        // Switching to automatic mode at the same time makes it fine.
        let p = change_policy(
            &d,
            &d.get(ADMIN),
            &app,
            PolicyChange { mode: Some(ApprovalMode::AutoApprove), ..remove(&[APPROVER, CAROL]) },
        )
        .unwrap();
        assert!(p.approvers.is_empty());
        refused(change_policy(&d, &d.get(ADMIN), &app, remove(&[ADMIN])), ErrorKind::NotFound);

        let auto = d.deploy(ADMIN, deployment("a", "jit-offer"));
        refused(
            change_policy(
                &d,
                &d.get(ADMIN),
                &auto,
                PolicyChange { mode: Some(ApprovalMode::ManualApprove), ..PolicyChange::default() },
            ),
            ErrorKind::Invalid,
        );
    }

    #[test]
    fn only_the_owning_tenants_admins_change_policy() {
        let mut d = dir();
        let app = d.deploy(ADMIN, deployment("jit", "jit-offer"));
        let change = || PolicyChange { max_duration: Some(Period::from_hours(1)), ..PolicyChange::default() };
        for who in [APPROVER, PAT, PUB_ADMIN] {
            let m = refused(change_policy(&d, &d.get(who), &app, change()), ErrorKind::Forbidden);
            assert!(m.contains("admin of its customer tenant"), "{m}");
        }
        // An admin of another tenant cannot see the application at all.
        refused(change_policy(&d, &d.get(OTHER_ADMIN), &app, change()), ErrorKind::NotFound);
        assert!(change_policy(&d, &d.get(ADMIN2), &app, change()).is_ok());
    }

    // ---- create_request ----

    #[test]
    fn create_request_fills_in_the_request() {
        let mut d = dir();
        d.manual_app("m", &[APPROVER]);
        let input = NewRequest {
            roles: vec!["contributor".into(), " OWNER ".into(), "Contributor".into()],
            ticket: Some("INC-1".into()),
            ..new_request("m", Period::from_hours(2), None)
        };
        let r = create_request(&d, &d.get(PAT), input, 7, t0()).unwrap();
        assert_eq!(r.id, 7);
        assert_eq!(r.state, RequestState::Pending);
        assert_eq!(r.requester, PAT);
        assert_eq!(
            r.roles,
            vec!["Contributor".to_string(), "Owner".to_string()],
            "roles take the offer's spelling"
        );
        assert_eq!(r.start, t0(), "no start means now");
        assert_eq!(r.created_at, t0());
        assert_eq!(r.decide_by, t0() + hours(24), "the app's request timeout");
        assert_eq!(r.ticket.as_deref(), Some("INC-1"));
        assert_eq!((r.decision.clone(), r.granted_from, r.closed.clone()), (None, None, None));
        assert_eq!(r.deadline(), Some((t0() + hours(24), DeadlineKind::Timeout)));
    }

    #[test]
    fn create_request_needs_jit() {
        let mut d = dir();
        d.deploy(ADMIN, deployment("plain", "plain-offer"));
        let m = refused(
            create_request(&d, &d.get(PAT), new_request("plain", Period::from_hours(1), None), 1, t0()),
            ErrorKind::Conflict,
        );
        assert!(m.contains("permanent access"), "{m}");
        refused(
            create_request(&d, &d.get(PAT), new_request("nope", Period::from_hours(1), None), 1, t0()),
            ErrorKind::NotFound,
        );
    }

    #[test]
    fn create_request_only_from_the_apps_publisher() {
        let mut d = dir();
        d.manual_app("m", &[APPROVER]);
        for who in [ADMIN, APPROVER] {
            let m = refused(
                create_request(&d, &d.get(who), new_request("m", Period::from_hours(1), None), 1, t0()),
                ErrorKind::Forbidden,
            );
            assert!(m.contains("fabrikam"), "{m}");
        }
        // Another publisher's user cannot see the application at all.
        refused(
            create_request(&d, &d.get(OLGA), new_request("m", Period::from_hours(1), None), 1, t0()),
            ErrorKind::NotFound,
        );
        assert!(
            create_request(&d, &d.get(PUB_ADMIN), new_request("m", Period::from_hours(1), None), 1, t0())
                .is_ok()
        );
    }

    #[test]
    fn create_request_roles() {
        let mut d = dir();
        d.manual_app("m", &[APPROVER]);
        let with_roles = |roles: &[&str]| NewRequest {
            roles: roles.iter().map(|r| r.to_string()).collect(),
            ..new_request("m", Period::from_hours(1), None)
        };
        let m =
            refused(create_request(&d, &d.get(PAT), with_roles(&["Reader"]), 1, t0()), ErrorKind::NotFound);
        assert!(m.contains("Reader") && m.contains("Owner, Contributor"), "{m}");
        refused(
            create_request(&d, &d.get(PAT), with_roles(&["Owner", "Reader"]), 1, t0()),
            ErrorKind::NotFound,
        );
        refused(create_request(&d, &d.get(PAT), with_roles(&[]), 1, t0()), ErrorKind::Invalid);
    }

    #[test]
    fn create_request_duration_limits() {
        let mut d = dir();
        d.manual_app("m", &[APPROVER]);
        let with =
            |duration: Period| create_request(&d, &d.get(PAT), new_request("m", duration, None), 1, t0());
        refused(with(Period::from_secs(0)), ErrorKind::Invalid);
        let m = refused(
            with(Period::from_hours(8).as_secs().checked_add(1).map(Period::from_secs).unwrap()),
            ErrorKind::Invalid,
        );
        assert!(m.contains("PT8H"), "the message gives the maximum: {m}");
        refused(with(Period::from_hours(9)), ErrorKind::Invalid);
        assert_eq!(
            with(Period::from_hours(8)).unwrap().duration,
            Period::from_hours(8),
            "the maximum itself is allowed"
        );
        assert!(with(Period::from_secs(1)).is_ok());
    }

    #[test]
    fn create_request_start_times() {
        let mut d = dir();
        d.manual_app("m", &[APPROVER]);
        let at = |start: DateTime<Utc>| {
            create_request(&d, &d.get(PAT), new_request("m", Period::from_hours(1), Some(start)), 1, t0())
        };
        let m = refused(at(t0() - hours(1)), ErrorKind::Invalid);
        assert!(m.contains("past"), "{m}");
        refused(at(t0() - TimeDelta::seconds(61)), ErrorKind::Invalid);
        assert_eq!(
            at(t0() - TimeDelta::seconds(30)).unwrap().start,
            t0(),
            "a start just past is taken as now"
        );
        assert_eq!(at(t0() - START_GRACE).unwrap().start, t0(), "the whole grace is allowed");
        assert_eq!(at(t0() + hours(3)).unwrap().start, t0() + hours(3), "a future start is kept");
    }

    #[test]
    fn create_request_one_pending_per_requester_and_app() {
        let mut d = dir();
        d.manual_app("m", &[APPROVER]);
        d.manual_app("n", &[APPROVER]);
        let first = d.request("m", PAT, Period::from_hours(1), None);
        let m = refused(
            create_request(&d, &d.get(PAT), new_request("m", Period::from_hours(1), None), 2, t0()),
            ErrorKind::Conflict,
        );
        assert!(m.contains(&first.id.to_string()) && m.contains("pending"), "{m}");
        // Other requesters and other applications are not affected.
        assert!(
            create_request(&d, &d.get(PAUL), new_request("m", Period::from_hours(1), None), 2, t0()).is_ok()
        );
        assert!(
            create_request(&d, &d.get(PAT), new_request("n", Period::from_hours(1), None), 2, t0()).is_ok()
        );
        // Once it is no longer pending, a new request is fine.
        d.requests[0].state = RequestState::Denied;
        assert!(
            create_request(&d, &d.get(PAT), new_request("m", Period::from_hours(1), None), 2, t0()).is_ok()
        );
    }

    #[test]
    fn create_request_needs_p2_on_the_customer_tenant() {
        let mut d = dir();
        // Deploy refuses JIT here, so the application is placed directly, as if the licence had been
        // downgraded after deployment.
        let mut app = d.manual_app("m", &[APPROVER]);
        app.name = "cheap-app".into();
        app.customer_tenant = "cheap".into();
        d.apps.insert(app.name.clone(), app);
        let m = refused(
            create_request(&d, &d.get(PAT), new_request("cheap-app", Period::from_hours(1), None), 1, t0()),
            ErrorKind::Forbidden,
        );
        assert!(m.contains("P2") && m.contains("free licence"), "{m}");
    }

    #[test]
    fn create_request_checks_texts() {
        let mut d = dir();
        d.manual_app("m", &[APPROVER]);
        let blank =
            NewRequest { justification: "   ".into(), ..new_request("m", Period::from_hours(1), None) };
        refused(create_request(&d, &d.get(PAT), blank, 1, t0()), ErrorKind::Invalid);
        let escape = NewRequest {
            justification: "x\u{1b}[2J".into(),
            ..new_request("m", Period::from_hours(1), None)
        };
        refused(create_request(&d, &d.get(PAT), escape, 1, t0()), ErrorKind::Invalid);
        let ticket =
            NewRequest { ticket: Some(String::new()), ..new_request("m", Period::from_hours(1), None) };
        refused(create_request(&d, &d.get(PAT), ticket, 1, t0()), ErrorKind::Invalid);
    }

    // ---- decide ----

    #[test]
    fn approval_grants_the_full_duration_from_the_later_of_start_and_now() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        // Asked to start now, approved two hours later: the clock starts at the approval.
        let r = d.request("m", PAT, Period::from_hours(3), None);
        let now = t0() + hours(2);
        let a = decide(&d, &app, &d.get(APPROVER), r, true, " looks fine ", now).unwrap();
        assert_eq!(a.state, RequestState::Approved);
        assert_eq!(a.granted_from, Some(now));
        assert_eq!(a.window(), Some((now, now + hours(3))));
        assert!(a.started, "access that starts at the approval has started");
        let v = a.decision.clone().unwrap();
        assert_eq!((v.by.as_str(), v.at, v.reason.as_str()), (APPROVER, now, "looks fine"));
        assert!(a.is_active(now) && a.is_active(now + hours(3) - TimeDelta::seconds(1)));
        assert!(!a.is_active(now + hours(3)));
        assert_eq!(a.deadline(), Some((now + hours(3), DeadlineKind::End)));

        // Asked for a future start, approved before it: the grant starts when asked.
        let start = t0() + hours(5);
        let r = d.request("m", PAUL, Period::from_hours(2), Some(start));
        let a = decide(&d, &app, &d.get(APPROVER), r, true, "ok", t0() + hours(1)).unwrap();
        assert_eq!(a.window(), Some((start, start + hours(2))));
        assert!(!a.started);
        assert!(a.is_scheduled(t0() + hours(1)) && !a.is_active(t0() + hours(1)));
        assert_eq!(a.deadline(), Some((start, DeadlineKind::Start)));
    }

    #[test]
    fn denial() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let r = d.request("m", PAT, Period::from_hours(3), None);
        let denied = decide(&d, &app, &d.get(APPROVER), r, false, "no ticket", t0() + hours(1)).unwrap();
        assert_eq!(denied.state, RequestState::Denied);
        assert_eq!(denied.granted_from, None);
        assert_eq!(denied.decision.as_ref().map(|v| v.reason.as_str()), Some("no ticket"));
        assert_eq!(denied.deadline(), None);
        assert!(!denied.is_active(t0() + hours(1)));
    }

    // ---- groups as approvers ----

    impl Dir {
        /// Adds group `id` of contoso, by its admin, with these members (placed directly).
        fn add_g(&mut self, id: &str, members: &[&str]) -> Group {
            let input = crate::domain::groups::NewGroup {
                id: id.into(),
                tenant: "contoso".into(),
                name: Some(format!("{id} people")),
                object_id: None,
            };
            let admin = self.get(ADMIN);
            let g = crate::domain::groups::add_group(&*self, &Actor::User(ADMIN.into()), Some(&admin), input)
                .unwrap();
            self.groups.insert(g.id.clone(), g.clone());
            self.members.extend(members.iter().map(|m| (g.id.clone(), m.to_string())));
            g
        }
    }

    #[test]
    fn a_member_of_an_approver_group_decides_and_stops_once_taken_out() {
        let mut d = dir();
        let ops = d.add_g("ops", &[CAROL]);
        let app = d.manual_app("m", &["ops"]);
        assert_eq!(
            (app.policy.approvers.len(), app.policy.approver_groups.clone()),
            (0, vec![ops.id.clone()])
        );
        let r = d.request("m", PAT, Period::from_hours(1), None);
        let approved = decide(&d, &app, &d.get(CAROL), r.clone(), true, "ok", t0()).unwrap();
        assert_eq!(approved.state, RequestState::Approved);
        let m =
            refused(decide(&d, &app, &d.get(APPROVER), r.clone(), true, "ok", t0()), ErrorKind::Forbidden);
        assert!(m.contains("not an approver"), "{m}");
        let revoked = revoke(&d, &app, &d.get(CAROL), approved.clone(), "done", t0()).unwrap();
        assert_eq!(revoked.state, RequestState::Revoked, "a member revokes as an approver does");

        d.members.clear();
        refused(decide(&d, &app, &d.get(CAROL), r, true, "ok", t0()), ErrorKind::Forbidden);
        refused(revoke(&d, &app, &d.get(CAROL), approved, "done", t0()), ErrorKind::Forbidden);
    }

    #[test]
    fn the_requester_in_an_approver_group_never_decides_or_counts() {
        let mut d = dir();
        d.add_g("ops", &[CAROL]);
        let mut app = d.manual_app("m", &["ops", APPROVER]);
        app.policy.approvals_required = 2;
        let r = d.request("m", PAT, Period::from_hours(1), None);
        // Placed directly: the rules never make a publisher user a member of a customer's group.
        d.members.push(("ops".into(), PAT.into()));
        let m = refused(decide(&d, &app, &d.get(PAT), r.clone(), true, "me", t0()), ErrorKind::Forbidden);
        assert!(m.contains("your own"), "{m}");
        let once = decide(&d, &app, &d.get(CAROL), r, true, "ok", t0()).unwrap();
        assert_eq!((once.state, once.approvals.len()), (RequestState::Pending, 1));
        let again =
            refused(decide(&d, &app, &d.get(CAROL), once.clone(), true, "ok", t0()), ErrorKind::Conflict);
        assert!(again.contains("1 of 2 approvals"), "a member counts once: {again}");
        let twice = decide(&d, &app, &d.get(APPROVER), once, true, "ok", t0()).unwrap();
        assert_eq!(twice.state, RequestState::Approved);
    }

    #[test]
    fn approvers_are_named_by_upn_group_id_or_object_id_of_the_customer_tenant() {
        let mut d = dir();
        let ops = d.add_g("ops", &[]);
        let by_guid = d.manual_app("g", &[&ops.object_id.to_uppercase(), &d.get(CAROL).object_id.clone()]);
        assert_eq!(by_guid.policy.approver_groups, vec!["ops".to_string()]);
        let twice = d.manual_app("t", &["ops", &ops.object_id, CAROL]);
        assert_eq!(twice.policy.approver_groups, vec!["ops".to_string()], "a group named twice is kept once");
        assert_eq!(by_guid.policy.approvers, vec![CAROL.to_string()]);
        let summary = describe_policy(&by_guid.policy);
        assert!(summary.ends_with(&format!("approvers: {CAROL}, group ops")), "{summary}");

        // Another tenant's group answers as a missing one.
        d.groups.insert(
            "theirs".into(),
            Group {
                id: "theirs".into(),
                display_name: "x".into(),
                tenant: "woodgrove".into(),
                object_id: "o".into(),
            },
        );
        let other = refused(rules_deploy(&d, "theirs"), ErrorKind::NotFound);
        let missing = refused(rules_deploy(&d, "nobody"), ErrorKind::NotFound);
        assert_eq!(other.replace("theirs", "X"), missing.replace("nobody", "X"));

        let mut app = d.manual_app("m", &[APPROVER, "ops"]);
        let change = PolicyChange { remove_approvers: vec!["ops".into()], ..PolicyChange::default() };
        app.policy = change_policy(&d, &d.get(ADMIN), &app, change.clone()).unwrap();
        assert!(app.policy.approver_groups.is_empty());
        let m = refused(change_policy(&d, &d.get(ADMIN), &app, change), ErrorKind::NotFound);
        assert!(m.contains("is not an approver"), "{m}");
        let manual_on_group_alone = PolicyChange {
            add_approvers: vec![ops.object_id.clone()],
            remove_approvers: vec![APPROVER.into()],
            ..PolicyChange::default()
        };
        let p = change_policy(&d, &d.get(ADMIN), &app, manual_on_group_alone).unwrap();
        assert_eq!((p.approvers.len(), p.approver_groups.len()), (0, 1), "a group alone may approve");
    }

    /// A manual deployment by contoso's admin naming one approver.
    fn rules_deploy(d: &Dir, approver: &str) -> Result<Application, RuleError> {
        deploy(
            d,
            &d.get(ADMIN),
            Deployment {
                name: "x".into(),
                offer: "jit-offer".into(),
                mode: Some(ApprovalMode::ManualApprove),
                approvers: vec![approver.into()],
                ..Deployment::default()
            },
            t0(),
        )
    }

    #[test]
    fn groups_are_added_by_their_tenants_admins_with_members_of_that_tenant() {
        use crate::domain::groups::{NewGroup, add_group, need_visible_group, new_member};
        let mut d = dir();
        let input = |id: &str, tenant: &str| NewGroup {
            id: id.into(),
            tenant: tenant.into(),
            name: None,
            object_id: None,
        };
        let admin = d.get(ADMIN);
        let g = add_group(&d, &Actor::User(ADMIN.into()), Some(&admin), input("ops", "contoso")).unwrap();
        assert_eq!((g.display_name.as_str(), g.object_id.clone()), ("ops", arm_ids::group_guid("ops")));
        let carol = d.get(CAROL);
        refused(
            add_group(&d, &Actor::User(CAROL.into()), Some(&carol), input("x", "contoso")),
            ErrorKind::Forbidden,
        );
        let other = d.get(OTHER_ADMIN);
        refused(
            add_group(&d, &Actor::User(OTHER_ADMIN.into()), Some(&other), input("x", "contoso")),
            ErrorKind::Forbidden,
        );
        refused(add_group(&d, &op(), None, input("x", "fabrikam")), ErrorKind::Invalid);
        refused(add_group(&d, &op(), None, input("a@b", "contoso")), ErrorKind::Invalid);
        d.groups.insert(g.id.clone(), g.clone());
        refused(add_group(&d, &op(), None, input("ops", "contoso")), ErrorKind::Conflict);
        let twin = NewGroup { object_id: Some(admin.object_id.clone()), ..input("twin", "contoso") };
        refused(add_group(&d, &op(), None, twin), ErrorKind::Conflict);

        assert_eq!(new_member(&d, &g, CAROL, 0).unwrap().upn, CAROL);
        let outsider = refused(new_member(&d, &g, PAT, 0), ErrorKind::NotFound);
        let nobody = refused(new_member(&d, &g, "ghost@contoso.com", 0), ErrorKind::NotFound);
        assert_eq!(outsider.replace(PAT, "X"), nobody.replace("ghost@contoso.com", "X"));
        refused(new_member(&d, &g, CAROL, crate::domain::groups::MAX_MEMBERS), ErrorKind::Conflict);
        let hidden = refused(need_visible_group(&d, Some(&other), "ops"), ErrorKind::NotFound);
        let missing = refused(need_visible_group(&d, Some(&other), "nope"), ErrorKind::NotFound);
        assert_eq!(hidden.replace("ops", "X"), missing.replace("nope", "X"));
        assert_eq!(need_visible_group(&d, None, "ops").unwrap(), g);
    }

    #[test]
    fn nobody_decides_their_own_request() {
        let mut d = dir();
        let mut app = d.manual_app("m", &[APPROVER]);
        let r = d.request("m", PAT, Period::from_hours(1), None);
        // Placed directly: the rules never make a publisher user an approver.
        app.policy.approvers.push(PAT.into());
        for approve in [true, false] {
            let m =
                refused(decide(&d, &app, &d.get(PAT), r.clone(), approve, "me", t0()), ErrorKind::Forbidden);
            assert!(m.contains("your own"), "{m}");
        }
    }

    #[test]
    fn only_approvers_decide() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let r = d.request("m", PAT, Period::from_hours(1), None);
        for who in [ADMIN, CAROL, PAUL] {
            let m = refused(decide(&d, &app, &d.get(who), r.clone(), true, "ok", t0()), ErrorKind::Forbidden);
            assert!(m.contains("not an approver"), "{m}");
        }
    }

    #[test]
    fn a_decided_request_cannot_be_decided_again() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER, CAROL]);
        let r = d.request("m", PAT, Period::from_hours(1), None);
        let approved = decide(&d, &app, &d.get(APPROVER), r.clone(), true, "ok", t0()).unwrap();
        for approve in [true, false] {
            let m = refused(
                decide(&d, &app, &d.get(CAROL), approved.clone(), approve, "again", t0()),
                ErrorKind::Conflict,
            );
            assert!(m.contains("Approved") && m.contains(APPROVER), "{m}");
        }
        let denied = decide(&d, &app, &d.get(CAROL), r, false, "no", t0()).unwrap();
        let m = refused(decide(&d, &app, &d.get(APPROVER), denied, true, "yes", t0()), ErrorKind::Conflict);
        assert!(m.contains("Denied") && m.contains(CAROL), "{m}");
    }

    #[test]
    fn no_decision_after_the_deadline() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let r = d.request("m", PAT, Period::from_hours(1), None);
        let last = r.decide_by - TimeDelta::seconds(1);
        assert!(decide(&d, &app, &d.get(APPROVER), r.clone(), true, "ok", last).is_ok());
        let m = refused(
            decide(&d, &app, &d.get(APPROVER), r.clone(), true, "ok", r.decide_by),
            ErrorKind::Conflict,
        );
        assert!(m.contains("timed out"), "{m}");
        refused(
            decide(&d, &app, &d.get(APPROVER), r.clone(), false, "no", r.decide_by + hours(1)),
            ErrorKind::Conflict,
        );
    }

    #[test]
    fn a_decision_needs_a_reason() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let r = d.request("m", PAT, Period::from_hours(1), None);
        refused(decide(&d, &app, &d.get(APPROVER), r, true, "  ", t0()), ErrorKind::Invalid);
    }

    // ---- several approvals ----

    /// A manual application `name` whose requests need `required` approvals of `approvers`.
    fn needing(d: &mut Dir, name: &str, approvers: &[&str], required: u32) -> Application {
        d.deploy(
            ADMIN,
            Deployment {
                name: name.into(),
                offer: "jit-offer".into(),
                mode: Some(ApprovalMode::ManualApprove),
                approvers: approvers.iter().map(|a| a.to_string()).collect(),
                approvals_required: Some(required),
                ..Deployment::default()
            },
        )
    }

    #[test]
    fn a_request_needing_two_approvals_waits_for_the_second_approver() {
        let mut d = dir();
        let app = needing(&mut d, "m", &[APPROVER, CAROL], 2);
        assert_eq!(app.policy.approvals_required, 2);
        let r = d.request("m", PAT, Period::from_hours(2), None);
        let once = decide(&d, &app, &d.get(APPROVER), r, true, "fine by me", t0() + hours(1)).unwrap();
        assert_eq!(once.state, RequestState::Pending);
        assert_eq!((once.decision.as_ref(), once.granted_from), (None, None));
        let given: Vec<(&str, &str)> =
            once.approvals.iter().map(|v| (v.by.as_str(), v.reason.as_str())).collect();
        assert_eq!(given, [(APPROVER, "fine by me")]);
        assert_eq!(approval_progress(&once, &app.policy).as_deref(), Some("1 of 2 approvals"));

        // The same approver twice is refused, saying how far it is; nothing changes.
        let m = refused(
            decide(&d, &app, &d.get(APPROVER), once.clone(), true, "again", t0()),
            ErrorKind::Conflict,
        );
        assert!(m.contains("already approved") && m.contains("1 of 2 approvals"), "{m}");

        // The second approver's approval approves it, from then, the decision being theirs.
        let now = t0() + hours(2);
        let twice = decide(&d, &app, &d.get(CAROL), once, true, "agreed", now).unwrap();
        assert_eq!(twice.state, RequestState::Approved);
        assert_eq!(
            twice.decision.as_ref().map(|v| (v.by.as_str(), v.reason.as_str())),
            Some((CAROL, "agreed"))
        );
        assert_eq!(twice.window(), Some((now, now + hours(2))));
        let by: Vec<&str> = twice.approvals.iter().map(|v| v.by.as_str()).collect();
        assert_eq!(by, [APPROVER, CAROL]);
        assert_eq!(approval_progress(&twice, &app.policy), None, "only a pending request shows progress");
    }

    #[test]
    fn one_denial_denies_a_request_with_approvals() {
        let mut d = dir();
        let app = needing(&mut d, "m", &[APPROVER, CAROL, ADMIN2], 3);
        let r = d.request("m", PAT, Period::from_hours(2), None);
        let once = decide(&d, &app, &d.get(APPROVER), r, true, "ok", t0()).unwrap();
        let denied = decide(&d, &app, &d.get(CAROL), once, false, "no ticket", t0()).unwrap();
        assert_eq!(denied.state, RequestState::Denied);
        assert_eq!(denied.decision.as_ref().map(|v| v.by.as_str()), Some(CAROL));
        assert_eq!(denied.granted_from, None);
    }

    #[test]
    fn several_approvals_keep_the_policys_other_rules() {
        let mut d = dir();
        let app = needing(&mut d, "m", &[APPROVER, CAROL], 2);
        let r = d.request("m", PAT, Period::from_hours(3), None);
        let once = decide(&d, &app, &d.get(APPROVER), r, true, "ok", t0()).unwrap();
        // The maximum is checked at each approval.
        let mut tighter = app.clone();
        tighter.policy.max_duration = Period::from_hours(2);
        refused(decide(&d, &tighter, &d.get(CAROL), once.clone(), true, "ok", t0()), ErrorKind::Conflict);
        // The timeout still holds, and times out a request with approvals.
        refused(
            decide(&d, &app, &d.get(CAROL), once.clone(), true, "ok", once.decide_by),
            ErrorKind::Conflict,
        );
        let (timed_out, action) = advance(&once, once.decide_by).expect("timed out");
        assert_eq!((timed_out.state, action), (RequestState::Timeout, Action::RequestTimedOut));
        // The requester never counts, nor does anyone who is not an approver.
        let mut with_pat = app.clone();
        with_pat.policy.approvers.push(PAT.into());
        refused(decide(&d, &with_pat, &d.get(PAT), once.clone(), true, "me", t0()), ErrorKind::Forbidden);
        refused(decide(&d, &app, &d.get(ADMIN), once, true, "me", t0()), ErrorKind::Forbidden);
    }

    #[test]
    fn approvals_required_are_checked_where_given() {
        let mut d = dir();
        let manual = |approvers: &[&str], required: u32| Deployment {
            mode: Some(ApprovalMode::ManualApprove),
            approvers: approvers.iter().map(|a| a.to_string()).collect(),
            approvals_required: Some(required),
            ..deployment("app", "jit-offer")
        };
        let m = refused(deploy(&d, &d.get(ADMIN), manual(&[APPROVER], 2), t0()), ErrorKind::Invalid);
        assert!(m.contains("2 approvals required") && m.contains("there are 1"), "{m}");
        let m = refused(deploy(&d, &d.get(ADMIN), manual(&[APPROVER], 0), t0()), ErrorKind::Invalid);
        assert!(m.contains("at least 1"), "{m}");
        let auto = Deployment { approvals_required: Some(2), ..deployment("app", "jit-offer") };
        let m = refused(deploy(&d, &d.get(ADMIN), auto, t0()), ErrorKind::Invalid);
        assert!(m.contains("only when approvers decide"), "{m}");
        let off =
            Deployment { jit: Some(false), approvals_required: Some(2), ..deployment("app", "jit-offer") };
        let m = refused(deploy(&d, &d.get(ADMIN), off, t0()), ErrorKind::Conflict);
        assert!(m.contains("approvals required"), "{m}");
        assert_eq!(
            deploy(&d, &d.get(ADMIN), deployment("app", "jit-offer"), t0())
                .unwrap()
                .policy
                .approvals_required,
            1
        );

        // A change keeps enough approvers for the number, and a number only in manual mode.
        let app = needing(&mut d, "m", &[APPROVER, CAROL], 2);
        let change = |c: PolicyChange| change_policy(&d, &d.get(ADMIN), &app, c);
        let m = refused(
            change(PolicyChange { remove_approvers: vec![CAROL.into()], ..PolicyChange::default() }),
            ErrorKind::Invalid,
        );
        assert!(m.contains("2 approvals required"), "{m}");
        let m = refused(
            change(PolicyChange { approvals_required: Some(3), ..PolicyChange::default() }),
            ErrorKind::Invalid,
        );
        assert!(m.contains("there are 2"), "{m}");
        let m = refused(
            change(PolicyChange {
                mode: Some(ApprovalMode::AutoApprove),
                approvals_required: Some(1),
                ..PolicyChange::default()
            }),
            ErrorKind::Invalid,
        );
        assert!(m.contains("only when approvers decide"), "{m}");
        let three = change(PolicyChange {
            add_approvers: vec![ADMIN2.into()],
            approvals_required: Some(3),
            ..PolicyChange::default()
        })
        .unwrap();
        assert_eq!(three.approvals_required, 3);
        assert!(describe_policy(&three).contains("approvals 3"), "{}", describe_policy(&three));
    }

    #[test]
    fn lowering_approvals_required_approves_requests_that_have_enough() {
        let mut d = dir();
        let app = needing(&mut d, "m", &[APPROVER, CAROL, ADMIN2], 3);
        let none = d.request("m", PAUL, Period::from_hours(1), None);
        let r = d.request("m", PAT, Period::from_hours(1), None);
        let once = decide(&d, &app, &d.get(APPROVER), r, true, "ok", t0()).unwrap();
        let now = t0() + hours(1);
        let two = JitPolicy { approvals_required: 2, ..app.policy.clone() };
        assert_eq!(reevaluate(&two, &once, now), None, "one approval is not yet two");
        let one = JitPolicy { approvals_required: 1, ..app.policy.clone() };
        assert_eq!(reevaluate(&one, &none, now), None, "a request without approvals still waits");
        let (approved, action) = reevaluate(&one, &once, now).expect("approved");
        assert_eq!((approved.state, action), (RequestState::Approved, Action::RequestApproved));
        let v = approved.decision.clone().unwrap();
        assert_eq!((v.by.as_str(), v.at), (SYSTEM, now));
        assert!(v.reason.contains("1 of 1 approval"), "{}", v.reason);
        // Removing the approver who approved keeps the approval: it was given by an approver then.
        let without = JitPolicy { approvers: vec![CAROL.into()], ..one };
        assert!(reevaluate(&without, &once, now).is_some_and(|(r, _)| r.state == RequestState::Approved));
    }

    #[test]
    fn automatic_approval() {
        let mut d = dir();
        d.deploy(ADMIN, deployment("a", "jit-offer"));
        let r = d.request("a", PAT, Period::from_hours(2), Some(t0() + hours(1)));
        let a = approve_automatically(r, t0());
        assert_eq!(a.state, RequestState::Approved);
        let v = a.decision.clone().unwrap();
        assert_eq!((v.by.as_str(), v.reason.as_str(), v.at), (SYSTEM, AUTO_APPROVAL_REASON, t0()));
        assert_eq!(a.window(), Some((t0() + hours(1), t0() + hours(3))));
        assert!(!a.started);
    }

    // ---- cancel ----

    #[test]
    fn only_the_requester_cancels_and_only_while_pending() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let r = d.request("m", PAT, Period::from_hours(1), None);
        for who in [PAUL, APPROVER, ADMIN] {
            refused(cancel(&app, &d.get(who), r.clone(), t0()), ErrorKind::Forbidden);
        }
        let c = cancel(&app, &d.get(PAT), r.clone(), t0() + hours(1)).unwrap();
        assert_eq!(c.state, RequestState::Canceled);
        let v = c.closed.clone().unwrap();
        assert_eq!((v.by.as_str(), v.at), (PAT, t0() + hours(1)));
        assert_eq!(c.deadline(), None);
        let m = refused(cancel(&app, &d.get(PAT), c, t0()), ErrorKind::Conflict);
        assert!(m.contains("Canceled"), "{m}");
        let approved = decide(&d, &app, &d.get(APPROVER), r, true, "ok", t0()).unwrap();
        let m = refused(cancel(&app, &d.get(PAT), approved, t0()), ErrorKind::Conflict);
        assert!(m.contains("Approved"), "{m}");
    }

    // ---- revoke ----

    #[test]
    fn admins_and_approvers_revoke() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let r = d.request("m", PAT, Period::from_hours(4), None);
        let a = decide(&d, &app, &d.get(APPROVER), r, true, "ok", t0()).unwrap();
        let now = t0() + hours(1);
        for who in [ADMIN, ADMIN2, APPROVER] {
            let rv = revoke(&d, &app, &d.get(who), a.clone(), "done early", now).unwrap();
            assert_eq!(rv.state, RequestState::Revoked);
            let v = rv.closed.clone().unwrap();
            assert_eq!((v.by.as_str(), v.at, v.reason.as_str()), (who, now, "done early"));
            assert!(!rv.is_active(now));
            assert_eq!(rv.deadline(), None);
        }
        for who in [CAROL, PAT, PAUL, PUB_ADMIN] {
            refused(revoke(&d, &app, &d.get(who), a.clone(), "no", now), ErrorKind::Forbidden);
        }
        refused(revoke(&d, &app, &d.get(OTHER_ADMIN), a.clone(), "no", now), ErrorKind::NotFound);
        refused(revoke(&d, &app, &d.get(ADMIN), a, "", now), ErrorKind::Invalid);
    }

    #[test]
    fn revoke_only_approved_access_that_has_not_ended() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let r = d.request("m", PAT, Period::from_hours(4), None);
        let m = refused(revoke(&d, &app, &d.get(ADMIN), r.clone(), "x", t0()), ErrorKind::Conflict);
        assert!(
            m.contains("still Pending") && m.contains("cancel") && m.contains("deny"),
            "a pending request is canceled or denied, not revoked: {m}"
        );
        assert!(!m.contains("already"), "{m}");
        let a = decide(&d, &app, &d.get(APPROVER), r, true, "ok", t0()).unwrap();
        assert!(
            revoke(&d, &app, &d.get(ADMIN), a.clone(), "x", t0() + hours(4) - TimeDelta::seconds(1)).is_ok()
        );
        let m =
            refused(revoke(&d, &app, &d.get(ADMIN), a.clone(), "x", t0() + hours(4)), ErrorKind::Conflict);
        assert!(m.contains("ended"), "{m}");
        let rv = revoke(&d, &app, &d.get(ADMIN), a, "x", t0()).unwrap();
        let m = refused(revoke(&d, &app, &d.get(ADMIN), rv, "x", t0()), ErrorKind::Conflict);
        assert!(m.contains("Revoked"), "{m}");

        // Scheduled access can be revoked before it starts.
        let s = d.request("m", PAUL, Period::from_hours(1), Some(t0() + hours(5)));
        let s = decide(&d, &app, &d.get(APPROVER), s, true, "ok", t0()).unwrap();
        assert_eq!(revoke(&d, &app, &d.get(APPROVER), s, "x", t0()).unwrap().state, RequestState::Revoked);
    }

    // ---- advance ----

    #[test]
    fn advance_times_out_undecided_requests() {
        let mut d = dir();
        d.manual_app("m", &[APPROVER]);
        let r = d.request("m", PAT, Period::from_hours(1), None);
        assert_eq!(advance(&r, r.decide_by - TimeDelta::seconds(1)), None);
        let (t, action) = advance(&r, r.decide_by + hours(5)).unwrap();
        assert_eq!(action, Action::RequestTimedOut);
        assert_eq!(t.state, RequestState::Timeout);
        let v = t.closed.clone().unwrap();
        assert_eq!(
            (v.by.as_str(), v.at),
            (SYSTEM, r.decide_by),
            "stamped with the deadline, not the late tick"
        );
        assert_eq!(advance(&t, r.decide_by + hours(100)), None, "a final state stays put");
    }

    #[test]
    fn advance_starts_and_expires_access() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let start = t0() + hours(2);
        let r = d.request("m", PAT, Period::from_hours(3), Some(start));
        let a = decide(&d, &app, &d.get(APPROVER), r, true, "ok", t0()).unwrap();
        assert_eq!(advance(&a, start - TimeDelta::seconds(1)), None);
        let (s, action) = advance(&a, start).unwrap();
        assert_eq!(action, Action::AccessStarted);
        assert_eq!(s.state, RequestState::Approved);
        assert!(s.started);
        assert_eq!(s.closed, None);
        let end = start + hours(3);
        assert_eq!(advance(&s, end - TimeDelta::seconds(1)), None);
        let (e, action) = advance(&s, end).unwrap();
        assert_eq!(action, Action::AccessExpired);
        assert_eq!(e.state, RequestState::Expired);
        let v = e.closed.clone().unwrap();
        assert_eq!((v.by.as_str(), v.at), (SYSTEM, end));
        assert_eq!(advance(&e, end + hours(1)), None);
        for final_state in [RequestState::Denied, RequestState::Canceled, RequestState::Revoked] {
            let f = AccessRequest { state: final_state, ..a.clone() };
            assert_eq!(advance(&f, end + hours(100)), None, "{final_state} never moves");
        }
    }

    // ---- what the caller may not see ----

    #[test]
    fn only_the_operator_takes_a_backup() {
        assert!(may_back_up(&Actor::Operator("ops".into())).is_ok());
        for who in [ADMIN, PAT] {
            let m = refused(may_back_up(&Actor::User(who.into())), ErrorKind::Forbidden);
            assert!(m.contains("may not take a backup") && m.contains("operator"), "{m}");
        }
    }

    #[test]
    fn actions_on_what_the_caller_may_not_see_answer_as_for_what_does_not_exist() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        d.deploy(ADMIN, deployment("plain", "plain-offer"));
        let r = d.request("m", PAT, Period::from_hours(1), None);
        let granted = decide(&d, &app, &d.get(APPROVER), r.clone(), true, "ok", t0()).unwrap();
        let missing_request = no_request(r.id).message;
        // Olga publishes for another tenant; the woodgrove admin is a customer of nobody here. Both are
        // exactly the users who would otherwise learn the application's tenant or the requester.
        for who in [OLGA, OTHER_ADMIN] {
            let user = d.get(who);
            for approve in [true, false] {
                let m = refused(decide(&d, &app, &user, r.clone(), approve, "x", t0()), ErrorKind::NotFound);
                assert_eq!(m, missing_request);
            }
            let m = refused(cancel(&app, &user, r.clone(), t0()), ErrorKind::NotFound);
            assert_eq!(m, missing_request);
            let m = refused(revoke(&d, &app, &user, granted.clone(), "x", t0()), ErrorKind::NotFound);
            assert_eq!(m, missing_request);
            let change =
                PolicyChange { max_duration: Some(Period::from_hours(1)), ..PolicyChange::default() };
            let m = refused(change_policy(&d, &user, &app, change), ErrorKind::NotFound);
            assert_eq!(m, no_app("m").message);
            for name in ["m", "plain", "nowhere"] {
                let m = refused(
                    create_request(&d, &user, new_request(name, Period::from_hours(1), None), 9, t0()),
                    ErrorKind::NotFound,
                );
                assert_eq!(m, no_app(name).message, "{who} on {name}");
            }
        }
    }

    #[test]
    fn refusals_on_visible_requests_name_nobody_else() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let r = d.request("m", PAT, Period::from_hours(1), None);
        let m = refused(cancel(&app, &d.get(PAUL), r, t0()), ErrorKind::Forbidden);
        assert!(!m.contains(PAT), "the requester is not named: {m}");
    }

    // ---- the policy in force ----

    #[test]
    fn approval_follows_the_maximum_in_force_at_decision_time() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let r = d.request("m", PAT, Period::from_hours(3), None);
        let mut tighter = app.clone();
        tighter.policy.max_duration = Period::from_hours(2);
        let m =
            refused(decide(&d, &tighter, &d.get(APPROVER), r.clone(), true, "ok", t0()), ErrorKind::Conflict);
        assert!(m.contains("3h") && m.contains("2h") && m.contains("deny"), "{m}");
        // Denying it is still possible, and a request within the new maximum is approved.
        assert!(decide(&d, &tighter, &d.get(APPROVER), r.clone(), false, "too long", t0()).is_ok());
        tighter.policy.max_duration = Period::from_hours(3);
        assert!(decide(&d, &tighter, &d.get(APPROVER), r, true, "ok", t0()).is_ok());
    }

    #[test]
    fn a_policy_change_judges_pending_requests_again() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let short = d.request("m", PAT, Period::from_hours(1), Some(t0() + hours(2)));
        let long = d.request("m", PAUL, Period::from_hours(3), None);
        let now = t0() + hours(1);
        let with = |mode, max_hours, approvers: &[&str]| JitPolicy {
            mode,
            max_duration: Period::from_hours(max_hours),
            approvers: approvers.iter().map(|a| a.to_string()).collect(),
            ..app.policy.clone()
        };

        // Automatic: approved by the system, from the asked start.
        let (approved, action) =
            reevaluate(&with(ApprovalMode::AutoApprove, 8, &[]), &short, now).expect("approved");
        assert_eq!((approved.state, action), (RequestState::Approved, Action::RequestApproved));
        let v = approved.decision.clone().unwrap();
        assert_eq!((v.by.as_str(), v.at, v.reason.as_str()), (SYSTEM, now, POLICY_AUTO_REASON));
        assert_eq!(approved.window(), Some((t0() + hours(2), t0() + hours(3))));

        // Over the new maximum, in either mode: denied by the system, with the new maximum.
        for mode in [ApprovalMode::AutoApprove, ApprovalMode::ManualApprove] {
            let (denied, action) = reevaluate(&with(mode, 2, &[APPROVER]), &long, now).expect("denied");
            assert_eq!((denied.state, action), (RequestState::Denied, Action::RequestDenied));
            let v = denied.decision.clone().unwrap();
            assert_eq!((v.by.as_str(), v.at), (SYSTEM, now));
            assert_eq!(v.reason, "policy changed: maximum is now 2h");
            assert_eq!(denied.deadline(), None, "nothing is left waiting");
        }

        // Exactly the new maximum is within it.
        let (at_max, _) = reevaluate(&with(ApprovalMode::AutoApprove, 3, &[]), &long, now).expect("approved");
        assert_eq!(at_max.state, RequestState::Approved);
        assert_eq!(reevaluate(&with(ApprovalMode::ManualApprove, 3, &[APPROVER]), &long, now), None);

        // Still manual with an approver, and within the maximum: it waits as before.
        assert_eq!(reevaluate(&with(ApprovalMode::ManualApprove, 8, &[APPROVER]), &long, now), None);
        // Manual with no approver but the requester: nobody could decide it.
        let (denied, _) =
            reevaluate(&with(ApprovalMode::ManualApprove, 8, &[PAUL]), &long, now).expect("denied");
        assert_eq!(denied.state, RequestState::Denied);
        assert!(denied.decision.unwrap().reason.contains("no approver"));

        // Past its deadline, the ticker times it out; and decided requests are not judged again.
        let auto = with(ApprovalMode::AutoApprove, 8, &[]);
        assert_eq!(reevaluate(&auto, &long, long.decide_by), None);
        assert_eq!(reevaluate(&auto, &approved, now), None);
    }

    #[test]
    fn jit_settings_on_a_deployment_without_jit_are_a_conflict() {
        let d = dir();
        let off = |d: Deployment| Deployment { jit: Some(false), ..d };
        let cases = [
            (
                off(Deployment { mode: Some(ApprovalMode::ManualApprove), ..deployment("a", "jit-offer") }),
                ("the approval mode", Input::ApprovalMode),
            ),
            (
                off(Deployment { max_duration: Some(Period::from_hours(1)), ..deployment("a", "jit-offer") }),
                ("the maximum duration", Input::MaxDuration),
            ),
            (
                off(Deployment { approvers: vec![APPROVER.into()], ..deployment("a", "jit-offer") }),
                ("the approver list", Input::Approvers),
            ),
            (
                off(Deployment {
                    request_timeout: Some(Period::from_hours(1)),
                    ..deployment("a", "jit-offer")
                }),
                ("the request timeout", Input::RequestTimeout),
            ),
            (
                Deployment { mode: Some(ApprovalMode::AutoApprove), ..deployment("a", "plain-offer") },
                ("the approval mode", Input::ApprovalMode),
            ),
        ];
        for (input, (name, about)) in cases {
            let e = deploy(&d, &d.get(ADMIN), input, t0()).expect_err("refused");
            assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
            let m = e.message;
            assert!(m.contains(name) && m.contains("no JIT access"), "{m}");
            // One setting is spoken of in the singular.
            assert!(m.contains(&format!("{name} only applies")) && m.contains("drop it"), "{m}");
            // The message names no door's syntax; the refusal says which input it is about.
            assert!(!m.contains("--"), "{m}");
            assert_eq!(e.about.first(), Some(&about), "{m}");
        }
        let e = deploy(
            &d,
            &d.get(ADMIN),
            off(Deployment {
                mode: Some(ApprovalMode::ManualApprove),
                approvers: vec![APPROVER.into()],
                ..deployment("a", "jit-offer")
            }),
            t0(),
        )
        .expect_err("refused");
        let m = &e.message;
        assert!(
            m.contains("the approval mode, the approver list only apply") && m.contains("drop them"),
            "{m}"
        );
        assert!(m.contains("deploy with JIT access") && !m.contains("--"), "{m}");
        assert_eq!(e.about, [Input::ApprovalMode, Input::Approvers, Input::Jit]);
        // Without them, a deployment without JIT is fine.
        assert!(deploy(&d, &d.get(ADMIN), off(deployment("a", "jit-offer")), t0()).is_ok());
    }

    // ---- access_status ----

    #[test]
    fn publisher_users_have_permanent_access_without_jit() {
        let mut d = dir();
        let app = d.deploy(ADMIN, deployment("plain", "plain-offer"));
        assert_eq!(access_status(&app, &d.get(PAT), [], t0()), AccessStatus::Permanent);
        assert_eq!(access_status(&app, &d.get(PUB_ADMIN), [], t0()), AccessStatus::Permanent);
        for who in [ADMIN, APPROVER, OLGA] {
            assert!(
                matches!(access_status(&app, &d.get(who), [], t0()), AccessStatus::None { .. }),
                "{who} is not in the publisher tenant"
            );
        }
    }

    #[test]
    fn access_is_active_from_its_start_until_just_before_its_end() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let start = t0() + hours(1);
        let r = d.request("m", PAT, Period::from_hours(2), Some(start));
        let a = decide(&d, &app, &d.get(APPROVER), r, true, "ok", t0()).unwrap();
        let end = start + hours(2);
        let pat = d.get(PAT);
        let status = |now| access_status(&app, &pat, [&a], now);
        assert!(matches!(status(t0()), AccessStatus::None { .. }), "before approval's start");
        assert!(matches!(status(start - TimeDelta::seconds(1)), AccessStatus::None { .. }));
        assert_eq!(status(start), AccessStatus::Active { request: a.id, until: end });
        assert_eq!(status(end - TimeDelta::seconds(1)), AccessStatus::Active { request: a.id, until: end });
        assert!(matches!(status(end), AccessStatus::None { .. }));

        // Only the user's own approved requests on this application count.
        assert!(matches!(access_status(&app, &d.get(PAUL), [&a], start), AccessStatus::None { .. }));
        let other = Application { name: "other".into(), ..app.clone() };
        assert!(matches!(access_status(&other, &pat, [&a], start), AccessStatus::None { .. }));
        for state in [RequestState::Pending, RequestState::Revoked, RequestState::Expired] {
            let r = AccessRequest { state, ..a.clone() };
            assert!(matches!(access_status(&app, &pat, [&r], start), AccessStatus::None { .. }), "{state}");
        }
        // Customer users never have JIT access.
        let admin_req = AccessRequest { requester: ADMIN.into(), ..a.clone() };
        assert!(matches!(access_status(&app, &d.get(ADMIN), [&admin_req], start), AccessStatus::None { .. }));
    }

    #[test]
    fn access_reports_the_grant_that_lasts_longest() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let r1 = d.request("m", PAT, Period::from_hours(2), None);
        let a1 = decide(&d, &app, &d.get(APPROVER), r1, true, "ok", t0()).unwrap();
        d.requests[0] = a1.clone();
        let r2 = d.request("m", PAT, Period::from_hours(5), None);
        let a2 = decide(&d, &app, &d.get(APPROVER), r2, true, "ok", t0()).unwrap();
        let now = t0() + hours(1);
        let expected = AccessStatus::Active { request: a2.id, until: t0() + hours(5) };
        assert_eq!(access_status(&app, &d.get(PAT), [&a1, &a2], now), expected);
        assert_eq!(access_status(&app, &d.get(PAT), [&a2, &a1], now), expected);
    }

    #[test]
    fn the_audit_log_names_a_user_by_upn_and_the_operator_by_login() {
        assert_eq!(Actor::User(PAT.into()).label(), PAT);
        assert_eq!(op().label(), "operator:root");
    }

    #[test]
    fn a_policy_is_summed_up_in_one_line_for_the_audit_log() {
        let mut d = dir();
        let plain = d.deploy(ADMIN, deployment("plain", "plain-offer"));
        assert_eq!(describe_policy(&plain.policy), "JIT off (permanent publisher access)");
        let (max, timeout) = (Period::from_hours(2), Period::from_hours(1));
        let auto = d.deploy(
            ADMIN,
            Deployment {
                max_duration: Some(max),
                request_timeout: Some(timeout),
                ..deployment("auto", "jit-offer")
            },
        );
        let expected = format!(
            "AutoApprove, max {}, timeout {}, approvals 1, approvers: none",
            max.iso(),
            timeout.iso()
        );
        assert_eq!(describe_policy(&auto.policy), expected);
        let manual = describe_policy(&d.manual_app("m", &[APPROVER, CAROL]).policy);
        assert!(manual.starts_with("ManualApprove, max "), "{manual}");
        assert!(manual.ends_with(&format!("approvers: {APPROVER}, {CAROL}")), "{manual}");
    }

    #[test]
    fn users_applications_and_roles_are_found_by_their_arm_ids_too() {
        let mut d = dir();
        let app = d.manual_app("m", &[APPROVER]);
        let pat = d.get(PAT);
        assert_eq!(need_user(&d, &pat.object_id.to_uppercase()).unwrap().upn, PAT);
        let nobody = refused(need_user(&d, "00000000-0000-0000-0000-000000000001"), ErrorKind::NotFound);
        assert!(nobody.contains("no user"), "{nobody}");
        assert_eq!(need_app(&d, &app.resource_id).unwrap().name, "m");
        // Another tenant's admin gets the answer for an application that is not there.
        let other = d.get(OTHER_ADMIN);
        refused(need_visible_app(&d, &other, &app.resource_id), ErrorKind::NotFound);
        // A request names the application by resource id and a role by its definition id.
        let input = NewRequest {
            app: app.resource_id.clone(),
            roles: vec!["b24988ac-6180-42a0-ab88-20f7382dd24c".into()],
            ..new_request("m", Period::from_hours(1), None)
        };
        let r = create_request(&d, &pat, input, 1, t0()).unwrap();
        assert_eq!((r.app.as_str(), r.roles.as_slice()), ("m", &["Contributor".to_string()][..]));
        let reader = NewRequest {
            roles: vec![crate::domain::arm_ids::role_definition_id("jit-offer", "Reader")],
            ..new_request("m", Period::from_hours(1), None)
        };
        refused(create_request(&d, &pat, reader, 1, t0()), ErrorKind::NotFound);
        // An approver removed by object id goes by the UPN the policy keeps.
        let approver = d.get(APPROVER).object_id;
        let change = PolicyChange {
            add_approvers: vec![d.get(CAROL).object_id],
            remove_approvers: vec![approver],
            ..PolicyChange::default()
        };
        let policy = change_policy(&d, &d.get(ADMIN), &app, change).unwrap();
        assert_eq!(policy.approvers, [CAROL]);
    }
}
