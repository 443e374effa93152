//! Human output: aligned tables and key-value blocks. Every cell passes through the sanitizer,
//! because names, justifications and reasons come from other people.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use unicode_width::UnicodeWidthStr;

use crate::domain::rules::{self, AccessStatus};
use crate::domain::text::sanitize;
use crate::domain::time_style::TimeStyle;
use crate::domain::when::until;
use crate::domain::*;
use crate::engine::RequestDetail;

/// How times are shown: in full with their zone, the dashboard's style, so both read alike;
/// countdowns are relative to `now`.
pub struct Times {
    pub zone: TimeStyle,
    pub now: DateTime<Utc>,
}

impl Times {
    pub fn time(&self, t: DateTime<Utc>) -> String {
        self.zone.full(t)
    }

    fn time_rel(&self, t: DateTime<Utc>) -> String {
        format!("{} ({})", self.time(t), until(self.now, t))
    }
}

/// Aligned columns without borders: each column as wide as its widest cell (at least 1), cells
/// left-aligned and two spaces apart, no trailing spaces, the header first. This is the layout of
/// comfy-table's borderless preset, made in one pass over the cells: a command prints one such
/// table and exits, and comfy-table's general layout (wrapping, styles, per-line splitting) cost
/// more than the query behind the table. `tests::the_layout_is_comfy_tables` holds the two to
/// the same bytes.
pub fn table<const N: usize>(header: [&str; N], rows: impl IntoIterator<Item = [String; N]>) -> String {
    let rows: Vec<[String; N]> = rows
        .into_iter()
        .map(|row| {
            row.map(|cell| match sanitize(&cell) {
                Cow::Borrowed(_) => cell,
                Cow::Owned(clean) => clean,
            })
        })
        .collect();
    let lines: Vec<[(String, usize); N]> = std::iter::once(header.map(str::to_string))
        .chain(rows)
        .map(|row| {
            row.map(|cell| {
                let w = width(&cell);
                (cell, w)
            })
        })
        .collect();
    let mut widths = [1; N];
    for row in &lines {
        for (width, (_, w)) in widths.iter_mut().zip(row) {
            *width = (*width).max(*w);
        }
    }
    let mut out = String::new();
    let mut line = String::new();
    for cells in &lines {
        line.clear();
        for ((cell, w), width) in cells.iter().zip(widths) {
            // A space either side of each cell, as comfy-table pads.
            line.push(' ');
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', width - w + 1));
        }
        // Flush left and without the padding at the end; a line of blank cells stays as it is.
        out.push_str(line.trim_end().strip_prefix(' ').unwrap_or(&line));
        out.push('\n');
    }
    out
}

/// The columns `cell` takes on a terminal. Cells are sanitized and headers are ours, so ASCII in
/// them is printable, one column a byte, and only other text needs Unicode's widths.
fn width(cell: &str) -> usize {
    if cell.is_ascii() { cell.len() } else { cell.width() }
}

fn pairs(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter().map(|(k, v)| format!("{k:width$}  {}\n", sanitize(v))).collect()
}

pub fn offers(offers: &[Offer]) -> String {
    table(
        ["ID", "NAME", "PUBLISHER", "JIT", "ROLES"],
        offers.iter().map(|o| {
            [
                o.id.clone(),
                o.name.clone(),
                o.publisher_tenant.clone(),
                yes_no(o.jit_available).into(),
                o.roles.join(","),
            ]
        }),
    )
}

