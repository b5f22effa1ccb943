//! Container output to CRI-format log files.
//!
//! A container's stdout and stderr are named pipes (FIFOs) in its state directory, opened
//! read-write on the container side, so the container never gets EPIPE while the agent is
//! down: its writes wait in the pipe (and block once the pipe buffer is full, as with
//! containerd when its shim is not draining). The agent reads both pipes and appends each line
//! to the log file as `<RFC 3339 nano timestamp> <stdout|stderr> <F|P> <content>`, the format
//! `/containerLogs` reads. A restarted agent opens the same pipes again and carries on.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::runtime::RuntimeError;

/// Lines longer than this are split into partial (`P`) entries, as containerd does (16 KiB).
pub const MAX_LINE: usize = 16 * 1024;

/// The two FIFOs of a container instance.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fifos {
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Fifos {
    /// Creates `stdout` and `stderr` FIFOs in `dir` (reusing existing ones).
    pub fn create(dir: &Path) -> Result<Fifos, RuntimeError> {
        let fifos = Fifos {
            stdout: dir.join("stdout"),
            stderr: dir.join("stderr"),
        };
        for p in [&fifos.stdout, &fifos.stderr] {
            match nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => {
                    return Err(RuntimeError::io(
                        format!("creating fifo {}", p.display()),
                        std::io::Error::from(e),
                    ));
                }
            }
        }
        Ok(fifos)
    }

    /// The container's ends: opened read-write, so opening never waits for a reader and the
    /// pipe always has one (see the module comment).
    pub fn container_ends(&self) -> Result<(std::fs::File, std::fs::File), RuntimeError> {
        let open = |p: &Path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(p)
                .map_err(|e| RuntimeError::io(format!("opening fifo {}", p.display()), e))
        };
        Ok((open(&self.stdout)?, open(&self.stderr)?))
    }
}

