//! An SSH session channel, from its opening to its exit status: what the client set on it (a pty,
//! the environment it may set), and running one CLI command on it. The command is this very
//! program, in a process of its own with a cleared environment, talking to the service on a socket
//! of the session's in a private folder, which the service serves as the key's owner; it may not
//! open the store itself (`JITDESK_SERVICE_ONLY`). Its stdout and stderr stream as the channel's
//! data and extended data, read no faster than the client reads them; a command silent for too
//! long is stopped, and so is one whose client went away.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use russh::server::Msg;
use russh::{Channel, ChannelId, ChannelWriteHalf};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use super::command::Vetted;
use super::identities::Owner;
use super::{Env, Shared};
use crate::api::limits::{SSH_COMMAND_IDLE, SSH_SESSION_BUFFER};
use crate::client::SERVICE_ONLY_ENV;
use crate::service::identity::Peer;

/// The most session channels one connection may have open at once.
const MAX_CHANNELS: usize = 4;
/// The exit status of a command stopped for its silence, as timeout(1) has it.
const IDLE_STATUS: u32 = 124;
/// How many chunks of the client's input wait for the dashboard before the client is read no
/// further.
const INPUT_QUEUE: usize = 16;

/// The terminal a client asked for (its TERM goes to the environment).
#[derive(Debug, Clone)]
pub struct Pty {
    /// Columns and rows.
    pub size: (u32, u32),
}

/// A session channel before it starts: what its client has set.
struct Slot {
    write: Option<ChannelWriteHalf<Msg>>,
    env: Env,
    pty: Option<Pty>,
    input: Option<mpsc::Sender<Vec<u8>>>,
    resize: Option<watch::Sender<(u16, u16)>>,
    tasks: Vec<JoinHandle<()>>,
}

/// A connection's session channels.
#[derive(Default)]
pub struct Channels {
    slots: HashMap<ChannelId, Slot>,
}

impl Channels {
    /// Takes a new channel; false when the connection has as many as it may.
    pub fn open(&mut self, channel: Channel<Msg>) -> bool {
        if self.slots.len() >= MAX_CHANNELS {
            return false;
        }
        let id = channel.id();
        let (mut read, write) = channel.split();
        // Requests reach the handler; what the channel hears besides is read and dropped, so that
        // it never holds the connection up.
        let drain = tokio::spawn(async move { while read.wait().await.is_some() {} });
        let slot = Slot {
            write: Some(write),
            env: Env::new(),
            pty: None,
            input: None,
            resize: None,
            tasks: vec![drain],
        };
        self.slots.insert(id, slot);
        true
    }

    /// Records an environment variable, before the session starts.
    pub fn set_env(&mut self, id: ChannelId, name: &str, value: &str) -> bool {
        match self.slots.get_mut(&id) {
            Some(slot) if slot.write.is_some() => {
                slot.env.insert(name.to_string(), value.to_string());
                true
            }
            _ => false,
        }
    }

    /// Records the terminal, before the session starts.
    pub fn set_pty(&mut self, id: ChannelId, term: &str, cols: u32, rows: u32) -> bool {
        match self.slots.get_mut(&id) {
            Some(slot) if slot.write.is_some() => {
                slot.env.insert("TERM".to_string(), term.to_string());
                slot.pty = Some(Pty { size: (cols, rows) });
                true
            }
            _ => false,
        }
    }

    /// Starts the session on a channel: None when there is no such channel or it started already.
    pub fn start(&mut self, id: ChannelId) -> Option<Started> {
        let slot = self.slots.get_mut(&id)?;
        let write = slot.write.take()?;
        let (input, input_rx) = mpsc::channel(INPUT_QUEUE);
        let size = slot.pty.as_ref().map_or((80, 24), |p| p.size);
        let (resize, resized) = watch::channel(cells(size));
        slot.input = Some(input);
        slot.resize = Some(resize);
        Some(Started { write, env: slot.env.clone(), pty: slot.pty.clone(), input: input_rx, resized })
    }

