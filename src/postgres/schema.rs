//! The database's schema and its versions: each migration is SQL run once, in order, inside one
//! transaction with the version it brings the database to, under an advisory lock so that two
//! replicas starting at once migrate once. Records are kept whole as `bytea` in the store's
//! compact encoding (`store::codec`), beside the columns the queries filter and sort on; every
//! list walks an index. Text keys sort as bytes (`COLLATE "C"`), as redb's do.

use std::path::PathBuf;

use ::postgres::Client;

use super::errors;
use crate::domain::OpenMode;
use crate::engine::StoreError;

/// The advisory lock a migration holds: one per database, whoever opens it.
const MIGRATION_LOCK: i64 = 0x6a69_7464_6573_6b00;

/// Migration 1: every table of jitdesk's data.
const MIGRATION_1: &str = r#"
CREATE TABLE jitdesk_meta (key text COLLATE "C" PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE tenants (id text COLLATE "C" PRIMARY KEY, record bytea NOT NULL);
CREATE TABLE users (
    upn text COLLATE "C" PRIMARY KEY,
    login text COLLATE "C",
    object_id text COLLATE "C" NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX users_by_login ON users (login, upn) WHERE login IS NOT NULL;
CREATE INDEX users_by_object_id ON users (object_id, upn);
CREATE TABLE offers (id text COLLATE "C" PRIMARY KEY, record bytea NOT NULL);
CREATE TABLE apps (
    name text COLLATE "C" PRIMARY KEY,
    resource_id text COLLATE "C" NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX apps_by_resource_id ON apps (resource_id, name);
CREATE TABLE apps_by_tenant (
    tenant text COLLATE "C" NOT NULL,
    app text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, app)
);
CREATE INDEX apps_by_tenant_app ON apps_by_tenant (app);
CREATE TABLE requests (
    id bigint PRIMARY KEY,
    state smallint NOT NULL,
    app text COLLATE "C" NOT NULL,
    requester text COLLATE "C" NOT NULL,
    created_ms bigint NOT NULL,
    deadline_ms bigint,
    arm_name text COLLATE "C",
    record bytea NOT NULL
);
CREATE INDEX requests_by_state ON requests (state, id);
CREATE INDEX requests_by_app ON requests (app, id);
CREATE INDEX requests_by_state_app ON requests (state, app, id);
CREATE INDEX requests_by_requester ON requests (requester, app, id);
CREATE INDEX requests_by_created ON requests (created_ms);
CREATE INDEX requests_by_deadline ON requests (deadline_ms, id) WHERE deadline_ms IS NOT NULL;
CREATE INDEX requests_by_arm_name ON requests (arm_name) WHERE arm_name IS NOT NULL;
CREATE TABLE ending_warnings (at_ms bigint NOT NULL, request bigint NOT NULL, PRIMARY KEY (at_ms, request));
CREATE TABLE audit (
    id bigint PRIMARY KEY,
    at_ms bigint NOT NULL,
    app text COLLATE "C",
    request bigint,
    record bytea NOT NULL
);
CREATE INDEX audit_by_app ON audit (app, id) WHERE app IS NOT NULL;
CREATE INDEX audit_by_request ON audit (request, id) WHERE request IS NOT NULL;
CREATE INDEX audit_by_time ON audit (at_ms);
CREATE TABLE notified (
    recipient text COLLATE "C" NOT NULL,
    audit bigint NOT NULL,
    PRIMARY KEY (recipient, audit)
);
CREATE INDEX notified_by_audit ON notified (audit, recipient);
CREATE TABLE notifications_seen (upn text COLLATE "C" PRIMARY KEY, upto bigint NOT NULL);
CREATE TABLE ssh_keys (
    fingerprint text COLLATE "C" PRIMARY KEY,
    upn text COLLATE "C" NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX ssh_keys_by_user ON ssh_keys (upn, fingerprint);
CREATE TABLE tenant_cas (
    tenant text COLLATE "C" NOT NULL,
    fingerprint text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, fingerprint)
);
CREATE INDEX tenant_cas_by_fingerprint ON tenant_cas (fingerprint, tenant);
CREATE TABLE tokens (
    id text COLLATE "C" PRIMARY KEY,
    hash text COLLATE "C" NOT NULL,
    owner text COLLATE "C" NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX tokens_by_hash ON tokens (hash);
CREATE INDEX tokens_by_owner ON tokens (owner, id);
CREATE TABLE channels (id bigint PRIMARY KEY, tenant text COLLATE "C" NOT NULL, record bytea NOT NULL);
CREATE INDEX channels_by_tenant ON channels (tenant, id);
CREATE TABLE contacts (upn text COLLATE "C" PRIMARY KEY, record bytea NOT NULL);
CREATE TABLE deliveries (
    id bigint PRIMARY KEY,
    tenant text COLLATE "C" NOT NULL,
    addressee text COLLATE "C",
    channel bigint NOT NULL,
    state smallint NOT NULL,
    next_ms bigint NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX deliveries_by_tenant ON deliveries (tenant, id);
CREATE INDEX deliveries_to ON deliveries (addressee, id) WHERE addressee IS NOT NULL;
CREATE INDEX deliveries_due ON deliveries (next_ms, id) WHERE state = 0;
CREATE INDEX mail_queued ON deliveries (addressee, channel, id) WHERE state = 0 AND addressee IS NOT NULL;
CREATE INDEX deliveries_failed ON deliveries (id) WHERE state = 2;
CREATE INDEX deliveries_failed_by_tenant ON deliveries (tenant, id) WHERE state = 2;
CREATE INDEX deliveries_failed_to ON deliveries (addressee, id) WHERE state = 2;
CREATE TABLE groups (
    id text COLLATE "C" PRIMARY KEY,
    tenant text COLLATE "C" NOT NULL,
    object_id text COLLATE "C" NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX groups_by_tenant ON groups (tenant, id);
CREATE INDEX groups_by_object_id ON groups (object_id, id);
CREATE TABLE group_members (
    group_id text COLLATE "C" NOT NULL,
    upn text COLLATE "C" NOT NULL,
    PRIMARY KEY (group_id, upn)
);
CREATE INDEX groups_of_user ON group_members (upn, group_id);
"#;

/// Migration 2: the number every change to the directory counts up, so that a write transaction
/// can tell whether the directory records it keeps still hold (`transaction.rs`). Triggers count
/// it, so that every writer does: a replica of an older jitdesk still running through an upgrade,
/// or a change made by hand.
const MIGRATION_2: &str = r#"
INSERT INTO jitdesk_meta VALUES ('directory_version', 0);
CREATE FUNCTION jitdesk_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE jitdesk_meta SET value = value + 1 WHERE key = 'directory_version';
    RETURN NULL;
END
$$;
CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION jitdesk_directory_changed();
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION jitdesk_directory_changed();
CREATE TRIGGER offers_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON offers
    FOR EACH STATEMENT EXECUTE FUNCTION jitdesk_directory_changed();
CREATE TRIGGER apps_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON apps
    FOR EACH STATEMENT EXECUTE FUNCTION jitdesk_directory_changed();
CREATE TRIGGER groups_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION jitdesk_directory_changed();
CREATE TRIGGER group_members_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_members
    FOR EACH STATEMENT EXECUTE FUNCTION jitdesk_directory_changed();
CREATE TRIGGER channels_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON channels
    FOR EACH STATEMENT EXECUTE FUNCTION jitdesk_directory_changed();
CREATE TRIGGER contacts_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON contacts
    FOR EACH STATEMENT EXECUTE FUNCTION jitdesk_directory_changed();
"#;

/// Every migration, in order: the database's version is how many have run.
const MIGRATIONS: &[&str] = &[MIGRATION_1, MIGRATION_2];

/// The schema this build writes: 2, every table of jitdesk's data and the directory's version.
pub const SCHEMA_VERSION: u32 = 2;

/// Every table of jitdesk's data, for `info`.
pub(super) const TABLES: &[&str] = &[
    "jitdesk_meta",
    "tenants",
    "users",
    "offers",
    "apps",
    "apps_by_tenant",
    "requests",
    "ending_warnings",
    "audit",
    "notified",
    "notifications_seen",
    "ssh_keys",
    "tenant_cas",
    "tokens",
    "channels",
    "contacts",
    "deliveries",
    "groups",
    "group_members",
];

/// Checks that the database holds jitdesk's schema in a version this build knows, creating it
/// (`OpenMode::Create`) or bringing an older one up to date; one transaction, under the lock.
pub(super) fn migrate(client: &mut Client, url: &str, mode: OpenMode) -> Result<(), StoreError> {
    let fail = |e: ::postgres::Error| errors::storage(&e);
    let mut txn = client.transaction().map_err(fail)?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(fail)?;
    let exists: bool =
        txn.query_one("SELECT to_regclass('jitdesk_schema') IS NOT NULL", &[]).map_err(fail)?.get(0);
    let found = if exists {
        let row = txn.query_opt("SELECT version FROM jitdesk_schema", &[]).map_err(fail)?;
        row.map_or(0, |row| u32::try_from(row.get::<_, i32>(0)).unwrap_or(0))
    } else {
        0
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::Newer { path: PathBuf::from(url), found, known: SCHEMA_VERSION });
    }
    if found == 0 && mode == OpenMode::Existing {
        return Err(StoreError::Missing(PathBuf::from(url)));
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    if !exists {
        txn.batch_execute("CREATE TABLE jitdesk_schema (version integer NOT NULL)").map_err(fail)?;
        txn.execute("INSERT INTO jitdesk_schema VALUES (0)", &[]).map_err(fail)?;
    }
    for (done, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        txn.batch_execute(sql).map_err(fail)?;
        let version = i32::try_from(done + 1).unwrap_or(i32::MAX);
        txn.execute("UPDATE jitdesk_schema SET version = $1", &[&version]).map_err(fail)?;
    }
    txn.commit().map_err(fail)
}
