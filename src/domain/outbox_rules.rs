//! The rules of the outbox: who may add and remove a tenant's channels and change a user's
//! contact, what a channel and a contact may hold, and whose deliveries a viewer sees. Programs
//! and plain-HTTP URLs are the operator's alone: a hook runs a program on the service's machine and
//! an `http://` URL can reach the service's own network, so a tenant admin gets neither.

use chrono::{DateTime, Utc};

use super::address::internal_host;
use super::delivery::{Channel, ChannelKind, Contact, ContactChange, DeliveryScope, MailRelay, Secret};
use super::error::{Input, RuleError};
use super::model::{Tenant, User};
use super::rules::{Actor, no_user};
use super::text::shown;

/// The most channels one tenant has: every notice is queued over each of them.
pub const MAX_CHANNELS: usize = 16;
/// The longest time between two digests: a day.
pub const MAX_DIGEST_MINUTES: u32 = 1440;
/// The longest URL, program path or address a channel keeps.
const MAX_LOCATION: usize = 2048;
/// The most arguments a hook's program is given.
const MAX_ARGS: usize = 32;

/// Refuses anyone but the operator and the tenant's admins.
pub fn may_manage_channels(actor: &Actor, user: Option<&User>, tenant: &Tenant) -> Result<(), RuleError> {
    match (actor, user) {
        (Actor::Operator(_), _) => Ok(()),
        (Actor::User(_), Some(user)) if user.admin && user.tenant == tenant.id => Ok(()),
        (Actor::User(upn), _) => Err(RuleError::forbidden(format!(
            "{} may not manage the channels of tenant {}: only its admins and the operator can",
            shown(upn),
            tenant.id
        ))),
    }
}

/// The refusal for a channel a tenant does not have (or that is another tenant's).
pub fn no_channel(tenant: &str, id: u64) -> RuleError {
    RuleError::not_found(format!(
        "tenant {} has no channel {id}: see `jitdesk tenant channel list {}`",
        shown(tenant),
        shown(tenant)
    ))
}

/// The channel to add to a tenant that has `existing` channels already, once its kind is checked.
pub fn add_channel(
    actor: &Actor,
    tenant: &Tenant,
    kind: ChannelKind,
    existing: usize,
    id: u64,
    now: DateTime<Utc>,
) -> Result<Channel, RuleError> {
    if existing >= MAX_CHANNELS {
        return Err(RuleError::conflict(format!(
            "tenant {} has {MAX_CHANNELS} channels, the most it may have: remove one first",
            tenant.id
        )));
    }
    let kind = check_channel(actor, kind)?;
    Ok(Channel { id, tenant: tenant.id.clone(), kind, added_by: actor.label(), added: now })
}

/// A channel's kind with its text trimmed, or why it cannot be one.
pub fn check_channel(actor: &Actor, kind: ChannelKind) -> Result<ChannelKind, RuleError> {
    Ok(match kind {
        ChannelKind::Webhook { url, format, secret } => {
            let url = check_url(&url, &["https", "http"], "webhook URL").map_err(about(Input::Location))?;
            if url.scheme == "http" {
                need_operator(actor, "add a plain http:// webhook (use https://)")
                    .map_err(about(Input::Location))?;
            }
            need_public(actor, &url).map_err(about(Input::Location))?;
            if url.password {
                return Err(with_password(&url, "webhook URL", "a webhook signs with its secret instead")
                    .about(&[Input::Location]));
            }
            let secret = check_secret(secret, "webhook secret").map_err(about(Input::Secret))?;
            ChannelKind::Webhook { url: url.text, format, secret }
        }
        ChannelKind::Mail(MailRelay::Smtp { url, password, from }) => {
            let url = check_url(&url, &["smtp", "smtps"], "SMTP URL").map_err(about(Input::Location))?;
            // Plain SMTP is spoken only to this machine, so only the operator reaches it.
            need_public(actor, &url).map_err(about(Input::Location))?;
            if url.password {
                return Err(with_password(&url, "SMTP URL", "give the password on its own")
                    .about(&[Input::Location, Input::Secret]));
            }
            ChannelKind::Mail(MailRelay::Smtp {
                url: url.text,
                password: password
                    .map(|p| check_secret(p, "SMTP password"))
                    .transpose()
                    .map_err(about(Input::Secret))?,
                from: check_email(&from).map_err(about(Input::Sender))?,
            })
        }
        ChannelKind::Mail(MailRelay::Sendmail { program, from }) => {
            need_operator(actor, "add a sendmail channel, which runs a program")
                .map_err(about(Input::Program))?;
            ChannelKind::Mail(MailRelay::Sendmail {
                program: check_program(&program).map_err(about(Input::Program))?,
                from: check_email(&from).map_err(about(Input::Sender))?,
            })
        }
        ChannelKind::Hook { program, args } => {
            need_operator(actor, "add a hook, which runs a program").map_err(about(Input::Program))?;
            if args.len() > MAX_ARGS {
                let why = format!("a hook takes at most {MAX_ARGS} arguments");
                return Err(RuleError::invalid(why).about(&[Input::HookArgs]));
            }
            for arg in &args {
                if arg.len() > MAX_LOCATION || arg.chars().any(char::is_control) {
                    return Err(RuleError::invalid(format!(
                        "the hook argument `{}` is too long or holds a control character",
                        shown(arg)
                    ))
                    .about(&[Input::HookArgs]));
                }
            }
            ChannelKind::Hook { program: check_program(&program).map_err(about(Input::Program))?, args }
        }
    })
}

