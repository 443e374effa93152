//! The rules of ARM's own requests: where a JIT request may be named, that a caller asks only for
//! themselves and only `Once`, when a repeated PUT is the same request, who may tag one and how
//! far. Also the directory entries ARM documents name people and roles by (`Directory`). Plain
//! values in, a refusal or a value out; the engine applies them (`engine::arm`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::arm_ids;
use super::error::RuleError;
use super::model::{AccessRequest, ArmName, Group, Offer, User};
use super::period::Period;
use super::text::{check_id, check_text, shown};

/// The one version of Azure's Microsoft.Solutions API whose shapes jitdesk speaks; ARM's routes
/// take it as `api-version`.
pub const API_VERSION: &str = "2021-07-01";

/// The most tags a request carries, as ARM allows a resource.
pub const MAX_TAGS: usize = 50;
/// The longest tag name, in characters, as ARM allows.
pub const MAX_TAG_NAME: usize = 512;
/// The longest tag value, in characters, as ARM allows.
pub const MAX_TAG_VALUE: usize = 256;

/// The directory entries the ARM shapes name by id: the users of the requests and approvers
/// shown (by UPN), the approvers' groups, and the applications' offers.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Users, each by their UPN.
    pub users: Vec<User>,
    /// Groups, each by their id.
    pub groups: Vec<Group>,
    /// Offers, each by their id.
    pub offers: Vec<Offer>,
}

impl Directory {
    /// The user of this UPN, if the directory holds them.
    pub fn user(&self, upn: &str) -> Option<&User> {
        self.users.iter().find(|u| u.upn == upn)
    }

    /// The object id of the user of this UPN: the one kept, or the one made from the UPN for a
    /// user the directory no longer holds.
    pub fn object_id(&self, upn: &str) -> String {
        self.user(upn).map_or_else(|| arm_ids::user_guid(upn), |u| u.object_id.clone())
    }
}

/// The subscription and resource group of an application's resource id; empty for one that is
/// not shaped as one.
pub fn place(resource_id: &str) -> (String, String) {
    arm_ids::parse_application_id(resource_id).map(|(sub, rg, _)| (sub, rg)).unwrap_or_default()
}

/// Where a request lives in ARM's namespace: the name it was created under through ARM's API, or
/// `jit-{id}` beside its application (whose resource id is given).
pub fn location(request: &AccessRequest, app_resource_id: &str) -> ArmName {
    request.arm.clone().unwrap_or_else(|| {
        let (subscription, resource_group) = place(app_resource_id);
        ArmName { subscription, resource_group, name: arm_ids::request_name(request.id) }
    })
}

/// A place in ARM's namespace a PUT names, checked: each part an identifier, and the name not of
/// the form `jit-{number}`, which names the requests made otherwise.
pub fn check_name(name: &ArmName) -> Result<ArmName, RuleError> {
    let checked = ArmName {
        subscription: check_id("subscription id", &name.subscription)?,
        resource_group: check_id("resource group", &name.resource_group)?,
        name: check_id("JIT request name", &name.name)?,
    };
    if arm_ids::request_id(&checked.name.to_lowercase()).is_some() {
        return Err(RuleError::invalid(format!(
            "`{}` is how jitdesk names the requests made without ARM's API: choose another name",
            checked.name
        )));
    }
    Ok(checked)
}

/// Only `Once` scheduling: jitdesk has no recurring access.
pub fn check_schedule(kind: &str) -> Result<(), RuleError> {
    if kind.eq_ignore_ascii_case("Once") {
        return Ok(());
    }
    Err(RuleError::invalid(format!(
        "jitSchedulingPolicy.type `{}` is not possible: jitdesk grants access once, so give `Once`",
        shown(kind)
    )))
}

/// Every principal a PUT names is the caller: nobody asks for access for someone else.
pub fn check_principals(caller: &User, principals: &[String]) -> Result<(), RuleError> {
    for principal in principals {
        if arm_ids::parse_guid(principal).as_deref() != Some(caller.object_id.as_str()) {
            return Err(RuleError::forbidden(format!(
                "principalId `{}` is not you: a JIT request asks for access for its caller only, so give your object id {}",
                shown(principal),
                caller.object_id
            )));
        }
    }
    Ok(())
}

/// What a repeated PUT must ask for again to be the same request: its requester, application,
/// roles (in any order), start and duration.
pub struct Asked<'a> {
    /// The caller's UPN.
    pub requester: &'a str,
    /// The application's name.
    pub app: &'a str,
    /// The offer's roles asked for, as the offer spells them.
    pub roles: &'a [String],
    /// The start asked for.
    pub start: DateTime<Utc>,
    /// The duration asked for.
    pub duration: Period,
}

/// An existing request at a PUT's name is answered as it is when the PUT asks for it again, and
/// refused as a conflict otherwise.
pub fn same_request(existing: &AccessRequest, asked: &Asked<'_>) -> Result<(), RuleError> {
    let mut roles = asked.roles.to_vec();
    let mut had = existing.roles.clone();
    roles.sort();
    had.sort();
    let same = existing.requester == asked.requester
        && existing.app == asked.app
        && had == roles
        && existing.start == asked.start
        && existing.duration == asked.duration;
    if same {
        return Ok(());
    }
    let name = existing.arm.as_ref().map_or("it", |a| a.name.as_str());
    Err(RuleError::conflict(format!(
        "a JIT request named `{name}` already exists and asks for something else: choose another name"
    )))
}

