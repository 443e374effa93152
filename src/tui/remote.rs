//! The dashboard on a terminal that is not this process's own: a remote session's (the SSH door
//! opens one per client that asks for a terminal and a shell). The session hands over the bytes its
//! client types, a channel for what is drawn, its size as it changes and its client's environment;
//! the dashboard runs in the caller's task on the same event loop as on a local terminal, with the
//! engine's rules for the session's actor.
//!
//! Nothing here touches this process's terminal, environment or signals: the size comes from the
//! session (ratatui's crossterm backend would ask this process's tty), the look from the client's
//! `TERM`, `COLORTERM`, `NO_COLOR` and `LANG`, and no thread or timer runs while nothing changes.

use std::io::{self, Write};
use std::pin::pin;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::{Backend as Draw, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use tokio::sync::{Notify, mpsc, watch};

use super::app::App;
pub use super::capabilities::TermEnv;
use super::remote_input::RemoteInput;
use super::{Door, Ending, capabilities, event_loop, hung_up, terminal, ui_for};
use crate::client::Error::Local;
use crate::client::{Backend, Link};
use crate::config::Config;
use crate::domain::rules::Actor;

/// The largest terminal drawn, columns by rows: a client may claim any size, and the screen's
/// buffers grow with it.
pub const MAX_SIZE: (u16, u16) = (500, 200);

/// The most output kept for a client that does not take it: beyond it the client counts as gone.
/// A whole frame of the largest terminal fits many times over.
pub const OUTPUT_CAP: usize = 4 * 1024 * 1024;

/// A remote terminal, as the session that opened it hands it over.
pub struct RemoteTerminal {
    /// What the client types, as it arrives; the session closes it (drops its sender) when the
    /// client goes away.
    pub input: mpsc::Receiver<Vec<u8>>,
    /// What to show the client, in chunks to send as they come (a frame in a few). While the
    /// channel is full, output waits in the dashboard, merged, and goes as soon as there is room;
    /// past `OUTPUT_CAP` waiting, or once the receiver is gone, the dashboard ends as on a hang-up.
    pub output: mpsc::Sender<Vec<u8>>,
    /// Its size, columns by rows; the session sends a new one on each window change.
    pub size: watch::Receiver<(u16, u16)>,
    /// The client's environment, as far as the dashboard reads it (`TermEnv::from_vars`).
    pub env: TermEnv,
    /// How the header names the way the client came: the session knows it, the backend does not
    /// (an SSH session's dashboard runs on the service's own engine).
    pub link: Link,
}

impl TermEnv {
    /// The variables a client sent, of which only `TERM`, `COLORTERM`, `NO_COLOR` and `LANG` count.
    pub fn from_vars<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> TermEnv {
        let mut env = TermEnv::default();
        for (name, value) in vars {
            match name {
                "TERM" => env.term = Some(value.to_string()),
                "COLORTERM" => env.colorterm = Some(value.to_string()),
                "NO_COLOR" => env.no_color = !value.is_empty(),
                "LANG" => env.locale = Some(value.to_string()).filter(|v| !v.is_empty()),
                _ => {}
            }
        }
        env
    }
}

/// Runs the dashboard on a remote terminal as `actor`, with the service's config (keys, time style,
/// bell, mouse, theme; built-in themes only), until the user quits (`Ok(Ending::Quit)`) or the
/// client goes away: when its input ends the run returns at once with the same error as a hang-up
/// of a local terminal, and writes nothing more. A terminal that cannot move the cursor (`TERM`
/// unset or `dumb`) is refused with a one-line error before anything is written.
///
/// The config is read before this returns; the future owns everything it needs, is `Send`, and
/// spawns no thread: the caller runs it in its session's task.
pub fn run_remote(
    backend: Backend,
    actor: Actor,
    config: &Config,
    term: RemoteTerminal,
) -> impl Future<Output = crate::client::Result<Ending>> + Send + 'static {
    let ui = capabilities::refusal(true, term.env.term.as_deref())
        .map_or_else(|| ui_for(config, None, false, &term.env, None), Err);
    async move {
        let ui = ui.map_err(Local)?;
        let RemoteTerminal { mut input, output, size, link, .. } = term;
        // Subscribed before the first load, so nothing committed after it is missed.
        let changes = backend.subscribe(&actor).await?;
        let mut app = App::new(ui, Utc::now());
        app.link = Some(link);
        if let Actor::User(upn) = &actor {
            app.starting_as = Some(upn.clone());
        }
        let mouse = app.ui.mouse;
        let gone = |e: io::Error| hung_up(&format!("cannot write to it: {e}"));
        let outbox = Arc::new(Outbox::new(output));
        let mut out = ChannelOutput { outbox: outbox.clone(), written: Vec::new() };
        let input_outbox = outbox.clone();
        terminal::open_screen(&mut out, mouse).map_err(gone)?;
        let draw = SessionBackend {
            inner: CrosstermBackend::new(out),
            size: size.clone(),
            cursor: Position::ORIGIN,
            over: false,
            outbox,
        };
        let mut screen = Terminal::new(draw).map_err(gone)?;
        let result = {
            let mut events = pin!(RemoteInput::new(&mut input, size, input_outbox).into_stream());
            let door = Door { input: &mut events, term: &mut screen, stops: None };
            event_loop(&backend, &actor, app, changes, None, door).await
        };
        // A client that went away is told nothing more; one still there gets its screen back.
        if !input.is_closed() {
            let _ = terminal::close_screen(screen.backend_mut(), mouse);
        }
        screen.backend_mut().over = true;
        result
    }
}

