//! Who a caller at a remote door is: SSH keys that belong to directory users, SSH certificate
//! authorities a tenant trusts for its own users, and API tokens. The records, who may manage
//! them, and the pure decisions that turn a key, a certificate or a token secret into an identity;
//! the engine looks the records up and the doors (SSH, HTTPS) only ask.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ssh_key::{Certificate, HashAlg, PublicKey, certificate::CertType};

use super::error::RuleError;
use super::list::Listed;
use super::model::{Action, AuditRecord, Target, Tenant, User};
use super::period::Period;
use super::rules::Actor;
use super::text::{MAX_NAME_TEXT, check_text, sanitize, shown};

/// What a token's printable form starts with, so that a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "jdt_";

/// An SSH public key that identifies one directory user at the SSH door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SshKey {
    /// `SHA256:...`, as `ssh-keygen -l` prints it; unique in the store.
    pub fingerprint: String,
    /// The key as an OpenSSH line without its comment (`ssh-ed25519 AAAA...`).
    pub key: String,
    /// The UPN of the user the key belongs to.
    pub upn: String,
    /// The comment the key was given with, made safe to print; may be empty.
    pub comment: String,
    /// When it was added.
    #[serde(with = "super::stamp")]
    pub added_at: DateTime<Utc>,
}

/// An SSH certificate authority a tenant trusts: a user certificate it signed names a user of
/// that tenant by a principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantCa {
    /// The id of the tenant that trusts it.
    pub tenant: String,
    /// The CA key's `SHA256:...` fingerprint; unique within the tenant.
    pub fingerprint: String,
    /// The CA's public key as an OpenSSH line without its comment.
    pub key: String,
    /// The comment the key was given with, made safe to print; may be empty.
    pub comment: String,
    /// When it was added.
    #[serde(with = "super::stamp")]
    pub added_at: DateTime<Utc>,
}

/// Whom an API token acts as: exactly one directory user, or the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TokenOwner {
    /// The service's operator; only the operator makes such a token.
    Operator,
    /// A directory user, by UPN.
    User(String),
}

impl TokenOwner {
    /// The key a store files the owner's tokens under: the UPN, or empty for the operator (a UPN
    /// is never empty).
    pub fn key(&self) -> &str {
        match self {
            TokenOwner::Operator => "",
            TokenOwner::User(upn) => upn,
        }
    }
}

impl fmt::Display for TokenOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenOwner::Operator => f.write_str("operator"),
            TokenOwner::User(upn) => f.write_str(upn),
        }
    }
}

/// An API token as stored: never its secret, only the secret's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    /// Public and unique; what lists show and revocation names.
    pub id: String,
    /// The SHA-256 of the whole printable token, in lower-case hex.
    pub hash: String,
    /// Whom it acts as.
    pub owner: TokenOwner,
    /// For people: what it is for.
    pub name: String,
    /// When it was made.
    #[serde(with = "super::stamp")]
    pub created_at: DateTime<Utc>,
    /// From then on it identifies nobody; None: it does not expire.
    #[serde(with = "super::stamp::option")]
    pub expires_at: Option<DateTime<Utc>>,
    /// It may only read: every change made with it is refused.
    pub read_only: bool,
    /// When it was revoked; from then on it identifies nobody.
    #[serde(with = "super::stamp::option")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Whether it identifies its owner at `now`: neither revoked nor expired.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|end| now < end)
    }
}

/// A token as lists and answers show it: everything but its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// Public and unique; what revocation names.
    pub id: String,
    /// Whom it acts as.
    pub owner: TokenOwner,
    /// What it is for.
    pub name: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops identifying anybody; None: it does not expire.
    pub expires_at: Option<DateTime<Utc>>,
    /// It may only read.
    pub read_only: bool,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiToken> for TokenInfo {
    fn from(t: &ApiToken) -> Self {
        TokenInfo {
            id: t.id.clone(),
            owner: t.owner.clone(),
            name: t.name.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            read_only: t.read_only,
            revoked_at: t.revoked_at,
        }
    }
}

