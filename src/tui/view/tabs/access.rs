//! Tab 4: scheduled and active grants with countdowns, who approved them and why, or the extension
//! waiting on one.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::{Col, ListTable};
use crate::domain::{AccessRequest, Moment};
use crate::tui::app::App;
use crate::tui::lists::Window;
use crate::tui::rows;
use crate::tui::view::fmt::{countdown_cell, safe};

pub struct AccessTab<'a> {
    app: &'a App,
    rows: Vec<&'a AccessRequest>,
}

impl<'a> AccessTab<'a> {
    pub fn new(app: &'a App) -> Self {
        AccessTab { app, rows: rows::grants(app) }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer) -> Window {
        let app = self.app;
        let table = ListTable {
            app,
            title: "Access".into(),
            note: String::new(),
            columns: [
                Col::whole("ID", 200),
                Col::cut("APPLICATION", 16, 32, 190),
                Col::cut("WHO", 14, 24, 180),
                Col::cut("ROLES", 14, 24, 120),
                Col::whole("STATUS", 200),
                Col::whole("AT", 195),
                Col::cut("APPROVED BY", 13, 24, 90),
                Col::fill("REASON", 16, 80),
            ],
            len: self.rows.len(),
            empty: "nobody has JIT access now, and none is scheduled",
            focused: true,
        };
        table.render(area, buf, app.list(), |i| {
            let g = self.rows[i];
            // The moment itself beside its countdown: "ends in 2h" alone cannot be written down.
            let (status, at) = match g.moment(app.now) {
                Some(m @ (Moment::Starts(t) | Moment::Ends(t))) => (
                    format!("{} {}", m.verb(), countdown_cell(app.now, t)),
                    app.ui.time.moment_cell(t, app.now),
                ),
                _ => (String::new(), String::new()),
            };
            let decision = g.decision.as_ref();
            // An extension waiting for a decision is what the approvers need to see on the row.
            let reason = match g.pending_extension() {
                Some((_, e)) => format!("+{} asked: {}", e.by, e.asked.reason),
                None => decision.map_or(String::new(), |d| d.reason.clone()),
            };
            [
                Line::raw(g.id.to_string()),
                Line::raw(safe(&g.app)),
                Line::raw(safe(app.data.display_name(&g.requester))),
                Line::raw(safe(&g.roles.join(","))),
                Line::styled(status, app.ui.theme.style("countdown")),
                Line::styled(at, app.ui.theme.style("countdown")),
                Line::raw(safe(decision.map_or("", |d| app.data.display_name(&d.by)))),
                Line::raw(safe(&reason)),
            ]
        })
    }
}
