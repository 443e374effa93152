//! Stores written by earlier releases open in this one: schema 2 (JSON records; the fixture was made
//! by the release before the compact encoding, with `init --sample`, and its `request list --json`,
//! `audit --json` and `user search --json ""` were saved beside it) and schema 1 (the same file with
//! schema 2's indexes taken away, as schema 1 had none of them). Each is migrated on open, in one
//! transaction, and shows exactly what it showed before; a migration that fails midway leaves the
//! old store as it was, still readable by the release that wrote it. Schema 3 (compact records,
//! notifications kept whole) has its own fixture, with each user's notifications saved beside it.
//! Schema 4 (no warnings kept that access ends soon) is the sample without that table.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use serde_json::Value;
use tempfile::TempDir;

use jitdesk::domain::Paging;
use jitdesk::engine::{Engine, ManualClock, Viewer};
use jitdesk::engine::{OpenMode, RequestFilter};
use jitdesk::store::SCHEMA_VERSION;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const META: TableDefinition<&str, u32> = TableDefinition::new("meta");
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
/// Where schemas 1 to 3 kept notifications whole.
const NOTIFICATIONS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("notifications");
const REQUESTS: TableDefinition<u64, &[u8]> = TableDefinition::new("requests");

/// What the release that wrote a fixture printed, saved beside it (`schema2.audit`: the schema-2
/// store's `audit --json`).
fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}.json")).expect("fixture output");
    serde_json::from_str(&text).expect("fixture output is JSON")
}

/// A private copy of the schema-2 fixture, as a store file must be.
fn schema_2_copy(dir: &TempDir) -> PathBuf {
    let path = dir.path().join("old.redb");
    std::fs::copy(format!("{FIXTURES}/schema2.redb"), &path).expect("copy the fixture");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("make it private");
    path
}

/// The same store as schema 1 kept it: without the indexes schema 2 added (requests by state and
/// application, the audit by application) and without the seen-notifications table.
fn schema_1_copy(dir: &TempDir) -> PathBuf {
    let path = schema_2_copy(dir);
    let db = redb::Database::open(&path).unwrap();
    let txn = db.begin_write().unwrap();
    assert!(txn.delete_table(TableDefinition::<(u8, &str, u64), ()>::new("requests_by_state_app")).unwrap());
    assert!(txn.delete_table(TableDefinition::<(&str, u64), ()>::new("audit_by_app")).unwrap());
    assert!(txn.delete_table(TableDefinition::<&str, u64>::new("notifications_seen")).unwrap());
    txn.open_table(META).unwrap().insert("schema_version", 1).unwrap();
    txn.commit().unwrap();
    path
}

fn schema_of(path: &Path) -> u32 {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    txn.open_table(META).unwrap().get("schema_version").unwrap().unwrap().value()
}

/// The stored bytes of the first request: JSON (`{...}`) before schema 3.
fn first_request(path: &Path) -> Vec<u8> {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(REQUESTS).unwrap();
    table.first().unwrap().unwrap().1.value().to_vec()
}

/// When the fixture was made, as far as its data tells: its newest audit record. Every deadline in
/// it lies after this, so a clock here sees the store exactly as it was saved.
fn fixture_time() -> DateTime<Utc> {
    let newest = &fixture("schema2.audit")[0]["at"];
    newest.as_str().and_then(|t| t.parse().ok()).expect("the newest audit record has a time")
}

