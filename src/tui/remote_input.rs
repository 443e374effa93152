//! The bytes a remote terminal sends, as the dashboard's input events. The escape sequences are
//! parsed by `terminput` (crossterm's own parser, made to work on bytes from anywhere) and its events
//! converted to crossterm's, which the dashboard reads; what is left here is what a byte parser
//! cannot know: where one read ends, whether a lone ESC is the Esc key or the start of a sequence
//! still on its way, and how much an unfinished sequence may hold.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::Event;
use tokio::sync::{mpsc, watch};

use super::remote::Outbox;

/// How long a lone ESC waits for the rest of a sequence before it is the Esc key: long enough for a
/// sequence split across two packets, short enough not to be felt.
pub(crate) const ESC_WAIT: Duration = Duration::from_millis(50);

/// The most an unfinished sequence holds: a paste beyond it is dropped whole (the text pasted
/// would otherwise arrive as keys), anything else beyond it is noise.
pub(crate) const PENDING_CAP: usize = 64 * 1024;

const ESC: u8 = 0x1b;
const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

/// Bytes in, events out, with what is unfinished kept between reads.
#[derive(Default)]
pub(crate) struct Decoder {
    pending: Vec<u8>,
    /// Inside a paste too long to keep: bytes are dropped until its end, of which the last few
    /// bytes seen are kept here to find it across reads.
    skipping: Option<Vec<u8>>,
}

impl Decoder {
    /// Feeds one read; every event it completes is pushed to `out`. A lone ESC at its end stays
    /// pending (`lone_esc`): the next read continues it, or `flush` makes it the Esc key.
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut VecDeque<Event>) {
        let mut rest = bytes;
        if let Some(tail) = self.skipping.as_mut() {
            tail.extend_from_slice(rest);
            let Some(at) = tail.windows(PASTE_END.len()).position(|w| w == PASTE_END) else {
                let keep = tail.len().saturating_sub(PASTE_END.len() - 1);
                tail.drain(..keep);
                return;
            };
            let after = tail.split_off(at + PASTE_END.len());
            self.skipping = None;
            // Whatever followed the paste's end is input again.
            return self.feed(&after, out);
        }
        while let Some((&byte, more)) = rest.split_first() {
            rest = more;
            self.pending.push(byte);
            if self.pending == [ESC] {
                // An ESC with bytes behind it starts a sequence, or is Alt with the next key.
                continue;
            }
            match terminput::Event::parse_from(&self.pending) {
                Ok(Some(event)) => {
                    self.pending.clear();
                    // Events crossterm has no word for (media keys, say) mean nothing here.
                    if let Ok(event) = terminput_crossterm::to_crossterm(event) {
                        out.push_back(event);
                    }
                }
                Ok(None) if self.pending.len() >= PENDING_CAP => {
                    if self.pending.starts_with(PASTE_START) {
                        // Its last bytes may begin the end marker.
                        let tail = self.pending.split_off(self.pending.len() - (PASTE_END.len() - 1));
                        self.skipping = Some(tail);
                        self.pending.clear();
                        return self.feed(rest, out);
                    }
                    self.pending.clear();
                }
                Ok(None) => {}
                // Not a sequence anyone sends: dropped, as crossterm drops it.
                Err(_) => self.pending.clear(),
            }
        }
    }

    /// Whether an ESC waits alone for what follows it.
    pub(crate) fn lone_esc(&self) -> bool {
        self.pending == [ESC]
    }

    /// Nothing followed the lone ESC: it is the Esc key.
    pub(crate) fn flush(&mut self, out: &mut VecDeque<Event>) {
        if self.lone_esc() {
            self.pending.clear();
            out.push_back(Event::Key(crossterm::event::KeyCode::Esc.into()));
        }
    }
}

/// A remote terminal's input: its bytes as they arrive, and its size as it changes; and what waits
/// to be drawn on it.
pub(crate) struct RemoteInput<'a> {
    bytes: &'a mut mpsc::Receiver<Vec<u8>>,
    /// The session's output, whose waiting bytes go out from here: the event loop always waits on
    /// its input, and has nothing else to wait on when a frame is stuck behind a full channel.
    outbox: Arc<Outbox>,
    /// None once the session stopped telling sizes: the last one stays.
    size: Option<watch::Receiver<(u16, u16)>>,
    decoder: Decoder,
    ready: VecDeque<Event>,
}

