//! The dashboard in ASCII, for terminals and locales that cannot show Unicode: every frame is drawn
//! as usual and then each of its non-ASCII symbols (borders, arrows, ellipses, marks, bullets) is
//! swapped for an ASCII one of the same width, in this one place, so that no screen can forget one.

use ratatui::buffer::Buffer;

/// The ASCII stand-in for a symbol the dashboard draws; None for what needs none.
fn stand_in(c: char) -> Option<char> {
    Some(match c {
        // Box drawing: lines and then every corner and junction.
        '─' | '━' | '═' | '╌' | '┄' => '-',
        '│' | '┃' | '║' | '╎' | '┆' | '▏' => '|',
        '\u{2500}'..='\u{257f}' => '+',
        '→' | '›' => '>',
        '←' => '<',
        '↑' | '▲' => '^',
        '↓' | '▼' => 'v',
        '…' => '~',
        '·' => '|',
        '●' => '*',
        '○' => 'o',
        '✓' => 'x',
        '−' => '-',
        // Control pictures and the replacement character, which show text from other people safely.
        '\u{2400}'..='\u{243f}' | '\u{fffd}' => '?',
        _ => return None,
    })
}

/// Swaps every symbol of the frame that has an ASCII stand-in for it.
pub fn translate(buf: &mut Buffer) {
    for cell in &mut buf.content {
        let mut chars = cell.symbol().chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && let Some(ascii) = stand_in(c)
        {
            cell.set_char(ascii);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::widgets::{Block, Borders, Widget};

    #[test]
    fn borders_and_symbols_turn_into_ascii_and_text_stays() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 3));
        Block::default().borders(Borders::ALL).title("a → b…").render(buf.area, &mut buf);
        buf.set_string(1, 1, "● é ↑↓✓", ratatui::style::Style::default());
        translate(&mut buf);
        let text: Vec<String> =
            (0..3).map(|y| (0..12).map(|x| buf[(x, y)].symbol().to_string()).collect()).collect();
        assert_eq!(text, ["+a > b~----+", "|* é ^vx   |", "+----------+"]);
    }
}
