//! Marks on the Requests tab: which pending requests one bulk decision is about, and how its
//! outcomes are summed up. Marks are kept by request id so that rows arriving or re-sorting never
//! move a mark to another request; a request that leaves the list loses its mark.

use std::collections::BTreeSet;
use std::fmt;

use super::view::fmt::safe;

/// At most this many requests are named in the bulk form and refusals in its toast; the rest are
/// counted, so a bulk decision on thousands of requests still fits a screen.
pub const NAMED: usize = 8;

/// The marked request ids, in id order.
#[derive(Debug, Default, Clone)]
pub struct Marks(BTreeSet<u64>);

impl Marks {
    /// Marks the request, or unmarks it when it was marked.
    pub fn toggle(&mut self, id: u64) {
        if !self.0.remove(&id) {
            self.0.insert(id);
        }
    }

    pub fn extend(&mut self, ids: impl IntoIterator<Item = u64>) {
        self.0.extend(ids);
    }

    /// Drops the marks of requests that are no longer in `ids` (left the list, or no longer mine
    /// to decide).
    pub fn keep(&mut self, ids: &BTreeSet<u64>) {
        self.0.retain(|id| ids.contains(id));
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn contains(&self, id: u64) -> bool {
        self.0.contains(&id)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn ids(&self) -> Vec<u64> {
        self.0.iter().copied().collect()
    }
}

/// What a bulk decision did, in one line: "approved 4; 1 refused: request 12: ...". Returns the
/// line and how many decisions went through.
pub fn summary<E: fmt::Display>(approve: bool, outcomes: &[(u64, Result<String, E>)]) -> (String, usize) {
    let done = outcomes.iter().filter(|(_, r)| r.is_ok()).count();
    let refused: Vec<String> = outcomes
        .iter()
        .filter_map(|(id, r)| r.as_ref().err().map(|e| format!("request {id}: {}", safe(&e.to_string()))))
        .collect();
    let verb = if approve { "approved" } else { "denied" };
    let mut line = format!("{verb} {done}");
    if !refused.is_empty() {
        line.push_str(&format!("; {} refused: ", refused.len()));
        line.push_str(&refused.iter().take(NAMED).cloned().collect::<Vec<_>>().join("; "));
        if refused.len() > NAMED {
            line.push_str(&format!("; and {} more", refused.len() - NAMED));
        }
    }
    (line, done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_counts_what_went_through_and_names_each_refusal() {
        let outcomes = vec![
            (10, Ok("request 10 Approved".to_string())),
            (12, Err("request 12 is not pending".to_string())),
            (13, Ok("request 13 Approved".to_string())),
        ];
        let (line, done) = summary(true, &outcomes);
        assert_eq!(line, "approved 2; 1 refused: request 12: request 12 is not pending");
        assert_eq!(done, 2);
        assert_eq!(summary(false, &outcomes[..1]).0, "denied 1");
    }

    #[test]
    fn marks_toggle_and_go_with_their_rows() {
        let mut marks = Marks::default();
        marks.extend([3, 1, 2]);
        marks.toggle(2);
        assert_eq!(marks.ids(), [1, 3]);
        marks.keep(&BTreeSet::from([3, 4]));
        assert_eq!(marks.ids(), [3]);
    }
}
