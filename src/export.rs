//! Exports for audits: a reviewer takes a quarter's requests or audit log out of jitdesk, as JSON
//! lines or CSV, at any door. An export walks the engine's paged queries a page at a time (each page
//! one read, from a snapshot of its own) and hands each page over as bytes before it reads the
//! next, so memory stays the same however long the history is. The CLI writes the pages to its
//! output as they come, and the service sends them as the chunks of its answer; both get them from
//! here, so they are the same bytes.
//!
//! JSON is NDJSON: one document per line, in the shapes `--json` prints (`json::Request`, the audit
//! record). CSV has a header row, times in UTC RFC 3339, and cells that cannot steer a spreadsheet
//! or a terminal: one that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
//! leading `'` (a formula otherwise), and control characters are shown as placeholders. A
//! request's approvals, extensions and tags take a cell each (who approved, how many extensions,
//! `key=value` pairs); the details of its extensions are in the JSON.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::domain::list::MAX_LIMIT;
use crate::domain::text::sanitize;
use crate::domain::{AccessRequest, AuditFilter, AuditRecord, Page, Paging, RequestFilter, Verdict, Window};
use crate::engine::{Engine, Error, Result, Viewer};
use crate::json;

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Requests created in the window, whatever they became.
    Requests,
    /// Audit records made in the window.
    Audit,
}

impl Kind {
    /// The name the CLI and the API give it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Requests => "requests",
            Kind::Audit => "audit",
        }
    }
}

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One JSON document per line (NDJSON).
    #[default]
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

impl Format {
    /// The name the CLI and the API give it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }

    /// The format of this name, if any.
    pub fn parse(text: &str) -> Option<Format> {
        [Format::Json, Format::Csv].into_iter().find(|f| f.name().eq_ignore_ascii_case(text.trim()))
    }

    /// The answer's media type when the service sends it.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// One export as asked: what, how, when, and of which application (None: all the viewer sees).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Requests or audit records.
    pub kind: Kind,
    /// JSON lines or CSV.
    pub format: Format,
    /// From when (included) to when (excluded); no end means now, as the export starts.
    pub window: Window,
    /// Only this application's; one the viewer may not see is refused as a missing one.
    pub app: Option<String>,
}

/// An export under way: each `next_chunk` reads one page and gives it back written.
pub struct Pages {
    engine: Engine,
    viewer: Viewer,
    export: Export,
    /// The cursor of the last page read; None before the first.
    after: Option<u64>,
    started: bool,
    done: bool,
}

impl Pages {
    /// The export `export` as `viewer` sees it. Nothing is read until the first chunk.
    pub fn new(engine: Engine, viewer: Viewer, mut export: Export) -> Pages {
        // Fixed once, so that what is committed while the export runs stays out of it.
        export.window.until = Some(export.window.until.unwrap_or_else(|| engine.now()));
        Pages { engine, viewer, export, after: None, started: false, done: false }
    }

    /// The next page, written; None once every page is. The first chunk of a CSV export holds
    /// the header row, even when nothing is in the window. A refusal (an application the viewer
    /// may not see, a viewer nobody knows) comes with the first chunk, before anything is written.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let first = !self.started;
        if first && let Some(app) = &self.export.app {
            self.engine.app(&self.viewer, app).await?;
        }
        self.started = true;
        let (app, window, after) = (self.export.app.clone(), self.export.window, self.after);
        let mut out = Vec::new();
        let next = match self.export.kind {
            Kind::Requests => {
                let filter = RequestFilter {
                    app,
                    created: window,
                    limit: Some(MAX_LIMIT),
                    after,
                    ..RequestFilter::default()
                };
                let page = self.engine.requests(&self.viewer, filter).await?;
                write_requests(&mut out, &page.items, self.export.format, first)?;
                page.next()
            }
            Kind::Audit => {
                let paging = Paging { limit: Some(MAX_LIMIT), after };
                let page: Page<AuditRecord> =
                    self.engine.audit_where(&self.viewer, AuditFilter { app, at: window }, paging).await?;
                write_audit(&mut out, &page.items, self.export.format, first)?;
                page.next()
            }
        };
        self.after = next;
        self.done = next.is_none();
        Ok(Some(out))
    }
}

const REQUEST_COLUMNS: [&str; 23] = [
    "id",
    "application",
    "requester",
    "jitRequestState",
    "startTime",
    "duration",
    "roles",
    "justification",
    "ticket",
    "createdAt",
    "decideBy",
    "decidedBy",
    "decidedAt",
    "decisionReason",
    "grantedFrom",
    "endTime",
    "closedBy",
    "closedAt",
    "closedReason",
    "started",
    "approvals",
    "extensions",
    "tags",
];

const AUDIT_COLUMNS: [&str; 9] =
    ["id", "at", "actor", "action", "target", "application", "reason", "before", "after"];