pub fn users(users: &[User]) -> String {
    table(
        ["UPN", "NAME", "TENANT", "ADMIN", "LOGIN"],
        users.iter().map(|u| {
            [
                u.upn.clone(),
                u.display_name.clone(),
                u.tenant.clone(),
                yes_no(u.admin).into(),
                u.login.clone().unwrap_or_default(),
            ]
        }),
    )
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn mode(p: &JitPolicy) -> String {
    match (p.enabled, p.mode) {
        (false, _) => "-".into(),
        (true, ApprovalMode::AutoApprove) => "auto".into(),
        (true, ApprovalMode::ManualApprove) => "manual".into(),
    }
}

pub fn apps(apps: &[Application]) -> String {
    table(
        ["NAME", "OFFER", "PUBLISHER", "JIT", "MODE", "MAX", "APPROVERS"],
        apps.iter().map(|a| {
            let p = &a.policy;
            [
                a.name.clone(),
                a.offer.clone(),
                a.publisher_tenant.clone(),
                yes_no(p.enabled).into(),
                mode(p),
                if p.enabled { p.max_duration.to_string() } else { "-".into() },
                p.approvers
                    .iter()
                    .cloned()
                    .chain(p.approver_groups.iter().map(|g| format!("group:{g}")))
                    .collect::<Vec<_>>()
                    .join(","),
            ]
        }),
    )
}

/// An approver as `app show` names it: a user by UPN, a group by its name and id.
fn approver(a: &crate::json::Approver) -> String {
    if a.kind == "user" { a.id.clone() } else { format!("group {} ({})", a.display_name, a.id) }
}

/// `approvers` are the application's, with their names (`json::App`'s `jitApprovers`).
pub fn app(
    a: &Application,
    approvers: &[crate::json::Approver],
    grants: &[AccessRequest],
    times: &Times,
) -> String {
    let p = &a.policy;
    let mut rows = vec![
        ("name", a.name.clone()),
        ("offer", a.offer.clone()),
        ("customer", a.customer_tenant.clone()),
        ("publisher", a.publisher_tenant.clone()),
        ("resource group", a.resource_group.clone()),
        ("deployed", format!("{} by {}", times.time(a.deployed_at), a.deployed_by)),
    ];
    if p.enabled {
        rows.extend([
            ("JIT access", "enabled".to_string()),
            ("approval", format!("{:?}", p.mode)),
            ("max duration", format!("{} ({})", p.max_duration, p.max_duration.iso())),
            ("request timeout", format!("{} ({})", p.request_timeout, p.request_timeout.iso())),
            (
                "approvers",
                if approvers.is_empty() {
                    "none".into()
                } else {
                    approvers.iter().map(approver).collect::<Vec<_>>().join(", ")
                },
            ),
        ]);
        let now: Vec<String> = grants
            .iter()
            .filter_map(|g| Some(format!("{} until {}", g.requester, times.time_rel(g.end()?))))
            .collect();
        rows.push(("access now", if now.is_empty() { "nobody".into() } else { now.join("; ") }));
    } else {
        rows.push(("JIT access", "disabled: the publisher has permanent access".into()));
    }
    pairs(&rows)
}

/// A request's state, with how far its approvals are while it waits for more (`apps` has its
/// application's policy).
pub fn state(r: &AccessRequest, apps: &[Application]) -> String {
    rules::state_shown(r, apps.iter().find(|a| a.name == r.app).map(|a| &a.policy))
}

pub fn requests(requests: &[AccessRequest], apps: &[Application], times: &Times) -> String {
    table(
        ["ID", "APP", "REQUESTER", "STATE", "ROLES", "DURATION", "WHEN"],
        requests.iter().map(|r| {
            [
                r.id.to_string(),
                r.app.clone(),
                r.requester.clone(),
                state(r, apps),
                r.roles.join(","),
                r.duration.to_string(),
                when(r, times),
            ]
        }),
    )
}

/// The one time that matters for a request in its state.
fn when(r: &AccessRequest, times: &Times) -> String {
    match r.moment(times.now) {
        Some(Moment::Settled(t)) => times.time(t),
        Some(m @ (Moment::DecideBy(t) | Moment::Starts(t) | Moment::Ends(t))) => {
            format!("{} {}", m.verb(), until(times.now, t))
        }
        None => String::new(),
    }
}

pub fn request(d: &RequestDetail, apps: &[Application], times: &Times) -> String {
    let r = &d.request;
    let mut rows = vec![
        ("id", r.id.to_string()),
        ("application", r.app.clone()),
        ("requester", r.requester.clone()),
        ("state", state(r, apps)),
        ("roles", r.roles.join(", ")),
        ("start", times.time(r.start)),
        ("duration", format!("{} ({})", r.duration, r.duration.iso())),
        ("justification", r.justification.clone()),
        ("ticket", r.ticket.clone().unwrap_or_else(|| "-".into())),
        ("created", times.time(r.created_at)),
    ];
    if r.state == RequestState::Pending {
        rows.push(("decide by", times.time_rel(r.decide_by)));
    }
    for v in &r.approvals {
        rows.push(("approved by", format!("{} at {}: {}", v.by, times.time(v.at), v.reason)));
    }
    if let Some(v) = &r.decision {
        let verdict = if r.state == RequestState::Denied { "denied" } else { "approved" };
        rows.push(("decision", format!("{verdict} by {} at {}: {}", v.by, times.time(v.at), v.reason)));
    }
    if let Some((from, end)) = r.window() {
        rows.push(("access", format!("{} until {}", times.time(from), times.time_rel(end))));
    }
    if let Some(v) = &r.closed {
        rows.push(("ended", format!("{} by {}: {}", times.time(v.at), v.by, v.reason)));
    }
    for e in &r.extensions {
        rows.push(("extension", extension(e, times)));
    }
    let mut out = pairs(&rows);
    out.push_str("\nhistory\n");
    out.push_str(&audit(&d.history, times));
    out
}

/// One extension on one line: how much, who asked and why, and where it stands.
fn extension(e: &Extension, times: &Times) -> String {
    let asked =
        format!("+{} asked by {} at {}: {}", e.by, e.asked.by, times.time(e.asked.at), e.asked.reason);
    let stands = match (&e.state, &e.decision) {
        (ExtensionState::Pending, _) => format!("Pending, decide by {}", times.time_rel(e.decide_by)),
        (state, Some(v)) => format!("{state:?} by {} at {}: {}", v.by, times.time(v.at), v.reason),
        (state, None) => format!("{state:?}"),
    };
    format!("{asked}; {stands}")
}

pub fn grants(grants: &[AccessRequest], times: &Times) -> String {
    table(
        ["ID", "APP", "USER", "ROLES", "FROM", "UNTIL", "APPROVED BY", "REASON"],
        grants.iter().map(|g| {
            let (from, end) = g.window().unwrap_or((g.start, g.start));
            let decision = g.decision.clone();
            [
                g.id.to_string(),
                g.app.clone(),
                g.requester.clone(),
                g.roles.join(","),
                if from > times.now { times.time_rel(from) } else { times.time(from) },
                times.time_rel(end),
                decision.as_ref().map(|v| v.by.clone()).unwrap_or_default(),
                decision.map(|v| v.reason).unwrap_or_default(),
            ]
        }),
    )
}

pub fn access(app: &str, upn: &str, status: &AccessStatus, times: &Times) -> String {
    let line = match status {
        AccessStatus::Permanent => {
            format!("{upn} has permanent access to {app}: it was deployed without JIT access")
        }
        AccessStatus::Active { request, until } => {
            format!("{upn} has access to {app} until {} (request {request})", times.time_rel(*until))
        }
        AccessStatus::None { why } => format!("{upn} has no access to {app}: {why}"),
    };
    format!("{}\n", sanitize(&line))
}

/// A change to an application itself (its JIT settings) names no request: `-`.
pub fn notifications(items: &[Notification], times: &Times) -> String {
    table(
        ["AT", "REQUEST", "MESSAGE"],
        items.iter().map(|n| {
            let request = n.request.map_or_else(|| "-".into(), |id| id.to_string());
            [times.time(n.at), request, n.message.clone()]
        }),
    )
}

pub fn audit(records: &[AuditRecord], times: &Times) -> String {
    table(
        ["AT", "ACTOR", "ACTION", "TARGET", "CHANGE", "REASON"],
        records.iter().map(|a| {
            let change = match (&a.before, &a.after) {
                (Some(b), Some(c)) => format!("{b} -> {c}"),
                (None, Some(c)) => c.clone(),
                _ => String::new(),
            };
            [
                times.time(a.at),
                a.actor.clone(),
                a.action.name().into(),
                a.target.to_string(),
                change,
                a.reason.clone().unwrap_or_default(),
            ]
        }),
    )
}

/// `store info`: the file, then one row a table.
pub fn store_info(path: &std::path::Path, info: &crate::engine::maintenance::StoreInfo) -> String {
    let mut out = format!(
        "store   {}\nschema  {}\nfile    {} bytes\ncache   {} MiB\n\n",
        path.display(),
        info.schema,
        info.file_bytes,
        info.cache_bytes >> 20
    );
    let rows = info.tables.iter().map(|t| {
        [
            t.name.to_string(),
            t.entries.to_string(),
            t.stored_bytes.to_string(),
            t.metadata_bytes.to_string(),
            t.fragmented_bytes.to_string(),
        ]
    });
    out.push_str(&table(["TABLE", "ENTRIES", "STORED BYTES", "METADATA BYTES", "FRAGMENTED BYTES"], rows));
    out
}

/// What `store copy` read from its source and found in its target, kind by kind.
pub fn copied(from: &std::path::Path, to: &std::path::Path, copied: &crate::engine::copy::Copied) -> String {
    let mut out = format!("copied {} into {}; the counts agree:\n\n", from.display(), to.display());
    let rows = copied
        .source
        .0
        .iter()
        .map(|(kind, n)| [kind.to_string(), n.to_string(), copied.target.of(kind).to_string()]);
    out.push_str(&table(["KIND", "SOURCE", "TARGET"], rows));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use comfy_table::{Table, presets};
    use proptest::prelude::*;

    /// The table as comfy-table lays it out with its borderless preset, flush left.
    fn comfy<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
        let mut table = Table::new();
        table.load_style(presets::NOTHING).set_header(header);
        for row in rows {
            table.add_row(row.clone().map(|cell| sanitize(&cell).into_owned()));
        }
        table.lines().map(|l| l.trim_end().strip_prefix(' ').unwrap_or(&l).to_string() + "\n").collect()
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_and_two_spaces_apart() {
        let rows =
            [["7".to_string(), "crm".to_string(), String::new()], ["1234".into(), "a".into(), "x".into()]];
        assert_eq!(table(["ID", "APP", "WHEN"], rows.clone()), "ID    APP  WHEN\n7     crm\n1234  a    x\n");
        assert_eq!(table(["ID", "APP", "WHEN"], rows.clone()), comfy(["ID", "APP", "WHEN"], &rows));
        assert_eq!(table(["ID"], Vec::<[String; 1]>::new()), "ID\n");
    }

    #[test]
    fn a_notification_that_names_no_request_shows_a_dash_for_it() {
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 26, 10, 0, 0).unwrap();
        let note = |request: Option<u64>, message: &str| Notification {
            id: 1,
            to: "a@x.com".into(),
            at,
            request,
            app: "crm".into(),
            action: crate::domain::Action::PolicyChanged,
            message: message.into(),
        };
        let times = Times { zone: TimeStyle::utc(), now: at };
        let shown = notifications(&[note(None, "settings changed"), note(Some(7), "asks")], &times);
        // The word after the time's zone is the request column.
        let request_of =
            |line: &str| line.split_whitespace().skip_while(|w| *w != "UTC").nth(1).map(String::from);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["AT", "REQUEST", "MESSAGE"]);
        assert_eq!(request_of(lines[1]).as_deref(), Some("-"), "{shown}");
        assert_eq!(request_of(lines[2]).as_deref(), Some("7"), "{shown}");
    }

    proptest! {
        #[test]
        fn the_layout_is_comfy_tables(
            rows in proptest::collection::vec(
                proptest::array::uniform3(prop_oneof![
                    "[a-z0-9@. -]{0,12}",
                    "\\PC{0,6}",
                    any::<String>(),
                    Just(String::new()),
                    Just(" ".to_string()),
                ]),
                0..6,
            )
        ) {
            prop_assert_eq!(table(["ID", "", "WHEN"], rows.clone()), comfy(["ID", "", "WHEN"], &rows));
        }
    }
}
