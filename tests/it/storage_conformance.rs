//! What every storage backend must do for the engine, written against the engine's storage traits
//! alone, so the same properties run against any backend: each property is a function that takes
//! a backend's `Open` and is run here against redb and PostgreSQL (on the tests' throwaway server,
//! `common::pg`, a fresh database per test; skipped with a line saying why when there is none
//! outside CI). A new backend adds one `Open` and one line per property.
//!
//! The properties: every operation round-trips; lists come newest first (names in order) and a
//! cursor walks on without a gap or a repeat; ids and keys are unique; every index agrees with the
//! records after every write; closing and opening again keeps everything; a reader beside a writer
//! sees each write whole or not at all; a failed write keeps nothing; after a failure the store
//! opens again with its last commit, and a store let go of answers why; a copy opens as a store of
//! its own with the snapshot it was taken from; upkeep counts what is held; a grant is owed one
//! warning that its access ends soon; object ids, resource ids and ARM names find their records.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, TimeZone, Utc};

use jitdesk::domain::*;
use jitdesk::domain::{arm_ids, delivery, identity};
use jitdesk::engine::maintenance::StoreInfo;
use jitdesk::engine::storage::{Reads, Storage, Writes};
use jitdesk::engine::{OpenMode, RequestFilter, StoreError};

/// Opens a backend's storage kept in `dir` (a new, empty folder for each test), creating it the
/// first time; opened again with the same folder, it finds what was written before.
type Open = fn(&Path) -> Arc<dyn Storage>;

/// Where a backend's copy (`Storage::copy_into`) goes so that its `Open` finds it in `dir`.
type Place = fn(&Path) -> PathBuf;

fn redb(dir: &Path) -> Arc<dyn Storage> {
    jitdesk::store::open(&redb_file(dir), OpenMode::Create).expect("open the redb store")
}

fn redb_file(dir: &Path) -> PathBuf {
    dir.join("store.redb")
}

/// A PostgreSQL store whose URL is kept in `dir`: a fresh database the first time.
fn pg(dir: &Path) -> Arc<dyn Storage> {
    let kept = dir.join("pg_url");
    let url = match std::fs::read_to_string(&kept) {
        Ok(url) => url,
        Err(_) => {
            let url = crate::common::pg::database().expect("a test database (the test checked for a server)");
            std::fs::write(&kept, &url).expect("keep the database's URL");
            url
        }
    };
    jitdesk::postgres::open(&url, OpenMode::Create).expect("open the PostgreSQL store")
}

/// Runs a property against PostgreSQL when the tests have a server (`common::pg`).
fn on_pg(property: fn(Open)) {
    if crate::common::pg::available() {
        property(pg);
    }
}

fn folder() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temp folder")
}

/// Whole seconds: every backend keeps at least those.
fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).single().expect("a valid time")
}

fn tenant(id: &str, kind: TenantKind) -> Tenant {
    let license = (kind == TenantKind::Customer).then_some(License::P2);
    Tenant { id: id.into(), kind, name: format!("{id} Ltd"), license }
}

fn user(upn: &str, tenant: &str, login: Option<&str>) -> User {
    User {
        upn: upn.into(),
        display_name: upn.to_uppercase(),
        tenant: tenant.into(),
        admin: false,
        login: login.map(str::to_string),
        object_id: arm_ids::user_guid(upn),
    }
}

fn offer(id: &str) -> Offer {
    Offer {
        id: id.into(),
        name: format!("{id} offer"),
        publisher_tenant: "pub".into(),
        published_by: "p@pub".into(),
        jit_available: true,
        roles: vec!["Reader".into(), "Contributor".into()],
    }
}

fn app(name: &str) -> Application {
    Application {
        name: name.into(),
        offer: "o1".into(),
        customer_tenant: "cust".into(),
        publisher_tenant: "pub".into(),
        resource_group: format!("rg-{name}"),
        policy: JitPolicy {
            enabled: true,
            mode: ApprovalMode::ManualApprove,
            max_duration: JitPolicy::DEFAULT_MAX_DURATION,
            approvers: vec!["a@cust".into()],
            request_timeout: JitPolicy::DEFAULT_REQUEST_TIMEOUT,
            approvals_required: 1,
            approver_groups: Vec::new(),
            max_extensions: 0,
        },
        deployed_by: "c@cust".into(),
        deployed_at: at(0),
        resource_id: arm_ids::application_id("cust", name),
    }
}

/// A pending request made at `created` (seconds past the base time), to be decided within an hour.
pub(crate) fn pending(id: u64, app: &str, requester: &str, created: i64) -> AccessRequest {
    AccessRequest {
        id,
        app: app.into(),
        requester: requester.into(),
        roles: vec!["Reader".into()],
        start: at(created),
        duration: Period::from_hours(1),
        justification: format!("ticket work {id}"),
        ticket: Some(format!("T-{id}")),
        created_at: at(created),
        decide_by: at(created + 3600),
        state: RequestState::Pending,
        decision: None,
        granted_from: None,
        closed: None,
        started: false,
        approvals: Vec::new(),
        extensions: Vec::new(),
        arm: None,
        tags: Default::default(),
    }
}

/// The request moved on, as the rules would move it: approved (to start at once, or started),
/// or ended in a final state.
fn moved(r: &AccessRequest, state: RequestState, when: i64) -> AccessRequest {
    let verdict = Some(Verdict { by: "a@cust".into(), at: at(when), reason: "ok".into() });
    let mut next = r.clone();
    next.state = state;
    match state {
        // Approved again: the start has come, and the deadline moves to the end.
        RequestState::Approved if r.state == RequestState::Approved => next.started = true,
        RequestState::Approved => {
            next.decision = verdict;
            next.granted_from = Some(at(when));
        }
        RequestState::Pending => {}
        _ => next.closed = verdict,
    }
    next
}

pub(crate) fn audit(id: u64, app: Option<&str>, target: Target) -> AuditRecord {
    AuditRecord {
        id,
        at: at(id as i64),
        actor: "a@cust".into(),
        action: Action::RequestCreated,
        target,
        app: app.map(str::to_string),
        reason: Some(format!("reason {id}")),
        before: None,
        after: Some("Pending".into()),
    }
}

/// The directory the requests below need: two tenants, users, an offer, three applications.
fn directory(t: &mut dyn Writes) -> jitdesk::Result<()> {
    t.put_tenant(&tenant("pub", TenantKind::Publisher))?;
    t.put_tenant(&tenant("cust", TenantKind::Customer))?;
    for upn in ["p@pub", "q@pub", "r@pub"] {
        t.put_user(&user(upn, "pub", None))?;
    }
    t.put_user(&user("a@cust", "cust", Some("alice")))?;
    t.put_offer(&offer("o1"))?;
    for name in ["app1", "app2", "app3"] {
        t.put_app(&app(name))?;
    }
    Ok(())
}

/// Every page of a list, walked with a cursor `per` items at a time, checking each page's `more`.
fn walk<T, C>(per: usize, cursor: impl Fn(&T) -> C, page: impl Fn(Paging<C>) -> Page<T>) -> Vec<T> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let got = page(Paging { limit: Some(per), after: after.take() });
        assert!(got.items.len() <= per, "a page holds at most what was asked");
        let more = got.more;
        if more {
            assert_eq!(got.items.len(), per, "a page with more after it is full");
        }
        after = got.items.last().map(&cursor);
        all.extend(got.items);
        if !more {
            return all;
        }
    }
}

fn write<T>(s: &Arc<dyn Storage>, work: impl FnOnce(&mut dyn Writes) -> jitdesk::Result<T>) -> T {
    s.transact(work).expect("the write commits")
}

fn read<T>(s: &Arc<dyn Storage>, query: impl FnOnce(&dyn Reads) -> jitdesk::Result<T>) -> T {
    s.query(query).expect("the read answers")
}

// ---- the properties, for any backend ----

