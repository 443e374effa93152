//! The five tabs. Each builds its rows from the snapshot (filtered by the tab's `/` filter) and
//! renders itself; the generic table here draws only the rows that fit.

mod access;
mod activity;
mod applications;
mod requests;
mod settings;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Row, Table, Widget};

use crate::domain::{AccessRequest, Application, RequestState};
use crate::tui::app::{App, ListState, Tab};

pub fn render(tab: Tab, area: Rect, buf: &mut Buffer, app: &App) {
    match tab {
        Tab::Applications => applications::ApplicationsTab::new(app).render(area, buf),
        Tab::Settings => settings::SettingsTab::new(app).render(area, buf),
        Tab::Requests => requests::RequestsTab::new(app).render(area, buf),
        Tab::Access => access::AccessTab::new(app).render(area, buf),
        Tab::Activity => activity::ActivityTab::new(app).render(area, buf),
    }
}

pub fn row_count(app: &App, tab: Tab) -> usize {
    match tab {
        Tab::Applications | Tab::Settings => applications::rows(app, tab).len(),
        Tab::Requests => requests::rows(app).len(),
        Tab::Access => access::rows(app).len(),
        Tab::Activity => activity::rows(app).len(),
    }
}

pub fn selected_request(app: &App) -> Option<u64> {
    let i = app.list().selected;
    match app.tab {
        Tab::Requests => requests::rows(app).get(i).map(|r| r.id),
        Tab::Access => access::rows(app).get(i).map(|r| r.id),
        _ => None,
    }
}

pub fn selected_app(app: &App) -> Option<&Application> {
    match app.tab {
        Tab::Applications | Tab::Settings => {
            let rows = applications::rows(app, app.tab);
            rows.get(app.list().selected.min(rows.len().saturating_sub(1))).copied()
        }
        _ => None,
    }
}

/// Whether any of the texts contains the filter's needle (already lower-case).
pub fn matches(needle: &str, texts: &[&str]) -> bool {
    needle.is_empty() || texts.iter().any(|t| t.to_lowercase().contains(needle))
}

pub fn state_style(app: &App, state: RequestState) -> Style {
    app.ui.theme.style(match state {
        RequestState::Pending => "state.pending",
        RequestState::Approved => "state.approved",
        RequestState::Denied | RequestState::Revoked => "state.denied",
        _ => "state.ended",
    })
}

/// The grant of a user on an app that is active now, if any.
pub fn active_grant<'a>(app: &'a App, name: &str) -> Vec<&'a AccessRequest> {
    app.data.grants.iter().filter(|g| g.app == name && g.is_active(app.now)).collect()
}

/// Widest a fitted column grows, so one long name cannot squeeze out the rest.
const MAX_FITTED: u16 = 32;

/// A bordered table that materialises only the visible rows, keeping the cursor in view.
/// `Min(n)` columns are fitted to what the visible rows hold (at least `n`); others are as given.
pub struct ListTable<'a, const N: usize> {
    pub app: &'a App,
    pub title: String,
    pub header: [&'static str; N],
    pub widths: [Constraint; N],
    pub len: usize,
    pub empty: &'a str,
    pub focused: bool,
}

impl<const N: usize> ListTable<'_, N> {
    fn fitted_widths(&self, rows: &[[Line<'static>; N]]) -> [Constraint; N] {
        let mut widths = self.widths;
        for (i, width) in widths.iter_mut().enumerate() {
            if let Constraint::Min(least) = *width {
                let content = rows.iter().map(|r| r[i].width()).max().unwrap_or(0);
                let fitted = content.max(self.header[i].len()).max(usize::from(least));
                *width = Constraint::Length(u16::try_from(fitted).unwrap_or(MAX_FITTED).min(MAX_FITTED));
            }
        }
        widths
    }

    pub fn render(
        &self,
        area: Rect,
        buf: &mut Buffer,
        list: &ListState,
        row: impl Fn(usize) -> [Line<'static>; N],
    ) {
        let theme = &self.app.ui.theme;
        let border = if self.focused { theme.style("border.focus") } else { theme.style("border") };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(border)
            .title(Line::styled(format!(" {} ({}) ", self.title, self.len), theme.style("title")));
        let inner = block.inner(area);
        block.render(area, buf);
        let visible = usize::from(inner.height.saturating_sub(1));
        if self.focused {
            self.app.page.set(visible);
            self.app.body_top.set(inner.y + 1);
        }
        if self.len == 0 {
            let table = Table::new(Vec::<Row>::new(), self.widths)
                .header(Row::new(self.header).style(theme.style("table.header")));
            Widget::render(table, inner, buf);
            let msg = Rect { y: inner.y + 1, height: 1, ..inner };
            Line::styled(format!(" {}", self.empty), theme.style("dim")).render(msg, buf);
            return;
        }
        let selected = list.selected.min(self.len - 1);
        let mut offset = list.offset.get().min(self.len.saturating_sub(1));
        if selected < offset {
            offset = selected;
        } else if visible > 0 && selected >= offset + visible {
            offset = selected + 1 - visible;
        }
        list.offset.set(offset);
        let lines: Vec<[Line<'static>; N]> = (offset..(offset + visible).min(self.len)).map(&row).collect();
        let widths = self.fitted_widths(&lines);
        let rows = lines.into_iter().enumerate().map(|(k, cells)| {
            let style = if offset + k == selected && self.focused {
                theme.style("selection")
            } else {
                Style::default()
            };
            Row::new(cells.map(Cell::from)).style(style)
        });
        let table = Table::new(rows, widths)
            .header(Row::new(self.header).style(theme.style("table.header")))
            .column_spacing(1);
        Widget::render(table, inner, buf);
    }
}