/// Marks a refusal as about `input`, so each door can say how its people give it.
fn about(input: Input) -> impl Fn(RuleError) -> RuleError {
    move |e| e.about(&[input])
}

fn need_operator(actor: &Actor, doing: &str) -> Result<(), RuleError> {
    match actor {
        Actor::Operator(_) => Ok(()),
        Actor::User(upn) => {
            Err(RuleError::forbidden(format!("{} may not {doing}: only the operator can", shown(upn))))
        }
    }
}

/// A channel's URL, checked.
struct Location {
    /// The URL as kept, its scheme in lower case.
    text: String,
    /// Its scheme, in lower case.
    scheme: String,
    /// The host it names, as written (brackets and all, for an IPv6 address).
    host: String,
    /// Whether its user part holds a password.
    password: bool,
}

/// A URL of one of the schemes given, with a host, and nothing in it that is not printable. A
/// refusal never quotes the URL: a chat's webhook URL is itself a key, and a mail URL may hold a
/// password.
fn check_url(url: &str, schemes: &[&str], what: &str) -> Result<Location, RuleError> {
    let url = url.trim();
    let bad = |why: &str| RuleError::invalid(format!("the {what} {why}"));
    if url.len() > MAX_LOCATION {
        return Err(bad(&format!("is longer than {MAX_LOCATION} characters")));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("holds a space or a control character"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad(&format!("is not a URL: it must start with {}://", schemes[0])));
    };
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        let allowed: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
        return Err(bad(&format!("must start with {}", allowed.join(" or "))));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (user, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    let name = host.rsplit_once(':').map_or(host, |(name, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) && !name.ends_with(':') { name } else { host }
    });
    if name.is_empty() {
        return Err(bad("names no host"));
    }
    let scheme = scheme.to_ascii_lowercase();
    Ok(Location {
        text: format!("{scheme}{}", &url[scheme.len()..]),
        scheme,
        host: name.to_string(),
        password: user.contains(':'),
    })
}

/// Refuses a channel to this machine or an internal address to anyone but the operator: the
/// service would otherwise carry a tenant's requests into its own network.
fn need_public(actor: &Actor, url: &Location) -> Result<(), RuleError> {
    if !internal_host(&url.host) {
        return Ok(());
    }
    need_operator(actor, &format!("add a channel to {}, an internal host", shown(&url.host)))
}

/// The refusal for a URL with a password in it, which would be kept and shown with the URL.
fn with_password(url: &Location, what: &str, instead: &str) -> RuleError {
    RuleError::invalid(format!(
        "the {what} for {} holds a password, which is never kept in a URL: {instead}",
        shown(&url.host)
    ))
}

