//! The engine: the one way in for the CLI, the dashboard and the service. Commands go to the store
//! thread and come back once durable; queries read a snapshot beside it; every commit is announced
//! as events.

mod arm;
mod backup;
mod channels;
mod clock;
mod commands;
pub mod copy;
mod deliveries;
mod error;
mod event;
mod extensions;
mod groups;
mod identity;
mod limits;
pub mod location;
pub mod maintenance;
mod others;
pub mod outbox;
mod queries;
mod queuing;
mod shared;
pub mod storage;
mod tenants;
mod worker;
mod writer;

use std::path::Path;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use tokio::sync::{broadcast, oneshot, watch};

pub use arm::{ArmCreate, ArmTag};
pub use channels::{AddChannel, RemoveChannel, SetContact};
pub use clock::{Clock, ManualClock, SystemClock};
pub use commands::{Batch, Cancel, Command, Decide, MarkSeen, Revoke, SetPolicy};
pub use event::{Committed, EventsFor};
pub use extensions::{DecideExtension, Extend};
pub use groups::{AddMembers, GroupDetail, RemoveMember};
pub use identity::{AddCa, AddKey, NewSecret, RemoveCa, RemoveKey, RevokeToken};
pub use limits::Limits;
pub use queries::{RequestDetail, Viewer, names_of};
pub use tenants::{LicenceChange, NAMED_APPS, SetLicence, TenantDetail};

pub use crate::domain::delivery::{ContactChange, DeliveryFilter};
pub use crate::domain::{OpenMode, RequestFilter};
pub use crate::store::{holder_pid, probing};
pub use error::{Error, Result, StoreError};

use crate::domain::rules::Actor;
use storage::{Reads, Storage};
use worker::{Job, Msg, Queued, Worker};

/// How many events a slow subscriber may fall behind before it is told it lagged.
const EVENT_BUFFER: usize = 4096;

/// A handle on one open store: its store thread, its clock and its subscribers. Clones share all of
/// it; the store closes when the last one is dropped (or at `close`).
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    /// Shared with the ear the backend reports others' commits through (`Storage::watch_others`),
    /// which falls silent once the store thread is told to stop.
    jobs: Arc<Mutex<Option<Sender<Msg>>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    events: broadcast::Sender<Committed>,
    /// Changes when events may have been missed (others committed unheard): subscribers reload.
    missed: Arc<watch::Sender<()>>,
    /// What one requester may ask for, read by the store thread at each transaction.
    limits: Arc<RwLock<Limits>>,
    /// Why the store thread stopped by itself (a damaged store, a crash); None while it runs.
    fault: Arc<watch::Sender<Option<Error>>>,
    /// Queries run on the caller's thread (the read-only engine of one-shot callers).
    inline: bool,
    /// Answers many callers hold at once, and the count of commits that says whether they hold.
    shared: Arc<shared::Shared>,
    /// Wakes the delivery worker to look for what is due (`sync` does, after a clock moved).
    outbox_kick: Arc<tokio::sync::Notify>,
    /// The delivery worker, once `deliver_with` started it.
    outbox: Mutex<Option<deliveries::Outbox>>,
}

impl Engine {
    /// Opens the store, starts the store thread and catches up every deadline that passed while
    /// nothing was running, before any query can see stale states.
    pub async fn open(path: &Path, mode: OpenMode, clock: Arc<dyn Clock>) -> Result<Engine> {
        let path = path.to_path_buf();
        let storage = blocking(move || storage::open(&path, mode)).await?;
        Engine::with_storage(storage, clock).await
    }