/// The session's size as drawn: at least one cell, at most `MAX_SIZE`.
fn session_size(size: &watch::Receiver<(u16, u16)>) -> Size {
    let (cols, rows) = *size.borrow();
    Size::new(cols.clamp(1, MAX_SIZE.0), rows.clamp(1, MAX_SIZE.1))
}

/// What the dashboard draws on its way to a session's channel: chunks go as soon as the channel has
/// room; while it has none they wait here, merged in order, and the session's input (`RemoteInput`,
/// which the event loop always waits on) sends them once it has.
pub(crate) struct Outbox {
    tx: mpsc::Sender<Vec<u8>>,
    /// Written and not yet taken by the channel.
    waiting: Mutex<Vec<u8>>,
    /// Told when bytes start to wait: the input's wait for them began before the frame was drawn,
    /// and a frame drawn behind a full channel must go once it has room, not at the next key.
    queued: Notify,
}

impl Outbox {
    /// Nothing waiting yet for `tx`.
    pub(crate) fn new(tx: mpsc::Sender<Vec<u8>>) -> Outbox {
        Outbox { tx, waiting: Mutex::new(Vec::new()), queued: Notify::new() }
    }

    /// The waiting bytes, sent as soon as the channel has room; while none wait, waits for some.
    pub(crate) async fn send_waiting(&self) {
        // `notify_one` keeps its signal for a wait not yet begun, so bytes queued between the
        // check and the wait are not missed.
        while self.lock().is_empty() {
            self.queued.notified().await;
        }
        // The receiver gone shows at the next write; until then nothing is lost by waiting.
        let Ok(permit) = self.tx.reserve().await else { return std::future::pending().await };
        permit.send(std::mem::take(&mut *self.lock()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // Only the session's own task takes it, never across an await: a poisoned lock still holds
        // whole chunks.
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Writes to an `Outbox`: written bytes gather and go as one chunk on each flush.
struct ChannelOutput {
    outbox: Arc<Outbox>,
    /// Written since the last flush.
    written: Vec<u8>,
}

impl Write for ChannelOutput {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.written.len() + self.outbox.lock().len() + bytes.len() > OUTPUT_CAP {
            return Err(io::Error::other("the client does not take what is sent to it"));
        }
        self.written.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.outbox.tx.is_closed() {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the session is closed"));
        }
        if self.written.is_empty() {
            return Ok(());
        }
        let mut waiting = self.outbox.lock();
        if !waiting.is_empty() {
            // Behind what already waits, in order.
            waiting.append(&mut self.written);
            return Ok(());
        }
        match self.outbox.tx.try_send(std::mem::take(&mut self.written)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(chunk)) => {
                *waiting = chunk;
                self.outbox.queued.notify_one();
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "the session is closed"))
            }
        }
    }
}