/// A secret that is there: an empty key signs nothing anyone can check.
fn check_secret(secret: Secret, what: &str) -> Result<Secret, RuleError> {
    let trimmed = secret.0.trim();
    if trimmed.is_empty() {
        return Err(RuleError::invalid(format!("the {what} is empty: give a file that holds it")));
    }
    if trimmed.len() > MAX_LOCATION {
        return Err(RuleError::invalid(format!("the {what} is longer than {MAX_LOCATION} bytes")));
    }
    Ok(Secret(trimmed.to_string()))
}

/// A program by its absolute path: one found by a search path could be anyone's.
fn check_program(program: &str) -> Result<String, RuleError> {
    let program = program.trim();
    if !program.starts_with('/') || program.len() > MAX_LOCATION || program.chars().any(char::is_control) {
        return Err(RuleError::invalid(format!(
            "the program `{}` is not an absolute path: give it as /path/to/program",
            shown(program)
        )));
    }
    Ok(program.to_string())
}

/// An e-mail address of a sane shape (one `@`, a dotted domain, nothing a header could be split
/// on), trimmed.
pub fn check_email(address: &str) -> Result<String, RuleError> {
    let address = address.trim();
    let bad = || {
        RuleError::invalid(format!("`{}` is not an e-mail address such as ana@contoso.com", shown(address)))
    };
    let (local, domain) = address.split_once('@').ok_or_else(bad)?;
    let sane = |part: &str| {
        !part.is_empty() && part.chars().all(|c| c.is_ascii_graphic() && !"@<>()[]\\,;:\"".contains(c))
    };
    let dotted = domain.split('.').count() >= 2 && domain.split('.').all(|label| !label.is_empty());
    if address.len() > 254 || !sane(local) || !sane(domain) || !dotted {
        return Err(bad());
    }
    Ok(address.to_string())
}

/// Refuses anyone but the operator, the user themself and their tenant's admins; to anyone else
/// the user is as missing as one who does not exist.
pub fn may_set_contact(actor: &Actor, user: Option<&User>, owner: &User) -> Result<(), RuleError> {
    match (actor, user) {
        (Actor::Operator(_), _) => Ok(()),
        (Actor::User(upn), _) if *upn == owner.upn => Ok(()),
        (Actor::User(_), Some(user)) if user.admin && user.tenant == owner.tenant => Ok(()),
        (Actor::User(_), _) => Err(no_user(&owner.upn)),
    }
}

/// The contact `change` makes of `old`, or why it cannot.
pub fn change_contact(old: Contact, change: ContactChange) -> Result<Contact, RuleError> {
    if let Some(kind) = change.mute.iter().find(|k| change.unmute.contains(k)) {
        let why = format!("{kind} is both muted and unmuted: choose one");
        return Err(RuleError::invalid(why).about(&[Input::Muted]));
    }
    let email = match change.email {
        None => old.email,
        Some(None) => None,
        Some(Some(address)) => Some(check_email(&address).map_err(about(Input::Email))?),
    };
    let digest_minutes = match change.digest_minutes {
        None => old.digest_minutes,
        Some(None) => None,
        Some(Some(minutes)) if (1..=MAX_DIGEST_MINUTES).contains(&minutes) => Some(minutes),
        Some(Some(minutes)) => {
            return Err(RuleError::invalid(format!(
                "a digest every {minutes} minutes is out of range: give 1 to {MAX_DIGEST_MINUTES} minutes"
            ))
            .about(&[Input::Digest]));
        }
    };
    let mut muted = old.muted;
    muted.extend(change.mute);
    muted.retain(|k| !change.unmute.contains(k));
    muted.sort_unstable();
    muted.dedup();
    Ok(Contact { email, muted, digest_minutes })
}

