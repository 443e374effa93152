//! The things jitdesk keeps: the directory, the marketplace, applications and their JIT policy, access
//! requests, the audit log and notifications. Plain data; the rules that change them live in `rules`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::period::Period;

/// Which side of a managed application a tenant is on: the publisher sells it, the customer runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantKind {
    /// Publishes offers; its users request JIT access to the applications deployed from them.
    Publisher,
    /// Deploys applications from offers; its admins set their JIT policy and its users approve requests.
    Customer,
}

/// The customer's Entra ID licence; JIT needs P2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum License {
    /// No premium licence: no JIT access.
    Free,
    /// Entra ID P1: still no JIT access.
    P1,
    /// Entra ID P2: JIT access is possible. A customer tenant added without a licence gets this one.
    P2,
}

/// A tenant of the directory, publisher or customer; every user belongs to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// Unique, chosen when the tenant is added; what users, offers and applications name it by.
    pub id: String,
    /// Publisher or customer, fixed when the tenant is added.
    pub kind: TenantKind,
    /// For people; the id when none was given.
    pub name: String,
    /// Only customer tenants carry a licence.
    pub license: Option<License>,
}

/// A person of the directory; everything in the workflow is done as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Lower-case user principal name; the user's id everywhere.
    pub upn: String,
    /// For people: the name given, or the part of the UPN before `@`.
    pub display_name: String,
    /// The id of the tenant the user belongs to.
    pub tenant: String,
    /// An admin of its tenant. In a customer tenant this deploys applications, changes their JIT settings
    /// and revokes access; in a publisher tenant it allows nothing more.
    pub admin: bool,
    /// The OS login that identifies this user when no `--as` is given.
    pub login: Option<String>,
    /// The user's object id in the directory, a lower-case GUID: what ARM documents name a
    /// principal by. Given when the user is added, or made from the UPN (`arm_ids::user_guid`).
    pub object_id: String,
}

/// A group of the directory: users of one tenant who approve together. An application's approver
/// may be a group, and then each of its members is notified and may decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Unique in the store, chosen when the group is added; no `@`, so it never reads as a UPN.
    pub id: String,
    /// For people; the id when none was given.
    pub display_name: String,
    /// The id of the tenant whose users may be its members.
    pub tenant: String,
    /// The group's object id in the directory, a lower-case GUID, as ARM's `jitApprovers` name it.
    pub object_id: String,
}

/// A managed application as its publisher offers it; customers deploy applications from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    /// Unique; what a deployment names the offer by.
    pub id: String,
    /// For people.
    pub name: String,
    /// The id of the publisher tenant that published it; its users are the ones who request access.
    pub publisher_tenant: String,
    /// The UPN of the publisher-tenant user who published it.
    pub published_by: String,
    /// Whether applications deployed from it may have JIT access; without it, the publisher has permanent
    /// access.
    pub jit_available: bool,
    /// The roles a request may ask for, as the publisher spells them; never empty (`Owner` unless others
    /// were given).
    pub roles: Vec<String>,
}

/// How the JIT requests of an application are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalMode {
    /// The engine approves every valid request as soon as it is made.
    AutoApprove,
    /// One of the application's approvers approves or denies each request.
    ManualApprove,
}

/// An application's JIT access settings: whether it has JIT access at all, and how requests are decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPolicy {
    /// Chosen at deployment and never changed afterwards.
    pub enabled: bool,
    /// Whether requests are approved automatically or by an approver.
    pub mode: ApprovalMode,
    /// The longest access one request may ask for; never zero.
    pub max_duration: Period,
    /// UPNs of customer-tenant users; with `approver_groups`, who decides (`approvers::approves`).
    pub approvers: Vec<String>,
    /// How long a request may wait for a decision before it times out.
    pub request_timeout: Period,
    /// Ids of customer-tenant groups, each of whose members is an approver.
    pub approver_groups: Vec<String>,
    /// How many different approvers must approve a request (or an extension) before it is
    /// approved; at least 1. One denial denies.
    pub approvals_required: u32,
    /// How many extensions a grant may have beyond the maximum duration; 0: extensions are
    /// allowed only while the grant's whole length stays within the maximum.
    pub max_extensions: u32,
}