    /// An engine on storage opened already (`open` opens it by its path): starts the store thread,
    /// hands the backend the ear for other processes' commits (`Storage::watch_others`), and
    /// catches up every deadline that passed. Tests give it a backend of their own.
    pub async fn with_storage(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Result<Engine> {
        let (jobs, receiver) = channel();
        let jobs = Arc::new(Mutex::new(Some(jobs)));
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let missed = Arc::new(watch::Sender::new(()));
        let limits = Arc::new(RwLock::new(Limits::NONE));
        let fault = Arc::new(watch::Sender::new(None));
        let shared = Arc::new(shared::Shared::default());
        let worker = Worker {
            storage: storage.clone(),
            clock: clock.clone(),
            jobs: receiver,
            events: events.clone(),
            missed: missed.clone(),
            limits: limits.clone(),
            fault: fault.clone(),
            shared: shared.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("jitdesk-store".into())
            .spawn(move || worker.run())
            .map_err(|e| StoreError::Storage(format!("cannot start the store thread: {e}")))?;
        let engine = Engine {
            inner: Arc::new(Inner {
                storage,
                clock,
                jobs: jobs.clone(),
                worker: Mutex::new(Some(handle)),
                events,
                missed,
                limits,
                fault,
                inline: false,
                shared,
                outbox_kick: Arc::default(),
                outbox: Mutex::new(None),
            }),
        };
        let inner = &engine.inner;
        inner.storage.watch_others(others::ear(others::Ear {
            storage: Arc::downgrade(&inner.storage),
            events: inner.events.clone(),
            missed: inner.missed.clone(),
            shared: inner.shared.clone(),
            jobs,
        }));
        engine.sync().await?;
        Ok(engine)
    }

    /// For one-shot callers that only ask questions (the CLI): reads the file without opening it for
    /// writing when no deadline has passed, which saves the fsyncs of a read-write open and close.
    /// When something is due it opens the full engine instead, so answers never show stale states.
    /// Such an engine answers on the caller's thread: a one-shot caller has nothing else to run, and
    /// a thread per query would cost more than the query.
    pub async fn open_for_queries(path: &Path, clock: Arc<dyn Clock>) -> Result<Engine> {
        let now = clock.now().timestamp_millis();
        let reader = match storage::open_read_only(path)? {
            Some(storage) => {
                let due = storage.query(|t| t.next_deadline())?.is_some_and(|at| at <= now);
                (!due).then_some(storage)
            }
            None => None,
        };
        let Some(storage) = reader else { return Engine::open(path, OpenMode::Existing, clock).await };
        // Nothing is ever sent without a store thread; a full-size buffer would only cost time.
        let (events, _) = broadcast::channel(1);
        Ok(Engine {
            inner: Arc::new(Inner {
                storage,
                clock,
                jobs: Arc::default(),
                worker: Mutex::new(None),
                events,
                missed: Arc::new(watch::Sender::new(())),
                limits: Arc::new(RwLock::new(Limits::NONE)),
                fault: Arc::new(watch::Sender::new(None)),
                inline: true,
                shared: Arc::default(),
                outbox_kick: Arc::default(),
                outbox: Mutex::new(None),
            }),
        })
    }

    /// The store file this engine has open, as it was given.
    pub fn path(&self) -> &Path {
        self.inner.storage.path()
    }

    /// The engine's clock's time: what the rules and deadlines take for now.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }

    /// Sets what one requester may ask for, from the next command on. An engine starts with none
    /// (`Limits::NONE`): programs that load data set none, the doors people use set the configured ones.
    pub fn set_limits(&self, limits: Limits) {
        *self.inner.limits.write().unwrap_or_else(|p| p.into_inner()) = limits;
    }

    /// An event for every commit from now on, in commit order; a subscriber that falls more than
    /// a few thousand behind is told it lagged. An engine opened only for queries sends none.
    pub fn subscribe(&self) -> broadcast::Receiver<Committed> {
        self.inner.events.subscribe()
    }

    /// The same events, as a directory user may see them (None: the operator, who sees all).
    pub fn subscribe_for(&self, viewer: Option<&str>) -> EventsFor {
        EventsFor::new(self.clone(), viewer.map(str::to_string))
    }

    /// Why the store thread stopped by itself, once it has; None while it runs.
    pub fn fault(&self) -> Option<Error> {
        self.inner.fault.borrow().clone()
    }

    /// Resolves when the store thread stops by itself, with why; never while it runs.
    pub async fn stopped(&self) -> Error {
        let mut fault = self.inner.fault.subscribe();
        match fault.wait_for(Option::is_some).await {
            Ok(why) => why.clone().unwrap_or(Error::Stopped),
            // The sender lives as long as this engine does.
            Err(_) => Error::Stopped,
        }
    }

    /// "The engine has stopped", said with why when the store thread stopped by itself.
    fn closed(&self) -> Error {
        self.fault().unwrap_or(Error::Stopped)
    }

    /// Runs a command; it returns once the change, its audit record and its notifications are durable.
    pub async fn run<C: Command>(&self, actor: &Actor, command: C) -> Result<C::Output> {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Queued::new(actor.clone(), command, reply));
        self.send(Msg::Job(job))?;
        answer.await.map_err(|_| self.closed())?
    }

    /// Returns after the store thread has processed everything due at the clock's current time,
    /// and wakes the delivery worker (if one runs) to send what is due by then.
    pub async fn sync(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.send(Msg::Sync(reply))?;
        answer.await.map_err(|_| self.closed())?;
        self.inner.outbox_kick.notify_one();
        Ok(())
    }

    fn send(&self, message: Msg) -> Result<()> {
        let jobs = self.inner.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.as_ref().ok_or(Error::Stopped)?.send(message).map_err(|_| self.closed())
    }

    /// Stops the delivery worker (giving the sends under way a short while), then the store
    /// thread, and closes the file cleanly, so the next open needs no repair.
    pub async fn close(self) -> Result<()> {
        let outbox = self.inner.outbox.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(outbox) = outbox {
            outbox.stop().await;
        }
        // An engine that answers inline has no store thread to wait for: a thread borrowed from
        // the runtime's pool to close it would cost a one-shot command more than its query.
        if self.inner.inline {
            self.inner.shut_down();
            return Ok(());
        }
        // This handle goes with the store thread, so that when it is the last one the storage is
        // let go of on a blocking thread too: a backend's connections may block as they close.
        let inner = self.inner;
        blocking(move || {
            inner.shut_down();
            drop(inner);
            Ok(())
        })
        .await
    }

    async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&dyn Reads) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let storage = self.inner.storage.clone();
        if self.inner.inline {
            return storage.query(query);
        }
        blocking(move || storage.query(query)).await
    }
}

impl Inner {
    fn shut_down(&self) {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(worker) = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take() {
            // A panicked store thread has nothing left to close.
            let _ = worker.join();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shut_down();
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|_| Error::Stopped)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Polls `f` once, outside any runtime: it is ready only if it needed no runtime thread.
    fn at_once<T>(f: impl Future<Output = T>) -> Option<T> {
        match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => Some(out),
            Poll::Pending => None,
        }
    }

    #[test]
    fn an_engine_for_queries_opens_and_closes_on_the_callers_thread() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("store.redb");
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        runtime.block_on(async {
            let engine = Engine::open(&path, OpenMode::Create, Arc::new(SystemClock)).await.expect("created");
            engine.close().await.expect("closed");
        });
        drop(runtime);
        let engine = at_once(Engine::open_for_queries(&path, Arc::new(SystemClock)))
            .expect("opened without waiting")
            .expect("opened");
        assert!(engine.inner.inline, "nothing is due, so the file is read in this process");
        assert!(matches!(at_once(engine.close()), Some(Ok(()))), "closed without the runtime's pool");
    }
}
