//! The outbox's tables: tenants' channels, users' contacts and deliveries, with the indexes that
//! let the delivery worker find what is due without reading the rest, and let each list (a
//! tenant's deliveries, a user's mail, the failed ones) walk only its own entries, newest first.

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::codec::{decode, encode};
use super::error::{Error, Result};
use super::read::{ms, named, page, under};
use super::tables::{Family, Tables, Write};
use crate::domain::delivery::{
    Channel, Contact, Delivery, DeliveryFilter, DeliveryScope, DeliveryState, NoticeKind,
};
use crate::domain::*;

/// Where the next channel's id is kept: ids are never given twice, so a delivery never names a
/// removed channel's successor.
const NEXT_CHANNEL: &str = "next_channel_id";

/// A delivery as the store keeps it: the compact encoding cannot read an internally tagged enum,
/// so its state is kept as a plain one.
#[derive(Serialize, Deserialize)]
pub(crate) struct Stored {
    id: u64,
    channel: u64,
    tenant: String,
    to: Option<String>,
    audit: u64,
    kind: NoticeKind,
    #[serde(with = "crate::domain::stamp")]
    queued: DateTime<Utc>,
    #[serde(with = "crate::domain::stamp")]
    next_at: DateTime<Utc>,
    attempts: u32,
    state: StoredState,
    last_error: Option<String>,
}