impl JitPolicy {
    /// The maximum duration when a deployment gives none.
    pub const DEFAULT_MAX_DURATION: Period = Period::from_hours(8);
    /// The request timeout when a deployment gives none.
    pub const DEFAULT_REQUEST_TIMEOUT: Period = Period::from_hours(24);
    /// How many approvals a request needs when a deployment says nothing, as in the guide: one.
    pub const DEFAULT_APPROVALS_REQUIRED: u32 = 1;
}

/// A managed application a customer tenant deployed from an offer: what publisher users request
/// access to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Unique in the store; what requests, commands and the API name it by.
    pub name: String,
    /// The id of the offer it was deployed from.
    pub offer: String,
    /// The id of the customer tenant that deployed it: its admins manage it, its users approve.
    pub customer_tenant: String,
    /// Copied from the offer so that access checks need no second lookup.
    pub publisher_tenant: String,
    /// The managed resource group the publisher's access is to: `mrg-{name}` unless the deployment named
    /// one.
    pub resource_group: String,
    /// Its JIT settings; whether JIT is on never changes after deployment.
    pub policy: JitPolicy,
    /// The UPN of the customer admin who deployed it.
    pub deployed_by: String,
    /// When it was deployed.
    #[serde(with = "super::stamp")]
    pub deployed_at: DateTime<Utc>,
    /// Its ARM resource id (`/subscriptions/{sub}/resourceGroups/{rg}/providers/
    /// Microsoft.Solutions/applications/{name}`): given at deployment, or made from its tenant and
    /// name (`arm_ids::application_id`).
    pub resource_id: String,
}

/// ARM's `jitRequestState` values, plus `Revoked` for access ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RequestState {
    /// Waiting for a decision until its `decide_by`.
    Pending,
    /// Granted: access is scheduled or running until its window ends.
    Approved,
    /// Refused by an approver, or by the system after a change of policy.
    Denied,
    /// Withdrawn by its requester while pending.
    Canceled,
    /// The access ran its whole duration and ended.
    Expired,
    /// No decision came before its `decide_by`.
    Timeout,
    /// Access taken back before its end by an approver or a customer admin.
    Revoked,
}

impl RequestState {
    /// Every state, in the order of their codes.
    pub const ALL: [RequestState; 7] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Denied,
        RequestState::Canceled,
        RequestState::Expired,
        RequestState::Timeout,
        RequestState::Revoked,
    ];

    /// The state's name as the CLI, the API and the screens show it, in ARM's spelling.
    pub fn name(self) -> &'static str {
        match self {
            RequestState::Pending => "Pending",
            RequestState::Approved => "Approved",
            RequestState::Denied => "Denied",
            RequestState::Canceled => "Canceled",
            RequestState::Expired => "Expired",
            RequestState::Timeout => "Timeout",
            RequestState::Revoked => "Revoked",
        }
    }

    /// Case-insensitive, for command lines and query strings.
    pub fn parse(text: &str) -> Option<RequestState> {
        Self::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(text.trim()))
    }

    /// Whether the request is settled: nothing changes its state again.
    pub fn is_final(self) -> bool {
        !matches!(self, RequestState::Pending | RequestState::Approved)
    }

    /// Stable small number used as the state index key.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl std::fmt::Display for RequestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Who did something and why; used for decisions and for endings (cancel, expiry, revocation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// A UPN, or `system` for the engine itself.
    #[serde(with = "super::known_text")]
    pub by: String,
    /// When it was done.
    #[serde(with = "super::stamp")]
    pub at: DateTime<Utc>,
    /// Why, in the words of whoever did it.
    #[serde(with = "super::known_text")]
    pub reason: String,
}

/// The name the engine acts under in verdicts and the audit log, for what no person did.
pub const SYSTEM: &str = "system";