/// What the fixture's saved outputs show, asked of the store through the engine (the CLI's
/// `--json` goes through the same conversions) with the clock at the fixture's time.
async fn shows_what_it_showed(path: &Path) {
    let clock = Arc::new(ManualClock::new(fixture_time()));
    let engine = Engine::open(path, OpenMode::Existing, clock).await.expect("the old store opens");
    let all = RequestFilter { limit: Some(1000), ..Default::default() };
    let requests = engine.requests(&Viewer::Operator, all).await.unwrap().items;
    let requests: Vec<_> = requests.iter().map(jitdesk::json::Request::new).collect();
    assert_eq!(serde_json::to_value(&requests).unwrap(), fixture("schema2.requests"), "request list --json");
    let audit = engine.audit(&Viewer::Operator, Paging::first(1000)).await.unwrap().items;
    assert_eq!(serde_json::to_value(&audit).unwrap(), fixture("schema2.audit"), "audit --json");
    let users = engine.search_users(&Viewer::Operator, "", Paging::first(1000)).await.unwrap().items;
    let users = without(&serde_json::to_value(&users).unwrap(), None, "objectId", made_object_id);
    assert_eq!(users, fixture("schema2.users"), "user search --json \"\"");

    // The indexes the migration built answer scoped questions: a customer's pending requests
    // (by state and application) and the audit of the applications they see.
    let pending = RequestFilter { state: Some(jitdesk::domain::RequestState::Pending), ..Default::default() };
    let alice = Viewer::User("alice@contoso.com".into());
    let theirs = engine.requests(&alice, pending).await.unwrap().items;
    let expected: Vec<u64> = fixture("schema2.requests")
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["jitRequestState"] == "Pending")
        .filter_map(|r| r["id"].as_u64())
        .collect();
    assert!(!expected.is_empty(), "the sample has pending requests");
    assert_eq!(theirs.iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    let seen = engine.audit(&alice, Paging::first(1000)).await.unwrap().items;
    assert!(seen.iter().any(|a| a.app.is_some()), "the audit by application was filled");
    engine.close().await.unwrap();
    assert_eq!(schema_of(path), SCHEMA_VERSION);
    assert_ne!(first_request(path).first(), Some(&b'{'), "records are stored compactly now");
}

#[tokio::test]
async fn a_schema_2_store_from_the_last_release_is_migrated_and_shows_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = schema_2_copy(&dir);
    assert_eq!(schema_of(&path), 2);
    shows_what_it_showed(&path).await;
    // And again: a migrated store opens as it is.
    shows_what_it_showed(&path).await;
}

#[tokio::test]
async fn a_schema_1_store_is_migrated_and_shows_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = schema_1_copy(&dir);
    assert_eq!(schema_of(&path), 1);
    shows_what_it_showed(&path).await;
}

