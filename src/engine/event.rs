//! What subscribers hear after each commit: the audit record of every change, in commit order, with
//! the users it notified.

use crate::domain::AuditRecord;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub record: AuditRecord,
    pub notified: Vec<String>,
}
