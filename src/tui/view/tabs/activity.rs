//! Tab 5: your notifications (unread ones marked) above the audit log, newest first.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::{ListTable, matches};
use crate::domain::AuditRecord;
use crate::tui::app::{App, Tab};
use crate::tui::view::fmt::{safe, time};

pub fn rows(app: &App) -> Vec<&AuditRecord> {
    let needle = app.lists[Tab::Activity.index()].needle();
    app.data
        .audit
        .iter()
        .filter(|a| {
            let target = a.target.to_string();
            matches(&needle, &[&a.actor, a.action.name(), &target, a.reason.as_deref().unwrap_or("")])
        })
        .collect()
}

pub struct ActivityTab<'a> {
    app: &'a App,
    rows: Vec<&'a AuditRecord>,
}

impl<'a> ActivityTab<'a> {
    pub fn new(app: &'a App) -> Self {
        ActivityTab { app, rows: rows(app) }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let theme = &app.ui.theme;
        let shown = app.data.notifications.len().min(6) as u16;
        let [top, bottom] =
            Layout::vertical([Constraint::Length(shown.max(1) + 2), Constraint::Fill(1)]).areas(area);
        let unread = app.data.unread();
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style("border"))
            .title(Line::styled(format!(" Notifications ({unread} unread) "), theme.style("title")));
        let lines: Vec<Line> = if app.data.notifications.is_empty() {
            vec![Line::styled(" nothing yet", theme.style("dim"))]
        } else {
            app.data
                .notifications
                .iter()
                .take(usize::from(shown))
                .map(|n| {
                    let new = n.id > app.data.seen_upto;
                    let style = if new { theme.style("unread") } else { theme.style("dim") };
                    let mark = if new { "●" } else { " " };
                    Line::styled(
                        format!("{mark} {}  {}", time(n.at, app.now, app.ui.utc), safe(&n.message)),
                        style,
                    )
                })
                .collect()
        };
        Paragraph::new(lines).block(block).render(top, buf);
        let table = ListTable {
            app,
            title: "Audit log".into(),
            header: ["WHEN", "ACTOR", "ACTION", "TARGET", "CHANGE", "REASON"],
            widths: [
                Constraint::Length(11),
                Constraint::Min(14),
                Constraint::Length(15),
                Constraint::Min(12),
                Constraint::Min(10),
                Constraint::Fill(2),
            ],
            len: self.rows.len(),
            empty: "no activity matches",
            focused: true,
        };
        table.render(bottom, buf, app.list(), |i| {
            let a = self.rows[i];
            let change = match (&a.before, &a.after) {
                (Some(b), Some(c)) => format!("{b} → {c}"),
                (None, Some(c)) => c.clone(),
                _ => String::new(),
            };
            [
                Line::raw(time(a.at, app.now, app.ui.utc)),
                Line::raw(safe(&a.actor)),
                Line::raw(a.action.name()),
                Line::raw(safe(&a.target.to_string())),
                Line::raw(safe(&change)),
                Line::raw(safe(a.reason.as_deref().unwrap_or(""))),
            ]
        });
    }
}