    /// Keeps the task running a session, to stop it when the channel closes.
    pub fn running(&mut self, id: ChannelId, task: JoinHandle<()>) {
        if let Some(slot) = self.slots.get_mut(&id) {
            slot.tasks.push(task);
        }
    }

    /// Hands the client's input to the session, waiting while it has not read what came before.
    pub async fn input(&mut self, id: ChannelId, data: &[u8]) {
        let input = self.slots.get(&id).and_then(|s| s.input.clone());
        if let Some(input) = input {
            let _ = input.send(data.to_vec()).await;
        }
    }

    /// Tells the session its terminal's new size.
    pub fn resize(&mut self, id: ChannelId, cols: u32, rows: u32) {
        if let Some(resize) = self.slots.get(&id).and_then(|s| s.resize.as_ref()) {
            let _ = resize.send(cells((cols, rows)));
        }
    }

    /// The channel closed: its session stops (a command's process is killed with it).
    pub fn close(&mut self, id: ChannelId) {
        if let Some(slot) = self.slots.remove(&id) {
            for task in slot.tasks {
                task.abort();
            }
        }
    }
}

impl Drop for Channels {
    fn drop(&mut self) {
        let ids: Vec<ChannelId> = self.slots.keys().copied().collect();
        for id in ids {
            self.close(id);
        }
    }
}

/// A session that has started: its channel to write to, and what its client set and sends.
pub struct Started {
    /// Where output goes.
    pub write: ChannelWriteHalf<Msg>,
    /// TERM, COLORTERM, NO_COLOR and LANG, as far as the client set them.
    pub env: Env,
    /// The terminal, when the client asked for one.
    pub pty: Option<Pty>,
    /// What the client types.
    pub input: mpsc::Receiver<Vec<u8>>,
    /// The terminal's size, columns and rows, as it changes (a size past `u16` counts as the
    /// largest; the dashboard draws at most `tui::remote::MAX_SIZE` anyway).
    pub resized: watch::Receiver<(u16, u16)>,
}

/// A client's size in cells, as a terminal takes it.
fn cells((cols, rows): (u32, u32)) -> (u16, u16) {
    (u16::try_from(cols).unwrap_or(u16::MAX), u16::try_from(rows).unwrap_or(u16::MAX))
}

impl Started {
    /// Ends the session with `text` on stderr and `status`.
    pub async fn finish(&self, text: &str, status: u32) {
        if !text.is_empty() {
            let _ = self.write.extended_data_bytes(1, text.as_bytes().to_vec()).await;
        }
        self.end(status).await;
    }

    async fn end(&self, status: u32) {
        end(&self.write, status).await;
    }
}

/// Ends a session with `status`, saying nothing more.
pub async fn end(write: &ChannelWriteHalf<Msg>, status: u32) {
    let _ = write.exit_status(status).await;
    let _ = write.eof().await;
    let _ = write.close().await;
}

/// Runs a vetted command line on a started session, as `owner`, to its exit status.
pub async fn run<I>(shared: &Shared<I>, owner: Owner, vetted: Vetted, started: Started) {
    let args = match vetted {
        Vetted::Answer { text, stderr: true, status } => return started.finish(&text, status).await,
        Vetted::Answer { text, stderr: false, status } => {
            let _ = started.write.data_bytes(text.into_bytes()).await;
            return started.end(status).await;
        }
        Vetted::Run(args) => args,
    };
    match run_command(shared, owner, &args, &started).await {
        Ok(status) => started.end(status).await,
        Err(why) => {
            tracing::warn!("SSH: cannot run a command: {why}");
            started
                .finish("error: the service could not run the command; try again, or tell its operator\n", 1)
                .await;
        }
    }
}

