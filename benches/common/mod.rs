//! What the benches share: the binary with a clean environment, the machine they ran on, medians and percentiles, units, the table
//! of figures each one prints at its end, so that every bench reports the same way, and (in `load`) the client load on the service.

#![allow(dead_code)]

pub mod directory;
pub mod load;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary with a clean environment: its logs (at `info`) and config in `dir`, no JITDESK_*.
pub fn jitdesk(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jitdesk"));
    cmd.env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .env("TZ", "UTC")
        .env_remove("JITDESK_STORE")
        .env_remove("JITDESK_SOCKET")
        .env_remove("JITDESK_USER")
        .env_remove("JITDESK_LOG")
        .stdin(Stdio::null());
    cmd
}

/// Prints the machine, its load, the store folder's filesystem and the binary measured.
pub fn describe_machine(dir: &Path, bin: &str) {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == "model name")
        .map_or("unknown", |(_, v)| v.trim());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or_else(|| "?".to_string(), |kb| format!("{:.1} GiB", kb as f64 / 1048576.0));
    println!("machine: {cores} cores available, {model}, {memory} RAM");
    println!(
        "kernel: Linux {}, load average at start: {}",
        read("/proc/sys/kernel/osrelease").trim(),
        load_average()
    );
    println!("store folder: {} on {}", dir.display(), mount_of(dir));
    println!("binary: {bin}");
}

/// The 1, 5 and 15 minute load averages: on a shared machine they say how much the p99s can be trusted.
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// The mount that holds `dir`, with its filesystem type, device and options.
pub fn mount_of(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    table
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let point = before.split(' ').nth(4)?;
            let after: Vec<&str> = after.split(' ').collect();
            dir.starts_with(point).then(|| {
                let what = format!(
                    "{} {} at {point} ({})",
                    after.first().unwrap_or(&"?"),
                    after.get(1).unwrap_or(&"?"),
                    after.get(2).unwrap_or(&"")
                );
                (point.len(), what)
            })
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "an unknown filesystem".to_string(), |(_, what)| what)
}

/// The samples in ascending order.
pub fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The middle sample, or the mean of the two middle ones; NaN for none.
pub fn median(samples: &[f64]) -> f64 {
    let v = sorted(samples);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Nearest-rank percentile `p` (0 to 100); NaN for no samples.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    let v = sorted(samples);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub fn p50(samples: &[f64]) -> f64 {
    percentile(samples, 50.0)
}

pub fn p99(samples: &[f64]) -> f64 {
    percentile(samples, 99.0)
}

/// A time from seconds, in the unit (s, ms, µs) that keeps two or three significant digits.
pub fn msf(s: f64) -> String {
    match s * 1e3 {
        x if x.is_nan() => "..".into(),
        x if x.abs() >= 1000.0 => format!("{s:.2} s"),
        x if x.abs() >= 100.0 => format!("{x:.0} ms"),
        x if x.abs() >= 10.0 => format!("{x:.1} ms"),
        x if x.abs() >= 0.1 => format!("{x:.2} ms"),
        x => format!("{:.1} µs", x * 1e3),
    }
}

pub fn ms(d: Duration) -> String {
    msf(d.as_secs_f64())
}

/// A byte count, in KB (1000 bytes) from 10,000 on.
pub fn bytes(n: f64) -> String {
    if n >= 10_000.0 { format!("{:.1} KB", n / 1000.0) } else { format!("{n:.0} B") }
}

/// A rate with thousands separated.
pub fn per_second(rate: f64) -> String {
    let whole = rate.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out} /s")
}

#[derive(Default)]
pub struct Table {
    pub rows: Vec<Vec<String>>,
}

pub struct Line<'a> {
    pub figure: &'a str,
    pub result: String,
    pub median: Option<f64>,
    pub p99: Option<f64>,
    pub baseline: String,
    pub ratio: Option<f64>,
    pub target: &'a str,
    /// None for rows that are only information.
    pub met: Option<bool>,
}

impl Table {
    pub fn add(&mut self, line: Line<'_>) {
        let verdict = match line.met {
            Some(true) => "ok",
            Some(false) => "MISS",
            None => "",
        };
        self.rows.push(vec![
            line.figure.to_string(),
            line.result,
            line.median.map_or("..".into(), msf),
            line.p99.map_or("..".into(), msf),
            line.baseline,
            line.ratio.map_or("..".into(), |r| format!("{r:.1}x")),
            line.target.to_string(),
            verdict.to_string(),
        ]);
    }

    pub fn print(&self) {
        let head: Vec<String> = ["figure", "result", "median", "p99", "baseline", "ratio", "target", ""]
            .map(String::from)
            .to_vec();
        let mut widths = vec![0; head.len()];
        for row in std::iter::once(&head).chain(&self.rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&head).chain(&self.rows) {
            let mut out = String::new();
            for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
                // Names and targets read left to right; numbers line up on the right.
                let left = matches!(i, 0 | 6 | 7);
                let padded = if left { format!("{cell:<w$}") } else { format!("{cell:>w$}") };
                if i > 0 {
                    out.push_str("  ");
                }
                out.push_str(&padded);
            }
            println!("{}", out.trim_end());
        }
    }
}

/// The kernel's clock ticks per second, in which /proc counts CPU time.
pub fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime from a `stat` file of /proc (a process's or a thread's), in clock ticks.
pub fn cpu_ticks(stat_file: &Path) -> u64 {
    let stat = std::fs::read_to_string(stat_file).unwrap_or_default();
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)
}

/// The first line a started `jitdesk serve` prints (where it answers), read from its piped stdout;
/// whatever it prints after is read too, so that it never blocks on a full pipe.
pub fn first_line(child: &mut Child) -> String {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("a piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
        lines.for_each(drop);
    });
    rx.recv_timeout(Duration::from_secs(30)).expect("serve says where it listens")
}

/// SIGTERM to a service the bench started, then its exit code once it has closed its store; killed
/// (and -1) if it has not within 15 s.
pub fn terminate(child: &mut Child) -> i32 {
    use nix::sys::signal::{Signal, kill};
    let _ = kill(nix::unistd::Pid::from_raw(child.id() as i32), Signal::SIGTERM);
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    -1
}
