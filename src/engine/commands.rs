//! Every change the engine makes. A command first asks the rules (which check everything and write
//! nothing), then writes the result with its audit record and notifications in the same transaction.

use super::Result;
use super::extensions;
use super::groups::approvers_to_tell;
use super::writer::{AuditEntry, Writer};
use crate::domain::extension;
use crate::domain::rules::{self, Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser, PolicyChange};
use crate::domain::*;

/// A change the store thread applies in one write transaction, through `Engine::run`.
pub trait Command: Send + 'static {
    /// What the caller gets back once the change is durable.
    type Output: Send + 'static;
    /// Asks the rules as `actor`, then writes the result, its audit record and its notifications;
    /// an error leaves the transaction to be dropped, so nothing of it is written.
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<Self::Output>;
}

impl Command for NewTenant {
    type Output = Tenant;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<Tenant> {
        let tenant = rules::add_tenant(&*w.tables, actor, self)?;
        w.tables.put_tenant(&tenant)?;
        w.record(AuditEntry::new(&actor.label(), Action::TenantAdded, Target::Tenant(tenant.id.clone())))?;
        Ok(tenant)
    }
}

impl Command for NewUser {
    type Output = User;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<User> {
        let user = rules::add_user(&*w.tables, actor, self)?;
        w.tables.put_user(&user)?;
        w.record(AuditEntry::new(&actor.label(), Action::UserAdded, Target::User(user.upn.clone())))?;
        Ok(user)
    }
}

impl Command for NewOffer {
    type Output = Offer;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<Offer> {
        let by = rules::resolve(&*w.tables, actor)?;
        let offer = rules::publish_offer(&*w.tables, &by, self)?;
        w.tables.put_offer(&offer)?;
        w.record(AuditEntry::new(&by.upn, Action::OfferPublished, Target::Offer(offer.id.clone())))?;
        Ok(offer)
    }
}

impl Command for Deployment {
    type Output = Application;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<Application> {
        let by = rules::resolve(&*w.tables, actor)?;
        let app = rules::deploy(&*w.tables, &by, self, w.now)?;
        w.tables.put_app(&app)?;
        w.record(AuditEntry {
            app: Some(&app.name),
            after: Some(rules::describe_policy(&app.policy)),
            ..AuditEntry::new(&by.upn, Action::AppDeployed, Target::App(app.name.clone()))
        })?;
        Ok(app)
    }
}

/// Changes an application's JIT settings, and judges its pending requests again by the new ones.
#[derive(Debug, Clone)]
pub struct SetPolicy {
    /// The application's name.
    pub app: String,
    /// The settings to change; those it leaves out stay as they are.
    pub change: PolicyChange,
}

impl Command for SetPolicy {
    type Output = Application;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<Application> {
        let by = rules::resolve(&*w.tables, actor)?;
        // Refused as the caller named it, so that another tenant's application, found by its
        // resource id, answers exactly as one that does not exist.
        let app = rules::need_visible_app(&*w.tables, &by, &self.app)?;
        let policy = rules::change_policy(&*w.tables, &by, &app, self.change)?;
        if policy == app.policy {
            return Ok(app);
        }
        let before = rules::describe_policy(&app.policy);
        let old = app.policy.clone();
        let app = Application { policy, ..app };
        w.tables.put_app(&app)?;
        w.record(AuditEntry {
            app: Some(&app.name),
            before: Some(before),
            after: Some(rules::describe_policy(&app.policy)),
            ..AuditEntry::new(&by.upn, Action::PolicyChanged, Target::App(app.name.clone()))
        })?;
        let open_in = |state| RequestFilter {
            state: Some(state),
            app: Some(app.name.clone()),
            ..RequestFilter::default()
        };
        let pending = w.tables.requests_in(&open_in(RequestState::Pending), None)?.items;
        let approved = w.tables.requests_in(&open_in(RequestState::Approved), None)?.items;
        let open = pending.iter().chain(&approved);
        let mut told = notice::told_of_policy_change(&by.upn, &old, &app.policy, open);
        // The members of approver groups, before and after, as the approvers named directly are.
        for policy in [&old, &app.policy] {
            for upn in approvers_to_tell(&*w.tables, policy, &[&by.upn])? {
                if !told.contains(&upn) {
                    told.push(upn);
                }
            }
        }
        w.notify(&told)?;
        // Below P2 nothing is approved, by the system neither: those requests and extensions
        // stay pending.
        let approves = super::tenants::need_p2_on(&*w.tables, &app, "approving JIT access").is_ok();
        for request in pending {
            if let Some((next, action)) = rules::reevaluate(&app.policy, &request, w.now)
                && (approves || next.state != RequestState::Approved)
            {
                save_transition(w, &request, &next, action)?;
            }
        }
        for grant in approved {
            if let Some((next, action)) = extension::reevaluate(&app, &grant, w.now)
                && (approves || action != Action::ExtensionApproved)
            {
                let requester = std::slice::from_ref(&next.requester);
                extensions::save_extension(w, &grant, &next, action, requester)?;
            }
        }
        Ok(app)
    }
}

