//! Drawing. Each tab is a small struct that renders itself; this module lays out the frame. Drawing
//! reads the state and never changes what is selected: rows live in `rows`, the selection in `lists`.

mod ascii;
mod chrome;
pub(crate) mod fmt;
mod overlay;
mod tabs;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::app::{App, Tab};
use super::lists::Window;

/// Below this width in columns the layout cannot be drawn honestly; a notice says so instead.
pub const MIN_WIDTH: u16 = 60;
/// Below this height in lines, likewise.
pub const MIN_HEIGHT: u16 = 12;

/// Draws the whole frame from the state, for callers that do not need to know where the list went
/// (tests and benches).
pub fn draw(frame: &mut Frame, app: &App) {
    drawn(frame, app);
}

/// Draws the frame and says where the list went (none when no list is on screen), for the loop
/// to hand to the state.
pub fn drawn(frame: &mut Frame, app: &App) -> Option<Window> {
    let window = compose(frame, app);
    if app.ui.ascii {
        ascii::translate(frame.buffer_mut());
    }
    window
}

fn compose(frame: &mut Frame, app: &App) -> Option<Window> {
    let area = frame.area();
    let buf = frame.buffer_mut();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        chrome::too_small(area, buf, app);
        return None;
    }
    let [header, tab_bar, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    chrome::header(header, buf, app);
    chrome::tab_bar(tab_bar, buf, app);
    let mut window = None;
    // The first snapshot comes in two parts: the Access and Activity tabs wait for the second, and
    // say why when it could not be loaded.
    let waiting = app.data.partial && matches!(app.tab, Tab::Access | Tab::Activity);
    if !app.loaded || waiting {
        let text = match (&app.trouble, waiting) {
            (Some(trouble), true) => format!("could not load this tab: {}", fmt::safe(trouble)),
            _ => "loading…".to_string(),
        };
        chrome::message(body, buf, app, &[ratatui::text::Line::raw(text)]);
    } else if app.data.is_empty() {
        chrome::first_run(body, buf, app);
    } else {
        window = Some(tabs::render(app.tab, body, buf, app));
    }
    overlay::render(area, buf, app);
    // After the overlay, which tells whether its content scrolls.
    chrome::footer(footer, buf, app);
    chrome::toasts(area, buf, app);
    window
}

/// Which tab a click on the tab bar at column `x` hits.
pub fn tab_at(x: u16) -> Option<super::app::Tab> {
    chrome::tab_at(x)
}

/// A rectangle of at most `w` x `h` in the middle of `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}
