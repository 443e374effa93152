//! What the PostgreSQL backend adds to the storage conformance suite: its schema's versions (a
//! newer one refused, a database without one refused unless asked to create it), writers on
//! several replicas taking turns, the notification a commit sends to the other replicas, and a
//! server out of reach answering in one line.

use std::sync::Arc;
use std::sync::mpsc;

use ::postgres::fallible_iterator::FallibleIterator;

use jitdesk::domain::*;
use jitdesk::engine::storage::Storage;
use jitdesk::engine::{OpenMode, StoreError};
use jitdesk::postgres::{COMMITS_CHANNEL, PgStorage, SCHEMA_VERSION};

use crate::common::pg;
use crate::storage_conformance::pending;

fn request(id: u64) -> AccessRequest {
    pending(id, "app1", "p@pub", 0)
}

fn audit(id: u64) -> AuditRecord {
    crate::storage_conformance::audit(id, Some("app1"), Target::Request(1))
}

fn admin(url: &str) -> ::postgres::Client {
    ::postgres::Client::connect(url, ::postgres::NoTls).expect("connect to the test database")
}

#[test]
fn a_database_written_by_a_newer_jitdesk_is_refused_and_left_as_it_is() {
    let Some(url) = pg::database() else { return };
    drop(PgStorage::open(&url, OpenMode::Create).expect("create the schema"));
    let newer = i32::try_from(SCHEMA_VERSION + 1).expect("a small version");
    admin(&url).execute("UPDATE jitdesk_schema SET version = $1", &[&newer]).expect("pretend a newer build");
    let refused = PgStorage::open(&url, OpenMode::Create).err().expect("a newer schema is refused");
    assert!(
        matches!(refused, StoreError::Newer { found, known, .. } if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("upgrade jitdesk"), "{refused}");
    let kept: i32 = admin(&url).query_one("SELECT version FROM jitdesk_schema", &[]).expect("read").get(0);
    assert_eq!(kept, newer, "the newer schema is left as it was");
}

#[test]
fn a_database_without_jitdesks_schema_is_refused_unless_created() {
    let Some(url) = pg::database() else { return };
    let refused = PgStorage::open(&url, OpenMode::Existing).err().expect("no schema: refused");
    assert!(matches!(refused, StoreError::Missing(_)), "{refused:?}");
    assert!(refused.to_string().contains("jitdesk init"), "{refused}");
    let exists: bool =
        admin(&url).query_one("SELECT to_regclass('jitdesk_schema') IS NOT NULL", &[]).expect("read").get(0);
    assert!(!exists, "a refused open creates nothing");
    let created = PgStorage::open(&url, OpenMode::Create).expect("created");
    assert_eq!(created.path().to_string_lossy(), url, "the store's path is its URL");
    drop(PgStorage::open(&url, OpenMode::Existing).expect("now it exists"));
}

#[test]
fn two_replicas_opening_at_once_both_find_one_schema() {
    let Some(url) = pg::database() else { return };
    let openers: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                PgStorage::open(&url, OpenMode::Create).map(|s| s.origin().to_string())
            })
        })
        .collect();
    let origins: Vec<String> =
        openers.into_iter().map(|o| o.join().expect("an opener ends").expect("each opens")).collect();
    let mut distinct = origins.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), origins.len(), "each open has an origin of its own: {origins:?}");
    let version: i32 = admin(&url).query_one("SELECT version FROM jitdesk_schema", &[]).expect("read").get(0);
    assert_eq!(u32::try_from(version).ok(), Some(SCHEMA_VERSION));
}

#[test]
fn writers_on_two_replicas_take_turns_and_the_second_sees_the_firsts_commit() {
    let Some(url) = pg::database() else { return };
    let first: Arc<dyn Storage> = Arc::new(PgStorage::open(&url, OpenMode::Create).expect("first replica"));
    let second: Arc<dyn Storage> = Arc::new(PgStorage::open(&url, OpenMode::Create).expect("second replica"));
    let (inside_tx, inside_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        first.transact(|t| {
            let id = t.next_request_id()?;
            t.save_request(None, &request(id))?;
            inside_tx.send(()).expect("tell the test");
            go_rx.recv().expect("wait for the second writer to queue");
            Ok(id)
        })
    });
    inside_rx.recv().expect("the first writer holds the lock");
    let waiter = std::thread::spawn(move || {
        second.transact(|t| {
            let id = t.next_request_id()?;
            t.save_request(None, &request(id))?;
            Ok(id)
        })
    });
    // The second writer is queued behind the first's lock before the first commits.
    let mut watch = admin(&url);
    for polls in 0.. {
        assert!(polls < 3000, "the second writer never queued behind the first's lock");
        let waiting: i64 = watch
            .query_one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", &[])
            .expect("read the locks")
            .get(0);
        if waiting == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    go_tx.send(()).expect("let the first commit");
    assert_eq!(holder.join().expect("the first ends").expect("the first commits"), 1);
    assert_eq!(waiter.join().expect("the second ends").expect("the second commits"), 2, "it saw request 1");
}

