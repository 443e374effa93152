//! Read-only questions, answered from a snapshot on a blocking thread so callers never wait on the writer.

use super::Engine;
use crate::domain::rules::{self, AccessStatus};
use crate::domain::*;
use std::collections::HashSet;

use crate::store::{Page, Read, RequestFilter, Result, Tables};

fn visible_apps(t: &Tables<Read>, upn: &str) -> Result<HashSet<String>> {
    let user = rules::need_user(t, upn)?;
    Ok(t.apps()?.into_iter().filter(|a| rules::can_see(&user, a)).map(|a| a.name).collect())
}

fn need_visible_app(t: &Tables<Read>, upn: &str, name: &str) -> Result<Application> {
    let user = rules::need_user(t, upn)?;
    let app = rules::need_app(t, name)?;
    if rules::can_see(&user, &app) {
        return Ok(app);
    }
    Err(rules::no_app(name).into())
}

fn no_request(id: u64) -> crate::store::Error {
    RuleError::not_found(format!("no request {id}: see `jitdesk request list`")).into()
}

/// A request with everything that happened to it.
#[derive(Debug, Clone)]
pub struct RequestDetail {
    pub request: AccessRequest,
    pub history: Vec<AuditRecord>,
}

impl Engine {
    pub async fn user(&self, upn: &str) -> Result<User> {
        let upn = upn.to_string();
        self.read(move |t| rules::need_user(t, &upn)).await
    }

    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        let login = login.to_string();
        self.read(move |t| rules::Lookup::user_by_login(t, &login)).await
    }

    pub async fn is_empty(&self) -> Result<bool> {
        self.read(|t| t.is_empty()).await
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        self.read(|t| t.tenants()).await
    }

    pub async fn search_users(&self, text: &str) -> Result<Vec<User>> {
        let text = text.to_string();
        self.read(move |t| t.search_users(&text)).await
    }

    pub async fn offers(&self) -> Result<Vec<Offer>> {
        self.read(|t| t.offers()).await
    }

    pub async fn apps(&self) -> Result<Vec<Application>> {
        self.read(|t| t.apps()).await
    }

    pub async fn app(&self, name: &str) -> Result<Application> {
        let name = name.to_string();
        self.read(move |t| rules::need_app(t, &name)).await
    }

    pub async fn requests(&self, filter: RequestFilter) -> Result<Page<AccessRequest>> {
        self.read(move |t| t.requests(&filter)).await
    }

    pub async fn request(&self, id: u64) -> Result<RequestDetail> {
        self.read(move |t| Ok(RequestDetail { request: t.need_request(id)?, history: t.history(id)? })).await
    }

    /// Approved access that has not ended: active now, or scheduled to start.
    pub async fn grants(&self) -> Result<Vec<AccessRequest>> {
        let now = self.now();
        self.read(move |t| t.current_grants(now)).await
    }

    pub async fn access_check(&self, app: &str, upn: &str) -> Result<AccessStatus> {
        let (app, upn, now) = (app.to_string(), upn.to_string(), self.now());
        self.read(move |t| {
            let app = rules::need_app(t, &app)?;
            let user = rules::need_user(t, &upn)?;
            let requests = t.requests_of(&user.upn, &app.name)?;
            Ok(rules::access_status(&app, &user, &requests, now))
        })
        .await
    }

    /// The audit records a directory user may see (those of applications they are a party to),
    /// newest first.
    pub async fn audit_for(&self, upn: &str, limit: usize) -> Result<Vec<AuditRecord>> {
        let upn = upn.to_string();
        self.read(move |t| t.audit_in(&visible_apps(t, &upn)?, limit)).await
    }

    /// Current grants on the applications a directory user is a party to.
    pub async fn grants_for(&self, upn: &str) -> Result<Vec<AccessRequest>> {
        let (upn, now) = (upn.to_string(), self.now());
        self.read(move |t| {
            let apps = visible_apps(t, &upn)?;
            t.current_grants_in(now, &apps)
        })
        .await
    }

    /// The applications a directory user is a party to (its customer or its publisher).
    pub async fn apps_for(&self, upn: &str) -> Result<Vec<Application>> {
        let upn = upn.to_string();
        self.read(move |t| {
            let user = rules::need_user(t, &upn)?;
            Ok(t.apps()?.into_iter().filter(|a| rules::can_see(&user, a)).collect())
        })
        .await
    }

    /// One application, if the user may see it; otherwise the same answer as for a missing one, so
    /// that names of other tenants' applications do not leak.
    pub async fn app_for(&self, upn: &str, name: &str) -> Result<Application> {
        let (upn, name) = (upn.to_string(), name.to_string());
        self.read(move |t| need_visible_app(t, &upn, &name)).await
    }

    /// Whether the user may see the application's requests, grants and history. False for an
    /// application that does not exist.
    pub async fn sees_app(&self, upn: &str, name: &str) -> Result<bool> {
        let (upn, name) = (upn.to_string(), name.to_string());
        self.read(move |t| {
            let user = rules::need_user(t, &upn)?;
            Ok(t.get_app(&name)?.is_some_and(|a| rules::can_see(&user, &a)))
        })
        .await
    }

    /// `requests`, limited to the applications the user is a party to.
    pub async fn requests_for(&self, upn: &str, filter: RequestFilter) -> Result<Page<AccessRequest>> {
        let upn = upn.to_string();
        self.read(move |t| t.requests_in(&filter, &visible_apps(t, &upn)?)).await
    }

    /// `request`, if the user may see it; otherwise the answer for a request that does not exist.
    pub async fn request_for(&self, upn: &str, id: u64) -> Result<RequestDetail> {
        let upn = upn.to_string();
        self.read(move |t| {
            let request = t.need_request(id)?;
            if !visible_apps(t, &upn)?.contains(&request.app) {
                return Err(no_request(id));
            }
            Ok(RequestDetail { history: t.history(id)?, request })
        })
        .await
    }

    /// `access_check`, on an application the asking user may see.
    pub async fn access_check_for(&self, viewer: &str, app: &str, upn: &str) -> Result<AccessStatus> {
        let (viewer, app, upn, now) = (viewer.to_string(), app.to_string(), upn.to_string(), self.now());
        self.read(move |t| {
            let app = need_visible_app(t, &viewer, &app)?;
            let user = rules::need_user(t, &upn)?;
            let requests = t.requests_of(&user.upn, &app.name)?;
            Ok(rules::access_status(&app, &user, &requests, now))
        })
        .await
    }

    pub async fn notifications(&self, upn: &str, limit: usize) -> Result<Vec<Notification>> {
        let upn = upn.to_lowercase();
        self.read(move |t| t.notifications_of(&upn, limit)).await
    }

    /// The id of the newest notification the user has seen.
    pub async fn seen_upto(&self, upn: &str) -> Result<u64> {
        let upn = upn.to_lowercase();
        self.read(move |t| t.seen_upto(&upn)).await
    }

    pub async fn audit(&self, limit: usize) -> Result<Vec<AuditRecord>> {
        self.read(move |t| t.audit_log(limit)).await
    }
}
