//! ARM's routes (docs/api.md, "ARM's routes"): JIT requests and managed applications at the paths
//! and in the shapes of Azure's Microsoft.Solutions API, version 2021-07-01, with ARM's error body
//! `{error: {code, message}}`. Identity is the service's own (`Caller`), as on every route; each
//! handler makes the engine call the other routes make, so the rules are the same.

use axum::extract::{Path, State as With};
use axum::http::StatusCode;
use axum::http::Uri;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::State;
use super::error::ApiError;
use super::extract::{Body, Params};
use super::identity::Caller;
use super::reply::Json;
use crate::api::paths::{self, encode};
use crate::api::wire::ErrorKind;
use crate::arm::{self, API_VERSION, code};
use crate::domain::rules::NewRequest;
use crate::domain::*;
use crate::engine::{ArmCreate, ArmTag};

pub fn router() -> axum::Router<State> {
    axum::Router::new()
        .route(paths::ARM_JIT_REQUEST, get(show).put(create).patch(tag))
        .route(paths::ARM_JIT_REQUESTS, get(list_group))
        .route(paths::ARM_SUBSCRIPTION_JIT_REQUESTS, get(list_subscription))
        .route(paths::ARM_APPLICATION, get(app))
        .route(paths::ARM_APPLICATIONS, get(apps))
}

/// A refusal in ARM's shape; the status is the one the service gives the same refusal elsewhere.
struct ArmError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl From<ApiError> for ArmError {
    fn from(e: ApiError) -> Self {
        let code = match e.kind {
            ErrorKind::Invalid => code::INVALID,
            ErrorKind::NotFound => code::NOT_FOUND,
            ErrorKind::Forbidden => code::FORBIDDEN,
            ErrorKind::Conflict => code::CONFLICT,
            ErrorKind::Limited => code::TOO_MANY,
            ErrorKind::Unavailable => code::UNAVAILABLE,
        };
        ArmError { status: e.status, code, message: e.message, retry_after: e.retry_after }
    }
}

impl From<crate::engine::Error> for ArmError {
    fn from(e: crate::engine::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let body =
            arm::Failure { error: arm::FailureDetail { code: self.code.to_string(), message: self.message } };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(RETRY_AFTER, seconds.into());
        }
        response
    }
}

type ArmResult<T> = Result<T, ArmError>;

/// The query ARM's routes take. Other parameters are let through, as ARM lets through those it
/// does not know (`$filter`, `$expand`), so a client of ARM works unchanged.
#[derive(Debug, Default, Deserialize)]
struct Query {
    #[serde(rename = "api-version")]
    api_version: Option<String>,
    /// How many resources one part of a list holds (jitdesk's `limit`).
    #[serde(rename = "$top")]
    top: Option<usize>,
    /// Where the next part of a list starts, as `nextLink` gives it.
    #[serde(rename = "$skipToken")]
    skip_token: Option<String>,
}

/// The query, once it names the API version these routes speak.
fn checked(query: Result<Params<Query>, ApiError>) -> ArmResult<Query> {
    let Params(query) = query?;
    match query.api_version.as_deref().map(str::trim) {
        None | Some("") => Err(ArmError {
            status: StatusCode::BAD_REQUEST,
            code: code::MISSING_API_VERSION,
            message: format!("the api-version query parameter is required: add ?api-version={API_VERSION}"),
            retry_after: None,
        }),
        Some(API_VERSION) => Ok(query),
        Some(other) => Err(ArmError {
            status: StatusCode::BAD_REQUEST,
            code: code::INVALID_API_VERSION,
            message: format!(
                "api-version `{}` is not supported: jitdesk speaks {API_VERSION} only",
                text::shown(other)
            ),
            retry_after: None,
        }),
    }
}

fn place(subscription: String, resource_group: String, name: String) -> ArmName {
    ArmName { subscription, resource_group, name }
}

/// The ARM view of a request on its application, naming people as the directory does.
async fn request_view(st: &State, request: &AccessRequest, app: &Application) -> ArmResult<arm::JitRequest> {
    let directory = st.engine.arm_directory(std::slice::from_ref(request), std::slice::from_ref(app)).await?;
    Ok(arm::JitRequest::new(request, app, &directory))
}

async fn show(
    With(st): With<State>,
    caller: Result<Caller, ApiError>,
    Path((sub, rg, name)): Path<(String, String, String)>,
    query: Result<Params<Query>, ApiError>,
) -> ArmResult<Json<arm::JitRequest>> {
    checked(query)?;
    let caller = caller?;
    let (request, app) = st.engine.arm_request(&caller.viewer(), place(sub, rg, name)).await?;
    Ok(Json(request_view(&st, &request, &app).await?))
}

