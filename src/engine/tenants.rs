//! Tenants and their users as each viewer may see them, and the change of a customer tenant's
//! licence with what it means for its applications. A tenant the viewer may not see answers
//! exactly as one that does not exist (`licence::no_tenant`); the rules of who sees what are
//! `domain::licence`'s.

use serde::{Deserialize, Serialize};

use super::identity::actor_user;
use super::storage::Reads;
use super::writer::{AuditEntry, Writer};
use super::{Command, Engine, Result, Viewer};
use crate::domain::licence::{self, no_tenant};
use crate::domain::list::DEFAULT_LIMIT;
use crate::domain::rules::{self, Actor};
use crate::domain::*;

/// The most applications a tenant's answer names one by one (`tenant show`, a downgrade's
/// warnings); the count says how many there are.
pub const NAMED_APPS: usize = DEFAULT_LIMIT;

/// Changes a customer tenant's licence.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetLicence {
    /// The tenant's id.
    #[serde(skip)]
    pub tenant: String,
    /// Its new licence.
    pub license: License,
}

/// What a change of licence did: the tenant as it is now, the licence it had, and, when the change
/// took JIT access away, one warning per application with JIT access (at most `NAMED_APPS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenceChange {
    /// The tenant with its new licence.
    pub tenant: Tenant,
    /// The licence it had before.
    pub before: Option<License>,
    /// One line per application whose requests are refused from now on.
    pub warnings: Vec<String>,
}

/// A tenant as `tenant show` gives it: counted and named as far as the viewer may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantDetail {
    /// The tenant.
    pub tenant: Tenant,
    /// How many users it has; None for a viewer who may not list them (another tenant's user).
    pub users: Option<usize>,
    /// How many of its applications (as customer or publisher) the viewer sees.
    pub applications: usize,
    /// How many of those have JIT access.
    pub jit_count: usize,
    /// The first `NAMED_APPS` of those, in name order.
    pub jit_applications: Vec<String>,
}

/// The tenants a viewer sees: None for all of them (the operator), else the ids its tenant deals
/// with (`licence::dealings`) beside the public publishers, and the directory user behind it.
fn sight(t: &dyn Reads, viewer: &Viewer) -> Result<Option<(User, std::collections::HashSet<String>)>> {
    let Viewer::User(upn) = viewer else { return Ok(None) };
    let user = rules::need_user(t, upn)?;
    let apps = t.apps_of(&user.tenant, &Paging::default(), &|a| rules::can_see(&user, a))?.items;
    let deals = licence::dealings(&user, &apps);
    Ok(Some((user, deals)))
}

/// The tenant of this id, if the viewer may see it; otherwise the answer for a missing one.
fn visible_tenant(t: &dyn Reads, viewer: &Viewer, id: &str) -> Result<(Tenant, Option<User>)> {
    let found = t.tenant(id)?;
    match (found, sight(t, viewer)?) {
        (Some(tenant), None) => Ok((tenant, None)),
        (Some(tenant), Some((user, deals))) if licence::sees_tenant(&tenant, &deals) => {
            Ok((tenant, Some(user)))
        }
        _ => Err(no_tenant(id).into()),
    }
}

/// A customer tenant's applications with JIT access, the first `NAMED_APPS` of them in name order.
fn jit_apps_of(t: &dyn Reads, tenant: &Tenant) -> Result<Page<Application>> {
    let id = tenant.id.clone();
    t.apps_of(&tenant.id, &Paging::first(NAMED_APPS), &|a| a.policy.enabled && a.customer_tenant == id)
}

/// Refuses `doing` on an application whose customer tenant is below P2: approving a request
/// (by an approver or by the system), asking for or approving an extension. Denying and cancelling
/// stay open, and access already granted runs to its end. Asked after the rules that decide
/// whether the actor may see the request at all, so a hidden one still answers as missing.
pub(super) fn need_p2_on(t: &dyn Reads, app: &Application, doing: &str) -> Result<()> {
    let customer = rules::need_tenant(t, &app.customer_tenant)?;
    Ok(rules::need_p2(&customer, doing)?)
}

impl Command for SetLicence {
    type Output = LicenceChange;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<LicenceChange> {
        let user = actor_user(&*w.tables, actor)?;
        let viewer = Viewer::from(actor);
        let (tenant, _) = visible_tenant(&*w.tables, &viewer, &self.tenant)?;
        let changed = licence::set_licence(actor, user.as_ref(), &tenant, self.license)?;
        let before = tenant.license;
        if changed == tenant {
            return Ok(LicenceChange { tenant, before, warnings: Vec::new() });
        }
        w.tables.put_tenant(&changed)?;
        w.record(AuditEntry {
            before: Some(licence::name(before).to_string()),
            after: Some(licence::name(changed.license).to_string()),
            ..AuditEntry::new(&actor.label(), Action::LicenseChanged, Target::Tenant(changed.id.clone()))
        })?;
        let warnings = if licence::takes_jit_away(before, changed.license) {
            licence::warnings(&changed, &jit_apps_of(&*w.tables, &changed)?)
        } else {
            Vec::new()
        };
        Ok(LicenceChange { tenant: changed, before, warnings })
    }
}

