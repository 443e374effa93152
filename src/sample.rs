//! Example data for `jitdesk init --sample`: a small store that shows every rule and every request state,
//! so people can try each screen and command without inventing a directory first, and (with a scale) a
//! large one, to see how the tool behaves with years' worth of requests.
//!
//! Everything is made through the engine's own commands, under a manual clock that starts two days ago
//! and walks forward to the real now. Writing records straight into the store would be quicker, but it
//! could produce data the rules would never allow, and an audit log describing things that never
//! happened. This way every refusal rule is applied, the ticker times out and expires requests on its
//! own when the clock passes their deadlines, and the audit log tells the story exactly as it was played.

use std::collections::VecDeque;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::groups::NewGroup;
use crate::domain::rules::{Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser, PolicyChange};
use crate::domain::*;
use crate::engine::{
    AddMembers, Batch, Cancel, Clock, Command, Decide, Engine, ManualClock, Revoke, SetPolicy,
};
use crate::engine::{OpenMode, Result};

/// Long enough for requests to have expired and timed out on their own before the real now.
const HISTORY: TimeDelta = TimeDelta::hours(48);

/// Big enough that a large load is a few dozen transactions, small enough that one stays short.
const CHUNK: usize = 5_000;
/// Creation times come in steps of one chunk; fewer steps would bunch small loads into a few moments.
const MIN_CHUNKS: usize = 24;
/// With this many requesters, `scale / SYNTHETIC_USERS` applications give every request its own
/// (requester, application) pair, so the one-pending-request rule never refuses one.
const SYNTHETIC_USERS: usize = 250;
const MIN_SYNTHETIC_APPS: usize = 10;

/// What `create` made, for the line `init --sample` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tenants added to the directory.
    pub tenants: usize,
    /// Directory users added.
    pub users: usize,
    /// Offers published.
    pub offers: usize,
    /// Applications deployed.
    pub apps: usize,
    /// Requests made (decided or not).
    pub requests: usize,
    /// Synthetic commands the rules refused; the load is built so that this stays 0.
    pub refused: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} tenants, {} users, {} offers, {} applications, {} requests",
            self.tenants, self.users, self.offers, self.apps, self.requests
        )?;
        if self.refused > 0 {
            write!(f, " ({} synthetic commands refused)", self.refused)?;
        }
        Ok(())
    }
}

/// Fills an empty (or new) store at `path` with the sample, plus `scale` synthetic requests.
///
/// Refuses a store that already has data: mixing invented people into a real directory would make
/// its audit log untrue. On any other failure the store may be left half-filled; it is a new store,
/// so deleting it and trying again loses nothing.
pub async fn create(path: &Path, scale: usize) -> Result<Summary> {
    create_at(path, scale, Utc::now()).await
}

/// The same story told as if `now` were the present: fixed clocks give identical stores, which
/// screen snapshots need. Deadlines between `now` and the real present are caught up by the next open.
pub async fn create_at(path: &Path, scale: usize, now: DateTime<Utc>) -> Result<Summary> {
    let clock = Arc::new(ManualClock::new(now - HISTORY));
    let engine = Engine::open(path, OpenMode::Create, clock.clone()).await?;
    let outcome = fill(&engine, &clock, now, scale).await;
    // Closed either way, so that a refusal or a failure still leaves a store the next open needs no repair for.
    let closed = engine.close().await;
    let summary = outcome?;
    closed?;
    Ok(summary)
}

async fn fill(engine: &Engine, clock: &ManualClock, now: DateTime<Utc>, scale: usize) -> Result<Summary> {
    if !engine.is_empty().await? {
        return Err(RuleError::conflict(
            "the store already has data: --sample needs an empty store, so give a new --store path (or move this store aside first)",
        )
        .into());
    }
    let mut story = Story { engine, clock, now, summary: Summary::default(), load: None };
    story.play(scale).await?;
    story.move_to(now).await?;
    Ok(story.summary)
}

fn operator() -> Actor {
    Actor::Operator("sample".into())
}

fn user(upn: &str) -> Actor {
    Actor::User(upn.into())
}

