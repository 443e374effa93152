//! One interface for the CLI and the dashboard, whether the engine runs in this process or in a
//! shared service: each call goes to the engine (`Local`) or to its route of the API (`Remote`).
//! No rule lives here; both sides answer with the same domain values and the same errors.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hyper::Method;

use super::{Client, Events};
use super::{Error, Result};
use crate::api::paths::{self, encode};
use crate::api::wire::{self, MORE_HEADER};
use crate::config::Config;
use crate::domain::identity::{NewToken, SshKey, TenantCa, TokenInfo};
use crate::domain::list::MAX_LIMIT;
use crate::domain::rules::{self, AccessStatus, Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser};
use crate::domain::*;
use crate::engine::{AddCa, AddKey, NewSecret, RemoveCa, RemoveKey, RevokeToken};
use crate::engine::{
    Cancel, Command, Decide, DecideExtension, Engine, Extend, MarkSeen, RequestDetail, Revoke, SetPolicy,
    SystemClock, Viewer,
};
use crate::engine::{OpenMode, RequestFilter, StoreError};
use crate::json;
use serde::de::DeserializeOwned;

/// Where the engine runs.
#[derive(Clone)]
pub enum Backend {
    /// In this process: the store is opened here.
    Local(Engine),
    /// In a shared service (`jitdesk serve`) that owns the store.
    Remote(Client),
}

/// How the store is reached, for people: the dashboard's header shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The store is open in this process.
    Local,
    /// A shared service owns the store and answers over its socket.
    Service,
    /// The dashboard runs inside the service, for a client that reached it over SSH.
    Ssh,
}

impl Link {
    /// The word the dashboard's header shows: `local`, `service` or `ssh`.
    pub fn label(self) -> &'static str {
        match self {
            Link::Local => "local",
            Link::Service => "service",
            Link::Ssh => "ssh",
        }
    }
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// How to open the store when no service runs for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Only to ask questions: read-only while nothing is due (`Engine::open_for_queries`).
    Queries,
    /// An existing store.
    Existing,
    /// Created when missing (the dashboard's first run).
    Create,
}

impl From<Engine> for Backend {
    fn from(engine: Engine) -> Self {
        Backend::Local(engine)
    }
}

impl From<&Engine> for Backend {
    fn from(engine: &Engine) -> Self {
        Backend::Local(engine.clone())
    }
}

impl From<&Backend> for Backend {
    fn from(backend: &Backend) -> Self {
        backend.clone()
    }
}

/// Set (to anything) in the environment of a command the SSH door runs: the command works only
/// through the service it was given, and never opens the store itself, which its process could.
pub const SERVICE_ONLY_ENV: &str = "JITDESK_SERVICE_ONLY";

/// The OS login of this process's user, as the CLI has always read it.
pub fn os_login() -> Option<String> {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok().filter(|l| !l.is_empty())
}

/// `--as`, trimmed and lower-cased; an empty one is none.
fn named(as_user: Option<&str>) -> Option<String> {
    as_user.map(str::trim).filter(|u| !u.is_empty()).map(str::to_lowercase)
}

/// Whom a command is sent as: a directory user is named; the operator acting as itself is not
/// (the service knows its operator by the socket's peer credentials).
pub(super) fn header(actor: &Actor) -> Option<&str> {
    match actor {
        Actor::User(upn) => Some(upn),
        Actor::Operator(_) => None,
    }
}

