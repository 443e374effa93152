//! Approvals counted towards a decision: a request, or an extension of a grant, is approved once
//! as many different approvers as its policy requires have approved it. One rule, so the two
//! count alike and say alike how far they are.

use super::error::RuleError;
use super::model::Verdict;

/// How far a decision stands after an approval is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// Enough approvals: the decision is made.
    Approved,
    /// More are needed: `have` of `need` so far.
    Waiting {
        /// Approvals counted so far, this one included.
        have: u32,
        /// Approvals the policy requires.
        need: u32,
    },
}

impl Tally {
    /// How far along it is, as people read it: `1 of 2 approvals`.
    pub fn progress(have: u32, need: u32) -> String {
        format!("{have} of {need} approval{}", if need == 1 { "" } else { "s" })
    }
}

/// The system's reason for approving, after a change of policy, what waited with `given` approvals
/// now that `required` are enough; None while they are not, or when none was given (an approver
/// still decides it).
pub fn now_enough(given: usize, required: u32) -> Option<String> {
    let have = u32::try_from(given).unwrap_or(u32::MAX);
    (have > 0 && have >= required)
        .then(|| format!("policy changed: {} now enough", Tally::progress(have, required.max(1))))
}

/// Counts `verdict` among `approvals` towards `required` (at least one, whatever is stored): an
/// approver counts once, so a second approval by the same approver is refused, saying how far
/// the decision is.
pub fn count(approvals: &mut Vec<Verdict>, verdict: Verdict, required: u32) -> Result<Tally, RuleError> {
    let need = required.max(1);
    if approvals.iter().any(|a| a.by == verdict.by) {
        let have = approvals.len() as u32;
        return Err(RuleError::conflict(format!(
            "{} has already approved it; it has {} and waits for another approver",
            verdict.by,
            Tally::progress(have, need)
        )));
    }
    approvals.push(verdict);
    let have = approvals.len() as u32;
    Ok(if have >= need { Tally::Approved } else { Tally::Waiting { have, need } })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn by(upn: &str) -> Verdict {
        Verdict {
            by: upn.into(),
            at: Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap(),
            reason: "ok".into(),
        }
    }

    #[test]
    fn a_decision_needs_as_many_different_approvers_as_required() {
        let mut approvals = Vec::new();
        assert_eq!(count(&mut approvals, by("a@x.com"), 2), Ok(Tally::Waiting { have: 1, need: 2 }));
        let again = count(&mut approvals, by("a@x.com"), 2).unwrap_err();
        assert!(again.message.contains("1 of 2 approvals"), "{}", again.message);
        assert_eq!(approvals.len(), 1, "a repeated approval is not counted");
        assert_eq!(count(&mut approvals, by("b@x.com"), 2), Ok(Tally::Approved));
    }

    #[test]
    fn one_approval_is_enough_when_one_or_none_is_required() {
        assert_eq!(count(&mut Vec::new(), by("a@x.com"), 1), Ok(Tally::Approved));
        assert_eq!(count(&mut Vec::new(), by("a@x.com"), 0), Ok(Tally::Approved));
        assert_eq!(Tally::progress(1, 1), "1 of 1 approval");
    }
}