impl Engine {
    /// The tenants the viewer sees, in id order: every one for the operator; for a directory user
    /// their own, the publishers, and the customer tenants their tenant has applications with.
    pub async fn tenants(&self, viewer: &Viewer, paging: Paging<String>) -> Result<Page<Tenant>> {
        let viewer = viewer.clone();
        self.read(move |t| match sight(t, &viewer)? {
            None => t.tenants(&paging),
            Some((_, deals)) => t.tenants_where(&paging, &|tenant| licence::sees_tenant(tenant, &deals)),
        })
        .await
    }

    /// One tenant with its counts and its applications with JIT access, as far as the viewer sees
    /// them; a tenant the viewer may not see answers as a missing one.
    pub async fn tenant(&self, viewer: &Viewer, id: &str) -> Result<TenantDetail> {
        let (viewer, id) = (viewer.clone(), id.to_string());
        self.read(move |t| {
            let (tenant, user) = visible_tenant(t, &viewer, &id)?;
            let sees = |a: &Application| user.as_ref().is_none_or(|u| rules::can_see(u, a));
            let apps = t.apps_of(&tenant.id, &Paging::default(), &sees)?.items;
            let jit: Vec<&Application> = apps.iter().filter(|a| a.policy.enabled).collect();
            let users = match &user {
                Some(user) if licence::may_list_users(user, &tenant).is_err() => None,
                _ => Some(t.users_where(&Paging::default(), &|u| u.tenant == tenant.id)?.items.len()),
            };
            Ok(TenantDetail {
                users,
                applications: apps.len(),
                jit_count: jit.len(),
                jit_applications: jit.iter().take(NAMED_APPS).map(|a| a.name.clone()).collect(),
                tenant,
            })
        })
        .await
    }

    /// Directory users in UPN order: the operator lists anyone's, or one tenant's; anyone else
    /// their own tenant's only (naming another tenant they see is refused, one they do not see
    /// answers as a missing one).
    pub async fn users(
        &self,
        viewer: &Viewer,
        tenant: Option<&str>,
        paging: Paging<String>,
    ) -> Result<Page<User>> {
        let (viewer, tenant) = (viewer.clone(), tenant.map(str::to_string));
        self.read(move |t| {
            let of = match (&tenant, &viewer) {
                (None, Viewer::Operator) => None,
                (None, Viewer::User(upn)) => Some(rules::need_user(t, upn)?.tenant),
                (Some(id), _) => {
                    let (tenant, user) = visible_tenant(t, &viewer, id)?;
                    if let Some(user) = &user {
                        licence::may_list_users(user, &tenant)?;
                    }
                    Some(tenant.id)
                }
            };
            t.users_where(&paging, &|u| of.as_ref().is_none_or(|of| u.tenant == *of))
        })
        .await
    }

    /// The users whose names the viewer's screens show, in UPN order: everyone for the operator;
    /// for a directory user, those of their own tenant and of the tenants it has applications with
    /// (the requesters, approvers and actors of what they see). Never another tenant's, and not
    /// a search: `search_users` finds only the user's own tenant's.
    pub async fn people(&self, viewer: &Viewer, paging: Paging<String>) -> Result<Page<User>> {
        let viewer = viewer.clone();
        self.read(move |t| match sight(t, &viewer)? {
            None => t.users_where(&paging, &|_| true),
            Some((_, deals)) => t.users_where(&paging, &|u| deals.contains(&u.tenant)),
        })
        .await
    }

    /// Users whose UPN or display name contains the text, ignoring case, in UPN order: anyone's
    /// for the operator, their own tenant's for a directory user.
    pub async fn search_users(
        &self,
        viewer: &Viewer,
        text: &str,
        paging: Paging<String>,
    ) -> Result<Page<User>> {
        let (viewer, text) = (viewer.clone(), text.to_string());
        self.read(move |t| match &viewer {
            Viewer::Operator => t.search_users(&text, &paging),
            Viewer::User(upn) => {
                let own = rules::need_user(t, upn)?.tenant;
                let needle = licence::needle(&text);
                t.users_where(&paging, &|u| u.tenant == own && licence::finds(u, &needle))
            }
        })
        .await
    }
}