fn jitdesk(store: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jitdesk"))
        .env_remove("JITDESK_USER")
        .env("XDG_CONFIG_HOME", store.with_extension("config"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("jitdesk runs")
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The CLI on the old file, at today's time: what cannot have changed since the fixture was made
/// (the users, every audit record it had, every request that had ended) reads exactly as before;
/// requests still open then may have timed out or expired since.
#[test]
fn the_cli_shows_an_old_store_as_the_release_that_wrote_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let path = schema_2_copy(&dir);
    let users = jitdesk(&path, &["user", "search", "--json", ""]);
    assert_eq!(without(&json_of(&users), None, "objectId", made_object_id), fixture("schema2.users"));
    assert_eq!(schema_of(&path), SCHEMA_VERSION, "the first command migrated it");

    let audit = json_of(&jitdesk(&path, &["audit", "--json", "--limit", "1000"]));
    let before = fixture("schema2.audit");
    let newest_before = before[0]["id"].as_u64().unwrap();
    let kept: Vec<&Value> =
        audit.as_array().unwrap().iter().filter(|a| a["id"].as_u64() <= Some(newest_before)).collect();
    assert_eq!(kept, before.as_array().unwrap().iter().collect::<Vec<_>>());

    let requests = json_of(&jitdesk(&path, &["request", "list", "--json", "--limit", "1000"]));
    let ended = |list: &Value| -> Vec<Value> {
        let open = ["Pending", "Approved"];
        list.as_array()
            .unwrap()
            .iter()
            .filter(|r| !open.iter().any(|s| r["jitRequestState"] == *s))
            .cloned()
            .collect()
    };
    let ended_before = ended(&fixture("schema2.requests"));
    assert!(!ended_before.is_empty());
    let now: Vec<Value> =
        ended(&requests).into_iter().filter(|r| ended_before.iter().any(|b| b["id"] == r["id"])).collect();
    assert_eq!(now, ended_before);
    assert_eq!(requests.as_array().map(Vec::len), fixture("schema2.requests").as_array().map(Vec::len));
}

/// A record the migration cannot read, in the table it rewrites last: the open fails with one
/// line that says what is wrong, and the file is the old store still, every earlier table's
/// rewrite undone with the rest. Put right, it migrates.
#[test]
fn a_migration_that_fails_midway_leaves_the_old_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = schema_2_copy(&dir);
    let (key, original) = {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        let saved = {
            let mut table = txn.open_table(AUDIT).unwrap();
            let (key, original) = {
                let (k, v) = table.last().unwrap().expect("the sample has an audit log");
                (k.value(), v.value().to_vec())
            };
            table.insert(key, b"{not json".as_slice()).unwrap();
            (key, original)
        };
        txn.commit().unwrap();
        saved
    };
    let json_request = first_request(&path);
    assert_eq!(json_request.first(), Some(&b'{'));

    let out = jitdesk(&path, &["request", "list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("damaged") && err.contains("audit"), "{err}");

    // Nothing of the rewrite was kept: the same schema, the same JSON records, no new table.
    assert_eq!(schema_of(&path), 2);
    assert_eq!(first_request(&path), json_request);
    {
        let db = redb::ReadOnlyDatabase::open(&path).unwrap();
        let txn = db.begin_read().unwrap();
        let names: Vec<String> = txn.list_tables().unwrap().map(|t| t.name().to_string()).collect();
        assert!(!names.iter().any(|n| n == "apps_by_tenant" || n == "notified"), "{names:?}");
        assert!(names.iter().any(|n| n == "notifications"), "{names:?}");
    }

    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(AUDIT).unwrap().insert(key, original.as_slice()).unwrap();
        txn.commit().unwrap();
    }
    let users = jitdesk(&path, &["user", "search", "--json", ""]);
    assert_eq!(without(&json_of(&users), None, "objectId", made_object_id), fixture("schema2.users"));
    assert_eq!(schema_of(&path), SCHEMA_VERSION);
    assert_ne!(first_request(&path).first(), Some(&b'{'), "records are stored compactly now");
}

/// Every record of one table written back as JSON, as schemas 1 and 2 stored it.
fn as_json<K: redb::Key + 'static, T: serde::Serialize + serde::de::DeserializeOwned>(
    txn: &redb::WriteTransaction,
    name: &str,
) {
    let mut table = txn.open_table(TableDefinition::<K, &[u8]>::new(name)).unwrap();
    let rows: Vec<(Vec<u8>, Vec<u8>)> = table
        .iter()
        .unwrap()
        .map(|entry| {
            let (k, v) = entry.unwrap();
            let record: T = postcard::from_bytes(v.value()).unwrap();
            (K::as_bytes(&k.value()).as_ref().to_vec(), serde_json::to_vec(&record).unwrap())
        })
        .collect();
    for (k, v) in rows {
        table.insert(K::from_bytes(&k), v.as_slice()).unwrap();
    }
}

/// Every notification written back whole, as JSON in a table of its own, as schemas 1 and 2 kept
/// them (worded from the compact audit record and request, so before those become JSON).
fn notifications_as_json(txn: &redb::WriteTransaction) {
    use jitdesk::domain::{AccessRequest, AuditRecord, Notification, Target};
    let notified = TableDefinition::<(&str, u64), ()>::new("notified");
    {
        let audit = txn.open_table(AUDIT).unwrap();
        let requests = txn.open_table(REQUESTS).unwrap();
        let index = txn.open_table(notified).unwrap();
        let mut whole = txn.open_table(NOTIFICATIONS).unwrap();
        for entry in index.iter().unwrap() {
            let (key, _) = entry.unwrap();
            let (to, id) = key.value();
            let record: AuditRecord = postcard::from_bytes(audit.get(id).unwrap().unwrap().value()).unwrap();
            // Old schemas had no notice of a change to an application; its migration reads the
            // keys alone, so such a notice is written whole like the others.
            let request: Option<AccessRequest> = match record.target {
                Target::Request(id) => {
                    Some(postcard::from_bytes(requests.get(id).unwrap().unwrap().value()).unwrap())
                }
                _ => None,
            };
            let json = serde_json::to_vec(&Notification::of(to, &record, request.as_ref())).unwrap();
            whole.insert((to, id), json.as_slice()).unwrap();
        }
    }
    assert!(txn.delete_table(notified).unwrap());
}

/// Everything the engine answers about a store, as JSON, with the clock at `at`.
async fn answers(path: &Path, at: DateTime<Utc>) -> Vec<Value> {
    use jitdesk::domain::RequestState;
    let engine = Engine::open(path, OpenMode::Existing, Arc::new(ManualClock::new(at))).await.unwrap();
    let all = RequestFilter { limit: None, ..Default::default() };
    let pending = RequestFilter { state: Some(RequestState::Pending), ..Default::default() };
    let user = Viewer::User("alice@contoso.com".into());
    let mut out = vec![
        serde_json::to_value(
            engine
                .requests(&Viewer::Operator, all)
                .await
                .unwrap()
                .items
                .iter()
                .map(jitdesk::json::Request::new)
                .collect::<Vec<_>>(),
        )
        .unwrap(),
        serde_json::to_value(engine.audit(&Viewer::Operator, Paging::default()).await.unwrap().items)
            .unwrap(),
        serde_json::to_value(
            engine.search_users(&Viewer::Operator, "", Paging::default()).await.unwrap().items,
        )
        .unwrap(),
        serde_json::to_value(engine.apps(&user, Paging::default()).await.unwrap().items).unwrap(),
        serde_json::to_value(
            engine
                .requests(&user, pending)
                .await
                .unwrap()
                .items
                .iter()
                .map(jitdesk::json::Request::new)
                .collect::<Vec<_>>(),
        )
        .unwrap(),
    ];
    for upn in ["alice@contoso.com", "dave@fabrikam.com"] {
        out.push(
            serde_json::to_value(engine.notifications(upn, Paging::default()).await.unwrap().items).unwrap(),
        );
    }
    engine.close().await.unwrap();
    out
}

/// The sample with no group approving any application, as every store of schema 5 or older was:
/// the sample's group approver of `contoso-crm-eu` is taken off its policy.
async fn without_group_approvers(path: &Path, at: DateTime<Utc>) {
    use jitdesk::domain::rules::{Actor, PolicyChange};
    let engine = Engine::open(path, OpenMode::Existing, Arc::new(ManualClock::new(at))).await.unwrap();
    let change =
        PolicyChange { remove_approvers: vec!["contoso-approvers".into()], ..PolicyChange::default() };
    let set = jitdesk::engine::SetPolicy { app: "contoso-crm-eu".into(), change };
    engine.run(&Actor::User("alice@contoso.com".into()), set).await.unwrap();
    engine.close().await.unwrap();
}

/// A schema-2 store larger than one batch of the migration (requests, audit records and
/// notifications by the thousand): every record comes through, each once.
#[tokio::test]
async fn a_migration_walks_every_batch_of_a_larger_store() {
    use jitdesk::domain::{AccessRequest, Application, AuditRecord, Offer, Tenant, User};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 2, 9, 0, 0).unwrap();
    jitdesk::sample::create_at(&path, 1500, now).await.unwrap();
    without_group_approvers(&path, now).await;
    let before = answers(&path, now).await;
    assert!(before[0].as_array().unwrap().len() > 1500 && before[1].as_array().unwrap().len() > 3000);
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        notifications_as_json(&txn);
        as_json::<&str, Tenant>(&txn, "tenants");
        as_json::<&str, User>(&txn, "users");
        as_json::<&str, Offer>(&txn, "offers");
        as_json::<&str, Application>(&txn, "apps");
        as_json::<u64, AccessRequest>(&txn, "requests");
        as_json::<u64, AuditRecord>(&txn, "audit");
        assert!(txn.delete_table(TableDefinition::<(&str, &str), ()>::new("apps_by_tenant")).unwrap());
        txn.open_table(META).unwrap().insert("schema_version", 2).unwrap();
        txn.commit().unwrap();
    }
    assert_eq!(first_request(&path).first(), Some(&b'{'));
    assert_eq!(answers(&path, now).await, before);
    assert_eq!(schema_of(&path), SCHEMA_VERSION);
}

