//! The routes of directory groups (docs/api.md): list and add groups, show one with a page of its
//! members, add and remove members. Each makes one engine call as the caller; who may see and
//! change a group is the engine's rule.

use axum::extract::{Path, State as With};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde::Deserialize;

use super::State;
use super::error::ApiResult;
use super::extract::{Body, OptionalBody, Params};
use super::identity::Caller;
use super::reply::Json;
use super::routes::{NameLimit, Nothing, created, listed, paging};
use crate::api::{paths, wire};
use crate::domain::groups::NewGroup;
use crate::engine::{AddMembers, RemoveMember};
use crate::json;

pub fn router() -> axum::Router<State> {
    axum::Router::new()
        .route(paths::GROUPS, get(groups).post(add_group))
        .route(paths::GROUP, get(group))
        .route(paths::GROUP_MEMBERS, post(add_members))
        .route(paths::GROUP_MEMBER, delete(remove_member))
}

/// The query of the group list: one tenant's, and the paging.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupQuery {
    tenant: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

async fn groups(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Params(q): Params<GroupQuery>,
) -> ApiResult<Response> {
    let paging = paging(q.limit, q.after)?;
    let page = st.engine.groups(&caller.viewer(), q.tenant.as_deref(), paging).await?;
    Ok(listed(&uri, &page, &page.items))
}

async fn add_group(
    With(st): With<State>,
    caller: Caller,
    Body(input): Body<NewGroup>,
) -> ApiResult<Response> {
    let group = st.engine.run(&caller.actor(), input).await?;
    Ok(created(Some(paths::group(&group.id)), group))
}

async fn group(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    Params(q): Params<NameLimit>,
) -> ApiResult<Response> {
    let detail = st.engine.group(&caller.viewer(), &id, paging(q.limit, q.after)?).await?;
    let view = json::GroupMembers { group: detail.group, members: detail.members.items.clone() };
    Ok(listed(&uri, &detail.members, view))
}

async fn add_members(
    With(st): With<State>,
    caller: Caller,
    Path(group): Path<String>,
    Body(body): Body<wire::Members>,
) -> ApiResult<Json<json::GroupMembers>> {
    let (group, members) = st.engine.run(&caller.actor(), AddMembers { group, upns: body.upns }).await?;
    Ok(Json(json::GroupMembers { group, members }))
}

async fn remove_member(
    With(st): With<State>,
    caller: Caller,
    Path((group, upn)): Path<(String, String)>,
    OptionalBody(Nothing {}): OptionalBody<Nothing>,
) -> ApiResult<Json<json::GroupMembers>> {
    let (group, upn) = st.engine.run(&caller.actor(), RemoveMember { group, upn }).await?;
    Ok(Json(json::GroupMembers { group, members: vec![upn] }))
}
