//! The routes of the API (docs/api.md), on the paths of `crate::api::paths`. Each handler decides
//! who is calling, makes one engine call (commands for changes, queries for reads, as the caller's
//! viewer) and turns the answer into the JSON of `crate::json`. No rule lives here.

use axum::Extension;
use axum::extract::{ConnectInfo, Path, State as With};
use axum::http::header::{LINK, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{Body, OptionalBody, Params};
use super::identity::{Caller, Peer};
use super::reply::Json;
use super::{State, backup, events, export};
use crate::api::paths::{self, encode};
use crate::api::wire::{self, MORE_HEADER, SEEN_HEADER};
use crate::domain::rules::{Deployment, NewOffer, NewRequest, NewTenant, NewUser, PolicyChange};
use crate::domain::*;
use crate::engine::RequestFilter;
use crate::engine::{Cancel, Decide, MarkSeen, Revoke, SetPolicy};
use crate::json;

pub fn router() -> axum::Router<State> {
    axum::Router::new()
        .route(paths::HEALTH, get(health))
        .route(paths::ME, get(me))
        .route(paths::TENANTS, get(tenants).post(add_tenant))
        .route(paths::USERS, get(users).post(add_user))
        .route(paths::OFFERS, get(offers).post(publish_offer))
        .route(paths::APPLICATIONS, get(apps).post(deploy))
        .route(paths::APPLICATION, get(app).patch(set_policy))
        .route(paths::REQUESTS, get(requests).post(create_request))
        .route(paths::REQUEST, get(request))
        .route(paths::APPROVE, post(approve))
        .route(paths::DENY, post(deny))
        .route(paths::CANCEL, post(cancel))
        .route(paths::ACCESS, get(access))
        .route(paths::ACCESS_CHECK, get(access_check))
        .route(paths::REVOKE, post(revoke))
        .route(paths::NOTIFICATIONS, get(notifications))
        .route(paths::SEEN, post(mark_seen))
        .route(paths::AUDIT, get(audit))
        .route(paths::EVENTS, get(events::stream))
        .route(paths::BACKUP, get(backup::backup))
        .route(paths::EXPORT, get(export::export))
        .merge(super::remote_identity::router())
        .merge(super::deliveries::router())
        .merge(super::extensions::router())
        .merge(super::arm::router())
        .merge(super::tenants::router())
        .merge(super::groups::router())
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
}

async fn no_route() -> ApiError {
    ApiError::not_found("no such route: see docs/api.md for the API")
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        wire::ErrorKind::Invalid,
        "this route does not take that method: see docs/api.md",
    )
}

pub(super) fn paging<C>(limit: Option<usize>, after: Option<C>) -> ApiResult<Paging<C>> {
    Ok(Paging::asked(limit, after)?)
}

pub(super) fn id(text: &str) -> ApiResult<u64> {
    text.parse().map_err(|_| ApiError::not_found(format!("no request `{text}`: request ids are numbers")))
}

pub(super) fn created<T: serde::Serialize>(location: Option<String>, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

fn set_header(response: &mut Response, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// A list answer: its part of the list, `X-Jitdesk-More`, and when more come after it a `Link` to
/// the next part: the same query with the cursor moved on.
pub(super) fn listed<T: Listed>(uri: &Uri, page: &Page<T>, views: impl serde::Serialize) -> Response {
    let mut response = Json(views).into_response();
    set_header(&mut response, HeaderName::from_static(MORE_HEADER), &page.more.to_string());
    if let Some(next) = page.next() {
        let mut query: Vec<&str> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("after="))
            .collect();
        let after = format!("after={}", encode(&next.to_string()));
        query.push(&after);
        let link = format!("<{}?{}>; rel=\"next\"", uri.path(), query.join("&"));
        set_header(&mut response, LINK, &link);
    }
    response
}

/// An empty JSON object; anything else in it is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Nothing {}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    search: Option<String>,
    tenant: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

/// The paging of a list whose cursor is a number (an id).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limit {
    limit: Option<usize>,
    after: Option<u64>,
}