impl Backend {
    /// The service for the store when one answers on `service` (the socket path, given only when
    /// a socket file is there) and serves that store; otherwise the store opened in this process.
    pub async fn open(
        store: &Path,
        service: Option<&Path>,
        as_user: Option<&str>,
        open: Open,
        config: &Config,
    ) -> Result<Backend> {
        if let Some(socket) = service
            && let Some(client) = Client::discover(store, socket, as_user).await?
        {
            return Ok(Backend::Remote(client));
        }
        if std::env::var_os(SERVICE_ONLY_ENV).is_some() {
            return Err(Error::Service(format!(
                "no jitdesk service answers on {}, and this command runs only through one: try again shortly",
                service.map_or_else(|| "its socket".to_string(), |s| s.display().to_string())
            )));
        }
        // The same limits as the service, so a local store is no way around them, and the cache
        // the config sets, before the store is opened with it.
        config.store.apply();
        let clock = Arc::new(SystemClock);
        let engine = match open {
            Open::Queries => Engine::open_for_queries(store, clock).await,
            Open::Existing => Engine::open(store, OpenMode::Existing, clock).await,
            Open::Create => Engine::open(store, OpenMode::Create, clock).await,
        };
        match (engine, service) {
            (Ok(engine), _) => {
                engine.set_limits(config.limits);
                Ok(Backend::Local(engine))
            }
            // A shared store is not the user's to open: what they need is the service, which is down.
            (Err(crate::engine::Error::Storage(StoreError::Unreadable { path, detail })), Some(socket))
                if socket.exists() && detail.contains("Permission denied") =>
            {
                Err(Error::Service(format!(
                    "no jitdesk service answers on {} and you may not open {} yourself: ask the operator to start `jitdesk serve`",
                    socket.display(),
                    path.display()
                )))
            }
            (Err(e), _) => Err(e.into()),
        }
    }

    /// Closes a local store cleanly; a service needs nothing.
    pub async fn close(self) -> Result<()> {
        match self {
            Backend::Local(engine) => Ok(engine.close().await?),
            Backend::Remote(_) => Ok(()),
        }
    }

    /// How this backend reaches the store.
    pub fn link(&self) -> Link {
        match self {
            Backend::Local(_) => Link::Local,
            Backend::Remote(_) => Link::Service,
        }
    }