/// A schema-3 store (compact records, each notification kept whole with its sentence): made by
/// the release before notifications were worded on reading, with `init --sample`, then alice made
/// an approver of the automatic `contoso-crm-dev`, erin's request on it approved automatically,
/// started a minute later and revoked, and dave's pending request denied; every user's
/// `notifications --json` and the `audit --json` were saved beside it. Migrated, it tells every
/// user the same, word for word, and keeps no notification text.
#[tokio::test]
async fn a_schema_3_store_tells_every_user_what_it_told_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.redb");
    std::fs::copy(format!("{FIXTURES}/schema3.redb"), &path).expect("copy the fixture");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("make it private");
    assert_eq!(schema_of(&path), 3);
    let saved = fixture("schema3.notifications");
    let saved = saved.as_object().expect("notifications by user");
    let told: usize = saved.values().map(|n| n.as_array().map_or(0, Vec::len)).sum();
    assert!(told > 10, "the fixture has notifications to compare");
    let newest = fixture("schema3.audit")[0]["at"].as_str().and_then(|t| t.parse().ok()).expect("a time");
    for _ in 0..2 {
        let engine = Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(newest)))
            .await
            .expect("the old store opens");
        for (upn, before) in saved {
            let now = engine.notifications(upn, Paging::first(1000)).await.unwrap().items;
            assert_eq!(&serde_json::to_value(&now).unwrap(), before, "notifications --json of {upn}");
        }
        let audit = engine.audit(&Viewer::Operator, Paging::first(1000)).await.unwrap().items;
        assert_eq!(serde_json::to_value(&audit).unwrap(), fixture("schema3.audit"), "audit --json");
        engine.close().await.unwrap();
        assert_eq!(schema_of(&path), SCHEMA_VERSION);
    }
    let db = redb::ReadOnlyDatabase::open(&path).unwrap();
    let names: Vec<String> =
        db.begin_read().unwrap().list_tables().unwrap().map(|t| t.name().to_string()).collect();
    assert!(!names.iter().any(|n| n == "notifications"), "no notification is kept whole: {names:?}");
}