fn every_operation_round_trips(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    assert!(read(&s, |t| t.is_empty()), "a new store is empty");
    assert!(read(&s, |t| t.schema_version()).is_some(), "a new store says its schema");
    write(&s, directory);
    let request = pending(1, "app1", "p@pub", 10);
    let record = audit(1, Some("app1"), Target::Request(1));
    write(&s, |t| {
        t.save_request(None, &request)?;
        t.append_audit(&record)?;
        t.add_notification("a@cust", 1)?;
        t.set_seen_upto("a@cust", 1)
    });
    read(&s, |t| {
        assert!(!t.is_empty()?);
        assert_eq!(t.tenant("cust")?, Some(tenant("cust", TenantKind::Customer)));
        assert_eq!(t.user("a@cust")?, Some(user("a@cust", "cust", Some("alice"))));
        assert_eq!(t.user_by_login("alice")?, Some(user("a@cust", "cust", Some("alice"))));
        assert_eq!(t.offer("o1")?, Some(offer("o1")));
        assert_eq!(t.app("app2")?, Some(app("app2")));
        assert_eq!(t.request(1)?, Some(request.clone()));
        assert_eq!(t.need_request(1)?, request);
        assert_eq!(t.history(1)?, vec![record.clone()]);
        // A notification is told from its audit record and that record's request.
        let note = Notification::of("a@cust", &record, Some(&request));
        assert_eq!(t.notifications_of("a@cust", &Paging::default())?.items, vec![note]);
        assert_eq!(t.seen_upto("a@cust")?, 1);
        assert_eq!(t.pending_request("app1", "p@pub")?, Some(1));
        // What is not there answers None, and a missing request is the rules' "no request".
        assert_eq!(t.tenant("nobody")?, None);
        assert_eq!(t.user_by_login("bob")?, None);
        assert_eq!(t.request(2)?, None);
        assert_eq!(t.seen_upto("p@pub")?, 0);
        let missing = t.need_request(2).expect_err("no request 2");
        assert_eq!(missing.kind(), Some(ErrorKind::NotFound), "{missing}");
        Ok(())
    });
    // A write answers its own reads before it commits.
    write(&s, |t| {
        let next = pending(2, "app2", "q@pub", 20);
        t.save_request(None, &next)?;
        assert_eq!(t.request(2)?, Some(next));
        assert_eq!(t.next_request_id()?, 3);
        Ok(())
    });
}

/// A window holds what was made at its start and not what was made at its end, on every walk and
/// with any application's view; a record whose time is out of order with its id (a system clock
/// set back) is never listed outside a window.
fn windows_hold_their_start_and_not_their_end(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    write(&s, directory);
    let apps = ["app1", "app2", "app3"];
    // Every time twice (ids 2k-1 and 2k share second k), as records of one batch do; id 41 was
    // stamped by a clock set back to second 3.
    write(&s, |t| {
        for id in 1..=40u64 {
            let app = apps[id as usize % 3];
            let second = id.div_ceil(2) as i64;
            t.save_request(None, &pending(id, app, "p@pub", second))?;
            t.append_audit(&AuditRecord { at: at(second), ..audit(id, Some(app), Target::Request(id)) })?;
        }
        t.append_audit(&AuditRecord { at: at(3), ..audit(41, Some("app1"), Target::Request(1)) })?;
        Ok(())
    });
    let window = |since: Option<i64>, until: Option<i64>| Window::new(since.map(at), until.map(at)).unwrap();
    read(&s, |t| {
        for (since, until) in
            [(Some(5), Some(9)), (None, Some(1)), (Some(20), None), (Some(7), Some(7)), (Some(30), Some(99))]
        {
            let w = window(since, until);
            let inside = |second: i64| w.holds(at(second));
            let expected: Vec<u64> = (1..=40u64).rev().filter(|id| inside(id.div_ceil(2) as i64)).collect();
            for per in [1, 3, 100] {
                let all = walk(per, |a: &AuditRecord| a.id, |p| t.audit_in(None, &w, &p).unwrap());
                let got: Vec<u64> = all.iter().map(|a| a.id).filter(|id| *id != 41).collect();
                assert_eq!(got, expected, "audit in {since:?}..{until:?} at {per} a page");
                assert!(all.iter().all(|a| w.holds(a.at)), "nothing outside the window");
                let filter =
                    |after| RequestFilter { created: w, limit: Some(per), after, ..RequestFilter::default() };
                let requests =
                    walk(per, |r: &AccessRequest| r.id, |p| t.requests_in(&filter(p.after), None).unwrap());
                assert_eq!(
                    requests.iter().map(|r| r.id).collect::<Vec<_>>(),
                    expected,
                    "requests at {per} a page"
                );
                let seen: HashSet<String> = ["app2".to_string()].into();
                let of_app2 = walk(per, |a: &AuditRecord| a.id, |p| t.audit_in(Some(&seen), &w, &p).unwrap());
                let app2: Vec<u64> = expected.iter().copied().filter(|id| *id as usize % 3 == 1).collect();
                assert_eq!(of_app2.iter().map(|a| a.id).collect::<Vec<_>>(), app2);
                let scoped = t.requests_in(&filter(None), Some(&seen)).unwrap();
                assert!(scoped.items.iter().all(|r| r.app == "app2" && w.holds(r.created_at)));
            }
        }
        Ok(())
    });
}

fn lists_come_in_order_and_cursors_walk_on(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    write(&s, directory);
    let requesters = ["p@pub", "q@pub", "r@pub"];
    let apps = ["app1", "app2", "app3"];
    write(&s, |t| {
        for id in 1..=40u64 {
            let i = id as usize;
            t.save_request(None, &pending(id, apps[i % 3], requesters[i % 2], id as i64))?;
            t.append_audit(&audit(id, Some(apps[i % 3]), Target::Request(id)))?;
            t.add_notification("a@cust", id)?;
        }
        for id in ["t3", "t1", "t2"] {
            t.put_tenant(&tenant(id, TenantKind::Customer))?;
        }
        Ok(())
    });
    let newest_first = |ids: Vec<u64>| {
        let mut sorted = ids.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        sorted.dedup();
        assert_eq!(ids, sorted, "newest first, each once");
        ids
    };
    read(&s, |t| {
        for per in [1, 7, 40, 100] {
            let filter = |after| RequestFilter { limit: Some(per), after, ..RequestFilter::default() };
            let all = walk(per, |r: &AccessRequest| r.id, |p| t.requests_in(&filter(p.after), None).unwrap());
            assert_eq!(
                newest_first(all.iter().map(|r| r.id).collect()).len(),
                40,
                "every request, at {per} a page"
            );
            let by_app = |after| RequestFilter {
                app: Some("app2".into()),
                limit: Some(per),
                after,
                ..RequestFilter::default()
            };
            let app2 =
                walk(per, |r: &AccessRequest| r.id, |p| t.requests_in(&by_app(p.after), None).unwrap());
            let expected: Vec<u64> = (1..=40u64).rev().filter(|id| *id as usize % 3 == 1).collect();
            assert_eq!(newest_first(app2.iter().map(|r| r.id).collect()), expected);
            let audit = walk(per, |a: &AuditRecord| a.id, |p| t.audit_in(None, &Window::ALL, &p).unwrap());
            assert_eq!(newest_first(audit.iter().map(|a| a.id).collect()).len(), 40);
            let seen: HashSet<String> = ["app1".to_string()].into();
            let audit1 =
                walk(per, |a: &AuditRecord| a.id, |p| t.audit_in(Some(&seen), &Window::ALL, &p).unwrap());
            assert!(audit1.iter().all(|a| a.app.as_deref() == Some("app1")));
            let notes = walk(per, |n: &Notification| n.id, |p| t.notifications_of("a@cust", &p).unwrap());
            assert_eq!(newest_first(notes.iter().map(|n| n.id).collect()).len(), 40);
            let tenants = walk(per, |t: &Tenant| t.id.clone(), |p| t.tenants(&p).unwrap());
            let ids: Vec<&str> = tenants.iter().map(|t| t.id.as_str()).collect();
            assert_eq!(ids, ["cust", "pub", "t1", "t2", "t3"], "tenants in id order");
            let users = walk(per, |u: &User| u.upn.clone(), |p| t.search_users("PUB", &p).unwrap());
            let upns: Vec<&str> = users.iter().map(|u| u.upn.as_str()).collect();
            assert_eq!(upns, ["p@pub", "q@pub", "r@pub"], "matches ignore case, in UPN order");
            let some =
                walk(per, |t: &Tenant| t.id.clone(), |p| t.tenants_where(&p, &|t| t.id != "t2").unwrap());
            let ids: Vec<&str> = some.iter().map(|t| t.id.as_str()).collect();
            assert_eq!(ids, ["cust", "pub", "t1", "t3"], "tenants in id order, as `keep` admits");
            let of_pub =
                walk(per, |u: &User| u.upn.clone(), |p| t.users_where(&p, &|u| u.tenant == "pub").unwrap());
            let upns: Vec<&str> = of_pub.iter().map(|u| u.upn.as_str()).collect();
            assert_eq!(upns, ["p@pub", "q@pub", "r@pub"], "users in UPN order, as `keep` admits");
            let apps = walk(
                per,
                |a: &Application| a.name.clone(),
                |p| t.apps_where(&p, &|a| a.name != "app2").unwrap(),
            );
            let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
            assert_eq!(names, ["app1", "app3"], "applications in name order, as `keep` admits");
            for party in ["cust", "pub"] {
                let apps = walk(
                    per,
                    |a: &Application| a.name.clone(),
                    |p| t.apps_of(party, &p, &|a| a.name != "app2").unwrap(),
                );
                let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
                assert_eq!(names, ["app1", "app3"], "a tenant's applications ({party}), in name order");
            }
            for stranger in ["t1", "cus", "custo"] {
                let none = t.apps_of(stranger, &Paging::default(), &|_| true).unwrap();
                assert!(none.items.is_empty(), "{stranger} is a party to nothing");
            }
        }
        assert_eq!(t.apps()?.len(), 3);
        assert_eq!(t.history(7)?.iter().map(|a| a.id).collect::<Vec<_>>(), [7]);
        Ok(())
    });
}

