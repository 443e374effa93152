//! One interface for the CLI and the dashboard, whether the engine runs in this process or in a
//! shared service: each call goes to the engine (`Local`) or to its route of the API (`Remote`).
//! No rule lives here; both sides answer with the same domain values and the same errors.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hyper::Method;

use super::{Client, Events, encode};
use crate::domain::rules::{self, AccessStatus, Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser};
use crate::domain::*;
use crate::engine::{
    Cancel, Command, Decide, Engine, MarkSeen, RequestDetail, Revoke, SetPolicy, SystemClock,
};
use crate::json;
use crate::service::wire::{self, MORE_HEADER};
use crate::store::{Error, OpenMode, Page, RequestFilter, Result};

/// The longest list the service gives in one answer.
const MAX_LIMIT: usize = 100_000;

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
    Local,
    Service,
}

impl Link {
    pub fn label(self) -> &'static str {
        match self {
            Link::Local => "local",
            Link::Service => "service",
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
fn header(actor: &Actor) -> Option<&str> {
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
    ) -> Result<Backend> {
        if let Some(socket) = service
            && let Some(client) = Client::discover(store, socket, as_user).await?
        {
            return Ok(Backend::Remote(client));
        }
        let clock = Arc::new(SystemClock);
        let engine = match open {
            Open::Queries => Engine::open_for_queries(store, clock).await,
            Open::Existing => Engine::open(store, OpenMode::Existing, clock).await,
            Open::Create => Engine::open(store, OpenMode::Create, clock).await,
        };
        match (engine, service) {
            (Ok(engine), _) => {
                // The same limits as the service: a local store is no way around them.
                let config = crate::config::Config::user().map_err(Error::Service)?;
                engine.set_limits(config.limits);
                Ok(Backend::Local(engine))
            }
            // A shared store is not the user's to open: what they need is the service, which is down.
            (Err(Error::Unreadable { path, detail }), Some(socket))
                if socket.exists() && detail.contains("Permission denied") =>
            {
                Err(Error::Service(format!(
                    "no jitdesk service answers on {} and you may not open {} yourself: ask the operator to start `jitdesk serve`",
                    socket.display(),
                    path.display()
                )))
            }
            (Err(e), _) => Err(e),
        }
    }

    /// Closes a local store cleanly; a service needs nothing.
    pub async fn close(self) -> Result<()> {
        match self {
            Backend::Local(engine) => engine.close().await,
            Backend::Remote(_) => Ok(()),
        }
    }

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

    /// The engine's events from now on. Through a service: once the stream is live, so what is
    /// read afterwards misses nothing; the stream ends when the service stops or goes away.
    pub async fn subscribe(&self) -> Result<Events> {
        match self {
            Backend::Local(engine) => Ok(Events::local(engine.subscribe())),
            Backend::Remote(client) => client.events().await,
        }
    }

    /// Who is acting: `--as`; else, locally, the directory user whose login is the OS login, or
    /// the local operator; through a service, whoever the service takes the caller to be.
    pub async fn actor(&self, as_user: Option<&str>) -> Result<Actor> {
        if let Some(upn) = named(as_user) {
            return Ok(Actor::User(upn));
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
                let me: wire::Me = client.get("/v1/me", None).await?;
                Ok(match me.user {
                    Some(user) => Actor::User(user.upn),
                    None => Actor::Operator(me.login.unwrap_or_else(|| "unknown".into())),
                })
            }
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
                let me: wire::Me = client.get("/v1/me", named(as_user).as_deref()).await?;
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
                let me: wire::Me = client.get("/v1/me", Some(upn)).await?;
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
            Backend::Local(engine) => engine.run(actor, command).await,
            Backend::Remote(client) => command.send(client, header(actor)).await,
        }
    }