    /// The engine's clock (a service runs on this host's clock, as this process does).
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Backend::Local(engine) => engine.now(),
            Backend::Remote(_) => Utc::now(),
        }
    }

    /// The engine's events from now on, as `actor` may see them. Through a service: once the
    /// stream is live, so what is read afterwards misses nothing; the stream ends when the service
    /// stops or goes away (it knows the caller, and sends only what they may see).
    pub async fn subscribe(&self, actor: &Actor) -> Result<Events> {
        match self {
            Backend::Local(engine) => Ok(Events::local(engine.subscribe_for(header(actor)))),
            Backend::Remote(client) => client.events().await,
        }
    }

    /// Who is acting: `--as`; else, locally, the directory user whose login is the OS login, or
    /// the local operator; through a service, whoever the service takes the caller to be. An `--as`
    /// that names no directory user is refused here, as a service refuses it, and never falls back
    /// to the operator.
    pub async fn actor(&self, as_user: Option<&str>) -> Result<Actor> {
        if let Some(upn) = named(as_user) {
            return match self {
                Backend::Local(engine) => Ok(Actor::User(engine.user(&upn).await?.upn)),
                Backend::Remote(_) => Ok(Actor::User(upn)),
            };
        }
        match self {
            Backend::Local(engine) => {
                let login = os_login();
                if let Some(login) = &login
                    && let Some(user) = engine.user_by_login(login).await?
                {
                    return Ok(Actor::User(user.upn));
                }
                Ok(Actor::Operator(login.unwrap_or_else(|| "unknown".into())))
            }
            Backend::Remote(client) => {
                let me: wire::Me = client.get(paths::ME, None).await?;
                Ok(match me.user {
                    Some(user) => Actor::User(user.upn),
                    None => Actor::Operator(me.login.unwrap_or_else(|| "unknown".into())),
                })
            }
        }
    }

    /// Whose view reads answer: the one who acts (`actor`), so the CLI on a local store sees what
    /// the same user sees through a service. Through a service, without `--as`, the operator's view
    /// is asked for: the service answers a caller who is not its operator with their own view (or
    /// refuses them), so there is nothing to ask first.
    pub async fn viewer(&self, as_user: Option<&str>) -> Result<Viewer> {
        match (self, named(as_user)) {
            (Backend::Remote(_), Some(upn)) => Ok(Viewer::User(upn)),
            (Backend::Remote(_), None) => Ok(Viewer::Operator),
            (Backend::Local(_), _) => Ok(Viewer::from(&self.actor(as_user).await?)),
        }
    }

    /// The directory user acting (`actor`), for what needs one; refused as the engine refuses.
    pub async fn need_user(&self, as_user: Option<&str>) -> Result<String> {
        match self {
            Backend::Local(engine) => match self.actor(as_user).await? {
                Actor::User(upn) => Ok(engine.user(&upn).await?.upn),
                Actor::Operator(_) => Err(rules::needs_user().into()),
            },
            Backend::Remote(client) => {
                let me: wire::Me = client.get(paths::ME, named(as_user).as_deref()).await?;
                me.user.map(|u| u.upn).ok_or_else(|| rules::needs_user().into())
            }
        }
    }

    /// A directory user and the newest notification they have seen: who the dashboard shows.
    pub async fn me(&self, upn: &str) -> Result<(User, u64)> {
        match self {
            Backend::Local(engine) => {
                let user = engine.user(upn).await?;
                let seen = engine.seen_upto(&user.upn).await?;
                Ok((user, seen))
            }
            Backend::Remote(client) => {
                let me: wire::Me = client.get(paths::ME, Some(upn)).await?;
                match me.user {
                    Some(user) => Ok((user, me.seen_upto.unwrap_or(0))),
                    None => Err(rules::needs_user().into()),
                }
            }
        }
    }

    /// Runs a command as `actor`; it returns once the change is durable.
    pub async fn run<C: Routed>(&self, actor: &Actor, command: C) -> Result<C::Output> {
        match self {
            Backend::Local(engine) => Ok(engine.run(actor, command).await?),
            Backend::Remote(client) => command.send(client, header(actor)).await,
        }
    }

    // ---- questions: the directory answers anyone; everything else is answered for a viewer ----

    /// The tenants the viewer sees, in id order.
    pub async fn tenants(&self, viewer: &Viewer, paging: Paging<String>) -> Result<Page<Tenant>> {
        match self {
            Backend::Local(engine) => Ok(engine.tenants(viewer, whole(paging)).await?),
            Backend::Remote(client) => list(client, as_header(viewer), paths::TENANTS, vec![], paging).await,
        }
    }

    /// Users whose UPN or display name contains the text, ignoring case, in UPN order, among those
    /// the viewer may list.
    pub async fn search_users(
        &self,
        viewer: &Viewer,
        text: &str,
        paging: Paging<String>,
    ) -> Result<Page<User>> {
        match self {
            Backend::Local(engine) => Ok(engine.search_users(viewer, text, whole(paging)).await?),
            Backend::Remote(client) => {
                let query = vec![("search", text.to_string())];
                list(client, as_header(viewer), paths::USERS, query, paging).await
            }
        }
    }

    /// Offers in id order.
    pub async fn offers(&self, paging: Paging<String>) -> Result<Page<Offer>> {
        match self {
            Backend::Local(engine) => Ok(engine.offers(whole(paging)).await?),
            Backend::Remote(client) => list(client, client.as_user(), paths::OFFERS, vec![], paging).await,
        }
    }

    /// The applications the viewer may see, in name order.
    pub async fn apps(&self, viewer: &Viewer, paging: Paging<String>) -> Result<Page<Application>> {
        match self {
            Backend::Local(engine) => Ok(engine.apps(viewer, whole(paging)).await?),
            Backend::Remote(_) => {
                let page = self.app_views(viewer, paging).await?;
                Ok(Page { items: page.items.into_iter().map(Application::from).collect(), more: page.more })
            }
        }
    }

    /// The applications the viewer may see as the API shows them (each approver with their display
    /// name), in name order. Through a service these are its own views: it looks each approver up
    /// in its directory, which a client could only search for.
    pub async fn app_views(&self, viewer: &Viewer, paging: Paging<String>) -> Result<Page<json::App>> {
        match self {
            Backend::Local(engine) => {
                let page = engine.apps(viewer, whole(paging)).await?;
                let users = engine.approvers(&page.items).await?;
                let groups = engine.approver_groups(&page.items).await?;
                let views = page.items.iter().map(|a| json::App::new(a, &users, &groups)).collect();
                Ok(Page { items: views, more: page.more })
            }
            Backend::Remote(client) => {
                list(client, as_header(viewer), paths::APPLICATIONS, vec![], paging).await
            }
        }
    }

    /// One application, if the viewer may see it; otherwise the same "not found" as a missing one.
    pub async fn app(&self, viewer: &Viewer, name: &str) -> Result<Application> {
        match self {
            Backend::Local(engine) => Ok(engine.app(viewer, name).await?),
            Backend::Remote(_) => Ok(self.app_view(viewer, name).await?.into()),
        }
    }

    /// One application as the API shows it, if the viewer may see it (see `app_views`).
    pub async fn app_view(&self, viewer: &Viewer, name: &str) -> Result<json::App> {
        match self {
            Backend::Local(engine) => {
                let app = engine.app(viewer, name).await?;
                let apps = std::slice::from_ref(&app);
                let (users, groups) = (engine.approvers(apps).await?, engine.approver_groups(apps).await?);
                Ok(json::App::new(&app, &users, &groups))
            }
            Backend::Remote(client) => client.get(&paths::application(name), as_header(viewer)).await,
        }
    }

    /// The applications of these requests, each once, as the viewer may see them.
    pub async fn apps_of(&self, viewer: &Viewer, requests: &[AccessRequest]) -> Result<Vec<Application>> {
        match self {
            Backend::Local(engine) => Ok(engine.apps_of(viewer, requests).await?),
            Backend::Remote(_) => {
                let mut apps = Vec::new();
                for name in crate::engine::names_of(requests) {
                    apps.push(self.app(viewer, &name).await?);
                }
                Ok(apps)
            }
        }
    }

    /// Requests on the applications the viewer may see, newest first.
    pub async fn requests(&self, viewer: &Viewer, filter: RequestFilter) -> Result<Page<AccessRequest>> {
        let paging = whole(Paging { limit: filter.limit, after: filter.after });
        match self {
            Backend::Local(engine) => {
                Ok(engine.requests(viewer, RequestFilter { limit: paging.limit, ..filter }).await?)
            }
            Backend::Remote(client) => {
                let mut query = Vec::new();
                if let Some(state) = filter.state {
                    query.push(("state", state.name().to_string()));
                }
                if let Some(app) = &filter.app {
                    query.push(("app", app.clone()));
                }
                if let Some(requester) = &filter.requester {
                    query.push(("requester", requester.clone()));
                }
                query.extend(window_query(&filter.created));
                let page: Page<json::Request> =
                    list(client, as_header(viewer), paths::REQUESTS, query, paging).await?;
                Ok(Page { items: page.items.into_iter().map(AccessRequest::from).collect(), more: page.more })
            }
        }
    }

    /// One request with its history, if the viewer may see it.
    pub async fn request(&self, viewer: &Viewer, id: u64) -> Result<RequestDetail> {
        match self {
            Backend::Local(engine) => Ok(engine.request(viewer, id).await?),
            Backend::Remote(client) => {
                let mut view: json::Request = client.get(&paths::request(id), as_header(viewer)).await?;
                let history = view.history.take().unwrap_or_default();
                Ok(RequestDetail { request: view.into(), history })
            }
        }
    }

    /// Approved access that has not ended (active now, or scheduled to start), as the viewer sees it.
    pub async fn grants(&self, viewer: &Viewer, paging: Paging<u64>) -> Result<Page<AccessRequest>> {
        match self {
            Backend::Local(engine) => Ok(engine.grants(viewer, whole(paging)).await?),
            Backend::Remote(client) => {
                let page: Page<json::Request> =
                    list(client, as_header(viewer), paths::ACCESS, vec![], paging).await?;
                Ok(Page { items: page.items.into_iter().map(AccessRequest::from).collect(), more: page.more })
            }
        }
    }

    /// Whether `upn` has access to the application now, as the viewer may see it.
    pub async fn access_check(&self, viewer: &Viewer, app: &str, upn: &str) -> Result<AccessStatus> {
        match self {
            Backend::Local(engine) => Ok(engine.access_check(viewer, app, upn).await?),
            Backend::Remote(client) => {
                let path = format!("{}?app={}&user={}", paths::ACCESS_CHECK, encode(app), encode(upn));
                Ok(client.get::<json::AccessCheck>(&path, as_header(viewer)).await?.access.into())
            }
        }
    }

    /// The audit records the viewer may see that the filter admits, newest first.
    pub async fn audit(
        &self,
        viewer: &Viewer,
        filter: AuditFilter,
        paging: Paging<u64>,
    ) -> Result<Page<AuditRecord>> {
        match self {
            Backend::Local(engine) => Ok(engine.audit_where(viewer, filter, whole(paging)).await?),
            Backend::Remote(client) => {
                let mut query = window_query(&filter.at);
                query.extend(filter.app.map(|app| ("app", app)));
                list(client, as_header(viewer), paths::AUDIT, query, paging).await
            }
        }
    }

    /// A user's SSH keys, for the user themself or the operator.
    pub async fn ssh_keys(&self, viewer: &Viewer, upn: &str, paging: Paging<String>) -> Result<Page<SshKey>> {
        match self {
            Backend::Local(engine) => Ok(engine.ssh_keys(viewer, upn, whole(paging)).await?),
            Backend::Remote(client) => {
                list(client, as_header(viewer), &paths::user_keys(upn), vec![], paging).await
            }
        }
    }

    /// The SSH certificate authorities a tenant trusts, for its admins or the operator.
    pub async fn tenant_cas(
        &self,
        viewer: &Viewer,
        tenant: &str,
        paging: Paging<String>,
    ) -> Result<Page<TenantCa>> {
        match self {
            Backend::Local(engine) => Ok(engine.tenant_cas(viewer, tenant, whole(paging)).await?),
            Backend::Remote(client) => {
                list(client, as_header(viewer), &paths::tenant_cas(tenant), vec![], paging).await
            }
        }
    }

    /// The API tokens the viewer may see, never with their secret.
    pub async fn tokens(&self, viewer: &Viewer, paging: Paging<String>) -> Result<Page<TokenInfo>> {
        match self {
            Backend::Local(engine) => Ok(engine.tokens(viewer, whole(paging)).await?),
            Backend::Remote(client) => list(client, as_header(viewer), paths::TOKENS, vec![], paging).await,
        }
    }

    // ---- questions about one directory user, as that user ----

    /// The user's notifications, newest first.
    pub async fn notifications(&self, upn: &str, paging: Paging<u64>) -> Result<Page<Notification>> {
        match self {
            Backend::Local(engine) => Ok(engine.notifications(upn, whole(paging)).await?),
            Backend::Remote(client) => list(client, Some(upn), paths::NOTIFICATIONS, vec![], paging).await,
        }
    }
}

