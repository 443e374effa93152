//! The routes that extend a grant and decide an extension (docs/api.md). Each makes one engine
//! call as the caller and answers with the request, its extensions in it; who may ask and who may
//! decide is the engine's rule.

use axum::extract::{Path, State as With};
use axum::routing::post;

use super::State;
use super::error::ApiResult;
use super::extract::Body;
use super::identity::Caller;
use super::reply::Json;
use super::routes::id;
use crate::api::{paths, wire};
use crate::engine::{DecideExtension, Extend};
use crate::json;

pub fn router() -> axum::Router<State> {
    axum::Router::new()
        .route(paths::EXTEND, post(extend))
        .route(paths::EXTENSION_APPROVE, post(approve))
        .route(paths::EXTENSION_DENY, post(deny))
}

async fn extend(
    With(st): With<State>,
    caller: Caller,
    Path(text): Path<String>,
    Body(body): Body<wire::Extension>,
) -> ApiResult<Json<json::Request>> {
    let extend = Extend { id: id(&text)?, by: body.by, reason: body.reason };
    Ok(Json(json::Request::new(&st.engine.run(&caller.actor(), extend).await?)))
}

async fn decide(
    st: &State,
    caller: &Caller,
    text: &str,
    approve: bool,
    reason: String,
) -> ApiResult<Json<json::Request>> {
    let decision = DecideExtension { id: id(text)?, approve, reason };
    Ok(Json(json::Request::new(&st.engine.run(&caller.actor(), decision).await?)))
}

async fn approve(
    With(st): With<State>,
    caller: Caller,
    Path(text): Path<String>,
    Body(body): Body<wire::Reason>,
) -> ApiResult<Json<json::Request>> {
    decide(&st, &caller, &text, true, body.reason).await
}

async fn deny(
    With(st): With<State>,
    caller: Caller,
    Path(text): Path<String>,
    Body(body): Body<wire::Reason>,
) -> ApiResult<Json<json::Request>> {
    decide(&st, &caller, &text, false, body.reason).await
}
