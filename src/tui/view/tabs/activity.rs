//! Tab 5: your notifications (unread ones marked) above the audit log, newest first.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::{Col, ListTable};
use crate::domain::AuditRecord;
use crate::tui::app::App;
use crate::tui::lists::{self, Window};
use crate::tui::view::fmt::{fit, safe};

pub struct ActivityTab<'a> {
    app: &'a App,
    rows: Vec<&'a AuditRecord>,
}

impl<'a> ActivityTab<'a> {
    pub fn new(app: &'a App) -> Self {
        ActivityTab { app, rows: lists::audit(app) }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer) -> Window {
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
        let room = usize::from(top.width.saturating_sub(2));
        let shown_now: Vec<_> = app.data.notifications.iter().take(usize::from(shown)).collect();
        let times: Vec<String> = shown_now.iter().map(|n| app.ui.time.moment(n.at, app.now)).collect();
        // Every time as wide as the widest shown (`09:20 UTC` or `Nov 25 08:00 UTC`), so the messages line up.
        let tw = times.iter().map(|t| t.chars().count()).max().unwrap_or(0);
        let lines: Vec<Line> = if shown_now.is_empty() {
            vec![Line::styled(" nothing yet", theme.style("dim"))]
        } else {
            shown_now
                .iter()
                .zip(&times)
                .map(|(n, when)| {
                    let new = n.id > app.data.seen_upto;
                    let style = if new { theme.style("unread") } else { theme.style("dim") };
                    let mark = if new { "●" } else { " " };
                    Line::styled(fit(&format!("{mark} {when:<tw$}  {}", safe(&n.message)), room), style)
                })
                .collect()
        };
        Paragraph::new(lines).block(block).render(top, buf);
        let table = ListTable {
            app,
            title: "Audit log".into(),
            note: String::new(),
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
                Line::raw(app.ui.time.moment_secs(a.at, app.now)),
                Line::raw(safe(app.data.display_name(&a.actor))),
                Line::raw(a.action.name()),
                Line::raw(safe(&a.target.to_string())),
                Line::raw(safe(&change)),
                Line::raw(safe(a.reason.as_deref().unwrap_or(""))),
            ]
        })
    }
}