/// The child process and the session's socket, to the child's end; its exit status.
async fn run_command<I>(
    shared: &Shared<I>,
    owner: Owner,
    args: &[String],
    started: &Started,
) -> Result<u32, String> {
    // 0700, this process's user's: nobody else reaches the socket inside.
    let dir = tempfile::Builder::new()
        .prefix("jitdesk-ssh-")
        .tempdir()
        .map_err(|e| format!("cannot make the session's folder: {e}"))?;
    let socket = dir.path().join("api.sock");
    let listener = tokio::net::UnixListener::bind(&socket)
        .map_err(|e| format!("cannot make the session's socket: {e}"))?;
    let graceful = Arc::new(GracefulShutdown::new());
    let app = shared.app.clone();
    let watching = graceful.clone();
    let serving = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let peer = Peer::Known(owner.clone());
            tokio::spawn(super::super::serve_connection(app.clone(), stream, peer, watching.watcher()));
        }
    });
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut child = tokio::process::Command::new(exe)
        .arg("--store")
        .arg(&shared.store)
        .args(args)
        .env_clear()
        .envs(started.env.iter())
        .env("JITDESK_SOCKET", &socket)
        .env(SERVICE_ONLY_ENV, "1")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the command: {e}"))?;
    let activity = Notify::new();
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("the command's output was not piped".into());
    };
    let out = pump(stdout, started.write.make_writer(), &activity);
    let err = pump(stderr, started.write.make_writer_ext(Some(1)), &activity);
    let mut stopping = shared.stopping.clone();
    let watched = watch_child(&mut child, &activity, SSH_COMMAND_IDLE, &mut stopping);
    let (status, (), ()) = tokio::join!(watched, out, err);
    serving.abort();
    if status == IDLE_STATUS {
        let why = format!(
            "error: the command was silent for {} s, or its output was not read; it was stopped\n",
            SSH_COMMAND_IDLE.as_secs()
        );
        let _ = started.write.extended_data_bytes(1, why.into_bytes()).await;
    }
    drop(dir);
    Ok(status)
}

/// Waits for `child` to end, and its exit status; kills it when `activity` is not told for `idle`
/// (`IDLE_STATUS`) or the service stops (1).
async fn watch_child(
    child: &mut tokio::process::Child,
    activity: &Notify,
    idle: Duration,
    stopping: &mut watch::Receiver<bool>,
) -> u32 {
    loop {
        tokio::select! {
            status = child.wait() => {
                return status.map_or(1, |s| s.code().map_or(1, |c| u32::try_from(c).unwrap_or(1)));
            }
            _ = activity.notified() => {}
            _ = tokio::time::sleep(idle) => {
                let _ = child.kill().await;
                return IDLE_STATUS;
            }
            () = stopped(stopping) => {
                let _ = child.kill().await;
                return 1;
            }
        }
    }
}

/// Copies `from` to `to` through a buffer of half the session's share, telling `activity` of
/// every chunk; it reads the next chunk only once the last one is written.
async fn pump(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin, activity: &Notify) {
    let mut buf = vec![0; SSH_SESSION_BUFFER / 2];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        activity.notify_one();
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        activity.notify_one();
    }
}

/// Resolves once the service is stopping (or gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(script: &str) -> tokio::process::Child {
        tokio::process::Command::new("sh").args(["-c", script]).kill_on_drop(true).spawn().expect("sh")
    }

    #[tokio::test]
    async fn a_command_ends_with_its_status_unless_silent_too_long_or_the_service_stops() {
        let (stop, mut stopping) = watch::channel(false);
        let activity = Notify::new();
        let long = Duration::from_secs(600);
        assert_eq!(watch_child(&mut child("exit 7"), &activity, long, &mut stopping).await, 7);

        let mut silent = child("sleep 600");
        let short = Duration::from_millis(50);
        assert_eq!(watch_child(&mut silent, &activity, short, &mut stopping).await, IDLE_STATUS);
        assert!(silent.try_wait().expect("wait").is_some(), "the silent command was killed");

        let mut running = child("sleep 600");
        stop.send(true).expect("a receiver");
        assert_eq!(watch_child(&mut running, &activity, long, &mut stopping).await, 1);
        assert!(running.try_wait().expect("wait").is_some(), "the command was killed as the service stops");
    }
}