/// A paging without a limit asks for as much as one answer may hold, here as from a service.
pub(super) fn whole<C>(paging: Paging<C>) -> Paging<C> {
    Paging { limit: Some(paging.limit.unwrap_or(MAX_LIMIT)), after: paging.after }
}

/// A window as a list route's query: its bounds in RFC 3339, each when it has one.
fn window_query(window: &Window) -> Vec<(&'static str, String)> {
    let since = window.since.map(|t| ("since", t.to_rfc3339()));
    since.into_iter().chain(window.until.map(|t| ("until", t.to_rfc3339()))).collect()
}

/// Whom a question is asked as: a directory user is named; the operator's view is asked without a
/// name (a service answers a caller who is not its operator with that caller's own view).
pub(super) fn as_header(viewer: &Viewer) -> Option<&str> {
    match viewer {
        Viewer::User(upn) => Some(upn),
        Viewer::Operator => None,
    }
}

/// One part of a list route's answer, asked as `as_user`: `query` and the paging as its query string.
pub(super) async fn list<T: DeserializeOwned, C: std::fmt::Display>(
    client: &Client,
    as_user: Option<&str>,
    route: &str,
    mut query: Vec<(&str, String)>,
    paging: Paging<C>,
) -> Result<Page<T>> {
    let paging = whole(paging);
    query.extend(paging.limit.map(|limit| ("limit", limit.to_string())));
    query.extend(paging.after.map(|after| ("after", after.to_string())));
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    let path = format!("{route}?{}", query.join("&"));
    let (items, more) = client.get_with(&path, as_user, MORE_HEADER).await?;
    Ok(Page { items, more: more.as_deref() == Some("true") })
}

