//! The routes about where notices go (docs/api.md): a tenant's channels, a user's contact and the
//! deliveries the outbox owes. Each makes one engine call as the caller; who may see or change
//! what is the engine's rule. A channel answers as its view, which never carries its secret.

use axum::extract::{Path, State as With};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{delete, get};
use serde::Deserialize;

use super::State;
use super::error::{ApiError, ApiResult};
use super::extract::{Body, OptionalBody, Params};
use super::identity::Caller;
use super::reply::Json;
use super::routes::{Nothing, created, listed, paging};
use crate::api::{paths, wire};
use crate::engine::{AddChannel, DeliveryFilter, RemoveChannel, SetContact};
use crate::json;

pub fn router() -> axum::Router<State> {
    axum::Router::new()
        .route(paths::CHANNELS, get(channels).post(add_channel))
        .route(paths::CHANNEL, delete(remove_channel))
        .route(paths::CONTACT, get(contact).put(set_contact))
        .route(paths::DELIVERIES, get(deliveries))
}

/// The query of `GET /v1/deliveries`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryQuery {
    failed: Option<bool>,
    limit: Option<usize>,
    after: Option<u64>,
}

/// A channel's id in a path: a number, or no such channel.
fn channel_id(text: &str) -> ApiResult<u64> {
    text.parse().map_err(|_| ApiError::not_found(format!("no channel `{text}`: channel ids are numbers")))
}

async fn channels(
    With(st): With<State>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<json::Channel>>> {
    let channels = st.engine.channels(&caller.viewer(), &tenant).await?;
    Ok(Json(channels.iter().map(json::Channel::new).collect()))
}

async fn add_channel(
    With(st): With<State>,
    caller: Caller,
    Path(tenant): Path<String>,
    Body(body): Body<wire::NewChannel>,
) -> ApiResult<Response> {
    let channel = st.engine.run(&caller.actor(), AddChannel { tenant, kind: body.into() }).await?;
    Ok(created(None, json::Channel::new(&channel)))
}

async fn remove_channel(
    With(st): With<State>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    OptionalBody(Nothing {}): OptionalBody<Nothing>,
) -> ApiResult<Json<json::Channel>> {
    let channel = st.engine.run(&caller.actor(), RemoveChannel { tenant, id: channel_id(&id)? }).await?;
    Ok(Json(json::Channel::new(&channel)))
}

async fn contact(
    With(st): With<State>,
    caller: Caller,
    Path(upn): Path<String>,
) -> ApiResult<Json<json::Contact>> {
    let upn = upn.trim().to_lowercase();
    let contact = st.engine.contact(&caller.viewer(), &upn).await?;
    Ok(Json(json::Contact::new(&upn, &contact)))
}

async fn set_contact(
    With(st): With<State>,
    caller: Caller,
    Path(upn): Path<String>,
    Body(body): Body<wire::ContactBody>,
) -> ApiResult<Json<json::Contact>> {
    let upn = upn.trim().to_lowercase();
    let change = SetContact { upn: upn.clone(), change: body.into() };
    let contact = st.engine.run(&caller.actor(), change).await?;
    Ok(Json(json::Contact::new(&upn, &contact)))
}

async fn deliveries(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Params(q): Params<DeliveryQuery>,
) -> ApiResult<Response> {
    let filter = DeliveryFilter { failed_only: q.failed.unwrap_or(false) };
    let page = st.engine.deliveries(&caller.viewer(), filter, &paging(q.limit, q.after)?).await?;
    let views: Vec<json::Delivery> = page.items.iter().map(json::Delivery::new).collect();
    Ok(listed(&uri, &page, views))
}
