//! The engine's writes (`Writes`) on one PostgreSQL transaction. A record and the columns its
//! queries use are written in one row, so they cannot disagree; the few indexes kept apart (an
//! application's tenants, the warnings still to give, notifications, group members) are kept in
//! step here, as redb's are.

use chrono::{DateTime, Utc};

use super::reads::{int, ms, uint};
use super::transaction::{On, args};
use crate::domain::delivery::{Channel, Contact, Delivery, DeliveryState};
use crate::domain::identity::{ApiToken, SshKey, TenantCa};
use crate::domain::*;
use crate::engine::storage::Writes;
use crate::engine::{Result, StoreError};
use crate::store::codec::{decode, encode};
use crate::store::outbox::Stored;

/// Where the next channel's id is kept: ids are never given twice, so a delivery never names a
/// removed channel's successor.
const NEXT_CHANNEL: &str = "next_channel_id";

/// A delivery's state as its column keeps it: the due and failed indexes select on it.
fn state_code(state: &DeliveryState) -> i16 {
    match state {
        DeliveryState::Queued => 0,
        DeliveryState::Sent { .. } => 1,
        DeliveryState::Failed { .. } => 2,
    }
}

impl On<'_> {
    /// One past the highest id of a table, 1 when it is empty.
    fn next_id(&self, table: &str) -> Result<u64> {
        let row = self.one(&format!("SELECT coalesce(max(id), 0) FROM {table}"), &[])?;
        Ok(uint(row.get(0)) + 1)
    }
}