impl Command for NewRequest {
    type Output = AccessRequest;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<AccessRequest> {
        let by = rules::resolve(&*w.tables, actor)?;
        create_request(w, &by, self, |_| {})
    }
}

/// Makes a request as `by` by the rules, and `place` gives it what the door that made it adds
/// (ARM's name and tags), before it is saved, approved at once where that is the mode.
pub(super) fn create_request(
    w: &mut Writer<'_, '_>,
    by: &User,
    input: NewRequest,
    place: impl FnOnce(&mut AccessRequest),
) -> Result<AccessRequest> {
    let id = w.tables.next_request_id()?;
    let mut request = rules::create_request(&*w.tables, by, input, id, w.now)?;
    place(&mut request);
    w.limits.check(&*w.tables, by, w.now)?;
    let app = w.app_of(&request)?;
    w.tables.save_request(None, &request)?;
    w.record(AuditEntry::of_request(&by.upn, Action::RequestCreated, None, &request))?;
    w.notify(&approvers_to_tell(&*w.tables, &app.policy, &[&by.upn])?)?;
    let auto = app.policy.mode == ApprovalMode::AutoApprove;
    if !auto {
        return Ok(request);
    }
    let approved = rules::approve_automatically(request.clone(), w.now);
    save_transition(w, &request, &approved, Action::RequestApproved)?;
    Ok(approved)
}

/// Stores a request's new state with its audit record, and tells the requester; an extension
/// that lapses, alone or with the access's end, gets its own record.
fn save_transition(
    w: &mut Writer<'_, '_>,
    old: &AccessRequest,
    new: &AccessRequest,
    action: Action,
) -> Result<()> {
    let requester = std::slice::from_ref(&new.requester);
    if action == Action::ExtensionLapsed {
        return extensions::save_extension(w, old, new, action, requester);
    }
    w.tables.save_request(Some(old), new)?;
    let verdict = new.closed.as_ref().or(new.decision.as_ref()).filter(|_| old.state != new.state);
    let actor = verdict.map_or(SYSTEM, |v| v.by.as_str());
    let reason = verdict.map(|v| v.reason.as_str());
    w.record(AuditEntry { reason, ..AuditEntry::of_request(actor, action, Some(old), new) })?;
    w.notify(requester)?;
    extensions::lapsed_with_end(w, old, new)
}

/// An approver's decision on a pending request.
#[derive(Debug, Clone)]
pub struct Decide {
    /// The request's id.
    pub id: u64,
    /// True to approve, false to deny.
    pub approve: bool,
    /// Why, kept in the request's verdict and its audit record; the rules require one.
    pub reason: String,
}

impl Command for Decide {
    type Output = AccessRequest;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<AccessRequest> {
        let by = rules::resolve(&*w.tables, actor)?;
        let request = w.tables.need_request(self.id)?;
        let app = w.app_of(&request)?;
        let decided =
            rules::decide(&*w.tables, &app, &by, request.clone(), self.approve, &self.reason, w.now)?;
        if self.approve {
            super::tenants::need_p2_on(&*w.tables, &app, "approving JIT access")?;
        }
        if let Some(progress) = rules::approval_progress(&decided, &app.policy) {
            save_approval(w, &app, &request, &decided, progress)?;
            return Ok(decided);
        }
        let action = if self.approve { Action::RequestApproved } else { Action::RequestDenied };
        save_transition(w, &request, &decided, action)?;
        Ok(decided)
    }
}

/// Stores an approval that leaves the request waiting for more, with its audit record (its
/// reason, and how far the approvals are), and tells the requester and the approvers who have
/// yet to approve.
fn save_approval(
    w: &mut Writer<'_, '_>,
    app: &Application,
    old: &AccessRequest,
    new: &AccessRequest,
    progress: String,
) -> Result<()> {
    w.tables.save_request(Some(old), new)?;
    let Some(given) = new.approvals.last() else { return Ok(()) };
    w.record(AuditEntry {
        reason: Some(&given.reason),
        after: Some(progress),
        ..AuditEntry::of_request(&given.by, Action::ApprovalGiven, Some(old), new)
    })?;
    let approved: Vec<&str> = new.approvals.iter().map(|v| v.by.as_str()).collect();
    let mut told = vec![new.requester.clone()];
    told.extend(approvers_to_tell(&*w.tables, &app.policy, &approved)?);
    w.notify(&told)
}