impl<'a> RemoteInput<'a> {
    /// Reads from `bytes`, which stays the caller's: once the run is over, whether it closed tells
    /// whether the client went away.
    pub(crate) fn new(
        bytes: &'a mut mpsc::Receiver<Vec<u8>>,
        size: watch::Receiver<(u16, u16)>,
        outbox: Arc<Outbox>,
    ) -> Self {
        RemoteInput { bytes, outbox, size: Some(size), decoder: Decoder::default(), ready: VecDeque::new() }
    }

    /// The next event; None as soon as the input ends (the client went away), whatever is pending.
    /// Waits for nothing but the session, and for `ESC_WAIT` after a lone ESC.
    pub(crate) async fn next(&mut self) -> Option<io::Result<Event>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            let lone_esc = self.decoder.lone_esc();
            tokio::select! {
                biased;
                read = self.bytes.recv() => match read {
                    Some(bytes) => self.decoder.feed(&bytes, &mut self.ready),
                    None => return None,
                },
                changed = changed(&mut self.size) => match changed {
                    Some((cols, rows)) => return Some(Ok(Event::Resize(cols, rows))),
                    None => self.size = None,
                },
                () = tokio::time::sleep(ESC_WAIT), if lone_esc => self.decoder.flush(&mut self.ready),
                () = self.outbox.send_waiting() => {}
            }
        }
    }

    /// As a stream, which the event loop reads.
    pub(crate) fn into_stream(self) -> impl futures_util::Stream<Item = io::Result<Event>> + Send + 'a {
        futures_util::stream::unfold(self, |mut input| async move { input.next().await.map(|e| (e, input)) })
    }
}

/// The size once it changes; None when the session dropped its sender; never without a receiver.
async fn changed(size: &mut Option<watch::Receiver<(u16, u16)>>) -> Option<(u16, u16)> {
    let Some(size) = size else { return std::future::pending().await };
    size.changed().await.ok()?;
    Some(*size.borrow_and_update())
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;

    fn decode(reads: &[&[u8]]) -> (Vec<Event>, Decoder) {
        let mut decoder = Decoder::default();
        let mut out = VecDeque::new();
        for read in reads {
            decoder.feed(read, &mut out);
        }
        (out.into(), decoder)
    }

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn arrows_text_and_control_keys_become_key_events() {
        let (events, _) = decode(&[b"\x1b[A\x1b[B\x1bOCa\r\x03"]);
        assert_eq!(
            events,
            vec![
                key(KeyCode::Up),
                key(KeyCode::Down),
                key(KeyCode::Right),
                key(KeyCode::Char('a')),
                key(KeyCode::Enter),
                Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            ]
        );
    }

    #[test]
    fn a_sequence_or_a_character_split_across_reads_is_one_event() {
        let (events, decoder) =
            decode(&[b"\x1b", b"[", b"B", "é".as_bytes()[..1].as_ref(), &"é".as_bytes()[1..]]);
        assert_eq!(events, vec![key(KeyCode::Down), key(KeyCode::Char('é'))]);
        assert!(!decoder.lone_esc());
    }

    #[test]
    fn a_lone_esc_waits_then_is_the_esc_key() {
        let (events, mut decoder) = decode(&[b"j\x1b"]);
        assert_eq!(events, vec![key(KeyCode::Char('j'))], "the ESC waits for what may follow");
        assert!(decoder.lone_esc());
        let mut out = VecDeque::new();
        decoder.flush(&mut out);
        assert_eq!(Vec::from(out), vec![key(KeyCode::Esc)]);
        assert!(!decoder.lone_esc());
        // ESC then a key in the same read is that key with Alt.
        let (events, _) = decode(&[b"\x1bx"]);
        assert_eq!(events, vec![Event::Key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::ALT))]);
    }

    #[test]
    fn a_bracketed_paste_is_one_paste_even_across_reads_and_with_keys_inside() {
        let (events, _) = decode(&[b"\x1b[200~approve q", b"uit\x1b[201", b"~j"]);
        assert_eq!(events, vec![Event::Paste("approve quit".into()), key(KeyCode::Char('j'))]);
    }

    #[test]
    fn a_paste_too_long_is_dropped_whole_and_what_follows_it_counts() {
        let long = vec![b'q'; PENDING_CAP * 2];
        let (events, decoder) = decode(&[PASTE_START, &long, b"qq\x1b[2", b"01~k"]);
        assert_eq!(events, vec![key(KeyCode::Char('k'))], "none of the pasted q's may quit");
        assert!(decoder.pending.is_empty() && decoder.skipping.is_none());
    }

    #[test]
    fn garbage_is_dropped_and_input_goes_on() {
        let (events, _) = decode(&[b"\x1b[?1;2c", b"\xff", b"n"]);
        assert_eq!(events.last(), Some(&key(KeyCode::Char('n'))), "{events:?}");
    }
}
