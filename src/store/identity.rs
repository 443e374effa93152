//! The identity tables: users' SSH keys, tenants' trusted SSH certificate authorities and API
//! tokens, each with the index that makes the doors' lookups (by fingerprint, by token hash) one
//! get, and the index that lists one owner's records without reading anyone else's.

use std::ops::Bound;

use redb::ReadableTable;

use super::codec::{decode, encode};
use super::error::{Error, Result};
use super::read::{named, page};
use super::tables::{Family, Tables, Write};
use crate::domain::identity::{ApiToken, SshKey, TenantCa, TokenOwner};
use crate::domain::*;

/// One end of a range of a table keyed (prefix, name).
type End<'a> = Bound<(&'a str, &'a str)>;

/// The range of a table keyed (prefix, name) that holds `prefix`'s entries after the cursor.
pub(super) fn under<'a>(prefix: &'a str, after: Option<&'a str>, next: &'a str) -> (End<'a>, End<'a>) {
    let from = match after {
        Some(after) => Bound::Excluded((prefix, after)),
        None => Bound::Included((prefix, "")),
    };
    (from, Bound::Excluded((next, "")))
}

/// The smallest prefix after `prefix`, so that a range up to it holds `prefix`'s entries alone.
pub(super) fn next_prefix(prefix: &str) -> String {
    format!("{prefix}\0")
}

pub(super) fn missing(index: &str, what: &str) -> Error {
    Error::Storage(format!("the index {index} names {what}, which is missing"))
}

impl<F: Family> Tables<F> {
    /// The SSH key of this fingerprint, whoever has it.
    pub fn ssh_key(&self, fingerprint: &str) -> Result<Option<SshKey>> {
        self.ssh_keys.get(fingerprint)?.map(|v| decode("ssh_keys", &fingerprint, v.value())).transpose()
    }

    /// One user's SSH keys, in fingerprint order after the cursor.
    pub fn ssh_keys_of(&self, upn: &str, paging: &Paging<String>) -> Result<Page<SshKey>> {
        let next = next_prefix(upn);
        let range =
            self.ssh_keys_by_user.range::<(&str, &str)>(under(upn, paging.after.as_deref(), &next))?;
        let keys = range.map(|entry| {
            let key = entry?.0;
            let fingerprint = key.value().1;
            self.ssh_key(fingerprint)?.ok_or_else(|| missing("ssh_keys_by_user", fingerprint))
        });
        page(keys, paging.limit)
    }

    /// The CA of this fingerprint as one tenant trusts it.
    pub fn tenant_ca(&self, tenant: &str, fingerprint: &str) -> Result<Option<TenantCa>> {
        let key = (tenant, fingerprint);
        self.tenant_cas.get(key)?.map(|v| decode("tenant_cas", &fingerprint, v.value())).transpose()
    }

    /// One tenant's trusted CAs, in fingerprint order after the cursor.
    pub fn tenant_cas_of(&self, tenant: &str, paging: &Paging<String>) -> Result<Page<TenantCa>> {
        let next = next_prefix(tenant);
        let range = self.tenant_cas.range::<(&str, &str)>(under(tenant, paging.after.as_deref(), &next))?;
        let cas = range.map(|entry| {
            let (key, value) = entry?;
            decode("tenant_cas", &key.value().1, value.value())
        });
        page(cas, paging.limit)
    }

    /// Every tenant's record of the CA of this fingerprint.
    pub fn cas_by_fingerprint(&self, fingerprint: &str) -> Result<Vec<TenantCa>> {
        let next = next_prefix(fingerprint);
        let range = self.cas_by_fingerprint.range::<(&str, &str)>(under(fingerprint, None, &next))?;
        let cas = range.map(|entry| {
            let key = entry?.0;
            let tenant = key.value().1;
            self.tenant_ca(tenant, fingerprint)?
                .ok_or_else(|| missing("tenant_cas_by_fingerprint", fingerprint))
        });
        Ok(page(cas, None)?.items)
    }

