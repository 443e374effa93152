//! The dashboard owns the screen, so diagnostics go to a file under the data directory instead:
//! `$XDG_DATA_HOME/jitdesk/jitdesk.log`, level from `JITDESK_LOG` (default `info`).
//!
//! A log is read by its owner only and must never fill a disk, whoever floods the service: the
//! folder is made 0700 and the file 0600 from its first byte; the file is rotated at a size cap,
//! keeping a few older files; and a caller's refusals are logged at most a few lines per interval,
//! then summed up in one line (`Throttle`).

use std::collections::HashMap;
use std::fmt::Display;
use std::fs::{DirBuilder, File, OpenOptions};
use std::hash::Hash;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing_subscriber::EnvFilter;

/// The size at which the log file is rotated.
pub const MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;
/// How many log files are kept, the current one included: `jitdesk.log`, `.1`, `.2`.
pub const LOG_FILES: usize = 3;

pub fn log_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("jitdesk").join("jitdesk.log"))
}

/// Starts logging to the file; without a writable data directory there is simply no log.
pub fn to_file() {
    let Some(path) = log_path() else { return };
    let Ok(file) = Rotating::open(&path, MAX_LOG_BYTES, LOG_FILES) else { return };
    let filter = EnvFilter::try_from_env("JITDESK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests, demo inside the same process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
}

/// A log file that moves aside once it reaches its cap: `x.log` becomes `x.log.1`, `x.log.1`
/// becomes `x.log.2`, and so on up to `files - 1`; the oldest goes.
pub struct Rotating {
    path: PathBuf,
    cap: u64,
    files: usize,
    file: File,
    size: u64,
}

impl Rotating {
    /// Opens (or creates, with its folder) the log at `path`, to be rotated at `cap` bytes.
    pub fn open(path: &Path, cap: u64, files: usize) -> io::Result<Rotating> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
        let file = create(path)?;
        let size = file.metadata()?.len();
        Ok(Rotating { path: path.to_path_buf(), cap: cap.max(1), files: files.max(1), file, size })
    }

    fn older(&self, n: usize) -> PathBuf {
        let mut name = self.path.as_os_str().to_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        for n in (1..self.files).rev() {
            let from = if n == 1 { self.path.clone() } else { self.older(n - 1) };
            match std::fs::rename(&from, self.older(n)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        if self.files == 1 {
            self.file.set_len(0)?;
        } else {
            self.file = create(&self.path)?;
        }
        self.size = 0;
        Ok(())
    }
}

/// Opens for appending, 0600 from the first byte whatever the umask, never through a symlink; a file
/// left with wider permissions (by an older version) is narrowed.
fn create(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)?;
    if file.metadata()?.permissions().mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

impl Write for Rotating {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.cap {
            self.rotate()?;
        }
        let written = self.file.write(buf)?;
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// At most `lines` log lines per key (whoever caused them: a uid, a user, an address) per
/// `interval`; the rest are counted and summed up once the interval is over, so a flood costs a few
/// lines a minute, not megabytes a second.
pub struct Throttle<K> {
    lines: u32,
    interval: Duration,
    windows: Mutex<HashMap<K, Window>>,
}

struct Window {
    started: Instant,
    logged: u32,
    quiet: u64,
}

/// One key's lines that were not logged in an interval that is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quieted<K> {
    pub key: K,
    pub count: u64,
    /// How long the interval lasted: from its first line to its summary.
    pub interval: Duration,
}

impl<K: Display> Display for Quieted<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} more refusals in the last {} s",
            self.key,
            thousands(self.count),
            self.interval.as_secs()
        )
    }
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub fn new(lines: u32, interval: Duration) -> Throttle<K> {
        Throttle { lines, interval, windows: Mutex::new(HashMap::new()) }
    }

    /// Whether this line of `key` may be logged now. When it opens a new interval and the last one
    /// had lines held back, their summary comes with it, to be logged first.
    pub fn admit(&self, key: &K, now: Instant) -> (bool, Option<Quieted<K>>) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let window = windows.entry(key.clone()).or_insert(Window { started: now, logged: 0, quiet: 0 });
        let mut summary = None;
        if now.duration_since(window.started) >= self.interval {
            summary = summary_of(key, window, now);
            *window = Window { started: now, logged: 0, quiet: 0 };
        }
        if window.logged < self.lines {
            window.logged += 1;
            (true, summary)
        } else {
            window.quiet += 1;
            (false, summary)
        }
    }

    /// The summaries of every interval that is over, forgetting those keys: for a timer, so a flood
    /// that stops is still summed up.
    pub fn sweep(&self, now: Instant) -> Vec<Quieted<K>> {
        self.sum_up(now, self.interval)
    }

    /// The summaries of every interval, over or not, forgetting every key: for the last lines of a
    /// log, so nothing held back goes unsaid.
    pub fn drain(&self, now: Instant) -> Vec<Quieted<K>> {
        self.sum_up(now, Duration::ZERO)
    }

    fn sum_up(&self, now: Instant, at_least: Duration) -> Vec<Quieted<K>> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        windows.retain(|key, window| {
            if now.duration_since(window.started) < at_least {
                return true;
            }
            out.extend(summary_of(key, window, now));
            false
        });
        out
    }
}