/// A publisher user's request for JIT access to an application, from its making to its final state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessRequest {
    /// Unique, given by the store in increasing order, so a higher id is a newer request.
    pub id: u64,
    /// The name of the application access is asked to.
    pub app: String,
    /// The UPN of the publisher-tenant user who asked.
    pub requester: String,
    /// The roles asked for, as the offer spells them, each once.
    pub roles: Vec<String>,
    /// The start the requester asked for.
    #[serde(with = "super::stamp")]
    pub start: DateTime<Utc>,
    /// How long access lasts once granted; never zero, and within the policy's maximum when asked.
    pub duration: Period,
    /// Why the requester needs access, in their own words, for approvers to judge.
    pub justification: String,
    /// A reference to a ticket elsewhere (an incident, a change), when the requester gave one.
    pub ticket: Option<String>,
    /// When the request was made.
    #[serde(with = "super::stamp")]
    pub created_at: DateTime<Utc>,
    /// Past this, an undecided request times out.
    #[serde(with = "super::stamp")]
    pub decide_by: DateTime<Utc>,
    /// Where the request is in its life.
    pub state: RequestState,
    /// Who approved or denied it, when and why; None until decided, and for requests that ended undecided.
    pub decision: Option<Verdict>,
    /// Access runs from here for `duration`: the requested start, or the approval if that came later,
    /// so the requester always gets the whole duration asked for.
    #[serde(with = "super::stamp::option")]
    pub granted_from: Option<DateTime<Utc>>,
    /// How a request left Pending or Approved other than by a decision (cancel, timeout, expiry, revocation).
    pub closed: Option<Verdict>,
    /// Set once the ticker has announced the start of scheduled access.
    pub started: bool,
    /// The approvals given so far, in order, while more are needed than it has; an approved
    /// request keeps them, the last being its `decision`.
    pub approvals: Vec<Verdict>,
    /// Every extension its requester asked for once it was approved, in order.
    pub extensions: Vec<Extension>,
    /// The ARM name it was created under through ARM's own API; None for requests made otherwise,
    /// which ARM documents name `jit-{id}` (`arm_ids::request_name`).
    pub arm: Option<ArmName>,
    /// ARM's tags, changed only through ARM's PATCH.
    pub tags: std::collections::BTreeMap<String, String>,
}

/// Where a request made through ARM's API lives in ARM's namespace; unique in the store, whatever
/// the case of its letters, as ARM ids are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmName {
    /// The subscription id from the request's path.
    pub subscription: String,
    /// The resource group from the request's path.
    pub resource_group: String,
    /// The resource's name from the request's path.
    pub name: String,
}

/// Where an extension of a grant is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExtensionState {
    /// Waiting for its approvals until its `decide_by` or the end of the access it extends.
    Pending,
    /// Granted: the access's end moved by `by`.
    Approved,
    /// Refused by an approver.
    Denied,
    /// No decision came in time.
    Lapsed,
}

/// More time asked for on a grant that is approved and has not ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    /// How much longer the access would last; never zero.
    pub by: Period,
    /// Who asked (the requester), when and why.
    pub asked: Verdict,
    /// Past this, an undecided extension lapses.
    #[serde(with = "super::stamp")]
    pub decide_by: DateTime<Utc>,
    /// Where it is in its life.
    pub state: ExtensionState,
    /// The approvals given so far, as for a request.
    pub approvals: Vec<Verdict>,
    /// Who approved, denied or let it lapse, when and why.
    pub decision: Option<Verdict>,
}

/// How long before its end running access is announced as ending soon.
pub const ENDING_SOON: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// What the ticker waits for next on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeadlineKind {
    /// A pending request's `decide_by`: it times out then.
    Timeout,
    /// An approved request's start: its access begins then.
    Start,
    /// A running grant's end: its access expires then.
    End,
    /// A pending extension's `decide_by`, when it comes before the request's other deadline: the
    /// extension lapses then.
    ExtensionLapse,
}

/// The one moment that matters for a request in its state: what screens show next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// Pending: a decision is due by then.
    DecideBy(DateTime<Utc>),
    /// Approved for later: access starts then.
    Starts(DateTime<Utc>),
    /// Approved and active: access ends then.
    Ends(DateTime<Utc>),
    /// Final: when it was decided or ended.
    Settled(DateTime<Utc>),
}

impl Moment {
    /// The word before a countdown to it (`decide in 2h`, `ends in 5m 3s`), the same in every view.
    pub fn verb(&self) -> &'static str {
        match self {
            Moment::DecideBy(_) => "decide",
            Moment::Starts(_) => "starts",
            Moment::Ends(_) => "ends",
            Moment::Settled(_) => "settled",
        }
    }
}

