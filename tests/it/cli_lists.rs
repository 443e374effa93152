//! Lists on the command line: a limit of 100 unless asked, never more than 1,000, and `--after` to
//! walk on from the last item shown, so no command reads a whole store into memory at once.

use serde_json::Value;

use crate::common::*;

fn ids(v: &Value, key: &str) -> Vec<Value> {
    v.as_array().expect("a JSON array").iter().map(|i| i[key].clone()).collect()
}

/// Walks a list with `--limit` and `--after`, as a script would: the keys, in order.
fn walk(s: &Store, who: &str, args: &[&str], limit: usize, key: &str) -> Vec<Value> {
    let mut keys: Vec<Value> = Vec::new();
    loop {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(["--json".to_string(), "--limit".to_string(), limit.to_string()]);
        if let Some(last) = keys.last() {
            all.push("--after".into());
            all.push(last.as_str().map_or_else(|| last.to_string(), str::to_string));
        }
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let part = ids(&s.json_as(who, &all), key);
        assert!(part.len() <= limit, "{all:?}");
        if part.is_empty() {
            return keys;
        }
        keys.extend(part);
        assert!(keys.len() <= 1000, "{args:?}: the walk does not end");
    }
}

#[test]
fn lists_walk_on_with_after_and_refuse_limits_over_the_maximum() {
    let s = directory();
    for (who, app) in [(DAVE, "dev"), (ERIN, "dev"), (DAVE, "prod"), (ERIN, "prod")] {
        s.create_request(who, app, "Owner", "1h", "something to list");
    }
    let lists: [(&[&str], &str); 7] = [
        (&["request", "list"], "id"),
        (&["access", "list"], "id"),
        (&["audit"], "id"),
        (&["app", "list"], "name"),
        (&["notifications"], "id"),
        (&["user", "search", "o"], "upn"),
        (&["offer", "list"], "id"),
    ];
    for (args, key) in lists {
        let mut whole_args = args.to_vec();
        whole_args.push("--json");
        let whole = ids(&s.json_as(ALICE, &whole_args), key);
        assert!(whole.len() >= 2, "{args:?}: something to walk");
        for limit in [1, 2, 3] {
            assert_eq!(walk(&s, ALICE, args, limit, key), whole, "{args:?} by {limit}");
        }
        // A refused limit is a usage error, like any other bad value: exit 2, one line.
        for limit in ["0", "1001", "many"] {
            let mut bad = args.to_vec();
            bad.extend(["--limit", limit]);
            let run = s.run_as(ALICE, &bad);
            assert_eq!(run.code, 2, "{bad:?}: {run:?}");
            assert_eq!(run.stderr.lines().count(), 1, "{bad:?}: {run:?}");
            assert!(run.stdout.is_empty());
        }
        let mut max = whole_args.clone();
        max.extend(["--limit", "1000"]);
        assert_eq!(ids(&s.json_as(ALICE, &max), key), whole);
    }
    // A table cut short says, on stderr, where the rest begins.
    let run = s.run_as(ALICE, &["audit", "--limit", "1"]);
    assert_eq!(run.code, 0, "{run:?}");
    let newest = ids(&s.json_as(ALICE, &["audit", "--json", "--limit", "1"]), "id")[0].clone();
    assert_eq!(run.stderr, format!("(there are more: see them with --after {newest})\n"));
}

#[test]
fn a_list_gives_a_hundred_unless_asked() {
    let s = directory();
    // The directory's own changes fill the operator's audit log; add more than a hundred records.
    for i in 0..50 {
        s.ok(&["tenant", "add", &format!("t{i}"), "--kind", "customer"]);
        s.ok(&["user", "add", &format!("u{i}@t{i}.com"), "--tenant", &format!("t{i}")]);
    }
    let all = s.json(&["audit", "--json", "--limit", "1000"]);
    assert!(all.as_array().unwrap().len() > 100, "more than the default");
    assert_eq!(s.json(&["audit", "--json"]).as_array().unwrap().len(), 100);
}