fn ids_and_keys_are_unique(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    write(&s, directory);
    // Putting what exists replaces it: one record per key, and one login per user.
    write(&s, |t| {
        t.put_tenant(&Tenant { name: "Renamed".into(), ..tenant("pub", TenantKind::Publisher) })?;
        t.put_user(&User { display_name: "Alice".into(), ..user("a@cust", "cust", Some("alice")) })?;
        t.put_app(&app("app1"))?;
        Ok(())
    });
    read(&s, |t| {
        let tenants = t.tenants(&Paging::default())?.items;
        assert_eq!(tenants.len(), 2, "{tenants:?}");
        assert_eq!(t.tenant("pub")?.map(|t| t.name), Some("Renamed".into()));
        assert_eq!(t.search_users("a@cust", &Paging::default())?.items.len(), 1);
        assert_eq!(t.user_by_login("alice")?.map(|u| u.display_name), Some("Alice".into()));
        assert_eq!(t.apps()?.len(), 3);
        Ok(())
    });
    // A login the user no longer has names nobody; the new one names them.
    write(&s, |t| t.put_user(&user("a@cust", "cust", Some("ally"))));
    read(&s, |t| {
        assert_eq!(t.user_by_login("alice")?, None, "the old login is let go");
        assert_eq!(t.user_by_login("ally")?.map(|u| u.upn), Some("a@cust".into()));
        Ok(())
    });
    write(&s, |t| t.put_user(&user("a@cust", "cust", None)));
    read(&s, |t| {
        assert_eq!(t.user_by_login("ally")?, None, "a user without a login is found by none");
        Ok(())
    });
    // Ids handed out grow past every id stored, in one transaction and across them.
    let first = write(&s, |t| {
        let id = t.next_request_id()?;
        t.save_request(None, &pending(id, "app1", "p@pub", 1))?;
        let audit_id = t.next_audit_id()?;
        t.append_audit(&audit(audit_id, None, Target::Tenant("pub".into())))?;
        assert!(t.next_request_id()? > id);
        assert!(t.next_audit_id()? > audit_id);
        Ok(id)
    });
    let second = write(&s, |t| t.next_request_id());
    assert!(second > first);
    // A notification is one per recipient and cause: the same again is still one.
    let cause = write(&s, |t| {
        let id = t.next_audit_id()?;
        t.append_audit(&audit(id, Some("app1"), Target::Request(first)))?;
        t.add_notification("a@cust", id)?;
        t.add_notification("a@cust", id)?;
        Ok(id)
    });
    let notes = read(&s, |t| t.notifications_of("a@cust", &Paging::default()));
    assert_eq!(notes.items.iter().map(|n| (n.id, n.request)).collect::<Vec<_>>(), [(cause, Some(first))]);
}

/// The index answers, checked against the records kept beside them in a plain map.
fn check_indexes(t: &dyn Reads, model: &BTreeMap<u64, AccessRequest>, now: i64) -> jitdesk::Result<()> {
    let ids = |rs: Vec<AccessRequest>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let expect = |f: &dyn Fn(&AccessRequest) -> bool| {
        model.values().rev().filter(|r| f(r)).map(|r| r.id).collect::<Vec<_>>()
    };
    let states = [
        None,
        Some(RequestState::Pending),
        Some(RequestState::Approved),
        Some(RequestState::Denied),
        Some(RequestState::Expired),
    ];
    for state in states {
        for app in [None, Some("app1"), Some("app2")] {
            for requester in [None, Some("p@pub"), Some("q@pub")] {
                let filter = RequestFilter {
                    state,
                    app: app.map(str::to_string),
                    requester: requester.map(str::to_string),
                    ..RequestFilter::default()
                };
                let want = expect(&|r| filter.admits(r));
                assert_eq!(ids(t.requests_in(&filter, None)?.items), want, "{filter:?}");
                let visible: HashSet<String> = ["app1".to_string(), "app3".to_string()].into();
                let scoped = expect(&|r| filter.admits(r) && visible.contains(&r.app));
                assert_eq!(
                    ids(t.requests_in(&filter, Some(&visible))?.items),
                    scoped,
                    "{filter:?} on app1, app3"
                );
            }
        }
    }
    for upn in ["p@pub", "q@pub", "r@pub"] {
        for app in ["app1", "app2", "app3"] {
            let want = expect(&|r| r.requester == upn && r.app == app);
            assert_eq!(ids(t.requests_of(upn, app)?), want, "{upn} on {app}");
            let pending = model
                .values()
                .find(|r| r.requester == upn && r.app == app && r.state == RequestState::Pending);
            assert_eq!(t.pending_request(app, upn)?, pending.map(|r| r.id), "{upn}'s pending on {app}");
        }
        let mut open = ids(t.open_requests_of(upn)?);
        open.sort_unstable();
        let want: Vec<u64> =
            model.values().filter(|r| r.requester == upn && !r.state.is_final()).map(|r| r.id).collect();
        assert_eq!(open, want, "{upn}'s open requests");
    }
    let mut deadlines: Vec<(i64, u64)> =
        model.values().filter_map(|r| r.deadline().map(|(at, _)| (at.timestamp_millis(), r.id))).collect();
    deadlines.sort_unstable();
    // No warning is given here, so every approved grant is still owed its own.
    let mut warnings: Vec<(i64, u64)> =
        model.values().filter_map(|r| r.ending_warning().map(|at| (at.timestamp_millis(), r.id))).collect();
    warnings.sort_unstable();
    let wake = deadlines.first().into_iter().chain(warnings.first()).map(|d| d.0).min();
    assert_eq!(t.next_deadline()?, wake, "the next deadline or warning");
    let cut = at(now);
    let due: Vec<u64> = deadlines.iter().filter(|d| d.0 <= cut.timestamp_millis()).map(|d| d.1).collect();
    let found: Vec<u64> = t.due(cut)?.iter().map(|r| r.id).collect();
    assert_eq!(found, due, "due by {cut}, oldest deadline first");
    assert!(t.due(cut)?.iter().all(|r| model.get(&r.id) == Some(r)), "each as it is");
    let warn: Vec<u64> = warnings.iter().filter(|d| d.0 <= cut.timestamp_millis()).map(|d| d.1).collect();
    assert_eq!(t.warnings_due(cut)?, warn, "warnings due by {cut}, earliest first");
    let grants = ids(t.current_grants_in(cut, None, &Paging::default())?.items);
    let want = expect(&|r| r.state == RequestState::Approved && r.end().is_some_and(|end| end > cut));
    assert_eq!(grants, want, "grants not ended at {cut}");
    Ok(())
}