/// Only a request's requester tags it.
pub fn may_tag(caller: &User, request: &AccessRequest) -> Result<(), RuleError> {
    if caller.upn == request.requester {
        return Ok(());
    }
    Err(RuleError::forbidden(format!("{} may not tag this JIT request: only its requester can", caller.upn)))
}

/// Tags checked as ARM bounds them: at most `MAX_TAGS`, names non-empty plain text of at most
/// `MAX_TAG_NAME` characters, values plain text (possibly empty) of at most `MAX_TAG_VALUE`.
pub fn check_tags(tags: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, RuleError> {
    if tags.len() > MAX_TAGS {
        return Err(RuleError::invalid(format!(
            "{} tags are too many: a JIT request carries at most {MAX_TAGS}",
            tags.len()
        )));
    }
    let mut checked = BTreeMap::new();
    for (name, value) in tags {
        let name = check_text("a tag's name", name, MAX_TAG_NAME)?;
        let value = match value.trim() {
            "" => String::new(),
            _ => check_text(&format!("tag `{name}`"), value, MAX_TAG_VALUE)?,
        };
        checked.insert(name, value);
    }
    Ok(checked)
}

/// Tags in one line, for the audit log's before and after.
pub fn describe_tags(tags: &BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "no tags".to_string();
    }
    tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::tests::request;
    use crate::domain::{ErrorKind, RequestState};

    fn place(name: &str) -> ArmName {
        ArmName { subscription: "subid".into(), resource_group: "rg".into(), name: name.into() }
    }

    fn caller() -> User {
        User {
            upn: "p@x.com".into(),
            display_name: "p".into(),
            tenant: "t".into(),
            admin: false,
            login: None,
            object_id: "1db8e132-e293-4dbc-b8e1-178a61319491".into(),
        }
    }

    #[test]
    fn names_are_identifiers_and_made_names_are_kept_for_jitdesk() {
        assert_eq!(check_name(&place("myJitRequest")).unwrap(), place("myJitRequest"));
        assert_eq!(check_name(&place("JIT-7")).unwrap_err().kind, ErrorKind::Invalid);
        assert_eq!(check_name(&place("a/b")).unwrap_err().kind, ErrorKind::Invalid);
        assert!(check_name(&place("jit-07")).is_ok(), "not a name jitdesk makes");
    }

    #[test]
    fn only_once_and_only_for_oneself() {
        assert!(check_schedule("once").is_ok());
        assert_eq!(check_schedule("Recurring").unwrap_err().kind, ErrorKind::Invalid);
        assert!(check_principals(&caller(), &["1db8e132e2934dbcb8e1178a61319491".into()]).is_ok());
        let other = check_principals(&caller(), &["00000000-0000-0000-0000-000000000001".into()]);
        assert_eq!(other.unwrap_err().kind, ErrorKind::Forbidden);
        assert_eq!(check_principals(&caller(), &["someone".into()]).unwrap_err().kind, ErrorKind::Forbidden);
    }

    #[test]
    fn a_repeat_is_the_same_request_only_when_it_asks_the_same() {
        let existing = request(RequestState::Pending, None);
        let roles = vec!["Owner".to_string()];
        let asked = Asked {
            requester: "p@x.com",
            app: "a",
            roles: &roles,
            start: existing.start,
            duration: existing.duration,
        };
        assert!(same_request(&existing, &asked).is_ok());
        let longer = Asked { duration: Period::from_hours(3), ..asked };
        assert_eq!(same_request(&existing, &longer).unwrap_err().kind, ErrorKind::Conflict);
        let someone_else = Asked { requester: "q@x.com", ..asked };
        assert_eq!(same_request(&existing, &someone_else).unwrap_err().kind, ErrorKind::Conflict);
    }

    #[test]
    fn tags_are_bounded_and_plain() {
        let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert_eq!(
            check_tags(&tags(&[(" department ", "Finance")])).unwrap(),
            tags(&[("department", "Finance")])
        );
        assert_eq!(check_tags(&tags(&[("empty", "")])).unwrap(), tags(&[("empty", "")]));
        assert!(check_tags(&tags(&[("", "x")])).is_err());
        assert!(check_tags(&tags(&[("k", "a\u{1b}[2J")])).is_err(), "no escapes in a value");
        let long = "v".repeat(MAX_TAG_VALUE + 1);
        assert!(check_tags(&tags(&[("k", &long)])).is_err());
        let many: BTreeMap<String, String> =
            (0..=MAX_TAGS).map(|i| (format!("t{i}"), String::new())).collect();
        assert!(check_tags(&many).is_err());
        assert_eq!(describe_tags(&tags(&[("a", "1"), ("b", "")])), "a=1, b=");
    }

    #[test]
    fn only_the_requester_tags() {
        let mine = request(RequestState::Approved, None);
        assert!(may_tag(&caller(), &mine).is_ok());
        let theirs = AccessRequest { requester: "q@x.com".into(), ..mine };
        assert_eq!(may_tag(&caller(), &theirs).unwrap_err().kind, ErrorKind::Forbidden);
    }
}
