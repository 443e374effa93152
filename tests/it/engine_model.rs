//! A state-machine test: random sequences of commands and clock moves against a real engine, checked
//! after every step against a small model of what each request should be; on redb, and on
//! PostgreSQL (tests/common/pg.rs), so both backends behave alike under the engine.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::Config;

use jitdesk::domain::rules::{
    AccessStatus, Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser, PolicyChange,
};
use jitdesk::domain::{
    AccessRequest, Action, ApprovalMode, ErrorKind, License, Period, RequestState, TenantKind,
};
use jitdesk::engine::{Batch, Cancel, Decide, Engine, ManualClock, Revoke, SetPolicy, Viewer};
use jitdesk::engine::{OpenMode, RequestFilter};

/// Ann and Abe are admins of the customer tenant and the approvers of the manual application; Carl is
/// a plain customer user; Pat and Paul are publisher users.
const USERS: [&str; 5] =
    ["ann@contoso.com", "abe@contoso.com", "carl@contoso.com", "pat@fabrikam.com", "paul@fabrikam.com"];
const ADMINS: [usize; 2] = [0, 1];
const PUBLISHERS: [usize; 2] = [3, 4];
/// App 0 starts with manual approval by Ann or Abe; app 1 approves automatically and has no approvers, so
/// it can never switch to manual. Both start with the default maximum of 8 hours.
const APPS: [&str; 2] = ["manual", "auto"];
const MANUAL: usize = 0;
/// How long each application's requests may wait for a decision; short on the manual one, so that
/// timeouts happen within a few clock moves.
const TIMEOUT_HOURS: [i64; 2] = [6, 24];

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, 1, 9, 0, 0).unwrap()
}

/// Which of the requests made so far a command is about.
#[derive(Debug, Clone, Copy)]
enum Pick {
    Latest,
    Any(usize),
}

/// Who acts on an existing request.
#[derive(Debug, Clone, Copy)]
enum Who {
    Requester,
    User(usize),
}

#[derive(Debug, Clone)]
enum Op {
    Create { app: usize, by: usize, hours: i64, start_in_minutes: Option<i64> },
    Decide { pick: Pick, by: Who, approve: bool },
    Cancel { pick: Pick, by: Who },
    Revoke { pick: Pick, by: Who },
    SetMax { app: usize, hours: i64 },
    SetMode { app: usize, auto: bool },
    Advance { minutes: i64 },
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![Just(Pick::Latest), any::<usize>().prop_map(Pick::Any)]
}

fn anyone() -> impl Strategy<Value = Who> {
    prop_oneof![Just(Who::Requester), (0..USERS.len()).prop_map(Who::User)]
}

/// Mostly the people who may act, so that most commands get through; anyone else now and then.
fn op() -> impl Strategy<Value = Op> {
    let requester = prop_oneof![4 => prop::sample::select(PUBLISHERS.to_vec()), 1 => 0..USERS.len()];
    let approver =
        || prop_oneof![3 => prop::sample::select(ADMINS.to_vec()).prop_map(Who::User), 1 => anyone()];
    let start = prop_oneof![Just(None), (0..=180i64).prop_map(Some)];
    prop_oneof![
        4 => (0..2usize, requester, 1..=12i64, start)
            .prop_map(|(app, by, hours, start_in_minutes)| Op::Create { app, by, hours, start_in_minutes }),
        3 => (pick(), approver(), any::<bool>())
            .prop_map(|(pick, by, approve)| Op::Decide { pick, by, approve }),
        1 => (pick(), prop_oneof![3 => Just(Who::Requester), 1 => anyone()])
            .prop_map(|(pick, by)| Op::Cancel { pick, by }),
        1 => (pick(), approver()).prop_map(|(pick, by)| Op::Revoke { pick, by }),
        1 => (0..2usize, 1..=10i64).prop_map(|(app, hours)| Op::SetMax { app, hours }),
        1 => (0..2usize, any::<bool>()).prop_map(|(app, auto)| Op::SetMode { app, auto }),
        2 => prop_oneof![0..=90i64, 0..=600i64].prop_map(|minutes| Op::Advance { minutes }),
    ]
}