/// A command a service can run: the route that does what `Command::apply` does in this process.
pub trait Routed: Command {
    /// Sends the command, as `as_user` (None: as whoever the service takes the caller to be).
    fn send(
        self,
        client: &Client,
        as_user: Option<&str>,
    ) -> impl Future<Output = Result<Self::Output>> + Send;
}

impl Routed for NewTenant {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<Tenant> {
        client.submit(Method::POST, paths::TENANTS, as_user, &self).await
    }
}

impl Routed for NewUser {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<User> {
        client.submit(Method::POST, paths::USERS, as_user, &self).await
    }
}

impl Routed for NewOffer {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<Offer> {
        client.submit(Method::POST, paths::OFFERS, as_user, &self).await
    }
}

impl Routed for Deployment {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<Application> {
        let view: json::App = client.submit(Method::POST, paths::APPLICATIONS, as_user, &self).await?;
        Ok(view.into())
    }
}

impl Routed for SetPolicy {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<Application> {
        let path = paths::application(&self.app);
        let view: json::App = client.submit(Method::PATCH, &path, as_user, &self.change).await?;
        Ok(view.into())
    }
}

impl Routed for NewRequest {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<AccessRequest> {
        let view: json::Request = client.submit(Method::POST, paths::REQUESTS, as_user, &self).await?;
        Ok(view.into())
    }
}