/// ratatui's crossterm backend on a session's output, sized by the session instead of this
/// process's tty, and never asking the terminal where its cursor is (that would read this
/// process's stdin): the dashboard draws full screen and knows where it put the cursor.
struct SessionBackend {
    inner: CrosstermBackend<ChannelOutput>,
    size: watch::Receiver<(u16, u16)>,
    cursor: Position,
    /// The run is over: the cursor is the client's again, or the client is gone. ratatui shows the
    /// cursor once more when its terminal is dropped, and reports a failure on this process's
    /// stderr: there is nothing to show it on.
    over: bool,
    /// Where the output goes, to see that the session is gone.
    outbox: Arc<Outbox>,
}

impl Draw for SessionBackend {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        // A session dropped mid-run (its client went away) has nobody to show the cursor to.
        if self.over || self.outbox.tx.is_closed() {
            return Ok(());
        }
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.cursor = position.into();
        self.inner.set_cursor_position(self.cursor)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        Ok(session_size(&self.size))
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        Ok(WindowSize { columns_rows: session_size(&self.size), pixels: Size::default() })
    }

    fn flush(&mut self) -> io::Result<()> {
        Draw::flush(&mut self.inner)
    }
}

impl Write for SessionBackend {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Write::flush(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    fn output(capacity: usize) -> (ChannelOutput, Arc<Outbox>, mpsc::Receiver<Vec<u8>>) {
        let (tx, rx) = mpsc::channel(capacity);
        let outbox = Arc::new(Outbox::new(tx));
        (ChannelOutput { outbox: outbox.clone(), written: Vec::new() }, outbox, rx)
    }

    fn send(out: &mut ChannelOutput, bytes: &[u8]) -> io::Result<()> {
        out.write_all(bytes)?;
        out.flush()
    }

    #[tokio::test]
    async fn output_waits_for_room_and_goes_in_order() {
        let (mut out, outbox, mut rx) = output(1);
        assert!(outbox.send_waiting().now_or_never().is_none(), "nothing waits: nothing to do");
        for chunk in [&b"one"[..], b"two", b"three"] {
            send(&mut out, chunk).expect("a full channel is no error");
        }
        assert_eq!(rx.recv().await.as_deref(), Some(&b"one"[..]));
        outbox.send_waiting().await;
        assert_eq!(rx.recv().await.as_deref(), Some(&b"twothree"[..]), "what waited, merged in order");
        send(&mut out, b"four").expect("room again");
        assert_eq!(rx.recv().await.as_deref(), Some(&b"four"[..]));
    }

    #[tokio::test]
    async fn bytes_queued_while_a_send_already_waits_go_once_there_is_room() {
        let (mut out, outbox, mut rx) = output(1);
        let mut sending = pin!(outbox.send_waiting());
        assert!((&mut sending).now_or_never().is_none(), "nothing waits yet");
        send(&mut out, b"fills the channel").expect("sent");
        send(&mut out, b"drawn behind it").expect("waits");
        assert_eq!(rx.recv().await.as_deref(), Some(&b"fills the channel"[..]));
        tokio::time::timeout(std::time::Duration::from_secs(20), sending)
            .await
            .expect("the wait begun before the bytes were queued sends them");
        assert_eq!(rx.recv().await.as_deref(), Some(&b"drawn behind it"[..]));
    }

    #[tokio::test]
    async fn a_client_that_takes_nothing_or_went_away_is_a_write_error() {
        let (mut out, _outbox, rx) = output(1);
        send(&mut out, b"fills the channel").expect("sent");
        send(&mut out, &vec![b'x'; OUTPUT_CAP - 1]).expect("waits");
        assert!(send(&mut out, b"yy").is_err(), "past the cap");
        drop(rx);
        let (mut out, _outbox, rx) = output(1);
        drop(rx);
        let err = send(&mut out, b"to nobody").expect_err("the session is closed");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
