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
use ratatui::backend::{Backend, CrosstermBackend};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub fn enter(mouse: bool) -> std::io::Result<Term> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore(true);
        previous(info);
    }));
    enable_raw_mode()?;
    open_screen(&mut stdout(), mouse)?;
    Terminal::new(CrosstermBackend::new(stdout()))
}

/// Switches a terminal, this process's or a remote one, to the dashboard's own screen: the
/// alternate screen, pasted text marked as such, no cursor, and the mouse if it is wanted.
pub fn open_screen(out: &mut impl Write, mouse: bool) -> std::io::Result<()> {
    execute!(out, EnterAlternateScreen, EnableBracketedPaste, cursor::Hide)?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    Ok(())
}

/// Switches back what `open_screen` switched on; all of it is tried even when a part fails, and
/// the first failure is returned.
pub fn close_screen(out: &mut impl Write, mouse: bool) -> std::io::Result<()> {
    let mouse = if mouse { execute!(out, DisableMouseCapture) } else { Ok(()) };
    let rest = execute!(out, DisableBracketedPaste, LeaveAlternateScreen, cursor::Show);
    let flushed = out.flush();
    mouse.and(rest).and(flushed)
}

/// Best effort: by the time this runs, there is nobody left to tell about a failure.
pub fn restore(mouse: bool) {
    let _ = close_screen(&mut stdout(), mouse);
    let _ = disable_raw_mode();
    let _ = stdout().flush();
}

/// Leaves the terminal: everything switched on is switched off (best effort, as in `restore`).
pub fn leave(term: Term, mouse: bool) {
    restore(mouse);
    // The cursor is shown again above. ratatui's own drop would show it once more and, on a
    // terminal that went away, report its failure with `eprintln!` on a stderr that is gone too:
    // a panic on the way out. What it holds is memory and a handle to stdout, both the process's.
    std::mem::forget(term);
}

/// Draws one frame as one synchronized update, so slow links never show half a frame; on this
/// process's terminal or a remote one.
pub fn frame<B>(term: &mut Terminal<B>, draw: impl FnOnce(&mut ratatui::Frame)) -> std::io::Result<()>
where
    B: Backend + Write,
    B::Error: std::fmt::Display,
{
    execute!(term.backend_mut(), BeginSynchronizedUpdate)?;
    term.draw(draw).map_err(|e| std::io::Error::other(e.to_string()))?;
    execute!(term.backend_mut(), EndSynchronizedUpdate)
}

pub fn bell<B: Backend + Write>(term: &mut Terminal<B>) -> std::io::Result<()> {
    let out = term.backend_mut();
    out.write_all(b"\x07")?;
    Write::flush(out)
}
