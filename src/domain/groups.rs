//! The rules of directory groups: who adds a group and changes its members (the operator, or an
//! admin of the group's customer tenant), who sees one (the operator, or a user of its tenant:
//! another tenant's group answers as a missing one), and what a member may be (a user of the
//! group's tenant). Groups exist to approve together (`approvers`).

use serde::{Deserialize, Serialize};

use super::arm_ids;
use super::error::RuleError;
use super::model::{Group, TenantKind, User};
use super::rules::{Actor, Lookup, check_object_id, find_user, need_tenant};
use super::text::{MAX_NAME_TEXT, check_id, check_text, shown};

/// How many members one group may have: every member of an approver group is told of every
/// request, so a group stays a list a notice can go to.
pub const MAX_MEMBERS: usize = 1000;

/// A group to add to the directory; also the body the service accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewGroup {
    /// The new group's id, unique in the store; no `@`, so it never reads as a UPN.
    pub id: String,
    /// The id of the customer tenant whose users may be its members.
    pub tenant: String,
    /// For people; None: the id.
    #[serde(default)]
    pub name: Option<String>,
    /// The group's object id in the directory (a GUID); None: one made from its id.
    #[serde(default)]
    pub object_id: Option<String>,
}

/// The refusal for a group that does not exist, or that the asker may not see.
pub fn no_group(id: &str) -> RuleError {
    RuleError::not_found(format!("no group `{}`: see `jitdesk group list`", shown(id)))
}

/// Whether `user` (None: the operator) may see groups of `tenant`: the operator sees every one, a
/// user their own tenant's.
pub fn sees_groups_of(user: Option<&User>, tenant: &str) -> bool {
    user.is_none_or(|u| u.tenant == tenant)
}

/// The group of this id, if `user` (None: the operator) may see it; otherwise exactly the answer
/// for a group that does not exist.
pub fn need_visible_group<L: Lookup + ?Sized>(
    l: &L,
    user: Option<&User>,
    id: &str,
) -> Result<Group, L::Error> {
    match l.group(id.trim())? {
        Some(group) if sees_groups_of(user, &group.tenant) => Ok(group),
        _ => Err(no_group(id).into()),
    }
}

/// The actor may change groups of `tenant`: the operator, or an admin of that tenant (`user` is
/// the actor as the directory has them, None for the operator).
fn may_manage(actor: &Actor, user: Option<&User>, tenant: &str) -> Result<(), RuleError> {
    match (actor, user) {
        (Actor::Operator(_), _) => Ok(()),
        (Actor::User(_), Some(user)) if user.admin && user.tenant == tenant => Ok(()),
        (Actor::User(upn), _) => Err(RuleError::forbidden(format!(
            "{} may not manage the groups of tenant `{}`: only its admins and the operator can",
            shown(upn),
            shown(tenant)
        ))),
    }
}

/// The checked group to add: an id no group has, a customer tenant the actor manages, and an
/// object id nobody in the directory has.
pub fn add_group<L: Lookup + ?Sized>(
    l: &L,
    actor: &Actor,
    user: Option<&User>,
    input: NewGroup,
) -> Result<Group, L::Error> {
    // Who may manage first, so that another tenant, there or not, answers alike.
    may_manage(actor, user, &input.tenant)?;
    let tenant = need_tenant(l, &input.tenant)?;
    if tenant.kind != TenantKind::Customer {
        return Err(RuleError::invalid(format!(
            "tenant `{}` is a publisher: groups approve requests, so they belong to customer tenants",
            tenant.id
        ))
        .into());
    }
    let id = check_id("group id", &input.id)?;
    let display_name = match input.name {
        Some(name) => check_text("group name", &name, MAX_NAME_TEXT)?,
        None => id.clone(),
    };
    if l.group(&id)?.is_some() {
        return Err(RuleError::conflict(format!("group `{id}` already exists")).into());
    }
    let object_id = match &input.object_id {
        Some(given) => check_object_id(l, given)?,
        None => check_object_id(l, &arm_ids::group_guid(&id))?,
    };
    Ok(Group { id, display_name, tenant: tenant.id, object_id })
}

/// The group whose members the actor changes: one they may see and manage.
pub fn need_managed_group<L: Lookup + ?Sized>(
    l: &L,
    actor: &Actor,
    user: Option<&User>,
    id: &str,
) -> Result<Group, L::Error> {
    let group = need_visible_group(l, user, id)?;
    may_manage(actor, user, &group.tenant)?;
    Ok(group)
}

/// The user of this UPN, to make a member of `group`: a user of the group's tenant. `members` is
/// how many it has now; a full group is refused.
pub fn new_member<L: Lookup + ?Sized>(
    l: &L,
    group: &Group,
    upn: &str,
    members: usize,
) -> Result<User, L::Error> {
    // Another tenant's user answers as a missing one: a tenant sees only its own people.
    let user = find_user(l, upn)?.filter(|u| u.tenant == group.tenant).ok_or_else(|| {
        RuleError::not_found(format!(
            "no user `{}` in tenant `{}`: members of group `{}` must be its users; check the name with `jitdesk user search`",
            shown(upn.trim()),
            shown(&group.tenant),
            shown(&group.id)
        ))
    })?;
    if members >= MAX_MEMBERS {
        return Err(RuleError::conflict(format!(
            "group `{}` has {MAX_MEMBERS} members, the most a group may have: make another group",
            group.id
        ))
        .into());
    }
    Ok(user)
}

/// The refusal for taking out of a group someone who is not in it.
pub fn not_a_member(group: &Group, upn: &str) -> RuleError {
    RuleError::not_found(format!(
        "{} is not a member of group `{}`: see `jitdesk group show {}`",
        shown(upn),
        group.id,
        group.id
    ))
}
