//! What draws over the tabs: help (made from the keymap), request details, confirmations, forms.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};
use tui_input::Input;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::centered;
use super::fmt::{fit, safe, wrap};
use crate::tui::app::{App, Overlay, Purpose};
use crate::tui::form::{
    Field, FieldKind, Form, PEOPLE_ROWS, PICK_ROWS, Person, PickRow, Tone, people_matches, pick_matches,
};
use crate::tui::keymap::Scope;
use crate::tui::theme::Theme;
use crate::tui::wizard;

pub fn render(area: Rect, buf: &mut Buffer, app: &App) {
    match &app.overlay {
        None => {}
        Some(Overlay::Help { scroll }) => help(area, buf, app, *scroll),
        Some(Overlay::Detail { id, detail }) => {
            let width = area.width.min(90);
            let lines = match detail {
                None => vec![Line::raw(format!("loading request {id}…"))],
                Some(d) => detail_lines(app, d, usize::from(width.saturating_sub(2))),
            };
            let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
            popup(area, buf, app, &format!("Request {id}"), lines, width, height);
        }
        Some(Overlay::Confirm { message, .. }) => confirm(area, buf, app, message),
        Some(Overlay::Form(form)) => form_popup(area, buf, app, form),
    }
}

/// Blanks an overlay's rectangle and one column on each side of it, so nothing of the screen
/// behind shows right against its frame.
fn clear_around(area: Rect, rect: Rect, buf: &mut Buffer) {
    let left = rect.x.saturating_sub(1).max(area.x);
    let right = (rect.right() + 1).min(area.right());
    Clear.render(Rect { x: left, width: right - left, ..rect }, buf);
}

fn frame<'a>(app: &App, title: &str) -> Block<'a> {
    let theme = &app.ui.theme;
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style("border.focus"))
        .title(Line::styled(format!(" {} ", safe(title)), theme.style("title")))
}

fn popup(area: Rect, buf: &mut Buffer, app: &App, title: &str, lines: Vec<Line>, w: u16, h: u16) -> Rect {
    let rect = centered(area, w, h.min(area.height.saturating_sub(2)).max(3));
    clear_around(area, rect, buf);
    Paragraph::new(lines).wrap(Wrap { trim: false }).block(frame(app, title)).render(rect, buf);
    rect
}

/// The keys a scope answers to, as the footer shows them: `y/Enter yes  n/Esc no`.
fn keys_line(app: &App, scope: Scope) -> Line<'static> {
    let theme = &app.ui.theme;
    let km = &app.ui.keymap;
    let mut spans = Vec::new();
    for b in km.footer(scope).filter(|b| app.offers(b.action)) {
        if !spans.is_empty() {
            spans.push(Span::raw("   "));
        }
        spans.push(Span::styled(km.label(b), theme.style("key")));
        spans.push(Span::styled(format!(" {}", b.desc), theme.style("dim")));
    }
    Line::from(spans)
}

/// A question, wrapped, with the keys that answer it.
fn confirm(area: Rect, buf: &mut Buffer, app: &App, message: &str) {
    let width = area.width.min(64);
    let inner = usize::from(width.saturating_sub(4)).max(8);
    let mut lines: Vec<Line> =
        wrap(&safe(message), inner).into_iter().map(|r| Line::raw(format!(" {r}"))).collect();
    lines.push(Line::raw(""));
    let mut keys = keys_line(app, Scope::Confirm);
    keys.spans.insert(0, Span::raw(" "));
    lines.push(keys);
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    popup(area, buf, app, "Confirm", lines, width, height);
}

