//! The dashboard over SSH: a pty and a shell request open it for the key's owner. It runs in the
//! session's task on the service's own engine (`tui::remote::run_remote`), as the actor the
//! socket's rules make of the door's word, so every rule is the engine's as on any other door. The
//! session hands over what its client types and its size as it changes; what the dashboard draws
//! goes to the channel one chunk at a time, no faster than the client takes it (the rest waits,
//! capped, in the dashboard). Quitting ends the session with status 0; a client that goes away
//! ends it with one line in the log.

use std::pin::pin;

use russh::ChannelWriteHalf;
use russh::server::Msg;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::identities::Owner;
use super::session::{Started, end};
use crate::client::{Backend, Link};
use crate::config::Config;
use crate::engine::Engine;
use crate::service::fairness::Holder;
use crate::service::identity::{Operator, Peer, identify};
use crate::tui::remote::{RemoteTerminal, TermEnv, run_remote};

/// How many drawn chunks (a frame in a few) wait for the channel before the dashboard keeps what
/// it draws, merged and capped, until the client takes more: a few frames' worth.
const CHUNKS_IN_FLIGHT: usize = 16;

/// What every dashboard of the door shares: the service's engine, its operator and its config
/// (keys, time style, bell, mouse, theme).
pub struct Dashboards {
    pub engine: Engine,
    pub operator: Operator,
    pub config: Config,
}

/// Runs the dashboard on a started session with a terminal, as `owner`, to its end.
pub async fn open(with: &Dashboards, owner: Owner, started: Started) {
    let mut ended = Ended { who: Holder::User(owner.clone()), how: "the client went away" };
    // The same decision as for a request on the session's socket: a user who left the directory
    // is refused, and the operator acts as itself.
    let actor = match identify(&Peer::Known(owner), &with.operator, None, &with.engine).await {
        Ok(caller) => caller.actor(),
        Err(e) => {
            ended.how = "refused";
            return started.finish(&format!("error: {}\n", e.message), 1).await;
        }
    };
    let Started { write, env, input, resized, .. } = started;
    let (output, drawn) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let term = RemoteTerminal {
        input,
        output,
        size: resized,
        env: TermEnv::from_vars(env.iter().map(|(name, value)| (name.as_str(), value.as_str()))),
        link: Link::Ssh,
    };
    let mut run = pin!(run_remote(Backend::Local(with.engine.clone()), actor, &with.config, term));
    let mut forward = pin!(forward(drawn, &write));
    let (result, taken) = tokio::select! {
        result = &mut run => (result, forward.await),
        taken = &mut forward => {
            if !taken {
                return;
            }
            // Every chunk went: the dashboard let its output go, as it does when it ends.
            (run.await, true)
        }
    };
    // What the dashboard drew last (its screen given back) went before the status, or the client
    // is gone and is told nothing more.
    if !taken {
        return;
    }
    match result {
        Ok(_) => {
            ended.how = "the user quit";
            end(&write, 0).await;
        }
        Err(e) => {
            ended.how = "it could not run";
            let _ = write.extended_data_bytes(1, format!("error: {e}\n").into_bytes()).await;
            end(&write, 1).await;
        }
    }
}

/// Sends what the dashboard draws to the channel until the dashboard lets its output go (true) or
/// the client does not take it any more (false).
async fn forward(mut drawn: mpsc::Receiver<Vec<u8>>, write: &ChannelWriteHalf<Msg>) -> bool {
    let mut to = write.make_writer();
    while let Some(chunk) = drawn.recv().await {
        if to.write_all(&chunk).await.is_err() || to.flush().await.is_err() {
            return false;
        }
    }
    true
}

/// Logs a dashboard's end, however it ends (its task is dropped when the client goes away).
struct Ended {
    who: Holder,
    how: &'static str,
}

impl Drop for Ended {
    fn drop(&mut self) {
        tracing::info!("SSH: the dashboard of {} ended: {}", self.who, self.how);
    }
}