/// Copies a container's output into its log file until told the container has exited.
pub struct LogCopier {
    exited: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl LogCopier {
    /// Starts copying from `fifos` to `log_path` (appending).
    pub fn start(fifos: &Fifos, log_path: &Path) -> Result<LogCopier, RuntimeError> {
        let open = |p: &Path| {
            pipe::OpenOptions::new()
                .read_write(true)
                .open_receiver(p)
                .map_err(|e| RuntimeError::io(format!("opening fifo {}", p.display()), e))
        };
        let out = open(&fifos.stdout)?;
        let err = open(&fifos.stderr)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(|e| RuntimeError::io(format!("opening log {}", log_path.display()), e))?;
        let (exited, rx) = watch::channel(false);
        let log_path = log_path.to_path_buf();
        let task = tokio::spawn(async move {
            if let Err(e) = copy(out, err, tokio::fs::File::from_std(file), rx).await {
                tracing::warn!(log = %log_path.display(), error = %e, "container log copy failed");
            }
        });
        Ok(LogCopier { exited, task })
    }

    /// Tells the copier the container has exited: it drains what is left in the pipes and
    /// ends. Waits (bounded) for that.
    pub async fn finish(self) {
        let _ = self.exited.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

struct Stream {
    name: &'static str,
    rx: pipe::Receiver,
    pending: Vec<u8>,
    open: bool,
}

async fn copy(
    out: pipe::Receiver,
    err: pipe::Receiver,
    mut file: tokio::fs::File,
    mut exited: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut streams = [
        Stream {
            name: "stdout",
            rx: out,
            pending: Vec::new(),
            open: true,
        },
        Stream {
            name: "stderr",
            rx: err,
            pending: Vec::new(),
            open: true,
        },
    ];
    let mut buf_out = vec![0u8; 64 * 1024];
    let mut buf_err = vec![0u8; 64 * 1024];
    let mut lines = Vec::new();
    loop {
        let [s_out, s_err] = &mut streams;
        // Both reads are cancel-safe: a read that loses the race consumed nothing.
        tokio::select! {
            n = s_out.rx.read(&mut buf_out), if s_out.open => {
                match n {
                    Ok(0) | Err(_) => s_out.open = false,
                    Ok(n) => format_lines(s_out.name, Utc::now(), &mut s_out.pending, &buf_out[..n], &mut lines),
                }
            }
            n = s_err.rx.read(&mut buf_err), if s_err.open => {
                match n {
                    Ok(0) | Err(_) => s_err.open = false,
                    Ok(n) => format_lines(s_err.name, Utc::now(), &mut s_err.pending, &buf_err[..n], &mut lines),
                }
            }
            changed = exited.changed() => {
                if changed.is_err() || *exited.borrow() {
                    break;
                }
            }
        }
        if !lines.is_empty() {
            file.write_all(&lines).await?;
            lines.clear();
        }
    }
    // The container has exited, so nothing more can arrive: take what is buffered in the
    // pipes and end every unfinished line.
    for (s, buf) in streams.iter_mut().zip([&mut buf_out, &mut buf_err]) {
        loop {
            match s.rx.try_read(buf) {
                Ok(0) => break,
                Ok(n) => format_lines(s.name, Utc::now(), &mut s.pending, &buf[..n], &mut lines),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        flush_pending(s.name, Utc::now(), &mut s.pending, &mut lines);
    }
    file.write_all(&lines).await?;
    file.flush().await
}

fn timestamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn entry(stream: &str, ts: &str, tag: char, content: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(ts.as_bytes());
    out.push(b' ');
    out.extend_from_slice(stream.as_bytes());
    out.push(b' ');
    out.push(tag as u8);
    out.push(b' ');
    out.extend_from_slice(content);
    out.push(b'\n');
}

/// Appends CRI log entries for the complete lines in `pending + data` to `out`; an
/// unfinished line stays in `pending` unless it reached [`MAX_LINE`], when it is written as
/// a partial entry.
pub fn format_lines(
    stream: &str,
    now: DateTime<Utc>,
    pending: &mut Vec<u8>,
    data: &[u8],
    out: &mut Vec<u8>,
) {
    pending.extend_from_slice(data);
    let ts = timestamp(now);
    let mut start = 0;
    while let Some(nl) = pending[start..].iter().position(|b| *b == b'\n') {
        let mut line = &pending[start..start + nl];
        // Lines longer than MAX_LINE are split, their last piece being the full entry.
        while line.len() > MAX_LINE {
            entry(stream, &ts, 'P', &line[..MAX_LINE], out);
            line = &line[MAX_LINE..];
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        entry(stream, &ts, 'F', line, out);
        start += nl + 1;
    }
    while pending.len() - start >= MAX_LINE {
        entry(stream, &ts, 'P', &pending[start..start + MAX_LINE], out);
        start += MAX_LINE;
    }
    pending.drain(..start);
}

/// Writes an unfinished last line as a full entry (as containerd does at end of stream).
pub fn flush_pending(stream: &str, now: DateTime<Utc>, pending: &mut Vec<u8>, out: &mut Vec<u8>) {
    if !pending.is_empty() {
        entry(stream, &timestamp(now), 'F', pending, out);
        pending.clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456789Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn lines_are_framed() {
        const TS: &str = "2026-01-02T03:04:05.123456789Z";
        let long = "x".repeat(MAX_LINE + 10);
        let cases: Vec<(&str, Vec<&[u8]>, String, &str)> = vec![
            (
                "two full lines",
                vec![b"a\nb\n"],
                format!("{TS} stdout F a\n{TS} stdout F b\n"),
                "",
            ),
            (
                "line split across writes",
                vec![b"hel", b"lo\nwor"],
                format!("{TS} stdout F hello\n"),
                "wor",
            ),
            ("crlf", vec![b"dos\r\n"], format!("{TS} stdout F dos\n"), ""),
            ("empty line", vec![b"\n"], format!("{TS} stdout F \n"), ""),
            (
                "long line",
                vec![long.as_bytes(), b"\n"],
                format!(
                    "{TS} stdout P {}\n{TS} stdout F xxxxxxxxxx\n",
                    "x".repeat(MAX_LINE)
                ),
                "",
            ),
        ];
        for (name, writes, want, want_pending) in cases {
            let mut pending = Vec::new();
            let mut out = Vec::new();
            for w in writes {
                format_lines("stdout", at(), &mut pending, w, &mut out);
            }
            assert_eq!(String::from_utf8(out).unwrap(), want, "{name}");
            assert_eq!(String::from_utf8(pending).unwrap(), want_pending, "{name}");
        }
    }

    #[test]
    fn unfinished_line_is_flushed_full() {
        let mut pending = b"tail".to_vec();
        let mut out = Vec::new();
        flush_pending("stderr", at(), &mut pending, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-01-02T03:04:05.123456789Z stderr F tail\n"
        );
        assert!(pending.is_empty());
    }

    #[tokio::test]
    async fn copies_from_fifos_and_drains_on_exit() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let fifos = Fifos::create(dir.path()).unwrap();
        let log = dir.path().join("0.log");
        let copier = LogCopier::start(&fifos, &log).unwrap();
        let (mut out, mut err) = fifos.container_ends().unwrap();
        out.write_all(b"one\ntwo").unwrap();
        err.write_all(b"oops\n").unwrap();
        drop((out, err));
        tokio::time::sleep(Duration::from_millis(100)).await;
        copier.finish().await;
        let text = std::fs::read_to_string(&log).unwrap();
        let entries: Vec<(&str, &str)> = text
            .lines()
            .map(|l| {
                let mut parts = l.splitn(4, ' ');
                let ts = parts.next().unwrap();
                assert!(DateTime::parse_from_rfc3339(ts).is_ok(), "{l}");
                let stream = parts.next().unwrap();
                assert_eq!(parts.next().unwrap(), "F");
                (stream, parts.next().unwrap())
            })
            .collect();
        assert!(entries.contains(&("stdout", "one")), "{text}");
        assert!(entries.contains(&("stdout", "two")), "{text}");
        assert!(entries.contains(&("stderr", "oops")), "{text}");
    }
}
