//! Runs a program the operator configured (a command hook, a sendmail) for one parcel: what it
//! needs on its standard input, the delivery's key in `JITDESK_DELIVERY`, and nothing else of this
//! process's environment, so a service's settings and secrets never reach it. A program that does
//! not finish in time is killed; one that fails is told by its exit status, and the first line it
//! wrote to stderr goes to the operator's log.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::{permanent, retry};
use crate::domain::text::shown;
use crate::engine::outbox::Undelivered;

/// The most of a program's stderr kept to find its first line: the rest is read and dropped, so a
/// chatty program never blocks on a full pipe.
const STDERR_KEPT: usize = 4096;

/// The search path a program gets when this process has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Runs `program` with `args`, `input` on its standard input, until it exits or `timeout` passes.
pub(super) async fn run(
    program: &str,
    args: &[String],
    key: &str,
    input: &[u8],
    timeout: Duration,
) -> Result<(), Undelivered> {
    let name = shown(program);
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into()))
        .env("JITDESK_DELIVERY", key)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| {
        // A program that is not there or may not run stays so until the operator changes it.
        let cure = matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied);
        let reason = format!("cannot run {name}: {}", shown(&e.to_string()));
        if cure { permanent(reason) } else { retry(reason) }
    })?;
    let stdin = child.stdin.take();
    let stderr = child.stderr.take();
    let feed = async move {
        if let Some(mut stdin) = stdin {
            // A program that exits without reading all of it is judged by its exit status alone.
            let _ = stdin.write_all(input).await;
        }
    };
    let first_line = async move {
        let mut kept = Vec::new();
        if let Some(mut stderr) = stderr {
            let mut chunk = [0u8; 1024];
            while let Ok(n @ 1..) = stderr.read(&mut chunk).await {
                let room = STDERR_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
        let text = String::from_utf8_lossy(&kept).into_owned();
        text.lines().map(str::trim).find(|line| !line.is_empty()).map(shown)
    };
    let finished = async {
        let ((), line, status) = tokio::join!(feed, first_line, child.wait());
        (line, status)
    };
    match tokio::time::timeout(timeout, finished).await {
        Err(_) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            Err(retry(format!("{name} did not finish within {} s and was killed", timeout.as_secs_f32())))
        }
        Ok((_, Err(e))) => Err(retry(format!("cannot wait for {name}: {}", shown(&e.to_string())))),
        Ok((_, Ok(status))) if status.success() => Ok(()),
        Ok((line, Ok(status))) => {
            let how = match status.code() {
                Some(code) => format!("exited with status {code}"),
                None => "was killed by a signal".to_string(),
            };
            // What a program says is for the operator who set it up: a tenant's admins, who read
            // the delivery's error, get the status alone.
            if let Some(line) = line {
                tracing::warn!("{name} {how} for delivery {}: {line}", shown(key));
            }
            Err(retry(format!("{name} {how}")))
        }
    }
}
