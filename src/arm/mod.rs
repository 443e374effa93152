//! Resources in the shapes of Azure's Microsoft.Solutions API, version 2021-07-01: what
//! `--output arm` prints and the service's ARM routes speak (docs/api.md). A second, separate
//! output beside `crate::json`: plain serde types built from domain records and the directory
//! entries they name (`Directory`), with no I/O; the engine gathers those entries (`engine::arm`).

mod application;
mod error;
mod list;
mod request;
mod state;

pub use application::{Application, ApplicationProperties, Approver, Authorization, JitAccessPolicy};
pub use error::{Failure, FailureDetail, code};
pub use list::List;
pub use request::{
    AuthorizationPolicy, JitRequest, JitRequestBody, JitRequestInput, JitRequestProperties, Tags,
};
pub use state::{ProvisioningState, State, provisioning_state, state};

pub use crate::domain::arm::{API_VERSION, Directory, location, place};

use crate::domain::arm_ids;
use crate::domain::{ArmName, SYSTEM};

/// ARM's resource type of a JIT request.
pub const JIT_REQUEST_TYPE: &str = "Microsoft.Solutions/jitRequests";
/// ARM's resource type of a managed application.
pub const APPLICATION_TYPE: &str = "Microsoft.Solutions/applications";

/// ARM's `createdBy` and `updatedBy`: who made or last changed a resource, as the client that did it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientDetails {
    /// The person's object id; empty for what the engine did itself (an automatic approval, a
    /// timeout, an expiry), as ARM leaves it empty for a service.
    pub oid: String,
    /// jitdesk's own application id (`arm_ids::client_application_id`).
    pub application_id: String,
}

impl ClientDetails {
    /// The client details of a UPN, or of the engine for `system`.
    fn of(upn: &str, directory: &Directory) -> Self {
        let oid = if upn == SYSTEM { String::new() } else { directory.object_id(upn) };
        ClientDetails { oid, application_id: arm_ids::client_application_id() }
    }
}

/// The resource id of a JIT request at this place.
pub fn request_resource_id(name: &ArmName) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/{JIT_REQUEST_TYPE}/{}",
        name.subscription, name.resource_group, name.name
    )
}
