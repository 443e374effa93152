//! What subscribers hear after each commit: the audit record of every change, in commit order, with
//! the users it notified.

use std::collections::HashMap;

use tokio::sync::broadcast;

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
    engine: Engine,
    /// The directory user; None: everything (the operator).
    viewer: Option<String>,
    /// Which applications the viewer may see, as learnt; parties to an application never change.
    seen: HashMap<String, bool>,
}

impl EventsFor {
    pub(super) fn new(engine: Engine, viewer: Option<String>) -> EventsFor {
        EventsFor { events: engine.subscribe(), engine, viewer, seen: HashMap::new() }
    }

    /// The next change the viewer may see, as they may see it; the channel's own errors as they
    /// are (lagged: reload; closed: the engine stopped).
    pub async fn recv(&mut self) -> Result<Committed, broadcast::error::RecvError> {
        loop {
            let event = self.events.recv().await?;
            if let Some(seen) = self.visible(event).await {
                return Ok(seen);
            }
        }
    }

    async fn visible(&mut self, event: Committed) -> Option<Committed> {
        let Some(viewer) = &self.viewer else { return Some(event) };
        // Whom a change notified sees it, whatever it is about: the admins told of a delivery
        // given up on hear of it while their dashboard is open.
        if !identity::user_sees_record(viewer, &event.record) && !event.notified.contains(viewer) {
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
        let notified = event.notified.into_iter().filter(|u| u == viewer).collect();
        Some(Committed { record: event.record, notified })
    }
}
