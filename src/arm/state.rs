//! How jitdesk's request states read in ARM's `jitRequestState` and `provisioningState` enums.
//! jitdesk has one state ARM lacks, `Revoked` (access taken back early); it reads as `Expired`,
//! ARM's state for access that is over, and the exact state stays in `properties.jitdeskState`.

use serde::{Deserialize, Serialize};

use crate::domain::RequestState;

/// ARM's `jitRequestState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// ARM's value for a state it does not name; jitdesk never gives it.
    NotSpecified,
    /// Waiting for a decision.
    Pending,
    /// Granted: access is scheduled or running.
    Approved,
    /// Refused.
    Denied,
    /// ARM's failure to grant; jitdesk never gives it, since a grant is one commit.
    Failed,
    /// Withdrawn by its requester while pending.
    Canceled,
    /// The access is over: it ran its duration, or (jitdesk's `Revoked`) was taken back early.
    Expired,
    /// No decision came in time.
    Timeout,
}

/// The ARM state of a jitdesk state. `Revoked` is `Expired`: the grant took effect and its access
/// is over, which is what `Expired` tells a client; `Canceled` would say it never took effect.
pub fn state(state: RequestState) -> State {
    match state {
        RequestState::Pending => State::Pending,
        RequestState::Approved => State::Approved,
        RequestState::Denied => State::Denied,
        RequestState::Canceled => State::Canceled,
        RequestState::Expired | RequestState::Revoked => State::Expired,
        RequestState::Timeout => State::Timeout,
    }
}

/// ARM's `provisioningState`, of the values jitdesk gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProvisioningState {
    /// A request waiting for its decision, as ARM shows a fresh JIT request.
    Accepted,
    /// A resource whose making is settled: a deployed application, a decided or ended request.
    Succeeded,
}

/// A request is `Accepted` while pending and `Succeeded` from its decision on, whatever the
/// decision: the resource is there, and `jitRequestState` says what became of it.
pub fn provisioning_state(state: RequestState) -> ProvisioningState {
    match state {
        RequestState::Pending => ProvisioningState::Accepted,
        _ => ProvisioningState::Succeeded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(s: RequestState) -> (State, ProvisioningState) {
        (state(s), provisioning_state(s))
    }

    #[test]
    fn pending_is_pending_and_accepted() {
        assert_eq!(arm(RequestState::Pending), (State::Pending, ProvisioningState::Accepted));
    }

    #[test]
    fn approved_is_approved() {
        assert_eq!(arm(RequestState::Approved), (State::Approved, ProvisioningState::Succeeded));
    }

    #[test]
    fn denied_is_denied() {
        assert_eq!(arm(RequestState::Denied), (State::Denied, ProvisioningState::Succeeded));
    }

    #[test]
    fn canceled_is_canceled() {
        assert_eq!(arm(RequestState::Canceled), (State::Canceled, ProvisioningState::Succeeded));
    }

    #[test]
    fn expired_is_expired() {
        assert_eq!(arm(RequestState::Expired), (State::Expired, ProvisioningState::Succeeded));
    }

    #[test]
    fn timeout_is_timeout() {
        assert_eq!(arm(RequestState::Timeout), (State::Timeout, ProvisioningState::Succeeded));
    }

    #[test]
    fn revoked_reads_as_expired_access() {
        assert_eq!(arm(RequestState::Revoked), (State::Expired, ProvisioningState::Succeeded));
    }

    #[test]
    fn states_are_written_in_arms_spelling() {
        assert_eq!(serde_json::to_value(State::NotSpecified).unwrap(), "NotSpecified");
        assert_eq!(serde_json::to_value(State::Timeout).unwrap(), "Timeout");
        assert_eq!(serde_json::to_value(ProvisioningState::Accepted).unwrap(), "Accepted");
    }
}
