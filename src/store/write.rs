//! Writes. Each keeps the indexes in step with the record it changes, inside the caller's transaction.

use redb::ReadableTable;

use super::codec::{decode, encode};
use super::error::Result;
use super::read::ms;
use super::tables::{Tables, Write};
use crate::domain::*;

/// 2: indexes of requests by state and application, and of the audit log by application.
pub const SCHEMA_VERSION: u32 = 2;

impl Tables<Write<'_>> {
    pub fn set_schema_version(&mut self) -> Result<()> {
        self.meta.insert("schema_version", SCHEMA_VERSION)?;
        Ok(())
    }

    /// Brings a store written by an older build up to date; opening the tables has already created
    /// any that were missing, so what is left is filling new indexes from the records.
    pub fn migrate(&mut self, from: u32) -> Result<()> {
        if from < 2 {
            for entry in self.requests.iter()? {
                let (id, bytes) = entry?;
                let r: AccessRequest = decode("requests", &id.value(), bytes.value())?;
                self.by_state_app.insert((r.state.code(), r.app.as_str(), r.id), ())?;
            }
            for entry in self.audit.iter()? {
                let (id, bytes) = entry?;
                let a: AuditRecord = decode("audit", &id.value(), bytes.value())?;
                if let Some(app) = &a.app {
                    self.audit_by_app.insert((app.as_str(), a.id), ())?;
                }
            }
        }
        self.set_schema_version()
    }

    pub fn put_tenant(&mut self, tenant: &Tenant) -> Result<()> {
        self.tenants.insert(tenant.id.as_str(), encode(tenant)?.as_slice())?;
        Ok(())
    }

    pub fn put_user(&mut self, user: &User) -> Result<()> {
        self.users.insert(user.upn.as_str(), encode(user)?.as_slice())?;
        if let Some(login) = &user.login {
            self.users_by_login.insert(login.as_str(), user.upn.as_str())?;
        }
        Ok(())
    }

    pub fn put_offer(&mut self, offer: &Offer) -> Result<()> {
        self.offers.insert(offer.id.as_str(), encode(offer)?.as_slice())?;
        Ok(())
    }

    pub fn put_app(&mut self, app: &Application) -> Result<()> {
        self.apps.insert(app.name.as_str(), encode(app)?.as_slice())?;
        Ok(())
    }

    pub fn next_request_id(&self) -> Result<u64> {
        Ok(self.requests.last()?.map_or(1, |(k, _)| k.value() + 1))
    }

    /// Stores a request, moving its state and deadline index entries from `old` when it changed.
    pub fn save_request(&mut self, old: Option<&AccessRequest>, new: &AccessRequest) -> Result<()> {
        match old {
            Some(old) => {
                self.by_state.remove((old.state.code(), old.id))?;
                self.by_state_app.remove((old.state.code(), old.app.as_str(), old.id))?;
                if let Some((at, _)) = old.deadline() {
                    self.deadlines.remove((ms(at), old.id))?;
                }
            }
            None => {
                self.by_app.insert((new.app.as_str(), new.id), ())?;
                self.by_requester.insert((new.requester.as_str(), new.app.as_str(), new.id), ())?;
            }
        }
        self.by_state.insert((new.state.code(), new.id), ())?;
        self.by_state_app.insert((new.state.code(), new.app.as_str(), new.id), ())?;
        if let Some((at, _)) = new.deadline() {
            self.deadlines.insert((ms(at), new.id), ())?;
        }
        self.requests.insert(new.id, encode(new)?.as_slice())?;
        Ok(())
    }

    pub fn next_audit_id(&self) -> Result<u64> {
        Ok(self.audit.last()?.map_or(1, |(k, _)| k.value() + 1))
    }

    pub fn append_audit(&mut self, record: &AuditRecord) -> Result<()> {
        self.audit.insert(record.id, encode(record)?.as_slice())?;
        if let Target::Request(request) = record.target {
            self.audit_by_request.insert((request, record.id), ())?;
        }
        if let Some(app) = &record.app {
            self.audit_by_app.insert((app.as_str(), record.id), ())?;
        }
        Ok(())
    }

    pub fn put_notification(&mut self, notification: &Notification) -> Result<()> {
        self.notifications
            .insert((notification.to.as_str(), notification.id), encode(notification)?.as_slice())?;
        Ok(())
    }

    pub fn set_seen_upto(&mut self, upn: &str, id: u64) -> Result<()> {
        self.notifications_seen.insert(upn, id)?;
        Ok(())
    }
}