fn indexes_agree_with_the_records_after_every_write(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    write(&s, directory);
    let mut model: BTreeMap<u64, AccessRequest> = BTreeMap::new();
    let requesters = ["p@pub", "q@pub", "r@pub"];
    let apps = ["app1", "app2", "app3"];
    // A fixed walk through creations and every kind of move, checked after each commit.
    let mut seed = 7u64;
    for step in 1..=60i64 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let pick = (seed >> 33) as usize;
        let open_ids: Vec<u64> = model.values().filter(|r| !r.state.is_final()).map(|r| r.id).collect();
        let change = if open_ids.is_empty() || pick.is_multiple_of(3) {
            let id = model.keys().last().map_or(1, |id| id + 1);
            (None, pending(id, apps[pick % 3], requesters[(pick / 3) % 3], step * 60))
        } else {
            let old = model[&open_ids[pick % open_ids.len()]].clone();
            let next = match (old.state, pick % 4) {
                (RequestState::Pending, 0) => RequestState::Denied,
                (RequestState::Pending, 1) => RequestState::Canceled,
                (RequestState::Pending, _) => RequestState::Approved,
                (_, 0) => RequestState::Revoked,
                (_, 1) => RequestState::Expired,
                _ => RequestState::Approved,
            };
            (Some(old.clone()), moved(&old, next, step * 60))
        };
        write(&s, |t| t.save_request(change.0.as_ref(), &change.1));
        model.insert(change.1.id, change.1);
        s.query(|t| check_indexes(t, &model, step * 60)).expect("the indexes agree");
    }
}

fn reopening_keeps_everything(open: Open) {
    let dir = folder();
    let before = {
        let s = open(dir.path());
        write(&s, directory);
        write(&s, |t| {
            for id in 1..=5u64 {
                t.save_request(None, &pending(id, "app1", "p@pub", id as i64))?;
                t.append_audit(&audit(id, Some("app1"), Target::Request(id)))?;
                t.add_notification("a@cust", id)?;
            }
            let approved = moved(&pending(3, "app1", "p@pub", 3), RequestState::Approved, 100);
            t.save_request(Some(&pending(3, "app1", "p@pub", 3)), &approved)?;
            t.set_seen_upto("a@cust", 4)
        });
        read(&s, snapshot)
    };
    let s = open(dir.path());
    assert_eq!(read(&s, snapshot), before, "what was committed is there after opening again");
}

/// Everything a store holds, as its reads answer.
fn snapshot(t: &dyn Reads) -> jitdesk::Result<String> {
    let all = Paging::default();
    Ok(format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        t.tenants(&all)?,
        t.search_users("", &all)?,
        t.offers(&all)?,
        t.apps()?,
        t.requests_in(&RequestFilter::default(), None)?,
        t.audit_in(None, &Window::ALL, &Paging::default())?,
        t.notifications_of("a@cust", &Paging::default())?,
        t.seen_upto("a@cust")?,
        t.next_deadline()?,
        t.schema_version()?,
        t.user_by_login("alice")?,
    ))
}

fn readers_beside_a_writer_see_each_write_whole(open: Open) {
    const PER_WRITE: u64 = 5;
    const WRITES: u64 = 40;
    let dir = folder();
    let s = open(dir.path());
    write(&s, directory);
    // A snapshot taken before a write keeps answering as before it.
    let held = {
        let (taken_tx, taken_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let reader = {
            let s = s.clone();
            std::thread::spawn(move || {
                read(&s, |t| {
                    let before = t.requests_in(&RequestFilter::default(), None)?.items.len();
                    taken_tx.send(()).expect("tell the writer");
                    go_rx.recv().expect("wait for the write");
                    Ok((before, t.requests_in(&RequestFilter::default(), None)?.items.len()))
                })
            })
        };
        taken_rx.recv().expect("the snapshot is taken");
        write(&s, |t| t.save_request(None, &pending(1, "app1", "p@pub", 1)));
        go_tx.send(()).expect("let the reader on");
        reader.join().expect("the reader ends")
    };
    assert_eq!(held, (0, 0), "a snapshot sees nothing of a write committed after it began");
    // Readers racing a writer see whole writes only: the count is always a multiple of a write.
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (s, done) = (s.clone(), done.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    let (requests, audit) = read(&s, |t| {
                        let requests = t.requests_in(&RequestFilter::default(), None)?.items.len() as u64;
                        Ok((requests, t.audit_in(None, &Window::ALL, &Paging::default())?.items.len() as u64))
                    });
                    seen.push((requests, audit));
                }
                seen
            })
        })
        .collect();
    for n in 0..WRITES {
        write(&s, |t| {
            for i in 0..PER_WRITE {
                let id = 2 + n * PER_WRITE + i;
                t.save_request(None, &pending(id, "app2", "q@pub", id as i64))?;
                t.append_audit(&audit(id, Some("app2"), Target::Request(id)))?;
            }
            Ok(())
        });
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        for (requests, audit) in reader.join().expect("a reader ends") {
            assert_eq!((requests - 1) % PER_WRITE, 0, "{requests} requests: part of a write was seen");
            assert_eq!(audit % PER_WRITE, 0, "{audit} audit records: part of a write was seen");
            assert_eq!(audit, requests - 1, "a write's requests and its audit records are seen together");
        }
    }
    let last = read(&s, |t| t.requests_in(&RequestFilter::default(), None));
    assert_eq!(last.items.len() as u64, 1 + WRITES * PER_WRITE);
}

fn a_failed_write_keeps_nothing(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    write(&s, directory);
    let before = read(&s, snapshot);
    let refusal = RuleError::conflict("refused half way");
    let failed = s.transact(|t| -> jitdesk::Result<()> {
        t.save_request(None, &pending(1, "app1", "p@pub", 1))?;
        t.append_audit(&audit(1, Some("app1"), Target::Request(1)))?;
        t.add_notification("a@cust", 1)?;
        t.set_seen_upto("a@cust", 1)?;
        Err(refusal.clone().into())
    });
    match failed {
        Err(jitdesk::Error::Rule(rule)) => assert_eq!(rule, refusal, "the work's own error comes back"),
        other => panic!("expected the work's refusal, got {other:?}"),
    }
    assert_eq!(read(&s, snapshot), before, "nothing of a failed write is kept");
    // The store takes the next write as if nothing had happened.
    write(&s, |t| t.save_request(None, &pending(1, "app1", "p@pub", 1)));
    assert_eq!(read(&s, |t| t.request(1)).map(|r| r.id), Some(1));
}

fn reopening_after_a_failure_and_letting_go(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    write(&s, directory);
    write(&s, |t| t.save_request(None, &pending(1, "app1", "p@pub", 1)));
    let before = read(&s, snapshot);
    // Opened again after a failed write: the last commit is all there, and writes go on.
    s.reopen(StoreError::Storage("a write failed".into())).expect("opens again");
    assert_eq!(read(&s, snapshot), before);
    write(&s, |t| t.save_request(None, &pending(2, "app2", "q@pub", 2)));
    // Let go of as damaged: every call answers why. (The file stays as the last commit left it;
    // redb keeps its lock until the process ends, so this process cannot open it again.)
    s.abandon(StoreError::Damaged("bad page".into()));
    let answered =
        |e: jitdesk::Error| matches!(e, jitdesk::Error::Storage(StoreError::Damaged(m)) if m == "bad page");
    assert!(answered(s.query(|t| t.request(1)).expect_err("a read answers why")));
    assert!(answered(s.transact(|t| t.set_seen_upto("a@cust", 9)).expect_err("a write answers why")));
}

