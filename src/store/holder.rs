//! Names the process that holds a store's file lock, so "store in use" can say who. Linux lists every
//! lock in /proc/locks with the holder's pid and the file's inode; elsewhere we just say "another process".

use std::path::Path;

pub fn describe(path: &Path) -> String {
    lock_holder(path)
        .map(|(pid, name)| format!("another process ({name}, pid {pid})"))
        .unwrap_or_else(|| "another process".to_string())
}

/// The pid of the process that holds the store's lock, where the system says.
pub fn holder_pid(path: &Path) -> Option<u32> {
    lock_holder(path).map(|(pid, _)| pid)
}

#[cfg(target_os = "linux")]
fn lock_holder(path: &Path) -> Option<(u32, String)> {
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(path).ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let me = std::process::id();
    locks.lines().find_map(|line| {
        // "1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" (OFD locks show pid -1)
        let fields: Vec<&str> = line.split_whitespace().collect();
        let pid: u32 = fields.get(4)?.parse().ok()?;
        let lock_inode: u64 = fields.get(5)?.rsplit(':').next()?.parse().ok()?;
        if lock_inode != inode || pid == me {
            return None;
        }
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        Some((pid, name.trim().to_string()))
    })
}

#[cfg(not(target_os = "linux"))]
fn lock_holder(_path: &Path) -> Option<(u32, String)> {
    None
}
