//! Tab 2: one application's JIT policy, on the right of the application list; `e` edits it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::ListTable;
use super::applications::{mode, rows};
use crate::domain::{Application, ApprovalMode};
use crate::tui::app::{App, Tab};
use crate::tui::view::fmt::safe;

pub struct SettingsTab<'a> {
    app: &'a App,
    rows: Vec<&'a Application>,
}

impl<'a> SettingsTab<'a> {
    pub fn new(app: &'a App) -> Self {
        SettingsTab { app, rows: rows(app, Tab::Settings) }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let [left, right] = Layout::horizontal([Constraint::Percentage(35), Constraint::Fill(1)]).areas(area);
        let table = ListTable {
            app,
            title: "Applications".into(),
            header: ["NAME", "JIT"],
            widths: [Constraint::Fill(1), Constraint::Length(6)],
            len: self.rows.len(),
            empty: "no applications match",
            focused: true,
        };
        table.render(left, buf, app.list(), |i| {
            let a = self.rows[i];
            [Line::raw(safe(&a.name)), Line::raw(mode(a))]
        });
        let selected = self.rows.get(app.list().selected.min(self.rows.len().saturating_sub(1)));
        let theme = &app.ui.theme;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style("border"))
            .title(Line::styled(" JIT configuration ", theme.style("title")));
        let Some(a) = selected else {
            Paragraph::new("no application selected").block(block).render(right, buf);
            return;
        };
        let p = &a.policy;
        let label = |k: &str| Span::styled(format!("{k:<24}"), theme.style("dim"));
        let mut lines = vec![
            Line::from(vec![label("application"), Span::raw(safe(&a.name))]),
            Line::from(vec![label("offer"), Span::raw(safe(&a.offer))]),
            Line::from(vec![label("managed resource group"), Span::raw(safe(&a.resource_group))]),
            Line::raw(""),
        ];
        if p.enabled {
            let approvers: Vec<String> = p
                .approvers
                .iter()
                .map(|u| format!("{} <{}>", safe(app.data.display_name(u)), safe(u)))
                .collect();
            lines.extend([
                Line::from(vec![label("JIT access"), Span::styled("enabled", theme.style("ok"))]),
                Line::from(vec![
                    label("approval mode"),
                    Span::raw(match p.mode {
                        ApprovalMode::AutoApprove => "automatic: requests are approved on arrival",
                        ApprovalMode::ManualApprove => "manual: one approver decides",
                    }),
                ]),
                Line::from(vec![
                    label("maximum duration"),
                    Span::raw(format!("{} ({})", p.max_duration, p.max_duration.iso())),
                ]),
                Line::from(vec![
                    label("request timeout"),
                    Span::raw(format!("{} ({})", p.request_timeout, p.request_timeout.iso())),
                ]),
                Line::from(vec![
                    label("approvers"),
                    Span::raw(if approvers.is_empty() { "none".into() } else { approvers.join(", ") }),
                ]),
                Line::raw(""),
                Line::styled(
                    "Press e to change mode, maximum duration, approvers and timeout.",
                    theme.style("dim"),
                ),
            ]);
        } else {
            lines.extend([
                Line::from(vec![label("JIT access"), Span::styled("disabled", theme.style("warn"))]),
                Line::raw(""),
                Line::styled(
                    "The publisher has permanent access to the managed resource group. JIT access can only be chosen at deployment, so it cannot be enabled for this application.",
                    theme.style("warn"),
                ),
            ]);
        }
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block).render(right, buf);
    }
}
