//! What the screens show, fetched in one go off the UI loop from the engine, in this process or in
//! the store's service (`client::Backend`). The loop never waits for it: it asks for a snapshot and
//! redraws when one arrives.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::client::Backend;
use crate::client::Result;
use crate::domain::approvers;
use crate::domain::*;
use crate::engine::Viewer;
use crate::engine::{DeliveryFilter, RequestFilter};

/// Every item of a list the screens show whole (the directory, a user's applications, pending
/// requests and grants), read part by part with the cursor, as a list route answers.
async fn every<T: Listed, F: Future<Output = Result<Page<T>>>>(
    mut part: impl FnMut(Option<T::Cursor>) -> F,
) -> Result<Vec<T>> {
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = part(after.take()).await?;
        after = page.next();
        items.extend(page.items);
        if after.is_none() {
            // Grown page by page, the list has room for up to half as much again, and a dashboard
            // keeps it until the next change: each session of a service would hold that room.
            items.shrink_to_fit();
            return Ok(items);
        }
    }
}

/// How much history the screens keep in memory; older entries are one CLI call away.
const HISTORY: usize = 500;

/// Everything the screens show at one moment, as the signed-in user may see it; replaced whole when
/// a newer one arrives.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The signed-in user; `None` for the operator, who has no identity.
    pub me: Option<User>,
    /// The tenants the user sees (every one for the operator); none means a store nothing has been
    /// put into yet.
    pub tenants: Vec<Tenant>,
    /// The users of the user's tenant and of the tenants it has applications with (everyone for
    /// the operator), for names and the pickers.
    pub users: Vec<User>,
    /// Every offer of the marketplace.
    pub offers: Vec<Offer>,
    /// The directory groups the user may see (their tenant's; every one for the operator), for
    /// names and the approver pickers.
    pub groups: Vec<Group>,
    /// The ids of the groups the signed-in user is a member of: where they approve through one.
    pub my_groups: Vec<String>,
    /// The applications the user's tenant is a party to (every one for the operator).
    pub apps: Vec<Application>,
    /// For a customer user: pending requests on the tenant's applications (the PIM view).
    /// For a publisher user: their own requests, newest first.
    pub requests: Vec<AccessRequest>,
    /// Approved access that has not ended; shared with the other dashboards of a local engine that
    /// show the same viewer's.
    pub grants: Arc<[AccessRequest]>,
    /// The newest audit records the user may see, newest first, at most `HISTORY` of them.
    pub audit: Vec<AuditRecord>,
    /// Where the notices of those records went, by audit record id: only records whose notice had
    /// deliveries the user may see (of the newest `HISTORY` deliveries) are here.
    pub outbound: HashMap<u64, Outbound>,
    /// The user's newest notifications, newest first, at most `HISTORY` of them; none for the operator.
    pub notifications: Vec<Notification>,
    /// The id of the newest notification the user has seen; those above it count as unread.
    pub seen_upto: u64,
    /// Set on a first snapshot until the rest of it (access and the audit log) is in.
    pub partial: bool,
    /// Where each user and application is in the lists above, once `index` has run: thousands of
    /// rows each look up a name and an application on every pass.
    pub lookup: Lookup,
}

/// What a first snapshot leaves out.
#[derive(Debug)]
pub struct Rest {
    /// Approved access that has not ended, as `Snapshot::grants`.
    pub grants: Arc<[AccessRequest]>,
    /// The newest audit records, as `Snapshot::audit`.
    pub audit: Vec<AuditRecord>,
    /// Where their notices went, as `Snapshot::outbound`.
    pub outbound: HashMap<u64, Outbound>,
}

/// Where the deliveries of one record's notice stand, taken together: the one that needs looking
/// at most, so a single failure among many sends shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outbound {
    /// Every one was sent.
    Sent,
    /// Some wait for an attempt; none failed.
    Queued,
    /// At least one was given up on.
    Failed,
}

