//! The things jitdesk keeps: the directory, the marketplace, applications and their JIT policy, access
//! requests, the audit log and notifications. Plain data; the rules that change them live in `rules`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantKind {
    Publisher,
    Customer,
}

/// The customer's Entra ID licence; JIT needs P2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum License {
    Free,
    P1,
    P2,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: String,
    pub kind: TenantKind,
    pub name: String,
    /// Only customer tenants carry a licence.
    pub license: Option<License>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Lower-case user principal name; the user's id everywhere.
    pub upn: String,
    pub display_name: String,
    pub tenant: String,
    pub admin: bool,
    /// The OS login that identifies this user when no `--as` is given.
    pub login: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub id: String,
    pub name: String,
    pub publisher_tenant: String,
    pub published_by: String,
    pub jit_available: bool,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalMode {
    AutoApprove,
    ManualApprove,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitPolicy {
    /// Chosen at deployment and never changed afterwards.
    pub enabled: bool,
    pub mode: ApprovalMode,
    pub max_duration: Span,
    /// UPNs of customer-tenant users.
    pub approvers: Vec<String>,
    /// How long a request may wait for a decision before it times out.
    pub request_timeout: Span,
}

impl JitPolicy {
    pub const DEFAULT_MAX_DURATION: Span = Span::from_hours(8);
    pub const DEFAULT_REQUEST_TIMEOUT: Span = Span::from_hours(24);

    pub fn is_approver(&self, upn: &str) -> bool {
        self.approvers.iter().any(|a| a == upn)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub name: String,
    pub offer: String,
    pub customer_tenant: String,
    /// Copied from the offer so that access checks need no second lookup.
    pub publisher_tenant: String,
    pub resource_group: String,
    pub policy: JitPolicy,
    pub deployed_by: String,
    #[serde(with = "super::stamp")]
    pub deployed_at: DateTime<Utc>,
}

/// ARM's `jitRequestState` values, plus `Revoked` for access ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RequestState {
    Pending,
    Approved,
    Denied,
    Canceled,
    Expired,
    Timeout,
    Revoked,
}

impl RequestState {
    pub const ALL: [RequestState; 7] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Denied,
        RequestState::Canceled,
        RequestState::Expired,
        RequestState::Timeout,
        RequestState::Revoked,
    ];

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
    pub by: String,
    #[serde(with = "super::stamp")]
    pub at: DateTime<Utc>,
    pub reason: String,
}

pub const SYSTEM: &str = "system";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessRequest {
    pub id: u64,
    pub app: String,
    pub requester: String,
    pub roles: Vec<String>,
    /// The start the requester asked for.
    #[serde(with = "super::stamp")]
    pub start: DateTime<Utc>,
    pub duration: Span,
    pub justification: String,
    pub ticket: Option<String>,
    #[serde(with = "super::stamp")]
    pub created_at: DateTime<Utc>,
    /// Past this, an undecided request times out.
    #[serde(with = "super::stamp")]
    pub decide_by: DateTime<Utc>,
    pub state: RequestState,
    pub decision: Option<Verdict>,
    /// Access runs from here for `duration`: the requested start, or the approval if that came later,
    /// so the requester always gets the whole duration asked for.
    #[serde(with = "super::stamp::option")]
    pub granted_from: Option<DateTime<Utc>>,
    /// How a request left Pending or Approved other than by a decision (cancel, timeout, expiry, revocation).
    pub closed: Option<Verdict>,
    /// Set once the ticker has announced the start of scheduled access.
    pub started: bool,
}

/// What the ticker waits for next on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeadlineKind {
    Timeout,
    Start,
    End,
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
        let planned = from + self.duration.to_delta();
        let end = match (self.state, &self.closed) {
            (RequestState::Revoked, Some(revoked)) => revoked.at.max(from).min(planned),
            _ => planned,
        };
        Some((from, end))
    }

    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.window().map(|(_, end)| end)
    }

    /// Computed from the stored times alone, so it is right whether or not a ticker has run.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.state == RequestState::Approved
            && self.window().is_some_and(|(from, end)| from <= now && now < end)
    }

    pub fn is_scheduled(&self, now: DateTime<Utc>) -> bool {
        self.state == RequestState::Approved && self.window().is_some_and(|(from, _)| now < from)
    }

    /// The next moment the ticker must look at this request, if any.
    pub fn deadline(&self) -> Option<(DateTime<Utc>, DeadlineKind)> {
        match (self.state, self.window()) {
            (RequestState::Pending, _) => Some((self.decide_by, DeadlineKind::Timeout)),
            (RequestState::Approved, Some((from, _))) if !self.started => Some((from, DeadlineKind::Start)),
            (RequestState::Approved, Some((_, end))) => Some((end, DeadlineKind::End)),
            _ => None,
        }
    }
}

/// What happened, for the audit log and for events.
/// Serialized with the same dotted names people see in tables, so JSON and text agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "tenant.add")]
    TenantAdded,
    #[serde(rename = "user.add")]
    UserAdded,
    #[serde(rename = "offer.publish")]
    OfferPublished,
    #[serde(rename = "app.deploy")]
    AppDeployed,
    #[serde(rename = "app.policy")]
    PolicyChanged,
    #[serde(rename = "request.create")]
    RequestCreated,
    #[serde(rename = "request.approve")]
    RequestApproved,
    #[serde(rename = "request.deny")]
    RequestDenied,
    #[serde(rename = "request.cancel")]
    RequestCanceled,
    #[serde(rename = "request.timeout")]
    RequestTimedOut,
    #[serde(rename = "access.start")]
    AccessStarted,
    #[serde(rename = "access.expire")]
    AccessExpired,
    #[serde(rename = "access.revoke")]
    AccessRevoked,
}

impl Action {
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
        }
    }
}

/// What a change touched; also the key events are filtered by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "camelCase")]
pub enum Target {
    Tenant(String),
    User(String),
    Offer(String),
    App(String),
    Request(u64),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tenant(id) => write!(f, "tenant/{id}"),
            Target::User(upn) => write!(f, "user/{upn}"),
            Target::Offer(id) => write!(f, "offer/{id}"),
            Target::App(name) => write!(f, "app/{name}"),
            Target::Request(id) => write!(f, "request/{id}"),
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
        })
    }
}

/// One line of the append-only audit log, written in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub id: u64,
    #[serde(with = "super::stamp")]
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: Action,
    #[serde(with = "compact_target")]
    pub target: Target,
    /// The application a request belongs to, so screens can filter without a lookup.
    pub app: Option<String>,
    pub reason: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: u64,
    pub to: String,
    #[serde(with = "super::stamp")]
    pub at: DateTime<Utc>,
    pub request: u64,
    pub app: String,
    pub action: Action,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn request(state: RequestState, granted_from: Option<DateTime<Utc>>) -> AccessRequest {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
        AccessRequest {
            id: 1,
            app: "a".into(),
            requester: "p@x.com".into(),
            roles: vec!["Owner".into()],
            start: t0,
            duration: Span::from_hours(2),
            justification: "j".into(),
            ticket: None,
            created_at: t0,
            decide_by: t0 + chrono::TimeDelta::hours(24),
            state,
            decision: Some(Verdict { by: "a@x.com".into(), at: t0, reason: "ok".into() }),
            granted_from,
            closed: None,
            started: false,
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
