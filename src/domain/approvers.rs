//! Who approves an application's requests. An approver is a user or a directory group (ARM's
//! `jitApprovers` entries carry `type: user|group`), and every member of an approver group
//! approves as a user named directly does. One rule answers "is this user an approver of this
//! application", so deciding requests and extensions, revoking, counting approvals and seeing
//! what waits all agree, and a member taken out of a group stops approving at once.

use super::arm_ids;
use super::error::RuleError;
use super::model::{Application, Group, JitPolicy};
use super::rules::Lookup;
use super::text::shown;

/// Whether the user of `upn`, a member of `groups`, approves under `policy`: named as an
/// approver, or a member of one of its approver groups. The one rule; `is_approver` reads the
/// groups for it.
pub fn approves(policy: &JitPolicy, upn: &str, groups: &[String]) -> bool {
    policy.approvers.iter().any(|a| a == upn) || groups.iter().any(|g| policy.approver_groups.contains(g))
}

/// Whether the user of `upn` approves under `policy`, their groups read through the lookup (only
/// when the policy names a group).
pub fn is_approver<L: Lookup + ?Sized>(l: &L, policy: &JitPolicy, upn: &str) -> Result<bool, L::Error> {
    if policy.approver_groups.is_empty() {
        return Ok(approves(policy, upn, &[]));
    }
    Ok(approves(policy, upn, &l.groups_of(upn)?))
}

/// The refusal for someone who is not an approver of the application.
pub fn not_approver(app: &Application, upn: &str) -> RuleError {
    RuleError::forbidden(format!(
        "{} is not an approver of `{}`: only its approvers decide its requests",
        shown(upn),
        app.name
    ))
}

/// Only an application's approvers (direct, or through a group) decide its requests.
pub fn need_approver<L: Lookup + ?Sized>(l: &L, app: &Application, upn: &str) -> Result<(), L::Error> {
    if is_approver(l, &app.policy, upn)? { Ok(()) } else { Err(not_approver(app, upn).into()) }
}

/// An approver as a policy keeps it: a user's UPN, or a group's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// A directory user, by UPN.
    User(String),
    /// A directory group, by id.
    Group(String),
}

/// The refusal for an approver given that names nobody of `tenant`: the same words whether nobody
/// has that name or another tenant's user does, since a tenant sees only its own people.
fn no_one(given: &str, tenant: &str) -> RuleError {
    RuleError::not_found(format!(
        "no user or group `{}` in tenant `{}`: approvers are its users and groups; check the name with `jitdesk user search` or `jitdesk group list`",
        shown(given),
        shown(tenant)
    ))
}

/// The group of this id, if it is one of `tenant`'s; another tenant's answers as a missing one,
/// since a tenant sees only its own groups.
fn group_in<L: Lookup + ?Sized>(l: &L, tenant: &str, id: &str) -> Result<Option<Group>, L::Error> {
    Ok(l.group(id)?.filter(|g| g.tenant == tenant))
}

/// The approver an admin of `tenant` names (a UPN, a group id, or either's object id): a user or a
/// group of that tenant.
pub fn resolve<L: Lookup + ?Sized>(l: &L, tenant: &str, given: &str) -> Result<Named, L::Error> {
    let given = given.trim();
    let user = if let Some(object_id) = arm_ids::parse_guid(given) {
        if let Some(group) = l.group_by_object_id(&object_id)?.filter(|g| g.tenant == tenant) {
            return Ok(Named::Group(group.id));
        }
        l.user_by_object_id(&object_id)?
    } else if given.contains('@') {
        l.user(&given.to_lowercase())?
    } else {
        return Ok(Named::Group(group_in(l, tenant, given)?.ok_or_else(|| no_one(given, tenant))?.id));
    };
    match user.filter(|u| u.tenant == tenant) {
        Some(user) => Ok(Named::User(user.upn)),
        None => Err(no_one(given, tenant).into()),
    }
}