/// What the model expects of one request.
#[derive(Debug, Clone)]
struct Req {
    id: u64,
    app: usize,
    by: usize,
    start: DateTime<Utc>,
    duration: TimeDelta,
    decide_by: DateTime<Utc>,
    /// The application's maximum when the request was made.
    max_then: Period,
    state: RequestState,
    granted_from: Option<DateTime<Utc>>,
    started: bool,
    /// Whether its requester was told that its access ends soon.
    warned: bool,
    /// Every audit action its history must show, in order.
    actions: Vec<Action>,
}

impl Req {
    fn end(&self) -> Option<DateTime<Utc>> {
        self.granted_from.map(|from| from + self.duration)
    }

    fn approve(&mut self, now: DateTime<Utc>) {
        let from = self.start.max(now);
        self.state = RequestState::Approved;
        self.granted_from = Some(from);
        self.started = from <= now;
        self.actions.push(Action::RequestApproved);
    }

    /// Every deadline that has come, in the order the ticker meets them.
    fn catch_up(&mut self, now: DateTime<Utc>) {
        loop {
            match self.state {
                RequestState::Pending if self.decide_by <= now => {
                    self.state = RequestState::Timeout;
                    self.actions.push(Action::RequestTimedOut);
                }
                RequestState::Approved if !self.started && self.granted_from.is_some_and(|f| f <= now) => {
                    self.started = true;
                    self.actions.push(Action::AccessStarted);
                }
                RequestState::Approved if self.started && self.end().is_some_and(|e| e <= now) => {
                    self.state = RequestState::Expired;
                    self.actions.push(Action::AccessExpired);
                }
                _ => break,
            }
        }
        // Once, ten minutes before the end, while the access still runs (every grant here is
        // longer than ten minutes).
        let warning = self.end().map(|e| e - TimeDelta::minutes(10));
        if !self.warned && self.active(now) && warning.is_some_and(|w| w <= now) {
            self.warned = true;
            self.actions.push(Action::AccessEndingSoon);
        }
    }

    fn active(&self, now: DateTime<Utc>) -> bool {
        self.state == RequestState::Approved
            && self.granted_from.is_some_and(|f| f <= now)
            && self.end().is_some_and(|e| now < e)
    }
}

struct Model {
    now: DateTime<Utc>,
    max: [Period; 2],
    auto: [bool; 2],
    reqs: Vec<Req>,
}

type Expect = Result<(), ErrorKind>;

impl Model {
    fn pick(&self, pick: Pick) -> Option<usize> {
        let n = self.reqs.len();
        match pick {
            _ if n == 0 => None,
            Pick::Latest => Some(n - 1),
            Pick::Any(i) => Some(i % n),
        }
    }

    /// The acting user; with no request to act on, the requester stands for Pat.
    fn who(&self, target: Option<usize>, who: Who) -> usize {
        match (who, target) {
            (Who::User(u), _) => u,
            (Who::Requester, Some(i)) => self.reqs[i].by,
            (Who::Requester, None) => PUBLISHERS[0],
        }
    }

    fn predict_create(&self, app: usize, by: usize, hours: i64) -> Expect {
        if !PUBLISHERS.contains(&by) {
            return Err(ErrorKind::Forbidden);
        }
        if Period::from_hours(hours) > self.max[app] {
            return Err(ErrorKind::Invalid);
        }
        if self.reqs.iter().any(|r| r.app == app && r.by == by && r.state == RequestState::Pending) {
            return Err(ErrorKind::Conflict);
        }
        Ok(())
    }

