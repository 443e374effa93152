//! The rules of JIT access as plain types and functions: no I/O, no clock, no store.

pub mod address;
pub mod approvals;
pub mod approvers;
pub mod arm;
pub mod arm_ids;
pub mod delivery;
pub mod error;
pub mod extension;
pub mod groups;
pub mod identity;
pub mod known_text;
pub mod licence;
pub mod list;
pub mod message;
pub mod model;
pub mod notice;
pub mod open_mode;
pub mod outbox_rules;
pub mod period;
pub mod rules;
pub mod stamp;
pub mod text;
pub mod time_style;
pub mod when;
pub mod window;

pub use error::{ErrorKind, Input, RuleError, RuleResult};
pub use list::{AuditFilter, Listed, Page, Paging, RequestFilter};
pub use model::*;
pub use open_mode::OpenMode;
pub use period::Period;
pub use window::Window;
