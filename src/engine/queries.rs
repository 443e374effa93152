//! Read-only questions, answered from a snapshot on a blocking thread so callers never wait on the writer.

use super::Engine;
use crate::domain::list::MAX_LIMIT;
use crate::domain::rules::{self, AccessStatus, Actor};
use crate::domain::*;
use std::collections::HashSet;
use std::sync::Arc;

use super::Result;
use super::storage::Reads;

/// Whose view a question is answered for. Every read that can show what belongs to a tenant takes
/// one, so no caller can forget to scope it: a directory user sees the applications their tenant is
/// a party to (its customer or its publisher) and what happens on them; the operator, who manages
/// the directory, sees everything and has to say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// The service's own user, who sees everything.
    Operator,
    /// A directory user, by UPN.
    User(String),
}

impl From<&Actor> for Viewer {
    fn from(actor: &Actor) -> Self {
        match actor {
            Actor::User(upn) => Viewer::User(upn.clone()),
            Actor::Operator(_) => Viewer::Operator,
        }
    }
}

/// The applications a viewer may see: None for all of them (the operator). A viewer naming no
/// directory user is refused as the directory refuses it.
pub(super) fn scope(t: &dyn Reads, viewer: &Viewer) -> Result<Option<HashSet<String>>> {
    let Viewer::User(upn) = viewer else { return Ok(None) };
    let user = rules::need_user(t, upn)?;
    let apps = t.apps_of(&user.tenant, &Paging::default(), &|a| rules::can_see(&user, a))?.items;
    Ok(Some(apps.into_iter().map(|a| a.name).collect()))
}

/// One application, if the viewer may see it; otherwise the same answer as for a missing one, so
/// that names of other tenants' applications do not leak.
pub(super) fn need_visible_app(t: &dyn Reads, viewer: &Viewer, name: &str) -> Result<Application> {
    match viewer {
        Viewer::Operator => rules::need_app(t, name),
        Viewer::User(upn) => rules::need_visible_app(t, &rules::need_user(t, upn)?, name),
    }
}

/// A filter naming its application by resource id, or its requester by object id, as one naming
/// them by name and UPN, which requests keep; one that names nothing there matches nothing.
fn by_names(t: &dyn Reads, mut filter: RequestFilter) -> Result<RequestFilter> {
    if let Some(app) = filter.app.take() {
        let found = rules::find_app(t, &app)?;
        filter.app = Some(found.map_or(app, |a| a.name));
    }
    if let Some(requester) = filter.requester.take() {
        let found = match crate::domain::arm_ids::parse_guid(&requester) {
            Some(object_id) => t.user_by_object_id(&object_id)?.map(|u| u.upn),
            None => None,
        };
        filter.requester = Some(found.unwrap_or(requester));
    }
    Ok(filter)
}

/// The approvers the applications name, each once.
fn approvers_of(apps: &[Application]) -> Vec<String> {
    let mut upns: Vec<String> = apps.iter().flat_map(|a| a.policy.approvers.iter().cloned()).collect();
    upns.sort_unstable();
    upns.dedup();
    upns
}

