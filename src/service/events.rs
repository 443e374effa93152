//! `GET /v1/events`: the engine's events as server-sent events. The stream starts with `ready`
//! (from then on nothing committed is missed), carries one `data:` line of `json::Committed` per commit
//! the caller may see, a keep-alive comment every 15 s, and ends with `reload` when the client fell
//! too far behind (its buffer is the engine's bounded broadcast channel) or the service stops. Each
//! holder (a uid, a user of a remote door) may hold `MAX_STREAMS_PER_UID` streams: each one costs
//! the service work on every commit.

use std::convert::Infallible;

use axum::extract::{ConnectInfo, State as With};
use axum::http::StatusCode;
use axum::response::sse::{Event as Sse, KeepAlive};
use futures_util::stream::{self, Stream};
use tokio::sync::{broadcast, watch};

use super::State;
use super::error::{ApiError, ApiResult};
use super::fairness::Held;
use super::identity::{Caller, Peer};
use crate::api::limits::{KEEP_ALIVE, MAX_STREAMS_PER_UID};
use crate::api::wire::{EVENT_READY, EVENT_RELOAD, ErrorKind, Reload, ReloadReason};
use crate::engine::EventsFor;
use crate::json;

pub async fn stream(
    With(st): With<State>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    caller: Caller,
) -> ApiResult<axum::response::Sse<impl Stream<Item = Result<Sse, Infallible>>>> {
    // A socket without credentials is refused by `Caller` already.
    let Some(slot) = st.streams.try_take(&peer.holder(), MAX_STREAMS_PER_UID) else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Limited,
            format!(
                "you have {MAX_STREAMS_PER_UID} event streams open, the most one user may: close one (each dashboard holds one) and try again"
            ),
        ));
    };
    // Subscribed before the answer goes out, so a client that waits for `ready` misses nothing.
    let feed = Feed {
        events: st.engine.subscribe_for(caller.user.as_ref().map(|u| u.upn.as_str())),
        stopping: st.stopping.clone(),
        phase: Phase::Start,
        _slot: slot,
    };
    let events = stream::unfold(feed, |mut feed| async move {
        let next = feed.next().await?;
        Some((Ok(next), feed))
    });
    Ok(axum::response::Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

enum Phase {
    Start,
    Live,
    Done,
}

struct Feed {
    /// The commits the caller may see.
    events: EventsFor,
    stopping: watch::Receiver<bool>,
    phase: Phase,
    /// The holder's place among its streams, given back when the stream ends.
    _slot: Held,
}

impl Feed {
    async fn next(&mut self) -> Option<Sse> {
        match self.phase {
            Phase::Done => return None,
            Phase::Start => {
                self.phase = Phase::Live;
                return Some(Sse::default().event(EVENT_READY).data("{}"));
            }
            Phase::Live => {}
        }
        let got = tokio::select! {
            biased;
            _ = self.stopping.wait_for(|stop| *stop) => None,
            got = self.events.recv() => Some(got),
        };
        match got {
            None | Some(Err(broadcast::error::RecvError::Closed)) => {
                Some(self.end(ReloadReason::Shutdown, None))
            }
            Some(Err(broadcast::error::RecvError::Lagged(missed))) => {
                tracing::info!("an event subscriber fell {missed} events behind; told it to reload");
                Some(self.end(ReloadReason::Lagged, Some(missed)))
            }
            Some(Ok(event)) => {
                let data = crate::json_writer::to_string(&json::Committed::from(&event)).unwrap_or_default();
                Some(Sse::default().data(data))
            }
        }
    }

    fn end(&mut self, reason: ReloadReason, missed: Option<u64>) -> Sse {
        self.phase = Phase::Done;
        let data = crate::json_writer::to_string(&Reload { reason, missed }).unwrap_or_default();
        Sse::default().event(EVENT_RELOAD).data(data)
    }
}