impl Listed for TokenInfo {
    type Cursor = String;
    fn cursor(&self) -> String {
        self.id.clone()
    }
}

impl Listed for SshKey {
    type Cursor = String;
    fn cursor(&self) -> String {
        self.fingerprint.clone()
    }
}

impl Listed for TenantCa {
    type Cursor = String;
    fn cursor(&self) -> String {
        self.fingerprint.clone()
    }
}

/// Who a live token identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIdentity {
    /// The token's public id, for the log.
    pub token: String,
    /// Whom it acts as.
    pub owner: TokenOwner,
    /// It may only read.
    pub read_only: bool,
}

/// A public key as given, checked and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    /// The OpenSSH line without its comment.
    pub key: String,
    /// `SHA256:...`.
    pub fingerprint: String,
    /// The comment it came with, made safe to print and cut to a name's length.
    pub comment: String,
}

/// Parses one OpenSSH public key line (`ssh-ed25519 AAAA... comment`); `what` names it in the
/// refusal ("SSH key", "CA key").
pub fn parse_public_key(what: &str, text: &str) -> Result<ParsedKey, RuleError> {
    let refuse = |why: &str| {
        RuleError::invalid(format!(
            "the {what} is not an OpenSSH public key ({why}): give one line such as `ssh-ed25519 AAAA... comment`, as in a .pub file"
        ))
    };
    let line = text.trim();
    if line.is_empty() {
        return Err(refuse("it is empty"));
    }
    if line.lines().count() > 1 {
        return Err(refuse("it has more than one line"));
    }
    let mut key = PublicKey::from_openssh(line).map_err(|_| refuse("it could not be read"))?;
    let comment: String = sanitize(key.comment().trim()).chars().take(MAX_NAME_TEXT).collect();
    key.set_comment("");
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    let key = key.to_openssh().map_err(|_| refuse("it could not be written back"))?;
    Ok(ParsedKey { key, fingerprint, comment })
}

/// Refuses unless the actor is the operator or the user themself: a user manages only their own
/// keys and tokens.
fn need_self_or_operator(actor: &Actor, owner: &str, doing: &str) -> Result<(), RuleError> {
    match actor {
        Actor::Operator(_) => Ok(()),
        Actor::User(upn) if upn == owner => Ok(()),
        Actor::User(upn) => Err(RuleError::forbidden(format!(
            "{} may not {doing} of {}: users manage only their own, and the operator everyone's",
            shown(upn),
            shown(owner)
        ))),
    }
}

/// Whether the actor may see and change a user's SSH keys.
pub fn may_manage_keys(actor: &Actor, owner: &User) -> Result<(), RuleError> {
    need_self_or_operator(actor, &owner.upn, "manage the SSH keys")
}

/// The key to add for `owner`, if no user has it yet. `holder` is whoever has it now: a key
/// belongs to one user, and the refusal does not say whose it is.
pub fn add_key(
    actor: &Actor,
    owner: &User,
    parsed: ParsedKey,
    holder: Option<&SshKey>,
    now: DateTime<Utc>,
) -> Result<SshKey, RuleError> {
    may_manage_keys(actor, owner)?;
    match holder {
        Some(held) if held.upn == owner.upn => {
            Err(RuleError::conflict(format!("{} already has the SSH key {}", owner.upn, parsed.fingerprint)))
        }
        Some(_) => Err(RuleError::conflict(format!(
            "the SSH key {} already belongs to another user: a key identifies one user, so make a new key",
            parsed.fingerprint
        ))),
        None => Ok(SshKey {
            fingerprint: parsed.fingerprint,
            key: parsed.key,
            upn: owner.upn.clone(),
            comment: parsed.comment,
            added_at: now,
        }),
    }
}

/// The refusal for a key the user does not have, or that the caller may not see.
pub fn no_key(upn: &str, fingerprint: &str) -> RuleError {
    RuleError::not_found(format!(
        "{} has no SSH key {}: see `jitdesk user key list`",
        shown(upn),
        shown(fingerprint)
    ))
}