/// A store written before the identity tables existed (schema 3 without them) opens: a read-only
/// open hands it to the read-write one, which makes the tables, empty, and keeps everything else.
#[tokio::test]
async fn a_store_without_the_identity_tables_gets_them_empty_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = schema_2_copy(&dir);
    shows_what_it_showed(&path).await;
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        for name in ["ssh_keys", "ssh_keys_by_user", "tenant_cas", "tenant_cas_by_fingerprint"] {
            assert!(txn.delete_table(TableDefinition::<&str, &[u8]>::new(name)).is_ok(), "{name}");
        }
        for name in ["tokens", "tokens_by_hash", "tokens_by_owner"] {
            assert!(txn.delete_table(TableDefinition::<&str, &[u8]>::new(name)).is_ok(), "{name}");
        }
        txn.commit().unwrap();
        let txn = db.begin_read().unwrap();
        let names: Vec<String> = txn.list_tables().unwrap().map(|t| t.name().to_string()).collect();
        assert!(!names.iter().any(|n| n.starts_with("ssh_keys") || n.starts_with("tokens")), "{names:?}");
    }
    assert!(jitdesk::store::open_read_only(&path).unwrap().is_none(), "read-only cannot make tables");
    let storage = jitdesk::store::open(&path, OpenMode::Existing).expect("opens for writing");
    let empty = storage
        .query(|t| {
            Ok(t.ssh_keys_of("alice@contoso.com", &Paging::default())?.items.is_empty()
                && t.tokens_of(None, &Paging::default())?.items.is_empty()
                && t.cas_by_fingerprint("SHA256:x")?.is_empty())
        })
        .unwrap();
    assert!(empty, "the new tables are there and empty");
    drop(storage);
    assert!(jitdesk::store::open_read_only(&path).unwrap().is_some(), "and read-only opens find them");
    shows_what_it_showed(&path).await;
}

