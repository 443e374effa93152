//! Tenants as their users see them, and a customer tenant's licence: who sees which tenant and
//! whose users, who may change a licence, and what a licence below P2 stops. Kept apart from the
//! workflow's rules: the licence is a fact about the directory that the workflow's rules only ask
//! (`need_p2`), and who may read the directory is its own question.

use std::collections::HashSet;

use super::error::{Input, RuleError};
use super::list::Page;
use super::model::{Application, License, Tenant, TenantKind, User};
use super::rules::Actor;
use super::text::shown;

/// The licence as people read it: `free`, `P1`, `P2`, or `none` for a publisher tenant, which
/// carries none.
pub fn name(license: Option<License>) -> &'static str {
    match license {
        Some(License::Free) => "free",
        Some(License::P1) => "P1",
        Some(License::P2) => "P2",
        None => "none",
    }
}

/// The refusal for a tenant that does not exist, or that the asker may not see: the same words for
/// both, so that asking tells nothing of another tenant.
pub fn no_tenant(id: &str) -> RuleError {
    RuleError::not_found(format!("no tenant `{}`: see `jitdesk tenant list`", shown(id)))
}

/// The tenants a user's tenant deals with: the customer and publisher tenants of the applications
/// the user may see (`apps`, as `rules::can_see` admits them), its own among them.
pub fn dealings<'a>(user: &User, apps: impl IntoIterator<Item = &'a Application>) -> HashSet<String> {
    let mut ids = HashSet::from([user.tenant.clone()]);
    for app in apps {
        ids.insert(app.customer_tenant.clone());
        ids.insert(app.publisher_tenant.clone());
    }
    ids
}

/// Whether a user sees a tenant: their own, any publisher tenant (publishers sell on the
/// marketplace, whose offers everyone sees), and a customer tenant their tenant deals with
/// (`dealings`). Another customer tenant, and its licence, is none of their business.
pub fn sees_tenant(tenant: &Tenant, dealings: &HashSet<String>) -> bool {
    tenant.kind == TenantKind::Publisher || dealings.contains(&tenant.id)
}

/// Whether a user may list the users of a tenant they see: only of their own. The operator, who
/// manages the directory, lists anyone's.
pub fn may_list_users(user: &User, tenant: &Tenant) -> Result<(), RuleError> {
    if user.tenant == tenant.id {
        return Ok(());
    }
    Err(RuleError::forbidden(format!(
        "{} may list only the users of tenant `{}`, its own: leave out the tenant",
        shown(&user.upn),
        user.tenant
    )))
}

/// What a search for `text` looks for: trimmed and lower-cased, as UPNs are kept.
pub fn needle(text: &str) -> String {
    text.trim().to_lowercase()
}

/// Whether a search's `needle` finds the user: any part of their UPN or display name, ignoring case.
pub fn finds(user: &User, needle: &str) -> bool {
    user.upn.contains(needle) || user.display_name.to_lowercase().contains(needle)
}

/// The tenant with its licence changed to `license`, by the operator or an admin of that customer
/// tenant (`user`: the actor as the directory has them, None for the operator). A publisher
/// tenant carries no licence.
pub fn set_licence(
    actor: &Actor,
    user: Option<&User>,
    tenant: &Tenant,
    license: License,
) -> Result<Tenant, RuleError> {
    match (actor, user) {
        (Actor::Operator(_), _) => {}
        (Actor::User(_), Some(user)) if user.admin && user.tenant == tenant.id => {}
        (Actor::User(upn), _) => {
            return Err(RuleError::forbidden(format!(
                "{} may not change the licence of tenant `{}`: only its admins and the operator can",
                shown(upn),
                tenant.id
            )));
        }
    }
    if tenant.kind == TenantKind::Publisher {
        return Err(RuleError::invalid(format!(
            "tenant `{}` is a publisher tenant, and only customer tenants carry a licence",
            tenant.id
        ))
        .about(&[Input::License]));
    }
    Ok(Tenant { license: Some(license), ..tenant.clone() })
}