/// Every binding of the tabs, section by section, in two columns when they fit side by side, and
/// scrolled by `scroll` rows when they do not fit the height.
fn help(area: Rect, buf: &mut Buffer, app: &App, scroll: usize) {
    let theme = &app.ui.theme;
    let km = &app.ui.keymap;
    let sections: Vec<(&str, Vec<(String, &str)>)> = [
        (Scope::Global, "Everywhere"),
        (Scope::List, "Lists"),
        (Scope::Applications, "Applications"),
        (Scope::Settings, "JIT settings"),
        (Scope::Requests, "Requests"),
        (Scope::Access, "Access"),
        (Scope::Activity, "Activity"),
    ]
    .into_iter()
    .map(|(scope, title)| {
        let rows = km.bindings.iter().filter(|b| b.scope == scope && app.role_allows(scope, b.action));
        (title, rows.map(|b| (km.label(b), b.desc)).collect())
    })
    .collect();
    let key_w = sections.iter().flat_map(|(_, rows)| rows.iter().map(|(k, _)| k.width())).max().unwrap_or(0);
    let desc_w = sections.iter().flat_map(|(_, rows)| rows.iter().map(|(_, d)| d.width())).max().unwrap_or(0);
    let col_w = (2 + key_w + 2 + desc_w).max(sections.iter().map(|(t, _)| t.width()).max().unwrap_or(0));
    let section_lines = |(title, rows): &(&str, Vec<(String, &str)>)| -> Vec<Line<'static>> {
        let mut out = vec![Line::styled(title.to_string(), theme.style("title"))];
        for (keys, desc) in rows {
            out.push(Line::from(vec![
                Span::styled(format!("  {keys:<key_w$}  "), theme.style("key")),
                Span::raw(desc.to_string()),
            ]));
        }
        out
    };
    // One column of sections, a blank row between them.
    let stack = |sections: &[(&str, Vec<(String, &str)>)]| -> Vec<Line<'static>> {
        let mut out = Vec::new();
        for s in sections {
            if !out.is_empty() {
                out.push(Line::raw(""));
            }
            out.extend(section_lines(s));
        }
        out
    };
    const GAP: usize = 4;
    let room = usize::from(area.width.saturating_sub(4));
    let rows: Vec<Line<'static>> = if room >= 2 * col_w + GAP {
        // Split where the two columns come out most even.
        let split = (1..sections.len())
            .min_by_key(|&at| stack(&sections[..at]).len().max(stack(&sections[at..]).len()))
            .unwrap_or(sections.len());
        let (left, right) = (stack(&sections[..split]), stack(&sections[split..]));
        (0..left.len().max(right.len()))
            .map(|i| {
                let mut spans = left.get(i).map(|l| l.spans.clone()).unwrap_or_default();
                let used: usize = spans.iter().map(|s| s.width()).sum();
                spans.push(Span::raw(" ".repeat(col_w + GAP - used)));
                spans.extend(right.get(i).map(|l| l.spans.clone()).unwrap_or_default());
                Line::from(spans)
            })
            .collect()
    } else {
        stack(&sections)
    };
    // Which zone the times are in, so that a time on screen can be told to someone elsewhere.
    let zone = format!(
        "Times are in {}: --utc or time = \"utc\" in config.toml for UTC",
        app.ui.time.describe(app.now)
    );
    let rows: Vec<Line<'static>> =
        [Line::styled(zone, theme.style("dim")), Line::raw("")].into_iter().chain(rows).collect();
    let content_w = rows.iter().map(Line::width).max().unwrap_or(0);
    let width = u16::try_from(content_w + 4).unwrap_or(u16::MAX).min(area.width);
    let height = u16::try_from(rows.len() + 2).unwrap_or(u16::MAX).min(area.height.saturating_sub(2)).max(3);
    let rect = centered(area, width, height);
    let visible = usize::from(rect.height.saturating_sub(2));
    let max = rows.len().saturating_sub(visible);
    app.help_rows.set((visible, max));
    let scroll = scroll.min(max);
    let note = " keys can be changed in config.toml [keys] ";
    let mut block = frame(app, "Keys");
    if content_w >= note.width() + 8 {
        block = block.title_bottom(Line::styled(note, theme.style("dim")));
    }
    if scroll > 0 {
        block = block.title_top(Line::styled(" ▲ more ", theme.style("dim")).right_aligned());
    }
    if scroll < max {
        block = block.title_bottom(Line::styled(" ▼ more ", theme.style("dim")).right_aligned());
    }
    clear_around(area, rect, buf);
    let inner = block.inner(rect);
    block.render(rect, buf);
    let body = Rect { x: inner.x + 1, width: inner.width.saturating_sub(2), ..inner };
    let shown: Vec<Line> = rows.into_iter().skip(scroll).take(visible).collect();
    Paragraph::new(shown).render(body, buf);
}

