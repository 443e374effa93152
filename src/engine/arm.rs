//! The engine's side of ARM's API: a JIT request made at a name of the caller's choosing (ARM's
//! PUT, through the same rules and writes as any request), tags changed (ARM's PATCH), requests
//! and applications found by their place in ARM's namespace, scoped as every read is, and the
//! directory entries ARM's documents name people, groups and roles by.

use std::collections::{BTreeMap, HashMap};

use super::commands::create_request;
use super::queries::{need_visible_app, scope};
use super::storage::Reads;
use super::writer::{AuditEntry, Writer};
use super::{Command, Engine, Result, Viewer};
use crate::domain::arm::{self, Asked, Directory};
use crate::domain::arm_ids;
use crate::domain::list::MAX_LIMIT;
use crate::domain::rules::{self, Actor, NewRequest};
use crate::domain::text::shown;
use crate::domain::*;

/// A JIT request made through ARM's PUT at `name`: made for the caller by the rules of every
/// request, or, when the name holds the same request already, that request as it is.
#[derive(Debug, Clone)]
pub struct ArmCreate {
    /// Where it lives: the subscription, resource group and name of the PUT's path.
    pub name: ArmName,
    /// What it asks for: the application by resource id, the roles by definition id, the start
    /// and the duration.
    pub request: NewRequest,
    /// The principals of its authorization policies; each must be the caller.
    pub principals: Vec<String>,
    /// Its scheduling policy's type; only `Once`.
    pub schedule: String,
    /// Tags to give it.
    pub tags: Option<BTreeMap<String, String>>,
}

impl Command for ArmCreate {
    /// The request, and whether this PUT made it (false: it was there already, the same).
    type Output = (AccessRequest, bool);
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<(AccessRequest, bool)> {
        let by = rules::resolve(&*w.tables, actor)?;
        let name = arm::check_name(&self.name)?;
        arm::check_schedule(&self.schedule)?;
        arm::check_principals(&by, &self.principals)?;
        let tags = self.tags.as_ref().map(arm::check_tags).transpose()?.unwrap_or_default();
        if let Some(existing) = w.tables.request_by_arm_name(&name)? {
            same_again(&*w.tables, &by, &existing, &self.request)?;
            return Ok((existing, false));
        }
        let request = create_request(w, &by, self.request, |r| {
            r.arm = Some(name);
            r.tags = tags;
        })?;
        Ok((request, true))
    }
}

/// Refuses a PUT at an existing request's name unless it asks for that request again. The start
/// is compared as the rules kept it: one asked in the moment before the making became the making.
fn same_again(t: &dyn Reads, by: &User, existing: &AccessRequest, input: &NewRequest) -> Result<()> {
    let app = rules::find_app(t, &input.app)?;
    let offer = match &app {
        Some(app) => t.offer(&app.offer)?,
        None => None,
    };
    let roles: Vec<String> = input
        .roles
        .iter()
        .filter_map(|role| offer.as_ref().and_then(|o| rules::offer_role(o, role)).cloned())
        .collect();
    let start = input.start.unwrap_or(existing.created_at).max(existing.created_at);
    let asked = Asked {
        requester: &by.upn,
        app: app.as_ref().map_or("", |a| a.name.as_str()),
        roles: if roles.len() == input.roles.len() { &roles } else { &[] },
        start,
        duration: input.duration,
    };
    Ok(arm::same_request(existing, &asked)?)
}

/// Replaces the tags of the JIT request at `name` (ARM's PATCH); only its requester may.
#[derive(Debug, Clone)]
pub struct ArmTag {
    /// Where the request lives in ARM's namespace.
    pub name: ArmName,
    /// Its tags from now on.
    pub tags: BTreeMap<String, String>,
}

impl Command for ArmTag {
    type Output = AccessRequest;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<AccessRequest> {
        let by = rules::resolve(&*w.tables, actor)?;
        let (old, _) = visible_named(&*w.tables, &Viewer::User(by.upn.clone()), &self.name)?;
        arm::may_tag(&by, &old)?;
        let tags = arm::check_tags(&self.tags)?;
        if tags == old.tags {
            return Ok(old);
        }
        let new = AccessRequest { tags, ..old.clone() };
        w.tables.save_request(Some(&old), &new)?;
        w.record(AuditEntry {
            app: Some(&new.app),
            before: Some(arm::describe_tags(&old.tags)),
            after: Some(arm::describe_tags(&new.tags)),
            ..AuditEntry::new(&by.upn, Action::RequestTagged, Target::Request(new.id))
        })?;
        Ok(new)
    }
}

/// Whether two parts of ARM ids are the same: ARM's ids match whatever their case.
fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether a request at `place` is in the subscription, and in the resource group when one is named.
fn within(place: &ArmName, subscription: &str, resource_group: Option<&str>) -> bool {
    same(&place.subscription, subscription) && resource_group.is_none_or(|rg| same(&place.resource_group, rg))
}

/// The request at an ARM name, whoever may see it: one made through ARM's PUT under it, or one
/// made otherwise that ARM names `jit-{id}` beside its application.
fn named(t: &dyn Reads, name: &ArmName) -> Result<Option<AccessRequest>> {
    if let Some(request) = t.request_by_arm_name(name)? {
        return Ok(Some(request));
    }
    let Some(id) = arm_ids::request_id(&name.name.to_lowercase()) else { return Ok(None) };
    let Some(request) = t.request(id)?.filter(|r| r.arm.is_none()) else { return Ok(None) };
    let Some(app) = t.app(&request.app)? else { return Ok(None) };
    let place = arm::location(&request, &app.resource_id);
    Ok(within(&place, &name.subscription, Some(&name.resource_group)).then_some(request))
}

