//! The dashboard's service. A dashboard that opens its store in its own process holds the store's
//! lock for as long as it runs, so every other command on that store would find it "in use". So it
//! serves the store on the store's usual socket while it runs, with the routes, limits and
//! peer-credential rules of `jitdesk serve` (`answer`), and other commands and dashboards reach the
//! store through it like through any service.
//!
//! It answers from a thread with a runtime of its own: a dashboard whose terminal stopped taking
//! output (a frozen SSH session blocks its writes) holds up none of the callers. When it cannot
//! serve (clients would not trust its user, a service answers already, the folder is unsafe, the
//! path too long), the dashboard carries on without serving and the log says why.

use std::path::{Path, PathBuf};

use tokio::sync::oneshot;

use super::{Doors, answer, fairness, socket};
use crate::engine::Engine;

/// A store being served on its socket; `stop` ends it and removes the socket file.
pub struct Shared {
    stop: oneshot::Sender<()>,
    done: oneshot::Receiver<()>,
}

impl Shared {
    /// Stops answering (requests in flight finish first) and removes the socket file; the store
    /// stays open for the caller to close.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        // An error means the thread is gone already, which is all this waits for.
        let _ = self.done.await;
    }
}

/// Serves `engine`'s store on `socket_path` until `Shared::stop`; None (with why in the log) when
/// it cannot.
pub async fn share(engine: &Engine, socket_path: &Path) -> Option<Shared> {
    let store = engine.path().to_path_buf();
    let not_served = move |why: &str| {
        tracing::warn!(
            "not serving {} on {}: {why}; other commands on this store find it in use until the dashboard quits",
            store.display(),
            socket_path.display()
        );
    };
    if let Err(e) = crate::api::trust::trusted_to_serve(engine.path(), socket_path) {
        not_served(&format!("its clients would not trust this process ({e})"));
        return None;
    }
    let (ready_tx, ready) = oneshot::channel();
    let (stop, stopped) = oneshot::channel();
    let (done_tx, done) = oneshot::channel();
    let (engine, path) = (engine.clone(), socket_path.to_path_buf());
    let spawned = std::thread::Builder::new()
        .name("jitdesk-share".into())
        .spawn(move || serve_here(engine, path, ready_tx, stopped, done_tx));
    if let Err(e) = spawned {
        not_served(&format!("cannot start its thread: {e}"));
        return None;
    }
    match ready.await {
        Ok(Ok(())) => Some(Shared { stop, done }),
        Ok(Err(why)) => {
            not_served(&why);
            None
        }
        Err(_) => {
            not_served("its thread ended before it started");
            None
        }
    }
}

/// The thread's work: binds the socket, says whether it could, answers until told to stop, then
/// removes the socket and says it is done.
fn serve_here(
    engine: Engine,
    path: PathBuf,
    ready: oneshot::Sender<Result<(), String>>,
    stop: oneshot::Receiver<()>,
    done: oneshot::Sender<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(format!("cannot start its runtime: {e}")));
            return;
        }
    };
    runtime.block_on(async {
        let bound = match socket::check_free(&path).await {
            Ok(()) => socket::bind(&path, None),
            Err(e) => Err(e),
        };
        let mut socket = match bound {
            Ok(socket) => socket,
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        };
        let listener = socket.listener.take().expect("a bound socket has its listener");
        let _ = ready.send(Ok(()));
        let open_files = fairness::raise_open_files();
        // A dropped sender (the dashboard ended without saying so) stops it too.
        let fault = answer(&engine, listener, Doors::none(), &path, open_files, async {
            let _ = stop.await;
        })
        .await;
        socket.remove();
        match fault {
            Some(why) => tracing::error!("stopped serving {}: {why}", path.display()),
            None => tracing::info!("stopped serving on {}", path.display()),
        }
    });
    let _ = done.send(());
}