/// The key to remove: it must be the owner's, and the actor the owner or the operator.
pub fn remove_key(
    actor: &Actor,
    owner: &User,
    fingerprint: &str,
    found: Option<SshKey>,
) -> Result<SshKey, RuleError> {
    may_manage_keys(actor, owner)?;
    found.filter(|k| k.upn == owner.upn).ok_or_else(|| no_key(&owner.upn, fingerprint))
}

/// Whether the actor may see and change a tenant's trusted CAs: the operator, or an admin of that
/// tenant (`user` is the actor as the directory has them, None for the operator).
pub fn may_manage_cas(actor: &Actor, user: Option<&User>, tenant: &Tenant) -> Result<(), RuleError> {
    match (actor, user) {
        (Actor::Operator(_), _) => Ok(()),
        (Actor::User(_), Some(user)) if user.admin && user.tenant == tenant.id => Ok(()),
        (Actor::User(upn), _) => Err(RuleError::forbidden(format!(
            "{} may not manage the SSH certificate authorities of tenant {}: only its admins and the operator can",
            shown(upn),
            tenant.id
        ))),
    }
}

/// The CA to add to a tenant's trusted ones, unless it trusts it already.
pub fn add_ca(
    tenant: &Tenant,
    parsed: ParsedKey,
    existing: Option<&TenantCa>,
    now: DateTime<Utc>,
) -> Result<TenantCa, RuleError> {
    if existing.is_some() {
        return Err(RuleError::conflict(format!(
            "tenant {} already trusts the SSH certificate authority {}",
            tenant.id, parsed.fingerprint
        )));
    }
    Ok(TenantCa {
        tenant: tenant.id.clone(),
        fingerprint: parsed.fingerprint,
        key: parsed.key,
        comment: parsed.comment,
        added_at: now,
    })
}

/// The refusal for a CA the tenant does not trust.
pub fn no_ca(tenant: &str, fingerprint: &str) -> RuleError {
    RuleError::not_found(format!(
        "tenant {} trusts no SSH certificate authority {}: see `jitdesk tenant ca list`",
        shown(tenant),
        shown(fingerprint)
    ))
}

/// Whom a token is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewToken {
    /// The UPN of the user it acts as; None with `operator` false: the caller themself.
    pub user: Option<String>,
    /// For the operator: a token that acts as the operator.
    #[serde(default)]
    pub operator: bool,
    /// What it is for; None: `token`.
    pub name: Option<String>,
    /// How long it lives from its making; None: until revoked.
    pub expires_in: Option<Period>,
    /// It may only read.
    #[serde(default)]
    pub read_only: bool,
}

/// Whom a token the actor asks for acts as: a user's token is only ever for that user, and a
/// token for the operator only the operator makes. `user` is the directory user the request names
/// (resolved by the engine), None when it names none.
pub fn token_owner(actor: &Actor, input: &NewToken, user: Option<&User>) -> Result<TokenOwner, RuleError> {
    match (actor, input.operator, user) {
        (_, true, Some(_)) => {
            Err(RuleError::invalid("a token acts as one user or as the operator, not both: name only one"))
        }
        (Actor::Operator(_), true, None) => Ok(TokenOwner::Operator),
        (Actor::User(upn), true, _) => Err(RuleError::forbidden(format!(
            "{} may not make a token for the operator: only the operator can",
            shown(upn)
        ))),
        (_, false, Some(user)) => {
            need_self_or_operator(actor, &user.upn, "make tokens")?;
            Ok(TokenOwner::User(user.upn.clone()))
        }
        (Actor::User(upn), false, None) => Ok(TokenOwner::User(upn.clone())),
        (Actor::Operator(_), false, None) => Err(RuleError::invalid(
            "a token acts as a directory user or as the operator: name the user it is for",
        )),
    }
}