    fn predict_decide(&self, r: &Req, by: usize, approve: bool) -> Expect {
        if by == r.by || r.app != MANUAL || !ADMINS.contains(&by) {
            return Err(ErrorKind::Forbidden);
        }
        if r.state != RequestState::Pending || self.now >= r.decide_by {
            return Err(ErrorKind::Conflict);
        }
        // Approval follows the maximum in force now, not the one the request was made under.
        if approve && Period::from_secs(r.duration.num_seconds()) > self.max[r.app] {
            return Err(ErrorKind::Conflict);
        }
        Ok(())
    }

    fn predict_cancel(&self, r: &Req, by: usize) -> Expect {
        if by != r.by {
            return Err(ErrorKind::Forbidden);
        }
        if r.state != RequestState::Pending {
            return Err(ErrorKind::Conflict);
        }
        Ok(())
    }

    fn predict_revoke(&self, r: &Req, by: usize) -> Expect {
        // Ann and Abe are both admins of the customer tenant and the manual app's approvers.
        if !ADMINS.contains(&by) {
            return Err(ErrorKind::Forbidden);
        }
        if r.state != RequestState::Approved || r.end().is_some_and(|e| e <= self.now) {
            return Err(ErrorKind::Conflict);
        }
        Ok(())
    }
}

fn actor(i: usize) -> Actor {
    Actor::User(USERS[i].to_string())
}

fn outcome<T>(result: &jitdesk::Result<T>) -> Expect {
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(e.kind().unwrap_or_else(|| panic!("store failure, not a rule: {e}"))),
    }
}

async fn directory(engine: &Engine) {
    let op = Actor::Operator("model".into());
    let tenants = vec![
        (
            op.clone(),
            NewTenant {
                id: "contoso".into(),
                kind: TenantKind::Customer,
                name: None,
                license: Some(License::P2),
            },
        ),
        (
            op.clone(),
            NewTenant { id: "fabrikam".into(), kind: TenantKind::Publisher, name: None, license: None },
        ),
    ];
    let users = USERS
        .iter()
        .enumerate()
        .map(|(i, upn)| {
            let tenant = if PUBLISHERS.contains(&i) { "fabrikam" } else { "contoso" };
            let user = NewUser {
                upn: upn.to_string(),
                tenant: tenant.into(),
                name: None,
                admin: ADMINS.contains(&i),
                login: None,
                object_id: None,
            };
            (op.clone(), user)
        })
        .collect();
    let offer = NewOffer {
        id: "vault".into(),
        name: "Vault".into(),
        jit_available: true,
        roles: vec!["Owner".into(), "Contributor".into()],
    };
    let apps = vec![
        (
            actor(0),
            Deployment {
                name: APPS[0].into(),
                offer: "vault".into(),
                mode: Some(ApprovalMode::ManualApprove),
                approvers: ADMINS.iter().map(|&i| USERS[i].to_string()).collect(),
                request_timeout: Some(Period::from_hours(TIMEOUT_HOURS[0])),
                ..Deployment::default()
            },
        ),
        (
            actor(0),
            Deployment {
                name: APPS[1].into(),
                offer: "vault".into(),
                request_timeout: Some(Period::from_hours(TIMEOUT_HOURS[1])),
                ..Deployment::default()
            },
        ),
    ];
    for r in engine.run(&op, Batch(tenants)).await.unwrap() {
        r.unwrap();
    }
    for r in engine.run(&op, Batch(users)).await.unwrap() {
        r.unwrap();
    }
    engine.run(&actor(3), offer).await.unwrap();
    for r in engine.run(&op, Batch(apps)).await.unwrap() {
        r.unwrap();
    }
}

/// Lets the store thread finish everything due at the clock's time. One `sync` must be enough, even
/// for a scheduled grant whose whole window has passed (start, then expiry).
async fn settle(engine: &Engine) {
    engine.sync().await.unwrap();
}