impl AccessRequest {
    /// The moment that matters for the request at `now`; None only for a final request with no verdict.
    pub fn moment(&self, now: DateTime<Utc>) -> Option<Moment> {
        match (self.state, self.window()) {
            (RequestState::Pending, _) => Some(Moment::DecideBy(self.decide_by)),
            (RequestState::Approved, Some((from, _))) if now < from => Some(Moment::Starts(from)),
            (RequestState::Approved, Some((_, end))) => Some(Moment::Ends(end)),
            _ => self.closed.as_ref().or(self.decision.as_ref()).map(|v| Moment::Settled(v.at)),
        }
    }

    /// The window access is granted for, once approved. Access revoked early ends at its revocation,
    /// so every view shows when it really ended; a grant revoked before it started never ran, and its
    /// window is empty.
    pub fn window(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let from = self.granted_from?;
        let planned = from + self.granted().to_delta();
        let end = match (self.state, &self.closed) {
            (RequestState::Revoked, Some(revoked)) => revoked.at.max(from).min(planned),
            _ => planned,
        };
        Some((from, end))
    }

    /// How long access lasts in all: the duration asked for and every approved extension.
    pub fn granted(&self) -> Period {
        self.extensions
            .iter()
            .filter(|e| e.state == ExtensionState::Approved)
            .fold(self.duration, |total, e| total.saturating_add(e.by))
    }

    /// The extension waiting for a decision, with its place among the request's extensions; at
    /// most one waits at a time.
    pub fn pending_extension(&self) -> Option<(usize, &Extension)> {
        self.extensions.iter().enumerate().find(|(_, e)| e.state == ExtensionState::Pending)
    }

    /// When access ends, once approved: the end of `window`.
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.window().map(|(_, end)| end)
    }

    /// Computed from the stored times alone, so it is right whether or not a ticker has run.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.state == RequestState::Approved
            && self.window().is_some_and(|(from, end)| from <= now && now < end)
    }

    /// Whether it is approved and its access has not started yet at `now`.
    pub fn is_scheduled(&self, now: DateTime<Utc>) -> bool {
        self.state == RequestState::Approved && self.window().is_some_and(|(from, _)| now < from)
    }

    /// When the requester is warned that their access ends soon: `ENDING_SOON` before its planned
    /// end, while the grant is approved. None for a grant no longer than `ENDING_SOON`, whose start
    /// notice already says when it ends, and for every request not approved (revoked access is
    /// ended already).
    pub fn ending_warning(&self) -> Option<DateTime<Utc>> {
        if self.state != RequestState::Approved {
            return None;
        }
        let from = self.granted_from?;
        let at = from + self.granted().to_delta() - ENDING_SOON;
        (at > from).then_some(at)
    }

    /// The next moment the ticker must look at this request, if any: a pending extension's lapse
    /// when it comes first, else what the request's state waits for. An extension lapsing with the
    /// access's end is left to the end, which takes it along.
    pub fn deadline(&self) -> Option<(DateTime<Utc>, DeadlineKind)> {
        let next = match (self.state, self.window()) {
            (RequestState::Pending, _) => Some((self.decide_by, DeadlineKind::Timeout)),
            (RequestState::Approved, Some((from, _))) if !self.started => Some((from, DeadlineKind::Start)),
            (RequestState::Approved, Some((_, end))) => Some((end, DeadlineKind::End)),
            _ => None,
        };
        let lapse = self
            .pending_extension()
            .filter(|_| self.state == RequestState::Approved)
            .map(|(_, e)| (e.decide_by, DeadlineKind::ExtensionLapse));
        match (next, lapse) {
            (Some((at, _)), Some((lapse_at, _))) if lapse_at < at => lapse,
            (None, lapse) => lapse,
            (next, _) => next,
        }
    }
}