impl Outbound {
    /// Each record's deliveries taken together.
    pub fn of(deliveries: &[delivery::Delivery]) -> HashMap<u64, Outbound> {
        let mut marks = HashMap::new();
        for d in deliveries {
            let mark = match d.state {
                delivery::DeliveryState::Sent { .. } => Outbound::Sent,
                delivery::DeliveryState::Queued => Outbound::Queued,
                delivery::DeliveryState::Failed { .. } => Outbound::Failed,
            };
            let worst = marks.entry(d.audit).or_insert(mark);
            *worst = (*worst).max(mark);
        }
        marks
    }
}

/// Positions by name; empty until `Snapshot::index`, when lookups go through the lists instead.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    built: bool,
    users: HashMap<String, usize>,
    apps: HashMap<String, usize>,
}

/// How the signed-in user relates to the workflow; decides which view of requests they get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A customer-tenant user named as an approver of at least one application.
    Approver,
    /// A customer tenant's administrator who approves nothing.
    Admin,
    /// Any other customer-tenant user.
    Customer,
    /// A publisher-tenant user, who requests access.
    Publisher,
    /// No identity: the operator.
    Nobody,
}

impl Role {
    /// The role's word in the header.
    pub fn label(self) -> &'static str {
        match self {
            Role::Approver => "approver",
            Role::Admin => "admin",
            Role::Customer => "customer",
            Role::Publisher => "publisher",
            Role::Nobody => "no identity",
        }
    }
}

impl Snapshot {
    /// Everything the screens show, as `me` sees it; from an `Engine` or a `Backend`.
    pub async fn load(from: impl Into<Backend>, me: Option<&str>) -> Result<Snapshot> {
        let backend: Backend = from.into();
        let first = Snapshot::first(&backend, me).await?;
        let rest = Snapshot::rest(&backend, first.me.as_ref()).await?;
        Ok(first.with(rest))
    }

    /// What the first screen needs: who the user is, the tenants and applications that decide
    /// their role, the directory's names, the marketplace, the user's notifications, and the
    /// requests the Requests tab lists (all of them, since the first page is the most urgent of
    /// them all). The rest follows with `rest`; until then the snapshot is `partial`.
    pub async fn first(backend: &Backend, me: Option<&str>) -> Result<Snapshot> {
        let (me, seen_upto) = match me {
            Some(upn) => {
                let (user, seen_upto) = backend.me(upn).await?;
                (Some(user), seen_upto)
            }
            None => (None, 0),
        };
        // Each user sees the applications their tenant is a party to, and their requests, grants
        // and history; without an identity (a local operator) there is no one to scope to.
        let viewer = me.as_ref().map_or(Viewer::Operator, |user| Viewer::User(user.upn.clone()));
        let viewer = &viewer;
        let tenants = every(|after| backend.tenants(viewer, Paging { limit: None, after })).await?;
        let is_publisher = me
            .as_ref()
            .and_then(|u| tenants.iter().find(|t| t.id == u.tenant))
            .is_some_and(|t| t.kind == TenantKind::Publisher);
        let apps = every(move |after| backend.apps(viewer, Paging { limit: None, after })).await?;
        let requests = match &me {
            Some(user) if is_publisher => {
                let filter = RequestFilter {
                    requester: Some(user.upn.clone()),
                    limit: Some(HISTORY),
                    ..Default::default()
                };
                backend.requests(viewer, filter).await?.items
            }
            Some(user) => {
                let mine: Vec<&str> = apps
                    .iter()
                    .filter(|a| a.customer_tenant == user.tenant)
                    .map(|a| a.name.as_str())
                    .collect();
                let pending = every(move |after| {
                    let filter =
                        RequestFilter { state: Some(RequestState::Pending), after, ..Default::default() };
                    backend.requests(viewer, filter)
                })
                .await?;
                pending.into_iter().filter(|r| mine.contains(&r.app.as_str())).collect()
            }
            None => Vec::new(),
        };
        let (notifications, my_groups) = match &me {
            Some(user) => (
                backend.notifications(&user.upn, Paging::first(HISTORY)).await?.items,
                backend.member_of(&user.upn).await?,
            ),
            None => (Vec::new(), Vec::new()),
        };
        Ok(Snapshot {
            users: every(move |after| backend.people(viewer, Paging { limit: None, after })).await?,
            offers: every(move |after| backend.offers(Paging { limit: None, after })).await?,
            groups: every(move |after| backend.groups(viewer, None, Paging { limit: None, after })).await?,
            my_groups,
            me,
            tenants,
            apps,
            requests,
            notifications,
            seen_upto,
            partial: true,
            ..Snapshot::default()
        })
    }

