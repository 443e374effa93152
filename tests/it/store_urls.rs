//! A store named by a PostgreSQL URL or by config.toml, at the command line: a URL carrying a
//! password is refused before anything is opened, without repeating it; what only a redb file
//! has (compaction) is refused for a database in one line; `store = "..."` in config.toml names
//! the store, and `--store` wins over it.

use crate::common::*;

#[test]
fn a_password_in_the_store_url_is_refused_before_anything_is_opened() {
    for (args, env) in [
        (&["--store", "postgres://jit:hunter2@db.example.com/jitdesk", "request", "list"][..], None),
        (&["init"], Some("postgres://jit@db.example.com/jitdesk?password=hunter2")),
    ] {
        let mut cmd = bare_command();
        cmd.args(args);
        if let Some(url) = env {
            cmd.env("JITDESK_STORE", url);
        }
        let run = Run::from_cmd(&mut cmd);
        assert_eq!(run.code, 1, "{run:?}");
        let line = run.error_line();
        assert!(line.contains("password_file") && line.contains("JITDESK_STORE"), "{line}");
        assert!(!line.contains("hunter2"), "the password is never repeated: {line}");
    }
}

#[test]
fn a_database_is_not_compacted_by_jitdesk() {
    let mut cmd = bare_command();
    cmd.args(["--store", "postgres://jit@db.example.com/jitdesk", "store", "compact"]);
    let run = Run::from_cmd(&mut cmd);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.error_line().contains("VACUUM"), "{}", run.stderr);
}

#[test]
fn config_names_the_store_and_the_flag_wins() {
    let sample = Store::new();
    sample.ok(&["init", "--sample"]);
    let empty = Store::init();
    let config = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir(config.path().join("jitdesk")).expect("the config folder");
    let text = format!("store = {:?}\n", sample.path.display().to_string());
    std::fs::write(config.path().join("jitdesk").join("config.toml"), text).expect("config.toml");
    let tenants = |store: Option<&Store>| {
        let mut cmd = bare_command();
        cmd.env("XDG_CONFIG_HOME", config.path());
        if let Some(store) = store {
            cmd.arg("--store").arg(&store.path);
        }
        cmd.args(["tenant", "list", "--json"]);
        let listed =
            parse_json(&["tenant", "list"], &expect_ok(&["tenant", "list"], Run::from_cmd(&mut cmd)));
        listed.as_array().expect("a list").len()
    };
    assert_eq!(tenants(None), 3, "the sample's tenants, from the store config.toml names");
    assert_eq!(tenants(Some(&empty)), 0, "--store wins");
}