fn ask(app: &str, role: &str, duration: TimeDelta, ticket: &str, why: &str) -> NewRequest {
    NewRequest {
        app: app.into(),
        roles: vec![role.into()],
        start: None,
        duration: Period::from_secs(duration.num_seconds()),
        // Ticket first, as service desks write it, so lists show which incident a request belongs to.
        justification: format!("{ticket}: {why}"),
        ticket: Some(ticket.into()),
    }
}

const fn hours(h: i64) -> TimeDelta {
    TimeDelta::hours(h)
}

const fn minutes(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

struct Story<'a> {
    engine: &'a Engine,
    clock: &'a ManualClock,
    /// The real now when the story began; every scene is placed relative to it.
    now: DateTime<Utc>,
    summary: Summary,
    load: Option<Load>,
}

impl Story<'_> {
    fn ago(&self, by: TimeDelta) -> DateTime<Utc> {
        self.now - by
    }

    /// Moves the story to `at`, first playing every synthetic step that falls before it, so that the
    /// clock only ever moves forward and the audit log stays in time order.
    async fn at(&mut self, at: DateTime<Utc>) -> Result<()> {
        while let Some(load) = self.load.as_mut()
            && let Some(step_at) = load.next_at()
            && step_at <= at
        {
            let step_at = step_at.max(self.clock.now());
            set_clock(self.engine, self.clock, step_at).await?;
            load.step(self.engine, &mut self.summary).await?;
        }
        self.move_to(at).await
    }

    /// Plays what is left of the synthetic load, then moves the clock to `at`.
    async fn move_to(&mut self, at: DateTime<Utc>) -> Result<()> {
        if let Some(mut load) = self.load.take() {
            while let Some(step_at) = load.next_at().filter(|t| *t <= at) {
                set_clock(self.engine, self.clock, step_at.max(self.clock.now())).await?;
                load.step(self.engine, &mut self.summary).await?;
            }
            self.load = Some(load);
        }
        set_clock(self.engine, self.clock, at.max(self.clock.now())).await
    }

    async fn run<C: Command>(&self, actor: &Actor, command: C) -> Result<C::Output> {
        self.engine.run(actor, command).await
    }

    async fn tenant(
        &mut self,
        id: &str,
        kind: TenantKind,
        name: &str,
        license: Option<License>,
    ) -> Result<()> {
        let input = NewTenant { id: id.into(), kind, name: Some(name.into()), license };
        self.run(&operator(), input).await?;
        self.summary.tenants += 1;
        Ok(())
    }

    async fn user(&mut self, upn: &str, tenant: &str, name: &str, admin: bool) -> Result<()> {
        let input = NewUser {
            upn: upn.into(),
            tenant: tenant.into(),
            name: Some(name.into()),
            admin,
            login: None,
            object_id: None,
        };
        self.run(&operator(), input).await?;
        self.summary.users += 1;
        Ok(())
    }

    async fn offer(&mut self, by: &str, input: NewOffer) -> Result<()> {
        self.run(&user(by), input).await?;
        self.summary.offers += 1;
        Ok(())
    }

    async fn deploy(&mut self, by: &str, input: Deployment) -> Result<()> {
        self.run(&user(by), input).await?;
        self.summary.apps += 1;
        Ok(())
    }

    async fn request(&mut self, by: &str, input: NewRequest) -> Result<u64> {
        let request = self.run(&user(by), input).await?;
        self.summary.requests += 1;
        Ok(request.id)
    }

    async fn decide(&self, by: &str, id: u64, approve: bool, reason: &str) -> Result<()> {
        self.run(&user(by), Decide { id, approve, reason: reason.into() }).await.map(drop)
    }

    async fn play(&mut self, scale: usize) -> Result<()> {
        self.at(self.ago(HISTORY)).await?;
        self.directory().await?;
        if scale > 0 {
            self.at(self.ago(hours(47) + minutes(40))).await?;
            self.load = Some(Load::prepare(self, scale).await?);
        }
        self.marketplace().await?;
        self.past().await?;
        self.recent().await
    }

    async fn directory(&mut self) -> Result<()> {
        self.tenant("contoso", TenantKind::Customer, "Contoso Ltd", Some(License::P2)).await?;
        // On the free licence, so that trying to deploy with JIT there shows the licence rule.
        self.tenant("northwind", TenantKind::Customer, "Northwind Traders", Some(License::Free)).await?;
        self.tenant("fabrikam", TenantKind::Publisher, "Fabrikam Software", None).await?;
        self.at(self.ago(hours(47) + minutes(50))).await?;
        self.user("alice@contoso.com", "contoso", "Alice Fischer", true).await?;
        // An approver who is not an admin: approving needs only the policy, not the directory role.
        self.user("bob@contoso.com", "contoso", "Bob Nakamura", false).await?;
        self.user("carol@contoso.com", "contoso", "Carol Okafor", true).await?;
        self.user("nadia@northwind.com", "northwind", "Nadia Petrova", true).await?;
        self.user("dave@fabrikam.com", "fabrikam", "Dave Moreau", false).await?;
        self.user("erin@fabrikam.com", "fabrikam", "Erin Lindqvist", false).await?;
        // A directory group that approves the EU application: its members decide as Bob does.
        let group = NewGroup {
            id: "contoso-approvers".into(),
            tenant: "contoso".into(),
            name: Some("Contoso approvers".into()),
            object_id: None,
        };
        self.run(&user("alice@contoso.com"), group).await?;
        let members = AddMembers {
            group: "contoso-approvers".into(),
            upns: vec!["bob@contoso.com".into(), "carol@contoso.com".into()],
        };
        self.run(&user("alice@contoso.com"), members).await.map(drop)
    }

    async fn marketplace(&mut self) -> Result<()> {
        self.at(self.ago(hours(47) + minutes(30))).await?;
        let crm = NewOffer {
            id: "fabrikam-crm".into(),
            name: "Fabrikam CRM".into(),
            jit_available: true,
            roles: vec!["Owner".into(), "Contributor".into(), "Reader".into()],
        };
        self.offer("dave@fabrikam.com", crm).await?;
        // Without JIT, to show what deploying such an offer means: permanent publisher access.
        let analytics = NewOffer {
            id: "fabrikam-analytics".into(),
            name: "Fabrikam Analytics".into(),
            jit_available: false,
            roles: Vec::new(),
        };
        self.offer("dave@fabrikam.com", analytics).await?;

        // One application per policy shape, so each behaviour can be tried.
        self.at(self.ago(hours(47))).await?;
        let production = Deployment {
            name: "contoso-crm".into(),
            offer: "fabrikam-crm".into(),
            mode: Some(ApprovalMode::ManualApprove),
            approvers: vec!["alice@contoso.com".into()],
            ..Deployment::default()
        };
        self.deploy("alice@contoso.com", production).await?;
        let dev = Deployment {
            name: "contoso-crm-dev".into(),
            offer: "fabrikam-crm".into(),
            ..Deployment::default()
        };
        self.deploy("carol@contoso.com", dev).await?;
        self.at(self.ago(hours(46) + minutes(45))).await?;
        let eu = Deployment {
            name: "contoso-crm-eu".into(),
            offer: "fabrikam-crm".into(),
            mode: Some(ApprovalMode::ManualApprove),
            max_duration: Some(Period::from_hours(4)),
            approvers: vec!["bob@contoso.com".into(), "contoso-approvers".into()],
            request_timeout: Some(Period::from_hours(2)),
            ..Deployment::default()
        };
        self.deploy("carol@contoso.com", eu).await?;
        let analytics = Deployment {
            name: "contoso-analytics".into(),
            offer: "fabrikam-analytics".into(),
            jit: Some(false),
            ..Deployment::default()
        };
        self.deploy("carol@contoso.com", analytics).await?;

        // A second approver added after deployment, so the audit log shows a policy change too.
        self.at(self.ago(hours(46))).await?;
        let change =
            PolicyChange { add_approvers: vec!["bob@contoso.com".into()], ..PolicyChange::default() };
        self.run(&user("alice@contoso.com"), SetPolicy { app: "contoso-crm".into(), change }).await.map(drop)
    }

    /// Requests that have run their course by now: one for each way a request can end.
    async fn past(&mut self) -> Result<()> {
        self.at(self.ago(hours(45))).await?;
        let id = self
            .request(
                "dave@fabrikam.com",
                ask(
                    "contoso-crm",
                    "Contributor",
                    hours(4),
                    "INC-20417",
                    "customer reports CRM sync lag, need to restart the sync worker and check the queue depth",
                ),
            )
            .await?;
        self.at(self.ago(hours(44) + minutes(40))).await?;
        self.decide("alice@contoso.com", id, true, "Matches INC-20417 raised by our service desk").await?;

        self.at(self.ago(hours(43))).await?;
        let id = self
            .request(
                "erin@fabrikam.com",
                ask("contoso-crm-eu", "Owner", hours(4), "CHG-1182", "upgrade the EU instance to CRM 5.2"),
            )
            .await?;
        self.at(self.ago(hours(42) + minutes(35))).await?;
        self.decide(
            "bob@contoso.com",
            id,
            false,
            "CHG-1182 is not approved by our change board yet; ask again after Thursday's meeting",
        )
        .await?;

        // Nobody answers within contoso-crm-eu's two-hour request timeout, so the ticker times it out.
        self.at(self.ago(hours(38))).await?;
        self.request(
            "dave@fabrikam.com",
            ask(
                "contoso-crm-eu",
                "Reader",
                hours(2),
                "INC-20455",
                "EU users see stale dashboards, need to read the function app logs",
            ),
        )
        .await?;

        // Automatic approval: approved on the spot, then expired by the ticker.
        self.at(self.ago(hours(35))).await?;
        self.request(
            "erin@fabrikam.com",
            ask(
                "contoso-crm-dev",
                "Contributor",
                hours(2),
                "CHG-1182",
                "deploy the 5.2 release candidate to dev for testing",
            ),
        )
        .await?;

        self.at(self.ago(hours(30))).await?;
        let id = self
            .request(
                "erin@fabrikam.com",
                ask(
                    "contoso-crm",
                    "Reader",
                    hours(1),
                    "INC-20488",
                    "check why the weekly export job reports partial data",
                ),
            )
            .await?;
        self.at(self.ago(hours(29) + minutes(50))).await?;
        self.run(&user("erin@fabrikam.com"), Cancel { id }).await?;

        self.at(self.ago(hours(26))).await?;
        let id = self
            .request(
                "dave@fabrikam.com",
                ask(
                    "contoso-crm",
                    "Owner",
                    hours(8),
                    "INC-20502",
                    "schema migration failed after the 5.2 upgrade, need to roll back the database",
                ),
            )
            .await?;
        self.at(self.ago(hours(25) + minutes(45))).await?;
        self.decide("bob@contoso.com", id, true, "Rollback agreed on the incident bridge").await?;
        self.at(self.ago(hours(23))).await?;
        let reason = "Rollback finished and verified; Owner access is not needed any longer";
        self.run(&user("alice@contoso.com"), Revoke { id, reason: reason.into() }).await.map(drop)
    }

    /// Requests that are still live at the real now: scheduled, active and waiting for a decision.
    async fn recent(&mut self) -> Result<()> {
        self.at(self.ago(hours(6))).await?;
        let window = ask(
            "contoso-crm",
            "Contributor",
            hours(6),
            "CHG-1207",
            "apply the 5.3 security patch in tomorrow's maintenance window",
        );
        let window = NewRequest { start: Some(self.now + hours(18)), ..window };
        let id = self.request("dave@fabrikam.com", window).await?;
        self.at(self.ago(hours(5) + minutes(30))).await?;
        self.decide("alice@contoso.com", id, true, "Inside the agreed maintenance window for CHG-1207")
            .await?;

        self.at(self.ago(hours(3))).await?;
        let id = self
            .request(
                "erin@fabrikam.com",
                ask(
                    "contoso-crm-eu",
                    "Reader",
                    hours(4),
                    "INC-20561",
                    "EU invoices stuck in processing, need to read the queue and function logs",
                ),
            )
            .await?;
        self.at(self.ago(hours(2) + minutes(40))).await?;
        self.decide("bob@contoso.com", id, true, "Read-only and tied to an open incident: fine").await?;

        self.at(self.ago(hours(2))).await?;
        self.request(
            "dave@fabrikam.com",
            ask(
                "contoso-crm-dev",
                "Contributor",
                hours(3),
                "INC-20561",
                "reproduce the stuck invoices on the dev instance",
            ),
        )
        .await?;

        // Both within the last hours and on the default 24-hour timeout, so still waiting at the real now.
        self.at(self.ago(hours(1) + minutes(30))).await?;
        self.request(
            "dave@fabrikam.com",
            ask(
                "contoso-crm",
                "Contributor",
                hours(2),
                "INC-20431",
                "nightly sync job failing, need to inspect function app logs",
            ),
        )
        .await?;
        self.at(self.ago(minutes(40))).await?;
        self.request(
            "erin@fabrikam.com",
            ask(
                "contoso-crm",
                "Reader",
                hours(1),
                "INC-20580",
                "report exports time out for the customer, need to check the app service metrics",
            ),
        )
        .await
        .map(drop)
    }
}

