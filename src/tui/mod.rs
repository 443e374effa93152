//! The dashboard. The loop below only reacts: engine calls and snapshot loads run as tasks that
//! report back on a channel, engine events ask for a new snapshot, and a frame is drawn only when
//! something changed (a second's tick only while countdowns are on screen).
//!
//! The engine runs in this process or in the store's service (`client::Backend`). When a service
//! goes away the dashboard says so, keeps the last data on screen, refuses changes, and reconnects by
//! itself (then reloads) when the service is back, or at once to another of its replicas when the
//! client was given several (and a toast says which).
//!
//! When its terminal goes away (SIGHUP, its input ends or fails, a write to it fails) the dashboard
//! ends at once with an error, so that the command exits non-zero and cleans up on its way out.

pub mod app;
pub(crate) mod bell;
pub(crate) mod capabilities;
pub mod data;
pub(crate) mod demo;
pub(crate) mod form;
pub mod keymap;
pub(crate) mod lists;
pub(crate) mod marks;
pub mod refusal;
pub mod remote;
pub(crate) mod remote_input;
pub mod rows;
pub(crate) mod terminal;
pub mod theme;
pub mod tour;
pub mod view;
pub(crate) mod wizard;

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, oneshot};

use crate::client::Error::Local;
use crate::client::{Backend, Change, Events};
use crate::config::Config;
use crate::domain::rules::Actor;
use crate::domain::{AccessRequest, ExtensionState};
use crate::engine::{MarkSeen, RequestDetail, Viewer};
use app::{App, Call, Effect, Ui};
use data::Snapshot;
use keymap::Keymap;
use theme::{Load, Theme};

/// What the dashboard is started with, beyond the engine.
pub struct Options {
    /// Who the dashboard acts as: the user whose rows it shows, or the operator, who sees everything.
    pub actor: Actor,
    /// A theme's name (`--theme`) that wins over the config's; the config's or the default without it.
    pub theme: Option<String>,
    /// Shows times in UTC (`--utc`) instead of the config's time style.
    pub utc: bool,
    /// Rings the bell or not whatever the config says (the demo is quiet unless asked).
    pub bell: Option<bool>,
    /// A tour's cues: while it plays, its keys drive the dashboard and the keyboard only quits.
    pub tour: Option<mpsc::UnboundedReceiver<tour::Cue>>,
}

/// How the dashboard ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The user quit.
    Quit,
    /// The tour it played reached its end.
    TourOver,
}

/// Reports from the tasks the loop starts.
enum Msg {
    /// What the first screen needs, ahead of the rest of the first snapshot.
    First(Box<Snapshot>),
    /// The rest of the first snapshot.
    Rest(Box<crate::client::Result<data::Rest>>),
    Snapshot(Box<crate::client::Result<Snapshot>>),
    Detail(Box<crate::client::Result<RequestDetail>>),
    Done(Result<String, refusal::Refusal>),
    /// The outcomes of a bulk decision, one per request, and whether it approved.
    Decided(bool, Vec<(u64, Result<String, refusal::Refusal>)>),
    /// The service did not answer when asked again after its event stream ended.
    Gone,
    /// The service answers again: its events, live.
    Connected(Box<Events>),
}

/// The header's word while the service is away.
const GONE: &str = "service gone: showing the last data, read-only; reconnecting…";
/// The answer to a question the last data cannot answer while the service is away.
const UNREACHABLE: &str = "the service is gone: that shows once it is back";
/// Waits between attempts to reach a service that went away: from the first, doubling to the last.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_LAST: Duration = Duration::from_secs(2);

/// Builds the look and keys from the config file, the theme folder and this process's environment.
pub fn ui(config: &Config, theme: Option<&str>, utc: bool) -> Result<Ui, String> {
    let env = capabilities::TermEnv::from_process();
    let themes_dir = Config::dir().map(|d| d.join("themes"));
    let ui = ui_for(config, theme, utc, &env, themes_dir.as_deref())?;
    if env.no_color {
        // crossterm would otherwise reset attributes right after setting them and lose the selection.
        // The switch is the whole process's: only the dashboard on the process's own terminal sets it.
        crossterm::style::force_color_output(true);
    }
    Ok(ui)
}