/// Requests, their audit and their notifications, and half of the requests decided afterwards.
fn fill(s: &Arc<dyn Storage>) {
    write(s, directory);
    write(s, |t| {
        for id in 1..=20u64 {
            t.save_request(None, &pending(id, "app1", "p@pub", id as i64))?;
            t.append_audit(&audit(id, Some("app1"), Target::Request(id)))?;
            t.add_notification("a@cust", id)?;
        }
        Ok(())
    });
    write(s, |t| {
        for id in 1..=10u64 {
            let old = pending(id, "app1", "p@pub", id as i64);
            t.save_request(Some(&old), &moved(&old, RequestState::Approved, 100))?;
        }
        Ok(())
    });
}

fn a_copy_opens_as_a_store_of_its_own(open: Open, place: Place) {
    let dir = folder();
    let s = open(dir.path());
    fill(&s);
    let copied = read(&s, snapshot);
    let copy = folder();
    let file = std::fs::File::create_new(place(copy.path())).expect("a new file for the copy");
    s.copy_into(file).expect("the copy is written");
    // What is written after the copy is not in it.
    write(&s, |t| t.save_request(None, &pending(21, "app2", "q@pub", 21)));
    assert_ne!(read(&s, snapshot), copied);
    let c = open(copy.path());
    assert_eq!(read(&c, snapshot), copied, "the copy holds the snapshot it was taken from");
    // The copy is a store of its own: it takes writes, and the original does not see them.
    write(&c, |t| t.set_seen_upto("a@cust", 7));
    assert_eq!(read(&c, |t| t.seen_upto("a@cust")), 7);
    assert_eq!(read(&s, |t| t.seen_upto("a@cust")), 0);
}

fn upkeep_counts_what_is_held(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    fill(&s);
    let info = s.info().expect("the store says what it holds");
    let schema = read(&s, |t| t.schema_version()).unwrap_or_default();
    assert_eq!(info.schema, schema);
    // The cache is this process's setting, which other tests may set meanwhile: there is one.
    assert!(info.cache_bytes > 0, "{info:?}");
    assert!(info.file_bytes > 0, "{info:?}");
    let entries = |info: &StoreInfo| info.tables.iter().map(|t| t.entries).sum::<u64>();
    // Each request, audit record and notification is at least one entry somewhere.
    assert!(entries(&info) >= 60, "{info:?}");
    write(&s, |t| t.save_request(None, &pending(21, "app2", "q@pub", 21)));
    let grown = s.info().expect("the store says what it holds");
    assert!(entries(&grown) > entries(&info), "a new request counts: {grown:?}");
}

// ---- run against redb ----

#[test]
fn redb_copies_open_as_stores_of_their_own() {
    a_copy_opens_as_a_store_of_its_own(redb, redb_file);
}

#[test]
fn redb_counts_what_it_holds() {
    upkeep_counts_what_is_held(redb);
}

#[test]
fn redb_round_trips_every_operation() {
    every_operation_round_trips(redb);
}

#[test]
fn redb_lists_come_in_order_and_cursors_walk_on() {
    lists_come_in_order_and_cursors_walk_on(redb);
}

#[test]
fn redb_windows_hold_their_start_and_not_their_end() {
    windows_hold_their_start_and_not_their_end(redb);
}

#[test]
fn redb_keeps_ids_and_keys_unique() {
    ids_and_keys_are_unique(redb);
}

#[test]
fn redb_indexes_agree_with_the_records_after_every_write() {
    indexes_agree_with_the_records_after_every_write(redb);
}

#[test]
fn redb_keeps_everything_when_opened_again() {
    reopening_keeps_everything(redb);
}

#[test]
fn redb_readers_beside_a_writer_see_each_write_whole() {
    readers_beside_a_writer_see_each_write_whole(redb);
}

#[test]
fn redb_keeps_nothing_of_a_failed_write() {
    a_failed_write_keeps_nothing(redb);
}

#[test]
fn redb_opens_again_after_a_failure_and_lets_go_of_a_damaged_store() {
    reopening_after_a_failure_and_letting_go(redb);
}

/// A grant is owed one warning that its access ends soon from its approval: `warned` settles it
/// for good while the grant stays approved (its start saved after it changes nothing), and a
/// grant that ends is owed none.
fn a_warning_is_owed_once_per_grant(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    write(&s, directory);
    let first = pending(1, "app1", "p@pub", 0);
    let second = pending(2, "app2", "q@pub", 0);
    let scheduled =
        |r: &AccessRequest| AccessRequest { started: false, ..moved(r, RequestState::Approved, 60) };
    let (a, b) = (scheduled(&first), scheduled(&second));
    write(&s, |t| {
        t.save_request(None, &first)?;
        t.save_request(None, &second)?;
        t.save_request(Some(&first), &a)?;
        t.save_request(Some(&second), &b)
    });
    let warn_at = a.ending_warning().expect("an hour's grant is warned");
    assert_eq!(warn_at, at(60 + 50 * 60));
    assert_eq!(read(&s, |t| t.warnings_due(warn_at)), [1, 2]);
    assert_eq!(read(&s, |t| t.warnings_due(warn_at - chrono::TimeDelta::milliseconds(1))), Vec::<u64>::new());
    write(&s, |t| t.warned(&a));
    let (a2, b2) = (moved(&a, RequestState::Approved, 60), moved(&b, RequestState::Revoked, 120));
    write(&s, |t| {
        t.save_request(Some(&a), &a2)?;
        t.save_request(Some(&b), &b2)
    });
    assert_eq!(read(&s, |t| t.warnings_due(at(1 << 30))), Vec::<u64>::new(), "warned, and revoked");
    assert_eq!(
        read(&s, |t| t.next_deadline()),
        a2.deadline().map(|(end, _)| end.timestamp_millis()),
        "the end is all that is left to wait for"
    );
}

#[test]
fn redb_owes_a_warning_once_per_grant() {
    a_warning_is_owed_once_per_grant(redb);
}

fn ssh_key(fingerprint: &str, upn: &str) -> identity::SshKey {
    identity::SshKey {
        fingerprint: fingerprint.into(),
        key: format!("ssh-ed25519 {fingerprint}"),
        upn: upn.into(),
        comment: "laptop".into(),
        added_at: at(1),
    }
}

fn tenant_ca(tenant: &str, fingerprint: &str) -> identity::TenantCa {
    identity::TenantCa {
        tenant: tenant.into(),
        fingerprint: fingerprint.into(),
        key: format!("ssh-ed25519 {fingerprint}"),
        comment: String::new(),
        added_at: at(2),
    }
}

fn token(id: &str, owner: identity::TokenOwner) -> identity::ApiToken {
    identity::ApiToken {
        id: id.into(),
        hash: identity::token_hash(&format!("jdt_{id}_secret")),
        owner,
        name: format!("{id} token"),
        created_at: at(3),
        expires_at: Some(at(1000)),
        read_only: false,
        revoked_at: None,
    }
}

/// Every identity record as each lookup finds it, compared with what the model says should be there:
/// each key once, by its fingerprint and in its user's list only; each CA by tenant and by
/// fingerprint; each token by id, by hash and in its owner's list.
fn check_identity(
    t: &dyn Reads,
    keys: &BTreeMap<String, identity::SshKey>,
    cas: &[identity::TenantCa],
    tokens: &[identity::ApiToken],
) -> jitdesk::Result<()> {
    for upn in ["a@cust", "p@pub", "nobody@x"] {
        let theirs: Vec<_> = keys.values().filter(|k| k.upn == upn).cloned().collect();
        assert_eq!(t.ssh_keys_of(upn, &Paging::default())?.items, theirs, "{upn}'s keys");
        for key in &theirs {
            assert_eq!(t.ssh_key(&key.fingerprint)?.as_ref(), Some(key));
        }
    }
    assert_eq!(t.ssh_key("SHA256:none")?, None);
    for tenant in ["cust", "pub"] {
        let theirs: Vec<_> = cas.iter().filter(|c| c.tenant == tenant).cloned().collect();
        assert_eq!(t.tenant_cas_of(tenant, &Paging::default())?.items, theirs, "{tenant}'s CAs");
    }
    for ca in cas {
        assert_eq!(t.tenant_ca(&ca.tenant, &ca.fingerprint)?.as_ref(), Some(ca));
        let trusting: Vec<_> = cas.iter().filter(|c| c.fingerprint == ca.fingerprint).cloned().collect();
        assert_eq!(t.cas_by_fingerprint(&ca.fingerprint)?, trusting);
    }
    assert_eq!(t.tokens_of(None, &Paging::default())?.items, tokens);
    for owner in [identity::TokenOwner::Operator, identity::TokenOwner::User("p@pub".into())] {
        let theirs: Vec<_> = tokens.iter().filter(|k| k.owner == owner).cloned().collect();
        assert_eq!(t.tokens_of(Some(&owner), &Paging::default())?.items, theirs, "{owner}'s tokens");
    }
    for token in tokens {
        assert_eq!(t.token(&token.id)?.as_ref(), Some(token));
        assert_eq!(t.token_by_hash(&token.hash)?.as_ref(), Some(token));
    }
    assert_eq!(t.token_by_hash(&identity::token_hash("jdt_none_secret"))?, None);
    Ok(())
}

