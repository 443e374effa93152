//! ARM's list answer: `{value: [...], nextLink}`.

use serde::{Deserialize, Serialize};

/// One part of an ARM list, and where the next part is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct List<T> {
    /// The resources of this part.
    pub value: Vec<T>,
    /// The path and query of the next part; absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}
