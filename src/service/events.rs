//! `GET /v1/events`: the engine's events as server-sent events. The stream starts with `ready`
//! (from then on nothing committed is missed), carries one `data:` line of `json::Committed` per commit
//! the caller may see, a keep-alive comment every 15 s, and ends with `reload` when the client fell
//! too far behind (its buffer is the engine's bounded broadcast channel) or the service stops. Each
//! holder (a uid, a user of a remote door) may hold `MAX_STREAMS_PER_UID` streams: each one costs
//! the service work on every commit.

use std::collections::HashMap;
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
use crate::domain::identity;
use crate::engine::{Committed, Engine};
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
        events: st.engine.subscribe(),
        stopping: st.stopping.clone(),
        engine: st.engine.clone(),
        viewer: caller.user.as_ref().map(|u| u.upn.clone()),
        seen: HashMap::new(),
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
    events: broadcast::Receiver<Committed>,
    stopping: watch::Receiver<bool>,
    engine: Engine,
    /// The directory user the stream is for; None: everything (the operator).
    viewer: Option<String>,
    /// Which applications the viewer may see, as learnt; parties to an application never change.
    seen: HashMap<String, bool>,
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
        loop {
            let got = tokio::select! {
                biased;
                _ = self.stopping.wait_for(|stop| *stop) => None,
                got = self.events.recv() => Some(got),
            };
            match got {
                None | Some(Err(broadcast::error::RecvError::Closed)) => {
                    return Some(self.end(ReloadReason::Shutdown, None));
                }
                Some(Err(broadcast::error::RecvError::Lagged(missed))) => {
                    tracing::info!("an event subscriber fell {missed} events behind; told it to reload");
                    return Some(self.end(ReloadReason::Lagged, Some(missed)));
                }
                Some(Ok(event)) => {
                    if let Some(view) = self.visible(&event).await {
                        let data = crate::json_writer::to_string(&view).unwrap_or_default();
                        return Some(Sse::default().data(data));
                    }
                }
            }
        }
    }

    fn end(&mut self, reason: ReloadReason, missed: Option<u64>) -> Sse {
        self.phase = Phase::Done;
        let data = crate::json_writer::to_string(&Reload { reason, missed }).unwrap_or_default();
        Sse::default().event(EVENT_RELOAD).data(data)
    }

    /// The event as the viewer may see it: directory changes (tenants, users, offers) are public, as
    /// their lists are, but changes to someone's keys, CAs or tokens only for whom they are about;
    /// changes to an application only for its parties, as in `Engine::audit`; of the users
    /// notified, only the viewer.
    async fn visible(&mut self, event: &Committed) -> Option<json::Committed> {
        let Some(viewer) = &self.viewer else { return Some(event.into()) };
        if !identity::user_sees_record(viewer, &event.record) {
            return None;
        }
        if let Some(app) = &event.record.app {
            let sees = match self.seen.get(app) {
                Some(sees) => *sees,
                None => match self.engine.sees_app(viewer, app).await {
                    Ok(sees) => {
                        self.seen.insert(app.clone(), sees);
                        sees
                    }
                    // A passing store error withholds this event, not the application's later ones.
                    Err(_) => false,
                },
            };
            if !sees {
                return None;
            }
        }
        let notified = event.notified.iter().filter(|u| *u == viewer).cloned().collect();
        Some(json::Committed { record: event.record.clone(), notified })
    }
}
