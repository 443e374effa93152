//! Entering and leaving the terminal. Everything switched on here is switched off again on every way
//! out: normal exit, error, signal, and panic.

use std::io::{Stdout, Write, stdout};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub fn enter(mouse: bool) -> std::io::Result<Term> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore(true);
        previous(info);
    }));
    enable_raw_mode()?;
    execute!(stdout(), EnterAlternateScreen, EnableBracketedPaste, cursor::Hide)?;
    if mouse {
        execute!(stdout(), EnableMouseCapture)?;
    }
    Terminal::new(CrosstermBackend::new(stdout()))
}

/// Best effort: by the time this runs, there is nobody left to tell about a failure.
pub fn restore(mouse: bool) {
    let mut out = stdout();
    if mouse {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = execute!(out, DisableBracketedPaste, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Leaves the terminal: everything switched on is switched off (best effort, as in `restore`).
pub fn leave(term: Term, mouse: bool) {
    restore(mouse);
    // The cursor is shown again above. ratatui's own drop would show it once more and, on a
    // terminal that went away, report its failure with `eprintln!` on a stderr that is gone too:
    // a panic on the way out. What it holds is memory and a handle to stdout, both the process's.
    std::mem::forget(term);
}

/// Draws one frame as one synchronized update, so slow links never show half a frame.
pub fn frame(term: &mut Term, draw: impl FnOnce(&mut ratatui::Frame)) -> std::io::Result<()> {
    execute!(term.backend_mut(), BeginSynchronizedUpdate)?;
    term.draw(draw)?;
    execute!(term.backend_mut(), EndSynchronizedUpdate)
}

pub fn bell(term: &mut Term) -> std::io::Result<()> {
    let out = term.backend_mut();
    out.write_all(b"\x07")?;
    out.flush()
}
