//! The routes that manage remote identity (docs/api.md): users' SSH keys, tenants' trusted SSH
//! certificate authorities and API tokens. Each makes one engine call as the caller; the rules
//! about who may do what are the engine's.

use axum::extract::{Path, State as With};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{delete, get, post};

use super::State;
use super::error::ApiResult;
use super::extract::{Body, OptionalBody, Params};
use super::identity::Caller;
use super::reply::Json;
use super::routes::{NameLimit, Nothing, created, listed, paging};
use crate::api::{paths, wire};
use crate::domain::identity::{NewToken, SshKey, TenantCa, TokenInfo};
use crate::engine::{AddCa, AddKey, NewSecret, RemoveCa, RemoveKey, RevokeToken};

pub fn router() -> axum::Router<State> {
    axum::Router::new()
        .route(paths::USER_KEYS, get(keys).post(add_key))
        .route(paths::USER_KEY, delete(remove_key))
        .route(paths::TENANT_CAS, get(cas).post(add_ca))
        .route(paths::TENANT_CA, delete(remove_ca))
        .route(paths::TOKENS, get(tokens).post(create_token))
        .route(paths::TOKEN_REVOKE, post(revoke_token))
}

async fn keys(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Path(upn): Path<String>,
    Params(q): Params<NameLimit>,
) -> ApiResult<Response> {
    let page = st.engine.ssh_keys(&caller.viewer(), &upn, paging(q.limit, q.after)?).await?;
    Ok(listed(&uri, &page, &page.items))
}

async fn add_key(
    With(st): With<State>,
    caller: Caller,
    Path(upn): Path<String>,
    Body(body): Body<wire::PublicKey>,
) -> ApiResult<Response> {
    Ok(created(None, st.engine.run(&caller.actor(), AddKey { upn, key: body.key }).await?))
}

async fn remove_key(
    With(st): With<State>,
    caller: Caller,
    Path((upn, fingerprint)): Path<(String, String)>,
    OptionalBody(Nothing {}): OptionalBody<Nothing>,
) -> ApiResult<Json<SshKey>> {
    Ok(Json(st.engine.run(&caller.actor(), RemoveKey { upn, fingerprint }).await?))
}

async fn cas(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Path(tenant): Path<String>,
    Params(q): Params<NameLimit>,
) -> ApiResult<Response> {
    let page = st.engine.tenant_cas(&caller.viewer(), &tenant, paging(q.limit, q.after)?).await?;
    Ok(listed(&uri, &page, &page.items))
}

async fn add_ca(
    With(st): With<State>,
    caller: Caller,
    Path(tenant): Path<String>,
    Body(body): Body<wire::PublicKey>,
) -> ApiResult<Response> {
    Ok(created(None, st.engine.run(&caller.actor(), AddCa { tenant, key: body.key }).await?))
}

async fn remove_ca(
    With(st): With<State>,
    caller: Caller,
    Path((tenant, fingerprint)): Path<(String, String)>,
    OptionalBody(Nothing {}): OptionalBody<Nothing>,
) -> ApiResult<Json<TenantCa>> {
    Ok(Json(st.engine.run(&caller.actor(), RemoveCa { tenant, fingerprint }).await?))
}

async fn tokens(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Params(q): Params<NameLimit>,
) -> ApiResult<Response> {
    let page = st.engine.tokens(&caller.viewer(), paging(q.limit, q.after)?).await?;
    Ok(listed(&uri, &page, &page.items))
}

async fn create_token(
    With(st): With<State>,
    caller: Caller,
    Body(input): Body<NewToken>,
) -> ApiResult<Response> {
    let made: NewSecret = st.engine.run(&caller.actor(), input).await?;
    Ok(created(None, made))
}

async fn revoke_token(
    With(st): With<State>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalBody(Nothing {}): OptionalBody<Nothing>,
) -> ApiResult<Json<TokenInfo>> {
    Ok(Json(st.engine.run(&caller.actor(), RevokeToken { id }).await?))
}
