//! The dashboard owns the screen, so diagnostics go to a file under the data directory instead:
//! `$XDG_DATA_HOME/jitdesk/jitdesk.log`, level from `JITDESK_LOG` (default `info`).

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

pub fn log_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("jitdesk").join("jitdesk.log"))
}

/// Starts logging to the file; without a writable data directory there is simply no log.
pub fn to_file() {
    let Some(path) = log_path() else { return };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let Ok(file) = OpenOptions::new().create(true).append(true).open(&path) else { return };
    let filter = EnvFilter::try_from_env("JITDESK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests, demo inside the same process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
}