/// A request with its whole history, wrapped to `width` with each value under its own column.
fn detail_lines(app: &App, d: &crate::engine::RequestDetail, width: usize) -> Vec<Line<'static>> {
    const LW: usize = 15;
    let theme = &app.ui.theme;
    let r = &d.request;
    let time = &app.ui.time;
    let mut lines = Vec::new();
    let mut field = |k: &str, value: String| {
        for (i, row) in wrap(&value, width.saturating_sub(LW).max(8)).into_iter().enumerate() {
            let label = if i == 0 { k } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{label:<LW$}"), theme.style("dim")),
                Span::raw(row),
            ]));
        }
    };
    field("application", safe(&r.app));
    field("requester", format!("{} <{}>", safe(app.data.display_name(&r.requester)), safe(&r.requester)));
    field("state", app.data.state_shown(r));
    field("roles", safe(&r.roles.join(", ")));
    field("start", time.full(r.start));
    field("duration", format!("{} ({})", r.duration, r.duration.iso()));
    field("justification", safe(&r.justification));
    field("ticket", safe(r.ticket.as_deref().unwrap_or("-")));
    field("decide by", time.full(r.decide_by));
    for v in &r.approvals {
        field("approved by", format!("{} at {}: {}", safe(&v.by), time.full(v.at), safe(&v.reason)));
    }
    if let Some((from, end)) = r.window() {
        field("access", format!("{} → {}", time.full(from), time.full(end)));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("History", theme.style("title")));
    for a in &d.history {
        let reason = a.reason.as_deref().map(|r| format!(": {}", safe(r))).unwrap_or_default();
        let text = format!("{}  {}  {}{reason}", time.full_secs(a.at), safe(&a.actor), a.action.name());
        for (i, row) in wrap(&text, width.saturating_sub(4).max(8)).into_iter().enumerate() {
            lines.push(Line::raw(format!("{}{row}", if i == 0 { "  " } else { "    " })));
        }
    }
    lines
}

/// Lines of a form's body, each exactly one screen row (text is wrapped here, not by the paragraph),
/// so the text cursor and the focused field can be placed and scrolled to exactly.
struct Body<'t> {
    theme: &'t Theme,
    width: usize,
    lines: Vec<Line<'static>>,
    /// (row, column) of the text cursor.
    cursor: Option<(usize, usize)>,
    /// Rows of the focused field.
    focus: Option<(usize, usize)>,
}

impl<'t> Body<'t> {
    fn new(theme: &'t Theme, width: usize) -> Self {
        Body { theme, width, lines: Vec::new(), cursor: None, focus: None }
    }

    fn push(&mut self, line: Line<'static>) {
        self.lines.push(line);
    }

    fn blank(&mut self) {
        self.lines.push(Line::raw(""));
    }

    /// Outside or long text, sanitized and wrapped under an indent.
    fn wrapped(&mut self, indent: usize, text: &str, style: Style) {
        for row in wrap(&safe(text), self.width.saturating_sub(indent).max(8)) {
            self.lines.push(Line::from(vec![Span::raw(" ".repeat(indent)), Span::styled(row, style)]));
        }
    }
}

fn pad(text: &str, width: usize) -> String {
    let cut = fit(text, width);
    let room = width.saturating_sub(cut.width());
    format!("{cut}{}", " ".repeat(room))
}

