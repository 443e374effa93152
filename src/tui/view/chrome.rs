//! The frame around the tabs: header, tab bar, footer, toasts, and the screens shown instead of a
//! tab (first run, loading, terminal too small).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::fmt::{fit, fit_line, safe};
use super::{MIN_HEIGHT, MIN_WIDTH, centered};
use crate::tui::app::{App, Overlay, Tab};
use crate::tui::keymap::Scope;
use unicode_width::UnicodeWidthStr;

/// One part of the header: what it shows, how much it matters (the least is dropped first when the
/// line is short), and whether it may be cut with `…` instead of dropped.
struct Part {
    span: Span<'static>,
    rank: u8,
    cut: bool,
}

/// Who you are on the left, cut to fit (least important parts first) so that it never runs into the
/// clock, which has its own place on the right.
pub fn header(area: Rect, buf: &mut Buffer, app: &App) {
    let theme = &app.ui.theme;
    let part = |text: String, style: &str, rank: u8| Part {
        span: Span::styled(text, theme.style(style)),
        rank,
        cut: false,
    };
    let mut parts = vec![part(" jitdesk ".into(), "title", u8::MAX)];
    // Where the data comes from: this process's own engine, or the store's shared service.
    if let Some(link) = app.link {
        parts.push(part(format!(" {link} "), "dim", 145));
    }
    match &app.data.me {
        Some(me) => {
            parts.push(part(format!(" {} ", fit(&safe(&me.display_name), 24)), "header", 150));
            let waiting = app.data.waiting_for_me();
            if waiting > 0 {
                let due = app.data.due_for_me(app.now, chrono::TimeDelta::hours(1));
                parts.push(part(format!(" {waiting} waiting for you"), "badge", 250));
                // What is due soon outranks the name; that nothing is due is the first thing to go.
                let rank = if due > 0 { 245 } else { 80 };
                parts.push(part(format!(", {due} due within 1h"), "badge", rank));
                parts.push(part(" ".into(), "badge", 250));
            }
            parts.push(part(format!(" {}", app.role().label()), "dim", 140));
            parts.push(part(format!(" · {}", safe(&me.tenant)), "dim", 100));
            parts.push(part(format!(" · {}", safe(&me.upn)), "dim", 90));
        }
        // Before the first snapshot nobody is known yet: who the dashboard was started as, loading.
        None if !app.loaded => {
            if let Some(upn) = &app.starting_as {
                parts.push(part(format!(" {} ", safe(upn)), "header", 150));
            }
            parts.push(part(" loading…".into(), "dim", 140));
        }
        None => parts
            .push(Part { cut: true, ..part(" no identity: read-only (use --as UPN)".into(), "warn", 200) }),
    }
    if let Some(trouble) = &app.trouble {
        parts.push(Part { cut: true, ..part(format!("  {}", safe(trouble)), "error", 200) });
    }
    let clock = format!("{} ", app.ui.time.clock(app.now));
    let clock_w = clock.width() as u16;
    // The clock keeps its place while enough is left beside it for the rest.
    let left = if area.width >= clock_w + 30 {
        let right = Rect { x: area.right() - clock_w, width: clock_w, ..area };
        Paragraph::new(Span::styled(clock, theme.style("dim"))).render(right, buf);
        // Two columns between the two, so they never read as one.
        Rect { width: area.width - clock_w - 2, ..area }
    } else {
        area
    };
    let room = usize::from(left.width);
    // A part that may be cut counts for a few columns only when deciding what else to drop.
    let cost = |p: &Part| if p.cut { p.span.width().min(16) } else { p.span.width() };
    while parts.iter().map(cost).sum::<usize>() > room {
        let Some(least) =
            parts.iter().enumerate().filter(|(_, p)| p.rank < u8::MAX).min_by_key(|(_, p)| p.rank)
        else {
            break;
        };
        parts.remove(least.0);
    }
    let line = Line::from(parts.into_iter().map(|p| p.span).collect::<Vec<_>>());
    Paragraph::new(fit_line(line, room)).render(left, buf);
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

/// The keys that work here, from the same bindings that answer them: a tab's, or the open overlay's.
pub fn footer(area: Rect, buf: &mut Buffer, app: &App) {
    let theme = &app.ui.theme;
    let list = app.list();
    let mut spans = Vec::new();
    let scope = match &app.overlay {
        Some(Overlay::Form(_)) => None,
        Some(Overlay::Help { .. }) => Some(Scope::Help),
        Some(Overlay::Detail { .. }) => Some(Scope::Detail),
        Some(Overlay::Confirm { .. }) => Some(Scope::Confirm),
        // No tab to act on yet: only what works everywhere.
        None if !app.loaded || app.data.is_empty() => Some(Scope::Global),
        None => Some(app.tab.scope()),
    };
    if let Some(caption) = &app.caption {
        // A playing tour says what it shows; only quitting works, and the line says so.
        let quit = "  q quits the tour";
        let room = usize::from(area.width).saturating_sub(quit.width());
        spans.push(Span::styled(fit(&format!(" › {}", safe(caption)), room), theme.style("key")));
        spans.push(Span::styled(quit, theme.style("dim")));
    } else if let (None, Some(typed)) = (&app.overlay, &app.goto) {
        spans.push(Span::styled(" request #", theme.style("key")));
        spans.push(Span::styled(format!("{typed}▏"), theme.style("input.focus")));
        spans.push(Span::styled("  Enter opens its details · Esc cancels", theme.style("dim")));
    } else if app.overlay.is_none() && list.filtering {
        spans.push(Span::styled(" filter: ", theme.style("key")));
        spans.push(Span::styled(format!("{}▏", safe(list.filter.value())), theme.style("input.focus")));
        spans.push(Span::styled("  Enter keep · Esc clear", theme.style("dim")));
    } else if let Some(scope) = scope {
        let needle = list.filter.value();
        let filter =
            (app.overlay.is_none() && !needle.is_empty()).then(|| format!("  [filter: {}]", safe(needle)));
        // Whole bindings only: one that does not fit is left out rather than cut.
        let mut room = usize::from(area.width).saturating_sub(filter.as_ref().map_or(0, |f| f.width()));
        for binding in app.ui.keymap.footer(scope).filter(|b| app.offers(b.action)) {
            let (keys, desc) = (app.ui.keymap.label(binding), binding.desc);
            let gap = if spans.is_empty() { 1 } else { 2 };
            let wide = gap + keys.width() + 1 + desc.width();
            if wide > room {
                continue;
            }
            room -= wide;
            spans.push(Span::styled(format!("{}{keys}", " ".repeat(gap)), theme.style("key")));
            spans.push(Span::styled(format!(" {desc}"), theme.style("dim")));
        }
        if let Some(filter) = filter {
            spans.push(Span::styled(filter, theme.style("warn")));
        }
    } else {
        spans.push(Span::styled(" the form shows the keys that work in it", theme.style("dim")));
    }
    Paragraph::new(fit_line(Line::from(spans), usize::from(area.width))).render(area, buf);
}

/// Instead of a broken layout: what the terminal is and what it needs, wrapped, down to 1x1.
pub fn too_small(area: Rect, buf: &mut Buffer, app: &App) {
    let text = format!("too small: {}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}", area.width, area.height);
    Paragraph::new(Span::styled(text, app.ui.theme.style("warn")))
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

/// Lines in the middle of `area`, as a block aligned on its left edge; lines wider than the area wrap.
pub fn message(area: Rect, buf: &mut Buffer, app: &App, lines: &[Line<'static>]) {
    let width = lines.iter().map(Line::width).max().unwrap_or(0);
    let width = u16::try_from(width).unwrap_or(u16::MAX).min(area.width.saturating_sub(2));
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let box_area = centered(area, width, height);
    let style = app.ui.theme.style("text");
    Paragraph::new(lines.to_vec()).style(style).wrap(Wrap { trim: false }).render(box_area, buf);
}

/// An empty store: how to fill it, each command whole on its own line so it can be copied.
pub fn first_run(area: Rect, buf: &mut Buffer, app: &App) {
    let theme = &app.ui.theme;
    let say = |t: &'static str| Line::styled(t, theme.style("text"));
    let note = |t: &'static str| Line::styled(t, theme.style("dim"));
    let cmd = |t: &'static str| Line::styled(format!("  {t}"), theme.style("key"));
    message(
        area,
        buf,
        app,
        &[
            Line::styled("This store is empty.", theme.style("title")),
            say(""),
            note("Load the sample directory (into a new --store):"),
            cmd("jitdesk init --sample"),
            note("Or try everything at once, on a store of its own:"),
            cmd("jitdesk demo"),
            note("Or build your own directory:"),
            cmd("jitdesk tenant add contoso --kind customer"),
            cmd("jitdesk user add alice@contoso.com --tenant contoso --admin"),
            say(""),
            say("Then open the dashboard again. Press q to quit."),
        ],
    );
}

/// Results and errors, newest at the bottom right, each one row, cut with `…` when too long.
pub fn toasts(area: Rect, buf: &mut Buffer, app: &App) {
    let theme = &app.ui.theme;
    let room = usize::from(area.width.saturating_sub(2));
    for (i, toast) in app.toasts.iter().rev().enumerate() {
        let text = fit(&format!(" {} ", safe(&toast.text)), room);
        let width = text.width() as u16;
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