    /// The rest of a first snapshot for its user: access and the audit log, what the first screen
    /// does not show and a large store makes slow.
    pub async fn rest(backend: &Backend, me: Option<&User>) -> Result<Rest> {
        let viewer = me.map_or(Viewer::Operator, |user| Viewer::User(user.upn.clone()));
        let viewer = &viewer;
        Ok(Rest {
            grants: match backend {
                Backend::Local(engine) => engine.all_grants(viewer).await?,
                Backend::Remote(_) => {
                    every(move |after| backend.grants(viewer, Paging { limit: None, after })).await?.into()
                }
            },
            audit: backend.audit(viewer, AuditFilter::default(), Paging::first(HISTORY)).await?.items,
            outbound: Outbound::of(
                &backend
                    .deliveries(viewer, DeliveryFilter { failed_only: false }, Paging::first(HISTORY))
                    .await?
                    .items,
            ),
        })
    }

    /// A first snapshot made whole.
    pub fn with(self, rest: Rest) -> Snapshot {
        let Rest { grants, audit, outbound } = rest;
        Snapshot { grants, audit, outbound, partial: false, ..self }
    }

    /// Builds the lookups by name; the dashboard calls it once a snapshot arrives (the lists do not
    /// change after, apart from what a test edits in place).
    pub fn index(&mut self) {
        let position =
            |names: Vec<&String>| names.into_iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        self.lookup = Lookup {
            built: true,
            users: position(self.users.iter().map(|u| &u.upn).collect()),
            apps: position(self.apps.iter().map(|a| &a.name).collect()),
        };
    }