/// How far the clock jumps at most before the ticker looks again. The ticker stamps what it does with
/// the time it ran, so a long jump would log an expiry hours after the access really ended; a system
/// clock would have woken it on the dot. Steps where nothing is due cost no transaction.
const TICK: TimeDelta = TimeDelta::minutes(1);

/// Walks the clock forward to `at`, letting the ticker handle every deadline on the way.
async fn set_clock(engine: &Engine, clock: &ManualClock, at: DateTime<Utc>) -> Result<()> {
    let mut now = clock.now();
    while now + TICK < at {
        now += TICK;
        clock.set(now);
        engine.sync().await?;
    }
    clock.set(at);
    engine.sync().await
}

/// A small deterministic mixer (splitmix64): varied-looking synthetic data without a random number
/// dependency, and the same store on every run.
fn mix(i: usize) -> u64 {
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Picks from a non-empty list by a mixed number.
fn pick<T: Copy>(items: &[T], n: u64) -> T {
    items[(n % items.len() as u64) as usize]
}

const FIRST_NAMES: [&str; 25] = [
    "ana", "ben", "chen", "dana", "eli", "fatima", "george", "hana", "ivan", "jun", "kofi", "lena", "marco",
    "nora", "omar", "priya", "quinn", "rosa", "sam", "tara", "uma", "victor", "wei", "yara", "zoe",
];
const LAST_NAMES: [&str; 10] =
    ["kowalski", "silva", "tanaka", "okoro", "berg", "novak", "haddad", "costa", "murphy", "ito"];
const REGIONS: [&str; 4] = ["eu", "us", "apac", "uk"];

/// Ticket prefix and what the publisher wants to do.
const REASONS: [(&str, &str); 10] = [
    ("INC", "nightly sync job failing, need to inspect function app logs"),
    ("INC", "customer reports slow dashboards, need to check database DTU usage"),
    ("CHG", "rotate the API gateway certificate before it expires this week"),
    ("CHG", "deploy the hotfix for the export timeout"),
    ("INC", "storage account close to its quota, need to archive old blobs"),
    ("INC", "alerts on failed sign-ins to the admin portal, need to review the sign-in logs"),
    ("CHG", "apply the monthly OS patches to the worker VMs"),
    ("INC", "queue backlog growing, need to scale out the processing workers"),
    ("INC", "customer asked for a restore of yesterday's backup"),
    ("CHG", "update the connection string after the key rotation"),
];
const APPROVALS: [&str; 4] = [
    "Matches the open ticket",
    "OK, inside the maintenance window",
    "Agreed with the on-call engineer",
    "Fine, keep it to the ticket's scope",
];
const DENIALS: [&str; 3] = [
    "No matching ticket on our side: raise it with the service desk first",
    "Not during the quarter-end freeze",
    "Owner is more than this needs: ask for Reader",
];

/// Reader and Contributor are what most requests need, so they come up more often than Owner.
const SYNTHETIC_ROLES: [&str; 6] = ["Reader", "Reader", "Contributor", "Contributor", "Contributor", "Owner"];

/// What happens to a synthetic request on a manual application. Requests on automatic applications
/// are all approved on the spot, so the manual half carries the denials, cancellations and waiting
/// ones: over both halves this comes to about 70% approved, 15% denied, 5% canceled, 10% pending.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Approve,
    Deny,
    Cancel,
    Wait,
}