#[test]
fn a_commit_that_appended_audit_records_tells_the_other_replicas_which() {
    let Some(url) = pg::database() else { return };
    let store = PgStorage::open(&url, OpenMode::Create).expect("open");
    let origin = store.origin().to_string();
    let store: Arc<dyn Storage> = Arc::new(store);
    let mut listener = admin(&url);
    listener.batch_execute(&format!("LISTEN {COMMITS_CHANNEL}")).expect("listen");
    store.transact(|t| t.set_seen_upto("a@cust", 1)).expect("a write without audit");
    store
        .transact(|t| {
            for id in 1..=3 {
                t.append_audit(&audit(id))?;
            }
            Ok(())
        })
        .expect("a write with audit");
    // Notifications come in commit order: had the write without audit told, its would be first.
    let mut notifications = listener.notifications();
    let first = notifications
        .timeout_iter(std::time::Duration::from_secs(30))
        .next()
        .expect("the connection holds")
        .map(|n| n.payload().to_string());
    assert_eq!(first, Some(format!("{origin}:1:3")), "the write with audit records told which");
}

#[test]
fn a_server_out_of_reach_answers_in_one_line_saying_what_to_check() {
    // Nothing listens on port 1 of the loopback address.
    let refused = PgStorage::open("postgres://jitdesk@127.0.0.1:1/jitdesk", OpenMode::Create)
        .err()
        .expect("no server: refused");
    let line = refused.to_string();
    assert!(line.contains("cannot reach the database server"), "{line}");
    assert!(line.contains("check that it runs"), "{line}");
    assert!(!line.contains('\n'), "{line}");
}

#[test]
fn the_store_answers_on_a_runtimes_blocking_threads() {
    // The engine's queries run in `spawn_blocking`, inside the service's runtime; the blocking
    // client runs a runtime of its own, which must work there.
    let Some(url) = pg::database() else { return };
    let store: Arc<dyn Storage> = Arc::new(PgStorage::open(&url, OpenMode::Create).expect("open"));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().expect("a runtime");
    let id = runtime.block_on(async move {
        tokio::task::spawn_blocking(move || {
            store.transact(|t| t.save_request(None, &request(1)))?;
            store.query(|t| Ok(t.request(1)?.map(|r| r.id)))
        })
        .await
        .expect("the blocking task ends")
    });
    assert_eq!(id.expect("written and read"), Some(1));
}

#[test]
fn a_copy_is_refused_in_one_line_naming_pg_dump() {
    let Some(url) = pg::database() else { return };
    let store = PgStorage::open(&url, OpenMode::Create).expect("open");
    let dir = tempfile::tempdir().expect("a temp folder");
    let file = std::fs::File::create_new(dir.path().join("copy")).expect("a new file");
    let refused = store.copy_into(file).expect_err("PostgreSQL is not copied by jitdesk");
    assert!(refused.to_string().contains("pg_dump"), "{refused}");
    assert_eq!(std::fs::metadata(dir.path().join("copy")).expect("the file").len(), 0, "nothing written");
}

fn tenant(id: &str, name: &str) -> Tenant {
    Tenant { id: id.into(), kind: TenantKind::Publisher, name: name.into(), license: None }
}

/// The name of tenant `id` as a write transaction reads it.
fn name_in_a_write(store: &Arc<dyn Storage>, id: &str) -> Option<String> {
    store.transact(|t| Ok(t.tenant(id)?.map(|t| t.name))).expect("a write transaction")
}