/// An input's visible part at `width` columns, scrolled to keep the cursor in view, and the cursor's column.
fn input_view(input: &Input, width: usize, focused: bool) -> (String, usize) {
    let value = safe(input.value());
    let room = width.saturating_sub(1).max(1);
    let scroll = if focused { input.visual_scroll(room) } else { 0 };
    let mut skipped = 0;
    let shown: String = value
        .chars()
        .skip_while(|c| {
            let skip = skipped < scroll;
            if skip {
                skipped += c.width().unwrap_or(0);
            }
            skip
        })
        .collect();
    (fit(&shown, width), input.visual_cursor().saturating_sub(scroll))
}

const WIZARD_HEIGHT: u16 = 26;
const FORM_WIDTH: u16 = 96;

fn form_popup(area: Rect, buf: &mut Buffer, app: &App, form: &Form<Purpose>) {
    let theme = &app.ui.theme;
    let width = area.width.min(FORM_WIDTH);
    let inner = usize::from(width.saturating_sub(2));
    let lw = form.fields.iter().map(|f| f.label.width()).max().unwrap_or(0).max(18).min(inner / 3);

    let header = if form.is_wizard() { steps_line(form, theme, inner) } else { Vec::new() };

    let mut body = Body::new(theme, inner);
    for line in &form.intro {
        body.wrapped(0, line, theme.style("dim"));
    }
    if let Some(step) = form.current_step() {
        for line in &step.intro {
            body.wrapped(0, line, theme.style("dim"));
        }
    }
    if !body.lines.is_empty() {
        body.blank();
    }
    for i in form.range() {
        let focused = i == form.focus;
        let top = body.lines.len();
        field_lines(&mut body, form, &form.fields[i], focused, lw);
        if focused {
            body.focus = Some((top, body.lines.len()));
        }
    }
    if form.range().is_empty() {
        review_lines(&mut body, form, lw);
    }
    if let Purpose::Policy { .. } = &form.purpose {
        let changes = wizard::policy_preview(form);
        body.blank();
        let label = Span::styled(format!("{:>lw$}: ", "changes"), theme.style("text"));
        if changes.is_empty() {
            body.push(Line::from(vec![label, Span::styled("none yet", theme.style("dim"))]));
        } else {
            let rows = wrap(&safe(&changes.join(" · ")), inner.saturating_sub(lw + 2).max(8));
            for (j, row) in rows.into_iter().enumerate() {
                let lead = if j == 0 { label.clone() } else { Span::raw(" ".repeat(lw + 2)) };
                body.push(Line::from(vec![lead, Span::styled(row, theme.style("warn"))]));
            }
        }
    }

    let status = status_lines(form, theme, inner);
    let chrome = header.len() + status.len() + 1 + 2;
    let height = if form.is_wizard() {
        WIZARD_HEIGHT
    } else {
        u16::try_from(chrome + body.lines.len()).unwrap_or(u16::MAX)
    };
    let rect = centered(area, width, height.min(area.height.saturating_sub(2)).max(3));
    clear_around(area, rect, buf);
    let inner_rect = Rect {
        x: rect.x + 1,
        y: rect.y + 1,
        width: rect.width.saturating_sub(2),
        height: rect.height.saturating_sub(2),
    };
    let body_height = usize::from(inner_rect.height).saturating_sub(header.len() + status.len() + 1);
    let (scroll, more_above, more_below) = scroll_for(&body, body_height);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style("border.focus"))
        .title(Line::styled(format!(" {} ", safe(&form.title)), theme.style("title")));
    if more_above {
        block = block.title_top(Line::styled(" ▲ more ", theme.style("dim")).right_aligned());
    }
    if more_below {
        block = block.title_bottom(Line::styled(" ▼ more ", theme.style("dim")).right_aligned());
    }
    block.render(rect, buf);

    let mut y = inner_rect.y;
    let bottom = inner_rect.bottom();
    let mut put = |line: Line, y: &mut u16| {
        if *y < bottom {
            Paragraph::new(line).render(Rect { y: *y, height: 1, ..inner_rect }, buf);
            *y += 1;
        }
    };
    for line in header.iter().cloned() {
        put(line, &mut y);
    }
    let body_top = y;
    for line in body.lines.iter().skip(scroll).take(body_height).cloned() {
        put(line, &mut y);
    }
    let status_top = bottom.saturating_sub(u16::try_from(status.len()).unwrap_or(0)).max(y);
    let mut y = status_top;
    for line in status {
        put(line, &mut y);
    }
    // The cursor is drawn as a reversed cell rather than the terminal's own, so nothing moves it.
    if let Some((row, col)) = body.cursor
        && row >= scroll
        && row < scroll + body_height
    {
        let x = inner_rect.x + u16::try_from(col).unwrap_or(u16::MAX);
        let y = body_top + u16::try_from(row - scroll).unwrap_or(0);
        if x < inner_rect.right() && y < status_top {
            buf[(x, y)].set_style(theme.style("selection"));
        }
    }
}