/// The paging of a list whose cursor is a name (or a tenant's or offer's id).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NameLimit {
    pub(super) limit: Option<usize>,
    pub(super) after: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestQuery {
    state: Option<String>,
    app: Option<String>,
    requester: Option<String>,
    mine: Option<bool>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
    after: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    app: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
    after: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckQuery {
    app: String,
    user: Option<String>,
}

/// 503 once the store thread has stopped by itself: the service is about to exit, and says why.
/// The store's path is for callers of the Unix socket, who compare it with theirs; a door's caller
/// gets it empty (an SSH session's command takes the service the door named).
async fn health(
    With(st): With<State>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
) -> ApiResult<Json<wire::Health>> {
    if let Some(why) = st.engine.fault() {
        return Err(ApiError::unavailable(format!("the service's store thread has stopped: {why}")));
    }
    let remote = matches!(peer, Some(Extension(ConnectInfo(Peer::Known(_) | Peer::Remote(_)))));
    Ok(Json(wire::Health {
        service: "jitdesk".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        store: if remote { String::new() } else { st.engine.path().display().to_string() },
    }))
}

async fn me(With(st): With<State>, caller: Caller) -> ApiResult<Json<wire::Me>> {
    let (seen_upto, groups) = match &caller.user {
        Some(user) => (Some(st.engine.seen_upto(&user.upn).await?), st.engine.groups_of(&user.upn).await?),
        None => (None, Vec::new()),
    };
    Ok(Json(wire::Me {
        login: caller.login,
        operator: caller.operator,
        user: caller.user,
        seen_upto,
        groups,
    }))
}

async fn tenants(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Params(q): Params<NameLimit>,
) -> ApiResult<Response> {
    let page = st.engine.tenants(&caller.viewer(), paging(q.limit, q.after)?).await?;
    Ok(listed(&uri, &page, &page.items))
}

async fn add_tenant(
    With(st): With<State>,
    caller: Caller,
    Body(input): Body<NewTenant>,
) -> ApiResult<Response> {
    Ok(created(None, st.engine.run(&caller.actor(), input).await?))
}

/// A search (`search`), one tenant's users (`tenant`), or every user the caller may list.
async fn users(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Params(q): Params<Search>,
) -> ApiResult<Response> {
    let (viewer, paging) = (caller.viewer(), paging(q.limit, q.after)?);
    let page = match (q.search.as_deref(), q.tenant.as_deref()) {
        (Some(_), Some(_)) => return Err(ApiError::invalid("give `search` or `tenant`, not both")),
        (Some(text), None) => st.engine.search_users(&viewer, text, paging).await?,
        (None, tenant) => st.engine.users(&viewer, tenant, paging).await?,
    };
    Ok(listed(&uri, &page, &page.items))
}

async fn add_user(With(st): With<State>, caller: Caller, Body(input): Body<NewUser>) -> ApiResult<Response> {
    Ok(created(None, st.engine.run(&caller.actor(), input).await?))
}

async fn offers(
    With(st): With<State>,
    _: Caller,
    uri: Uri,
    Params(q): Params<NameLimit>,
) -> ApiResult<Response> {
    let page = st.engine.offers(paging(q.limit, q.after)?).await?;
    Ok(listed(&uri, &page, &page.items))
}

async fn publish_offer(
    With(st): With<State>,
    caller: Caller,
    Body(input): Body<NewOffer>,
) -> ApiResult<Response> {
    Ok(created(None, st.engine.run(&caller.actor(), input).await?))
}

async fn app_view(st: &State, app: &Application) -> ApiResult<json::App> {
    let apps = std::slice::from_ref(app);
    Ok(json::App::new(app, &st.engine.approvers(apps).await?, &st.engine.approver_groups(apps).await?))
}

async fn apps(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Params(q): Params<NameLimit>,
) -> ApiResult<Response> {
    let page = st.engine.apps(&caller.viewer(), paging(q.limit, q.after)?).await?;
    let users = st.engine.approvers(&page.items).await?;
    let groups = st.engine.approver_groups(&page.items).await?;
    let views: Vec<json::App> = page.items.iter().map(|a| json::App::new(a, &users, &groups)).collect();
    Ok(listed(&uri, &page, views))
}

async fn deploy(With(st): With<State>, caller: Caller, Body(input): Body<Deployment>) -> ApiResult<Response> {
    let app = st.engine.run(&caller.actor(), input).await?;
    Ok(created(Some(paths::application(&app.name)), app_view(&st, &app).await?))
}

async fn app(With(st): With<State>, caller: Caller, Path(name): Path<String>) -> ApiResult<Json<json::App>> {
    let app = st.engine.app(&caller.viewer(), &name).await?;
    Ok(Json(app_view(&st, &app).await?))
}

async fn set_policy(
    With(st): With<State>,
    caller: Caller,
    Path(name): Path<String>,
    Body(change): Body<PolicyChange>,
) -> ApiResult<Json<json::App>> {
    let app = st.engine.run(&caller.actor(), SetPolicy { app: name, change }).await?;
    Ok(Json(app_view(&st, &app).await?))
}

async fn requests(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Params(q): Params<RequestQuery>,
) -> ApiResult<Response> {
    let state = match q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(RequestState::parse(text).ok_or_else(|| {
            let names: Vec<&str> = RequestState::ALL.iter().map(|s| s.name()).collect();
            ApiError::invalid(format!("unknown state `{text}`; use one of {}", names.join(", ")))
        })?),
    };
    let requester = match (q.mine.unwrap_or(false), q.requester) {
        (true, Some(_)) => return Err(ApiError::invalid("give either mine=true or requester, not both")),
        (true, None) => Some(caller.need_user()?.upn.clone()),
        (false, requester) => requester.map(|r| r.trim().to_lowercase()).filter(|r| !r.is_empty()),
    };
    let app = q.app.filter(|a| !a.trim().is_empty());
    let Paging { limit, after } = paging(q.limit, q.after)?;
    let created = export::window(&st, q.since, q.until)?;
    let filter = RequestFilter { state, app, requester, created, limit, after };
    let page = st.engine.requests(&caller.viewer(), filter).await?;
    let apps = st.engine.apps_of(&caller.viewer(), &page.items).await?;
    Ok(listed(&uri, &page, json::Request::all_needing(&page.items, &apps)))
}