/// Runs `ops` on a new store at `store` (a redb file or a PostgreSQL database), checking the model
/// after each.
async fn run_case(ops: Vec<Op>, store: &Path) {
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = Engine::open(store, OpenMode::Create, clock.clone()).await.unwrap();
    directory(&engine).await;
    let eight = Period::from_hours(8);
    let mut m = Model { now: t0(), max: [eight, eight], auto: [false, true], reqs: Vec::new() };
    let mut seen: HashMap<u64, RequestState> = HashMap::new();

    for (step, op) in ops.iter().enumerate() {
        let ctx = format!("step {step}: {op:?}");
        let changed: Vec<usize> = match op.clone() {
            Op::Create { app, by, hours, start_in_minutes } => {
                let expect = m.predict_create(app, by, hours);
                let start = start_in_minutes.map(|min| m.now + TimeDelta::minutes(min));
                let input = NewRequest {
                    app: APPS[app].into(),
                    roles: vec!["Contributor".into()],
                    start,
                    duration: Period::from_hours(hours),
                    justification: "model".into(),
                    ticket: None,
                };
                let got = engine.run(&actor(by), input).await;
                assert_eq!(outcome(&got), expect, "{ctx}: {got:?}");
                match got {
                    Ok(r) => {
                        assert!(m.reqs.iter().all(|q| q.id < r.id), "{ctx}: ids grow");
                        let mut q = Req {
                            id: r.id,
                            app,
                            by,
                            start: start.unwrap_or(m.now),
                            duration: TimeDelta::hours(hours),
                            decide_by: m.now + TimeDelta::hours(TIMEOUT_HOURS[app]),
                            max_then: m.max[app],
                            state: RequestState::Pending,
                            granted_from: None,
                            started: false,
                            warned: false,
                            actions: vec![Action::RequestCreated],
                        };
                        if m.auto[app] {
                            q.approve(m.now);
                        }
                        m.reqs.push(q);
                        vec![m.reqs.len() - 1]
                    }
                    Err(_) => vec![],
                }
            }
            Op::Decide { pick, by, approve } => {
                let target = m.pick(pick);
                let by = m.who(target, by);
                let id = target.map_or(9999, |i| m.reqs[i].id);
                let expect =
                    target.map_or(Err(ErrorKind::NotFound), |i| m.predict_decide(&m.reqs[i], by, approve));
                let got = engine.run(&actor(by), Decide { id, approve, reason: "model".into() }).await;
                assert_eq!(outcome(&got), expect, "{ctx}: {got:?}");
                match (got, target) {
                    (Ok(_), Some(i)) => {
                        let now = m.now;
                        let q = &mut m.reqs[i];
                        if approve {
                            q.approve(now);
                        } else {
                            q.state = RequestState::Denied;
                            q.actions.push(Action::RequestDenied);
                        }
                        vec![i]
                    }
                    _ => vec![],
                }
            }
            Op::Cancel { pick, by } => {
                let target = m.pick(pick);
                let by = m.who(target, by);
                let id = target.map_or(9999, |i| m.reqs[i].id);
                let expect = target.map_or(Err(ErrorKind::NotFound), |i| m.predict_cancel(&m.reqs[i], by));
                let got = engine.run(&actor(by), Cancel { id }).await;
                assert_eq!(outcome(&got), expect, "{ctx}: {got:?}");
                match (got, target) {
                    (Ok(_), Some(i)) => {
                        m.reqs[i].state = RequestState::Canceled;
                        m.reqs[i].actions.push(Action::RequestCanceled);
                        vec![i]
                    }
                    _ => vec![],
                }
            }
            Op::Revoke { pick, by } => {
                let target = m.pick(pick);
                let by = m.who(target, by);
                let id = target.map_or(9999, |i| m.reqs[i].id);
                let expect = target.map_or(Err(ErrorKind::NotFound), |i| m.predict_revoke(&m.reqs[i], by));
                let got = engine.run(&actor(by), Revoke { id, reason: "model".into() }).await;
                assert_eq!(outcome(&got), expect, "{ctx}: {got:?}");
                match (got, target) {
                    (Ok(_), Some(i)) => {
                        m.reqs[i].state = RequestState::Revoked;
                        m.reqs[i].actions.push(Action::AccessRevoked);
                        vec![i]
                    }
                    _ => vec![],
                }
            }
            Op::SetMax { app, hours } => {
                let change =
                    PolicyChange { max_duration: Some(Period::from_hours(hours)), ..PolicyChange::default() };
                let got = engine.run(&actor(1), SetPolicy { app: APPS[app].into(), change }).await;
                assert_eq!(
                    got.as_ref().map(|a| a.policy.max_duration).ok(),
                    Some(Period::from_hours(hours)),
                    "{ctx}: {got:?}"
                );
                m.max[app] = Period::from_hours(hours);
                // The change judges the application's pending requests again: those over the new
                // maximum are denied by the system.
                let mut denied = Vec::new();
                for (i, q) in m.reqs.iter_mut().enumerate() {
                    if q.app == app
                        && q.state == RequestState::Pending
                        && q.duration > TimeDelta::hours(hours)
                    {
                        q.state = RequestState::Denied;
                        q.actions.push(Action::RequestDenied);
                        denied.push(i);
                    }
                }
                denied
            }
            Op::SetMode { app, auto } => {
                let mode = if auto { ApprovalMode::AutoApprove } else { ApprovalMode::ManualApprove };
                let change = PolicyChange { mode: Some(mode), ..PolicyChange::default() };
                let got = engine.run(&actor(1), SetPolicy { app: APPS[app].into(), change }).await;
                // Manual approval needs an approver, and only app 0 has them.
                let expect = if !auto && app != MANUAL { Err(ErrorKind::Invalid) } else { Ok(()) };
                assert_eq!(outcome(&got), expect, "{ctx}: {got:?}");
                let mut approved = Vec::new();
                if got.is_ok() {
                    m.auto[app] = auto;
                    // Automatic mode approves what was waiting, at once.
                    let now = m.now;
                    for (i, q) in m.reqs.iter_mut().enumerate() {
                        if auto && q.app == app && q.state == RequestState::Pending {
                            q.approve(now);
                            approved.push(i);
                        }
                    }
                }
                approved
            }
            Op::Advance { minutes } => {
                clock.advance(TimeDelta::minutes(minutes));
                m.now += TimeDelta::minutes(minutes);
                let before: Vec<usize> = m.reqs.iter().map(|q| q.actions.len()).collect();
                for q in &mut m.reqs {
                    q.catch_up(m.now);
                }
                settle(&engine).await;
                (0..m.reqs.len()).filter(|&i| m.reqs[i].actions.len() != before[i]).collect()
            }
        };
        check(&engine, &m, &mut seen, &changed, &ctx).await;
    }
    let all: Vec<usize> = (0..m.reqs.len()).collect();
    check(&engine, &m, &mut seen, &all, "at the end").await;
    // The state index agrees with the records.
    for state in RequestState::ALL {
        let listed = engine
            .requests(&Viewer::Operator, RequestFilter { state: Some(state), ..RequestFilter::default() })
            .await
            .unwrap()
            .items;
        let mut ids: Vec<u64> = listed.iter().map(|r| r.id).collect();
        ids.sort();
        let want: Vec<u64> = m.reqs.iter().filter(|q| q.state == state).map(|q| q.id).collect();
        assert_eq!(ids, want, "requests listed as {state}");
    }
    engine.close().await.unwrap();
}

