//! What a command sees inside the write transaction: the tables, the batch's clock reading, and the
//! audit and notification helpers that make every change leave its record in the same commit.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::Result;
use super::event::Committed;
use super::limits::Limits;
use super::queuing;
use super::storage::Writes;
use crate::domain::*;

pub struct Writer<'a, 't> {
    pub tables: &'a mut (dyn Writes + 't),
    pub now: DateTime<Utc>,
    /// What one requester may ask for; none unless the engine was given limits.
    pub limits: Limits,
    events: &'a mut Vec<Committed>,
    /// The (audit record, channel) pairs this transaction has queued a delivery for.
    queued: HashSet<(u64, u64)>,
}

/// The parts of an audit record a command chooses; id, time and event are filled in here.
pub struct AuditEntry<'s> {
    pub actor: &'s str,
    pub action: Action,
    pub target: Target,
    pub app: Option<&'s str>,
    pub reason: Option<&'s str>,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl<'s> AuditEntry<'s> {
    pub fn new(actor: &'s str, action: Action, target: Target) -> Self {
        AuditEntry { actor, action, target, app: None, reason: None, before: None, after: None }
    }

    /// A request's move from one state to another.
    pub fn of_request(
        actor: &'s str,
        action: Action,
        old: Option<&AccessRequest>,
        new: &'s AccessRequest,
    ) -> Self {
        AuditEntry {
            app: Some(&new.app),
            before: old.map(|r| r.state.to_string()),
            after: Some(new.state.to_string()),
            ..AuditEntry::new(actor, action, Target::Request(new.id))
        }
    }

    pub fn reason(self, reason: &'s str) -> Self {
        AuditEntry { reason: Some(reason), ..self }
    }
}

impl<'a, 't> Writer<'a, 't> {
    pub fn new(
        tables: &'a mut (dyn Writes + 't),
        now: DateTime<Utc>,
        events: &'a mut Vec<Committed>,
    ) -> Self {
        Writer { tables, now, limits: Limits::NONE, events, queued: HashSet::new() }
    }

    pub fn record(&mut self, change: AuditEntry<'_>) -> Result<u64> {
        let record = AuditRecord {
            id: self.tables.next_audit_id()?,
            at: self.now,
            actor: change.actor.to_string(),
            action: change.action,
            target: change.target,
            app: change.app.map(str::to_string),
            reason: change.reason.map(str::to_string),
            before: change.before,
            after: change.after,
        };
        self.tables.append_audit(&record)?;
        let id = record.id;
        self.events.push(Committed { record, notified: Vec::new() });
        Ok(id)
    }

    /// Notifies users about the change just recorded (a request's, or an application's JIT
    /// settings); what they read is worded from its audit record (`Notification::of`). The
    /// deliveries it owes them are queued here too.
    pub fn notify(&mut self, to: &[String]) -> Result<()> {
        let Some(event) = self.events.last_mut() else { return Ok(()) };
        for upn in to {
            self.tables.add_notification(upn, event.record.id)?;
            event.notified.push(upn.clone());
        }
        queuing::queue(self.tables, &event.record, to, self.now, &mut self.queued)
    }

    pub fn app_of(&self, request: &AccessRequest) -> Result<Application> {
        rules::need_app(&*self.tables, &request.app)
    }
}
