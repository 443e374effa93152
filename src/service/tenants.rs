//! The routes of one tenant (docs/api.md): its details as far as the caller sees them, and the
//! change of its licence, whose answer carries the warnings a downgrade gives; and the people whose
//! names a caller's screens show. Each makes one
//! engine call as the caller; who sees a tenant and who may change its licence are the engine's
//! rules.

use axum::extract::{Path, State as With};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;

use super::State;
use super::error::ApiResult;
use super::extract::{Body, Params};
use super::identity::Caller;
use super::reply::Json;
use super::routes::{NameLimit, listed, paging};
use crate::api::paths;
use crate::engine::{LicenceChange, SetLicence, TenantDetail};

pub fn router() -> axum::Router<State> {
    axum::Router::new().route(paths::TENANT, get(tenant).patch(set_licence)).route(paths::PEOPLE, get(people))
}

async fn tenant(
    With(st): With<State>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TenantDetail>> {
    Ok(Json(st.engine.tenant(&caller.viewer(), &id).await?))
}

async fn people(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Params(q): Params<NameLimit>,
) -> ApiResult<Response> {
    let page = st.engine.people(&caller.viewer(), paging(q.limit, q.after)?).await?;
    Ok(listed(&uri, &page, &page.items))
}

async fn set_licence(
    With(st): With<State>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<SetLicence>,
) -> ApiResult<Json<LicenceChange>> {
    let change = SetLicence { tenant: id, ..body };
    Ok(Json(st.engine.run(&caller.actor(), change).await?))
}