/// The requester withdraws a pending request.
#[derive(Debug, Clone)]
pub struct Cancel {
    /// The request's id.
    pub id: u64,
}

impl Command for Cancel {
    type Output = AccessRequest;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<AccessRequest> {
        let by = rules::resolve(&*w.tables, actor)?;
        let request = w.tables.need_request(self.id)?;
        let app = w.app_of(&request)?;
        let canceled = rules::cancel(&app, &by, request.clone(), w.now)?;
        w.tables.save_request(Some(&request), &canceled)?;
        w.record(AuditEntry::of_request(&by.upn, Action::RequestCanceled, Some(&request), &canceled))?;
        w.notify(&approvers_to_tell(&*w.tables, &app.policy, &[&by.upn])?)?;
        Ok(canceled)
    }
}

/// Ends active or scheduled access early.
#[derive(Debug, Clone)]
pub struct Revoke {
    /// The id of the request that granted the access.
    pub id: u64,
    /// Why, kept with the request and its audit record and sent to the requester.
    pub reason: String,
}

impl Command for Revoke {
    type Output = AccessRequest;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<AccessRequest> {
        let by = rules::resolve(&*w.tables, actor)?;
        let request = w.tables.need_request(self.id)?;
        let app = w.app_of(&request)?;
        let revoked = rules::revoke(&*w.tables, &app, &by, request.clone(), &self.reason, w.now)?;
        save_transition(w, &request, &revoked, Action::AccessRevoked)?;
        Ok(revoked)
    }
}

/// Marks the actor's notifications up to an id as seen. Bookkeeping, not a change to access, so
/// it leaves no audit record.
#[derive(Debug, Clone)]
pub struct MarkSeen {
    /// The newest notification read; a mark past the actor's newest stops at it, and a mark below
    /// the current one changes nothing.
    pub upto: u64,
}

impl Command for MarkSeen {
    type Output = ();
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<()> {
        let by = rules::resolve(&*w.tables, actor)?;
        // A mark past the newest notification would hide the ones still to come.
        let newest = w.tables.notifications_of(&by.upn, &Paging::first(1))?.items.first().map_or(0, |n| n.id);
        let upto = self.upto.min(newest);
        if upto > w.tables.seen_upto(&by.upn)? {
            w.tables.set_seen_upto(&by.upn, upto)?;
        }
        Ok(())
    }
}

/// Moves every request whose deadline has come: timeouts, starts of scheduled access, expiries.
/// Repeats until nothing is due, because one step can uncover another (a start long past is
/// followed by its end). Then warns the requesters whose access ends soon.
pub fn advance_due(w: &mut Writer<'_, '_>) -> Result<usize> {
    let mut moved = 0;
    loop {
        let before = moved;
        for request in w.tables.due(w.now)? {
            if let Some((next, action)) = rules::advance(&request, w.now) {
                save_transition(w, &request, &next, action)?;
                moved += 1;
            }
        }
        if moved == before {
            break;
        }
    }
    warn_ending(w)?;
    Ok(moved)
}

/// Tells each requester whose access ends within `ENDING_SOON`, once per grant. Runs after every
/// due start and end is applied, so a ticker that was down past a grant's end gives only the
/// expiry, and one down past a start gives the start before the warning.
fn warn_ending(w: &mut Writer<'_, '_>) -> Result<()> {
    for id in w.tables.warnings_due(w.now)? {
        let request = w.tables.need_request(id)?;
        w.tables.warned(&request)?;
        if !request.is_active(w.now) {
            continue;
        }
        w.record(AuditEntry::of_request(SYSTEM, Action::AccessEndingSoon, Some(&request), &request))?;
        w.notify(std::slice::from_ref(&request.requester))?;
    }
    Ok(())
}

/// Several commands, each with its own actor, in one transaction and each judged on its own: for bulk loads.
pub struct Batch<C>(pub Vec<(Actor, C)>);

impl<C: Command> Command for Batch<C>
where
    C::Output: Send,
{
    type Output = Vec<Result<C::Output>>;
    fn apply(self, _: &Actor, w: &mut Writer<'_, '_>) -> Result<Self::Output> {
        let mut out = Vec::with_capacity(self.0.len());
        for (actor, command) in self.0 {
            match command.apply(&actor, w) {
                Err(e) if e.kind().is_none() => return Err(e),
                result => out.push(result),
            }
        }
        Ok(out)
    }
}
