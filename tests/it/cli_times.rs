//! Times on the command line name their zone: the system's (`TZ`), or UTC when `--utc` or
//! `time = "utc"` in config.toml asks, so a time read off one screen can be told to someone elsewhere.

use crate::common::*;

/// A start in winter and one in summer, so New York shows both its names.
const WINTER: &str = "2030-01-15T06:15:00Z";
const SUMMER: &str = "2030-07-15T16:00:00Z";

/// A request by Dave on `prod` starting at `start`, approved by Alice so it has a grant.
fn approved_at(s: &Store, start: &str) -> String {
    let out = s.ok_as(
        DAVE,
        &[
            "request",
            "create",
            "--app",
            "prod",
            "--role",
            "Owner",
            "--duration",
            "1h",
            "--start",
            start,
            "--reason",
            "a change",
        ],
    );
    let id = parse_id(&out).to_string();
    s.ok_as(ALICE, &["request", "approve", &id, "--reason", "agreed"]);
    id
}

fn ok_with(s: &Store, args: &[&str], env: &[(&str, &str)]) -> String {
    let run = s.run_with(args, env);
    expect_ok(args, run)
}

#[test]
fn request_show_and_the_grants_table_print_times_in_the_named_zone() {
    let s = directory();
    let winter = approved_at(&s, WINTER);
    let summer = approved_at(&s, SUMMER);
    for (tz, winter_start, summer_start) in [
        ("UTC", "2030-01-15 06:15 UTC", "2030-07-15 16:00 UTC"),
        ("Asia/Kolkata", "2030-01-15 11:45 IST", "2030-07-15 21:30 IST"),
        ("America/New_York", "2030-01-15 01:15 EST", "2030-07-15 12:00 EDT"),
    ] {
        let env = [("TZ", tz)];
        let show = ok_with(&s, &["--as", ALICE, "request", "show", &winter], &env);
        let start = show.lines().find(|l| l.starts_with("start")).expect("a start line");
        assert!(start.ends_with(winter_start), "TZ={tz}: {start}");
        let show = ok_with(&s, &["--as", ALICE, "request", "show", &summer], &env);
        let start = show.lines().find(|l| l.starts_with("start")).expect("a start line");
        assert!(start.ends_with(summer_start), "TZ={tz}: {start}");

        let grants = ok_with(&s, &["--as", ALICE, "access", "list"], &env);
        assert!(grants.contains(winter_start) && grants.contains(summer_start), "TZ={tz}:\n{grants}");
    }
}

#[test]
fn the_audit_log_and_notifications_name_the_zone_on_every_row() {
    let s = directory();
    approved_at(&s, WINTER);
    for (tz, zone) in [("UTC", " UTC"), ("Asia/Kolkata", " IST")] {
        let audit = ok_with(&s, &["--as", ALICE, "audit"], &[("TZ", tz)]);
        let rows: Vec<&str> = audit.lines().skip(1).collect();
        assert!(!rows.is_empty(), "{audit}");
        assert!(rows.iter().all(|r| r.contains(zone)), "TZ={tz}:\n{audit}");
        let notes = ok_with(&s, &["--as", DAVE, "notifications"], &[("TZ", tz)]);
        let rows: Vec<&str> = notes.lines().skip(1).collect();
        assert!(!rows.is_empty(), "{notes}");
        assert!(rows.iter().all(|r| r.contains(zone)), "TZ={tz}:\n{notes}");
    }
}

#[test]
fn utc_is_shown_when_asked_for_by_flag_or_config() {
    let s = directory();
    let id = approved_at(&s, WINTER);
    let kolkata = [("TZ", "Asia/Kolkata")];
    let show = ok_with(&s, &["--utc", "--as", ALICE, "request", "show", &id], &kolkata);
    assert!(show.contains("2030-01-15 06:15 UTC") && !show.contains("IST"), "{show}");

    let config = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(config.path().join("jitdesk")).expect("config dir");
    std::fs::write(config.path().join("jitdesk/config.toml"), "time = \"utc\"\n").expect("config");
    let home = config.path().to_str().expect("a UTF-8 path");
    let env = [("TZ", "Asia/Kolkata"), ("XDG_CONFIG_HOME", home)];
    let show = ok_with(&s, &["--as", ALICE, "request", "show", &id], &env);
    assert!(show.contains("2030-01-15 06:15 UTC") && !show.contains("IST"), "{show}");
}