    // ---- questions: unscoped ones answer with the caller's view (everything, locally and for a
    // service's operator; through a service, `--as` is who asks) ----

    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        match self {
            Backend::Local(engine) => engine.tenants().await,
            Backend::Remote(client) => client.get("/v1/tenants", client.as_user()).await,
        }
    }

    pub async fn search_users(&self, text: &str) -> Result<Vec<User>> {
        match self {
            Backend::Local(engine) => engine.search_users(text).await,
            Backend::Remote(client) => {
                let path = format!("/v1/users?search={}", encode(text));
                client.get(&path, client.as_user()).await
            }
        }
    }

    pub async fn offers(&self) -> Result<Vec<Offer>> {
        match self {
            Backend::Local(engine) => engine.offers().await,
            Backend::Remote(client) => client.get("/v1/offers", client.as_user()).await,
        }
    }

    pub async fn apps(&self) -> Result<Vec<Application>> {
        match self {
            Backend::Local(engine) => engine.apps().await,
            Backend::Remote(client) => {
                let views: Vec<json::App> = client.get("/v1/applications", client.as_user()).await?;
                Ok(views.into_iter().map(Application::from).collect())
            }
        }
    }

    pub async fn app(&self, name: &str) -> Result<Application> {
        match self {
            Backend::Local(engine) => engine.app(name).await,
            Backend::Remote(client) => {
                let path = format!("/v1/applications/{}", encode(name));
                Ok(client.get::<json::App>(&path, client.as_user()).await?.into())
            }
        }
    }

    pub async fn requests(&self, filter: RequestFilter) -> Result<Page<AccessRequest>> {
        match self {
            Backend::Local(engine) => engine.requests(filter).await,
            Backend::Remote(client) => {
                let mut path =
                    format!("/v1/requests?limit={}", filter.limit.unwrap_or(MAX_LIMIT).min(MAX_LIMIT));
                if let Some(state) = filter.state {
                    path.push_str(&format!("&state={}", state.name()));
                }
                if let Some(app) = &filter.app {
                    path.push_str(&format!("&app={}", encode(app)));
                }
                if let Some(requester) = &filter.requester {
                    path.push_str(&format!("&requester={}", encode(requester)));
                }
                let (views, more): (Vec<json::Request>, _) =
                    client.get_with(&path, client.as_user(), MORE_HEADER).await?;
                Ok(Page {
                    items: views.into_iter().map(AccessRequest::from).collect(),
                    more: more.as_deref() == Some("true"),
                })
            }
        }
    }

    /// The applications the user is a party to; the service scopes every read to its caller anyway.
    pub async fn apps_for(&self, upn: &str) -> Result<Vec<Application>> {
        match self {
            Backend::Local(engine) => engine.apps_for(upn).await,
            Backend::Remote(_) => self.apps().await,
        }
    }

    /// `requests` on the applications the user is a party to. Locally this walks only those
    /// applications' index ranges; the service scopes every read to its caller anyway.
    pub async fn requests_for(&self, upn: &str, filter: RequestFilter) -> Result<Page<AccessRequest>> {
        match self {
            Backend::Local(engine) => engine.requests_for(upn, filter).await,
            Backend::Remote(_) => self.requests(filter).await,
        }
    }

    pub async fn request(&self, id: u64) -> Result<RequestDetail> {
        match self {
            Backend::Local(engine) => engine.request(id).await,
            Backend::Remote(client) => {
                let mut view: json::Request =
                    client.get(&format!("/v1/requests/{id}"), client.as_user()).await?;
                let history = view.history.take().unwrap_or_default();
                Ok(RequestDetail { request: view.into(), history })
            }
        }
    }

    /// Approved access that has not ended: active now, or scheduled to start.
    pub async fn grants(&self) -> Result<Vec<AccessRequest>> {
        match self {
            Backend::Local(engine) => engine.grants().await,
            Backend::Remote(client) => grants(client, client.as_user()).await,
        }
    }

    pub async fn access_check(&self, app: &str, upn: &str) -> Result<AccessStatus> {
        match self {
            Backend::Local(engine) => engine.access_check(app, upn).await,
            Backend::Remote(client) => {
                let path = format!("/v1/access/check?app={}&user={}", encode(app), encode(upn));
                Ok(client.get::<json::AccessCheck>(&path, client.as_user()).await?.access.into())
            }
        }
    }

    pub async fn audit(&self, limit: usize) -> Result<Vec<AuditRecord>> {
        match self {
            Backend::Local(engine) => engine.audit(limit).await,
            Backend::Remote(client) => audit(client, client.as_user(), limit).await,
        }
    }

    // ---- questions about one directory user, as that user ----

    /// The user's notifications, newest first.
    pub async fn notifications(&self, upn: &str, limit: usize) -> Result<Vec<Notification>> {
        match self {
            Backend::Local(engine) => engine.notifications(upn, limit).await,
            Backend::Remote(client) => {
                let path = format!("/v1/notifications?limit={}", limit.min(MAX_LIMIT));
                client.get(&path, Some(upn)).await
            }
        }
    }

    /// Current grants on the applications the user is a party to.
    pub async fn grants_for(&self, upn: &str) -> Result<Vec<AccessRequest>> {
        match self {
            Backend::Local(engine) => engine.grants_for(upn).await,
            Backend::Remote(client) => grants(client, Some(upn)).await,
        }
    }

    /// The audit records of the applications the user is a party to, newest first.
    pub async fn audit_for(&self, upn: &str, limit: usize) -> Result<Vec<AuditRecord>> {
        match self {
            Backend::Local(engine) => engine.audit_for(upn, limit).await,
            Backend::Remote(client) => audit(client, Some(upn), limit).await,
        }
    }
}

