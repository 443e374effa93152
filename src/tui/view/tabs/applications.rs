//! Tab 1: the deployed applications, their JIT policy and who has access now.

use std::collections::HashMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::{Col, ListTable};
use crate::domain::{AccessRequest, Application};
use crate::tui::app::{App, Tab};
use crate::tui::lists::Window;
use crate::tui::rows;
use crate::tui::view::fmt::{countdown, countdown_cell, safe};

/// The grants active now, by application: built once a frame, so a row costs no scan of all grants.
fn active_by_app(app: &App) -> HashMap<&str, Vec<&AccessRequest>> {
    let mut by_app: HashMap<&str, Vec<&AccessRequest>> = HashMap::new();
    for g in app.data.grants.iter().filter(|g| g.is_active(app.now)) {
        by_app.entry(g.app.as_str()).or_default().push(g);
    }
    by_app
}

/// "permanent", the active grants with their countdowns, "-", or "loading…" until grants are in.
fn access_now(app: &App, a: &Application, grants: &[&AccessRequest]) -> String {
    if !a.policy.enabled {
        return "permanent (publisher)".into();
    }
    // The first snapshot's grants are still on their way.
    if app.data.partial {
        return "loading…".into();
    }
    if grants.is_empty() {
        return "-".into();
    }
    let last = grants.len() - 1;
    grants
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            // Only the last countdown is padded: it alone ends the cell.
            let left =
                if i == last { countdown_cell(app.now, g.end()?) } else { countdown(app.now, g.end()?) };
            Some(format!("{} ends {left}", app.data.display_name(&g.requester)))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub struct ApplicationsTab<'a> {
    app: &'a App,
    rows: Vec<&'a Application>,
}

impl<'a> ApplicationsTab<'a> {
    pub fn new(app: &'a App) -> Self {
        ApplicationsTab { app, rows: rows::apps(app, Tab::Applications) }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer) -> Window {
        let app = self.app;
        let table = ListTable {
            app,
            title: "Applications".into(),
            note: String::new(),
            columns: [
                Col::cut("NAME", 16, 32, 200),
                Col::cut("OFFER", 18, 28, 60),
                Col::cut("PUBLISHER", 10, 20, 50),
                Col::whole("JIT", 170),
                Col::whole("MAX", 150),
                Col::cut("APPROVERS", 14, 40, 100),
                // Wide enough for a name and its countdown before it is ever cut.
                Col::cut("ACCESS NOW", 29, 48, 190),
            ],
            len: self.rows.len(),
            empty: "no applications match",
            focused: true,
        };
        let active = active_by_app(app);
        table.render(area, buf, app.list(), |i| {
            let a = self.rows[i];
            let grants = active.get(a.name.as_str()).map_or(&[][..], Vec::as_slice);
            let p = &a.policy;
            let approvers = app.data.approver_names(p);
            [
                Line::raw(safe(&a.name)),
                Line::raw(safe(&a.offer)),
                Line::raw(safe(&a.publisher_tenant)),
                Line::raw(rows::mode(a)),
                Line::raw(if p.enabled { p.max_duration.to_string() } else { "-".into() }),
                Line::raw(safe(&approvers.join(", "))),
                Line::styled(safe(&access_now(app, a, grants)), app.ui.theme.style("countdown")),
            ]
        })
    }
}