const MANUAL_FATES: [Fate; 10] = [
    Fate::Approve,
    Fate::Deny,
    Fate::Approve,
    Fate::Wait,
    Fate::Approve,
    Fate::Deny,
    Fate::Cancel,
    Fate::Approve,
    Fate::Deny,
    Fate::Wait,
];

enum Step {
    Create(std::ops::Range<usize>),
    Decide,
}

/// The synthetic load: its own customer and publisher tenants, so the small sample stays as it is,
/// and a queue of timed steps that `Story::at` plays between the sample's scenes.
struct Load {
    approver: String,
    publishers: Vec<String>,
    /// Even-numbered applications approve manually, odd ones automatically.
    apps: Vec<String>,
    steps: VecDeque<(DateTime<Utc>, Step)>,
    /// Decisions for each created chunk, taken by its `Decide` step.
    decisions: VecDeque<Vec<(u64, String, Fate)>>,
    manual_seen: usize,
}

impl Load {
    async fn prepare(story: &mut Story<'_>, scale: usize) -> Result<Load> {
        story.tenant("tailspin", TenantKind::Customer, "Tailspin Toys", Some(License::P2)).await?;
        story.tenant("litware", TenantKind::Publisher, "Litware Inc", None).await?;
        let approver = "morgan@tailspin.com".to_string();
        story.user(&approver, "tailspin", "Morgan Reyes", true).await?;

        let mut publishers = Vec::with_capacity(SYNTHETIC_USERS);
        let mut users = Vec::with_capacity(SYNTHETIC_USERS);
        for i in 0..SYNTHETIC_USERS {
            let (first, last) =
                (FIRST_NAMES[i % FIRST_NAMES.len()], LAST_NAMES[i / FIRST_NAMES.len() % LAST_NAMES.len()]);
            let upn = format!("{first}.{last}@litware.com");
            let input = NewUser {
                upn: upn.clone(),
                tenant: "litware".into(),
                name: Some(format!("{} {}", capitalized(first), capitalized(last))),
                admin: false,
                login: None,
                object_id: None,
            };
            users.push((operator(), input));
            publishers.push(upn);
        }
        story.summary.users +=
            ok_count(story.run(&operator(), Batch(users)).await?, &mut story.summary.refused);

        let offer = NewOffer {
            id: "litware-insights".into(),
            name: "Litware Insights".into(),
            jit_available: true,
            roles: vec!["Owner".into(), "Contributor".into(), "Reader".into()],
        };
        story.offer(&publishers[0], offer).await?;

        let count = scale.div_ceil(SYNTHETIC_USERS).max(MIN_SYNTHETIC_APPS);
        let mut apps = Vec::with_capacity(count);
        let mut deployments = Vec::with_capacity(count);
        for j in 0..count {
            let name = format!("tailspin-{}-{:03}", REGIONS[j % REGIONS.len()], j + 1);
            let manual = j.is_multiple_of(2);
            let input = Deployment {
                name: name.clone(),
                offer: "litware-insights".into(),
                mode: Some(if manual { ApprovalMode::ManualApprove } else { ApprovalMode::AutoApprove }),
                approvers: if manual { vec![approver.clone()] } else { Vec::new() },
                ..Deployment::default()
            };
            deployments.push((user(&approver), input));
            apps.push(name);
        }
        story.summary.apps +=
            ok_count(story.run(&operator(), Batch(deployments)).await?, &mut story.summary.refused);

        // Spread over the history, leaving the first hours to the set-up and ending shortly before now.
        let chunks = scale.div_ceil(CHUNK).max(MIN_CHUNKS.min(scale));
        let (first, last) = (story.ago(hours(46)), story.ago(minutes(30)));
        let interval = (last - first) / chunks.max(1) as i32;
        let to_decide = (interval / 2).min(minutes(20));
        let mut steps = VecDeque::with_capacity(2 * chunks);
        for k in 0..chunks {
            let at = first + interval * k as i32;
            steps.push_back((at, Step::Create(scale * k / chunks..scale * (k + 1) / chunks)));
            steps.push_back((at + to_decide, Step::Decide));
        }
        Ok(Load { approver, publishers, apps, steps, decisions: VecDeque::new(), manual_seen: 0 })
    }

