//! What subscribers hear after each commit: the audit record of every change, in commit order, with
//! the users it notified.

use std::collections::HashMap;

use tokio::sync::{broadcast, watch};

use super::Engine;
use crate::domain::{AuditRecord, identity};

/// One committed change, as subscribers hear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The change's audit record, as stored.
    pub record: AuditRecord,
    /// The UPNs of the users the change notified; empty when it notified no one.
    pub notified: Vec<String>,
}

/// The engine's events as one viewer may see them: directory changes (tenants, users, offers) are
/// public, as their lists are, but changes to someone's keys, CAs, tokens or contacts only for whom
/// they are about; changes to an application only for its parties, as in `Engine::audit`; of the
/// users notified, only the viewer. Every door's subscribers hear through it, so a dashboard in
/// the service's process (over SSH) wakes for what it can see and nothing else, as one over the
/// socket does.
pub struct EventsFor {
    events: broadcast::Receiver<Committed>,
    /// Changes when others' commits may have gone unheard: the subscriber is told it lagged.
    missed: watch::Receiver<()>,
    engine: Engine,
    /// The directory user; None: everything (the operator).
    viewer: Option<String>,
    /// Which applications the viewer may see, as learnt; parties to an application never change.
    seen: HashMap<String, bool>,
    /// An event taken from the channel and not yet judged: kept here while its application is
    /// looked up, so a `recv` dropped at that await (a dashboard's loop wakes for a key) loses nothing.
    judging: Option<Committed>,
}

impl EventsFor {
    pub(super) fn new(engine: Engine, viewer: Option<String>) -> EventsFor {
        let missed = engine.inner.missed.subscribe();
        EventsFor { events: engine.subscribe(), missed, engine, viewer, seen: HashMap::new(), judging: None }
    }

    /// The next change the viewer may see, as they may see it; the channel's own errors as they
    /// are (lagged: reload; closed: the engine stopped), and lagged too when another replica's
    /// commits may have gone unheard (the count of events missed is then unknown: 0). Cancel-safe:
    /// dropped at any await, the next call carries on where this one stopped.
    pub async fn recv(&mut self) -> Result<Committed, broadcast::error::RecvError> {
        loop {
            let event = match self.judging.take() {
                Some(event) => event,
                None => tokio::select! {
                    biased;
                    Ok(()) = self.missed.changed() => return Err(broadcast::error::RecvError::Lagged(0)),
                    event = self.events.recv() => event?,
                },
            };
            let Some(viewer) = &self.viewer else { return Ok(event) };
            // Whom a change notified sees it, whatever it is about: the admins told of a delivery
            // given up on hear of it while their dashboard is open.
            if !identity::user_sees_record(viewer, &event.record) && !event.notified.contains(viewer) {
                continue;
            }
            if let Some(app) = event.record.app.clone()
                && !self.seen.contains_key(&app)
            {
                let viewer = viewer.clone();
                self.judging = Some(event);
                // A passing store error withholds this event, not the application's later ones.
                let sees = self.engine.sees_app(&viewer, &app).await.ok();
                let Some(event) = self.judging.take() else { continue };
                if let Some(sees) = sees {
                    self.seen.insert(app, sees);
                } else {
                    continue;
                }
                self.judging = Some(event);
                continue;
            }
            if event.record.app.as_ref().is_some_and(|app| self.seen.get(app) == Some(&false)) {
                continue;
            }
            let notified = event.notified.into_iter().filter(|u| u == viewer).collect();
            return Ok(Committed { record: event.record, notified });
        }
    }
}
