//! Read-only questions, answered from a snapshot on a blocking thread so callers never wait on the writer.

use super::Engine;
use crate::domain::rules::{self, AccessStatus};
use crate::domain::*;
use crate::store::{Page, RequestFilter, Result};

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