async fn create(
    With(st): With<State>,
    caller: Result<Caller, ApiError>,
    Path((sub, rg, name)): Path<(String, String, String)>,
    query: Result<Params<Query>, ApiError>,
    body: Result<Body<arm::JitRequestBody>, ApiError>,
) -> ArmResult<Response> {
    checked(query)?;
    let caller = caller?;
    let Body(body) = body?;
    let asked = body.properties;
    let policies = &asked.jit_authorization_policies;
    let create = ArmCreate {
        request: NewRequest {
            app: asked.application_resource_id,
            roles: policies.iter().map(|p| p.role_definition_id.clone()).collect(),
            start: Some(asked.jit_scheduling_policy.start_time),
            duration: asked.jit_scheduling_policy.duration,
            justification: format!("asked through ARM's API as JIT request `{name}`"),
            ticket: None,
        },
        principals: policies.iter().map(|p| p.principal_id.clone()).collect(),
        schedule: asked.jit_scheduling_policy.kind,
        tags: body.tags,
        name: place(sub, rg, name),
    };
    let (request, made) = st.engine.run(&caller.actor(), create).await?;
    let app = st.engine.app(&caller.viewer(), &request.app).await?;
    let status = if made { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(request_view(&st, &request, &app).await?)).into_response())
}

/// ARM's PATCH body: the tags, which replace the request's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    tags: arm::Tags,
}

async fn tag(
    With(st): With<State>,
    caller: Result<Caller, ApiError>,
    Path((sub, rg, name)): Path<(String, String, String)>,
    query: Result<Params<Query>, ApiError>,
    body: Result<Body<Patch>, ApiError>,
) -> ArmResult<Json<arm::JitRequest>> {
    checked(query)?;
    let caller = caller?;
    let Body(patch) = body?;
    let request =
        st.engine.run(&caller.actor(), ArmTag { name: place(sub, rg, name), tags: patch.tags }).await?;
    let app = st.engine.app(&caller.viewer(), &request.app).await?;
    Ok(Json(request_view(&st, &request, &app).await?))
}

/// The paging a list's query asks for: `$top` as `limit`, `$skipToken` as `after`.
fn paging<C: std::str::FromStr>(query: &Query) -> ArmResult<Paging<C>> {
    let after = match query.skip_token.as_deref() {
        None => None,
        Some(token) => Some(token.parse().map_err(|_| {
            ApiError::invalid(format!(
                "$skipToken `{}` is not one this service gave: follow nextLink as it is",
                text::shown(token)
            ))
        })?),
    };
    Ok(Paging::asked(query.top, after).map_err(ApiError::from)?)
}

/// ARM's list answer: the part, and a `nextLink` to the same path when more follow.
fn listed<T: Listed, V: serde::Serialize>(
    uri: &Uri,
    page: &Page<T>,
    paging_top: usize,
    value: Vec<V>,
) -> Response {
    let next_link = page.next().map(|next| {
        format!(
            "{}?api-version={API_VERSION}&$top={paging_top}&$skipToken={}",
            uri.path(),
            encode(&next.to_string())
        )
    });
    Json(arm::List { value, next_link }).into_response()
}

async fn list_requests(
    st: &State,
    caller: Caller,
    uri: &Uri,
    query: Query,
    subscription: String,
    resource_group: Option<String>,
) -> ArmResult<Response> {
    let paging: Paging<u64> = paging(&query)?;
    let top = paging.limit.unwrap_or(list::DEFAULT_LIMIT);
    let (page, apps) = st.engine.arm_requests(&caller.viewer(), subscription, resource_group, paging).await?;
    let directory = st.engine.arm_directory(&page.items, &apps).await?;
    let views = page
        .items
        .iter()
        .filter_map(|r| apps.iter().find(|a| a.name == r.app).map(|a| arm::JitRequest::new(r, a, &directory)))
        .collect();
    Ok(listed(uri, &page, top, views))
}

async fn list_group(
    With(st): With<State>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path((sub, rg)): Path<(String, String)>,
    query: Result<Params<Query>, ApiError>,
) -> ArmResult<Response> {
    let query = checked(query)?;
    list_requests(&st, caller?, &uri, query, sub, Some(rg)).await
}

async fn list_subscription(
    With(st): With<State>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path(sub): Path<String>,
    query: Result<Params<Query>, ApiError>,
) -> ArmResult<Response> {
    let query = checked(query)?;
    list_requests(&st, caller?, &uri, query, sub, None).await
}

async fn app(
    With(st): With<State>,
    caller: Result<Caller, ApiError>,
    Path((sub, rg, name)): Path<(String, String, String)>,
    query: Result<Params<Query>, ApiError>,
) -> ArmResult<Json<arm::Application>> {
    checked(query)?;
    let caller = caller?;
    let id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{}/{name}", arm::APPLICATION_TYPE);
    let app = st.engine.app(&caller.viewer(), &id).await?;
    let directory = st.engine.arm_directory(&[], std::slice::from_ref(&app)).await?;
    Ok(Json(arm::Application::new(&app, &directory)))
}

async fn apps(
    With(st): With<State>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path((sub, rg)): Path<(String, String)>,
    query: Result<Params<Query>, ApiError>,
) -> ArmResult<Response> {
    let query = checked(query)?;
    let caller = caller?;
    let paging: Paging<String> = paging(&query)?;
    let top = paging.limit.unwrap_or(list::DEFAULT_LIMIT);
    let page = st.engine.arm_apps(&caller.viewer(), sub, rg, paging).await?;
    let directory = st.engine.arm_directory(&[], &page.items).await?;
    let views = page.items.iter().map(|a| arm::Application::new(a, &directory)).collect();
    Ok(listed(&uri, &page, top, views))
}