async fn check(
    engine: &Engine,
    m: &Model,
    seen: &mut HashMap<u64, RequestState>,
    changed: &[usize],
    ctx: &str,
) {
    let stored: BTreeMap<u64, AccessRequest> = engine
        .requests(&Viewer::Operator, RequestFilter::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    assert_eq!(stored.len(), m.reqs.len(), "{ctx}: no request appears or vanishes");

    for q in &m.reqs {
        let r = stored.get(&q.id).unwrap_or_else(|| panic!("{ctx}: request {} is missing", q.id));
        // The engine agrees with the model.
        assert_eq!(
            (r.state, r.granted_from, r.started),
            (q.state, q.granted_from, q.started),
            "{ctx}: request {}",
            q.id
        );
        assert_eq!((r.app.as_str(), r.requester.as_str()), (APPS[q.app], USERS[q.by]), "{ctx}");
        // No grant is longer than the application allowed when it was asked for.
        if r.granted_from.is_some() {
            assert!(
                r.duration <= q.max_then,
                "{ctx}: request {} grants {} over {}",
                r.id,
                r.duration,
                q.max_then
            );
        }
        // Nothing leaves a final state.
        if let Some(old) = seen.insert(r.id, r.state) {
            assert!(
                !old.is_final() || old == r.state,
                "{ctx}: request {} went from {old} to {}",
                r.id,
                r.state
            );
        }
    }

    // At most one pending request per requester and application, as the state index lists them.
    let pending = engine
        .requests(
            &Viewer::Operator,
            RequestFilter { state: Some(RequestState::Pending), ..RequestFilter::default() },
        )
        .await
        .unwrap()
        .items;
    let mut pairs = HashSet::new();
    for r in &pending {
        assert_eq!(r.state, RequestState::Pending, "{ctx}");
        assert!(
            pairs.insert((r.requester.clone(), r.app.clone())),
            "{ctx}: two pending requests of {} on {}",
            r.requester,
            r.app
        );
    }

    // Access is active exactly when an approved window covers now.
    for (a, app) in APPS.iter().enumerate() {
        for (u, upn) in USERS.iter().enumerate() {
            let status = engine.access_check(&Viewer::Operator, app, upn).await.unwrap();
            let active: Vec<&Req> =
                m.reqs.iter().filter(|q| q.app == a && q.by == u && q.active(m.now)).collect();
            match status {
                AccessStatus::Active { request, until } => {
                    let longest = active.iter().filter_map(|q| q.end()).max();
                    assert_eq!(Some(until), longest, "{ctx}: {upn} on {app}");
                    assert!(
                        active.iter().any(|q| q.id == request && q.end() == Some(until)),
                        "{ctx}: {upn} on {app} via {request}"
                    );
                }
                AccessStatus::None { .. } => {
                    assert!(active.is_empty(), "{ctx}: {upn} should have access to {app}")
                }
                AccessStatus::Permanent => panic!("{ctx}: both applications use JIT"),
            }
        }
    }

    // Every change of state left its audit record, in order, and nothing else did.
    for &i in changed {
        let q = &m.reqs[i];
        let history = engine.request(&Viewer::Operator, q.id).await.unwrap().history;
        let actions: Vec<Action> = history.iter().map(|h| h.action).collect();
        assert_eq!(actions, q.actions, "{ctx}: history of request {}", q.id);
        let mut state = None;
        for h in &history {
            assert_eq!(h.before, state, "{ctx}: request {} history does not chain: {h:?}", q.id);
            assert_eq!(h.app.as_deref(), Some(APPS[q.app]), "{ctx}");
            state = h.after.clone();
        }
        assert_eq!(state, Some(q.state.to_string()), "{ctx}: the last record names the current state");
    }
}

proptest! {
    #![proptest_config(Config { cases: 64, max_shrink_iters: 500, failure_persistence: None, ..Config::default() })]

    #[test]
    fn the_engine_follows_the_model(ops in proptest::collection::vec(op(), 1..=40)) {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run_case(ops, &dir.path().join("model.redb")));
    }
}

proptest! {
    // Fewer cases: each makes a database of its own, which costs more than a file.
    #![proptest_config(Config { cases: 24, max_shrink_iters: 200, failure_persistence: None, ..Config::default() })]

    #[test]
    fn the_engine_follows_the_model_on_postgresql(ops in proptest::collection::vec(op(), 1..=40)) {
        // Made with the blocking client, before any runtime runs on this thread.
        let Some(url) = crate::common::pg::database() else { return Ok(()) };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run_case(ops, Path::new(&url)));
    }
}
