//! Tab 5: your notifications (unread ones marked) above the audit log, newest first; each is a list
//! that scrolls, and `n` moves the cursor between them. A record whose notice went out by mail,
//! webhook or hook carries a mark after its action saying whether it got there.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;

use super::{Col, ListTable};
use crate::domain::AuditRecord;
use crate::tui::app::{App, Tab};
use crate::tui::data::Outbound;
use crate::tui::lists::Window;
use crate::tui::rows;
use crate::tui::view::fmt::safe;

/// The mark after a record's action when its notice went out: every delivery sent, some queued,
/// or one failed for good (the worst of them shows).
const SENT: &str = "✓";
const QUEUED: &str = "…";
const FAILED: &str = "!";

fn mark(out: Outbound) -> &'static str {
    match out {
        Outbound::Sent => SENT,
        Outbound::Queued => QUEUED,
        Outbound::Failed => FAILED,
    }
}

pub struct ActivityTab<'a> {
    app: &'a App,
    rows: Vec<&'a AuditRecord>,
}

impl<'a> ActivityTab<'a> {
    pub fn new(app: &'a App) -> Self {
        ActivityTab { app, rows: rows::audit(app) }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer) -> Window {
        let app = self.app;
        let theme = &app.ui.theme;
        let notes = rows::notifications(app);
        // At most six notifications in view; the rest scroll, as in every list.
        let shown = notes.len().clamp(1, 6) as u16;
        let [top, bottom] =
            Layout::vertical([Constraint::Length(shown + 3), Constraint::Fill(1)]).areas(area);
        let unread = app.data.unread();
        let times: Vec<String> = notes.iter().map(|n| app.ui.time.moment(n.at, app.now)).collect();
        let upper = ListTable {
            app,
            title: "Notifications".into(),
            note: format!(" · {unread} unread"),
            columns: [Col::whole("", 200), Col::whole("WHEN", 190), Col::fill("MESSAGE", 16, 180)],
            len: notes.len(),
            empty: "nothing yet",
            focused: app.on_notes,
        };
        let upper = upper.render(top, buf, &app.notes, |i| {
            let n = notes[i];
            let new = n.id > app.data.seen_upto;
            let style = if new { theme.style("unread") } else { theme.style("dim") };
            [
                Line::styled(if new { "●" } else { " " }, style),
                Line::styled(times[i].clone(), style),
                Line::styled(safe(&n.message).to_string(), style),
            ]
        });
        // The legend only where there is something to read by it.
        let note = if self.rows.iter().any(|a| app.data.outbound.contains_key(&a.id)) {
            format!(" · notices {SENT} sent {QUEUED} queued {FAILED} failed")
        } else {
            String::new()
        };
        let table = ListTable {
            app,
            title: "Audit log".into(),
            note,
            columns: [
                Col::whole("WHEN", 200),
                Col::cut("ACTOR", 12, 24, 180),
                Col::whole("ACTION", 190),
                Col::cut("TARGET", 10, 24, 150),
                Col::cut("CHANGE", 10, 24, 100),
                Col::fill("REASON", 16, 120),
            ],
            len: self.rows.len(),
            empty: "no activity matches",
            focused: !app.on_notes,
        };
        let lower = table.render(bottom, buf, &app.lists[Tab::Activity.index()], |i| {
            let a = self.rows[i];
            let change = match (&a.before, &a.after) {
                (Some(b), Some(c)) => format!("{b} → {c}"),
                (None, Some(c)) => c.clone(),
                _ => String::new(),
            };
            [
                Line::raw(app.ui.time.moment_secs(a.at, app.now)),
                Line::raw(safe(app.data.display_name(&a.actor))),
                Line::raw(match app.data.outbound.get(&a.id) {
                    Some(out) => format!("{} {}", a.action.name(), mark(*out)),
                    None => a.action.name().to_string(),
                }),
                Line::raw(safe(&a.target.to_string())),
                Line::raw(safe(&change)),
                Line::raw(safe(a.reason.as_deref().unwrap_or(""))),
            ]
        });
        // The loop pages and scrolls the list with the cursor.
        if app.on_notes { upper } else { lower }
    }
}
