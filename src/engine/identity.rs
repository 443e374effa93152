//! The engine's side of remote identity: the commands that manage users' SSH keys, tenants' SSH
//! certificate authorities and API tokens (each with its audit record), the lists people read, and
//! the lookups the SSH and HTTPS doors make to learn who is calling.

use base64ct::Encoding;
use ssh_key::{Certificate, HashAlg, PublicKey};

use super::error::{Error, StoreError};
use super::writer::{AuditEntry, Writer};
use super::{Command, Engine, Result, Viewer};
use crate::domain::identity::{
    self, CertRefusal, NewToken, SshKey, TOKEN_PREFIX, TenantCa, TokenIdentity, TokenInfo,
};
use crate::domain::rules::{self, Actor};
use crate::domain::*;

/// Adds an SSH key to a user: from then on it identifies that user at the SSH door.
#[derive(Debug, Clone)]
pub struct AddKey {
    /// The UPN of the user it is for.
    pub upn: String,
    /// The public key as an OpenSSH line (`ssh-ed25519 AAAA... comment`).
    pub key: String,
}

impl Command for AddKey {
    type Output = SshKey;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<SshKey> {
        let owner = rules::need_user(&*w.tables, &self.upn)?;
        identity::may_manage_keys(actor, &owner)?;
        let parsed = identity::parse_public_key("SSH key", &self.key)?;
        let holder = w.tables.ssh_key(&parsed.fingerprint)?;
        let key = identity::add_key(actor, &owner, parsed, holder.as_ref(), w.now)?;
        w.tables.put_ssh_key(&key)?;
        w.record(AuditEntry {
            after: Some(key.fingerprint.clone()),
            ..AuditEntry::new(&actor.label(), Action::UserKeyAdded, Target::User(owner.upn.clone()))
        })?;
        Ok(key)
    }
}

/// Removes one of a user's SSH keys, by fingerprint.
#[derive(Debug, Clone)]
pub struct RemoveKey {
    /// The UPN of the user who has it.
    pub upn: String,
    /// Its `SHA256:...` fingerprint.
    pub fingerprint: String,
}

impl Command for RemoveKey {
    type Output = SshKey;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<SshKey> {
        let owner = rules::need_user(&*w.tables, &self.upn)?;
        let found = w.tables.ssh_key(self.fingerprint.trim())?;
        let key = identity::remove_key(actor, &owner, &self.fingerprint, found)?;
        w.tables.remove_ssh_key(&key.fingerprint)?;
        w.record(AuditEntry {
            before: Some(key.fingerprint.clone()),
            ..AuditEntry::new(&actor.label(), Action::UserKeyRemoved, Target::User(owner.upn.clone()))
        })?;
        Ok(key)
    }
}

/// The directory user behind a user actor (None for the operator), for rules that weigh a role.
pub(super) fn actor_user(t: &dyn super::storage::Reads, actor: &Actor) -> Result<Option<User>> {
    match actor {
        Actor::User(_) => Ok(Some(rules::resolve(t, actor)?)),
        Actor::Operator(_) => Ok(None),
    }
}

/// Makes a tenant trust an SSH certificate authority for its users.
#[derive(Debug, Clone)]
pub struct AddCa {
    /// The tenant's id.
    pub tenant: String,
    /// The CA's public key as an OpenSSH line.
    pub key: String,
}

impl Command for AddCa {
    type Output = TenantCa;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<TenantCa> {
        let tenant = rules::need_tenant(&*w.tables, &self.tenant)?;
        identity::may_manage_cas(actor, actor_user(&*w.tables, actor)?.as_ref(), &tenant)?;
        let parsed = identity::parse_public_key("CA key", &self.key)?;
        let existing = w.tables.tenant_ca(&tenant.id, &parsed.fingerprint)?;
        let ca = identity::add_ca(&tenant, parsed, existing.as_ref(), w.now)?;
        w.tables.put_tenant_ca(&ca)?;
        w.record(AuditEntry {
            after: Some(ca.fingerprint.clone()),
            ..AuditEntry::new(&actor.label(), Action::TenantCaAdded, Target::Tenant(tenant.id.clone()))
        })?;
        Ok(ca)
    }
}

/// Takes a tenant's trust from an SSH certificate authority, by fingerprint.
#[derive(Debug, Clone)]
pub struct RemoveCa {
    /// The tenant's id.
    pub tenant: String,
    /// The CA key's `SHA256:...` fingerprint.
    pub fingerprint: String,
}

impl Command for RemoveCa {
    type Output = TenantCa;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<TenantCa> {
        let tenant = rules::need_tenant(&*w.tables, &self.tenant)?;
        identity::may_manage_cas(actor, actor_user(&*w.tables, actor)?.as_ref(), &tenant)?;
        let fingerprint = self.fingerprint.trim();
        let ca = w
            .tables
            .tenant_ca(&tenant.id, fingerprint)?
            .ok_or_else(|| identity::no_ca(&tenant.id, fingerprint))?;
        w.tables.remove_tenant_ca(&ca.tenant, &ca.fingerprint)?;
        w.record(AuditEntry {
            before: Some(ca.fingerprint.clone()),
            ..AuditEntry::new(&actor.label(), Action::TenantCaRemoved, Target::Tenant(tenant.id.clone()))
        })?;
        Ok(ca)
    }
}

/// A token just made: its record as lists show it, and its secret, which is never shown again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSecret {
    /// The token as lists show it.
    pub token: TokenInfo,
    /// The whole printable token (`jdt_<id>_<secret>`), for the caller to keep.
    pub secret: String,
}