/// The deliveries a viewer sees: the operator all, a tenant's admin those over their tenant's
/// channels, anyone else the mail addressed to them.
pub fn delivery_scope(user: Option<&User>) -> DeliveryScope {
    match user {
        None => DeliveryScope::All,
        Some(user) if user.admin => DeliveryScope::Tenant(user.tenant.clone()),
        Some(user) => DeliveryScope::To(user.upn.clone()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::delivery::{NoticeKind, WebhookFormat};
    use crate::domain::error::ErrorKind;
    use crate::domain::model::TenantKind;

    fn tenant(id: &str) -> Tenant {
        Tenant { id: id.into(), kind: TenantKind::Customer, name: id.into(), license: None }
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

    fn operator() -> Actor {
        Actor::Operator("root".into())
    }

    fn webhook(url: &str) -> ChannelKind {
        ChannelKind::Webhook { url: url.into(), format: WebhookFormat::Slack, secret: Secret("k".into()) }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0).unwrap()
    }

    #[test]
    fn only_the_operator_and_the_tenants_admins_manage_its_channels() {
        let contoso = tenant("contoso");
        let admin = user("a@contoso.com", "contoso", true);
        assert!(may_manage_channels(&operator(), None, &contoso).is_ok());
        assert!(may_manage_channels(&Actor::User(admin.upn.clone()), Some(&admin), &contoso).is_ok());
        for who in [user("p@contoso.com", "contoso", false), user("a@fabrikam.com", "fabrikam", true)] {
            let e = may_manage_channels(&Actor::User(who.upn.clone()), Some(&who), &contoso).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Forbidden);
        }
    }

    #[test]
    fn an_admin_adds_https_webhooks_and_smtp_but_no_program_nor_plain_http() {
        let admin = Actor::User("a@contoso.com".into());
        assert!(check_channel(&admin, webhook("https://hooks.example.com/x")).is_ok());
        let smtp = ChannelKind::Mail(MailRelay::Smtp {
            url: "smtps://jit@mail.example.com:465".into(),
            password: None,
            from: "jit@example.com".into(),
        });
        assert!(check_channel(&admin, smtp).is_ok());
        let refused = [
            webhook("http://10.0.0.1/x"),
            ChannelKind::Hook { program: "/bin/notify".into(), args: vec![] },
            ChannelKind::Mail(MailRelay::Sendmail {
                program: "/usr/sbin/sendmail".into(),
                from: "j@x.com".into(),
            }),
        ];
        for kind in refused {
            let e = check_channel(&admin, kind.clone()).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Forbidden, "{kind:?}");
            assert!(check_channel(&operator(), kind).is_ok());
        }
    }

    fn smtp(url: &str) -> ChannelKind {
        ChannelKind::Mail(MailRelay::Smtp { url: url.into(), password: None, from: "jit@example.com".into() })
    }

    #[test]
    fn only_the_operator_adds_a_channel_to_this_machine_or_an_internal_address() {
        let admin = Actor::User("a@contoso.com".into());
        let internal = [
            smtp("smtp://127.0.0.1:25"),
            smtp("smtp://localhost"),
            smtp("smtps://jit@[::1]:465"),
            webhook("https://169.254.169.254/latest"),
            webhook("https://[::ffff:10.0.0.1]/x"),
            webhook("https://192.168.1.1:8443/x"),
            webhook("https://mail.localhost/x"),
        ];
        for kind in internal {
            let e = check_channel(&admin, kind.clone()).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Forbidden, "{kind:?}");
            assert!(e.message.contains("an internal host: only the operator can"), "{}", e.message);
            assert_eq!(e.about, [Input::Location]);
            assert!(check_channel(&operator(), kind).is_ok());
        }
    }

    #[test]
    fn a_password_in_a_url_is_refused_and_the_url_is_never_quoted() {
        for who in [operator(), Actor::User("a@contoso.com".into())] {
            let e = check_channel(&who, smtp("smtps://jit:hunter2@mail.example.com:465")).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Invalid);
            assert!(e.message.contains("mail.example.com holds a password"), "{}", e.message);
            assert_eq!(e.about, [Input::Location, Input::Secret]);
            assert!(!e.message.contains("hunter2"), "{}", e.message);
            let e = check_channel(&who, webhook("https://u:hunter2@hooks.example.com/x")).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Invalid);
            assert!(!e.message.contains("hunter2"), "{}", e.message);
        }
        let e = check_channel(&operator(), webhook("https://hooks.example.com/T0/s3cr3t path")).unwrap_err();
        assert!(!e.message.contains("s3cr3t"), "{}", e.message);
        let e = check_channel(&operator(), smtp("ftp://jit:hunter2@mail.example.com")).unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
    }

    #[test]
    fn malformed_channels_are_refused_in_one_line_that_says_what_to_give() {
        let cases = [
            (webhook("ftp://x.com/"), "must start with https:// or http://"),
            (webhook("hooks.example.com"), "is not a URL"),
            (webhook("https:///path"), "names no host"),
            (webhook("https://x.com/a b"), "holds a space"),
            (ChannelKind::Hook { program: "notify".into(), args: vec![] }, "not an absolute path"),
            (
                ChannelKind::Webhook {
                    url: "https://x.com".into(),
                    format: WebhookFormat::Jitdesk,
                    secret: Secret(" \n".into()),
                },
                "secret is empty",
            ),
        ];
        for (kind, words) in cases {
            let e = check_channel(&operator(), kind).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Invalid);
            assert!(e.message.contains(words), "{}", e.message);
            assert!(!e.message.contains('\n'));
        }
    }

    #[test]
    fn a_tenant_has_a_bounded_number_of_channels() {
        let contoso = tenant("contoso");
        assert!(
            add_channel(&operator(), &contoso, webhook("https://x.com"), MAX_CHANNELS - 1, 1, now()).is_ok()
        );
        let e =
            add_channel(&operator(), &contoso, webhook("https://x.com"), MAX_CHANNELS, 1, now()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
    }

    #[test]
    fn addresses_of_a_sane_shape_pass_and_others_do_not() {
        assert_eq!(check_email(" ana@contoso.com ").unwrap(), "ana@contoso.com");
        for bad in
            ["ana", "ana@", "@x.com", "ana@localhost", "a b@x.com", "a@x.com\r\nBcc: e@v.il", "<a@x.com>"]
        {
            assert_eq!(check_email(bad).unwrap_err().kind, ErrorKind::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn a_contact_is_set_by_its_user_their_admins_and_the_operator_and_hidden_from_others() {
        let ana = user("ana@contoso.com", "contoso", false);
        let admin = user("a@contoso.com", "contoso", true);
        let other = user("bo@contoso.com", "contoso", false);
        let foreign = user("a@fabrikam.com", "fabrikam", true);
        assert!(may_set_contact(&operator(), None, &ana).is_ok());
        assert!(may_set_contact(&Actor::User(ana.upn.clone()), Some(&ana), &ana).is_ok());
        assert!(may_set_contact(&Actor::User(admin.upn.clone()), Some(&admin), &ana).is_ok());
        for who in [other, foreign] {
            let e = may_set_contact(&Actor::User(who.upn.clone()), Some(&who), &ana).unwrap_err();
            assert_eq!(e, no_user(&ana.upn), "answered like a user that does not exist");
        }
    }

    #[test]
    fn a_contact_change_keeps_what_it_does_not_name_and_clears_what_it_nulls() {
        let old = Contact {
            email: Some("ana@contoso.com".into()),
            muted: vec![NoticeKind::Started],
            digest_minutes: Some(30),
        };
        let change = ContactChange {
            mute: vec![NoticeKind::Ended, NoticeKind::Started],
            unmute: vec![NoticeKind::Started],
            ..ContactChange::default()
        };
        assert!(change_contact(old.clone(), change).is_err(), "muted and unmuted at once");
        let change = ContactChange { mute: vec![NoticeKind::Ended], ..ContactChange::default() };
        let new = change_contact(old.clone(), change).unwrap();
        assert_eq!(new.email, old.email);
        assert_eq!(new.muted, vec![NoticeKind::Started, NoticeKind::Ended]);
        let change = ContactChange {
            email: Some(None),
            unmute: vec![NoticeKind::Started],
            digest_minutes: Some(None),
            ..ContactChange::default()
        };
        assert_eq!(change_contact(old.clone(), change).unwrap(), Contact::default());
        for minutes in [0, MAX_DIGEST_MINUTES + 1] {
            let change = ContactChange { digest_minutes: Some(Some(minutes)), ..ContactChange::default() };
            assert_eq!(change_contact(old.clone(), change).unwrap_err().kind, ErrorKind::Invalid);
        }
    }

    #[test]
    fn a_null_in_a_contact_change_clears_and_a_missing_field_keeps() {
        let change: ContactChange = serde_json::from_str(r#"{"email": null}"#).unwrap();
        assert_eq!(change.email, Some(None));
        assert_eq!(change.digest_minutes, None);
    }
}