/// A request's view with how many approvals its application requires.
async fn needing(st: &State, caller: &Caller, request: &AccessRequest) -> ApiResult<json::Request> {
    let apps = st.engine.apps_of(&caller.viewer(), std::slice::from_ref(request)).await?;
    Ok(json::Request::new(request).needing(apps.first()))
}

async fn create_request(
    With(st): With<State>,
    caller: Caller,
    Body(input): Body<NewRequest>,
) -> ApiResult<Response> {
    let request = st.engine.run(&caller.actor(), input).await?;
    Ok(created(Some(paths::request(request.id)), needing(&st, &caller, &request).await?))
}

async fn request(
    With(st): With<State>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<json::Request>> {
    let id = id(&text)?;
    let detail = st.engine.request(&caller.viewer(), id).await?;
    let mut view = needing(&st, &caller, &detail.request).await?;
    view.history = Some(detail.history);
    Ok(Json(view))
}

async fn decide(
    st: &State,
    caller: &Caller,
    text: &str,
    approve: bool,
    reason: String,
) -> ApiResult<Json<json::Request>> {
    let decision = Decide { id: id(text)?, approve, reason };
    Ok(Json(needing(st, caller, &st.engine.run(&caller.actor(), decision).await?).await?))
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

async fn cancel(
    With(st): With<State>,
    caller: Caller,
    Path(text): Path<String>,
    OptionalBody(Nothing {}): OptionalBody<Nothing>,
) -> ApiResult<Json<json::Request>> {
    let request = st.engine.run(&caller.actor(), Cancel { id: id(&text)? }).await?;
    Ok(Json(json::Request::new(&request)))
}

async fn revoke(
    With(st): With<State>,
    caller: Caller,
    Path(text): Path<String>,
    Body(body): Body<wire::Reason>,
) -> ApiResult<Json<json::Request>> {
    let request = st.engine.run(&caller.actor(), Revoke { id: id(&text)?, reason: body.reason }).await?;
    Ok(Json(json::Request::new(&request)))
}

async fn access(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Params(q): Params<Limit>,
) -> ApiResult<Response> {
    let page = st.engine.grants(&caller.viewer(), paging(q.limit, q.after)?).await?;
    let views: Vec<json::Request> = page.items.iter().map(json::Request::new).collect();
    Ok(listed(&uri, &page, views))
}

async fn access_check(
    With(st): With<State>,
    caller: Caller,
    Params(q): Params<CheckQuery>,
) -> ApiResult<Json<json::AccessCheck>> {
    let user = match q.user.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(upn) => upn.to_lowercase(),
        None => match &caller.user {
            Some(me) => me.upn.clone(),
            None => return Err(ApiError::invalid("name the user to check with user=UPN")),
        },
    };
    let status = st.engine.access_check(&caller.viewer(), &q.app, &user).await?;
    Ok(Json(json::AccessCheck { application: q.app, user, access: (&status).into() }))
}

async fn notifications(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Params(q): Params<Limit>,
) -> ApiResult<Response> {
    let upn = &caller.need_user()?.upn;
    let page = st.engine.notifications(upn, paging(q.limit, q.after)?).await?;
    let seen = st.engine.seen_upto(upn).await?;
    let mut response = listed(&uri, &page, &page.items);
    set_header(&mut response, HeaderName::from_static(SEEN_HEADER), &seen.to_string());
    Ok(response)
}

async fn mark_seen(
    With(st): With<State>,
    caller: Caller,
    Body(body): Body<wire::MarkSeen>,
) -> ApiResult<Json<wire::Seen>> {
    let upn = caller.need_user()?.upn.clone();
    st.engine.run(&caller.actor(), MarkSeen { upto: body.upto }).await?;
    Ok(Json(wire::Seen { seen_upto: st.engine.seen_upto(&upn).await? }))
}

async fn audit(
    With(st): With<State>,
    caller: Caller,
    uri: Uri,
    Params(q): Params<AuditQuery>,
) -> ApiResult<Response> {
    let filter = AuditFilter {
        app: q.app.filter(|a| !a.trim().is_empty()),
        at: export::window(&st, q.since, q.until)?,
    };
    let page = st.engine.audit_where(&caller.viewer(), filter, paging(q.limit, q.after)?).await?;
    Ok(listed(&uri, &page, &page.items))
}
