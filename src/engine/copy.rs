//! `jitdesk store copy`: everything in one store written into another, whichever backend each
//! is (a redb file or a PostgreSQL database), through the storage interface alone, so it moves
//! data between any two backends that implement it. The source is read on one snapshot, a page
//! at a time, each page written in a transaction of its own, so memory stays bounded however
//! large the store; then the target is counted, kind by kind, against what was read.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use chrono::{TimeDelta, Utc};

use super::storage::{self, Reads, Storage};
use super::{OpenMode, Result, blocking, location};
use crate::domain::delivery::{Channel, ChannelKind, DeliveryFilter, DeliveryScope};
use crate::domain::{Page, Paging, RequestFilter, RequestState, RuleError, Window};

/// How many records each read and each write transaction carries.
const PAGE: usize = 500;

/// How many records of each kind a store holds, in the order `store copy` prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub Vec<(&'static str, u64)>);

impl Counts {
    fn add(&mut self, kind: &'static str, n: usize) {
        let n = n as u64;
        match self.0.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, total)) => *total += n,
            None => self.0.push((kind, n)),
        }
    }

    /// How many of `kind` there are; 0 for a kind never counted.
    pub fn of(&self, kind: &str) -> u64 {
        self.0.iter().find(|(k, _)| *k == kind).map_or(0, |(_, n)| *n)
    }
}

/// What a copy read from its source and found in its target, kind by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The records read from the source, on one snapshot.
    pub source: Counts,
    /// The records the target holds after the copy.
    pub target: Counts,
}

/// Copies everything in the store at `from` into the store at `to`, which is created when it
/// does not exist and must hold nothing when it does; then counts the target. A target whose
/// counts differ from the source's is an error that names the first kind that differs.
pub async fn copy(from: &Path, to: &Path) -> Result<Copied> {
    let (from, to) = (from.to_path_buf(), to.to_path_buf());
    blocking(move || copy_now(&from, &to)).await
}

fn copy_now(from: &Path, to: &Path) -> Result<Copied> {
    if location::same(from, to) {
        return Err(RuleError::invalid(format!(
            "{} is both the source and the target: copy into another store",
            from.display()
        ))
        .into());
    }
    let source = storage::open(from, OpenMode::Existing)?;
    let target = storage::open(to, OpenMode::Create)?;
    if !blank(&target)? {
        return Err(RuleError::conflict(format!(
            "{} already holds data: copy into a new redb file or an empty database",
            to.display()
        ))
        .into());
    }
    // Read before the snapshot, as the counter only grows: no id it gave is ever given again.
    let next_channel = source.transact(|w| w.next_channel_id())?;
    let copied = source.query(|r| Copier { from: r, to: Some(&target), counts: Counts::default() }.run())?;
    raise_channel_counter(&target, next_channel)?;
    let counted = target.query(count)?;
    check(&copied, &counted, to)?;
    Ok(Copied { source: copied, target: counted })
}

/// A store holds nothing: no tenant, no audit record, no token (each change leaves an audit
/// record, so this covers what has no tenant).
fn blank(store: &Arc<dyn Storage>) -> Result<bool> {
    store.query(|r| {
        Ok(r.is_empty()?
            && r.audit_in(None, &Window::ALL, &Paging::first(1))?.items.is_empty()
            && r.tokens_of(None, &Paging::first(1))?.items.is_empty())
    })
}

/// Makes the target's next channel id at least `next`: a channel stored under `next - 1` and
/// removed at once moves it there (`put_channel` never gives an id up to a stored one again).
/// Only a store with a tenant ever had a channel.
fn raise_channel_counter(target: &Arc<dyn Storage>, next: u64) -> Result<()> {
    target.transact(|w| {
        if next <= w.next_channel_id()? {
            return Ok(());
        }
        let Some(tenant) = w.tenants(&Paging::first(1))?.items.pop() else { return Ok(()) };
        let placeholder = Channel {
            id: next - 1,
            tenant: tenant.id,
            kind: ChannelKind::Hook { program: "/bin/true".into(), args: Vec::new() },
            added_by: "jitdesk store copy".into(),
            added: Utc::now(),
        };
        w.put_channel(&placeholder)?;
        w.remove_channel(placeholder.id)
    })
}

/// The first kind whose counts differ, as an error naming both.
fn check(source: &Counts, target: &Counts, to: &Path) -> Result<()> {
    for (kind, n) in &source.0 {
        let found = target.of(kind);
        if found != *n {
            return Err(super::StoreError::Storage(format!(
                "the copy in {} holds {found} {kind} where the source holds {n}: it is incomplete, so do not use it; remove it and copy again",
                to.display()
            ))
            .into());
        }
    }
    Ok(())
}

/// Reads pages with `read` from the start until the last, handing each to `each`.
fn walk<T, C: Clone>(
    mut read: impl FnMut(&Paging<C>) -> Result<Page<T>>,
    cursor: impl Fn(&T) -> C,
    mut each: impl FnMut(Vec<T>) -> Result<()>,
) -> Result<()> {
    let mut paging = Paging::first(PAGE);
    loop {
        let page = read(&paging)?;
        let next = if page.more { page.items.last().map(&cursor) } else { None };
        each(page.items)?;
        match next {
            Some(after) => paging.after = Some(after),
            None => return Ok(()),
        }
    }
}

/// Every request, newest first, a page at a time.
fn requests(r: &dyn Reads, each: impl FnMut(Vec<crate::domain::AccessRequest>) -> Result<()>) -> Result<()> {
    walk(
        |p| {
            r.requests_in(&RequestFilter { limit: p.limit, after: p.after, ..RequestFilter::default() }, None)
        },
        |q| q.id,
        each,
    )
}