    fn next_at(&self) -> Option<DateTime<Utc>> {
        self.steps.front().map(|(at, _)| *at)
    }

    async fn step(&mut self, engine: &Engine, summary: &mut Summary) -> Result<()> {
        let Some((at, step)) = self.steps.pop_front() else { return Ok(()) };
        match step {
            Step::Create(range) => self.create(engine, summary, at, range).await,
            Step::Decide => self.decide(engine, summary).await,
        }
    }

    async fn create(
        &mut self,
        engine: &Engine,
        summary: &mut Summary,
        now: DateTime<Utc>,
        range: std::ops::Range<usize>,
    ) -> Result<()> {
        let mut batch = Vec::with_capacity(range.len());
        let mut fates = Vec::with_capacity(range.len());
        for i in range {
            // Consecutive requests go to consecutive applications, so each pair is used once for
            // i < apps x publishers, which `prepare` made at least `scale`.
            let app = i % self.apps.len();
            let requester = &self.publishers[i / self.apps.len() % self.publishers.len()];
            let n = mix(i);
            let (kind, why) = pick(&REASONS, n);
            let ticket = format!("{kind}-{}", 30_000 + i);
            let input = ask(
                &self.apps[app],
                pick(&SYNTHETIC_ROLES, n >> 8),
                hours(1 + (n >> 16) as i64 % 8),
                &ticket,
                why,
            );
            // One in ten is planned ahead, so that scheduled grants show up too.
            let start = (n >> 24).is_multiple_of(10).then(|| now + hours(1 + (n >> 32) as i64 % 4));
            batch.push((user(requester), NewRequest { start, ..input }));
            fates.push(app.is_multiple_of(2).then(|| {
                self.manual_seen += 1;
                MANUAL_FATES[self.manual_seen % MANUAL_FATES.len()]
            }));
        }
        let created = engine.run(&operator(), Batch(batch)).await?;
        let mut decisions = Vec::new();
        for (result, fate) in created.into_iter().zip(fates) {
            match result {
                Ok(request) => {
                    summary.requests += 1;
                    if let Some(fate) = fate.filter(|f| *f != Fate::Wait) {
                        decisions.push((request.id, request.requester, fate));
                    }
                }
                Err(_) => summary.refused += 1,
            }
        }
        self.decisions.push_back(decisions);
        Ok(())
    }