    /// Whether the store holds nothing yet (no tenant), when the screens show the first-run page.
    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }

    /// The tenant with this id, if the directory has it.
    pub fn tenant(&self, id: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id == id)
    }

    /// The application with this name, if the user may see it; by the lookup once `index` has run.
    pub fn app(&self, name: &str) -> Option<&Application> {
        if self.lookup.built {
            self.lookup.apps.get(name).and_then(|&i| self.apps.get(i)).filter(|a| a.name == name)
        } else {
            self.apps.iter().find(|a| a.name == name)
        }
    }

    /// How far a pending request's approvals are (`1 of 2 approvals`), by its application's
    /// policy; None when it has none yet, or is no longer pending.
    pub fn progress(&self, r: &AccessRequest) -> Option<String> {
        crate::domain::rules::approval_progress(r, &self.app(&r.app)?.policy)
    }

    /// A request's state, with how far its approvals are while it waits for more.
    pub fn state_shown(&self, r: &AccessRequest) -> String {
        crate::domain::rules::state_shown(r, self.app(&r.app).map(|a| &a.policy))
    }

    fn user(&self, upn: &str) -> Option<&User> {
        if self.lookup.built {
            self.lookup.users.get(upn).and_then(|&i| self.users.get(i)).filter(|u| u.upn == upn)
        } else {
            self.users.iter().find(|u| u.upn == upn)
        }
    }

    /// How the signed-in user relates to the workflow; an approver of anything counts as one before
    /// being an admin.
    pub fn role(&self) -> Role {
        let Some(me) = &self.me else { return Role::Nobody };
        match self.tenant(&me.tenant).map(|t| t.kind) {
            Some(TenantKind::Publisher) => Role::Publisher,
            _ if self.apps.iter().any(|a| approvers::approves(&a.policy, &me.upn, &self.my_groups)) => {
                Role::Approver
            }
            _ if me.admin => Role::Admin,
            _ => Role::Customer,
        }
    }

    /// Whether the signed-in user is an approver of the named application.
    pub fn approves(&self, app: &str) -> bool {
        self.me.as_ref().is_some_and(|me| {
            self.app(app).is_some_and(|a| approvers::approves(&a.policy, &me.upn, &self.my_groups))
        })
    }

    /// Requests and extensions the signed-in user could decide: the header's badge.
    pub fn waiting_for_me(&self) -> usize {
        self.waiting().count()
    }

    /// Of the decisions waiting for me, how many must be made within `within` of `now`.
    pub fn due_for_me(&self, now: DateTime<Utc>, within: TimeDelta) -> usize {
        self.waiting().filter(|decide_by| *decide_by - now <= within).count()
    }

    /// The deadline of each decision this user can make: a pending request, or the pending
    /// extension of a grant (a request is pending or a grant, never both), that is not their own and that they have not approved yet.
    fn waiting(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let me = self.me.as_ref().map(|m| m.upn.as_str());
        self.requests.iter().chain(self.grants.iter()).filter_map(move |r| {
            let me = me.filter(|me| r.requester != *me && self.approves(&r.app))?;
            match (r.state, r.pending_extension()) {
                (RequestState::Pending, _) if !crate::domain::rules::has_approved(r, me) => Some(r.decide_by),
                (RequestState::Approved, Some((_, asked))) if asked.approvals.iter().all(|a| a.by != me) => {
                    Some(asked.decide_by)
                }
                _ => None,
            }
        })
    }

    /// The user's display name, or the UPN itself when the directory does not know it.
    pub fn display_name<'a>(&'a self, upn: &'a str) -> &'a str {
        self.user(upn).map_or(upn, |u| u.display_name.as_str())
    }

    /// A group's name for people, or its id when the snapshot does not have it.
    pub fn group_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.groups.iter().find(|g| g.id == id).map_or(id, |g| g.display_name.as_str())
    }

    /// An application's approvers by name: its users', then its groups' (marked as groups).
    pub fn approver_names(&self, policy: &JitPolicy) -> Vec<String> {
        let users = policy.approvers.iter().map(|u| self.display_name(u).to_string());
        users.chain(policy.approver_groups.iter().map(|g| format!("group {}", self.group_name(g)))).collect()
    }

    /// How many of the loaded notifications the user has not seen.
    pub fn unread(&self) -> usize {
        self.notifications.iter().filter(|n| n.id > self.seen_upto).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn delivery(id: u64, audit: u64, state: delivery::DeliveryState) -> delivery::Delivery {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        delivery::Delivery {
            id,
            channel: 1,
            tenant: "contoso".into(),
            to: None,
            audit,
            kind: delivery::NoticeKind::ToDecide,
            queued: at,
            next_at: at,
            attempts: 1,
            state,
            last_error: None,
        }
    }

    #[test]
    fn a_records_mark_is_the_worst_of_its_deliveries() {
        use delivery::DeliveryState::{Failed, Queued, Sent};
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let marks = Outbound::of(&[
            delivery(1, 10, Sent { at }),
            delivery(2, 10, Failed { at }),
            delivery(3, 10, Queued),
            delivery(4, 11, Sent { at }),
            delivery(5, 11, Queued),
            delivery(6, 12, Sent { at }),
        ]);
        let expect = HashMap::from([(10, Outbound::Failed), (11, Outbound::Queued), (12, Outbound::Sent)]);
        assert_eq!(marks, expect);
    }
}
