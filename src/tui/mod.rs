//! The dashboard. The loop below only reacts: engine calls and snapshot loads run as tasks that
//! report back on a channel, engine events ask for a new snapshot, and a frame is drawn only when
//! something changed (a second's tick only while countdowns are on screen).

pub mod app;
pub mod config;
pub mod data;
pub mod demo;
pub mod form;
pub mod keymap;
pub mod terminal;
pub mod theme;
pub mod view;
pub mod wizard;

use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{broadcast, mpsc};

use crate::domain::rules::Actor;
use crate::engine::{Engine, MarkSeen, RequestDetail};
use app::{App, Call, Effect, Ui};
use config::{Config, TimeShown};
use data::Snapshot;
use keymap::Keymap;
use theme::{Load, Theme};

/// What the dashboard is started with, beyond the engine.
pub struct Options {
    pub actor: Actor,
    pub theme: Option<String>,
    pub utc: bool,
}

/// Reports from the tasks the loop starts.
enum Msg {
    Snapshot(Box<crate::Result<Snapshot>>),
    Detail(Box<crate::Result<RequestDetail>>),
    Done(Result<String, String>),
}

/// Builds the look and keys from the config file, the theme folder and the environment.
pub fn ui(config: &Config, theme: Option<&str>, utc: bool) -> Result<Ui, String> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let name = theme
        .map(str::to_string)
        .or_else(|| config.theme.clone())
        .unwrap_or_else(|| if no_color { "mono".to_string() } else { "default".to_string() });
    let themes_dir = Config::dir().map(|d| d.join("themes"));
    let theme = Theme::load(
        &name,
        &Load { user_dir: themes_dir.as_deref(), truecolor: theme::truecolor_from_env() },
    )?;
    if no_color {
        // crossterm would otherwise reset attributes right after setting them and lose the selection.
        crossterm::style::force_color_output(true);
    }
    Ok(Ui {
        theme,
        keymap: Keymap::new(&config.key_overrides()).map_err(|e| format!("config [keys]: {e}"))?,
        utc: utc || config.time == TimeShown::Utc,
        bell: config.bell,
        mouse: config.mouse,
    })
}

pub async fn run(engine: Engine, opts: Options) -> Result<(), String> {
    let config = match Config::dir() {
        Some(dir) => Config::load(&dir.join("config.toml"))?,
        None => Config::default(),
    };
    let ui = ui(&config, opts.theme.as_deref(), opts.utc)?;
    let mouse = ui.mouse;
    let mut term = terminal::enter(mouse).map_err(|e| format!("cannot use this terminal: {e}"))?;
    let result = event_loop(&engine, &opts.actor, App::new(ui, Utc::now()), &mut term).await;
    terminal::restore(mouse);
    result
}