    /// The token of this public id.
    pub fn token(&self, id: &str) -> Result<Option<ApiToken>> {
        self.tokens.get(id)?.map(|v| decode("tokens", &id, v.value())).transpose()
    }

    /// The token whose secret has this hash.
    pub fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        match self.tokens_by_hash.get(hash)? {
            Some(id) => {
                Ok(Some(self.token(id.value())?.ok_or_else(|| missing("tokens_by_hash", "a token"))?))
            }
            None => Ok(None),
        }
    }

    /// One owner's tokens (None: everyone's), in id order after the cursor.
    pub fn tokens_of(&self, owner: Option<&TokenOwner>, paging: &Paging<String>) -> Result<Page<ApiToken>> {
        let Some(owner) = owner else { return named(&self.tokens, "tokens", paging, |_| true) };
        let next = next_prefix(owner.key());
        let range =
            self.tokens_by_owner.range::<(&str, &str)>(under(owner.key(), paging.after.as_deref(), &next))?;
        let tokens = range.map(|entry| {
            let key = entry?.0;
            let id = key.value().1;
            self.token(id)?.ok_or_else(|| missing("tokens_by_owner", id))
        });
        page(tokens, paging.limit)
    }
}

impl Tables<Write<'_>> {
    /// Stores an SSH key under its fingerprint, replacing any stored there, and files it under its
    /// user (only).
    pub fn put_ssh_key(&mut self, key: &SshKey) -> Result<()> {
        self.remove_ssh_key(&key.fingerprint)?;
        self.ssh_keys.insert(key.fingerprint.as_str(), encode(key)?.as_slice())?;
        self.ssh_keys_by_user.insert((key.upn.as_str(), key.fingerprint.as_str()), ())?;
        Ok(())
    }

    /// Removes the SSH key of this fingerprint, and its place in its user's list.
    pub fn remove_ssh_key(&mut self, fingerprint: &str) -> Result<()> {
        let old = self.ssh_keys.remove(fingerprint)?;
        if let Some(old) = old {
            let old: SshKey = decode("ssh_keys", &fingerprint, old.value())?;
            self.ssh_keys_by_user.remove((old.upn.as_str(), fingerprint))?;
        }
        Ok(())
    }

    /// Stores a tenant's trusted CA, replacing the tenant's record of the same key.
    pub fn put_tenant_ca(&mut self, ca: &TenantCa) -> Result<()> {
        let key = (ca.tenant.as_str(), ca.fingerprint.as_str());
        self.tenant_cas.insert(key, encode(ca)?.as_slice())?;
        self.cas_by_fingerprint.insert((ca.fingerprint.as_str(), ca.tenant.as_str()), ())?;
        Ok(())
    }

    /// Removes a tenant's trust in a CA, and its place in the fingerprint index.
    pub fn remove_tenant_ca(&mut self, tenant: &str, fingerprint: &str) -> Result<()> {
        self.tenant_cas.remove((tenant, fingerprint))?;
        self.cas_by_fingerprint.remove((fingerprint, tenant))?;
        Ok(())
    }

    /// Stores a token under its id, replacing any stored there, findable by its hash and its owner
    /// as they are now.
    pub fn put_token(&mut self, token: &ApiToken) -> Result<()> {
        let old = self.tokens.insert(token.id.as_str(), encode(token)?.as_slice())?;
        if let Some(old) = old {
            let old: ApiToken = decode("tokens", &token.id, old.value())?;
            self.tokens_by_hash.remove(old.hash.as_str())?;
            self.tokens_by_owner.remove((old.owner.key(), old.id.as_str()))?;
        }
        self.tokens_by_hash.insert(token.hash.as_str(), token.id.as_str())?;
        self.tokens_by_owner.insert((token.owner.key(), token.id.as_str()), ())?;
        Ok(())
    }
}
