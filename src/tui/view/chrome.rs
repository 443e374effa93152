//! The frame around the tabs: header, tab bar, footer, toasts, and the screens shown instead of a
//! tab (first run, loading, terminal too small).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::fmt::{clock, safe};
use super::{MIN_HEIGHT, MIN_WIDTH, centered};
use crate::tui::app::{App, Overlay, Tab};
use crate::tui::keymap::Scope;

pub fn header(area: Rect, buf: &mut Buffer, app: &App) {
    let theme = &app.ui.theme;
    let mut spans = vec![Span::styled(" jitdesk ", theme.style("title"))];
    let waiting = app.data.waiting_for_me();
    let badge =
        (waiting > 0).then(|| Span::styled(format!(" {waiting} waiting for you "), theme.style("badge")));
    match &app.data.me {
        Some(me) => {
            spans.push(Span::styled(format!(" {} ", safe(&me.display_name)), theme.style("header")));
            // The badge comes before the details, so narrow terminals still show it.
            spans.extend(badge);
            let details = format!(" {} · {} · {}", safe(&me.upn), safe(&me.tenant), app.role().label());
            spans.push(Span::styled(details, theme.style("dim")));
        }
        None => spans.push(Span::styled(" no identity: read-only (use --as UPN)", theme.style("warn"))),
    }
    if let Some(trouble) = &app.trouble {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(safe(trouble), theme.style("error")));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
    let clock = format!("{} ", clock(app.now, app.ui.utc));
    let width = clock.chars().count() as u16;
    if area.width > width + 40 {
        let right = Rect { x: area.x + area.width - width, width, ..area };
        Paragraph::new(Span::styled(clock, theme.style("dim"))).render(right, buf);
    }
}

/// Each tab's label, in order, as drawn: the mouse needs the same positions.
fn tab_labels() -> impl Iterator<Item = (Tab, String)> {
    Tab::ALL.iter().enumerate().map(|(i, t)| (*t, format!(" {} {} ", i + 1, t.title())))
}

pub fn tab_at(x: u16) -> Option<Tab> {
    let mut left = 0u16;
    for (tab, label) in tab_labels() {
        let width = label.chars().count() as u16;
        if x >= left && x < left + width {
            return Some(tab);
        }
        left += width + 1;
    }
    None
}

pub fn tab_bar(area: Rect, buf: &mut Buffer, app: &App) {
    let theme = &app.ui.theme;
    let mut spans = Vec::new();
    for (tab, label) in tab_labels() {
        let style = if tab == app.tab { theme.style("tab.active") } else { theme.style("tab") };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

pub fn footer(area: Rect, buf: &mut Buffer, app: &App) {
    let theme = &app.ui.theme;
    let list = app.list();
    let mut spans = Vec::new();
    if list.filtering {
        spans.push(Span::styled(" filter: ", theme.style("key")));
        spans.push(Span::styled(format!("{}▏", safe(list.filter.value())), theme.style("input.focus")));
        spans.push(Span::styled("  Enter keep · Esc clear", theme.style("dim")));
    } else if let Some(Overlay::Form(_)) = &app.overlay {
        spans.push(Span::styled(" the form shows the keys that work in it", theme.style("dim")));
    } else {
        let scope = if app.overlay.is_some() { Scope::Global } else { app.tab.scope() };
        for binding in app.ui.keymap.footer(scope).filter(|b| app.offers(b.action)) {
            spans.push(Span::styled(format!(" {}", app.ui.keymap.label(binding)), theme.style("key")));
            spans.push(Span::styled(format!(" {} ", binding.desc), theme.style("dim")));
        }
        let needle = list.filter.value();
        if !needle.is_empty() {
            spans.push(Span::styled(format!(" [filter: {}]", safe(needle)), theme.style("warn")));
        }
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

pub fn too_small(area: Rect, buf: &mut Buffer, app: &App) {
    let text = format!(
        "terminal too small ({}x{}): jitdesk needs {MIN_WIDTH}x{MIN_HEIGHT}",
        area.width, area.height
    );
    Paragraph::new(Span::styled(text, app.ui.theme.style("warn"))).render(area, buf);
}

pub fn message(area: Rect, buf: &mut Buffer, app: &App, lines: &[&str]) {
    let height = lines.len() as u16;
    let box_area = centered(area, area.width.saturating_sub(4), height);
    let lines: Vec<Line> =
        lines.iter().map(|l| Line::from(Span::styled(*l, app.ui.theme.style("text")))).collect();
    Paragraph::new(lines).wrap(Wrap { trim: false }).render(box_area, buf);
}

pub fn first_run(area: Rect, buf: &mut Buffer, app: &App) {
    message(
        area,
        buf,
        app,
        &[
            "This store is empty.",
            "",
            "Load the sample directory:       jitdesk init --sample   (on a new --store)",
            "or try everything at once:      jitdesk demo",
            "or build your own directory:    jitdesk tenant add contoso --kind customer",
            "                                jitdesk user add alice@contoso.com --tenant contoso --admin",
            "",
            "Then open the dashboard again. Press q to quit.",
        ],
    );
}

pub fn toasts(area: Rect, buf: &mut Buffer, app: &App) {
    let theme = &app.ui.theme;
    for (i, toast) in app.toasts.iter().rev().enumerate() {
        let text = format!(" {} ", safe(&toast.text));
        let width = (text.chars().count() as u16).min(area.width.saturating_sub(2));
        let y = area.bottom().saturating_sub(2 + i as u16);
        if y <= area.y + 1 {
            break;
        }
        let rect = Rect { x: area.right().saturating_sub(width + 1), y, width, height: 1 };
        Clear.render(rect, buf);
        let style = if toast.error { theme.style("toast.error") } else { theme.style("toast") };
        Paragraph::new(Span::styled(text, style)).render(rect, buf);
    }
}
