//! What subscribers hear after each commit: the audit record of every change, in commit order, with
//! the users it notified.

use crate::domain::AuditRecord;

/// One committed change, as subscribers hear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The change's audit record, as stored.
    pub record: AuditRecord,
    /// The UPNs of the users the change notified; empty when it notified no one.
    pub notified: Vec<String>,
}
