//! The five tabs. Each takes its rows from `lists` (the same rows the state selects in) and
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
use unicode_width::UnicodeWidthStr;

use super::fmt::{fit, fit_line, safe};

use crate::domain::RequestState;
use crate::tui::app::{App, Tab};
use crate::tui::lists::{ListState, Window, scrolled};
use crate::tui::rows::Which;

/// Draws a tab; returns where its list's rows are on screen.
pub fn render(tab: Tab, area: Rect, buf: &mut Buffer, app: &App) -> Window {
    match tab {
        Tab::Applications => applications::ApplicationsTab::new(app).render(area, buf),
        Tab::Settings => settings::SettingsTab::new(app).render(area, buf),
        Tab::Requests => requests::RequestsTab::new(app).render(area, buf),
        Tab::Access => access::AccessTab::new(app).render(area, buf),
        Tab::Activity => activity::ActivityTab::new(app).render(area, buf),
    }
}

pub fn state_style(app: &App, state: RequestState) -> Style {
    app.ui.theme.style(match state {
        RequestState::Pending => "state.pending",
        RequestState::Approved => "state.approved",
        RequestState::Denied | RequestState::Revoked => "state.denied",
        _ => "state.ended",
    })
}

/// One column of a list: its header, how narrow it may be before it is dropped instead, how wide
/// it grows, and how much it matters (the lowest rank goes first when the width is short).
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub header: &'static str,
    /// `None`: never cut, always as wide as its widest cell (ids, states, countdowns).
    pub min: Option<u16>,
    pub max: u16,
    pub rank: u8,
    /// Grows only once every other column has what it wants, and takes what is left (free text).
    pub fill: bool,
}

impl Col {
    /// Never cut: as wide as its widest cell, up to `WHOLE_MAX`.
    pub const fn whole(header: &'static str, rank: u8) -> Col {
        Col { header, min: None, max: WHOLE_MAX, rank, fill: false }
    }

    /// Cut with `…` down to `min` when room is short, fitted to its content up to `max` otherwise.
    pub const fn cut(header: &'static str, min: u16, max: u16, rank: u8) -> Col {
        Col { header, min: Some(min), max, rank, fill: false }
    }

    /// Free text: at least `min`, and whatever is left over.
    pub const fn fill(header: &'static str, min: u16, rank: u8) -> Col {
        Col { header, min: Some(min), max: u16::MAX, rank, fill: true }
    }
}

/// The widest a never-cut column is allowed to grow, so one odd cell cannot take the whole row.
const WHOLE_MAX: u16 = 48;

/// How many rows from the top of a list are measured for the column widths (with the visible ones):
/// widths stay put while scrolling, and a list of 100,000 rows costs no more than one of 500.
pub const SCAN_ROWS: usize = 500;