/// The checked token to store, from the parts the engine made (its id and its secret's hash).
pub fn new_token(
    owner: TokenOwner,
    input: NewToken,
    id: String,
    hash: String,
    now: DateTime<Utc>,
) -> Result<ApiToken, RuleError> {
    let name = match input.name {
        Some(name) => check_text("token name", &name, MAX_NAME_TEXT)?,
        None => "token".to_string(),
    };
    let expires_at = match input.expires_in {
        Some(span) if span.as_secs() <= 0 => {
            return Err(RuleError::invalid("a token's lifetime must be longer than zero: give one like 30d"));
        }
        Some(span) => Some(
            now.checked_add_signed(span.to_delta())
                .ok_or_else(|| RuleError::invalid("a token's lifetime is too long: give one like 30d"))?,
        ),
        None => None,
    };
    Ok(ApiToken {
        id,
        hash,
        owner,
        name,
        created_at: now,
        expires_at,
        read_only: input.read_only,
        revoked_at: None,
    })
}

/// Whether the actor may see a token: the operator sees every one, a user their own.
pub fn sees_token(actor: &Actor, token: &ApiToken) -> bool {
    match actor {
        Actor::Operator(_) => true,
        Actor::User(upn) => token.owner == TokenOwner::User(upn.clone()),
    }
}

/// The refusal for a token that does not exist, or that the caller may not see.
pub fn no_token(id: &str) -> RuleError {
    RuleError::not_found(format!("no token {}: see `jitdesk token list`", shown(id)))
}

/// The token revoked at `now`, if the actor may see it and it is not revoked yet.
pub fn revoke_token(
    actor: &Actor,
    id: &str,
    found: Option<ApiToken>,
    now: DateTime<Utc>,
) -> Result<ApiToken, RuleError> {
    let token = found.filter(|t| sees_token(actor, t)).ok_or_else(|| no_token(id))?;
    if token.revoked_at.is_some() {
        return Err(RuleError::conflict(format!("token {} is revoked already", token.id)));
    }
    Ok(ApiToken { revoked_at: Some(now), ..token })
}

/// The hash a token is stored and found by: SHA-256 of its whole printable form, in hex.
pub fn token_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Who the token found by its secret's hash identifies at `now`: nobody when it is revoked or
/// expired, exactly as for a secret no token has.
pub fn token_identity(found: Option<ApiToken>, now: DateTime<Utc>) -> Option<TokenIdentity> {
    found.filter(|t| t.is_live(now)).map(|t| TokenIdentity {
        token: t.id,
        owner: t.owner,
        read_only: t.read_only,
    })
}

/// Whether an audit record is about someone's identity (their keys, their tenant's CAs, their
/// tokens, their tenant's groups) or their tenant's own business (its channels, its licence): such
/// a record is for the operator and the people it is about, not for every viewer of directory
/// changes.
pub fn is_identity_action(action: Action) -> bool {
    matches!(
        action,
        Action::UserKeyAdded
            | Action::UserKeyRemoved
            | Action::TenantCaAdded
            | Action::TenantCaRemoved
            | Action::TokenCreated
            | Action::TokenRevoked
            | Action::ChannelAdded
            | Action::ChannelRemoved
            | Action::ContactChanged
            | Action::DeliveryFailed
            | Action::LicenseChanged
            | Action::GroupAdded
            | Action::GroupMemberAdded
            | Action::GroupMemberRemoved
    )
}

/// Whether the directory user `upn` may see an audit record: any record but an identity one, and
/// of those the ones they made or that are about them (their keys, their tokens).
pub fn user_sees_record(upn: &str, record: &AuditRecord) -> bool {
    !is_identity_action(record.action)
        || record.actor == upn
        || record.target == Target::User(upn.to_string())
        || record.after.as_deref() == Some(upn)
}

/// Why a certificate names nobody. For the log, never for the client, who learns only that
/// authentication failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertRefusal {
    /// A host certificate, not a user certificate.
    NotUserCert,
    /// No tenant trusts the authority that signed it.
    UnknownCa,
    /// Its signature does not verify with the authority's key.
    BadSignature,
    /// Its validity ended before now.
    Expired,
    /// Its validity starts after now.
    NotYetValid,
    /// None of its principals is a user of a tenant that trusts its authority, nor of any tenant.
    WrongPrincipal,
    /// A principal is a user of a tenant other than the ones that trust its authority.
    OtherTenant,
}

