//! Queuing deliveries beside the notifications of a change, in the same transaction: a change
//! that commits is never left untold, and one that is rolled back is never told. Only ids are
//! stored (the channel, the audit record, the addressee); what is sent is worded when it is sent.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};

use super::Result;
use super::storage::Writes;
use crate::domain::delivery::{ChannelKind, Delivery, DeliveryState, NoticeKind};
use crate::domain::outbox_rules::MAX_CHANNELS;
use crate::domain::*;

/// Queues what the change recorded as `record` owes `to`: a mail to each of them over their
/// tenant's mail channel (the first one) unless they have no address or muted the kind, and one
/// delivery per webhook or hook channel of their tenants, however many of a tenant's users were
/// told. `queued` holds the (audit record, channel) pairs queued already.
pub(super) fn queue(
    t: &mut dyn Writes,
    record: &AuditRecord,
    to: &[String],
    now: DateTime<Utc>,
    queued: &mut HashSet<(u64, u64)>,
) -> Result<()> {
    let Some(kind) = NoticeKind::of(record.action) else { return Ok(()) };
    for upn in to {
        let Some(user) = t.user(upn)? else { continue };
        let channels = t.channels_of(&user.tenant, &Paging::first(MAX_CHANNELS))?.items;
        let new = |id: u64, channel: u64, to: Option<String>, next_at: DateTime<Utc>| Delivery {
            id,
            channel,
            tenant: user.tenant.clone(),
            to,
            audit: record.id,
            kind,
            queued: now,
            next_at,
            attempts: 0,
            state: DeliveryState::Queued,
            last_error: None,
        };
        if let Some(mail) = channels.iter().find(|c| matches!(c.kind, ChannelKind::Mail(_))) {
            let contact = t.contact(&user.upn)?.unwrap_or_default();
            if contact.email.is_some() && contact.wants(kind) {
                let next_at = match contact.digest_minutes {
                    // A digest goes when the one already waiting goes, or a digest's time from now.
                    Some(minutes) => match t.queued_mail(&user.upn, mail.id, 1)?.first() {
                        Some(waiting) => waiting.next_at,
                        None => now + TimeDelta::minutes(i64::from(minutes)),
                    },
                    None => now,
                };
                let delivery = new(t.next_delivery_id()?, mail.id, Some(user.upn.clone()), next_at);
                t.save_delivery(None, &delivery)?;
            }
        }
        for channel in channels.iter().filter(|c| !matches!(c.kind, ChannelKind::Mail(_))) {
            if queued.insert((record.id, channel.id)) {
                let delivery = new(t.next_delivery_id()?, channel.id, None, now);
                t.save_delivery(None, &delivery)?;
            }
        }
    }
    Ok(())
}
