//! `jitdesk store info` and `jitdesk store compact`: what the file holds, table by table, with the
//! cache the config sets; compacting keeps every record and is refused, in one line and without
//! a change, while a service holds the store.

use crate::common::Store;
use crate::common::serve::Serve;
use serde_json::Value;

fn table<'a>(info: &'a Value, name: &str) -> &'a Value {
    info["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn store_info_counts_each_table_and_shows_the_cache_the_config_sets() {
    let store = Store::new();
    store.ok(&["init", "--sample"]);
    let config = store.dir.path().join("config");
    let home = config.to_str().unwrap();
    let info = |args: &[&str]| {
        let run = store.run_with(args, &[("XDG_CONFIG_HOME", home)]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };

    let json: Value = serde_json::from_str(&info(&["store", "info", "--json"])).unwrap();
    assert_eq!(json["schema"], jitdesk::store::SCHEMA_VERSION);
    assert_eq!(json["cacheBytes"], 64 << 20, "the default cache");
    let requests = store.json(&["request", "list", "--json", "--limit", "1000"]);
    assert_eq!(table(&json, "requests")["entries"], requests.as_array().unwrap().len());
    assert_eq!(table(&json, "apps")["entries"], 4);
    assert_eq!(table(&json, "apps_by_tenant")["entries"], 8, "each application under its two tenants");
    for t in json["tables"].as_array().unwrap() {
        let entries = t["entries"].as_u64().unwrap();
        assert_eq!(entries == 0, t["storedBytes"] == 0, "{t}");
    }
    let file = json["fileBytes"].as_u64().unwrap();
    assert_eq!(file, std::fs::metadata(&store.path).unwrap().len());

    std::fs::create_dir_all(config.join("jitdesk")).unwrap();
    std::fs::write(config.join("jitdesk/config.toml"), "[store]\ncache_mib = 7\n").unwrap();
    let json: Value = serde_json::from_str(&info(&["store", "info", "--json"])).unwrap();
    assert_eq!(json["cacheBytes"], 7 << 20, "the configured cache");
    let text = info(&["store", "info"]);
    let schema = format!("schema  {}", jitdesk::store::SCHEMA_VERSION);
    assert!(text.contains(&schema) && text.contains("cache   7 MiB"), "{text}");
    let row = text.lines().find(|l| l.starts_with("requests ")).expect("a row for requests");
    assert_eq!(row.split_whitespace().nth(1), Some(requests.as_array().unwrap().len().to_string().as_str()));

    // A mistake in the setting is one line naming the file and line, and nothing is opened.
    std::fs::write(config.join("jitdesk/config.toml"), "[store]\ncache_mb = 7\n").unwrap();
    let run = store.run_with(&["store", "info"], &[("XDG_CONFIG_HOME", home)]);
    assert_eq!(run.code, 1);
    assert!(run.error_line().contains("config.toml line 2"), "{}", run.stderr);
}

#[test]
fn store_compact_keeps_every_record() {
    let store = Store::new();
    store.ok(&["init", "--sample"]);
    let before = store.snapshot();
    let out = store.ok(&["store", "compact"]);
    assert!(out.starts_with("compacted ") && out.contains(" bytes, was "), "{out}");
    let size = std::fs::metadata(&store.path).unwrap().len();
    assert!(out.contains(&format!(": {size} bytes,")), "{out} ({size} bytes)");
    assert_eq!(store.snapshot(), before);
}

#[test]
fn store_compact_is_refused_while_a_service_holds_the_store() {
    let store = Store::new();
    store.ok(&["init", "--sample"]);
    let before = store.snapshot();
    let serve = Serve::on(&store.path);
    let run = store.run(&["store", "compact"]);
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(line.contains("cannot compact") && line.contains("stop it first"), "{line}");
    // Through the service, everything is as it was.
    assert_eq!(store.snapshot(), before);
    drop(serve);
}

/// A store filled out of key order (as the sample's story fills it, then left uncompacted) has
/// half-empty pages; compacting packs them, so the file shrinks and every table's unused space
/// with it, and every record stays.
#[tokio::test]
async fn store_compact_packs_half_empty_pages() {
    use jitdesk::engine::maintenance::{compact, store_info};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 3, 2, 9, 0, 0).unwrap();
    jitdesk::sample::create_at(&path, 1000, now).await.unwrap();
    let unused = |info: &jitdesk::engine::maintenance::StoreInfo| -> u64 {
        info.tables.iter().map(|t| t.fragmented_bytes).sum()
    };
    let before = store_info(&path).await.unwrap();
    let done = compact(&path).await.unwrap();
    let after = store_info(&path).await.unwrap();
    assert_eq!(done.before, before.file_bytes);
    assert_eq!(done.after, after.file_bytes);
    assert!(after.file_bytes < before.file_bytes, "{} -> {}", before.file_bytes, after.file_bytes);
    assert!(unused(&after) < unused(&before), "{} -> {}", unused(&before), unused(&after));
    let entries = |info: &jitdesk::engine::maintenance::StoreInfo| -> Vec<(&str, u64)> {
        info.tables.iter().map(|t| (t.name, t.entries)).collect()
    };
    assert_eq!(entries(&after), entries(&before));
}