    async fn decide(&mut self, engine: &Engine, summary: &mut Summary) -> Result<()> {
        let Some(decisions) = self.decisions.pop_front() else { return Ok(()) };
        let approver = user(&self.approver);
        let mut verdicts = Vec::new();
        let mut cancels = Vec::new();
        for (id, requester, fate) in decisions {
            let n = mix(id as usize) >> 40;
            match fate {
                Fate::Approve => verdicts.push((
                    approver.clone(),
                    Decide { id, approve: true, reason: pick(&APPROVALS, n).into() },
                )),
                Fate::Deny => verdicts.push((
                    approver.clone(),
                    Decide { id, approve: false, reason: pick(&DENIALS, n).into() },
                )),
                Fate::Cancel => cancels.push((user(&requester), Cancel { id })),
                Fate::Wait => {}
            }
        }
        for chunk in chunked(verdicts) {
            ok_count(engine.run(&operator(), Batch(chunk)).await?, &mut summary.refused);
        }
        for chunk in chunked(cancels) {
            ok_count(engine.run(&operator(), Batch(chunk)).await?, &mut summary.refused);
        }
        Ok(())
    }
}

/// Splits a long list of commands into batches of at most `CHUNK`.
fn chunked<T>(mut items: Vec<T>) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    while items.len() > CHUNK {
        let rest = items.split_off(CHUNK);
        out.push(items);
        items = rest;
    }
    if !items.is_empty() {
        out.push(items);
    }
    out
}

/// Counts the commands of a batch that went through, and adds the refused ones to `refused`.
fn ok_count<T>(results: Vec<Result<T>>, refused: &mut usize) -> usize {
    let done = results.iter().filter(|r| r.is_ok()).count();
    *refused += results.len() - done;
    done
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