fn identity_records_stay_unique_and_indexed(open: Open) {
    use identity::TokenOwner::{Operator, User};
    let dir = folder();
    let s = open(dir.path());
    write(&s, directory);
    let mut keys = BTreeMap::new();
    let mut cas = Vec::new();
    let mut tokens = Vec::new();
    read(&s, |t| check_identity(t, &keys, &cas, &tokens));

    // Keys: added, listed per user, walked with a cursor, and unique by fingerprint: storing a
    // fingerprint again moves it, leaving no trace in the first user's list.
    for (fp, upn) in [("SHA256:b", "p@pub"), ("SHA256:a", "p@pub"), ("SHA256:c", "a@cust")] {
        write(&s, |t| t.put_ssh_key(&ssh_key(fp, upn)));
        keys.insert(fp.to_string(), ssh_key(fp, upn));
        read(&s, |t| check_identity(t, &keys, &cas, &tokens));
    }
    let walked =
        walk(1, |k: &identity::SshKey| k.fingerprint.clone(), |p| read(&s, |t| t.ssh_keys_of("p@pub", &p)));
    assert_eq!(walked.iter().map(|k| k.fingerprint.as_str()).collect::<Vec<_>>(), ["SHA256:a", "SHA256:b"]);
    write(&s, |t| t.put_ssh_key(&ssh_key("SHA256:a", "a@cust")));
    keys.insert("SHA256:a".into(), ssh_key("SHA256:a", "a@cust"));
    read(&s, |t| check_identity(t, &keys, &cas, &tokens));
    write(&s, |t| t.remove_ssh_key("SHA256:b"));
    keys.remove("SHA256:b");
    read(&s, |t| check_identity(t, &keys, &cas, &tokens));
    write(&s, |t| t.remove_ssh_key("SHA256:never"));
    read(&s, |t| check_identity(t, &keys, &cas, &tokens));

    // CAs: one authority trusted by two tenants is found for both, and stays for one when the
    // other lets go of it.
    for (tenant, fp) in [("cust", "SHA256:ca1"), ("pub", "SHA256:ca1"), ("pub", "SHA256:ca2")] {
        write(&s, |t| t.put_tenant_ca(&tenant_ca(tenant, fp)));
        cas.push(tenant_ca(tenant, fp));
        cas.sort_by(|a, b| (&a.tenant, &a.fingerprint).cmp(&(&b.tenant, &b.fingerprint)));
        read(&s, |t| check_identity(t, &keys, &cas, &tokens));
    }
    write(&s, |t| t.remove_tenant_ca("cust", "SHA256:ca1"));
    cas.retain(|c| !(c.tenant == "cust" && c.fingerprint == "SHA256:ca1"));
    read(&s, |t| check_identity(t, &keys, &cas, &tokens));

    // Tokens: found by id, hash and owner; a revoked token is stored again under the same id
    // and keeps one entry in each index.
    for (id, owner) in [("t2", User("p@pub".into())), ("t1", Operator), ("t3", User("p@pub".into()))] {
        write(&s, |t| t.put_token(&token(id, owner.clone())));
        tokens.push(token(id, owner));
        tokens.sort_by(|a, b| a.id.cmp(&b.id));
        read(&s, |t| check_identity(t, &keys, &cas, &tokens));
    }
    let revoked = identity::ApiToken { revoked_at: Some(at(50)), ..tokens[1].clone() };
    write(&s, |t| t.put_token(&revoked));
    tokens[1] = revoked;
    read(&s, |t| check_identity(t, &keys, &cas, &tokens));

    // All of it is there after opening again.
    drop(s);
    let s = open(dir.path());
    read(&s, |t| check_identity(t, &keys, &cas, &tokens));
}

#[test]
fn redb_keeps_identity_records_unique_and_indexed() {
    identity_records_stay_unique_and_indexed(redb);
}

fn channel(id: u64, tenant: &str) -> delivery::Channel {
    delivery::Channel {
        id,
        tenant: tenant.into(),
        kind: delivery::ChannelKind::Webhook {
            url: format!("https://hooks.example.com/{id}"),
            format: delivery::WebhookFormat::Jitdesk,
            secret: delivery::Secret(format!("key {id}")),
        },
        added_by: "operator:root".into(),
        added: at(id as i64),
    }
}

fn queued(id: u64, channel: u64, tenant: &str, to: Option<&str>, next: i64) -> delivery::Delivery {
    delivery::Delivery {
        id,
        channel,
        tenant: tenant.into(),
        to: to.map(str::to_string),
        audit: 1,
        kind: delivery::NoticeKind::ToDecide,
        queued: at(0),
        next_at: at(next),
        attempts: 0,
        state: delivery::DeliveryState::Queued,
        last_error: None,
    }
}

/// Every list of the outbox agrees with `model` (its deliveries by id): each scope newest first,
/// walked one at a time; the failed lists; what is due, earliest first; the queued mail.
fn check_outbox(t: &dyn Reads, model: &BTreeMap<u64, delivery::Delivery>) -> jitdesk::Result<()> {
    use delivery::{DeliveryFilter, DeliveryScope, DeliveryState};
    let scopes = [
        (DeliveryScope::All, None, None),
        (DeliveryScope::Tenant("cust".into()), Some("cust"), None),
        (DeliveryScope::Tenant("pub".into()), Some("pub"), None),
        (DeliveryScope::To("a@cust".into()), None, Some("a@cust")),
        (DeliveryScope::To("p@pub".into()), None, Some("p@pub")),
    ];
    for (scope, tenant, to) in scopes {
        for failed_only in [false, true] {
            let filter = DeliveryFilter { failed_only };
            let listed: Vec<u64> = walk(
                1,
                |d: &delivery::Delivery| d.id,
                |p| t.deliveries(&scope, filter, &p).expect("a delivery list"),
            )
            .iter()
            .map(|d| d.id)
            .collect();
            let expected: Vec<u64> = model
                .values()
                .rev()
                .filter(|d| {
                    tenant.is_none_or(|x| d.tenant == x) && to.is_none_or(|x| d.to.as_deref() == Some(x))
                })
                .filter(|d| !failed_only || matches!(d.state, DeliveryState::Failed { .. }))
                .map(|d| d.id)
                .collect();
            assert_eq!(listed, expected, "{scope:?} failed only: {failed_only}");
        }
    }
    for d in model.values() {
        assert_eq!(t.delivery(d.id)?.as_ref(), Some(d));
    }
    let mut due: Vec<&delivery::Delivery> =
        model.values().filter(|d| d.state == DeliveryState::Queued).collect();
    due.sort_by_key(|d| (d.next_at, d.id));
    assert_eq!(t.next_delivery_at()?, due.first().map(|d| d.next_at.timestamp_millis()));
    let until = |secs| due.iter().filter(|d| d.next_at <= at(secs)).map(|d| d.id).collect::<Vec<_>>();
    for secs in [0, 10, 100] {
        let found: Vec<u64> = t.due_deliveries(at(secs), 100)?.iter().map(|d| d.id).collect();
        assert_eq!(found, until(secs), "due at {secs}");
    }
    assert!(t.due_deliveries(at(100), 1)?.len() <= 1, "a batch is bounded");
    let mail: Vec<u64> = model
        .values()
        .filter(|d| d.state == DeliveryState::Queued && d.to.as_deref() == Some("a@cust") && d.channel == 1)
        .map(|d| d.id)
        .collect();
    assert_eq!(t.queued_mail("a@cust", 1, 100)?.iter().map(|d| d.id).collect::<Vec<_>>(), mail);
    Ok(())
}