/// The first body row to show so that the focused field is in view, and whether rows are hidden.
fn scroll_for(body: &Body, height: usize) -> (usize, bool, bool) {
    let len = body.lines.len();
    if len <= height {
        return (0, false, false);
    }
    let (start, end) = body.focus.unwrap_or((0, 0));
    let mut scroll = end.saturating_sub(height);
    if start < scroll {
        scroll = start;
    }
    let scroll = scroll.min(len - height);
    (scroll, scroll > 0, scroll + height < len)
}

/// "1 Offer › 2 Basics › 3 JIT Configuration › 4 Customize › 5 Review", or "Step 3/5 · …" when narrow.
fn steps_line(form: &Form<Purpose>, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let names: Vec<String> =
        form.steps.iter().enumerate().map(|(i, s)| format!("{} {}", i + 1, s.title)).collect();
    let full = names.iter().map(|n| n.width()).sum::<usize>() + 3 * names.len().saturating_sub(1);
    let line = if full <= width {
        let mut spans = Vec::new();
        for (i, name) in names.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" › ", theme.style("dim")));
            }
            let style = if i == form.step {
                theme.style("tab.active")
            } else if !form.shows(i) {
                theme.style("dim").add_modifier(Modifier::CROSSED_OUT)
            } else if i < form.step {
                theme.style("text")
            } else {
                theme.style("dim")
            };
            spans.push(Span::styled(name, style));
        }
        Line::from(spans)
    } else {
        let title = form.current_step().map_or("", |s| s.title);
        Line::from(vec![
            Span::styled(format!("Step {}/{} · ", form.step + 1, form.steps.len()), theme.style("dim")),
            Span::styled(title.to_string(), theme.style("tab.active")),
        ])
    };
    vec![line, Line::raw("")]
}