/// Adds the approvers named (see `resolve`) to `policy`, users to its users and groups to its
/// groups; one already there stays once.
pub fn add<L: Lookup + ?Sized>(
    l: &L,
    tenant: &str,
    policy: &mut JitPolicy,
    given: &[String],
) -> Result<(), L::Error> {
    for one in given {
        match resolve(l, tenant, one)? {
            Named::User(upn) if !policy.approvers.contains(&upn) => policy.approvers.push(upn),
            Named::Group(id) if !policy.approver_groups.contains(&id) => policy.approver_groups.push(id),
            _ => {}
        }
    }
    Ok(())
}

/// Takes the approver named (a UPN, a group id, or either's object id) out of `policy`; one who
/// is not an approver is refused.
pub fn remove<L: Lookup + ?Sized>(
    l: &L,
    app: &Application,
    policy: &mut JitPolicy,
    given: &str,
) -> Result<(), L::Error> {
    let trimmed = given.trim();
    let named = match arm_ids::parse_guid(trimmed) {
        Some(object_id) => match (l.group_by_object_id(&object_id)?, l.user_by_object_id(&object_id)?) {
            (Some(group), _) => Named::Group(group.id),
            (None, Some(user)) => Named::User(user.upn),
            (None, None) => Named::User(trimmed.to_lowercase()),
        },
        None if trimmed.contains('@') => Named::User(trimmed.to_lowercase()),
        None => Named::Group(trimmed.to_string()),
    };
    let (list, key) = match &named {
        Named::User(upn) => (&mut policy.approvers, upn),
        Named::Group(id) => (&mut policy.approver_groups, id),
    };
    if !list.contains(key) {
        return Err(
            RuleError::not_found(format!("{} is not an approver of `{}`", shown(trimmed), app.name)).into()
        );
    }
    list.retain(|a| a != key);
    Ok(())
}

/// A directory with nobody in it, for the rules' tests that need no lookup but ask one.
#[cfg(test)]
pub(crate) struct NoDirectory;

#[cfg(test)]
impl Lookup for NoDirectory {
    type Error = RuleError;
    fn tenant(&self, _: &str) -> Result<Option<super::model::Tenant>, RuleError> {
        Ok(None)
    }
    fn user(&self, _: &str) -> Result<Option<super::model::User>, RuleError> {
        Ok(None)
    }
    fn user_by_login(&self, _: &str) -> Result<Option<super::model::User>, RuleError> {
        Ok(None)
    }
    fn offer(&self, _: &str) -> Result<Option<super::model::Offer>, RuleError> {
        Ok(None)
    }
    fn app(&self, _: &str) -> Result<Option<Application>, RuleError> {
        Ok(None)
    }
    fn pending_request(&self, _: &str, _: &str) -> Result<Option<u64>, RuleError> {
        Ok(None)
    }
    fn user_by_object_id(&self, _: &str) -> Result<Option<super::model::User>, RuleError> {
        Ok(None)
    }
    fn group(&self, _: &str) -> Result<Option<Group>, RuleError> {
        Ok(None)
    }
    fn group_by_object_id(&self, _: &str) -> Result<Option<Group>, RuleError> {
        Ok(None)
    }
    fn groups_of(&self, _: &str) -> Result<Vec<String>, RuleError> {
        Ok(Vec::new())
    }
    fn app_by_resource_id(&self, _: &str) -> Result<Option<Application>, RuleError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ApprovalMode, Period};

    fn policy(users: &[&str], groups: &[&str]) -> JitPolicy {
        JitPolicy {
            enabled: true,
            mode: ApprovalMode::ManualApprove,
            max_duration: Period::from_hours(8),
            approvers: users.iter().map(|u| u.to_string()).collect(),
            request_timeout: Period::from_hours(24),
            approver_groups: groups.iter().map(|g| g.to_string()).collect(),
            approvals_required: 1,
            max_extensions: 0,
        }
    }

    #[test]
    fn a_user_approves_when_named_or_in_an_approver_group() {
        let p = policy(&["ann@c.com"], &["ops"]);
        assert!(approves(&p, "ann@c.com", &[]), "named directly");
        assert!(approves(&p, "bob@c.com", &["dev".into(), "ops".into()]), "through a group");
        assert!(!approves(&p, "bob@c.com", &["dev".into()]), "a group that does not approve");
        assert!(!approves(&p, "bob@c.com", &[]), "in no group");
        assert!(!approves(&policy(&[], &[]), "ops", &["ops".into()]), "a group's id is not a user");
    }
}