fn outbox_records_stay_indexed(open: Open) {
    use delivery::DeliveryState;
    let dir = folder();
    let s = open(dir.path());
    write(&s, directory);

    // Channels: listed per tenant in id order with a cursor; ids are never given twice, even
    // after the newest channel is removed.
    assert_eq!(write(&s, |t| t.next_channel_id()), 1);
    for (id, tenant) in [(1, "cust"), (2, "pub"), (3, "cust")] {
        write(&s, |t| t.put_channel(&channel(id, tenant)));
    }
    let walked = walk(1, |c: &delivery::Channel| c.id, |p| read(&s, |t| t.channels_of("cust", &p)));
    assert_eq!(walked, [channel(1, "cust"), channel(3, "cust")]);
    assert_eq!(read(&s, |t| t.channel(2)), Some(channel(2, "pub")));
    write(&s, |t| t.remove_channel(3));
    assert_eq!(read(&s, |t| t.channels_of("cust", &Paging::default())).items, [channel(1, "cust")]);
    assert_eq!(read(&s, |t| t.channel(3)), None);
    assert_eq!(write(&s, |t| t.next_channel_id()), 4, "a removed channel's id is not given again");

    // Contacts round-trip and are replaced whole.
    let contact = delivery::Contact {
        email: Some("a@cust.example".into()),
        muted: vec![delivery::NoticeKind::Started],
        digest_minutes: Some(15),
    };
    assert_eq!(read(&s, |t| t.contact("a@cust")), None);
    write(&s, |t| t.put_contact("a@cust", &contact));
    assert_eq!(read(&s, |t| t.contact("a@cust")), Some(contact.clone()));
    write(&s, |t| t.put_contact("a@cust", &delivery::Contact::default()));
    assert_eq!(read(&s, |t| t.contact("a@cust")), Some(delivery::Contact::default()));

    // Deliveries: every list agrees with the records after each change of state.
    let mut model = BTreeMap::new();
    read(&s, |t| check_outbox(t, &model));
    let first = [
        queued(1, 1, "cust", Some("a@cust"), 10),
        queued(2, 1, "cust", None, 5),
        queued(3, 2, "pub", Some("p@pub"), 20),
        queued(4, 1, "cust", Some("a@cust"), 10),
    ];
    for d in first {
        assert_eq!(write(&s, |t| t.next_delivery_id()), d.id);
        write(&s, |t| t.save_delivery(None, &d));
        model.insert(d.id, d);
        read(&s, |t| check_outbox(t, &model));
    }
    let changes = [
        delivery::Delivery { state: DeliveryState::Sent { at: at(6) }, attempts: 1, ..model[&2].clone() },
        delivery::Delivery {
            next_at: at(50),
            attempts: 1,
            last_error: Some("down".into()),
            ..model[&1].clone()
        },
        delivery::Delivery { state: DeliveryState::Failed { at: at(60) }, attempts: 2, ..model[&1].clone() },
        delivery::Delivery { state: DeliveryState::Failed { at: at(60) }, attempts: 1, ..model[&3].clone() },
    ];
    for new in changes {
        let old = model[&new.id].clone();
        write(&s, |t| t.save_delivery(Some(&old), &new));
        model.insert(new.id, new);
        read(&s, |t| check_outbox(t, &model));
    }

    // Pruning deletes the oldest settled deliveries from every list, a bounded number at a time,
    // and never the newest, whose id the next one follows.
    assert_eq!(write(&s, |t| t.prune_deliveries(at(61), 1)), 1);
    model.remove(&1);
    read(&s, |t| check_outbox(t, &model));
    assert_eq!(write(&s, |t| t.prune_deliveries(at(7), 10)), 1, "only what was settled before");
    model.remove(&2);
    read(&s, |t| check_outbox(t, &model));
    assert_eq!(write(&s, |t| t.prune_deliveries(at(61), 10)), 1, "the settled, not the queued newest");
    model.remove(&3);
    read(&s, |t| check_outbox(t, &model));
    let sent = delivery::Delivery { state: DeliveryState::Sent { at: at(70) }, ..model[&4].clone() };
    write(&s, |t| t.save_delivery(Some(&model[&4]), &sent));
    model.insert(4, sent);
    assert_eq!(write(&s, |t| t.prune_deliveries(at(100), 10)), 0, "never the newest");
    assert_eq!(write(&s, |t| t.next_delivery_id()), 5);
    read(&s, |t| check_outbox(t, &model));

    // Whom a change was told to is found from its record.
    write(&s, |t| {
        t.append_audit(&audit(1, Some("app1"), Target::Request(1)))?;
        t.add_notification("q@pub", 1)?;
        t.add_notification("a@cust", 1)
    });
    assert_eq!(read(&s, |t| t.notified_of(1, 10)), ["a@cust", "q@pub"]);
    assert_eq!(read(&s, |t| t.notified_of(1, 1)), ["a@cust"], "bounded");
    assert_eq!(read(&s, |t| t.audit_record(1)).map(|r| r.id), Some(1));

    // All of it is there after opening again, and counted.
    drop(s);
    let s = open(dir.path());
    read(&s, |t| check_outbox(t, &model));
    assert_eq!(read(&s, |t| t.channels_of("cust", &Paging::default())).items, [channel(1, "cust")]);
    let info = s.info().expect("the store says what it holds");
    let entries = |name: &str| info.tables.iter().find(|t| t.name == name).map(|t| t.entries);
    assert_eq!(entries("deliveries"), Some(1), "the pruned are gone");
    assert_eq!(entries("channels"), Some(2));
    assert_eq!(entries("contacts"), Some(1));
}

#[test]
fn redb_keeps_outbox_records_indexed() {
    outbox_records_stay_indexed(redb);
}

/// ARM's names find their records whatever the case of their letters, and follow a record that
/// changes its id: the old id finds nothing.
fn arm_names_find_their_records(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    let name = ArmName { subscription: "Sub-1".into(), resource_group: "RG".into(), name: "Jit-A".into() };
    write(&s, |t| {
        directory(t)?;
        t.put_app(&app("app1"))?;
        t.save_request(None, &AccessRequest { arm: Some(name.clone()), ..pending(1, "app1", "q@pub", 0) })?;
        t.save_request(None, &pending(2, "app1", "r@pub", 0))
    });
    let shouted = ArmName {
        subscription: name.subscription.to_uppercase(),
        resource_group: name.resource_group.to_lowercase(),
        name: name.name.to_uppercase(),
    };
    assert_eq!(read(&s, |t| t.request_by_arm_name(&shouted)).map(|r| r.id), Some(1));
    let other = ArmName { name: "jit-b".into(), ..name.clone() };
    assert_eq!(read(&s, |t| t.request_by_arm_name(&other)), None);

    let id = arm_ids::application_id("cust", "app1");
    assert_eq!(read(&s, |t| t.app_by_resource_id(&id.to_uppercase())).map(|a| a.name), Some("app1".into()));
    let moved_id = "/subscriptions/s2/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1";
    write(&s, |t| t.put_app(&Application { resource_id: moved_id.into(), ..app("app1") }));
    assert_eq!(read(&s, |t| t.app_by_resource_id(&id)), None, "the old id is let go");
    assert_eq!(read(&s, |t| t.app_by_resource_id(moved_id)).map(|a| a.name), Some("app1".into()));

    let q = arm_ids::user_guid("q@pub");
    assert_eq!(read(&s, |t| t.user_by_object_id(&q)).map(|u| u.upn), Some("q@pub".into()));
    let given = "2a5c8b04-7e1f-4b6d-9c3e-0f8a1d2b3c4e";
    write(&s, |t| t.put_user(&User { object_id: given.into(), ..user("q@pub", "pub", None) }));
    assert_eq!(read(&s, |t| t.user_by_object_id(&q)), None, "the old id is let go");
    assert_eq!(read(&s, |t| t.user_by_object_id(given)).map(|u| u.upn), Some("q@pub".into()));

    drop(s);
    let s = open(dir.path());
    assert_eq!(read(&s, |t| t.request_by_arm_name(&name)).map(|r| r.id), Some(1), "kept on reopening");
}

