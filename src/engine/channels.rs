//! The engine's side of the outbox that people manage and read: adding and removing a tenant's
//! channels, changing a user's contact (each with its audit record, which never carries a secret),
//! and the scoped lists of channels, contacts and deliveries.

use super::identity::{actor_user, as_actor};
use super::writer::{AuditEntry, Writer};
use super::{Command, Engine, Result, Viewer};
use crate::domain::delivery::{
    Channel, ChannelKind, Contact, ContactChange, Delivery, DeliveryFilter, MailRelay,
};
use crate::domain::outbox_rules::{self, MAX_CHANNELS};
use crate::domain::rules::{self, Actor};
use crate::domain::*;

/// Adds a channel that carries a tenant's notices.
#[derive(Debug, Clone)]
pub struct AddChannel {
    /// The tenant's id.
    pub tenant: String,
    /// Where it sends, and how.
    pub kind: ChannelKind,
}

/// Removes one of a tenant's channels; what was queued over it is given up on when it comes due.
#[derive(Debug, Clone)]
pub struct RemoveChannel {
    /// The tenant's id.
    pub tenant: String,
    /// The channel's id.
    pub id: u64,
}

/// Changes how a user is reached.
#[derive(Debug, Clone)]
pub struct SetContact {
    /// The user's UPN.
    pub upn: String,
    /// What to change.
    pub change: ContactChange,
}

/// A channel in the audit log's words: what it is, never its secret nor its URL (a chat's webhook
/// URL is itself a key).
fn describe(channel: &Channel) -> String {
    let what = match &channel.kind {
        ChannelKind::Webhook { format, .. } => format!("webhook ({})", format.name()),
        ChannelKind::Mail(MailRelay::Smtp { .. }) => "mail over SMTP".to_string(),
        ChannelKind::Mail(MailRelay::Sendmail { program, .. }) => format!("mail through {program}"),
        ChannelKind::Hook { program, .. } => format!("hook {program}"),
    };
    format!("channel {}: {what}", channel.id)
}

/// A contact in the audit log's words.
fn describe_contact(contact: &Contact) -> String {
    let muted: Vec<&str> = contact.muted.iter().map(|k| k.name()).collect();
    format!(
        "email {}; muted: {}; digest: {}",
        if contact.email.is_some() { "set" } else { "none" },
        if muted.is_empty() { "none".to_string() } else { muted.join(", ") },
        contact.digest_minutes.map_or("none".to_string(), |m| format!("every {m} minutes"))
    )
}

/// A tenant the actor may manage the channels of.
fn managed_tenant(t: &dyn super::storage::Reads, actor: &Actor, tenant: &str) -> Result<Tenant> {
    let tenant = rules::need_tenant(t, tenant)?;
    outbox_rules::may_manage_channels(actor, actor_user(t, actor)?.as_ref(), &tenant)?;
    Ok(tenant)
}

/// A user whose contact the actor may see and change.
fn contact_owner(t: &dyn super::storage::Reads, actor: &Actor, upn: &str) -> Result<User> {
    let owner = rules::need_user(t, upn)?;
    outbox_rules::may_set_contact(actor, actor_user(t, actor)?.as_ref(), &owner)?;
    Ok(owner)
}

impl Command for AddChannel {
    type Output = Channel;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<Channel> {
        let tenant = managed_tenant(&*w.tables, actor, &self.tenant)?;
        let existing = w.tables.channels_of(&tenant.id, &Paging::first(MAX_CHANNELS))?.items.len();
        let id = w.tables.next_channel_id()?;
        let channel = outbox_rules::add_channel(actor, &tenant, self.kind, existing, id, w.now)?;
        w.tables.put_channel(&channel)?;
        w.record(AuditEntry {
            after: Some(describe(&channel)),
            ..AuditEntry::new(&actor.label(), Action::ChannelAdded, Target::Tenant(tenant.id.clone()))
        })?;
        Ok(channel)
    }
}

impl Command for RemoveChannel {
    type Output = Channel;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<Channel> {
        let tenant = managed_tenant(&*w.tables, actor, &self.tenant)?;
        let channel = w
            .tables
            .channel(self.id)?
            .filter(|c| c.tenant == tenant.id)
            .ok_or_else(|| outbox_rules::no_channel(&tenant.id, self.id))?;
        w.tables.remove_channel(channel.id)?;
        w.record(AuditEntry {
            before: Some(describe(&channel)),
            ..AuditEntry::new(&actor.label(), Action::ChannelRemoved, Target::Tenant(tenant.id.clone()))
        })?;
        Ok(channel)
    }
}

impl Command for SetContact {
    type Output = Contact;
    fn apply(self, actor: &Actor, w: &mut Writer<'_, '_>) -> Result<Contact> {
        let owner = contact_owner(&*w.tables, actor, &self.upn)?;
        let old = w.tables.contact(&owner.upn)?.unwrap_or_default();
        let new = outbox_rules::change_contact(old.clone(), self.change)?;
        w.tables.put_contact(&owner.upn, &new)?;
        w.record(AuditEntry {
            before: Some(describe_contact(&old)),
            after: Some(describe_contact(&new)),
            ..AuditEntry::new(&actor.label(), Action::ContactChanged, Target::User(owner.upn.clone()))
        })?;
        Ok(new)
    }
}

impl Engine {
    /// A tenant's channels in id order, for its admins and the operator.
    pub async fn channels(&self, viewer: &Viewer, tenant: &str) -> Result<Vec<Channel>> {
        let (actor, tenant) = (as_actor(viewer), tenant.to_string());
        self.read(move |t| {
            let tenant = managed_tenant(t, &actor, &tenant)?;
            Ok(t.channels_of(&tenant.id, &Paging::first(MAX_CHANNELS))?.items)
        })
        .await
    }

    /// How a user is reached, for themself, their tenant's admins and the operator; to anyone
    /// else the user is as missing as one who does not exist.
    pub async fn contact(&self, viewer: &Viewer, upn: &str) -> Result<Contact> {
        let (actor, upn) = (as_actor(viewer), upn.to_string());
        self.read(move |t| {
            let owner = contact_owner(t, &actor, &upn)?;
            Ok(t.contact(&owner.upn)?.unwrap_or_default())
        })
        .await
    }

    /// The deliveries the viewer sees, newest first: all of them for the operator, those over
    /// their tenant's channels for a tenant admin, the mail addressed to them for anyone else.
    pub async fn deliveries(
        &self,
        viewer: &Viewer,
        filter: DeliveryFilter,
        paging: &Paging<u64>,
    ) -> Result<Page<Delivery>> {
        let (viewer, paging) = (viewer.clone(), paging.clone());
        self.read(move |t| {
            let user = match &viewer {
                Viewer::Operator => None,
                Viewer::User(upn) => Some(rules::need_user(t, upn)?),
            };
            t.deliveries(&outbox_rules::delivery_scope(user.as_ref()), filter, &paging)
        })
        .await
    }
}
