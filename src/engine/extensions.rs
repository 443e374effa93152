//! The commands that extend a grant and decide an extension, and the record of an extension's
//! every move. Kept apart from the commands of requests: an extension changes an approved request
//! without changing its state, so its audit records name the extension (`extension::describe`)
//! rather than the request's state, and its notices go to whoever the extension concerns.

use super::groups::approvers_to_tell;
use super::writer::{AuditEntry, Writer};
use super::{Command, Result};
use crate::domain::extension;
use crate::domain::rules::{self, Actor};
use crate::domain::*;

/// The requester asks for more time on approved access that has not ended.
#[derive(Debug, Clone)]
pub struct Extend {
    /// The id of the request that granted the access.
    pub id: u64,
    /// How much longer the access should last.
    pub by: Period,
    /// Why, for the approvers and the audit log.
    pub reason: String,
}

impl Command for Extend {
    type Output = AccessRequest;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<AccessRequest> {
        let by = rules::resolve(&*w.tables, actor)?;
        let request = w.tables.need_request(self.id)?;
        let app = w.app_of(&request)?;
        let asked = extension::extend(&app, &by, request.clone(), self.by, &self.reason, w.now)?;
        super::tenants::need_p2_on(&*w.tables, &app, "extending JIT access")?;
        let approvers = approvers_to_tell(&*w.tables, &app.policy, &[&by.upn])?;
        save_extension(w, &request, &asked, Action::ExtensionAsked, &approvers)?;
        if !extension::is_automatic(&app) {
            return Ok(asked);
        }
        let approved = extension::approve_automatically(asked.clone(), w.now);
        save_extension(
            w,
            &asked,
            &approved,
            Action::ExtensionApproved,
            std::slice::from_ref(&approved.requester),
        )?;
        Ok(approved)
    }
}

/// An approver's decision on the extension a grant's requester asked for.
#[derive(Debug, Clone)]
pub struct DecideExtension {
    /// The id of the request whose extension is decided.
    pub id: u64,
    /// True to approve, false to deny.
    pub approve: bool,
    /// Why, kept in the extension's verdict and its audit record; the rules require one.
    pub reason: String,
}

impl Command for DecideExtension {
    type Output = AccessRequest;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<AccessRequest> {
        let by = rules::resolve(&*w.tables, actor)?;
        let request = w.tables.need_request(self.id)?;
        let app = w.app_of(&request)?;
        let (decided, action) =
            extension::decide(&*w.tables, &app, &by, request.clone(), self.approve, &self.reason, w.now)?;
        if self.approve {
            super::tenants::need_p2_on(&*w.tables, &app, "approving an extension of JIT access")?;
        }
        // An approval that still waits for others tells nobody yet: the requester hears the outcome.
        let told = if action == Action::ApprovalGiven { Vec::new() } else { vec![decided.requester.clone()] };
        save_extension(w, &request, &decided, action, &told)?;
        Ok(decided)
    }
}

/// Stores a request whose extension moved from `old` to `new`, with the audit record of that
/// move (`action`, by whoever decided it last, with their reason), and tells `to`.
pub(super) fn save_extension(
    w: &mut Writer<'_, '_>,
    old: &AccessRequest,
    new: &AccessRequest,
    action: Action,
    to: &[String],
) -> Result<()> {
    w.tables.save_request(Some(old), new)?;
    record_extension(w, old, new, action, to)
}

/// The audit record and notices of an extension's move, for a request already stored.
fn record_extension(
    w: &mut Writer<'_, '_>,
    old: &AccessRequest,
    new: &AccessRequest,
    action: Action,
    to: &[String],
) -> Result<()> {
    // The extension that moved: the one pending before, or the one just asked for.
    let index = old.pending_extension().map_or(new.extensions.len().saturating_sub(1), |(i, _)| i);
    let Some(moved) = new.extensions.get(index) else { return Ok(()) };
    let verdict = match action {
        Action::ExtensionAsked => Some(&moved.asked),
        Action::ApprovalGiven => moved.approvals.last(),
        _ => moved.decision.as_ref(),
    };
    let actor = verdict.map_or(SYSTEM, |v| v.by.as_str());
    w.record(AuditEntry {
        app: Some(&new.app),
        reason: verdict.map(|v| v.reason.as_str()),
        before: old.extensions.get(index).map(|e| extension::describe(index, e)),
        after: Some(extension::describe(index, moved)),
        ..AuditEntry::new(actor, action, Target::Request(new.id))
    })?;
    w.notify(to)
}

/// When a request's access ended (expiry, revocation) with an extension pending, that extension
/// lapsed with it: its own record follows the ending's, and its requester is told.
pub(super) fn lapsed_with_end(
    w: &mut Writer<'_, '_>,
    old: &AccessRequest,
    new: &AccessRequest,
) -> Result<()> {
    let Some((index, _)) = old.pending_extension() else { return Ok(()) };
    if new.extensions.get(index).is_none_or(|e| e.state != ExtensionState::Lapsed) {
        return Ok(());
    }
    record_extension(w, old, new, Action::ExtensionLapsed, std::slice::from_ref(&new.requester))
}