/// Every tenant's id and every user's UPN, for the records filed under them.
fn tenants(r: &dyn Reads, mut each: impl FnMut(&str) -> Result<()>) -> Result<()> {
    walk(|p| r.tenants(p), |t| t.id.clone(), |page| page.iter().try_for_each(|t| each(&t.id)))
}

fn users(r: &dyn Reads, mut each: impl FnMut(&str) -> Result<()>) -> Result<()> {
    walk(
        |p| r.users_where(p, &|_| true),
        |u| u.upn.clone(),
        |page| page.iter().try_for_each(|u| each(&u.upn)),
    )
}

fn groups(r: &dyn Reads, mut each: impl FnMut(&str) -> Result<()>) -> Result<()> {
    walk(|p| r.groups(None, p), |g| g.id.clone(), |page| page.iter().try_for_each(|g| each(&g.id)))
}

/// One copy under way: the source's snapshot, the target (None: count alone), and what has been
/// read.
struct Copier<'a> {
    from: &'a dyn Reads,
    to: Option<&'a Arc<dyn Storage>>,
    counts: Counts,
}

impl Copier<'_> {
    /// Writes `items` into the target in one transaction, counting them as `kind`.
    fn put<T>(
        &mut self,
        kind: &'static str,
        items: &[T],
        put: impl Fn(&mut dyn storage::Writes, &T) -> Result<()>,
    ) -> Result<()> {
        self.counts.add(kind, items.len());
        match self.to {
            Some(to) if !items.is_empty() => to.transact(|w| items.iter().try_for_each(|item| put(w, item))),
            _ => Ok(()),
        }
    }

    /// Kind by kind, each before what refers to it (users before their keys, audit records
    /// before the notifications of them).
    fn run(mut self) -> Result<Counts> {
        let r = self.from;
        walk(|p| r.tenants(p), |t| t.id.clone(), |page| self.put("tenants", &page, |w, t| w.put_tenant(t)))?;
        walk(
            |p| r.users_where(p, &|_| true),
            |u| u.upn.clone(),
            |page| self.put("users", &page, |w, u| w.put_user(u)),
        )?;
        walk(
            |p| r.groups(None, p),
            |g| g.id.clone(),
            |page| self.put("groups", &page, |w, g| w.put_group(g)),
        )?;
        groups(r, |group| {
            walk(
                |p| r.members_of(group, p),
                String::clone,
                |page| self.put("group members", &page, |w, upn| w.add_member(group, upn)),
            )
        })?;
        walk(|p| r.offers(p), |o| o.id.clone(), |page| self.put("offers", &page, |w, o| w.put_offer(o)))?;
        walk(
            |p| r.apps_where(p, &|_| true),
            |a| a.name.clone(),
            |page| self.put("applications", &page, |w, a| w.put_app(a)),
        )?;
        // A grant's warning not yet given is due some time; every other grant's was given.
        let far = Utc::now() + TimeDelta::days(365 * 1000);
        let unwarned: HashSet<u64> = r.warnings_due(far)?.into_iter().collect();
        requests(r, |page| {
            self.put("requests", &page, |w, q| {
                w.save_request(None, q)?;
                let warned = q.state == RequestState::Approved
                    && q.ending_warning().is_some()
                    && !unwarned.contains(&q.id);
                if warned { w.warned(q) } else { Ok(()) }
            })
        })?;
        walk(
            |p| r.audit_in(None, &Window::ALL, p),
            |a| a.id,
            |page| self.put("audit records", &page, |w, a| w.append_audit(a)),
        )?;
        users(r, |upn| {
            walk(
                |p| r.notifications_of(upn, p),
                |n| n.id,
                |page| self.put("notifications", &page, |w, n| w.add_notification(upn, n.id)),
            )?;
            let seen = r.seen_upto(upn)?;
            if let Some(to) = self.to.filter(|_| seen > 0) {
                to.transact(|w| w.set_seen_upto(upn, seen))?;
            }
            walk(
                |p| r.ssh_keys_of(upn, p),
                |k| k.fingerprint.clone(),
                |page| self.put("SSH keys", &page, |w, k| w.put_ssh_key(k)),
            )?;
            let contact: Vec<_> = r.contact(upn)?.into_iter().collect();
            self.put("contacts", &contact, |w, c| w.put_contact(upn, c))
        })?;
        tenants(r, |tenant| {
            walk(
                |p| r.tenant_cas_of(tenant, p),
                |c| c.fingerprint.clone(),
                |page| self.put("SSH CAs", &page, |w, c| w.put_tenant_ca(c)),
            )?;
            walk(
                |p| r.channels_of(tenant, p),
                |c| c.id,
                |page| self.put("channels", &page, |w, c| w.put_channel(c)),
            )
        })?;
        walk(
            |p| r.tokens_of(None, p),
            |t| t.id.clone(),
            |page| self.put("tokens", &page, |w, t| w.put_token(t)),
        )?;
        let all = DeliveryFilter { failed_only: false };
        walk(
            |p| r.deliveries(&DeliveryScope::All, all, p),
            |d| d.id,
            |page| self.put("deliveries", &page, |w, d| w.save_delivery(None, d)),
        )?;
        Ok(self.counts)
    }
}

/// How many records of each kind a store holds, on one snapshot, in the order a copy counts them:
/// the same walk as a copy's, writing nothing.
fn count(r: &dyn Reads) -> Result<Counts> {
    Copier { from: r, to: None, counts: Counts::default() }.run()
}