fn field_lines(body: &mut Body, form: &Form<Purpose>, field: &Field, focused: bool, lw: usize) {
    let theme = body.theme;
    let vw = body.width.saturating_sub(lw + 2);
    let label_style = if focused { theme.style("key") } else { theme.style("text") };
    let value_style = if focused { theme.style("input.focus") } else { theme.style("input") };
    let label = Span::styled(format!("{:>lw$}: ", fit(field.label, lw)), label_style);
    let indent = " ".repeat(lw + 2);
    let row = body.lines.len();
    // The first row, and the text cursor's column in it if this field takes typing there.
    let mut spans = vec![label];
    match &field.kind {
        FieldKind::Text(input) => {
            if input.value().is_empty() && !field.placeholder.is_empty() {
                spans.push(Span::styled(fit(&safe(&field.placeholder), vw), theme.style("dim")));
                if focused {
                    body.cursor = Some((row, lw + 2));
                }
            } else {
                let (shown, col) = input_view(input, vw, focused);
                spans.push(Span::styled(shown, value_style));
                if focused {
                    body.cursor = Some((row, lw + 2 + col));
                }
            }
        }
        FieldKind::Choice { options, selected } => {
            for (j, o) in options.iter().enumerate() {
                let on = j == *selected;
                let style = if on { value_style } else { theme.style("dim") };
                spans.push(Span::styled(format!("{} {}", if on { "●" } else { "○" }, safe(o)), style));
                spans.push(Span::raw("   "));
            }
            if options.len() == 1 {
                spans.push(Span::styled("(fixed)", theme.style("dim")));
            }
        }
        FieldKind::Multi { options, chosen, cursor: at } => {
            for (j, (o, on)) in options.iter().zip(chosen).enumerate() {
                let mark = if *on { "[x]" } else { "[ ]" };
                let style = if focused && j == *at {
                    theme.style("selection")
                } else if *on {
                    value_style
                } else {
                    theme.style("dim")
                };
                spans.push(Span::styled(format!("{mark} {} ", safe(o)), style));
            }
        }
        FieldKind::Pick { query, rows, .. } => {
            if !focused {
                let shown = field.value();
                let name = rows
                    .iter()
                    .find(|r| r.key == shown)
                    .and_then(|r| r.cells.first())
                    .cloned()
                    .unwrap_or(shown);
                spans.push(Span::styled(fit(&safe(&name), vw), value_style));
            } else if query.value().is_empty() {
                let hint = if field.placeholder.is_empty() {
                    format!("type to search {} rows", rows.len())
                } else {
                    safe(&field.placeholder)
                };
                spans.push(Span::styled(fit(&hint, vw), theme.style("dim")));
                body.cursor = Some((row, lw + 2));
            } else {
                let (shown, col) = input_view(query, vw, true);
                spans.push(Span::styled(shown, value_style));
                body.cursor = Some((row, lw + 2 + col));
            }
        }
        FieldKind::People { query, chosen, .. } => {
            if !focused {
                let text =
                    if chosen.is_empty() { "none".to_string() } else { format!("{} chosen", chosen.len()) };
                spans.push(Span::styled(text, theme.style("dim")));
            } else if query.value().is_empty() {
                spans.push(Span::styled(fit("type part of a name or UPN to search", vw), theme.style("dim")));
                body.cursor = Some((row, lw + 2));
            } else {
                // Typing goes to the search wherever the list's cursor is, so the text cursor stays.
                let (shown, col) = input_view(query, vw, true);
                spans.push(Span::styled(shown, value_style));
                body.cursor = Some((row, lw + 2 + col));
            }
        }
    }
    body.push(Line::from(spans));
    match &field.kind {
        FieldKind::Pick { query, header, rows, cursor } if focused => {
            pick_rows(body, query.value(), header, rows, *cursor)
        }
        FieldKind::People { directory, query, chosen, cursor } => {
            people_rows(body, &indent, focused, directory, query.value(), chosen, *cursor);
        }
        _ => {}
    }
    // A table picker spans the width, and so do its remarks.
    let under = if matches!(field.kind, FieldKind::Pick { .. }) && focused { 4 } else { lw + 2 };
    let problem = field.problem().filter(|_| form.shows_problem(field));
    if let Some(problem) = problem {
        body.wrapped(under, &problem, theme.style("error"));
    } else if focused && !field.hint.is_empty() {
        body.push(Line::from(vec![
            Span::raw(indent.clone()),
            Span::styled(fit(&field.hint, vw), theme.style("dim")),
        ]));
    }
    if let Some((tone, note)) = &field.note {
        let style = if *tone == Tone::Warn { theme.style("warn") } else { theme.style("dim") };
        body.wrapped(under, note, style);
    }
}