#[tokio::test]
async fn a_store_from_before_the_outbox_gets_its_tables_and_keeps_its_channels() {
    use jitdesk::domain::delivery::{ChannelKind, Secret, WebhookFormat};
    use jitdesk::domain::rules::Actor;
    use jitdesk::engine::{AddChannel, DeliveryFilter};
    let dir = tempfile::tempdir().unwrap();
    let path = schema_2_copy(&dir);
    let clock = Arc::new(ManualClock::new(fixture_time()));
    let engine = Engine::open(&path, OpenMode::Existing, clock.clone()).await.unwrap();
    let tenant = engine.tenants(&Viewer::Operator, Paging::first(1)).await.unwrap().items.remove(0).id;
    let kind = ChannelKind::Webhook {
        url: "https://hooks.example.com/jit".into(),
        format: WebhookFormat::Teams,
        secret: Secret("key".into()),
    };
    let added = engine
        .run(&Actor::Operator("root".into()), AddChannel { tenant: tenant.clone(), kind })
        .await
        .unwrap();
    let none =
        engine.deliveries(&Viewer::Operator, DeliveryFilter::default(), &Paging::first(10)).await.unwrap();
    assert!(none.items.is_empty());
    engine.close().await.unwrap();
    let engine = Engine::open(&path, OpenMode::Existing, clock).await.unwrap();
    assert_eq!(engine.channels(&Viewer::Operator, &tenant).await.unwrap(), [added]);
    engine.close().await.unwrap();
}

/// A schema-4 store (before the warnings that access ends soon were kept): made from the
/// schema-5 fixture by taking the warnings' table away. Opened after a running grant's warning time, it warns that
/// grant's requester once, late, and a second open warns nobody again.
#[tokio::test]
async fn a_schema_4_store_warns_its_running_grants_once() {
    use jitdesk::domain::Action;
    let dir = tempfile::tempdir().unwrap();
    let path = schema_5_copy(&dir);
    let now: DateTime<Utc> =
        fixture("schema5.audit")[0]["at"].as_str().and_then(|t| t.parse().ok()).expect("a time");
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        assert!(txn.delete_table(TableDefinition::<(i64, u64), ()>::new("ending_warnings")).unwrap());
        txn.open_table(META).unwrap().insert("schema_version", 4).unwrap();
        txn.commit().unwrap();
    }
    let engine = Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(now))).await.unwrap();
    let grants = engine.grants(&Viewer::Operator, Paging::first(1000)).await.unwrap().items;
    engine.close().await.unwrap();
    // A minute past the first warning still to come: its grant runs until ENDING_SOON after it.
    let first = grants.iter().filter_map(|g| g.ending_warning()).filter(|w| now < *w).min();
    let later = first.expect("the sample has a warning to come") + chrono::TimeDelta::minutes(1);
    let ending: Vec<_> =
        grants.iter().filter(|g| g.ending_warning().is_some_and(|w| now < w && w <= later)).collect();
    for _ in 0..2 {
        let engine =
            Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(later))).await.unwrap();
        for grant in &ending {
            let told: Vec<_> = engine
                .notifications(&grant.requester, Paging::first(1000))
                .await
                .unwrap()
                .items
                .into_iter()
                .filter(|n| n.action == Action::AccessEndingSoon && n.request == Some(grant.id))
                .collect();
            assert_eq!(told.len(), 1, "request {}: {told:?}", grant.id);
        }
        engine.close().await.unwrap();
        assert_eq!(schema_of(&path), SCHEMA_VERSION);
    }
}

/// A private copy of the schema-5 fixture: the sample as the release before object ids, groups,
/// several approvals and extensions wrote it, its `request list`, `user search`, `app list` and
/// `audit` (all `--json`) saved beside it.
fn schema_5_copy(dir: &TempDir) -> PathBuf {
    let path = dir.path().join("five.redb");
    std::fs::copy(format!("{FIXTURES}/schema5.redb"), &path).expect("copy the fixture");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("make it private");
    path
}