/// The columns shown in `room` columns of screen, as (index, width), given the widest cell of each.
/// Columns are dropped, lowest rank first, until the rest fit at their narrowest; then they grow
/// toward their content a column at a time, by rank, free-text columns last; what remains goes to
/// the first free-text column, or to the last column when there is none.
pub fn layout(cols: &[Col], content: &[usize], room: usize) -> Vec<(usize, u16)> {
    let clamp = |v: usize| u16::try_from(v).unwrap_or(u16::MAX);
    let want: Vec<u16> = cols
        .iter()
        .zip(content)
        .map(|(c, &w)| clamp(w.max(c.header.width())).min(c.max.max(clamp(c.header.width()))))
        .collect();
    let least: Vec<u16> = cols
        .iter()
        .zip(&want)
        .map(|(c, &w)| c.min.map_or(w, |m| m.max(clamp(c.header.width())).min(w)))
        .collect();
    let mut shown: Vec<usize> = (0..cols.len()).collect();
    let total = |shown: &[usize], widths: &dyn Fn(usize) -> u16| -> usize {
        shown.iter().map(|&i| usize::from(widths(i))).sum::<usize>() + shown.len().saturating_sub(1)
    };
    while shown.len() > 1 && total(&shown, &|i| least[i]) > room {
        // The lowest rank goes; of equal ranks, the rightmost.
        let Some(at) = (0..shown.len()).rev().min_by_key(|&k| cols[shown[k]].rank) else { break };
        shown.remove(at);
    }
    let mut widths: Vec<u16> = shown.iter().map(|&i| least[i]).collect();
    let mut extra = room.saturating_sub(total(&shown, &|i| least[i]));
    // One column at a time in rank order, so that the columns cut share the room rather than the
    // first taking it all; free text only once the others have what they want.
    for fill in [false, true] {
        let mut order: Vec<usize> = (0..shown.len()).filter(|&k| cols[shown[k]].fill == fill).collect();
        order.sort_by_key(|&k| std::cmp::Reverse(cols[shown[k]].rank));
        while extra > 0 {
            let mut grew = false;
            for &k in &order {
                if extra > 0 && widths[k] < want[shown[k]] {
                    widths[k] += 1;
                    extra -= 1;
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
    }
    // What is left goes to the free text, or else to the last column.
    let to = (0..shown.len()).find(|&k| cols[shown[k]].fill).unwrap_or(shown.len().saturating_sub(1));
    if let Some(w) = widths.get_mut(to) {
        *w = w.saturating_add(clamp(extra));
    }
    if let Some(last) = widths.last_mut() {
        // One column wider than the room is cut to it.
        if shown.len() == 1 {
            *last = (*last).min(clamp(room));
        }
    }
    shown.into_iter().zip(widths).collect()
}

/// A bordered table that materialises only the visible rows, keeping the cursor in view, with its
/// columns laid out by `layout` and cells too long for their column cut with `…`.
pub struct ListTable<'a, const N: usize> {
    pub app: &'a App,
    pub title: String,
    /// Said after the row count: the order, what is shown, the filter's matches.
    pub note: String,
    pub columns: [Col; N],
    pub len: usize,
    pub empty: &'a str,
    pub focused: bool,
}

impl<const N: usize> ListTable<'_, N> {
    pub fn render(
        &self,
        area: Rect,
        buf: &mut Buffer,
        list: &ListState,
        row: impl Fn(usize) -> [Line<'static>; N],
    ) -> Window {
        let theme = &self.app.ui.theme;
        let border = if self.focused { theme.style("border.focus") } else { theme.style("border") };
        let block = Block::default().borders(Borders::ALL).border_style(border).title(Line::styled(
            format!(" {} ({}){}{} ", self.title, self.len, self.note, filter_note(self.app, list, self.len)),
            theme.style("title"),
        ));
        let inner = block.inner(area);
        block.render(area, buf);
        let visible = usize::from(inner.height.saturating_sub(1));
        let window = Window { rows: visible, top: inner.y + 1 };
        let room = usize::from(inner.width);
        let header = |shown: &[(usize, u16)]| {
            Row::new(shown.iter().map(|&(i, w)| Cell::from(fit(self.columns[i].header, usize::from(w)))))
                .style(theme.style("table.header"))
        };
        let constraints =
            |shown: &[(usize, u16)]| shown.iter().map(|&(_, w)| Constraint::Length(w)).collect::<Vec<_>>();
        if self.len == 0 {
            let shown = layout(&self.columns, &[0; N], room);
            let table =
                Table::new(Vec::<Row>::new(), constraints(&shown)).header(header(&shown)).column_spacing(1);
            Widget::render(table, inner, buf);
            let filter = list.filter.value().trim();
            let text = if filter.is_empty() {
                self.empty.to_string()
            } else {
                format!("no rows match the filter `{}` (Esc clears)", safe(filter))
            };
            let msg = Rect { y: inner.y + 1, height: 1, ..inner };
            Line::styled(fit(&format!(" {text}"), room), theme.style("dim")).render(msg, buf);
            return window;
        }
        let selected = list.at.min(self.len - 1);
        // The state keeps its offset in step with the cursor; this only makes up for a page size
        // that changed since (a resize), without writing anything back.
        let offset = scrolled(list.offset, selected, visible, self.len);
        let end = (offset + visible).min(self.len);
        let lines: Vec<[Line<'static>; N]> = (offset..end).map(&row).collect();
        // Widths from the top of the list and what is on screen, so they hold while scrolling. The
        // top is measured once per snapshot, filter and day (times of day turn into dates), not on
        // every frame: countdowns keep their width as they tick.
        let measure = |content: &mut [usize], cells: &[Line<'static>; N]| {
            for (w, cell) in content.iter_mut().zip(cells) {
                *w = (*w).max(cell.width());
            }
        };
        let app = self.app;
        let key = format!(
            "{:?}|{}|{}|{}|{}",
            self.columns.map(|c| c.header),
            app.generation(),
            list.filter.value(),
            self.len,
            app.ui.time.day(app.now)
        );
        let mut content = match app.scanned.borrow().as_ref() {
            Some((k, widths)) if *k == key && widths.len() == N => widths.clone(),
            _ => Vec::new(),
        };
        if content.is_empty() {
            content = vec![0; N];
            for i in 0..self.len.min(SCAN_ROWS) {
                let cells = if (offset..end).contains(&i) { lines[i - offset].clone() } else { row(i) };
                measure(&mut content, &cells);
            }
            *app.scanned.borrow_mut() = Some((key, content.clone()));
        }
        lines.iter().for_each(|cells| measure(&mut content, cells));
        let shown = layout(&self.columns, &content, room);
        let selection = theme.style("selection");
        // A selection with colours of its own paints the whole row in them: the cells' colours were
        // chosen against the normal background, and bright text on a bright bar vanishes. A
        // selection made of modifiers alone (reversed) keeps the cells' colours, swapped.
        let recolour = selection.fg.is_some() || selection.bg.is_some();
        let rows = lines.into_iter().enumerate().map(|(k, cells)| {
            let chosen = offset + k == selected && self.focused;
            let style = if chosen { selection } else { Style::default() };
            let cells = if chosen && recolour { cells.map(uncoloured) } else { cells };
            let mut cells = cells.map(Some);
            Row::new(
                shown
                    .iter()
                    .map(|&(i, w)| Cell::from(fit_line(cells[i].take().unwrap_or_default(), usize::from(w)))),
            )
            .style(style)
        });
        let table = Table::new(rows, constraints(&shown)).header(header(&shown)).column_spacing(1);
        Widget::render(table, inner, buf);
        window
    }
}

/// " · 3 of 40 match `dave crm`" while a filter is on; nothing otherwise.
fn filter_note(app: &App, list: &ListState, shown: usize) -> String {
    let filter = list.filter.value().trim();
    if filter.is_empty() {
        return String::new();
    }
    // Tab 5 draws two lists; the notifications' count is not the tab's.
    let which = if std::ptr::eq(list, &app.notes) { Which::Notes } else { Which::Tab(app.tab) };
    let of = crate::tui::rows::unfiltered(app, which);
    format!(" · {shown} of {of} match `{}`", safe(filter))
}

/// The line with its modifiers and without colours, so that the row's style shows through.
fn uncoloured(mut line: Line<'static>) -> Line<'static> {
    let strip = |style: &mut Style| {
        style.fg = None;
        style.bg = None;
    };
    strip(&mut line.style);
    line.spans.iter_mut().for_each(|span| strip(&mut span.style));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(cols: &[Col], content: &[usize], room: usize) -> Vec<(&'static str, u16)> {
        layout(cols, content, room).into_iter().map(|(i, w)| (cols[i].header, w)).collect()
    }

    #[test]
    fn short_rooms_drop_the_lowest_ranks_and_keep_countdowns_whole() {
        let cols = [
            Col::whole("ID", 200),
            Col::cut("APP", 12, 28, 190),
            Col::whole("START", 60),
            Col::whole("DECIDE IN", 200),
            Col::fill("WHY", 16, 150),
        ];
        let content = [2, 15, 11, 7, 60];
        // Everything fits: free text takes the rest.
        assert_eq!(
            widths(&cols, &content, 80),
            [("ID", 2), ("APP", 15), ("START", 11), ("DECIDE IN", 9), ("WHY", 39)]
        );
        // Short: START goes before anything is squeezed below its narrowest.
        assert_eq!(widths(&cols, &content, 50), [("ID", 2), ("APP", 15), ("DECIDE IN", 9), ("WHY", 21)]);
        // Shorter: the free text goes too; the countdown never shrinks.
        assert_eq!(widths(&cols, &content, 30), [("ID", 2), ("APP", 15), ("DECIDE IN", 11)]);
        // One column left is cut to the room.
        assert_eq!(widths(&cols, &content, 1), [("ID", 1)]);
    }
}
