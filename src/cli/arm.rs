//! `--output arm` on `app show/list` and `request show/list`: the same reads as the other shapes,
//! printed as Azure's Microsoft.Solutions documents (`crate::arm`), a list as `{value}`.

use super::args::Shape;
use super::{Output, json_out, ok};
use crate::arm;
use crate::client::{Backend, Result};
use crate::domain::rules;
use crate::domain::{AccessRequest, Application};
use crate::engine::Viewer;

/// How a read is printed: a table, jitdesk's JSON (`--json` or `--output json`), or ARM's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Printed {
    Table,
    Json,
    Arm,
}

impl Printed {
    /// What `--json` and `--output` ask for together (clap refuses both at once).
    pub(super) fn of(json: bool, output: Option<Shape>) -> Printed {
        match (json, output) {
            (true, _) | (false, Some(Shape::Json)) => Printed::Json,
            (false, Some(Shape::Arm)) => Printed::Arm,
            (false, None) => Printed::Table,
        }
    }
}

/// One request as ARM's document; `apps` holds its application (`Backend::apps_of`).
pub(super) async fn request(
    backend: &Backend,
    viewer: &Viewer,
    request: &AccessRequest,
    apps: &[Application],
) -> Result<Output> {
    let views = backend.arm_requests(viewer, std::slice::from_ref(request), apps).await?;
    let view = views.into_iter().next().ok_or_else(|| rules::no_request(request.id))?;
    ok(json_out(&view)?)
}

/// Requests as ARM's list document; `apps` holds their applications.
pub(super) async fn requests(
    backend: &Backend,
    viewer: &Viewer,
    requests: &[AccessRequest],
    apps: &[Application],
) -> Result<Output> {
    let value = backend.arm_requests(viewer, requests, apps).await?;
    ok(json_out(&arm::List { value, next_link: None })?)
}

/// One application as ARM's document.
pub(super) async fn app(backend: &Backend, viewer: &Viewer, app: &Application) -> Result<Output> {
    let views = backend.arm_apps(viewer, std::slice::from_ref(app)).await?;
    let view = views.into_iter().next().ok_or_else(|| rules::no_app(&app.name))?;
    ok(json_out(&view)?)
}

/// Applications as ARM's list document.
pub(super) async fn apps(backend: &Backend, viewer: &Viewer, apps: &[Application]) -> Result<Output> {
    let value = backend.arm_apps(viewer, apps).await?;
    ok(json_out(&arm::List { value, next_link: None })?)
}