/// The refusal for a JIT request that is not there, or that the caller may not see.
fn no_jit_request(name: &ArmName) -> RuleError {
    RuleError::not_found(format!(
        "no JIT request `{}` in resource group `{}` of subscription `{}`: list the resource group's to find it",
        shown(&name.name),
        shown(&name.resource_group),
        shown(&name.subscription)
    ))
}

/// The request at an ARM name with its application, if the viewer may see it; otherwise the
/// answer for one that is not there.
fn visible_named(t: &dyn Reads, viewer: &Viewer, name: &ArmName) -> Result<(AccessRequest, Application)> {
    let request = named(t, name)?.ok_or_else(|| no_jit_request(name))?;
    match need_visible_app(t, viewer, &request.app) {
        Ok(app) => Ok((request, app)),
        Err(crate::engine::Error::Rule(e)) if e.kind == ErrorKind::NotFound => {
            Err(no_jit_request(name).into())
        }
        Err(e) => Err(e),
    }
}

/// The directory entries the ARM views of these requests and applications name.
fn directory(t: &dyn Reads, requests: &[AccessRequest], apps: &[Application]) -> Result<Directory> {
    let mut upns: Vec<&str> = Vec::new();
    for r in requests {
        upns.push(&r.requester);
        upns.extend([&r.decision, &r.closed].into_iter().flatten().map(|v| v.by.as_str()));
    }
    for a in apps {
        upns.push(&a.deployed_by);
        upns.extend(a.policy.approvers.iter().map(String::as_str));
    }
    upns.sort_unstable();
    upns.dedup();
    let mut directory = Directory::default();
    for upn in upns {
        directory.users.extend(t.user(upn)?);
    }
    for app in apps {
        for group in &app.policy.approver_groups {
            if !directory.groups.iter().any(|g| g.id == *group) {
                directory.groups.extend(t.group(group)?);
            }
        }
        if !app.policy.enabled && !directory.offers.iter().any(|o| o.id == app.offer) {
            directory.offers.extend(t.offer(&app.offer)?);
        }
    }
    Ok(directory)
}

impl Engine {
    /// The JIT request at an ARM name with its application, if the viewer may see it; otherwise
    /// the same "not found" as for a name that holds none.
    pub async fn arm_request(&self, viewer: &Viewer, name: ArmName) -> Result<(AccessRequest, Application)> {
        let viewer = viewer.clone();
        self.read(move |t| visible_named(t, &viewer, &name)).await
    }

    /// The JIT requests the viewer may see in a subscription (and a resource group of it, when
    /// named), newest first, with their applications: those made there through ARM's PUT, and
    /// those made otherwise beside applications there.
    pub async fn arm_requests(
        &self,
        viewer: &Viewer,
        subscription: String,
        resource_group: Option<String>,
        paging: Paging<u64>,
    ) -> Result<(Page<AccessRequest>, Vec<Application>)> {
        let viewer = viewer.clone();
        self.read(move |t| {
            let visible = scope(t, &viewer)?;
            let wanted = paging.limit.unwrap_or(MAX_LIMIT);
            let mut apps: HashMap<String, Option<Application>> = HashMap::new();
            let mut found = Vec::new();
            let mut filter =
                RequestFilter { limit: Some(MAX_LIMIT), after: paging.after, ..Default::default() };
            // Requests are kept by application, not by place: the visible ones are walked, newest
            // first, a part at a time, until one more than asked for is found.
            loop {
                let part = t.requests_in(&filter, visible.as_ref())?;
                for request in &part.items {
                    if !apps.contains_key(&request.app) {
                        apps.insert(request.app.clone(), t.app(&request.app)?);
                    }
                    let Some(Some(app)) = apps.get(&request.app) else { continue };
                    if within(
                        &arm::location(request, &app.resource_id),
                        &subscription,
                        resource_group.as_deref(),
                    ) {
                        found.push(request.clone());
                    }
                    if found.len() > wanted {
                        break;
                    }
                }
                filter.after = part.next();
                if found.len() > wanted || filter.after.is_none() {
                    break;
                }
            }
            let more = found.len() > wanted;
            found.truncate(wanted);
            let mut used: Vec<Application> = apps.into_values().flatten().collect();
            used.retain(|a| found.iter().any(|r| r.app == a.name));
            Ok((Page { items: found, more }, used))
        })
        .await
    }

    /// The applications the viewer may see in a subscription's resource group, in name order.
    pub async fn arm_apps(
        &self,
        viewer: &Viewer,
        subscription: String,
        resource_group: String,
        paging: Paging<String>,
    ) -> Result<Page<Application>> {
        let viewer = viewer.clone();
        self.read(move |t| {
            let here = |a: &Application| {
                arm_ids::parse_application_id(&a.resource_id)
                    .is_some_and(|(sub, rg, _)| same(&sub, &subscription) && same(&rg, &resource_group))
            };
            match &viewer {
                Viewer::Operator => t.apps_where(&paging, &here),
                Viewer::User(upn) => {
                    let user = rules::need_user(t, upn)?;
                    t.apps_of(&user.tenant, &paging, &|a| here(a) && rules::can_see(&user, a))
                }
            }
        })
        .await
    }

    /// The directory entries the ARM views of these requests and applications name: users by
    /// UPN, groups, and the offers of applications without JIT.
    pub async fn arm_directory(&self, requests: &[AccessRequest], apps: &[Application]) -> Result<Directory> {
        let (requests, apps) = (requests.to_vec(), apps.to_vec());
        self.read(move |t| directory(t, &requests, &apps)).await
    }
}
