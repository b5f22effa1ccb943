//! What the process runtime reads from /proc: whether a pid is still the process we started
//! (pids are reused, so a pid alone proves nothing after an agent restart), its children, its
//! environment and working directory (exec runs with the container's).

use std::path::{Path, PathBuf};

/// The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat). Together
/// with the pid it identifies one process for the lifetime of the machine.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat).map(|s| s.start_ticks)
}

/// True while `pid` is the process that started at `ticks` and has not exited (a zombie has
/// exited: only its parent's wait is missing).
pub fn is_alive(pid: u32, ticks: u64) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    match parse_stat(&stat) {
        Some(s) => s.start_ticks == ticks && s.state != 'Z' && s.state != 'X',
        None => false,
    }
}

struct Stat {
    state: char,
    start_ticks: u64,
}

/// Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself hold
/// spaces and parentheses, so fields are counted from the last ')'.
fn parse_stat(stat: &str) -> Option<Stat> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3) come fields 4..; start time is field 22.
    let start_ticks = fields.nth(22 - 4)?.parse().ok()?;
    Some(Stat { state, start_ticks })
}

/// The direct children of `pid` (of its main thread, which is where a single-threaded
/// `unshare` or `sh` forks).
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The environment the process was started with (NUL-separated `K=V`).
pub fn environ(pid: u32) -> Vec<(String, String)> {
    let Ok(raw) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return Vec::new();
    };
    raw.split(|b| *b == 0)
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// The process's current working directory.
pub fn cwd(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/cwd")).ok()
}

/// Finds an executable the way execvp does: a name with a '/' is taken as a path (relative to
/// `working_dir`), anything else is searched in `path_var`'s directories.
pub fn find_executable(name: &str, path_var: &str, working_dir: Option<&Path>) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    if name.contains('/') {
        let p = Path::new(name);
        let full = match working_dir {
            Some(wd) if p.is_relative() => wd.join(p),
            _ => p.to_path_buf(),
        };
        return is_executable(&full).then_some(full);
    }
    path_var
        .split(':')
        .map(|dir| if dir.is_empty() { "." } else { dir })
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let cases = [
            (
                "123 (sleep) S 1 123 123 0 -1 4194304 91 0 0 0 0 0 0 0 20 0 1 0 4567 2453504 192 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0",
                'S',
                4567,
            ),
            (
                "9 (a ) b) (c) R 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0 0",
                'R',
                99,
            ),
        ];
        for (line, state, ticks) in cases {
            let s = parse_stat(line).unwrap();
            assert_eq!(s.state, state, "{line}");
            assert_eq!(s.start_ticks, ticks, "{line}");
        }
        assert!(parse_stat("garbage").is_none());
        assert!(parse_stat("1 (x) S 1").is_none());
    }

    #[test]
    fn own_process_is_alive_and_pid_reuse_is_detected() {
        let me = std::process::id();
        let ticks = start_ticks(me).unwrap();
        assert!(is_alive(me, ticks));
        assert!(!is_alive(me, ticks + 1));
        assert!(!environ(me).is_empty());
        assert!(cwd(me).is_some());
    }

    #[test]
    fn executable_lookup() {
        assert_eq!(
            find_executable("sh", "/nonexistent:/bin", None),
            Some(PathBuf::from("/bin/sh"))
        );
        assert_eq!(
            find_executable("no-such-binary-xyz", "/bin:/usr/bin", None),
            None
        );
        assert_eq!(
            find_executable("/bin/sh", "", None),
            Some(PathBuf::from("/bin/sh"))
        );
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("data");
        std::fs::write(&plain, "not a program").unwrap();
        assert_eq!(find_executable(&plain.to_string_lossy(), "", None), None);
        assert_eq!(
            find_executable("data", &dir.path().to_string_lossy(), None),
            None
        );
        assert_eq!(
            find_executable("./sh", "", Some(Path::new("/bin"))),
            Some(PathBuf::from("/bin/./sh"))
        );
        assert_eq!(find_executable("", "/bin", None), None);
    }
}