/// Whether a change of licence takes JIT access away: from P2 to anything less.
pub fn takes_jit_away(before: Option<License>, after: Option<License>) -> bool {
    before == Some(License::P2) && after != Some(License::P2)
}

/// What a downgrade below P2 means for one of the tenant's applications with JIT access, one line
/// for the admin who made it; the name is shown sanitised.
pub fn warning(tenant: &Tenant, app: &str) -> String {
    format!(
        "`{}` has JIT access, which needs P2: new requests, extensions and approvals on it are refused until tenant `{}` is on P2 again",
        shown(app),
        tenant.id
    )
}

/// The warnings of a downgrade below P2, one per application with JIT access of the part read, and
/// a last line when more are left unnamed, so a long list never reads as complete.
pub fn warnings(tenant: &Tenant, jit_apps: &Page<Application>) -> Vec<String> {
    let mut lines: Vec<String> = jit_apps.items.iter().map(|a| warning(tenant, &a.name)).collect();
    if jit_apps.more {
        lines.push(format!(
            "tenant `{}` has more applications with JIT access than these: `jitdesk tenant show {}` counts them",
            tenant.id, tenant.id
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ErrorKind;
    use crate::domain::model::{ApprovalMode, JitPolicy};
    use crate::domain::period::Period;
    use crate::domain::rules::need_p2;

    fn tenant(id: &str, kind: TenantKind, license: Option<License>) -> Tenant {
        Tenant { id: id.into(), kind, name: id.into(), license }
    }

    fn user(upn: &str, tenant: &str, admin: bool) -> User {
        User {
            upn: upn.into(),
            display_name: upn.into(),
            tenant: tenant.into(),
            admin,
            login: None,
            object_id: String::new(),
        }
    }

    fn app(customer: &str, publisher: &str) -> Application {
        Application {
            name: format!("{customer}-app"),
            offer: "crm".into(),
            customer_tenant: customer.into(),
            publisher_tenant: publisher.into(),
            resource_group: format!("mrg-{customer}-app"),
            policy: JitPolicy {
                enabled: true,
                mode: ApprovalMode::AutoApprove,
                max_duration: Period::from_hours(8),
                approvers: Vec::new(),
                request_timeout: Period::from_hours(24),
                approver_groups: Vec::new(),
                approvals_required: 1,
                max_extensions: 0,
            },
            deployed_by: format!("admin@{customer}.com"),
            deployed_at: chrono::DateTime::UNIX_EPOCH,
            resource_id: String::new(),
        }
    }

    #[test]
    fn a_user_sees_publishers_its_own_tenant_and_the_customers_it_deals_with() {
        let dave = user("dave@fabrikam.com", "fabrikam", false);
        let deals = dealings(&dave, &[app("contoso", "fabrikam")]);
        let contoso = tenant("contoso", TenantKind::Customer, Some(License::P2));
        let northwind = tenant("northwind", TenantKind::Customer, Some(License::Free));
        let woodgrove = tenant("woodgrove", TenantKind::Publisher, None);
        assert!(sees_tenant(&contoso, &deals));
        assert!(sees_tenant(&woodgrove, &deals), "publishers are public");
        assert!(!sees_tenant(&northwind, &deals), "a customer it has no application with");
        let nadia = user("nadia@northwind.com", "northwind", true);
        let deals = dealings(&nadia, &[]);
        assert!(sees_tenant(&northwind, &deals), "its own");
        assert!(!sees_tenant(&contoso, &deals));
    }

    #[test]
    fn only_the_own_tenants_users_are_listed() {
        let alice = user("alice@contoso.com", "contoso", true);
        assert!(may_list_users(&alice, &tenant("contoso", TenantKind::Customer, None)).is_ok());
        let e = may_list_users(&alice, &tenant("fabrikam", TenantKind::Publisher, None)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden);
        assert!(e.message.contains("contoso"), "{e}");
    }

    #[test]
    fn the_operator_and_the_tenants_admins_set_its_licence() {
        let contoso = tenant("contoso", TenantKind::Customer, Some(License::P2));
        let op = Actor::Operator("root".into());
        let set = set_licence(&op, None, &contoso, License::P1).unwrap();
        assert_eq!(set.license, Some(License::P1));
        assert_eq!(Tenant { license: contoso.license, ..set }, contoso, "only the licence changes");

        let alice = user("alice@contoso.com", "contoso", true);
        let as_alice = Actor::User(alice.upn.clone());
        assert!(set_licence(&as_alice, Some(&alice), &contoso, License::Free).is_ok());

        let bob = user("bob@contoso.com", "contoso", false);
        let e = set_licence(&Actor::User(bob.upn.clone()), Some(&bob), &contoso, License::P2).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden, "not an admin");
        let nadia = user("nadia@northwind.com", "northwind", true);
        let e =
            set_licence(&Actor::User(nadia.upn.clone()), Some(&nadia), &contoso, License::P2).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden, "another tenant's admin");
    }

    #[test]
    fn a_publisher_tenant_carries_no_licence() {
        let fabrikam = tenant("fabrikam", TenantKind::Publisher, None);
        let e = set_licence(&Actor::Operator("root".into()), None, &fabrikam, License::P2).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert_eq!(e.about, vec![Input::License]);
        let admin = user("padmin@fabrikam.com", "fabrikam", true);
        let e =
            set_licence(&Actor::User(admin.upn.clone()), Some(&admin), &fabrikam, License::P2).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
    }

    #[test]
    fn only_a_change_from_p2_to_less_takes_jit_away() {
        use License::*;
        assert!(takes_jit_away(Some(P2), Some(P1)));
        assert!(takes_jit_away(Some(P2), Some(Free)));
        assert!(!takes_jit_away(Some(P2), Some(P2)));
        assert!(!takes_jit_away(Some(P1), Some(Free)), "there was no JIT to take");
        assert!(!takes_jit_away(Some(Free), Some(P2)));
    }

    #[test]
    fn below_p2_is_refused_in_the_guides_words() {
        let cheap = tenant("cheap", TenantKind::Customer, Some(License::P1));
        let e = need_p2(&cheap, "approving JIT access").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden);
        assert!(
            e.message.contains("needs a Microsoft Entra ID P2 licence") && e.message.contains("P1"),
            "{e}"
        );
        assert!(need_p2(&tenant("rich", TenantKind::Customer, Some(License::P2)), "approving").is_ok());
    }

    #[test]
    fn a_warning_names_the_application_sanitised() {
        let contoso = tenant("contoso", TenantKind::Customer, Some(License::P1));
        let line = warning(&contoso, "crm\u{1b}[2J");
        assert!(!line.contains('\u{1b}'), "{line}");
        assert!(line.contains("crm") && line.contains("contoso") && line.contains("P2"), "{line}");
        assert_eq!(name(Some(License::Free)), "free");
        assert_eq!(name(None), "none");
    }

    #[test]
    fn a_long_list_of_warnings_says_that_more_are_left_unnamed() {
        let contoso = tenant("contoso", TenantKind::Customer, Some(License::P1));
        let read = vec![app("contoso", "fabrikam")];
        let whole = warnings(&contoso, &Page { items: read.clone(), more: false });
        assert_eq!(whole, [warning(&contoso, "contoso-app")]);
        let part = warnings(&contoso, &Page { items: read, more: true });
        assert_eq!(part.len(), 2, "{part:?}");
        assert!(part[1].contains("more applications with JIT access"), "{part:?}");
    }

    #[test]
    fn a_search_finds_any_part_of_a_upn_or_a_display_name_whatever_its_case() {
        assert_eq!(needle("  Bob@Contoso "), "bob@contoso");
        let bob = User {
            upn: "bob@contoso.com".into(),
            display_name: "Bob Nakamura".into(),
            tenant: "contoso".into(),
            admin: false,
            login: None,
            object_id: String::new(),
        };
        for found in ["bob@", "contoso.com", "nakamura", "b nak"] {
            assert!(finds(&bob, &needle(found)), "{found}");
        }
        assert!(!finds(&bob, &needle("carol")), "neither the UPN nor the name has it");
    }
}