impl fmt::Display for CertRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertRefusal::NotUserCert => "not a user certificate",
            CertRefusal::UnknownCa => "signed by an authority no tenant trusts",
            CertRefusal::BadSignature => "its signature does not verify",
            CertRefusal::Expired => "expired",
            CertRefusal::NotYetValid => "not valid yet",
            CertRefusal::WrongPrincipal => "no principal is a directory user",
            CertRefusal::OtherTenant => "its principal is a user of another tenant than its authority's",
        })
    }
}

/// The fingerprint a certificate's signing authority is filed under.
pub fn certificate_ca(cert: &Certificate) -> String {
    cert.signature_key().fingerprint(HashAlg::Sha256).to_string()
}

/// The directory user a certificate names, or why it names nobody: a user certificate, signed by
/// an authority that a tenant trusts (`cas`: the tenants' records of the authority that signed
/// it), valid at `now`, with a principal that is the UPN of a user of one of those tenants.
/// `user` looks a (lower-case) UPN up in the directory.
pub fn certificate_user<E>(
    cert: &Certificate,
    now: DateTime<Utc>,
    cas: &[TenantCa],
    mut user: impl FnMut(&str) -> Result<Option<User>, E>,
) -> Result<Result<User, CertRefusal>, E> {
    if cert.cert_type() != CertType::User {
        return Ok(Err(CertRefusal::NotUserCert));
    }
    let signer = certificate_ca(cert);
    let cas: Vec<&TenantCa> = cas.iter().filter(|ca| ca.fingerprint == signer).collect();
    let Some(trusted) = cas.first().and_then(|ca| ca.fingerprint.parse::<ssh_key::Fingerprint>().ok()) else {
        return Ok(Err(CertRefusal::UnknownCa));
    };
    // Before 1970 there is no valid certificate, and none is refused for it.
    let now = u64::try_from(now.timestamp()).unwrap_or(0);
    if now < cert.valid_after() {
        return Ok(Err(CertRefusal::NotYetValid));
    }
    if now >= cert.valid_before() {
        return Ok(Err(CertRefusal::Expired));
    }
    if cert.validate_at(now, [&trusted]).is_err() {
        return Ok(Err(CertRefusal::BadSignature));
    }
    let mut refusal = CertRefusal::WrongPrincipal;
    for principal in cert.valid_principals() {
        let Some(found) = user(&principal.trim().to_lowercase())? else { continue };
        if cas.iter().any(|ca| ca.tenant == found.tenant) {
            return Ok(Ok(found));
        }
        refusal = CertRefusal::OtherTenant;
    }
    Ok(Err(refusal))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use ssh_key::private::{Ed25519Keypair, PrivateKey};

    use super::*;
    use crate::domain::model::TenantKind;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
    }

    fn private(seed: u8) -> PrivateKey {
        PrivateKey::from(Ed25519Keypair::from_seed(&[seed; 32]))
    }

    fn line(seed: u8, comment: &str) -> String {
        let mut key = private(seed).public_key().clone();
        key.set_comment(comment);
        key.to_openssh().unwrap()
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

    fn tenant(id: &str) -> Tenant {
        Tenant { id: id.into(), kind: TenantKind::Publisher, name: id.into(), license: None }
    }

    fn operator() -> Actor {
        Actor::Operator("root".into())
    }

    #[test]
    fn a_key_is_kept_without_its_comment_and_found_by_its_fingerprint() {
        let parsed = parse_public_key("SSH key", &format!("  {}  \n", line(1, "dave@laptop"))).unwrap();
        assert_eq!(parsed.key, line(1, ""));
        assert_eq!(parsed.comment, "dave@laptop");
        assert_eq!(parsed.fingerprint, private(1).public_key().fingerprint(HashAlg::Sha256).to_string());
        assert!(parsed.fingerprint.starts_with("SHA256:"));
        // A comment from someone else reaches no terminal raw.
        let sly = parse_public_key("SSH key", &line(1, "x\u{1b}[2Jy")).unwrap();
        assert!(!sly.comment.contains('\u{1b}'), "{:?}", sly.comment);
    }

    #[test]
    fn what_is_not_a_public_key_is_refused_in_one_line() {
        for bad in ["", "ssh-ed25519", "ssh-ed25519 AAAA-not-base64", "hello world"] {
            let e = parse_public_key("SSH key", bad).unwrap_err();
            assert_eq!(e.kind, crate::domain::ErrorKind::Invalid, "{bad:?}");
            assert!(e.message.contains("SSH key") && !e.message.contains('\n'), "{}", e.message);
        }
        let two = format!("{}\n{}", line(1, ""), line(2, ""));
        assert!(parse_public_key("SSH key", &two).is_err());
    }

    #[test]
    fn a_key_belongs_to_one_user_and_the_refusal_does_not_say_whose() {
        let dave = user("dave@fabrikam.com", "fabrikam", false);
        let erin = user("erin@fabrikam.com", "fabrikam", false);
        let parsed = parse_public_key("SSH key", &line(1, "")).unwrap();
        let key = add_key(&Actor::User(dave.upn.clone()), &dave, parsed.clone(), None, now()).unwrap();
        assert_eq!(key.upn, dave.upn);
        let e = add_key(&operator(), &erin, parsed.clone(), Some(&key), now()).unwrap_err();
        assert_eq!(e.kind, crate::domain::ErrorKind::Conflict);
        assert!(!e.message.contains("dave"), "{}", e.message);
        let again = add_key(&operator(), &dave, parsed, Some(&key), now()).unwrap_err();
        assert_eq!(again.kind, crate::domain::ErrorKind::Conflict);
    }

    #[test]
    fn users_manage_only_their_own_keys_and_the_operator_everyones() {
        let dave = user("dave@fabrikam.com", "fabrikam", true);
        let erin = user("erin@fabrikam.com", "fabrikam", false);
        let parsed = parse_public_key("SSH key", &line(1, "")).unwrap();
        let e = add_key(&Actor::User(dave.upn.clone()), &erin, parsed.clone(), None, now()).unwrap_err();
        assert_eq!(e.kind, crate::domain::ErrorKind::Forbidden);
        assert!(add_key(&operator(), &erin, parsed.clone(), None, now()).is_ok());
        let key = add_key(&operator(), &erin, parsed, None, now()).unwrap();
        // Removing a key the user does not have answers as for one that does not exist.
        let missing = remove_key(&operator(), &dave, &key.fingerprint, Some(key.clone())).unwrap_err();
        assert_eq!(missing, no_key(&dave.upn, &key.fingerprint));
        assert_eq!(
            remove_key(&Actor::User(erin.upn.clone()), &erin, &key.fingerprint, Some(key.clone())),
            Ok(key)
        );
    }

    #[test]
    fn a_tenants_cas_are_managed_by_its_admins_and_the_operator() {
        let fabrikam = tenant("fabrikam");
        let admin = user("dave@fabrikam.com", "fabrikam", true);
        let plain = user("erin@fabrikam.com", "fabrikam", false);
        let other_admin = user("ann@contoso.com", "contoso", true);
        assert!(may_manage_cas(&operator(), None, &fabrikam).is_ok());
        assert!(may_manage_cas(&Actor::User(admin.upn.clone()), Some(&admin), &fabrikam).is_ok());
        for who in [&plain, &other_admin] {
            let e = may_manage_cas(&Actor::User(who.upn.clone()), Some(who), &fabrikam).unwrap_err();
            assert_eq!(e.kind, crate::domain::ErrorKind::Forbidden);
        }
        let parsed = parse_public_key("CA key", &line(9, "fabrikam ca")).unwrap();
        let ca = add_ca(&fabrikam, parsed.clone(), None, now()).unwrap();
        assert_eq!(
            add_ca(&fabrikam, parsed, Some(&ca), now()).unwrap_err().kind,
            crate::domain::ErrorKind::Conflict
        );
    }

    #[test]
    fn a_token_is_exactly_one_user_and_the_operators_only_by_the_operator() {
        let dave = user("dave@fabrikam.com", "fabrikam", true);
        let erin = user("erin@fabrikam.com", "fabrikam", false);
        let ask = |user: Option<&str>, operator: bool| NewToken {
            user: user.map(str::to_string),
            operator,
            name: None,
            expires_in: None,
            read_only: false,
        };
        let as_dave = Actor::User(dave.upn.clone());
        assert_eq!(token_owner(&as_dave, &ask(None, false), None), Ok(TokenOwner::User(dave.upn.clone())));
        assert_eq!(
            token_owner(&as_dave, &ask(Some(&dave.upn), false), Some(&dave)),
            Ok(TokenOwner::User(dave.upn.clone()))
        );
        let other = token_owner(&as_dave, &ask(Some(&erin.upn), false), Some(&erin)).unwrap_err();
        assert_eq!(other.kind, crate::domain::ErrorKind::Forbidden);
        let op = token_owner(&as_dave, &ask(None, true), None).unwrap_err();
        assert_eq!(op.kind, crate::domain::ErrorKind::Forbidden);
        assert_eq!(token_owner(&operator(), &ask(None, true), None), Ok(TokenOwner::Operator));
        assert_eq!(
            token_owner(&operator(), &ask(Some(&erin.upn), false), Some(&erin)),
            Ok(TokenOwner::User(erin.upn.clone()))
        );
        assert!(token_owner(&operator(), &ask(None, false), None).is_err());
        assert!(token_owner(&operator(), &ask(Some(&erin.upn), true), Some(&erin)).is_err());
    }

    #[test]
    fn a_revoked_or_expired_token_identifies_nobody() {
        let input = NewToken {
            user: None,
            operator: false,
            name: Some("ci".into()),
            expires_in: Some(Period::from_hours(1)),
            read_only: true,
        };
        let owner = TokenOwner::User("dave@fabrikam.com".into());
        let token = new_token(owner.clone(), input, "abc".into(), token_hash("jdt_abc_s"), now()).unwrap();
        let identity = token_identity(Some(token.clone()), now()).unwrap();
        assert_eq!(identity, TokenIdentity { token: "abc".into(), owner, read_only: true });
        assert_eq!(token_identity(Some(token.clone()), now() + chrono::TimeDelta::hours(1)), None);
        let revoked = revoke_token(&operator(), "abc", Some(token.clone()), now()).unwrap();
        assert_eq!(token_identity(Some(revoked.clone()), now()), None);
        assert_eq!(
            revoke_token(&operator(), "abc", Some(revoked), now()).unwrap_err().kind,
            crate::domain::ErrorKind::Conflict
        );
        // Another user's token answers as one that does not exist.
        let erin = Actor::User("erin@fabrikam.com".into());
        assert_eq!(revoke_token(&erin, "abc", Some(token), now()), Err(no_token("abc")));
        assert_ne!(token_hash("jdt_abc_s"), token_hash("jdt_abc_t"));
        assert_eq!(token_hash("jdt_abc_s").len(), 64);
    }

    #[test]
    fn identity_records_are_seen_only_by_whom_they_are_about() {
        let record = |actor: &str, action: Action, target: Target, after: Option<&str>| AuditRecord {
            id: 1,
            at: now(),
            actor: actor.into(),
            action,
            target,
            app: None,
            reason: None,
            before: None,
            after: after.map(str::to_string),
        };
        let key = record(
            "operator:root",
            Action::UserKeyAdded,
            Target::User("dave@x.com".into()),
            Some("SHA256:k"),
        );
        assert!(user_sees_record("dave@x.com", &key));
        assert!(!user_sees_record("erin@x.com", &key));
        let token =
            record("operator:root", Action::TokenCreated, Target::Token("t1".into()), Some("dave@x.com"));
        assert!(user_sees_record("dave@x.com", &token));
        assert!(!user_sees_record("erin@x.com", &token));
        let ca = record("ann@x.com", Action::TenantCaAdded, Target::Tenant("x".into()), Some("SHA256:c"));
        assert!(user_sees_record("ann@x.com", &ca));
        assert!(!user_sees_record("erin@x.com", &ca));
        let user = record("operator:root", Action::UserAdded, Target::User("dave@x.com".into()), None);
        assert!(user_sees_record("erin@x.com", &user), "directory changes stay public");
    }

    /// A user certificate for `principal`, signed by the CA of `ca_seed`, valid in [from, to).
    fn cert(ca_seed: u8, principal: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Certificate {
        let subject = private(50).public_key().key_data().clone();
        let mut builder = ssh_key::certificate::Builder::new(
            [7u8; 16].to_vec(),
            subject,
            from.timestamp() as u64,
            to.timestamp() as u64,
        )
        .unwrap();
        builder.cert_type(CertType::User).unwrap();
        builder.valid_principal(principal).unwrap();
        builder.sign(&private(ca_seed)).unwrap()
    }

    fn ca_of(tenant: &str, seed: u8) -> TenantCa {
        let parsed = parse_public_key("CA key", &line(seed, "")).unwrap();
        TenantCa {
            tenant: tenant.into(),
            fingerprint: parsed.fingerprint,
            key: parsed.key,
            comment: String::new(),
            added_at: now(),
        }
    }

    fn directory(upn: &str) -> Result<Option<User>, ()> {
        Ok(match upn {
            "dave@fabrikam.com" => Some(user(upn, "fabrikam", false)),
            "ann@contoso.com" => Some(user(upn, "contoso", false)),
            _ => None,
        })
    }

    #[test]
    fn a_certificate_names_a_user_of_the_tenant_whose_ca_signed_it_while_it_is_valid() {
        let hour = chrono::TimeDelta::hours(1);
        let fabrikam_ca = ca_of("fabrikam", 9);
        let valid = cert(9, "Dave@Fabrikam.com", now() - hour, now() + hour);
        assert_eq!(certificate_ca(&valid), fabrikam_ca.fingerprint);
        let who = certificate_user(&valid, now(), std::slice::from_ref(&fabrikam_ca), directory).unwrap();
        assert_eq!(who.map(|u| u.upn), Ok("dave@fabrikam.com".to_string()));

        let check = |c: &Certificate, cas: &[TenantCa]| certificate_user(c, now(), cas, directory).unwrap();
        let expired = cert(9, "dave@fabrikam.com", now() - hour * 2, now() - hour);
        assert_eq!(check(&expired, std::slice::from_ref(&fabrikam_ca)), Err(CertRefusal::Expired));
        let early = cert(9, "dave@fabrikam.com", now() + hour, now() + hour * 2);
        assert_eq!(check(&early, std::slice::from_ref(&fabrikam_ca)), Err(CertRefusal::NotYetValid));
        let stranger = cert(9, "nobody@fabrikam.com", now() - hour, now() + hour);
        assert_eq!(check(&stranger, std::slice::from_ref(&fabrikam_ca)), Err(CertRefusal::WrongPrincipal));
        let other_tenant = cert(9, "ann@contoso.com", now() - hour, now() + hour);
        assert_eq!(check(&other_tenant, std::slice::from_ref(&fabrikam_ca)), Err(CertRefusal::OtherTenant));
        assert_eq!(check(&valid, &[]), Err(CertRefusal::UnknownCa));
        // A signature that does not verify, and a host certificate, name nobody either.
        let mut bytes = valid.to_bytes().unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = Certificate::from_bytes(&bytes).unwrap();
        assert_eq!(check(&tampered, std::slice::from_ref(&fabrikam_ca)), Err(CertRefusal::BadSignature));
        let subject = private(50).public_key().key_data().clone();
        let (from, to) = ((now() - hour).timestamp() as u64, (now() + hour).timestamp() as u64);
        let mut host = ssh_key::certificate::Builder::new([7u8; 16].to_vec(), subject, from, to).unwrap();
        host.cert_type(CertType::Host).unwrap();
        host.valid_principal("dave@fabrikam.com").unwrap();
        let host = host.sign(&private(9)).unwrap();
        assert_eq!(check(&host, std::slice::from_ref(&fabrikam_ca)), Err(CertRefusal::NotUserCert));
        // Another tenant's CA vouches for nobody here.
        assert_eq!(check(&valid, &[ca_of("contoso", 10)]), Err(CertRefusal::UnknownCa));
    }
}