/// The applications the requests are on, each once.
pub fn names_of(requests: &[AccessRequest]) -> Vec<String> {
    let mut names: Vec<String> = requests.iter().map(|r| r.app.clone()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// A request with everything that happened to it.
#[derive(Debug, Clone)]
pub struct RequestDetail {
    /// The request as it is now.
    pub request: AccessRequest,
    /// Its audit records, oldest first.
    pub history: Vec<AuditRecord>,
}

impl Engine {
    /// A directory user by UPN; the rules' "no such user" when none.
    pub async fn user(&self, upn: &str) -> Result<User> {
        let upn = upn.to_string();
        self.read(move |t| rules::need_user(t, &upn)).await
    }

    /// The directory user an OS login acts as, if any.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        let login = login.to_string();
        self.read(move |t| rules::Lookup::user_by_login(t, &login)).await
    }

    /// Whether the directory is empty (it has no tenant): a store nothing has been loaded into.
    pub async fn is_empty(&self) -> Result<bool> {
        self.read(|t| t.is_empty()).await
    }

    /// Offers in id order.
    pub async fn offers(&self, paging: Paging<String>) -> Result<Page<Offer>> {
        self.read(move |t| t.offers(&paging)).await
    }

    /// The approvers of the applications, for their views' display names: as many as they name,
    /// never the whole directory.
    pub async fn approvers(&self, apps: &[Application]) -> Result<Vec<User>> {
        let upns = approvers_of(apps);
        self.read(move |t| upns.iter().filter_map(|upn| t.user(upn).transpose()).collect()).await
    }

    /// The applications the viewer may see, in name order.
    pub async fn apps(&self, viewer: &Viewer, paging: Paging<String>) -> Result<Page<Application>> {
        let viewer = viewer.clone();
        self.read(move |t| match viewer {
            Viewer::Operator => t.apps_where(&paging, &|_| true),
            Viewer::User(upn) => {
                let user = rules::need_user(t, &upn)?;
                t.apps_of(&user.tenant, &paging, &|a| rules::can_see(&user, a))
            }
        })
        .await
    }

    /// One application, if the viewer may see it; otherwise the answer for a missing one.
    pub async fn app(&self, viewer: &Viewer, name: &str) -> Result<Application> {
        let (viewer, name) = (viewer.clone(), name.to_string());
        self.read(move |t| need_visible_app(t, &viewer, &name)).await
    }

    /// The applications of these requests, each once, for what their policies say of them (how
    /// many approvals they need); a request only the operator may see names one the viewer sees.
    pub async fn apps_of(&self, viewer: &Viewer, requests: &[AccessRequest]) -> Result<Vec<Application>> {
        let viewer = viewer.clone();
        let names = names_of(requests);
        self.read(move |t| names.iter().map(|name| need_visible_app(t, &viewer, name)).collect()).await
    }

    /// Whether the user may see the application's requests, grants and history. False for an
    /// application that does not exist.
    pub async fn sees_app(&self, upn: &str, name: &str) -> Result<bool> {
        let (upn, name) = (upn.to_string(), name.to_string());
        self.read(move |t| {
            let user = rules::need_user(t, &upn)?;
            Ok(t.app(&name)?.is_some_and(|a| rules::can_see(&user, &a)))
        })
        .await
    }

    /// Requests on the applications the viewer may see, newest first.
    pub async fn requests(&self, viewer: &Viewer, filter: RequestFilter) -> Result<Page<AccessRequest>> {
        let viewer = viewer.clone();
        self.read(move |t| t.requests_in(&by_names(t, filter)?, scope(t, &viewer)?.as_ref())).await
    }

    /// One request with its history, if the viewer may see it; otherwise the answer for a
    /// request that does not exist.
    pub async fn request(&self, viewer: &Viewer, id: u64) -> Result<RequestDetail> {
        let viewer = viewer.clone();
        self.read(move |t| {
            // Only the request's own application decides: no need to read every application.
            let user = match &viewer {
                Viewer::User(upn) => Some(rules::need_user(t, upn)?),
                Viewer::Operator => None,
            };
            let request = t.need_request(id)?;
            if let Some(user) = &user
                && !t.app(&request.app)?.is_some_and(|app| rules::can_see(user, &app))
            {
                return Err(rules::no_request(id).into());
            }
            let mut history = t.history(id)?;
            // A channel's failures are its tenant's business, which the other party to the
            // request may not read.
            if let Some(user) = &user {
                history.retain(|r| crate::domain::identity::user_sees_record(&user.upn, r));
            }
            Ok(RequestDetail { history, request })
        })
        .await
    }

    /// Approved access that has not ended (active now, or scheduled to start) on the applications
    /// the viewer may see, newest first.
    pub async fn grants(&self, viewer: &Viewer, paging: Paging<u64>) -> Result<Page<AccessRequest>> {
        let (viewer, now) = (viewer.clone(), self.now());
        self.read(move |t| t.current_grants_in(now, scope(t, &viewer)?.as_ref(), &paging)).await
    }

    /// Every grant `grants` pages through, whole, as one answer; shared with whoever else sees the
    /// same (the operator, or a user of the same tenant) before the next commit: the dashboards of
    /// a service each keep them all.
    pub async fn all_grants(&self, viewer: &Viewer) -> Result<Arc<[AccessRequest]>> {
        // Seen before the read, so that what is read is at least as new as the count says.
        let seen = self.inner.shared.commits();
        // A read-only engine hears of no commit: it shares nothing.
        let shares = !self.inner.inline;
        let sight = match viewer {
            Viewer::Operator => None,
            Viewer::User(upn) => {
                let upn = upn.clone();
                Some(self.read(move |t| Ok(rules::need_user(t, &upn)?.tenant)).await?)
            }
        };
        if shares && let Some(kept) = self.inner.shared.grants(&sight, seen) {
            return Ok(kept);
        }
        let (of, now) = (viewer.clone(), self.now());
        let all: Arc<[AccessRequest]> = self
            .read(move |t| {
                let scope = scope(t, &of)?;
                let mut all = Vec::new();
                let mut paging = Paging::first(MAX_LIMIT);
                loop {
                    let page = t.current_grants_in(now, scope.as_ref(), &paging)?;
                    paging.after = page.next();
                    all.extend(page.items);
                    if paging.after.is_none() {
                        return Ok(all);
                    }
                }
            })
            .await?
            .into();
        if shares {
            self.inner.shared.keep_grants(&sight, seen, &all);
        }
        Ok(all)
    }

    /// Whether a user has access to an application now, on an application the viewer may see.
    pub async fn access_check(&self, viewer: &Viewer, app: &str, upn: &str) -> Result<AccessStatus> {
        let (viewer, app, upn, now) = (viewer.clone(), app.to_string(), upn.to_string(), self.now());
        self.read(move |t| {
            let app = need_visible_app(t, &viewer, &app)?;
            let user = rules::need_user(t, &upn)?;
            let requests = t.requests_of(&user.upn, &app.name)?;
            Ok(rules::access_status(&app, &user, &requests, now))
        })
        .await
    }

    /// The audit records the viewer may see, newest first: a directory user those of the
    /// applications they are a party to; the operator the whole log, the directory's included.
    pub async fn audit(&self, viewer: &Viewer, paging: Paging<u64>) -> Result<Page<AuditRecord>> {
        self.audit_where(viewer, AuditFilter::default(), paging).await
    }

    /// The audit records `audit` gives that the filter admits, newest first. An application the
    /// viewer may not see has no records, as a missing one has none.
    pub async fn audit_where(
        &self,
        viewer: &Viewer,
        filter: AuditFilter,
        paging: Paging<u64>,
    ) -> Result<Page<AuditRecord>> {
        let viewer = viewer.clone();
        self.read(move |t| {
            let mut apps = scope(t, &viewer)?;
            if let Some(app) = filter.app {
                let seen = apps.is_none_or(|apps| apps.contains(&app));
                apps = Some(if seen { HashSet::from([app]) } else { HashSet::new() });
            }
            t.audit_in(apps.as_ref(), &filter.at, &paging)
        })
        .await
    }

    /// A user's own notifications, newest first.
    pub async fn notifications(&self, upn: &str, paging: Paging<u64>) -> Result<Page<Notification>> {
        let upn = upn.to_lowercase();
        self.read(move |t| t.notifications_of(&upn, &paging)).await
    }

    /// The id of the newest notification the user has seen.
    pub async fn seen_upto(&self, upn: &str) -> Result<u64> {
        let upn = upn.to_lowercase();
        self.read(move |t| t.seen_upto(&upn)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::engine::{ManualClock, OpenMode};

    /// The sample store, open; the directory it is in goes when the first value is dropped.
    async fn sample() -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("s.redb");
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
        crate::sample::create_at(&path, 0, now).await.expect("the sample");
        let engine = Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(now))).await.unwrap();
        (dir, engine)
    }

    /// Another customer tenant's admin sees nothing of the sample's applications, answered as if
    /// none existed; their parties see everything the operator does.
    #[tokio::test(flavor = "current_thread")]
    async fn only_the_parties_to_an_application_see_its_requests() {
        let (_dir, engine) = sample().await;
        let (op, alice) = (Viewer::Operator, Viewer::User("alice@contoso.com".into()));
        let nadia = Viewer::User("nadia@northwind.com".into());

        let all = engine.requests(&op, RequestFilter::default()).await.unwrap().items;
        let app = all.first().expect("the sample has requests").app.clone();
        assert_eq!(engine.requests(&alice, RequestFilter::default()).await.unwrap().items, all);
        assert!(engine.requests(&nadia, RequestFilter::default()).await.unwrap().items.is_empty());

        let id = all[0].id;
        assert_eq!(engine.request(&alice, id).await.unwrap().request, all[0]);
        let hidden = engine.request(&nadia, id).await.unwrap_err().to_string();
        let missing = engine.request(&alice, u64::MAX).await.unwrap_err().to_string();
        assert_eq!(hidden.replace(&id.to_string(), "N"), missing.replace(&u64::MAX.to_string(), "N"));

        assert!(engine.sees_app("alice@contoso.com", &app).await.unwrap());
        assert!(!engine.sees_app("nadia@northwind.com", &app).await.unwrap());
        engine.close().await.unwrap();
    }

    /// What the dashboard and the CLI read beside the lists: whether a store has anything in it,
    /// and the approvers its applications name, each once.
    #[tokio::test(flavor = "current_thread")]
    async fn a_filled_store_is_not_empty_and_names_each_approver_once() {
        let (_dir, engine) = sample().await;
        assert!(!engine.is_empty().await.unwrap());
        let apps = engine.apps(&Viewer::Operator, Paging::default()).await.unwrap().items;
        let mut named: Vec<&str> =
            apps.iter().flat_map(|a| a.policy.approvers.iter().map(String::as_str)).collect();
        assert!(!named.is_empty(), "the sample names approvers");
        named.sort_unstable();
        named.dedup();
        let approvers = engine.approvers(&apps).await.unwrap();
        assert_eq!(approvers.iter().map(|u| u.upn.as_str()).collect::<Vec<_>>(), named);
        engine.close().await.unwrap();
    }
}
