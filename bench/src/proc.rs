//! Processes the benchmarks start: each is killed by its PID when its guard is dropped, so an
//! error (or Ctrl-C, which drops the running benchmark) never leaves one behind.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context;

/// A child process with its output in `log`; SIGKILLed (by PID) and reaped on drop.
pub struct ChildGuard {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ChildGuard {
    /// Starts `command` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> anyhow::Result<Self> {
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let child = command
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", command.get_program()))?;
        eprintln!("# started {name}, pid {}", child.id());
        Ok(Self {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the end of the log if the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!(
                "{} exited early ({status}); end of its log:\n{}",
                self.name,
                self.log_tail()
            );
        }
        Ok(())
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // `Child::kill` sends SIGKILL to this child's PID only.
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("# stopped {} (pid {})", self.name, self.child.id());
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_S: f64 = 100.0;

/// CPU time used by named processes, and by the whole machine, over an interval (from /proc):
/// shows where a run's CPU went, and how much other load shared the machine with it.
pub struct CpuMeter {
    procs: Vec<(&'static str, u32, u64)>,
    machine_busy: u64,
    machine_total: u64,
}

impl CpuMeter {
    pub fn start(procs: &[(&'static str, u32)]) -> Self {
        let (machine_busy, machine_total) = machine_ticks();
        Self {
            procs: procs
                .iter()
                .map(|&(name, pid)| (name, pid, process_ticks(pid)))
                .collect(),
            machine_busy,
            machine_total,
        }
    }

    /// One line: CPU microseconds per operation for each process, and the cores the rest of
    /// the machine kept busy meanwhile.
    pub fn summary(&self, ops: u64, cores: f64) -> String {
        let (busy, total) = machine_ticks();
        let ops = ops.max(1) as f64;
        let mut ours = 0u64;
        let mut parts = Vec::new();
        for &(name, pid, before) in &self.procs {
            let used = process_ticks(pid).saturating_sub(before);
            ours += used;
            parts.push(format!(
                "{name} {:.0} us",
                used as f64 / TICKS_PER_S * 1e6 / ops
            ));
        }
        let elapsed_ticks = total.saturating_sub(self.machine_total) as f64 / cores.max(1.0);
        let busy_ticks = busy.saturating_sub(self.machine_busy);
        let other_cores = if elapsed_ticks > 0.0 {
            busy_ticks.saturating_sub(ours) as f64 / elapsed_ticks
        } else {
            0.0
        };
        let machine_cores = if elapsed_ticks > 0.0 {
            busy_ticks as f64 / elapsed_ticks
        } else {
            0.0
        };
        format!(
            "CPU per op: {}; machine {machine_cores:.2} of {cores:.0} cores busy, {other_cores:.2} by other processes",
            parts.join(", ")
        )
    }
}

/// utime + stime of `pid` in ticks (0 if it is gone); threads included.
fn process_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // The command name (field 2) may contain spaces; fields after its ')' are plain.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

/// (busy, total) ticks summed over all CPUs, from /proc/stat.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}