async fn grants(client: &Client, as_user: Option<&str>) -> Result<Vec<AccessRequest>> {
    let views: Vec<json::Request> = client.get("/v1/access", as_user).await?;
    Ok(views.into_iter().map(AccessRequest::from).collect())
}

async fn audit(client: &Client, as_user: Option<&str>, limit: usize) -> Result<Vec<AuditRecord>> {
    client.get(&format!("/v1/audit?limit={}", limit.min(MAX_LIMIT)), as_user).await
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
        client.submit(Method::POST, "/v1/tenants", as_user, &self).await
    }
}

impl Routed for NewUser {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<User> {
        client.submit(Method::POST, "/v1/users", as_user, &self).await
    }
}

impl Routed for NewOffer {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<Offer> {
        client.submit(Method::POST, "/v1/offers", as_user, &self).await
    }
}

impl Routed for Deployment {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<Application> {
        let view: json::App = client.submit(Method::POST, "/v1/applications", as_user, &self).await?;
        Ok(view.into())
    }
}

impl Routed for SetPolicy {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<Application> {
        let path = format!("/v1/applications/{}", encode(&self.app));
        let view: json::App = client.submit(Method::PATCH, &path, as_user, &self.change).await?;
        Ok(view.into())
    }
}

impl Routed for NewRequest {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<AccessRequest> {
        let view: json::Request = client.submit(Method::POST, "/v1/requests", as_user, &self).await?;
        Ok(view.into())
    }
}

impl Routed for Decide {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<AccessRequest> {
        let verb = if self.approve { "approve" } else { "deny" };
        let path = format!("/v1/requests/{}/{verb}", self.id);
        let body = wire::Reason { reason: self.reason };
        let view: json::Request = client.submit(Method::POST, &path, as_user, &body).await?;
        Ok(view.into())
    }
}

impl Routed for Cancel {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<AccessRequest> {
        let path = format!("/v1/requests/{}/cancel", self.id);
        let view: json::Request = client.submit(Method::POST, &path, as_user, &serde_json::json!({})).await?;
        Ok(view.into())
    }
}

impl Routed for Revoke {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<AccessRequest> {
        let path = format!("/v1/access/{}/revoke", self.id);
        let body = wire::Reason { reason: self.reason };
        let view: json::Request = client.submit(Method::POST, &path, as_user, &body).await?;
        Ok(view.into())
    }
}

impl Routed for MarkSeen {
    async fn send(self, client: &Client, as_user: Option<&str>) -> Result<()> {
        let body = wire::MarkSeen { upto: self.upto };
        let _: wire::Seen = client.submit(Method::POST, "/v1/notifications/seen", as_user, &body).await?;
        Ok(())
    }
}
