//! Tab 3. Approvers see every pending request on their tenant's applications (the PIM view) with the
//! time left to decide; publishers see their own requests with state and countdowns.

use chrono::TimeDelta;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

use super::{Col, ListTable, state_style};
use crate::domain::{AccessRequest, Moment};
use crate::tui::app::App;
use crate::tui::data::Role;
use crate::tui::lists::Window;
use crate::tui::rows;
use crate::tui::view::fmt::{countdown_cell, safe};

pub struct RequestsTab<'a> {
    app: &'a App,
    rows: Vec<&'a AccessRequest>,
}

impl<'a> RequestsTab<'a> {
    pub fn new(app: &'a App) -> Self {
        RequestsTab { app, rows: rows::requests(app) }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer) -> Window {
        if self.app.role() == Role::Publisher {
            self.render_mine(area, buf)
        } else {
            self.render_pending(area, buf)
        }
    }

    fn render_pending(&self, area: Rect, buf: &mut Buffer) -> Window {
        let app = self.app;
        let mode = if app.only_mine { "only requests I can decide" } else { "everything I can see" };
        let marked = match app.marks.len() {
            0 => String::new(),
            n => format!(" · {n} marked"),
        };
        let table = ListTable {
            app,
            title: "Pending requests".into(),
            note: format!(" · by {} · {mode}{marked}", app.sort.label()),
            columns: [
                Col::whole("ID", 200),
                Col::cut("APPLICATION", 12, 32, 190),
                Col::cut("REQUESTER", 14, 24, 180),
                Col::cut("ROLES", 14, 24, 120),
                Col::whole("START", 60),
                Col::whole("DURATION", 100),
                Col::whole("DECIDE IN", 200),
                Col::fill("JUSTIFICATION", 16, 150),
            ],
            len: self.rows.len(),
            empty: "nothing is waiting for a decision",
            focused: true,
        };
        table.render(area, buf, app.list(), |i| {
            let r = self.rows[i];
            let mark = if app.can_decide(r) { "" } else { " (not yours)" };
            let progress = app.data.progress(r).map(|p| format!(" · {p}")).unwrap_or_default();
            let urgency = match urgency(app, r) {
                Some(name) => app.ui.theme.style(name),
                None => Style::default(),
            };
            let countdown =
                if urgency == Style::default() { app.ui.theme.style("countdown") } else { urgency };
            [
                // A marked row says so in its first cell, in every theme and terminal.
                Line::raw(if app.marks.contains(r.id) { format!("*{}", r.id) } else { r.id.to_string() }),
                Line::raw(format!("{}{mark}{progress}", safe(&r.app))),
                Line::raw(safe(app.data.display_name(&r.requester))),
                Line::raw(safe(&r.roles.join(","))),
                Line::raw(app.ui.time.moment(r.start, app.now)),
                Line::raw(r.duration.to_string()),
                Line::styled(
                    countdown_cell(app.now, r.decide_by).trim_start_matches("in ").to_string(),
                    countdown,
                ),
                Line::raw(safe(&r.justification)),
            ]
            .map(|line| line.patch_style(urgency))
        })
    }

    fn render_mine(&self, area: Rect, buf: &mut Buffer) -> Window {
        let app = self.app;
        let table = ListTable {
            app,
            title: "My requests".into(),
            note: String::new(),
            columns: [
                Col::whole("ID", 200),
                Col::cut("APPLICATION", 12, 32, 190),
                Col::whole("STATE", 195),
                Col::cut("ROLES", 14, 24, 120),
                Col::whole("DURATION", 100),
                Col::whole("WHEN", 200),
                Col::fill("JUSTIFICATION", 16, 150),
            ],
            len: self.rows.len(),
            empty: "no requests yet: press n to ask for access",
            focused: true,
        };
        table.render(area, buf, app.list(), |i| {
            let r = self.rows[i];
            [
                Line::raw(r.id.to_string()),
                Line::raw(safe(&r.app)),
                Line::styled(app.data.state_shown(r), state_style(app, r.state)),
                Line::raw(safe(&r.roles.join(","))),
                Line::raw(r.duration.to_string()),
                Line::styled(when(app, r), app.ui.theme.style("countdown")),
                Line::raw(safe(&r.justification)),
            ]
        })
    }
}

/// `critical` for a request to decide within 10 minutes, `urgent` within the hour.
fn urgency(app: &App, r: &AccessRequest) -> Option<&'static str> {
    let left = r.decide_by - app.now;
    if left <= TimeDelta::minutes(10) {
        Some("critical")
    } else if left <= TimeDelta::hours(1) {
        Some("urgent")
    } else {
        None
    }
}

/// The deadline that matters for a request in its state.
fn when(app: &App, r: &AccessRequest) -> String {
    match r.moment(app.now) {
        Some(Moment::Settled(t)) => app.ui.time.moment(t, app.now),
        Some(m @ (Moment::DecideBy(t) | Moment::Starts(t) | Moment::Ends(t))) => {
            format!("{} {}", m.verb(), countdown_cell(app.now, t))
        }
        None => String::new(),
    }
}