/// Builds the look and keys from the config, a terminal's environment and the user's themes folder
/// (none: the built-in themes only).
pub(crate) fn ui_for(
    config: &Config,
    theme: Option<&str>,
    utc: bool,
    env: &capabilities::TermEnv,
    themes_dir: Option<&std::path::Path>,
) -> Result<Ui, String> {
    let name = theme
        .map(str::to_string)
        .or_else(|| config.theme.clone())
        .unwrap_or_else(|| if env.no_color { "mono".to_string() } else { "default".to_string() });
    let theme = Theme::load(&name, &Load { user_dir: themes_dir, truecolor: env.truecolor() })?;
    Ok(Ui {
        theme,
        keymap: Keymap::new(&config.key_overrides()).map_err(|e| format!("config [keys]: {e}"))?,
        time: config.time_style(utc),
        bell: config.bell,
        mouse: config.mouse,
        ascii: env.ascii(),
    })
}

/// Runs the dashboard on this terminal until the user quits or the tour ends; an error once the
/// terminal or a local engine goes away, or when the config or theme cannot be used.
pub async fn run(backend: Backend, mut opts: Options) -> crate::client::Result<Ending> {
    let config = Config::user().map_err(Local)?;
    let mut ui = ui(&config, opts.theme.as_deref(), opts.utc).map_err(Local)?;
    if let Some(bell) = opts.bell {
        ui.bell = bell;
    }
    // Subscribed before the first load, so nothing committed after it is missed.
    let changes = backend.subscribe(&opts.actor).await?;
    let mut app = App::new(ui, Utc::now());
    app.link = Some(backend.link());
    if let Actor::User(upn) = &opts.actor {
        app.starting_as = Some(upn.clone());
    }
    let cues = opts.tour.take();
    let mouse = app.ui.mouse;
    let io = |e: std::io::Error| Local(format!("terminal: {e}"));
    let stops = Stops {
        terminate: signal(SignalKind::terminate()).map_err(io)?,
        hangup: signal(SignalKind::hangup()).map_err(io)?,
    };
    let mut term = terminal::enter(mouse).map_err(|e| Local(format!("cannot use this terminal: {e}")))?;
    let mut input = EventStream::new();
    let door = Door { input: &mut input, term: &mut term, stops: Some(stops) };
    let result = event_loop(&backend, &opts.actor, app, changes, cues, door).await;
    terminal::leave(term, mouse);
    result
}

/// The signals that end the dashboard on the process's own terminal: SIGTERM quits, SIGHUP is the
/// terminal going away. A dashboard on a remote terminal has none: its session ends it.
struct Stops {
    terminate: Signal,
    hangup: Signal,
}

/// What ends the dashboard from outside.
enum Stop {
    Quit,
    HangUp,
}

/// The next stop; never, without signals to wait for.
async fn next_stop(stops: &mut Option<Stops>) -> Stop {
    let Some(stops) = stops else { return std::future::pending().await };
    tokio::select! {
        _ = stops.terminate.recv() => Stop::Quit,
        _ = stops.hangup.recv() => Stop::HangUp,
    }
}

/// The terminal the dashboard runs on: the events it sends (a `Resize` once its size has changed,
/// which the backend of `term` already reports), where frames are drawn, and the signals that end
/// it, if any.
struct Door<'a, I, B: ratatui::backend::Backend> {
    input: &'a mut I,
    term: &'a mut Terminal<B>,
    stops: Option<Stops>,
}

