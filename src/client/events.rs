//! Engine events, from wherever the engine runs: its broadcast channel in this process, or a
//! service's server-sent events (`GET /v1/events`: `ready`, then one unnamed event per commit,
//! comments as keep-alives, and `reload` before the stream ends).

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use tokio::sync::broadcast;

use crate::api::limits::STREAM_SILENCE as SILENCE;
use crate::api::wire::EVENT_RELOAD;
use crate::engine::{Committed, EventsFor};
use crate::json;

/// What a subscriber hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A committed change.
    Committed(Committed),
    /// Events were lost or the source is going away: reload everything.
    Reload,
}

/// A subscription to the engine's events.
pub struct Events(Source);

enum Source {
    Local(Box<EventsFor>),
    Remote(Sse),
}

impl Events {
    /// Events from an engine in this process, as its viewer may see them (`Engine::subscribe_for`).
    pub fn local(events: EventsFor) -> Events {
        Events(Source::Local(Box::new(events)))
    }

    pub(crate) fn remote(stream: Sse) -> Events {
        Events(Source::Remote(stream))
    }

    /// The next change; None once the source has ended: the engine stopped, or the service stopped
    /// or went away (subscribe again, then reload).
    pub async fn next(&mut self) -> Option<Change> {
        match &mut self.0 {
            Source::Local(events) => match events.recv().await {
                Ok(event) => Some(Change::Committed(event)),
                Err(broadcast::error::RecvError::Lagged(_)) => Some(Change::Reload),
                Err(broadcast::error::RecvError::Closed) => None,
            },
            Source::Remote(stream) => loop {
                let message = stream.message().await?;
                match message.event.as_str() {
                    EVENT_RELOAD => {
                        stream.done = true;
                        return Some(Change::Reload);
                    }
                    "message" => match serde_json::from_str::<json::Committed>(&message.data) {
                        Ok(e) => {
                            return Some(Change::Committed(Committed {
                                record: e.record,
                                notified: e.notified,
                            }));
                        }
                        Err(e) => {
                            // serde quotes what it could not read: the service's text, shown, never raw.
                            let why = crate::domain::text::shown(&e.to_string());
                            tracing::warn!("an event from the service could not be read ({why}); reloading");
                            return Some(Change::Reload);
                        }
                    },
                    // `ready` again, or a name from a newer service: nothing to do.
                    _ => continue,
                }
            },
        }
    }
}

/// One server-sent event: its name (`message` when it has none) and its data lines joined.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Message {
    pub event: String,
    pub data: String,
}

/// A server-sent-events stream being read.
pub(crate) struct Sse {
    body: Incoming,
    buffer: Vec<u8>,
    done: bool,
    /// Holds the connection open while the stream is read.
    _sender: SendRequest<Full<Bytes>>,
}

impl Sse {
    pub fn new(body: Incoming, sender: SendRequest<Full<Bytes>>) -> Sse {
        Sse { body, buffer: Vec::new(), done: false, _sender: sender }
    }

    /// The next event with data (comments and empty events skipped); None when the stream ends.
    pub async fn message(&mut self) -> Option<Message> {
        loop {
            if self.done {
                return None;
            }
            while let Some(message) = take_message(&mut self.buffer) {
                if let Some(message) = message {
                    return Some(message);
                }
            }
            // The service says something at least every keep-alive interval; one that stays silent
            // for much longer is taken for gone.
            let frame = match tokio::time::timeout(SILENCE, self.body.frame()).await {
                Ok(Some(Ok(frame))) => frame,
                Ok(Some(Err(e))) => {
                    tracing::info!("the event stream broke: {e}");
                    self.done = true;
                    return None;
                }
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(_) => {
                    tracing::info!("the event stream was silent for {SILENCE:?}");
                    self.done = true;
                    return None;
                }
            };
            if let Ok(chunk) = frame.into_data() {
                self.buffer.extend_from_slice(&chunk);
            }
        }
    }
}

/// Takes one event block (up to a blank line) off the front of the buffer: None when no whole
/// block is there yet, Some(None) for a block without data (a comment).
fn take_message(buffer: &mut Vec<u8>) -> Option<Option<Message>> {
    let end = buffer.windows(2).position(|w| w == b"\n\n")?;
    let block: Vec<u8> = buffer.drain(..end + 2).collect();
    let text = String::from_utf8_lossy(&block);
    let (mut event, mut data) = (String::from("message"), Vec::new());
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(name) = line.strip_prefix("event:") {
            event = name.trim().to_string();
        } else if let Some(d) = line.strip_prefix("data:") {
            data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
        }
    }
    Some((!data.is_empty()).then(|| Message { event, data: data.join("\n") }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_taken_whole() {
        let mut buffer = b"event: ready\ndata: {}\n\n: keep-alive\n\ndata: {\"a\":1}\n\ndata: par".to_vec();
        let ready = take_message(&mut buffer).unwrap().unwrap();
        assert_eq!(ready, Message { event: "ready".into(), data: "{}".into() });
        assert_eq!(take_message(&mut buffer), Some(None), "a comment");
        let event = take_message(&mut buffer).unwrap().unwrap();
        assert_eq!(event, Message { event: "message".into(), data: "{\"a\":1}".into() });
        assert_eq!(take_message(&mut buffer), None, "half a block waits for the rest");
        buffer.extend_from_slice(b"t\n\n");
        assert_eq!(take_message(&mut buffer).unwrap().unwrap().data, "part");
    }
}