/// The object id a migration gives a user of an older schema: the one made from their UPN.
fn made_object_id(user: &Value) -> Value {
    Value::from(jitdesk::domain::arm_ids::user_guid(user["upn"].as_str().expect("a UPN")))
}

/// The keys of an index table, raw, to compare before and after a migration.
fn index_keys(path: &Path, name: &str) -> Vec<(i64, u64)> {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(TableDefinition::<(i64, u64), ()>::new(name)).unwrap();
    table.iter().unwrap().map(|e| e.unwrap().0.value()).collect()
}

/// `list` without the field `name` of each item (or of the object `within` it), after checking
/// it against what `expected` makes of the item.
fn without(list: &Value, within: Option<&str>, name: &str, expected: impl Fn(&Value) -> Value) -> Value {
    let mut list = list.clone();
    for item in list.as_array_mut().expect("a list") {
        let wanted = expected(item);
        let holder = match within {
            Some(inner) => &mut item[inner],
            None => item,
        };
        let found = holder.as_object_mut().expect("an object").remove(name);
        assert_eq!(found, Some(wanted), "{name}");
    }
    list
}

#[tokio::test]
async fn a_schema_5_store_shows_the_same_and_gets_the_ids_made_from_its_names() {
    use jitdesk::domain::arm_ids;
    let dir = tempfile::tempdir().unwrap();
    let path = schema_5_copy(&dir);
    assert_eq!(schema_of(&path), 5);
    let (deadlines, warnings) = (index_keys(&path, "deadlines"), index_keys(&path, "ending_warnings"));
    let made = fixture("schema5.audit")[0]["at"].as_str().and_then(|t| t.parse().ok()).expect("a time");
    let engine = Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(made))).await.unwrap();
    let all = RequestFilter { limit: Some(1000), ..Default::default() };
    let requests = engine.requests(&Viewer::Operator, all).await.unwrap().items;
    let requests: Vec<_> = requests.iter().map(jitdesk::json::Request::new).collect();
    assert_eq!(serde_json::to_value(&requests).unwrap(), fixture("schema5.requests"), "request list");
    let audit = engine.audit(&Viewer::Operator, Paging::first(1000)).await.unwrap().items;
    assert_eq!(serde_json::to_value(&audit).unwrap(), fixture("schema5.audit"), "audit");
    engine.close().await.unwrap();
    assert_eq!(schema_of(&path), SCHEMA_VERSION);
    assert_eq!(index_keys(&path, "deadlines"), deadlines, "every deadline stays");
    assert_eq!(index_keys(&path, "ending_warnings"), warnings, "warnings given stay given");

    let users = json_of(&jitdesk(&path, &["user", "search", "--json", "--limit", "1000", ""]));
    assert_eq!(without(&users, None, "objectId", made_object_id), fixture("schema5.users"));
    let apps = json_of(&jitdesk(&path, &["app", "list", "--json", "--limit", "1000"]));
    let id = |a: &Value| {
        let (tenant, name) = (a["customerTenant"].as_str().unwrap(), a["name"].as_str().unwrap());
        Value::from(arm_ids::application_id(tenant, name))
    };
    let apps = without(&apps, None, "resourceId", id);
    let apps = without(&apps, Some("jitAccessPolicy"), "approvalsRequired", |_| Value::from(1));
    let apps = without(&apps, Some("jitAccessPolicy"), "maxExtensions", |_| Value::from(0));
    assert_eq!(apps, fixture("schema5.apps"));

    // The made ids find what they were made for.
    let storage = jitdesk::store::open(&path, OpenMode::Existing).unwrap();
    let (alice, crm) = storage
        .query(|t| {
            let alice = t.user_by_object_id(&arm_ids::user_guid("alice@contoso.com"))?.map(|u| u.upn);
            let id = arm_ids::application_id("contoso", "contoso-crm").to_uppercase();
            Ok((alice, t.app_by_resource_id(&id)?.map(|a| a.name)))
        })
        .unwrap();
    assert_eq!((alice.as_deref(), crm.as_deref()), (Some("alice@contoso.com"), Some("contoso-crm")));
}