impl Routed for Decide {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<AccessRequest> {
        let path = paths::decide(self.id, self.approve);
        let body = wire::Reason { reason: self.reason };
        let view: json::Request = client.submit(Method::POST, &path, as_user, &body).await?;
        Ok(view.into())
    }
}

impl Routed for Cancel {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<AccessRequest> {
        let path = paths::cancel(self.id);
        let view: json::Request = client.submit(Method::POST, &path, as_user, &serde_json::json!({})).await?;
        Ok(view.into())
    }
}

impl Routed for Extend {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<AccessRequest> {
        let body = wire::Extension { by: self.by, reason: self.reason };
        let view: json::Request =
            client.submit(Method::POST, &paths::extend(self.id), as_user, &body).await?;
        Ok(view.into())
    }
}

impl Routed for DecideExtension {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<AccessRequest> {
        let path = paths::decide_extension(self.id, self.approve);
        let body = wire::Reason { reason: self.reason };
        let view: json::Request = client.submit(Method::POST, &path, as_user, &body).await?;
        Ok(view.into())
    }
}

impl Routed for Revoke {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<AccessRequest> {
        let path = paths::revoke(self.id);
        let body = wire::Reason { reason: self.reason };
        let view: json::Request = client.submit(Method::POST, &path, as_user, &body).await?;
        Ok(view.into())
    }
}

impl Routed for MarkSeen {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<()> {
        let body = wire::MarkSeen { upto: self.upto };
        let _: wire::Seen = client.submit(Method::POST, paths::SEEN, as_user, &body).await?;
        Ok(())
    }
}

impl Routed for AddKey {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<SshKey> {
        let body = wire::PublicKey { key: self.key };
        client.submit(Method::POST, &paths::user_keys(&self.upn), as_user, &body).await
    }
}

impl Routed for RemoveKey {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<SshKey> {
        let path = paths::user_key(&self.upn, &self.fingerprint);
        client.submit(Method::DELETE, &path, as_user, &serde_json::json!({})).await
    }
}

impl Routed for AddCa {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<TenantCa> {
        let body = wire::PublicKey { key: self.key };
        client.submit(Method::POST, &paths::tenant_cas(&self.tenant), as_user, &body).await
    }
}

impl Routed for RemoveCa {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<TenantCa> {
        let path = paths::tenant_ca(&self.tenant, &self.fingerprint);
        client.submit(Method::DELETE, &path, as_user, &serde_json::json!({})).await
    }
}

impl Routed for NewToken {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<NewSecret> {
        client.submit(Method::POST, paths::TOKENS, as_user, &self).await
    }
}

impl Routed for RevokeToken {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<TokenInfo> {
        client.submit(Method::POST, &paths::token_revoke(&self.id), as_user, &serde_json::json!({})).await
    }
}
