//! Tab 1: the deployed applications, their JIT policy and who has access now.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;

use super::{ListTable, active_grant, matches};
use crate::domain::{Application, ApprovalMode};
use crate::tui::app::{App, Tab};
use crate::tui::view::fmt::{countdown, safe};

pub fn rows(app: &App, tab: Tab) -> Vec<&Application> {
    let needle = app.lists[tab.index()].needle();
    app.data
        .apps
        .iter()
        .filter(|a| {
            matches(&needle, &[&a.name, &a.offer, &a.publisher_tenant, &a.policy.approvers.join(" ")])
        })
        .collect()
}

pub fn mode(a: &Application) -> &'static str {
    match (a.policy.enabled, a.policy.mode) {
        (false, _) => "-",
        (true, ApprovalMode::AutoApprove) => "auto",
        (true, ApprovalMode::ManualApprove) => "manual",
    }
}

/// "permanent", the active grants with their countdowns, or "-".
pub fn access_now(app: &App, a: &Application) -> String {
    if !a.policy.enabled {
        return "permanent (publisher)".into();
    }
    let grants = active_grant(app, &a.name);
    if grants.is_empty() {
        return "-".into();
    }
    grants
        .iter()
        .filter_map(|g| {
            Some(format!("{} ends {}", app.data.display_name(&g.requester), countdown(app.now, g.end()?)))
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
        ApplicationsTab { app, rows: rows(app, Tab::Applications) }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let table = ListTable {
            app,
            title: "Applications".into(),
            header: ["NAME", "OFFER", "PUBLISHER", "JIT", "MODE", "MAX", "APPROVERS", "ACCESS NOW"],
            widths: [
                Constraint::Min(14),
                Constraint::Min(12),
                Constraint::Length(10),
                Constraint::Length(3),
                Constraint::Length(6),
                Constraint::Length(7),
                Constraint::Min(12),
                Constraint::Fill(2),
            ],
            len: self.rows.len(),
            empty: "no applications match",
            focused: true,
        };
        table.render(area, buf, app.list(), |i| {
            let a = self.rows[i];
            let p = &a.policy;
            let approvers: Vec<&str> = p.approvers.iter().map(|u| app.data.display_name(u)).collect();
            [
                Line::raw(safe(&a.name)),
                Line::raw(safe(&a.offer)),
                Line::raw(safe(&a.publisher_tenant)),
                Line::raw(if p.enabled { "yes" } else { "no" }),
                Line::raw(mode(a)),
                Line::raw(if p.enabled { p.max_duration.to_string() } else { "-".into() }),
                Line::raw(safe(&approvers.join(", "))),
                Line::styled(safe(&access_now(app, a)), app.ui.theme.style("countdown")),
            ]
        });
    }
}
