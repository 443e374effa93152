//! Tab 2: one application's JIT policy, on the right of the application list; `e` edits it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::{Col, ListTable};
use crate::domain::{Application, ApprovalMode};
use crate::tui::app::{App, Tab};
use crate::tui::keymap::KeyAction;
use crate::tui::lists::Window;
use crate::tui::view::fmt::{safe, wrap};

pub struct SettingsTab<'a> {
    app: &'a App,
    rows: Vec<&'a Application>,
}

impl<'a> SettingsTab<'a> {
    pub fn new(app: &'a App) -> Self {
        SettingsTab { app, rows: crate::tui::rows::apps(app, Tab::Settings) }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer) -> Window {
        let app = self.app;
        let [left, right] = Layout::horizontal([Constraint::Percentage(35), Constraint::Fill(1)]).areas(area);
        let table = ListTable {
            app,
            title: "Applications".into(),
            note: String::new(),
            columns: [Col::fill("NAME", 8, 200), Col::whole("JIT", 190)],
            len: self.rows.len(),
            empty: "no applications match",
            focused: true,
        };
        let window = table.render(left, buf, app.list(), |i| {
            let a = self.rows[i];
            [Line::raw(safe(&a.name)), Line::raw(crate::tui::rows::mode(a))]
        });
        let selected = app.selected_app();
        let theme = &app.ui.theme;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style("border"))
            .title(Line::styled(" JIT configuration ", theme.style("title")));
        let Some(a) = selected else {
            Paragraph::new("no application selected").block(block).render(right, buf);
            return window;
        };
        let p = &a.policy;
        const LW: usize = 24;
        let room = usize::from(block.inner(right).width);
        let mut lines: Vec<Line> = Vec::new();
        // A value wrapped under its own column, the label on its first row only.
        let mut field = |label: &str, value: &str, style: Style| {
            for (i, row) in wrap(value, room.saturating_sub(LW).max(8)).into_iter().enumerate() {
                let label = if i == 0 { label } else { "" };
                lines.push(Line::from(vec![
                    Span::styled(format!("{label:<LW$}"), theme.style("dim")),
                    Span::styled(row, style),
                ]));
            }
        };
        let text = theme.style("text");
        field("application", &safe(&a.name), text);
        field("offer", &safe(&a.offer), text);
        field("managed resource group", &safe(&a.resource_group), text);
        if p.enabled {
            field("", "", text);
            field("JIT access", "enabled", theme.style("ok"));
            let approval = match p.mode {
                ApprovalMode::AutoApprove => "automatic: requests are approved on arrival",
                ApprovalMode::ManualApprove => "manual: one approver decides",
            };
            field("approval mode", approval, text);
            field("maximum duration", &format!("{} ({})", p.max_duration, p.max_duration.iso()), text);
            field("request timeout", &format!("{} ({})", p.request_timeout, p.request_timeout.iso()), text);
            if p.approvers.is_empty() && p.approver_groups.is_empty() {
                field("approvers", "none", text);
            }
            let users =
                p.approvers.iter().map(|u| format!("{} <{}>", safe(app.data.display_name(u)), safe(u)));
            let groups = p
                .approver_groups
                .iter()
                .map(|g| format!("group {} <{}>", safe(app.data.group_name(g)), safe(g)));
            for (i, who) in users.chain(groups).enumerate() {
                field(if i == 0 { "approvers" } else { "" }, &who, text);
            }
            lines.push(Line::raw(""));
            // Only who can change the settings is told how; everyone else is told who can.
            let how = match app.why_not(KeyAction::Edit) {
                Some(why) if !app.offers(KeyAction::Edit) => safe(&why).to_string(),
                _ => "Press e to change mode, maximum duration, approvers and timeout.".to_string(),
            };
            lines.push(Line::styled(how, theme.style("dim")));
        } else {
            field("", "", text);
            field("JIT access", "disabled", theme.style("warn"));
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "The publisher has permanent access to the managed resource group. JIT access can only be chosen at deployment, so it cannot be enabled for this application.",
                theme.style("warn"),
            ));
        }
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block).render(right, buf);
        window
    }
}