#[test]
fn a_directory_record_kept_between_writes_is_read_again_once_anyone_changes_the_directory() {
    let Some(url) = pg::database() else { return };
    let first: Arc<dyn Storage> = Arc::new(PgStorage::open(&url, OpenMode::Create).expect("first replica"));
    let second: Arc<dyn Storage> = Arc::new(PgStorage::open(&url, OpenMode::Create).expect("second replica"));
    first.transact(|t| t.put_tenant(&tenant("fab", "Fabrikam"))).expect("add");
    assert_eq!(name_in_a_write(&first, "fab").as_deref(), Some("Fabrikam"), "read, and kept");
    assert_eq!(name_in_a_write(&first, "nobody"), None, "an absence is kept too");
    // Another replica's change: the first reads both again.
    second
        .transact(|t| {
            t.put_tenant(&tenant("fab", "Fabrikam Two"))?;
            t.put_tenant(&tenant("nobody", "Nobody"))
        })
        .expect("change");
    assert_eq!(name_in_a_write(&first, "fab").as_deref(), Some("Fabrikam Two"));
    assert_eq!(name_in_a_write(&first, "nobody").as_deref(), Some("Nobody"));
    // A change in the same transaction as the read: the read after it sees the change.
    let names = first
        .transact(|t| {
            let before = t.tenant("fab")?.map(|t| t.name);
            t.put_tenant(&tenant("fab", "Fabrikam Three"))?;
            Ok((before, t.tenant("fab")?.map(|t| t.name)))
        })
        .expect("read, change, read");
    assert_eq!(names, (Some("Fabrikam Two".into()), Some("Fabrikam Three".into())));
    assert_eq!(name_in_a_write(&second, "fab").as_deref(), Some("Fabrikam Three"), "and the other replica");
    // A change made by hand, outside jitdesk, is seen too.
    assert_eq!(name_in_a_write(&first, "nobody").as_deref(), Some("Nobody"), "read, and kept");
    admin(&url).execute("DELETE FROM tenants WHERE id = 'nobody'", &[]).expect("a change by hand");
    assert_eq!(name_in_a_write(&first, "nobody"), None, "the database counted the change");
    // A change that did not commit leaves nothing kept of it.
    let failed = first.transact(|t| {
        t.put_tenant(&tenant("fab", "Never"))?;
        Err::<(), _>(StoreError::Storage("given up".into()).into())
    });
    assert!(failed.is_err());
    assert_eq!(name_in_a_write(&first, "fab").as_deref(), Some("Fabrikam Three"));
}

#[test]
fn a_write_the_database_refuses_fails_its_transaction_and_keeps_nothing_before_it() {
    // Writes go out unanswered with the next statement waited for: the database's refusal of one
    // (text with a NUL, which PostgreSQL does not store) must still fail the whole transaction.
    let Some(url) = pg::database() else { return };
    let store: Arc<dyn Storage> = Arc::new(PgStorage::open(&url, OpenMode::Create).expect("open"));
    let refused = store.transact(|t| {
        t.save_request(None, &request(1))?;
        t.put_tenant(&tenant("bad\0id", "Bad"))?;
        t.save_request(None, &request(2))
    });
    let line = refused.expect_err("the NUL is refused").to_string();
    assert!(line.contains("the database refused"), "{line}");
    // A read after the refused write fails with the write's refusal, not the read's.
    let refused = store.transact(|t| {
        t.put_tenant(&tenant("bad\0id", "Bad"))?;
        t.request(1)
    });
    assert!(refused.expect_err("refused").to_string().contains("0x00"), "the write's own refusal comes back");
    let found = store.query(|t| Ok((t.request(1)?, t.request(2)?))).expect("read");
    assert_eq!(
        found,
        (None, None),
        "nothing of the refused transactions was kept, before or after the refusal"
    );
    store.transact(|t| t.save_request(None, &request(1))).expect("the store writes on");
}

#[test]
fn connections_the_server_closed_while_idle_are_replaced_without_a_failure() {
    let Some(url) = pg::database() else { return };
    let store: Arc<dyn Storage> = Arc::new(PgStorage::open(&url, OpenMode::Create).expect("open"));
    store.transact(|t| t.save_request(None, &request(1))).expect("a write");
    assert!(store.query(|t| t.request(1)).expect("a read").is_some());
    // A server restart, as the pool's idle connections see it.
    let mut admin = admin(&url);
    let closed: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'jitdesk'",
            &[],
        )
        .expect("terminate")
        .get(0);
    assert!(closed >= 1, "the pool had connections to close");
    // Wait until they are gone, so that the next checkout finds one closed.
    for polls in 0.. {
        assert!(polls < 3000, "the terminated connections never went");
        let left: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'jitdesk'",
                &[],
            )
            .expect("count")
            .get(0);
        if left == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(store.query(|t| t.request(1)).expect("a read on a fresh connection").is_some());
    store.transact(|t| t.save_request(None, &request(2))).expect("a write on a fresh connection");
    assert!(store.query(|t| t.request(2)).expect("read back").is_some());
}