fn write_requests(out: &mut Vec<u8>, items: &[AccessRequest], format: Format, first: bool) -> Result<()> {
    match format {
        Format::Json => json_lines(out, items.iter().map(json::Request::new)),
        Format::Csv => csv_rows(out, first.then_some(&REQUEST_COLUMNS[..]), items.iter().map(request_row)),
    }
}

fn write_audit(out: &mut Vec<u8>, items: &[AuditRecord], format: Format, first: bool) -> Result<()> {
    match format {
        Format::Json => json_lines(out, items.iter()),
        Format::Csv => csv_rows(out, first.then_some(&AUDIT_COLUMNS[..]), items.iter().map(audit_row)),
    }
}

fn json_lines<T: serde::Serialize>(out: &mut Vec<u8>, items: impl Iterator<Item = T>) -> Result<()> {
    for item in items {
        let line = crate::json_writer::to_string(&item).map_err(|e| unwritable(&e))?;
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    Ok(())
}

fn csv_rows(
    out: &mut Vec<u8>,
    header: Option<&[&str]>,
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    if let Some(header) = header {
        writer.write_record(header).map_err(|e| unwritable(&e))?;
    }
    for row in rows {
        writer.write_record(&row).map_err(|e| unwritable(&e))?;
    }
    writer.flush().map_err(|e| unwritable(&e))
}

/// Writing into memory fails only on a bug: said as the store's trouble, which a caller reports.
fn unwritable(e: &dyn std::fmt::Display) -> Error {
    Error::Storage(crate::engine::StoreError::Storage(format!("cannot write the export: {e}")))
}

fn request_row(r: &AccessRequest) -> Vec<String> {
    let verdict = |v: &Option<Verdict>| match v {
        Some(v) => [cell(&v.by), time(v.at), cell(&v.reason)],
        None => Default::default(),
    };
    let [decided_by, decided_at, decision_reason] = verdict(&r.decision);
    let [closed_by, closed_at, closed_reason] = verdict(&r.closed);
    vec![
        r.id.to_string(),
        cell(&r.app),
        cell(&r.requester),
        r.state.name().to_string(),
        time(r.start),
        r.duration.iso(),
        cell(&r.roles.join(";")),
        cell(&r.justification),
        r.ticket.as_deref().map(cell).unwrap_or_default(),
        time(r.created_at),
        time(r.decide_by),
        decided_by,
        decided_at,
        decision_reason,
        r.granted_from.map(time).unwrap_or_default(),
        r.end().map(time).unwrap_or_default(),
        closed_by,
        closed_at,
        closed_reason,
        r.started.to_string(),
        cell(&r.approvals.iter().map(|a| a.by.as_str()).collect::<Vec<_>>().join(";")),
        r.extensions.len().to_string(),
        cell(&r.tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";")),
    ]
}

fn audit_row(r: &AuditRecord) -> Vec<String> {
    let text = |t: &Option<String>| t.as_deref().map(cell).unwrap_or_default();
    vec![
        r.id.to_string(),
        time(r.at),
        cell(&r.actor),
        r.action.name().to_string(),
        cell(&r.target.to_string()),
        text(&r.app),
        text(&r.reason),
        text(&r.before),
        text(&r.after),
    ]
}

/// A time in UTC RFC 3339, with its fraction of a second when it has one.
fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Text from other people as a cell: never read as a formula, never a control character.
fn cell(text: &str) -> String {
    // A tab or a carriage return first would be cut away by some spreadsheets, exposing what follows.
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    sanitize(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_a_spreadsheet_would_run_is_quoted_and_controls_are_shown() {
        for formula in ["=1+2", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"] {
            assert!(cell(formula).starts_with('\''), "{formula:?}");
        }
        assert_eq!(cell("plain, with \"quotes\""), "plain, with \"quotes\"");
        assert_eq!(cell("a=b"), "a=b");
        assert!(!cell("\u{1b}[31mred\nline").chars().any(char::is_control));
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_reads_back_the_same() {
        let mut out = Vec::new();
        let row = vec![cell("a, \"b\""), cell("=cmd"), cell("two\nlines")];
        csv_rows(&mut out, Some(&["x", "y", "z"]), std::iter::once(row.clone())).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let back: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].iter().collect::<Vec<_>>(), row.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(&back[0][1], "'=cmd");
        assert!(!String::from_utf8(out).unwrap().lines().skip(1).any(|l| l.starts_with('=')));
    }

    #[test]
    fn formats_are_named_as_the_doors_take_them() {
        assert_eq!(Format::parse("CSV"), Some(Format::Csv));
        assert_eq!(Format::parse("json"), Some(Format::Json));
        assert_eq!(Format::parse("xml"), None);
    }
}