/// Runs the dashboard on any terminal (`Door`) until the user quits, the tour ends, or the
/// terminal or a local engine goes away.
async fn event_loop<I, B>(
    backend: &Backend,
    actor: &Actor,
    mut app: App,
    changes: Events,
    mut cues: Option<mpsc::UnboundedReceiver<tour::Cue>>,
    door: Door<'_, I, B>,
) -> crate::client::Result<Ending>
where
    I: Stream<Item = std::io::Result<Event>> + Unpin,
    B: ratatui::backend::Backend + std::io::Write,
    B::Error: std::fmt::Display,
{
    let Door { input, term, mut stops } = door;
    let me = match actor {
        Actor::User(upn) => Some(upn.clone()),
        Actor::Operator(_) => None,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    // None while the service is away.
    let mut changes = Some(changes);
    let mut gone = false;
    // The link its caller set, shown again once a service that was away is back.
    let link = app.link;
    // Where a remote service answers: one of its replicas may take over from another.
    let mut place = remote_place(backend);
    let mut loading = true;
    let mut stale = false;
    // Engine calls of the dashboard under way; a tour's syncs wait for them, then for a snapshot.
    let mut calls = 0usize;
    let mut syncs: Vec<oneshot::Sender<()>> = Vec::new();
    let mut synced: Vec<oneshot::Sender<()>> = Vec::new();
    load_first(backend, me.clone(), &tx);
    let mut dirty = true;
    loop {
        if dirty {
            let mut window = None;
            terminal::frame(term, |f| window = view::drawn(f, &app))
                .map_err(|e| hung_up(&format!("cannot write to it: {e}")))?;
            app.on_frame(window);
            dirty = false;
        }
        let tick = next_tick(app.has_countdowns());
        let effects = tokio::select! {
            // Every arm below starts from the present, so toasts and countdowns are never stale.
            event = input.next() => { app.tick(Utc::now()); match event {
                // While a tour plays, the keyboard and the mouse only quit it.
                Some(Ok(event)) if cues.is_some() && ignored_in_tour(&app, &event) => continue,
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => app.on_key(key),
                Some(Ok(Event::Paste(text))) => { app.on_paste(&text); Vec::new() }
                Some(Ok(Event::Mouse(mouse))) => app.on_mouse(mouse, view::tab_at),
                Some(Ok(Event::Resize(..))) => Vec::new(),
                Some(Ok(_)) => continue,
                // The terminal went away (a dropped SSH session closes stdin): nothing left to show.
                Some(Err(e)) => return Err(hung_up(&format!("cannot read from it: {e}"))),
                None => return Err(hung_up("its input ended")),
            }},
            change = next_change(&mut changes) => {
                if change.is_none() {
                    // The events ended: a local engine has stopped; a service stopped or went away.
                    let Backend::Remote(_) = backend else { return Err(Local("the engine stopped".into())) };
                    changes = None;
                    reconnect(backend, actor, &tx);
                    continue;
                }
                if loading { stale = true } else { loading = true; load(backend, me.clone(), &tx) }
                continue;
            }
            Some(msg) = rx.recv() => match msg {
                Msg::First(first) => {
                    app.tick(Utc::now());
                    let effects = app.on_snapshot(*first);
                    if gone {
                        app.trouble = Some(GONE.into());
                    }
                    effects
                }
                Msg::Rest(rest) => {
                    let again = || load(backend, me.clone(), &tx);
                    loaded(&mut app, Arrived::Rest(*rest), &mut synced, &mut stale, &mut loading, gone, again)
                }
                Msg::Snapshot(snapshot) => {
                    let again = || load(backend, me.clone(), &tx);
                    loaded(&mut app, Arrived::Whole(snapshot), &mut synced, &mut stale, &mut loading, gone, again)
                }
                Msg::Gone => {
                    gone = true;
                    app.read_only = true;
                    // The header's room goes to saying so.
                    app.link = None;
                    app.trouble = Some(GONE.into());
                    Vec::new()
                }
                Msg::Connected(events) => {
                    changes = Some(*events);
                    let now_on = remote_place(backend);
                    if let (Some(from), Some(to)) = (&place, &now_on)
                        && from != to
                    {
                        app.toast(format!("{from} does not answer: now on {to}"), false);
                    }
                    place = now_on;
                    if gone {
                        gone = false;
                        app.read_only = false;
                        app.link = link;
                        app.trouble = None;
                    }
                    // Whatever changed meanwhile: all of it again.
                    if loading { stale = true } else { loading = true; load(backend, me.clone(), &tx) }
                    Vec::new()
                }
                Msg::Detail(detail) => match *detail {
                    Ok(detail) => { app.on_detail(detail); Vec::new() }
                    Err(e) => { app.on_detail_failed(e.to_string()); Vec::new() }
                },
                Msg::Done(result) => { calls = calls.saturating_sub(1); app.on_result(result); Vec::new() }
                Msg::Decided(approve, outcomes) => {
                    calls = calls.saturating_sub(1);
                    app.on_decided(approve, &outcomes);
                    Vec::new()
                }
            },
            cue = next_cue(&mut cues) => match cue {
                Some(tour::Cue::Key(key)) => { app.tick(Utc::now()); app.on_key(key) }
                Some(tour::Cue::Caption(text)) => { app.caption = Some(text.to_string()); Vec::new() }
                Some(tour::Cue::Sync(done)) => { syncs.push(done); Vec::new() }
                Some(tour::Cue::End) | None => return Ok(Ending::TourOver),
            },
            _ = tick => { app.tick(Utc::now()); Vec::new() }
            stop = next_stop(&mut stops) => match stop {
                Stop::Quit => vec![Effect::Quit],
                Stop::HangUp => return Err(hung_up("SIGHUP")),
            },
        };
        dirty = true;
        for effect in effects {
            match effect {
                Effect::Quit => return Ok(Ending::Quit),
                Effect::Bell => {
                    terminal::bell(term).map_err(|e| hung_up(&format!("cannot write to it: {e}")))?
                }
                // While the service is away nothing can change, and the screen says so.
                Effect::Run(_) if gone => app.on_result(Err(app::READ_ONLY.into())),
                Effect::LoadDetail(_) if gone => app.toast(UNREACHABLE.into(), true),
                Effect::Run(call) => {
                    calls += 1;
                    run_call(backend, actor, call, &tx);
                }
                Effect::LoadDetail(id) => {
                    let (backend, tx, viewer) = (backend.clone(), tx.clone(), Viewer::from(actor));
                    tokio::spawn(async move {
                        let _ = tx.send(Msg::Detail(Box::new(backend.request(&viewer, id).await)));
                    });
                }
                Effect::MarkSeen(upto) => {
                    let (backend, tx, actor) = (backend.clone(), tx.clone(), actor.clone());
                    tokio::spawn(async move {
                        if let Err(e) = backend.run(&actor, MarkSeen { upto }).await {
                            let _ = tx.send(Msg::Done(Err(e.into())));
                        }
                    });
                }
            }
        }
        // The calls a sync waited for are done: a snapshot loaded from now on shows what they did.
        if !syncs.is_empty() && calls == 0 {
            synced.append(&mut syncs);
            if loading {
                stale = true
            } else {
                loading = true;
                load(backend, me.clone(), &tx)
            }
        }
    }
}

/// Whether a playing tour ignores an input event: everything the user does but quitting.
fn ignored_in_tour(app: &App, event: &Event) -> bool {
    match event {
        Event::Key(key) => app.ui.keymap.action(key, keymap::Scope::Global) != Some(keymap::KeyAction::Quit),
        Event::Paste(_) | Event::Mouse(_) => true,
        _ => false,
    }
}

/// The next cue of a tour; never, without one.
async fn next_cue(cues: &mut Option<mpsc::UnboundedReceiver<tour::Cue>>) -> Option<tour::Cue> {
    match cues {
        Some(cues) => cues.recv().await,
        None => std::future::pending().await,
    }
}

/// The line said (and logged) when the terminal goes away: the dashboard ends at once, non-zero.
fn hung_up(why: &str) -> crate::client::Error {
    let line = format!("the terminal went away ({why}): the dashboard quit");
    tracing::warn!("{line}");
    Local(line)
}

/// The next change; never, while there are no events to wait for (the service is away).
async fn next_change(changes: &mut Option<Events>) -> Option<Change> {
    match changes {
        Some(changes) => changes.next().await,
        None => std::future::pending().await,
    }
}

/// Where the service answers, when it is remote: its socket, or the URL of the replica in use.
fn remote_place(backend: &Backend) -> Option<String> {
    match backend {
        Backend::Remote(client) => Some(client.place()),
        Backend::Local(_) => None,
    }
}

/// Subscribes again to a service whose events ended: at once (a subscriber that fell behind is
/// simply told to reload), then, once it has not answered and the loop has been told it is gone,
/// with waits doubling from `RETRY_FIRST` to `RETRY_LAST`, until it answers for our store again.
fn reconnect(backend: &Backend, actor: &Actor, tx: &mpsc::UnboundedSender<Msg>) {
    let Backend::Remote(client) = backend else { return };
    let (backend, client, actor, tx) = (backend.clone(), client.clone(), actor.clone(), tx.clone());
    tokio::spawn(async move {
        let mut wait = Duration::ZERO;
        loop {
            tokio::time::sleep(wait).await;
            if tx.is_closed() {
                return;
            }
            let attempt = async {
                if !client.serves_our_store().await? {
                    return Err(crate::client::Error::Service(
                        "the socket is served for another store".into(),
                    ));
                }
                backend.subscribe(&actor).await
            };
            match attempt.await {
                Ok(events) => {
                    tracing::info!("the service on {} answers again", client.place());
                    let _ = tx.send(Msg::Connected(Box::new(events)));
                    return;
                }
                Err(e) => {
                    if wait.is_zero() {
                        tracing::info!("the service on {} is gone: {e}", client.place());
                        let _ = tx.send(Msg::Gone);
                    }
                    wait = (wait * 2).clamp(RETRY_FIRST, RETRY_LAST);
                }
            }
        }
    });
}

/// What a load brings: a whole snapshot, or the rest of the first one.
enum Arrived {
    Whole(Box<crate::client::Result<Snapshot>>),
    Rest(crate::client::Result<data::Rest>),
}

/// A snapshot arrived: shown, or its failure said; then loaded again if something changed while it
/// was on its way.
fn loaded(
    app: &mut App,
    arrived: Arrived,
    synced: &mut Vec<oneshot::Sender<()>>,
    stale: &mut bool,
    loading: &mut bool,
    gone: bool,
    again: impl FnOnce(),
) -> Vec<Effect> {
    // Fresh data is judged against the present, not the last tick.
    app.tick(Utc::now());
    *loading = false;
    // Began after each waiting sync asked for it: they are answered, unless a later load is still
    // to come.
    if !*stale {
        synced.drain(..).for_each(|done| {
            let _ = done.send(());
        });
    }
    if *stale && !gone {
        *stale = false;
        *loading = true;
        again();
    }
    let shown = match arrived {
        Arrived::Whole(whole) => whole.map(|snapshot| app.on_snapshot(snapshot)),
        Arrived::Rest(rest) => rest.map(|rest| app.on_rest(rest)),
    };
    match shown {
        Ok(effects) => {
            if gone {
                app.trouble = Some(GONE.into());
            }
            effects
        }
        // While the service is away, the last data stays and the header says why.
        Err(_) if gone => Vec::new(),
        Err(e) => {
            app.trouble = Some(e.to_string());
            Vec::new()
        }
    }
}

/// The first load: what the first screen needs is shown as soon as it is in, the rest after.
fn load_first(backend: &Backend, me: Option<String>, tx: &mpsc::UnboundedSender<Msg>) {
    let (backend, tx) = (backend.clone(), tx.clone());
    tokio::spawn(async move {
        let first = match Snapshot::first(&backend, me.as_deref()).await {
            Ok(first) => first,
            Err(e) => {
                let _ = tx.send(Msg::Snapshot(Box::new(Err(e))));
                return;
            }
        };
        let user = first.me.clone();
        // The loop may have ended; then nobody needs the rest.
        if tx.send(Msg::First(Box::new(first))).is_ok() {
            let rest = Snapshot::rest(&backend, user.as_ref()).await;
            let _ = tx.send(Msg::Rest(Box::new(rest)));
        }
    });
}

fn load(backend: &Backend, me: Option<String>, tx: &mpsc::UnboundedSender<Msg>) {
    let (backend, tx) = (backend.clone(), tx.clone());
    tokio::spawn(async move {
        let snapshot = Snapshot::load(backend, me.as_deref()).await;
        // The loop may have ended; then nobody needs the snapshot.
        let _ = tx.send(Msg::Snapshot(Box::new(snapshot)));
    });
}

fn run_call(backend: &Backend, actor: &Actor, call: Call, tx: &mpsc::UnboundedSender<Msg>) {
    let (backend, tx, actor) = (backend.clone(), tx.clone(), actor.clone());
    tokio::spawn(async move {
        let msg = match perform(&backend, &actor, call).await {
            Outcome::Done(result) => Msg::Done(result),
            Outcome::Decided(approve, outcomes) => Msg::Decided(approve, outcomes),
        };
        let _ = tx.send(msg);
    });
}

/// What a call did, in the words the dashboard shows.
#[derive(Debug)]
pub enum Outcome {
    /// The result of one command.
    Done(Result<String, refusal::Refusal>),
    /// The outcomes of a bulk decision, one per request, and whether it approved.
    Decided(bool, Vec<(u64, Result<String, refusal::Refusal>)>),
}

/// Runs a call as `actor` and words its result: the event loop does it this way, and so do the
/// tests that drive the dashboard without it.
pub async fn perform(backend: &Backend, actor: &Actor, call: Call) -> Outcome {
    // A decision's outcome, with how far the request's approvals are when it waits for more.
    let decide = async |c: crate::engine::Decide| {
        let r = backend.run(actor, c).await?;
        let apps = backend.apps_of(&actor.into(), std::slice::from_ref(&r)).await?;
        let policy = apps.first().map(|a| &a.policy);
        Ok(format!("request {} {}", r.id, crate::domain::rules::state_shown(&r, policy)))
    };
    let result = match call {
        Call::DecideEach { approve, each } => {
            let mut outcomes = Vec::new();
            for (id, decision) in each {
                let outcome = match decision {
                    Ok(c) => decide(c).await.map_err(refusal::Refusal::Refused),
                    Err(why) => Err(why),
                };
                outcomes.push((id, outcome));
            }
            return Outcome::Decided(approve, outcomes);
        }
        Call::Decide(c) => decide(c).await,
        Call::Cancel(c) => backend.run(actor, c).await.map(|r| format!("request {} {}", r.id, r.state)),
        Call::Revoke(c) => backend.run(actor, c).await.map(|r| format!("access {} {}", r.id, r.state)),
        Call::Extend(c) => backend.run(actor, c).await.map(|r| extension_outcome(&r)),
        Call::DecideExtension(c) => backend.run(actor, c).await.map(|r| extension_outcome(&r)),
        Call::Request(c) => backend.run(actor, c).await.map(|r| format!("request {} is {}", r.id, r.state)),
        Call::Deploy(c) => backend.run(actor, c).await.map(|a| format!("deployed {}", a.name)),
        Call::SetPolicy(c) => {
            backend.run(actor, c).await.map(|a| format!("saved the JIT settings of {}", a.name))
        }
    };
    Outcome::Done(result.map_err(refusal::Refusal::from))
}

/// Where the last extension of a grant stands, for the toast after asking or deciding.
fn extension_outcome(r: &AccessRequest) -> String {
    let stands = match r.extensions.last().map(|e| e.state) {
        Some(ExtensionState::Pending) => "waits for a decision",
        Some(ExtensionState::Approved) => "approved",
        Some(ExtensionState::Denied) => "denied",
        Some(ExtensionState::Lapsed) | None => "lapsed",
    };
    format!("extension of access {} {stands}", r.id)
}

/// Resolves at the next whole second while countdowns are visible, else at the next minute for
/// the header's clock: an idle screen with nothing counting down writes nothing in between.
async fn next_tick(countdowns: bool) {
    let now = Utc::now();
    let into_second = i64::from(now.timestamp_subsec_millis().min(999));
    let ms =
        if countdowns { 1000 - into_second } else { 60_000 - (now.timestamp() % 60) * 1000 - into_second };
    tokio::time::sleep(std::time::Duration::from_millis(ms.max(1) as u64)).await;
}
