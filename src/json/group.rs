//! The JSON shape of a directory group with members, for the CLI's `--json` and the API alike:
//! `group show` (a page of its members), and the answers of adding and removing members (those
//! added, or the one removed).

use serde::{Deserialize, Serialize};

use crate::domain::Group;

/// A group and some of its members' UPNs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMembers {
    /// The group: `id`, `displayName`, `tenant`, `objectId`.
    #[serde(flatten)]
    pub group: Group,
    /// Members' UPNs, in UPN order: a page of them, those just added, or the one just removed.
    pub members: Vec<String>,
}
