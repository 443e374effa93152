//! The backend's calls about tenants and their users: one tenant's details, the users the viewer
//! may list, and the change of a licence, answered alike by the engine here and by a service.

use hyper::Method;

use super::backend::{Routed, as_header, list, whole};
use super::{Backend, Client, Result};
use crate::api::paths;
use crate::domain::{Page, Paging, User};
use crate::engine::{LicenceChange, SetLicence, TenantDetail, Viewer};

impl Backend {
    /// One tenant as far as the viewer sees it; one it may not see answers as a missing one.
    pub async fn tenant(&self, viewer: &Viewer, id: &str) -> Result<TenantDetail> {
        match self {
            Backend::Local(engine) => Ok(engine.tenant(viewer, id).await?),
            Backend::Remote(client) => client.get(&paths::tenant(id), as_header(viewer)).await,
        }
    }

    /// The users whose names the viewer's screens show, in UPN order (`Engine::people`).
    pub async fn people(&self, viewer: &Viewer, paging: Paging<String>) -> Result<Page<User>> {
        match self {
            Backend::Local(engine) => Ok(engine.people(viewer, whole(paging)).await?),
            Backend::Remote(client) => {
                list(client, as_header(viewer), paths::PEOPLE, Vec::new(), paging).await
            }
        }
    }

    /// The users the viewer may list, in UPN order: one tenant's, or (None) every one it may.
    pub async fn users(
        &self,
        viewer: &Viewer,
        tenant: Option<&str>,
        paging: Paging<String>,
    ) -> Result<Page<User>> {
        match self {
            Backend::Local(engine) => Ok(engine.users(viewer, tenant, whole(paging)).await?),
            Backend::Remote(client) => {
                let query = tenant.map(|id| ("tenant", id.to_string())).into_iter().collect();
                list(client, as_header(viewer), paths::USERS, query, paging).await
            }
        }
    }
}

impl Routed for SetLicence {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<LicenceChange> {
        let path = paths::tenant(&self.tenant);
        client.submit(Method::PATCH, &path, as_user, &self).await
    }
}