fn summary_of<K: Clone>(key: &K, window: &Window, now: Instant) -> Option<Quieted<K>> {
    let interval = now.duration_since(window.started);
    (window.quiet > 0).then(|| Quieted { key: key.clone(), count: window.quiet, interval })
}

/// 4512 as `4,512`: counts in a log are read by people.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o777
    }

    #[test]
    fn the_log_rotates_at_its_cap_and_keeps_so_many_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jitdesk.log");
        let mut log = Rotating::open(&path, 100, 3).unwrap();
        let line = |n: usize| format!("line {n:03} {}\n", "x".repeat(20));
        for n in 0..20 {
            log.write_all(line(n).as_bytes()).unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["jitdesk.log", "jitdesk.log.1", "jitdesk.log.2"]);
        for name in &names {
            let p = dir.path().join(name);
            assert!(std::fs::metadata(&p).unwrap().len() <= 100, "{name} is over the cap");
            assert_eq!(mode(&p), 0o600, "{name}");
        }
        // Newest in the log, the one before in .1; the oldest lines are gone.
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.ends_with(&line(19)), "{current}");
        let previous = std::fs::read_to_string(dir.path().join("jitdesk.log.1")).unwrap();
        assert!(previous.ends_with(&line(19 - current.lines().count())), "{previous}");
        let all: String =
            names.iter().map(|n| std::fs::read_to_string(dir.path().join(n)).unwrap()).collect();
        assert!(!all.contains(&line(0)), "the oldest file went");
    }

    #[test]
    fn a_reopened_log_counts_what_is_already_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.log");
        Rotating::open(&path, 50, 2).unwrap().write_all(&[b'a'; 40]).unwrap();
        Rotating::open(&path, 50, 2).unwrap().write_all(&[b'b'; 40]).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), [b'b'; 40]);
        assert_eq!(std::fs::read(dir.path().join("j.log.1")).unwrap(), [b'a'; 40]);
    }

    #[test]
    fn the_folder_is_0700_and_the_file_0600() {
        // Under umask 000 too: tests/it/service_fairness.rs starts `serve` so.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("jitdesk").join("jitdesk.log");
        Rotating::open(&path, 100, 3).unwrap();
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(path.parent().unwrap().parent().unwrap()), 0o700);
        assert_eq!(mode(&path), 0o600);
        // A log an older version left readable to others is narrowed when opened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        Rotating::open(&path, 100, 3).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_symlink_in_place_of_the_log_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "theirs").unwrap();
        let path = dir.path().join("jitdesk.log");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(Rotating::open(&path, 100, 3).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs");
    }

    #[test]
    fn a_flood_is_a_few_lines_then_one_summary() {
        let throttle = Throttle::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let logged = (0..4515).filter(|_| throttle.admit(&"uid 1234", t0).0).count();
        assert_eq!(logged, 3);
        // Another uid has its own allowance.
        assert!(throttle.admit(&"uid 99", t0).0);
        // Within the interval nothing is summed up yet.
        assert_eq!(throttle.sweep(t0 + Duration::from_secs(30)), []);
        // The next interval's first line brings the summary of the last.
        let (admitted, summary) = throttle.admit(&"uid 1234", t0 + Duration::from_secs(60));
        assert!(admitted);
        let summary = summary.expect("a summary");
        assert_eq!(summary.to_string(), "uid 1234: 4,512 more refusals in the last 60 s");
    }

    #[test]
    fn a_flood_that_stops_is_summed_up_by_the_sweep() {
        let throttle = Throttle::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..10 {
            throttle.admit(&"uid 7", t0);
        }
        throttle.admit(&"uid 8", t0);
        let swept = throttle.sweep(t0 + Duration::from_secs(75));
        assert_eq!(swept, [Quieted { key: "uid 7", count: 8, interval: Duration::from_secs(75) }]);
        // Swept keys are forgotten: the map stays as small as the callers of the last interval.
        assert_eq!(throttle.sweep(t0 + Duration::from_secs(200)), []);
        assert!(throttle.admit(&"uid 7", t0 + Duration::from_secs(200)).0);
    }

    #[test]
    fn the_last_summaries_are_drained_whatever_their_age() {
        let throttle = Throttle::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            throttle.admit(&"uid 5", t0);
        }
        let drained = throttle.drain(t0 + Duration::from_secs(2));
        assert_eq!(drained, [Quieted { key: "uid 5", count: 2, interval: Duration::from_secs(2) }]);
        assert_eq!(drained[0].to_string(), "uid 5: 2 more refusals in the last 2 s");
        assert_eq!(throttle.drain(t0 + Duration::from_secs(3)), []);
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(4512), "4,512");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