/// A table picker's header and the rows around its cursor, columns squeezed to fit.
fn pick_rows(body: &mut Body, query: &str, header: &[&'static str], rows: &[PickRow], cursor: usize) {
    let theme = body.theme;
    let columns = header.len().max(rows.iter().map(|r| r.cells.len()).max().unwrap_or(0));
    let mut widths: Vec<usize> = (0..columns)
        .map(|c| {
            let head = header.get(c).map_or(0, |h| h.width());
            rows.iter().filter_map(|r| r.cells.get(c)).map(|t| safe(t).width()).max().unwrap_or(0).max(head)
        })
        .collect();
    let room = body.width.saturating_sub(4);
    while widths.iter().sum::<usize>() + 2 * columns.saturating_sub(1) > room {
        let Some(widest) = widths.iter().enumerate().max_by_key(|(_, w)| **w).map(|(i, _)| i) else { break };
        if widths[widest] <= 3 {
            break;
        }
        widths[widest] -= 1;
    }
    let cells = |texts: Vec<String>| -> String {
        texts
            .iter()
            .zip(&widths)
            .map(|(t, w)| pad(t, *w))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    body.push(Line::styled(
        format!("    {}", cells(header.iter().map(|h| h.to_string()).collect())),
        theme.style("table.header"),
    ));
    let matches = pick_matches(query, rows);
    let first = cursor.saturating_sub(PICK_ROWS - 1).min(matches.len().saturating_sub(PICK_ROWS));
    for (j, &i) in matches.iter().enumerate().skip(first).take(PICK_ROWS) {
        let text = cells(rows[i].cells.iter().map(|c| safe(c)).collect());
        if j == cursor {
            body.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(format!("› {text}"), theme.style("selection")),
            ]));
        } else {
            body.push(Line::styled(format!("    {text}"), theme.style("text")));
        }
    }
    let hidden = matches.len().saturating_sub(PICK_ROWS);
    if hidden > 0 {
        body.push(Line::styled(format!("    … {hidden} more: type to narrow"), theme.style("dim")));
    }
}

/// A people picker's results (while focused) and the people chosen, each one row.
fn people_rows(
    body: &mut Body,
    indent: &str,
    focused: bool,
    directory: &[Person],
    query: &str,
    chosen: &[String],
    cursor: Option<usize>,
) {
    let theme = body.theme;
    let room = body.width.saturating_sub(indent.width() + 4);
    let row = |name: &str, upn: &str| {
        let name = safe(name);
        if name == upn { fit(&safe(upn), room) } else { fit(&format!("{name}  <{}>", safe(upn)), room) }
    };
    let push = |body: &mut Body, at: usize, mark: &str, text: String, style: Style| {
        if focused && cursor == Some(at) {
            body.push(Line::from(vec![
                Span::raw(indent.to_string()),
                Span::styled(format!("› {mark}{text}"), theme.style("selection")),
            ]));
        } else {
            body.push(Line::from(vec![
                Span::raw(indent.to_string()),
                Span::styled(format!("  {mark}{text}"), style),
            ]));
        }
    };
    let matches = people_matches(directory, query, chosen);
    let shown = matches.len().min(PEOPLE_ROWS);
    if focused {
        for (j, p) in matches.iter().take(PEOPLE_ROWS).enumerate() {
            push(body, j, "+ ", row(&p.name, &p.upn), theme.style("text"));
        }
        if matches.len() > PEOPLE_ROWS {
            let more = format!("  … {} more: type more of the name", matches.len() - PEOPLE_ROWS);
            body.push(Line::from(vec![
                Span::raw(indent.to_string()),
                Span::styled(more, theme.style("dim")),
            ]));
        } else if matches.is_empty() && !query.trim().is_empty() {
            let needle = query.trim().to_lowercase();
            let already = chosen.iter().any(|c| c.contains(&needle));
            let text = if already {
                format!("  `{}` is already chosen", safe(query.trim()))
            } else {
                format!("  nobody in the directory matches `{}`", safe(query.trim()))
            };
            body.push(Line::from(vec![
                Span::raw(indent.to_string()),
                Span::styled(fit(&text, room + 2), theme.style("dim")),
            ]));
        }
        let head = if chosen.is_empty() {
            "chosen: none yet".to_string()
        } else {
            format!("chosen ({}):", chosen.len())
        };
        body.push(Line::from(vec![Span::raw(indent.to_string()), Span::styled(head, theme.style("dim"))]));
    }
    for (j, upn) in chosen.iter().enumerate() {
        let name = directory.iter().find(|p| &p.upn == upn).map_or(upn.as_str(), |p| p.name.as_str());
        push(body, shown + j, "✓ ", row(name, upn), theme.style("text"));
    }
}