/// What happened, for the audit log and for events.
/// Serialized with the same dotted names people see in tables, so JSON and text agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// The operator added a tenant.
    #[serde(rename = "tenant.add")]
    TenantAdded,
    /// The operator added a user.
    #[serde(rename = "user.add")]
    UserAdded,
    /// A publisher user published an offer.
    #[serde(rename = "offer.publish")]
    OfferPublished,
    /// A customer admin deployed an application.
    #[serde(rename = "app.deploy")]
    AppDeployed,
    /// A customer admin changed an application's JIT settings.
    #[serde(rename = "app.policy")]
    PolicyChanged,
    /// A publisher user asked for access.
    #[serde(rename = "request.create")]
    RequestCreated,
    /// An approver, or the system (in automatic mode, or after a change of policy), approved a request.
    #[serde(rename = "request.approve")]
    RequestApproved,
    /// An approver, or the system after a change of policy, denied a request.
    #[serde(rename = "request.deny")]
    RequestDenied,
    /// The requester withdrew a pending request.
    #[serde(rename = "request.cancel")]
    RequestCanceled,
    /// A pending request got no decision in time.
    #[serde(rename = "request.timeout")]
    RequestTimedOut,
    /// A scheduled grant's access began.
    #[serde(rename = "access.start")]
    AccessStarted,
    /// A grant's access ran its whole duration.
    #[serde(rename = "access.expire")]
    AccessExpired,
    /// An approver or a customer admin ended access early.
    #[serde(rename = "access.revoke")]
    AccessRevoked,
    /// A user or the operator added an SSH key to a user.
    #[serde(rename = "user.key.add")]
    UserKeyAdded,
    /// A user or the operator removed a user's SSH key.
    #[serde(rename = "user.key.remove")]
    UserKeyRemoved,
    /// A tenant admin or the operator made a tenant trust an SSH certificate authority.
    #[serde(rename = "tenant.ca.add")]
    TenantCaAdded,
    /// A tenant admin or the operator took a tenant's trust from an SSH certificate authority.
    #[serde(rename = "tenant.ca.remove")]
    TenantCaRemoved,
    /// A user or the operator made an API token.
    #[serde(rename = "token.create")]
    TokenCreated,
    /// A user or the operator revoked an API token.
    #[serde(rename = "token.revoke")]
    TokenRevoked,
    /// A tenant admin or the operator added a channel that carries the tenant's notices.
    #[serde(rename = "tenant.channel.add")]
    ChannelAdded,
    /// A tenant admin or the operator removed one of the tenant's channels.
    #[serde(rename = "tenant.channel.remove")]
    ChannelRemoved,
    /// A user, their tenant's admin or the operator changed how the user is reached.
    #[serde(rename = "user.contact")]
    ContactChanged,
    /// The outbox gave up on sending a notice over a channel.
    #[serde(rename = "delivery.fail")]
    DeliveryFailed,
    /// A running grant's access ends within `ENDING_SOON`; its requester is warned.
    #[serde(rename = "access.ending")]
    AccessEndingSoon,
    /// The requester of approved access asked for more time.
    #[serde(rename = "request.extend")]
    ExtensionAsked,
    /// An approver, or the system in automatic mode, granted an extension.
    #[serde(rename = "extension.approve")]
    ExtensionApproved,
    /// An approver denied an extension.
    #[serde(rename = "extension.deny")]
    ExtensionDenied,
    /// An extension got no decision before its deadline or the end of the access it extends.
    #[serde(rename = "extension.lapse")]
    ExtensionLapsed,
    /// One approver approved a request that needs more approvals than it has so far.
    #[serde(rename = "request.approval")]
    ApprovalGiven,
    /// A tenant admin or the operator added a directory group.
    #[serde(rename = "group.add")]
    GroupAdded,
    /// A tenant admin or the operator added a user to a group.
    #[serde(rename = "group.member.add")]
    GroupMemberAdded,
    /// A tenant admin or the operator removed a user from a group.
    #[serde(rename = "group.member.remove")]
    GroupMemberRemoved,
    /// The operator changed a customer tenant's licence.
    #[serde(rename = "tenant.licence")]
    LicenseChanged,
    /// A request's tags were changed (ARM's PATCH). New variants go last: the store's compact
    /// encoding numbers the variants in this order.
    #[serde(rename = "request.tag")]
    RequestTagged,
}