impl Writes for On<'_> {
    fn put_tenant(&mut self, tenant: &Tenant) -> Result<()> {
        let sql =
            "INSERT INTO tenants VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET record = excluded.record";
        self.later(sql, args![tenant.id.clone(), encode(tenant)?])?;
        self.directory_changed();
        Ok(())
    }

    fn put_user(&mut self, user: &User) -> Result<()> {
        let sql = "INSERT INTO users VALUES ($1, $2, $3, $4) ON CONFLICT (upn) DO UPDATE \
                   SET login = excluded.login, object_id = excluded.object_id, record = excluded.record";
        self.later(sql, args![user.upn.clone(), user.login.clone(), user.object_id.clone(), encode(user)?])?;
        self.directory_changed();
        Ok(())
    }

    fn put_group(&mut self, group: &Group) -> Result<()> {
        let sql = "INSERT INTO groups VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE \
                   SET tenant = excluded.tenant, object_id = excluded.object_id, record = excluded.record";
        self.later(
            sql,
            args![group.id.clone(), group.tenant.clone(), group.object_id.clone(), encode(group)?],
        )?;
        self.directory_changed();
        Ok(())
    }

    fn add_member(&mut self, group: &str, upn: &str) -> Result<()> {
        let sql = "INSERT INTO group_members VALUES ($1, $2) ON CONFLICT DO NOTHING";
        self.later(sql, args![group.to_string(), upn.to_string()])?;
        self.directory_changed();
        Ok(())
    }

    fn remove_member(&mut self, group: &str, upn: &str) -> Result<()> {
        let sql = "DELETE FROM group_members WHERE group_id = $1 AND upn = $2";
        self.later(sql, args![group.to_string(), upn.to_string()])?;
        self.directory_changed();
        Ok(())
    }

    fn put_offer(&mut self, offer: &Offer) -> Result<()> {
        let sql =
            "INSERT INTO offers VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET record = excluded.record";
        self.later(sql, args![offer.id.clone(), encode(offer)?])?;
        self.directory_changed();
        Ok(())
    }

    fn put_app(&mut self, app: &Application) -> Result<()> {
        let sql = "INSERT INTO apps VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE \
                   SET resource_id = excluded.resource_id, record = excluded.record";
        self.later(sql, args![app.name.clone(), app.resource_id.to_lowercase(), encode(app)?])?;
        // The tenants it had lose it and the tenants it has now get it.
        self.later("DELETE FROM apps_by_tenant WHERE app = $1", args![app.name.clone()])?;
        for tenant in [&app.customer_tenant, &app.publisher_tenant] {
            let sql = "INSERT INTO apps_by_tenant VALUES ($1, $2) ON CONFLICT DO NOTHING";
            self.later(sql, args![tenant.clone(), app.name.clone()])?;
        }
        self.directory_changed();
        Ok(())
    }

    fn next_request_id(&self) -> Result<u64> {
        // Writers take turns (the advisory lock), so once asked, the next counts on from this
        // transaction's own: one query per transaction instead of one per request.
        if let Some(next) = self.next_request().get() {
            return Ok(next);
        }
        let next = self.next_id("requests")?;
        self.next_request().set(Some(next));
        Ok(next)
    }

    fn save_request(&mut self, old: Option<&AccessRequest>, new: &AccessRequest) -> Result<()> {
        let sql = "INSERT INTO requests VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE \
                   SET state = excluded.state, app = excluded.app, requester = excluded.requester, \
                   created_ms = excluded.created_ms, deadline_ms = excluded.deadline_ms, \
                   arm_name = excluded.arm_name, record = excluded.record";
        let deadline = new.deadline().map(|(at, _)| ms(at));
        let arm = new.arm.as_ref().map(crate::store::read::arm_key);
        let record = encode(new)?;
        let state = i16::from(new.state.code());
        self.later(
            sql,
            args![
                int(new.id),
                state,
                new.app.clone(),
                new.requester.clone(),
                ms(new.created_at),
                deadline,
                arm,
                record
            ],
        )?;
        if let Some(next) = self.next_request().get()
            && new.id >= next
        {
            self.next_request().set(Some(new.id + 1));
        }
        // A grant is owed its warning from its approval until it is given or the grant ends; a
        // change that keeps the warning's time keeps whether it was given.
        let warning = new.ending_warning();
        let was = old.and_then(AccessRequest::ending_warning);
        if warning != was {
            if let Some(at) = was {
                let sql = "DELETE FROM ending_warnings WHERE at_ms = $1 AND request = $2";
                self.later(sql, args![ms(at), int(new.id)])?;
            }
            if let Some(at) = warning {
                let sql = "INSERT INTO ending_warnings VALUES ($1, $2) ON CONFLICT DO NOTHING";
                self.later(sql, args![ms(at), int(new.id)])?;
            }
        }
        Ok(())
    }

    fn warned(&mut self, request: &AccessRequest) -> Result<()> {
        if let Some(at) = request.ending_warning() {
            let sql = "DELETE FROM ending_warnings WHERE at_ms = $1 AND request = $2";
            self.later(sql, args![ms(at), int(request.id)])?;
        }
        Ok(())
    }

    fn next_audit_id(&self) -> Result<u64> {
        // Writers take turns (the advisory lock), so after this transaction's own last record
        // comes the next: one query per transaction instead of one per record.
        match self.appended() {
            Some((_, last)) => Ok(last + 1),
            None => self.next_id("audit"),
        }
    }

    fn append_audit(&mut self, record: &AuditRecord) -> Result<()> {
        let request = match record.target {
            Target::Request(id) => Some(int(id)),
            _ => None,
        };
        let sql = "INSERT INTO audit VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE \
                   SET at_ms = excluded.at_ms, app = excluded.app, request = excluded.request, record = excluded.record";
        self.later(sql, args![int(record.id), ms(record.at), record.app.clone(), request, encode(record)?])?;
        self.note_appended(record.id);
        Ok(())
    }

    fn add_notification(&mut self, to: &str, audit: u64) -> Result<()> {
        let sql = "INSERT INTO notified VALUES ($1, $2) ON CONFLICT DO NOTHING";
        self.later(sql, args![to.to_string(), int(audit)])
    }

    fn set_seen_upto(&mut self, upn: &str, id: u64) -> Result<()> {
        let sql = "INSERT INTO notifications_seen VALUES ($1, $2) ON CONFLICT (upn) DO UPDATE SET upto = excluded.upto";
        self.later(sql, args![upn.to_string(), int(id)])
    }

    fn put_ssh_key(&mut self, key: &SshKey) -> Result<()> {
        let sql = "INSERT INTO ssh_keys VALUES ($1, $2, $3) ON CONFLICT (fingerprint) DO UPDATE \
                   SET upn = excluded.upn, record = excluded.record";
        self.later(sql, args![key.fingerprint.clone(), key.upn.clone(), encode(key)?])
    }

    fn remove_ssh_key(&mut self, fingerprint: &str) -> Result<()> {
        self.later("DELETE FROM ssh_keys WHERE fingerprint = $1", args![fingerprint.to_string()])
    }

    fn put_tenant_ca(&mut self, ca: &TenantCa) -> Result<()> {
        let sql = "INSERT INTO tenant_cas VALUES ($1, $2, $3) ON CONFLICT (tenant, fingerprint) DO UPDATE \
                   SET record = excluded.record";
        self.later(sql, args![ca.tenant.clone(), ca.fingerprint.clone(), encode(ca)?])
    }

    fn remove_tenant_ca(&mut self, tenant: &str, fingerprint: &str) -> Result<()> {
        let sql = "DELETE FROM tenant_cas WHERE tenant = $1 AND fingerprint = $2";
        self.later(sql, args![tenant.to_string(), fingerprint.to_string()])
    }

    fn put_token(&mut self, token: &ApiToken) -> Result<()> {
        let sql = "INSERT INTO tokens VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE \
                   SET hash = excluded.hash, owner = excluded.owner, record = excluded.record";
        self.later(
            sql,
            args![token.id.clone(), token.hash.clone(), token.owner.key().to_string(), encode(token)?],
        )
    }

    fn next_channel_id(&self) -> Result<u64> {
        let rows = self.rows("SELECT value FROM jitdesk_meta WHERE key = $1", &[&NEXT_CHANNEL])?;
        Ok(rows.first().map_or(1, |row| uint(row.get(0))))
    }

    fn put_channel(&mut self, channel: &Channel) -> Result<()> {
        let next = channel.id.saturating_add(1);
        if next > self.next_channel_id()? {
            let sql = "INSERT INTO jitdesk_meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
            self.later(sql, args![NEXT_CHANNEL, int(next)])?;
        }
        let sql = "INSERT INTO channels VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE \
                   SET tenant = excluded.tenant, record = excluded.record";
        self.later(sql, args![int(channel.id), channel.tenant.clone(), encode(channel)?])?;
        self.directory_changed();
        Ok(())
    }

    fn remove_channel(&mut self, id: u64) -> Result<()> {
        self.later("DELETE FROM channels WHERE id = $1", args![int(id)])?;
        self.directory_changed();
        Ok(())
    }

    fn put_contact(&mut self, upn: &str, contact: &Contact) -> Result<()> {
        let sql =
            "INSERT INTO contacts VALUES ($1, $2) ON CONFLICT (upn) DO UPDATE SET record = excluded.record";
        self.later(sql, args![upn.to_string(), encode(contact)?])?;
        self.directory_changed();
        Ok(())
    }

    fn next_delivery_id(&self) -> Result<u64> {
        self.next_id("deliveries")
    }

    fn save_delivery(&mut self, _old: Option<&Delivery>, new: &Delivery) -> Result<()> {
        let sql = "INSERT INTO deliveries VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE \
                   SET tenant = excluded.tenant, addressee = excluded.addressee, channel = excluded.channel, \
                   state = excluded.state, next_ms = excluded.next_ms, record = excluded.record";
        let record = encode(&Stored::from(new))?;
        let state = state_code(&new.state);
        self.later(
            sql,
            args![
                int(new.id),
                new.tenant.clone(),
                new.to.clone(),
                int(new.channel),
                state,
                ms(new.next_at),
                record
            ],
        )
    }

    fn prune_deliveries(&mut self, before: DateTime<Utc>, limit: usize) -> Result<usize> {
        let newest = self.next_delivery_id()? - 1;
        let sql = "SELECT id, record FROM deliveries ORDER BY id LIMIT $1";
        let mut gone = Vec::new();
        for row in self.rows(sql, &[&int(limit as u64)])? {
            let id = uint(row.get(0));
            let d = Delivery::from(decode::<Stored>("deliveries", &id, row.get(1))?);
            if d.queued >= before || d.id == newest {
                break;
            }
            if let DeliveryState::Sent { at } | DeliveryState::Failed { at } = d.state
                && at < before
            {
                gone.push(int(d.id));
            }
        }
        let deleted = self.run("DELETE FROM deliveries WHERE id = ANY($1)", &[&gone])?;
        usize::try_from(deleted).map_err(|_| StoreError::Storage("too many deliveries deleted".into()).into())
    }
}