#[derive(Serialize, Deserialize)]
enum StoredState {
    Queued,
    Sent(#[serde(with = "crate::domain::stamp")] DateTime<Utc>),
    Failed(#[serde(with = "crate::domain::stamp")] DateTime<Utc>),
}

impl From<&Delivery> for Stored {
    fn from(d: &Delivery) -> Self {
        Stored {
            id: d.id,
            channel: d.channel,
            tenant: d.tenant.clone(),
            to: d.to.clone(),
            audit: d.audit,
            kind: d.kind,
            queued: d.queued,
            next_at: d.next_at,
            attempts: d.attempts,
            state: match d.state {
                DeliveryState::Queued => StoredState::Queued,
                DeliveryState::Sent { at } => StoredState::Sent(at),
                DeliveryState::Failed { at } => StoredState::Failed(at),
            },
            last_error: d.last_error.clone(),
        }
    }
}

impl From<Stored> for Delivery {
    fn from(s: Stored) -> Self {
        Delivery {
            id: s.id,
            channel: s.channel,
            tenant: s.tenant,
            to: s.to,
            audit: s.audit,
            kind: s.kind,
            queued: s.queued,
            next_at: s.next_at,
            attempts: s.attempts,
            state: match s.state {
                StoredState::Queued => DeliveryState::Queued,
                StoredState::Sent(at) => DeliveryState::Sent { at },
                StoredState::Failed(at) => DeliveryState::Failed { at },
            },
            last_error: s.last_error,
        }
    }
}

/// The keys a failed delivery is filed under in `deliveries_failed`: every scope that lists it.
fn failed_scopes(d: &Delivery) -> Vec<String> {
    let mut scopes = vec![String::new(), format!("t:{}", d.tenant)];
    scopes.extend(d.to.as_ref().map(|to| format!("u:{to}")));
    scopes
}

fn missing(index: &str, id: u64) -> Error {
    Error::Storage(format!("the index {index} names delivery {id}, which is missing"))
}

impl<F: Family> Tables<F> {
    /// A channel by id.
    pub fn channel(&self, id: u64) -> Result<Option<Channel>> {
        self.channels.get(id)?.map(|v| decode("channels", &id, v.value())).transpose()
    }

    /// One tenant's channels, in id order after the cursor.
    pub fn channels_of(&self, tenant: &str, paging: &Paging<u64>) -> Result<Page<Channel>> {
        let from = paging.after.map_or(0, |a| a.saturating_add(1));
        let range = self.channels_by_tenant.range((tenant, from)..=(tenant, u64::MAX))?;
        let channels = range.map(|entry| {
            let id = entry?.0.value().1;
            self.channel(id)?.ok_or_else(|| {
                Error::Storage(format!("the index channels_by_tenant names channel {id}, which is missing"))
            })
        });
        page(channels, paging.limit)
    }

    /// A user's contact, if they ever set one.
    pub fn contact(&self, upn: &str) -> Result<Option<Contact>> {
        self.contacts.get(upn)?.map(|v| decode("contacts", &upn, v.value())).transpose()
    }

    /// A delivery by id.
    pub fn delivery(&self, id: u64) -> Result<Option<Delivery>> {
        self.deliveries
            .get(id)?
            .map(|v| decode::<Stored>("deliveries", &id, v.value()).map(Delivery::from))
            .transpose()
    }

    fn need_delivery(&self, index: &str, id: u64) -> Result<Delivery> {
        self.delivery(id)?.ok_or_else(|| missing(index, id))
    }

    /// The deliveries of a scope, newest first, older than the cursor.
    pub fn deliveries_in(
        &self,
        scope: &DeliveryScope,
        filter: DeliveryFilter,
        paging: &Paging<u64>,
    ) -> Result<Page<Delivery>> {
        if filter.failed_only {
            let key = match scope {
                DeliveryScope::All => String::new(),
                DeliveryScope::Tenant(tenant) => format!("t:{tenant}"),
                DeliveryScope::To(upn) => format!("u:{upn}"),
            };
            let range = self.deliveries_failed.range(under(paging.after, |id| (key.as_str(), id)))?.rev();
            return page(
                range.map(|e| self.need_delivery("deliveries_failed", e?.0.value().1)),
                paging.limit,
            );
        }
        match scope {
            DeliveryScope::All => {
                let range = self.deliveries.range::<u64>(under(paging.after, |id| id))?.rev();
                let items = range.map(|e| {
                    let (k, v) = e?;
                    decode::<Stored>("deliveries", &k.value(), v.value()).map(Delivery::from)
                });
                page(items, paging.limit)
            }
            DeliveryScope::Tenant(tenant) => {
                let range =
                    self.deliveries_by_tenant.range(under(paging.after, |id| (tenant.as_str(), id)))?;
                page(
                    range.rev().map(|e| self.need_delivery("deliveries_by_tenant", e?.0.value().1)),
                    paging.limit,
                )
            }
            DeliveryScope::To(upn) => {
                let range = self.deliveries_to.range(under(paging.after, |id| (upn.as_str(), id)))?;
                page(range.rev().map(|e| self.need_delivery("deliveries_to", e?.0.value().1)), paging.limit)
            }
        }
    }

    /// Queued deliveries whose next attempt is at or before `now`, the earliest first, at most `limit`.
    pub fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>> {
        let range = self.deliveries_due.range((i64::MIN, 0)..=(ms(now), u64::MAX))?;
        range.take(limit).map(|e| self.need_delivery("deliveries_due", e?.0.value().1)).collect()
    }

    /// When the earliest queued delivery is due, in milliseconds since the epoch.
    pub fn next_delivery_at(&self) -> Result<Option<i64>> {
        Ok(self.deliveries_due.first()?.map(|(k, _)| k.value().0))
    }

    /// A user's queued mail over one channel, oldest first, at most `limit`: what a digest gathers.
    pub fn queued_mail(&self, upn: &str, channel: u64, limit: usize) -> Result<Vec<Delivery>> {
        let range = self.mail_queued.range((upn, channel, 0)..=(upn, channel, u64::MAX))?;
        range.take(limit).map(|e| self.need_delivery("mail_queued", e?.0.value().2)).collect()
    }

    /// Whom the change recorded under `audit` was told to, at most `limit`, in UPN order.
    pub fn notified_of(&self, audit: u64, limit: usize) -> Result<Vec<String>> {
        let range = self.notified_by_audit.range((audit, "")..(audit.saturating_add(1), ""))?;
        range.take(limit).map(|e| Ok(e?.0.value().1.to_string())).collect()
    }

    /// A tenant's admins, in UPN order, at most `limit`. The directory keeps no index of users by
    /// tenant, so this walks the users until it has `limit` of them: it is asked only when a
    /// delivery is given up on.
    pub fn admins_of(&self, tenant: &str, limit: usize) -> Result<Vec<User>> {
        let admins =
            named(&self.users, "users", &Paging::first(limit), |u: &User| u.admin && u.tenant == tenant)?;
        Ok(admins.items)
    }

    /// One audit record by id.
    pub fn audit_record(&self, id: u64) -> Result<Option<AuditRecord>> {
        self.audit.get(id)?.map(|v| decode("audit", &id, v.value())).transpose()
    }

    /// The id the next new channel gets.
    pub fn next_channel_id(&self) -> Result<u64> {
        Ok(self.meta.get(NEXT_CHANNEL)?.map_or(1, |v| u64::from(v.value())))
    }

    /// The id the next new delivery gets.
    pub fn next_delivery_id(&self) -> Result<u64> {
        Ok(self.deliveries.last()?.map_or(1, |(k, _)| k.value() + 1))
    }
}

impl Tables<Write<'_>> {
    /// Stores a channel under its id, filed under its tenant; ids up to it are never given again.
    pub fn put_channel(&mut self, channel: &Channel) -> Result<()> {
        let next = u32::try_from(channel.id.saturating_add(1))
            .map_err(|_| Error::Storage("the store has run out of channel ids".into()))?;
        if u64::from(next) > self.next_channel_id()? {
            self.meta.insert(NEXT_CHANNEL, next)?;
        }
        self.channels.insert(channel.id, encode(channel)?.as_slice())?;
        self.channels_by_tenant.insert((channel.tenant.as_str(), channel.id), ())?;
        Ok(())
    }

    /// Removes a channel, if any, and its place in its tenant's list.
    pub fn remove_channel(&mut self, id: u64) -> Result<()> {
        let old = self.channels.remove(id)?;
        if let Some(old) = old {
            let old: Channel = decode("channels", &id, old.value())?;
            self.channels_by_tenant.remove((old.tenant.as_str(), id))?;
        }
        Ok(())
    }

    /// Stores a user's contact, replacing theirs.
    pub fn put_contact(&mut self, upn: &str, contact: &Contact) -> Result<()> {
        self.contacts.insert(upn, encode(contact)?.as_slice())?;
        Ok(())
    }

    /// Stores a delivery's new version; `old` is the version stored until now (None: a new one).
    /// The due index holds it while it is queued, the failed index once it is given up on.
    pub fn save_delivery(&mut self, old: Option<&Delivery>, new: &Delivery) -> Result<()> {
        if let Some(old) = old {
            self.unfile(old)?;
        } else {
            self.deliveries_by_tenant.insert((new.tenant.as_str(), new.id), ())?;
            if let Some(to) = &new.to {
                self.deliveries_to.insert((to.as_str(), new.id), ())?;
            }
        }
        self.deliveries.insert(new.id, encode(&Stored::from(new))?.as_slice())?;
        match new.state {
            DeliveryState::Queued => {
                self.deliveries_due.insert((ms(new.next_at), new.id), ())?;
                if let Some(to) = &new.to {
                    self.mail_queued.insert((to.as_str(), new.channel, new.id), ())?;
                }
            }
            DeliveryState::Failed { .. } => {
                for scope in failed_scopes(new) {
                    self.deliveries_failed.insert((scope.as_str(), new.id), ())?;
                }
            }
            DeliveryState::Sent { .. } => {}
        }
        Ok(())
    }

    /// Deletes up to `limit` of the oldest deliveries sent or given up on before `before`, from
    /// every index, looking at no more than `limit` of the oldest; the newest stays, so
    /// `next_delivery_id` never gives an id twice. Ids follow the order queued, so the walk stops
    /// at the first delivery queued since `before`. How many it deleted.
    pub fn prune_deliveries(&mut self, before: DateTime<Utc>, limit: usize) -> Result<usize> {
        let newest = self.deliveries.last()?.map(|(k, _)| k.value());
        let mut gone = Vec::new();
        for entry in self.deliveries.range::<u64>(..)?.take(limit) {
            let (k, v) = entry?;
            let d = Delivery::from(decode::<Stored>("deliveries", &k.value(), v.value())?);
            if d.queued >= before || Some(d.id) == newest {
                break;
            }
            if let DeliveryState::Sent { at } | DeliveryState::Failed { at } = d.state
                && at < before
            {
                gone.push(d);
            }
        }
        for d in &gone {
            self.unfile(d)?;
            self.deliveries_by_tenant.remove((d.tenant.as_str(), d.id))?;
            if let Some(to) = &d.to {
                self.deliveries_to.remove((to.as_str(), d.id))?;
            }
            self.deliveries.remove(d.id)?;
        }
        Ok(gone.len())
    }

    /// Takes a delivery's version out of the indexes that depend on its state.
    fn unfile(&mut self, old: &Delivery) -> Result<()> {
        match old.state {
            DeliveryState::Queued => {
                self.deliveries_due.remove((ms(old.next_at), old.id))?;
                if let Some(to) = &old.to {
                    self.mail_queued.remove((to.as_str(), old.channel, old.id))?;
                }
            }
            DeliveryState::Failed { .. } => {
                for scope in failed_scopes(old) {
                    self.deliveries_failed.remove((scope.as_str(), old.id))?;
                }
            }
            DeliveryState::Sent { .. } => {}
        }
        Ok(())
    }
}