async fn event_loop(
    engine: &Engine,
    actor: &Actor,
    mut app: App,
    term: &mut terminal::Term,
) -> Result<(), String> {
    let me = match actor {
        Actor::User(upn) => Some(upn.clone()),
        Actor::Operator(_) => None,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut changes = engine.subscribe();
    let mut input = EventStream::new();
    let io = |e: std::io::Error| format!("terminal: {e}");
    let mut term_signal = signal(SignalKind::terminate()).map_err(io)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(io)?;
    let mut loading = true;
    let mut stale = false;
    load(engine, me.clone(), &tx);
    let mut dirty = true;
    loop {
        if dirty {
            terminal::frame(term, |f| view::draw(f, &app)).map_err(io)?;
            dirty = false;
        }
        let tick = next_tick(app.has_countdowns());
        let effects = tokio::select! {
            // Every arm below starts from the present, so toasts and countdowns are never stale.
            event = input.next() => { app.tick(Utc::now()); match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => app.on_key(key),
                Some(Ok(Event::Paste(text))) => { app.on_paste(&text); Vec::new() }
                Some(Ok(Event::Mouse(mouse))) => app.on_mouse(mouse, view::tab_at),
                Some(Ok(Event::Resize(..))) => Vec::new(),
                Some(Ok(_)) => continue,
                // The terminal went away (a dropped SSH session closes stdin): nothing left to show.
                Some(Err(_)) | None => vec![Effect::Quit],
            }},
            change = changes.recv() => {
                if matches!(change, Err(broadcast::error::RecvError::Closed)) {
                    return Err("the engine stopped".into());
                }
                if loading { stale = true } else { loading = true; load(engine, me.clone(), &tx) }
                continue;
            }
            Some(msg) = rx.recv() => match msg {
                Msg::Snapshot(snapshot) => {
                    // Fresh data is judged against the present, not the last tick.
                    app.tick(Utc::now());
                    loading = false;
                    if stale {
                        stale = false;
                        loading = true;
                        load(engine, me.clone(), &tx);
                    }
                    match *snapshot {
                        Ok(snapshot) => app.on_snapshot(snapshot),
                        Err(e) => { app.trouble = Some(e.to_string()); Vec::new() }
                    }
                }
                Msg::Detail(detail) => match *detail {
                    Ok(detail) => { app.on_detail(detail); Vec::new() }
                    Err(e) => { app.toast(e.to_string(), true); Vec::new() }
                },
                Msg::Done(result) => { app.on_result(result); Vec::new() }
            },
            _ = tick => { app.tick(Utc::now()); Vec::new() }
            _ = term_signal.recv() => vec![Effect::Quit],
            _ = hangup.recv() => vec![Effect::Quit],
        };
        dirty = true;
        for effect in effects {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Bell => terminal::bell(term).map_err(io)?,
                Effect::Run(call) => run_call(engine, actor, call, &tx),
                Effect::LoadDetail(id) => {
                    let (engine, tx) = (engine.clone(), tx.clone());
                    tokio::spawn(async move {
                        let _ = tx.send(Msg::Detail(Box::new(engine.request(id).await)));
                    });
                }
                Effect::MarkSeen(upto) => {
                    let (engine, tx, actor) = (engine.clone(), tx.clone(), actor.clone());
                    tokio::spawn(async move {
                        if let Err(e) = engine.run(&actor, MarkSeen { upto }).await {
                            let _ = tx.send(Msg::Done(Err(e.to_string())));
                        }
                    });
                }
            }
        }
    }
}

fn load(engine: &Engine, me: Option<String>, tx: &mpsc::UnboundedSender<Msg>) {
    let (engine, tx) = (engine.clone(), tx.clone());
    tokio::spawn(async move {
        let snapshot = Snapshot::load(&engine, me.as_deref()).await;
        // The loop may have ended; then nobody needs the snapshot.
        let _ = tx.send(Msg::Snapshot(Box::new(snapshot)));
    });
}

fn run_call(engine: &Engine, actor: &Actor, call: Call, tx: &mpsc::UnboundedSender<Msg>) {
    let (engine, tx, actor) = (engine.clone(), tx.clone(), actor.clone());
    tokio::spawn(async move {
        let result = match call {
            Call::Decide(c) => engine.run(&actor, c).await.map(|r| format!("request {} {}", r.id, r.state)),
            Call::Cancel(c) => engine.run(&actor, c).await.map(|r| format!("request {} {}", r.id, r.state)),
            Call::Revoke(c) => engine.run(&actor, c).await.map(|r| format!("access {} {}", r.id, r.state)),
            Call::Request(c) => {
                engine.run(&actor, c).await.map(|r| format!("request {} is {}", r.id, r.state))
            }
            Call::Deploy(c) => engine.run(&actor, c).await.map(|a| format!("deployed {}", a.name)),
            Call::SetPolicy(c) => {
                engine.run(&actor, c).await.map(|a| format!("saved the JIT settings of {}", a.name))
            }
        };
        let _ = tx.send(Msg::Done(result.map_err(|e| e.to_string())));
    });
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