/// A step without fields is the review: the wizard's summary, label by label.
fn review_lines(body: &mut Body, form: &Form<Purpose>, lw: usize) {
    let theme = body.theme;
    let vw = body.width.saturating_sub(lw + 2).max(8);
    for (label, value, tone) in wizard::review(form) {
        let style = if tone == Tone::Warn { theme.style("warn") } else { theme.style("text") };
        for (j, row) in wrap(&safe(&value), vw).into_iter().enumerate() {
            let lead =
                if j == 0 && !label.is_empty() { format!("{label:>lw$}: ") } else { " ".repeat(lw + 2) };
            body.push(Line::from(vec![Span::styled(lead, theme.style("dim")), Span::styled(row, style)]));
        }
    }
}

/// The bottom of a form: the engine's refusal, progress, the discard question, or the keys that work here.
fn status_lines(form: &Form<Purpose>, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let mut add = |text: &str, style: Style| {
        for row in wrap(&safe(text), width.max(8)) {
            out.push(Line::styled(row, style));
        }
    };
    if form.discarding {
        add("Discard what you entered?  y discards · n goes on editing", theme.style("warn"));
        return out;
    }
    if let Some(error) = &form.error {
        add(error, theme.style("error"));
        if form.is_wizard() && form.step > 0 {
            add("Esc goes back to change it.", theme.style("dim"));
        }
        return out;
    }
    if form.busy {
        add("working…", theme.style("dim"));
        return out;
    }
    let back = if form.is_wizard() {
        if (0..form.step).any(|i| form.shows(i)) { "Esc/S-Tab back" } else { "Esc close" }
    } else {
        "Esc closes"
    };
    let last_field = form.focus + 1 >= form.range().end;
    let next = if !form.is_wizard() {
        match (form.saves, last_field) {
            (true, true) => "Enter or C-s saves",
            (true, false) => "C-s saves",
            (false, true) => "Enter submits",
            (false, false) => "Enter on the last field submits",
        }
    } else if !last_field {
        "Enter next field"
    } else if form.on_last_step() {
        "Enter creates"
    } else {
        "Enter next step"
    };
    let searching = form.focused().and_then(|f| f.input()).is_some_and(|i| !i.value().is_empty())
        && matches!(
            form.focused().map(|f| &f.kind),
            Some(FieldKind::Pick { .. } | FieldKind::People { cursor: None, .. })
        );
    let back = if searching { "Esc clears the search" } else { back };
    let keys = match form.focused().map(|f| &f.kind) {
        Some(FieldKind::Pick { .. }) => format!("↑/↓ choose · type to search · {next} · {back}"),
        Some(FieldKind::People { directory, query, chosen, cursor: Some(at) }) => {
            let on_result = *at < people_matches(directory, query.value(), chosen).len().min(PEOPLE_ROWS);
            let act = if on_result { "Enter/Space adds" } else { "Space/Del removes" };
            let esc =
                if query.value().is_empty() { "Esc back to the search" } else { "Esc clears the search" };
            format!("↑/↓ move · {act} · {esc} · Tab next field")
        }
        Some(FieldKind::People { .. }) => {
            format!("type to search · ↓ into the list · Tab next field · {next} · {back}")
        }
        Some(FieldKind::Choice { .. }) => format!("←/→ choose · Tab/↓ next field · {next} · {back}"),
        Some(_) => format!("Tab/↓ next field · {next} · {back}"),
        None => format!("{next} · {back}"),
    };
    add(&keys, theme.style("dim"));
    out
}