impl Action {
    /// The dotted name people see (`request.approve`), the same as its JSON form.
    pub fn name(self) -> &'static str {
        match self {
            Action::TenantAdded => "tenant.add",
            Action::UserAdded => "user.add",
            Action::OfferPublished => "offer.publish",
            Action::AppDeployed => "app.deploy",
            Action::PolicyChanged => "app.policy",
            Action::RequestCreated => "request.create",
            Action::RequestApproved => "request.approve",
            Action::RequestDenied => "request.deny",
            Action::RequestCanceled => "request.cancel",
            Action::RequestTimedOut => "request.timeout",
            Action::AccessStarted => "access.start",
            Action::AccessExpired => "access.expire",
            Action::AccessRevoked => "access.revoke",
            Action::UserKeyAdded => "user.key.add",
            Action::UserKeyRemoved => "user.key.remove",
            Action::TenantCaAdded => "tenant.ca.add",
            Action::TenantCaRemoved => "tenant.ca.remove",
            Action::TokenCreated => "token.create",
            Action::TokenRevoked => "token.revoke",
            Action::ChannelAdded => "tenant.channel.add",
            Action::ChannelRemoved => "tenant.channel.remove",
            Action::ContactChanged => "user.contact",
            Action::DeliveryFailed => "delivery.fail",
            Action::AccessEndingSoon => "access.ending",
            Action::ExtensionAsked => "request.extend",
            Action::ExtensionApproved => "extension.approve",
            Action::ExtensionDenied => "extension.deny",
            Action::ExtensionLapsed => "extension.lapse",
            Action::ApprovalGiven => "request.approval",
            Action::GroupAdded => "group.add",
            Action::GroupMemberAdded => "group.member.add",
            Action::GroupMemberRemoved => "group.member.remove",
            Action::LicenseChanged => "tenant.licence",
            Action::RequestTagged => "request.tag",
        }
    }
}

/// What a change touched; also the key events are filtered by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "camelCase")]
pub enum Target {
    /// A tenant, by id.
    Tenant(String),
    /// A user, by UPN.
    User(String),
    /// An offer, by id.
    Offer(String),
    /// An application, by name.
    App(String),
    /// A request, by id.
    Request(u64),
    /// An API token, by its public id.
    Token(String),
    /// A directory group, by id. New variants go last, as `compact_target` numbers them.
    Group(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tenant(id) => write!(f, "tenant/{id}"),
            Target::User(upn) => write!(f, "user/{upn}"),
            Target::Offer(id) => write!(f, "offer/{id}"),
            Target::App(name) => write!(f, "app/{name}"),
            Target::Request(id) => write!(f, "request/{id}"),
            Target::Token(id) => write!(f, "token/{id}"),
            Target::Group(id) => write!(f, "group/{id}"),
        }
    }
}

/// `Target` in compact binary encodings (the store's), which have no field names to tag it with:
/// by its variant's number. JSON keeps the tagged form people read.
mod compact_target {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Target;

    /// `Target`'s variants in `Target`'s order, each by the number a compact encoding gives it.
    #[derive(Serialize, Deserialize)]
    enum Numbered {
        Tenant(String),
        User(String),
        Offer(String),
        App(String),
        Request(u64),
        Token(String),
        Group(String),
    }

    pub fn serialize<S: Serializer>(target: &Target, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            return target.serialize(serializer);
        }
        match target.clone() {
            Target::Tenant(id) => Numbered::Tenant(id),
            Target::User(upn) => Numbered::User(upn),
            Target::Offer(id) => Numbered::Offer(id),
            Target::App(name) => Numbered::App(name),
            Target::Request(id) => Numbered::Request(id),
            Target::Token(id) => Numbered::Token(id),
            Target::Group(id) => Numbered::Group(id),
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Target, D::Error> {
        if deserializer.is_human_readable() {
            return Target::deserialize(deserializer);
        }
        Ok(match Numbered::deserialize(deserializer)? {
            Numbered::Tenant(id) => Target::Tenant(id),
            Numbered::User(upn) => Target::User(upn),
            Numbered::Offer(id) => Target::Offer(id),
            Numbered::App(name) => Target::App(name),
            Numbered::Request(id) => Target::Request(id),
            Numbered::Token(id) => Target::Token(id),
            Numbered::Group(id) => Target::Group(id),
        })
    }
}

/// One line of the append-only audit log, written in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// Its place in the log: unique and increasing. The notifications of its change share it.
    pub id: u64,
    /// When the change was made.
    #[serde(with = "super::stamp")]
    pub at: DateTime<Utc>,
    /// Who made it: a UPN, `operator:{login}`, or `system`.
    #[serde(with = "super::known_text")]
    pub actor: String,
    /// What was done.
    pub action: Action,
    /// What it was done to.
    #[serde(with = "compact_target")]
    pub target: Target,
    /// The application a request belongs to, so screens can filter without a lookup.
    pub app: Option<String>,
    /// The reason given with a decision or an ending, if any.
    #[serde(default, with = "super::known_text::option")]
    pub reason: Option<String>,
    /// What the target was before: a request's state, or a one-line summary of an application's policy.
    /// None for changes that create something.
    #[serde(default, with = "super::known_text::option")]
    pub before: Option<String>,
    /// What the target is after: a request's new state, or a one-line summary of an application's policy.
    /// None for tenants, users and offers.
    #[serde(default, with = "super::known_text::option")]
    pub after: Option<String>,
}

