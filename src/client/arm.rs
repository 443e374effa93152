//! The backend's ARM views (`--output arm`): requests and applications in the shapes of Azure's
//! Microsoft.Solutions API. In this process they are made from the engine's records and the
//! directory entries they name; through a service, each is asked of its ARM route, so the service
//! looks the directory up, as it does for every view.

use super::backend::as_header;
use super::{Backend, Result};
use crate::api::paths;
use crate::arm;
use crate::domain::arm_ids;
use crate::domain::{AccessRequest, Application};
use crate::engine::Viewer;

impl Backend {
    /// The ARM views of requests the viewer has read, with their applications (`apps_of`).
    pub async fn arm_requests(
        &self,
        viewer: &Viewer,
        requests: &[AccessRequest],
        apps: &[Application],
    ) -> Result<Vec<arm::JitRequest>> {
        let pairs: Vec<(&AccessRequest, &Application)> =
            requests.iter().filter_map(|r| apps.iter().find(|a| a.name == r.app).map(|a| (r, a))).collect();
        match self {
            Backend::Local(engine) => {
                let directory = engine.arm_directory(requests, apps).await?;
                Ok(pairs.into_iter().map(|(r, a)| arm::JitRequest::new(r, a, &directory)).collect())
            }
            Backend::Remote(client) => {
                let mut views = Vec::with_capacity(pairs.len());
                for (request, app) in pairs {
                    let place = arm::location(request, &app.resource_id);
                    let path =
                        paths::arm_jit_request(&place.subscription, &place.resource_group, &place.name);
                    views.push(client.get(&path, as_header(viewer)).await?);
                }
                Ok(views)
            }
        }
    }

    /// The ARM views of applications the viewer has read.
    pub async fn arm_apps(&self, viewer: &Viewer, apps: &[Application]) -> Result<Vec<arm::Application>> {
        match self {
            Backend::Local(engine) => {
                let directory = engine.arm_directory(&[], apps).await?;
                Ok(apps.iter().map(|a| arm::Application::new(a, &directory)).collect())
            }
            Backend::Remote(client) => {
                let mut views = Vec::with_capacity(apps.len());
                for app in apps {
                    let (sub, rg, name) = arm_ids::parse_application_id(&app.resource_id).unwrap_or_default();
                    views.push(
                        client.get(&paths::arm_application(&sub, &rg, &name), as_header(viewer)).await?,
                    );
                }
                Ok(views)
            }
        }
    }
}