/// `n` random bytes from the operating system.
fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::Storage(StoreError::Storage(format!("cannot draw random bytes for a token: {e}")))
    })?;
    Ok(bytes)
}

impl Command for NewToken {
    type Output = NewSecret;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<NewSecret> {
        let user = match &self.user {
            Some(upn) => Some(rules::need_user(&*w.tables, upn)?),
            None => None,
        };
        if let Actor::User(_) = actor {
            rules::resolve(&*w.tables, actor)?;
        }
        let owner = identity::token_owner(actor, &self, user.as_ref())?;
        // 64 random bits make a clash between public ids too unlikely to plan for; one is refused
        // by the id's uniqueness all the same.
        let id: String = random::<8>()?.iter().map(|b| format!("{b:02x}")).collect();
        if w.tables.token(&id)?.is_some() {
            return Err(Error::Storage(StoreError::Storage("a new token's id clashed: try again".into())));
        }
        let secret =
            format!("{TOKEN_PREFIX}{id}_{}", base64ct::Base64UrlUnpadded::encode_string(&random::<32>()?));
        let token = identity::new_token(owner, self, id, identity::token_hash(&secret), w.now)?;
        w.tables.put_token(&token)?;
        w.record(AuditEntry {
            after: Some(token.owner.to_string()),
            ..AuditEntry::new(&actor.label(), Action::TokenCreated, Target::Token(token.id.clone()))
        })?;
        Ok(NewSecret { token: TokenInfo::from(&token), secret })
    }
}

/// Revokes a token: from then on it identifies nobody.
#[derive(Debug, Clone)]
pub struct RevokeToken {
    /// The token's public id.
    pub id: String,
}

impl Command for RevokeToken {
    type Output = TokenInfo;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<TokenInfo> {
        let id = self.id.trim();
        let token = identity::revoke_token(actor, id, w.tables.token(id)?, w.now)?;
        w.tables.put_token(&token)?;
        w.record(AuditEntry {
            after: Some(token.owner.to_string()),
            ..AuditEntry::new(&actor.label(), Action::TokenRevoked, Target::Token(token.id.clone()))
        })?;
        Ok(TokenInfo::from(&token))
    }
}

/// The actor a viewer stands for in the identity rules, which weigh only who it is.
pub(super) fn as_actor(viewer: &Viewer) -> Actor {
    match viewer {
        Viewer::Operator => Actor::Operator(String::new()),
        Viewer::User(upn) => Actor::User(upn.clone()),
    }
}

impl Engine {
    /// A user's SSH keys, for the user themself or the operator.
    pub async fn ssh_keys(&self, viewer: &Viewer, upn: &str, paging: Paging<String>) -> Result<Page<SshKey>> {
        let (viewer, upn) = (viewer.clone(), upn.to_string());
        self.read(move |t| {
            let owner = rules::need_user(t, &upn)?;
            identity::may_manage_keys(&as_actor(&viewer), &owner)?;
            t.ssh_keys_of(&owner.upn, &paging)
        })
        .await
    }

    /// The SSH certificate authorities a tenant trusts, for its admins or the operator.
    pub async fn tenant_cas(
        &self,
        viewer: &Viewer,
        tenant: &str,
        paging: Paging<String>,
    ) -> Result<Page<TenantCa>> {
        let (viewer, tenant) = (viewer.clone(), tenant.to_string());
        self.read(move |t| {
            let tenant = rules::need_tenant(t, &tenant)?;
            let actor = as_actor(&viewer);
            identity::may_manage_cas(&actor, actor_user(t, &actor)?.as_ref(), &tenant)?;
            t.tenant_cas_of(&tenant.id, &paging)
        })
        .await
    }

    /// The tokens the viewer may see (every one for the operator, a user's own for a user), in id
    /// order, never with their secret or its hash.
    pub async fn tokens(&self, viewer: &Viewer, paging: Paging<String>) -> Result<Page<TokenInfo>> {
        let viewer = viewer.clone();
        self.read(move |t| {
            let owner = match &viewer {
                Viewer::Operator => None,
                Viewer::User(upn) => Some(identity::TokenOwner::User(rules::need_user(t, upn)?.upn)),
            };
            let page = t.tokens_of(owner.as_ref(), &paging)?;
            Ok(Page { items: page.items.iter().map(TokenInfo::from).collect(), more: page.more })
        })
        .await
    }

    /// The directory user an SSH public key belongs to, if any: found by its fingerprint.
    pub async fn user_for_ssh_key(&self, key: &PublicKey) -> Result<Option<User>> {
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        self.read(move |t| match t.ssh_key(&fingerprint)? {
            Some(key) => t.user(&key.upn),
            None => Ok(None),
        })
        .await
    }

    /// The directory user an SSH user certificate names at the engine's time, or why it names
    /// nobody (for the log: the client learns only that authentication failed).
    pub async fn user_for_ssh_certificate(
        &self,
        cert: &Certificate,
    ) -> Result<std::result::Result<User, CertRefusal>> {
        let (cert, now) = (cert.clone(), self.now());
        self.read(move |t| {
            let cas = t.cas_by_fingerprint(&identity::certificate_ca(&cert))?;
            identity::certificate_user(&cert, now, &cas, |upn| t.user(upn))
        })
        .await
    }

    /// Who a token identifies at the engine's time, found by its secret's hash: None for a secret
    /// no token has, and for a revoked or expired token alike.
    pub async fn token_identity(&self, secret: &str) -> Result<Option<TokenIdentity>> {
        let (hash, now) = (identity::token_hash(secret), self.now());
        self.read(move |t| Ok(identity::token_identity(t.token_by_hash(&hash)?, now))).await
    }
}
