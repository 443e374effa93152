//! Directory groups through the engine: the commands that add a group and change its members
//! (each with its audit record), the lists people read, and who an application's approvers are
//! as people to tell (its users and every member of its approver groups, each once).

use super::identity::actor_user;
use super::storage::Reads;
use super::writer::{AuditEntry, Writer};
use super::{Command, Engine, Result, Viewer};
use crate::domain::groups::{self, MAX_MEMBERS, NewGroup};
use crate::domain::list::MAX_LIMIT;
use crate::domain::rules::{self, Actor};
use crate::domain::*;

impl Command for NewGroup {
    type Output = Group;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<Group> {
        let user = actor_user(&*w.tables, actor)?;
        let group = groups::add_group(&*w.tables, actor, user.as_ref(), self)?;
        w.tables.put_group(&group)?;
        w.record(AuditEntry {
            after: Some(group.tenant.clone()),
            ..AuditEntry::new(&actor.label(), Action::GroupAdded, Target::Group(group.id.clone()))
        })?;
        Ok(group)
    }
}

/// Makes users members of a group; one who already is stays so, with no second record.
#[derive(Debug, Clone)]
pub struct AddMembers {
    /// The group's id.
    pub group: String,
    /// The UPNs of the users to add: each a user of the group's tenant.
    pub upns: Vec<String>,
}

impl Command for AddMembers {
    /// The group, and the UPNs it gained.
    type Output = (Group, Vec<String>);
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<(Group, Vec<String>)> {
        let user = actor_user(&*w.tables, actor)?;
        let group = groups::need_managed_group(&*w.tables, actor, user.as_ref(), &self.group)?;
        let mut count = member_count(&*w.tables, &group.id)?;
        let mut added = Vec::new();
        for upn in &self.upns {
            // One who is a member already stays so, even in a full group.
            let upn = upn.trim().to_lowercase();
            if added.contains(&upn) || w.tables.groups_of(&upn)?.contains(&group.id) {
                continue;
            }
            let member = groups::new_member(&*w.tables, &group, &upn, count)?;
            w.tables.add_member(&group.id, &member.upn)?;
            w.record(AuditEntry {
                after: Some(member.upn.clone()),
                ..AuditEntry::new(&actor.label(), Action::GroupMemberAdded, Target::Group(group.id.clone()))
            })?;
            count += 1;
            added.push(member.upn);
        }
        Ok((group, added))
    }
}

/// Takes a user out of a group: from then on they approve nothing through it.
#[derive(Debug, Clone)]
pub struct RemoveMember {
    /// The group's id.
    pub group: String,
    /// The member's UPN.
    pub upn: String,
}

impl Command for RemoveMember {
    /// The group, and the UPN taken out of it.
    type Output = (Group, String);
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<(Group, String)> {
        let user = actor_user(&*w.tables, actor)?;
        let group = groups::need_managed_group(&*w.tables, actor, user.as_ref(), &self.group)?;
        let upn = self.upn.trim().to_lowercase();
        if !w.tables.groups_of(&upn)?.contains(&group.id) {
            return Err(groups::not_a_member(&group, &upn).into());
        }
        w.tables.remove_member(&group.id, &upn)?;
        w.record(AuditEntry {
            before: Some(upn.clone()),
            ..AuditEntry::new(&actor.label(), Action::GroupMemberRemoved, Target::Group(group.id.clone()))
        })?;
        Ok((group, upn))
    }
}

/// How many members a group has, up to `MAX_MEMBERS` (all a full group needs to be refused).
fn member_count(t: &dyn Reads, group: &str) -> Result<usize> {
    Ok(t.members_of(group, &Paging::first(MAX_MEMBERS))?.items.len())
}

/// Every member of a group, page by page: at most `MAX_MEMBERS` of them, as `AddMembers` keeps it.
fn all_members(t: &dyn Reads, group: &str) -> Result<Vec<String>> {
    let mut members = Vec::new();
    let mut paging = Paging::first(MAX_LIMIT);
    loop {
        let page = t.members_of(group, &paging)?;
        paging.after = page.next();
        members.extend(page.items);
        if paging.after.is_none() {
            return Ok(members);
        }
    }
}

/// Who is told as an application's approvers: its users and every member of each of its approver
/// groups, each once, in the policy's order (a person in two of them, or named and in one, is told
/// once); `except` (who acted, or already approved) are left out.
pub(super) fn approvers_to_tell(t: &dyn Reads, policy: &JitPolicy, except: &[&str]) -> Result<Vec<String>> {
    let mut told: Vec<String> = Vec::new();
    let mut add = |upn: String| {
        if !except.contains(&upn.as_str()) && !told.contains(&upn) {
            told.push(upn);
        }
    };
    policy.approvers.iter().cloned().for_each(&mut add);
    for group in &policy.approver_groups {
        all_members(t, group)?.into_iter().for_each(&mut add);
    }
    Ok(told)
}

/// One group with a page of its members, as `group show` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDetail {
    /// The group.
    pub group: Group,
    /// Its members' UPNs, in UPN order, a page at a time.
    pub members: Page<String>,
}

impl Engine {
    /// The groups the viewer may see, in id order: the operator every one (or one tenant's), a
    /// user their own tenant's. A user naming another tenant gets an empty list, as for a tenant
    /// with no groups.
    pub async fn groups(
        &self,
        viewer: &Viewer,
        tenant: Option<&str>,
        paging: Paging<String>,
    ) -> Result<Page<Group>> {
        let (viewer, tenant) = (viewer.clone(), tenant.map(str::to_string));
        self.read(move |t| {
            let own = match &viewer {
                Viewer::Operator => return t.groups(tenant.as_deref(), &paging),
                Viewer::User(upn) => rules::need_user(t, upn)?.tenant,
            };
            if tenant.as_ref().is_some_and(|asked| *asked != own) {
                return Ok(Page { items: Vec::new(), more: false });
            }
            t.groups(Some(&own), &paging)
        })
        .await
    }

    /// One group with a page of its members, if the viewer may see it; otherwise the answer for
    /// a group that does not exist.
    pub async fn group(&self, viewer: &Viewer, id: &str, paging: Paging<String>) -> Result<GroupDetail> {
        let (viewer, id) = (viewer.clone(), id.to_string());
        self.read(move |t| {
            let user = match &viewer {
                Viewer::Operator => None,
                Viewer::User(upn) => Some(rules::need_user(t, upn)?),
            };
            let group = groups::need_visible_group(t, user.as_ref(), &id)?;
            let members = t.members_of(&group.id, &paging)?;
            Ok(GroupDetail { group, members })
        })
        .await
    }

    /// The approver groups the applications name, for their views' display names: only those a
    /// viewer of the applications may see (their customer tenant's).
    pub async fn approver_groups(&self, apps: &[Application]) -> Result<Vec<Group>> {
        let mut wanted: Vec<(String, String)> = apps
            .iter()
            .flat_map(|a| a.policy.approver_groups.iter().map(|g| (g.clone(), a.customer_tenant.clone())))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        self.read(move |t| {
            let mut found = Vec::new();
            for (id, tenant) in &wanted {
                if let Some(group) = rules::Lookup::group(t, id)?.filter(|g| g.tenant == *tenant) {
                    found.push(group);
                }
            }
            Ok(found)
        })
        .await
    }

    /// The ids of the groups a directory user is a member of: whether they approve through one.
    pub async fn groups_of(&self, upn: &str) -> Result<Vec<String>> {
        let upn = upn.trim().to_lowercase();
        self.read(move |t| rules::Lookup::groups_of(t, &upn)).await
    }
}
