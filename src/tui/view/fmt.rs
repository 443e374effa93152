//! How countdowns and outside text look on screen; moments go through `TimeStyle`, shared with the CLI.

use chrono::{DateTime, Utc};
use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::domain::text::sanitize;
use crate::domain::when::until;

/// Text from other people, made safe for the terminal: the one door outside text comes through.
pub fn safe(text: &str) -> String {
    sanitize(text).into_owned()
}

pub fn countdown(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    until(now, then)
}

/// A countdown for a table cell, padded to the widest it gets (`in 23h 59m`), so that its column
/// does not change width, and the columns after it do not move, as it ticks.
pub fn countdown_cell(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    format!("{:<10}", until(now, then))
}

/// Cuts text to a display width, marking the cut with `…`.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width { text.to_string() } else { cut(text, width) }
}

/// The start of `text` that fits in `width - 1` columns, and `…`.
fn cut(text: &str, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    // `Bob …` reads as a cut word; `Bob…` does not.
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// Cuts a styled line to a display width, marking the cut with `…` in the style of the span it cuts.
pub fn fit_line(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let Line { spans, style, alignment } = line;
    let mut out = Vec::new();
    let mut left = width;
    for span in spans {
        let w = span.width();
        if w < left {
            left -= w;
            out.push(span);
        } else {
            out.push(Span::styled(cut(&span.content, left), span.style));
            break;
        }
    }
    Line { spans: out, style, alignment }
}

/// Greedy word wrap by display width; words longer than a row are cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = Vec::new();
    let mut row = String::new();
    for word in text.split(' ') {
        let wide = word.width();
        let room = if row.is_empty() { width } else { width.saturating_sub(row.width() + 1) };
        if wide > room && !row.is_empty() {
            rows.push(std::mem::take(&mut row));
        }
        if !row.is_empty() {
            row.push(' ');
        }
        for c in word.chars() {
            if row.width() + c.width().unwrap_or(0) > width && !row.is_empty() {
                rows.push(std::mem::take(&mut row));
            }
            row.push(c);
        }
    }
    if !row.is_empty() || rows.is_empty() {
        rows.push(row);
    }
    rows
}
