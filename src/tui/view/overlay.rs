//! What draws over the tabs: help (made from the keymap), request details, confirmations, forms.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::centered;
use super::fmt::{full_time, safe};
use crate::tui::app::{App, Overlay, Purpose};
use crate::tui::form::{FieldKind, Form};
use crate::tui::keymap::Scope;

pub fn render(area: Rect, buf: &mut Buffer, app: &App) {
    match &app.overlay {
        None => {}
        Some(Overlay::Help) => help(area, buf, app),
        Some(Overlay::Detail { id, detail }) => {
            let lines = match detail {
                None => vec![Line::raw(format!("loading request {id}…"))],
                Some(d) => detail_lines(app, d),
            };
            popup(area, buf, app, &format!("Request {id}"), lines, 90, 30);
        }
        Some(Overlay::Confirm { message, .. }) => {
            popup(area, buf, app, "Confirm", vec![Line::raw(safe(message))], 60, 5);
        }
        Some(Overlay::Form(form)) => form_popup(area, buf, app, form),
    }
}

fn popup(area: Rect, buf: &mut Buffer, app: &App, title: &str, lines: Vec<Line>, w: u16, h: u16) -> Rect {
    let theme = &app.ui.theme;
    let rect = centered(area, w, h.min(area.height.saturating_sub(2)).max(3));
    Clear.render(rect, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style("border.focus"))
        .title(Line::styled(format!(" {} ", safe(title)), theme.style("title")));
    Paragraph::new(lines).wrap(Wrap { trim: false }).block(block).render(rect, buf);
    rect
}

fn help(area: Rect, buf: &mut Buffer, app: &App) {
    let theme = &app.ui.theme;
    let km = &app.ui.keymap;
    let mut lines = Vec::new();
    for (scope, title) in [
        (Scope::Global, "Everywhere"),
        (Scope::List, "Lists"),
        (Scope::Applications, "Applications"),
        (Scope::Settings, "JIT settings"),
        (Scope::Requests, "Requests"),
        (Scope::Access, "Access"),
        (Scope::Activity, "Activity"),
    ] {
        lines.push(Line::styled(title, theme.style("title")));
        for b in km.bindings.iter().filter(|b| b.scope == scope) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<14}", km.label(b)), theme.style("key")),
                Span::raw(b.desc),
            ]));
        }
    }
    lines.push(Line::styled("Keys can be changed in config.toml under [keys].  Esc or ? closes.", theme.style("dim")));
    let height = lines.len() as u16 + 2;
    popup(area, buf, app, "Keys", lines, 60, height);
}

fn detail_lines(app: &App, d: &crate::engine::RequestDetail) -> Vec<Line<'static>> {
    let theme = &app.ui.theme;
    let r = &d.request;
    let utc = app.ui.utc;
    let label = |k: &str| Span::styled(format!("{k:<15}"), theme.style("dim"));
    let mut lines = vec![
        Line::from(vec![label("application"), Span::raw(safe(&r.app))]),
        Line::from(vec![label("requester"), Span::raw(format!("{} <{}>", safe(app.data.display_name(&r.requester)), safe(&r.requester)))]),
        Line::from(vec![label("state"), Span::raw(r.state.name())]),
        Line::from(vec![label("roles"), Span::raw(safe(&r.roles.join(", ")))]),
        Line::from(vec![label("start"), Span::raw(full_time(r.start, utc))]),
        Line::from(vec![label("duration"), Span::raw(format!("{} ({})", r.duration, r.duration.iso()))]),
        Line::from(vec![label("justification"), Span::raw(safe(&r.justification))]),
        Line::from(vec![label("ticket"), Span::raw(safe(r.ticket.as_deref().unwrap_or("-")))]),
        Line::from(vec![label("decide by"), Span::raw(full_time(r.decide_by, utc))]),
    ];
    if let Some((from, end)) = r.window() {
        lines.push(Line::from(vec![label("access"), Span::raw(format!("{} → {}", full_time(from, utc), full_time(end, utc)))]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("History", theme.style("title")));
    for a in &d.history {
        let reason = a.reason.as_deref().map(|r| format!(": {}", safe(r))).unwrap_or_default();
        lines.push(Line::raw(format!("  {}  {}  {}{reason}", full_time(a.at, utc), safe(&a.actor), a.action.name())));
    }
    lines
}

fn form_popup(area: Rect, buf: &mut Buffer, app: &App, form: &Form<Purpose>) {
    let theme = &app.ui.theme;
    let mut lines: Vec<Line> = form.intro.iter().map(|l| Line::styled(safe(l), theme.style("dim"))).collect();
    if !lines.is_empty() {
        lines.push(Line::raw(""));
    }
    let mut cursor = None;
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let label_style = if focused { theme.style("key") } else { theme.style("text") };
        let mut spans = vec![Span::styled(format!("{:>18}: ", field.label), label_style)];
        let value_style = if focused { theme.style("input.focus") } else { theme.style("input") };
        match &field.kind {
            FieldKind::Text(input) => {
                spans.push(Span::styled(format!("{} ", safe(input.value())), value_style));
                if focused {
                    cursor = Some((lines.len(), 20 + input.visual_cursor()));
                }
            }
            FieldKind::Choice { options, selected } => {
                for (j, o) in options.iter().enumerate() {
                    let style = if j == *selected { value_style } else { theme.style("dim") };
                    spans.push(Span::styled(format!("{} ", safe(o)), style));
                }
            }
            FieldKind::Multi { options, chosen, cursor: at } => {
                for (j, (o, on)) in options.iter().zip(chosen).enumerate() {
                    let mark = if *on { "[x]" } else { "[ ]" };
                    let style = if focused && j == *at { theme.style("selection") } else if *on { value_style } else { theme.style("dim") };
                    spans.push(Span::styled(format!("{mark} {} ", safe(o)), style));
                }
            }
        }
        lines.push(Line::from(spans));
        if focused && !field.hint.is_empty() {
            lines.push(Line::styled(format!("{:>20}{}", "", field.hint), theme.style("dim")));
        }
    }
    lines.push(Line::raw(""));
    if let Some(error) = &form.error {
        lines.push(Line::styled(safe(error), theme.style("error")));
    } else if form.busy {
        lines.push(Line::styled("working…", theme.style("dim")));
    } else {
        lines.push(Line::styled("Enter on the last field submits · Esc closes", theme.style("dim")));
    }
    let height = lines.len() as u16 + 4;
    let rect = popup(area, buf, app, &form.title, lines, 96, height);
    // The cursor is drawn as a reversed cell rather than the terminal's own, so nothing moves it.
    if let Some((row, col)) = cursor {
        let x = rect.x + 1 + col as u16;
        let y = rect.y + 1 + row as u16;
        if x < rect.right() - 1 && y < rect.bottom() - 1 {
            let cell = &mut buf[(x, y)];
            cell.set_style(theme.style("selection"));
        }
    }
}