#[test]
fn redb_finds_records_by_their_arm_names() {
    arm_names_find_their_records(redb);
}

fn group(id: &str, tenant: &str) -> Group {
    Group {
        id: id.into(),
        display_name: format!("{id} people"),
        tenant: tenant.into(),
        object_id: arm_ids::group_guid(id),
    }
}

/// Groups round-trip and list in id order (one tenant's when asked), their object ids follow them,
/// and membership is kept both ways round: a group's members page in UPN order, a user's groups
/// name each group once, and a member taken out is gone from both, across reopening.
fn groups_keep_their_members_both_ways(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    write(&s, |t| {
        for g in [group("ops", "cust"), group("dev", "cust"), group("sec", "other")] {
            t.put_group(&g)?;
        }
        for (g, upn) in [("ops", "b@cust"), ("ops", "a@cust"), ("ops", "c@cust"), ("dev", "a@cust")] {
            t.add_member(g, upn)?;
        }
        t.add_member("ops", "a@cust")
    });
    let ids = |page: Page<Group>| page.items.into_iter().map(|g| g.id).collect::<Vec<_>>();
    assert_eq!(ids(read(&s, |t| t.groups(None, &Paging::default()))), ["dev", "ops", "sec"]);
    assert_eq!(ids(read(&s, |t| t.groups(Some("cust"), &Paging::default()))), ["dev", "ops"]);
    let first = read(&s, |t| t.groups(None, &Paging::first(1)));
    assert_eq!(first.next().as_deref(), Some("dev"));
    let rest = read(&s, |t| t.groups(None, &Paging { limit: Some(5), after: first.next() }));
    assert_eq!(ids(rest), ["ops", "sec"]);
    assert_eq!(read(&s, |t| t.group("ops")), Some(group("ops", "cust")));
    let guid = arm_ids::group_guid("ops");
    assert_eq!(read(&s, |t| t.group_by_object_id(&guid)).map(|g| g.id), Some("ops".into()));

    let members = read(&s, |t| t.members_of("ops", &Paging::first(2)));
    assert_eq!(
        (members.items.as_slice(), members.more),
        (&["a@cust".to_string(), "b@cust".into()][..], true)
    );
    let after = Paging { limit: Some(5), after: members.next() };
    assert_eq!(read(&s, |t| t.members_of("ops", &after)).items, ["c@cust"]);
    assert_eq!(read(&s, |t| t.groups_of("a@cust")), ["dev", "ops"], "each group once");

    let given = "2a5c8b04-7e1f-4b6d-9c3e-0f8a1d2b3c4e";
    write(&s, |t| {
        t.remove_member("ops", "a@cust")?;
        t.remove_member("ops", "nobody@cust")?;
        t.put_group(&Group { object_id: given.into(), ..group("ops", "cust") })
    });
    assert_eq!(read(&s, |t| t.group_by_object_id(&guid)), None, "the old object id is let go");
    drop(s);
    let s = open(dir.path());
    assert_eq!(read(&s, |t| t.group_by_object_id(given)).map(|g| g.id), Some("ops".into()));
    assert_eq!(read(&s, |t| t.groups_of("a@cust")), ["dev"]);
    assert_eq!(read(&s, |t| t.members_of("ops", &Paging::default())).items, ["b@cust", "c@cust"]);
}

#[test]
fn redb_keeps_group_members_both_ways() {
    groups_keep_their_members_both_ways(redb);
}

// ---- run against PostgreSQL ----
// `copy_into` is redb's file copy: a PostgreSQL store refuses it (pg_dump backs it up), so the
// copy property runs against redb alone.

#[test]
fn pg_counts_what_it_holds() {
    on_pg(upkeep_counts_what_is_held);
}

#[test]
fn pg_round_trips_every_operation() {
    on_pg(every_operation_round_trips);
}

#[test]
fn pg_lists_come_in_order_and_cursors_walk_on() {
    on_pg(lists_come_in_order_and_cursors_walk_on);
}

#[test]
fn pg_windows_hold_their_start_and_not_their_end() {
    on_pg(windows_hold_their_start_and_not_their_end);
}

#[test]
fn pg_keeps_ids_and_keys_unique() {
    on_pg(ids_and_keys_are_unique);
}

#[test]
fn pg_indexes_agree_with_the_records_after_every_write() {
    on_pg(indexes_agree_with_the_records_after_every_write);
}

#[test]
fn pg_keeps_everything_when_opened_again() {
    on_pg(reopening_keeps_everything);
}

#[test]
fn pg_readers_beside_a_writer_see_each_write_whole() {
    on_pg(readers_beside_a_writer_see_each_write_whole);
}

#[test]
fn pg_keeps_nothing_of_a_failed_write() {
    on_pg(a_failed_write_keeps_nothing);
}

#[test]
fn pg_opens_again_after_a_failure_and_lets_go_of_a_damaged_store() {
    on_pg(reopening_after_a_failure_and_letting_go);
}

#[test]
fn pg_owes_a_warning_once_per_grant() {
    on_pg(a_warning_is_owed_once_per_grant);
}

#[test]
fn pg_keeps_identity_records_unique_and_indexed() {
    on_pg(identity_records_stay_unique_and_indexed);
}

#[test]
fn pg_keeps_outbox_records_indexed() {
    on_pg(outbox_records_stay_indexed);
}

#[test]
fn pg_finds_records_by_their_arm_names() {
    on_pg(arm_names_find_their_records);
}

#[test]
fn pg_keeps_group_members_both_ways() {
    on_pg(groups_keep_their_members_both_ways);
}

/// A span of the audit log reads as its records one by one would: the ids that exist, in order,
/// each with whom it was told to, cut at the limit in UPN order.
fn an_audit_span_reads_as_its_records_one_by_one(open: Open) {
    let dir = folder();
    let s = open(dir.path());
    write(&s, |t| {
        for id in [1, 2, 3, 5, 6] {
            t.append_audit(&audit(id, Some("app1"), Target::Request(id)))?;
        }
        for (to, id) in [("zoe@cust", 2), ("amy@cust", 2), ("bob@cust", 2), ("amy@cust", 5), ("amy@cust", 9)]
        {
            t.add_notification(to, id)?;
        }
        Ok(())
    });
    let one_by_one = |first: u64, last: u64, limit: usize| {
        read(&s, |t| {
            let mut span = Vec::new();
            for id in first..=last {
                if let Some(record) = t.audit_record(id)? {
                    span.push((record, t.notified_of(id, limit)?));
                }
            }
            Ok(span)
        })
    };
    for (first, last, limit) in [(1, 6, 10), (2, 2, 2), (2, 5, 1), (4, 4, 10), (5, 9, 10), (7, 9, 10)] {
        let span = read(&s, |t| t.audit_span(first, last, limit));
        assert_eq!(span, one_by_one(first, last, limit), "{first}..={last}, at most {limit}");
    }
    let span = read(&s, |t| t.audit_span(1, 6, 2));
    let ids: Vec<u64> = span.iter().map(|(r, _)| r.id).collect();
    assert_eq!(ids, [1, 2, 3, 5, 6], "the ids that exist, in order");
    assert_eq!(span[1].1, ["amy@cust", "bob@cust"], "cut at the limit, in UPN order");
    assert_eq!(span[3].1, ["amy@cust"]);
}

#[test]
fn redb_reads_an_audit_span_as_its_records_one_by_one() {
    an_audit_span_reads_as_its_records_one_by_one(redb);
}

#[test]
fn pg_reads_an_audit_span_as_its_records_one_by_one() {
    on_pg(an_audit_span_reads_as_its_records_one_by_one);
}
