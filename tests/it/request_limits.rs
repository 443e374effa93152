//! The per-requester limits of config.toml (`[limits]`): new requests per hour and requests open at
//! once. They are rules of the engine, so the local CLI obeys them exactly as the service does; the
//! service answers 429 with `Retry-After`, the CLI one `error:` line with the time and exit 1.

use std::path::Path;

use crate::common::serve::{Serve, header, status};
use crate::common::{self, ALICE, DAVE, ERIN, Store, as_user, request_create};

/// A config folder whose config.toml holds these limits.
fn limits(per_hour: u32, live: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("config dir");
    std::fs::create_dir(dir.path().join("jitdesk")).expect("config folder");
    let text = format!("[limits]\nrequests_per_hour = {per_hour}\nlive_grants = {live}\n");
    std::fs::write(dir.path().join("jitdesk").join("config.toml"), text).expect("config file");
    dir
}

/// `request create` on `dev` (automatic approval) as `upn`, with the config folder given.
fn create_with(s: &Store, config: &Path, upn: &str) -> common::Run {
    let config = config.to_str().expect("a UTF-8 path");
    s.run_with(&as_user(upn, &request_create("dev", "Owner", "1h", "x")), &[("XDG_CONFIG_HOME", config)])
}

/// The refusal a limit gives through the CLI: one line naming the time to try again, exit 1.
fn refused_for_now(run: &common::Run) -> String {
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line().to_string();
    assert!(line.contains("try again after 20") && line.contains(" UTC"), "{line}");
    line
}

#[test]
fn the_local_cli_obeys_the_creation_rate() {
    let s = common::directory();
    let config = limits(2, 100);
    for _ in 0..2 {
        let run = create_with(&s, config.path(), DAVE);
        assert_eq!(run.code, 0, "{run:?}");
    }
    let before = s.snapshot();
    let line = refused_for_now(&create_with(&s, config.path(), DAVE));
    assert!(line.contains("in the last hour as allowed (2)"), "{line}");
    assert_eq!(s.snapshot(), before, "a refused request leaves nothing behind");
    // The limit is per requester: another one is not held back.
    assert_eq!(create_with(&s, config.path(), ERIN).code, 0);
}

#[test]
fn the_local_cli_obeys_the_cap_on_live_grants() {
    let s = common::directory();
    let config = limits(100, 2);
    for _ in 0..2 {
        assert_eq!(create_with(&s, config.path(), DAVE).code, 0);
    }
    let line = refused_for_now(&create_with(&s, config.path(), DAVE));
    assert!(line.contains("pending or granted as allowed at once (2)"), "{line}");
    // Once a grant ends early, there is room again.
    let id = s.json(&["request", "list", "--json"])[0]["id"].as_u64().expect("an id");
    s.ok_as(ALICE, &["access", "revoke", &id.to_string(), "--reason", "done"]);
    assert_eq!(create_with(&s, config.path(), DAVE).code, 0);
}

#[test]
fn without_limits_in_the_config_the_defaults_apply() {
    let s = common::directory();
    let config = tempfile::tempdir().expect("an empty config folder");
    let mut refused = None;
    for n in 0..40 {
        let run = create_with(&s, config.path(), DAVE);
        if run.code != 0 {
            refused = Some((n, run));
            break;
        }
    }
    let (n, run) = refused.expect("the default cap stops a loop of requests");
    assert_eq!(n, 20, "the default cap on live grants");
    refused_for_now(&run);
}

#[test]
fn the_service_answers_429_with_retry_after_and_its_clients_exit_1() {
    let s = common::directory();
    let config = limits(100, 1);
    let service = Serve::start(&s, config.path(), false);
    let body = r#"{"app": "dev", "roles": ["Owner"], "duration": "PT1H", "justification": "x"}"#;
    let create = |upn| service.call("POST", "/v1/requests", &[("X-Jitdesk-As", upn)], body);
    let first = create(DAVE);
    assert_eq!(status(&first), 201, "{first}");
    let second = create(DAVE);
    assert_eq!(status(&second), 429, "{second}");
    assert!(second.contains(r#""kind":"limited""#), "{second}");
    let retry = header(&second, "retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("a Retry-After in seconds: {second}"));
    // The grant lasts an hour: trying again makes sense once it ends, not before, not much later.
    assert!((3000..=3600).contains(&retry), "{retry}");
    // The CLI through the service (the test's uid is the service's operator) says the same in one line.
    let line = refused_for_now(&create_with(&s, config.path(), DAVE));
    assert!(line.contains("pending or granted as allowed at once (1)"), "{line}");
}
