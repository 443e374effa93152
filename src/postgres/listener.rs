//! How one replica hears of the others' commits: a thread with a connection of its own, LISTENing
//! on `COMMITS_CHANNEL`, that passes each notification of another origin to the engine's ear
//! (`Storage::watch_others`) and ignores its own. A connection lost (a server restarted, the
//! backend terminated) is opened again with a growing pause; once it listens again, and when it
//! first listens, the ear hears `MayHaveMissed`, since commits in between went unheard.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ::postgres::Client;
use ::postgres::fallible_iterator::FallibleIterator;

use super::storage::{COMMITS_CHANNEL, Commit};
use crate::engine::StoreError;
use crate::engine::storage::{Others, TellOthers};

/// How long the thread waits for a notification before it looks whether it is to stop.
const POLL: Duration = Duration::from_millis(250);
/// How long a quiet connection goes before the thread checks that it still answers: a server
/// that vanished without closing it (a network cut) is noticed within this and `CHECK_TIMEOUT`.
const QUIET: Duration = Duration::from_secs(10);
/// How long that check waits for an answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// The first pause before connecting again; it doubles while connecting fails.
const PAUSE_FIRST: Duration = Duration::from_millis(250);
/// The longest pause before connecting again.
const PAUSE_LONGEST: Duration = Duration::from_secs(30);

/// The running listener; dropping it stops the thread within `POLL`.
pub(super) struct Listener {
    stop: Arc<AtomicBool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Starts listening, on connections `connect` opens, for the commits of every origin but `origin`.
pub(super) fn listen(
    connect: impl Fn() -> Result<Client, StoreError> + Send + 'static,
    origin: String,
    tell: TellOthers,
) -> Result<Listener, StoreError> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    std::thread::Builder::new()
        .name("jitdesk-pg-listen".into())
        .spawn(move || run(&connect, &origin, &tell, &stopping))
        .map_err(|e| StoreError::Storage(format!("cannot start the listener for other replicas: {e}")))?;
    Ok(Listener { stop })
}

fn run(connect: &dyn Fn() -> Result<Client, StoreError>, origin: &str, tell: &TellOthers, stop: &AtomicBool) {
    let mut pause = PAUSE_FIRST;
    while !stop.load(Ordering::Acquire) {
        let listening = connect().and_then(|mut client| {
            client
                .batch_execute(&format!("LISTEN {COMMITS_CHANNEL}"))
                .map_err(|e| StoreError::Storage(e.to_string()))?;
            Ok(client)
        });
        match listening {
            Ok(mut client) => {
                pause = PAUSE_FIRST;
                // Whatever was committed before this LISTEN went unheard.
                tell(Others::MayHaveMissed);
                let why = hear(&mut client, origin, tell, stop);
                if let Some(why) = why {
                    tracing::warn!("lost the connection that hears other replicas ({why}); connecting again");
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for other replicas' commits ({e}); trying again in {pause:?}");
                sleep(pause, stop);
                pause = (pause * 2).min(PAUSE_LONGEST);
            }
        }
    }
}

/// Passes notifications on until the connection fails (and says why) or the listener is to stop.
fn hear(client: &mut Client, origin: &str, tell: &TellOthers, stop: &AtomicBool) -> Option<String> {
    let mut heard_at = Instant::now();
    while !stop.load(Ordering::Acquire) {
        let next = client.notifications().timeout_iter(POLL).next();
        match next {
            Ok(Some(note)) => {
                heard_at = Instant::now();
                if note.channel() != COMMITS_CHANNEL {
                    continue;
                }
                match Commit::parse(note.payload()) {
                    Some(commit) if commit.origin == origin => {}
                    Some(Commit { first, last, .. }) => tell(Others::Committed { first, last }),
                    // Not a jitdesk commit of a form this version knows: read everything again.
                    None => tell(Others::MayHaveMissed),
                }
            }
            Ok(None) if client.is_closed() => return Some("the server closed it".into()),
            Ok(None) if heard_at.elapsed() >= QUIET => {
                if let Err(e) = client.is_valid(CHECK_TIMEOUT) {
                    return Some(e.to_string());
                }
                heard_at = Instant::now();
            }
            Ok(None) => {}
            Err(e) => return Some(e.to_string()),
        }
    }
    None
}

/// Sleeps for `pause`, waking early when the listener is to stop.
fn sleep(pause: Duration, stop: &AtomicBool) {
    let until = Instant::now() + pause;
    while !stop.load(Ordering::Acquire) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(POLL));
    }
}