/// A message to one user about a change to a request they decide or made, or to an application
/// they approve or have open requests on; each user reads only their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// The id of the audit record of the change it tells of, which every recipient's copy shares.
    pub id: u64,
    /// The UPN of the user it is for.
    pub to: String,
    /// When the change happened.
    #[serde(with = "super::stamp")]
    pub at: DateTime<Utc>,
    /// The id of the request it is about; None for a change to the application itself (its JIT
    /// settings), which names no request.
    pub request: Option<u64>,
    /// The name of the application the change was made to, or the request's.
    pub app: String,
    /// What happened.
    pub action: Action,
    /// One sentence for its recipient saying what happened.
    pub message: String,
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::TimeZone;

    use super::*;

    /// A request on application `a` by `p@x.com`, decided by `a@x.com`, for tests of what is made of
    /// a request.
    pub(crate) fn request(state: RequestState, granted_from: Option<DateTime<Utc>>) -> AccessRequest {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
        AccessRequest {
            id: 1,
            app: "a".into(),
            requester: "p@x.com".into(),
            roles: vec!["Owner".into()],
            start: t0,
            duration: Period::from_hours(2),
            justification: "j".into(),
            ticket: None,
            created_at: t0,
            decide_by: t0 + chrono::TimeDelta::hours(24),
            state,
            decision: Some(Verdict { by: "a@x.com".into(), at: t0, reason: "ok".into() }),
            granted_from,
            closed: None,
            started: false,
            approvals: Vec::new(),
            extensions: Vec::new(),
            arm: None,
            tags: Default::default(),
        }
    }

    #[test]
    fn the_moment_that_matters_follows_the_state_and_the_clock() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
        let hour = chrono::TimeDelta::hours(1);
        let pending = AccessRequest { decision: None, ..request(RequestState::Pending, None) };
        assert_eq!(pending.moment(t0), Some(Moment::DecideBy(t0 + hour * 24)));
        let scheduled = request(RequestState::Approved, Some(t0 + hour));
        assert_eq!(scheduled.moment(t0), Some(Moment::Starts(t0 + hour)));
        assert_eq!(scheduled.moment(t0 + hour), Some(Moment::Ends(t0 + hour * 3)));
        let denied = request(RequestState::Denied, None);
        assert_eq!(denied.moment(t0 + hour), Some(Moment::Settled(t0)));
    }

    #[test]
    fn revoked_access_ends_when_it_was_revoked() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
        let minute = chrono::TimeDelta::minutes(1);
        let revoked_at = |from: DateTime<Utc>, at: DateTime<Utc>| AccessRequest {
            closed: Some(Verdict { by: "a@x.com".into(), at, reason: "done".into() }),
            ..request(RequestState::Revoked, Some(from))
        };
        // Two hours granted from t0, revoked after 30 minutes: it ended then, not at 12:00.
        let early = revoked_at(t0, t0 + minute * 30);
        assert_eq!(early.window(), Some((t0, t0 + minute * 30)));
        assert_eq!(early.end(), Some(t0 + minute * 30));
        // Revoked before its scheduled start: it never ran.
        let unstarted = revoked_at(t0 + minute * 60, t0);
        assert_eq!(unstarted.window(), Some((t0 + minute * 60, t0 + minute * 60)));
        // Expired access ran its whole window.
        let expired = AccessRequest {
            closed: Some(Verdict { by: SYSTEM.into(), at: t0 + minute * 120, reason: "over".into() }),
            ..request(RequestState::Expired, Some(t0))
        };
        assert_eq!(expired.end(), Some(t0 + minute * 120));
    }
}
