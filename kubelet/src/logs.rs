//! Container logs for `/containerLogs`: files in the CRI logging format (see
//! `runtime` module comment) under `<root>/logs/<ns>_<pod>_<uid>/<container>/<attempt>.log`,
//! read with upstream's options: tailLines, sinceSeconds/sinceTime, timestamps, limitBytes,
//! previous and follow.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

/// Options of a log request, as PodLogOptions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogOptions {
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<usize>,
    pub since: Option<DateTime<Utc>>,
    pub limit_bytes: Option<u64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LogError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
}

impl LogOptions {
    /// Parses the query parameters of a log request.
    pub fn from_query<'a>(
        params: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, LogError> {
        let mut o = LogOptions::default();
        let flag = |v: &str| matches!(v, "true" | "1" | "True");
        for (k, v) in params {
            let bad = |what: &str| LogError::BadRequest(format!("invalid {what} {v:?}"));
            match k {
                "follow" => o.follow = flag(v),
                "previous" => o.previous = flag(v),
                "timestamps" => o.timestamps = flag(v),
                "tailLines" => {
                    let n: i64 = v.parse().map_err(|_| bad("tailLines"))?;
                    if n < 0 {
                        return Err(LogError::BadRequest(
                            "tailLines: must be greater than or equal to 0".into(),
                        ));
                    }
                    o.tail_lines = Some(usize::try_from(n).unwrap_or(usize::MAX));
                }
                "sinceSeconds" => {
                    let n: i64 = v.parse().map_err(|_| bad("sinceSeconds"))?;
                    if n < 1 {
                        return Err(LogError::BadRequest(
                            "sinceSeconds: must be greater than 0".into(),
                        ));
                    }
                    o.since = Some(Utc::now() - chrono::Duration::seconds(n));
                }
                "sinceTime" => {
                    let t = DateTime::parse_from_rfc3339(v).map_err(|_| bad("sinceTime"))?;
                    o.since = Some(t.with_timezone(&Utc));
                }
                "limitBytes" => {
                    let n: i64 = v.parse().map_err(|_| bad("limitBytes"))?;
                    if n < 1 {
                        return Err(LogError::BadRequest(
                            "limitBytes: must be greater than 0".into(),
                        ));
                    }
                    o.limit_bytes = Some(n.unsigned_abs());
                }
                _ => {}
            }
        }
        Ok(o)
    }
}

/// One parsed log line.
#[derive(Debug, PartialEq)]
struct Line<'a> {
    time: Option<DateTime<Utc>>,
    raw_time: &'a str,
    content: &'a str,
    partial: bool,
}

/// Parses `<time> <stream> <P|F> <content>`; anything else is content without a time.
fn parse_line(line: &str) -> Line<'_> {
    let mut parts = line.splitn(4, ' ');
    if let (Some(t), Some(stream), Some(tag)) = (parts.next(), parts.next(), parts.next())
        && matches!(stream, "stdout" | "stderr")
        && let Ok(time) = DateTime::parse_from_rfc3339(t)
    {
        let content = parts.next().unwrap_or("");
        return Line {
            time: Some(time.with_timezone(&Utc)),
            raw_time: t,
            content,
            partial: tag.split(':').any(|x| x == "P"),
        };
    }
    Line {
        time: None,
        raw_time: "",
        content: line,
        partial: false,
    }
}

fn render(line: &Line, timestamps: bool, out: &mut Vec<u8>) {
    if timestamps && !line.raw_time.is_empty() {
        out.extend_from_slice(line.raw_time.as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(line.content.as_bytes());
    if !line.partial {
        out.push(b'\n');
    }
}

/// Renders complete lines of `text` that pass the `since` filter, keeping only the last
/// `tail` lines when asked.
fn render_all(text: &str, opts: &LogOptions) -> Vec<u8> {
    let lines: Vec<Line> = text
        .split_terminator('\n')
        .map(parse_line)
        .filter(|l| match (opts.since, l.time) {
            (Some(since), Some(t)) => t >= since,
            _ => true,
        })
        .collect();
    let skip = opts.tail_lines.map_or(0, |n| lines.len().saturating_sub(n));
    let mut out = Vec::new();
    for l in &lines[skip..] {
        render(l, opts.timestamps, &mut out);
    }
    out
}

/// Attempt files of a container directory, oldest first.
fn attempts(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut v: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: u64 = name.strip_suffix(".log")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    v.sort();
    v
}

/// The log file for a container of a pod: newest pod directory of that name (a pod recreated
/// under the same name gets a new uid), newest attempt, or the one before with `previous`.
pub fn find_log(
    logs_root: &Path,
    namespace: &str,
    pod: &str,
    container: &str,
    previous: bool,
) -> Result<PathBuf, LogError> {
    let prefix = format!("{namespace}_{pod}_");
    let pod_dir = std::fs::read_dir(logs_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .is_some_and(|uid| !uid.contains('_'))
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
        .ok_or_else(|| {
            LogError::NotFound(format!(
                "pod \"{pod}\" in namespace \"{namespace}\" not found on this node"
            ))
        })?;
    let list = attempts(&pod_dir.join(container));
    let pick = if previous {
        list.len().checked_sub(2).and_then(|i| list.get(i))
    } else {
        list.last()
    };
    pick.map(|(_, p)| p.clone()).ok_or_else(|| {
        LogError::NotFound(if previous {
            format!("previous terminated container \"{container}\" in pod \"{pod}\" not found")
        } else {
            format!("container \"{container}\" in pod \"{pod}\" has no logs yet")
        })
    })
}

/// Whether a newer attempt than `path` exists in its directory (the container restarted).
fn superseded(path: &Path) -> bool {
    let mine = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".log"))
        .and_then(|n| n.parse::<u64>().ok());
    match (mine, path.parent()) {
        (Some(mine), Some(dir)) => attempts(dir).last().is_some_and(|(n, _)| *n > mine),
        _ => true,
    }
}

/// Streams the log through `tx`. With `follow`, keeps reading new lines until `alive`
/// says the container stopped (and everything written was sent), a newer attempt appears,
/// the receiver goes away or the byte limit is reached.
pub async fn stream_log<F, Fut>(path: PathBuf, opts: LogOptions, tx: mpsc::Sender<Bytes>, alive: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let Ok(mut file) = tokio::fs::File::open(&path).await else {
        return;
    };
    let mut budget = opts.limit_bytes.unwrap_or(u64::MAX);
    fn take(budget: &mut u64, mut chunk: Vec<u8>) -> Vec<u8> {
        let room = usize::try_from(*budget).unwrap_or(usize::MAX);
        chunk.truncate(room);
        *budget -= chunk.len() as u64;
        chunk
    }
    let mut data = Vec::new();
    if file.read_to_end(&mut data).await.is_err() {
        return;
    }
    // Only complete lines now; an unterminated tail is kept for the next read.
    let cut = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut pending = data.split_off(cut);
    let first = take(
        &mut budget,
        render_all(&String::from_utf8_lossy(&data), &opts),
    );
    if !first.is_empty() && tx.send(Bytes::from(first)).await.is_err() {
        return;
    }
    if !opts.follow {
        if !pending.is_empty() && budget > 0 {
            let rest = take(
                &mut budget,
                render_all(&String::from_utf8_lossy(&pending), &opts),
            );
            let _ = tx.send(Bytes::from(rest)).await;
        }
        return;
    }
    // tailLines applies to what exists; new lines all follow.
    let follow_opts = LogOptions {
        tail_lines: None,
        ..opts.clone()
    };
    let mut idle_checks = 0u32;
    loop {
        if budget == 0 || tx.is_closed() {
            return;
        }
        let mut more = Vec::new();
        if file.read_to_end(&mut more).await.is_err() {
            return;
        }
        if more.is_empty() {
            idle_checks += 1;
            // Checking liveness every ~second is enough; reading is every 100 ms.
            if idle_checks.is_multiple_of(10) && (superseded(&path) || !alive().await) {
                // One last read for anything written just before the exit.
                let mut last = Vec::new();
                let _ = file.read_to_end(&mut last).await;
                pending.extend_from_slice(&last);
                if !pending.is_empty() {
                    if !pending.ends_with(b"\n") {
                        pending.push(b'\n');
                    }
                    let chunk = take(
                        &mut budget,
                        render_all(&String::from_utf8_lossy(&pending), &follow_opts),
                    );
                    let _ = tx.send(Bytes::from(chunk)).await;
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        pending.extend_from_slice(&more);
        let cut = pending
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let rest = pending.split_off(cut);
        let chunk = take(
            &mut budget,
            render_all(&String::from_utf8_lossy(&pending), &follow_opts),
        );
        pending = rest;
        if !chunk.is_empty() && tx.send(Bytes::from(chunk)).await.is_err() {
            return;
        }
        // A truncated-and-rewritten file would make our offset point past its end.
        if let (Ok(pos), Ok(meta)) = (file.stream_position().await, file.metadata().await)
            && meta.len() < pos
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LOG: &str = "2026-01-01T00:00:00.000000001Z stdout F one\n\
2026-01-01T00:00:01.5Z stderr F two\n\
2026-01-01T00:00:02Z stdout P thr\n\
2026-01-01T00:00:02Z stdout F ee\n\
plain line\n";

    #[test]
    fn render_options() {
        let cases: Vec<(LogOptions, &str)> = vec![
            (LogOptions::default(), "one\ntwo\nthree\nplain line\n"),
            (
                LogOptions {
                    tail_lines: Some(2),
                    ..Default::default()
                },
                "ee\nplain line\n",
            ),
            (
                LogOptions {
                    timestamps: true,
                    tail_lines: Some(5),
                    ..Default::default()
                },
                "2026-01-01T00:00:00.000000001Z one\n2026-01-01T00:00:01.5Z two\n2026-01-01T00:00:02Z thr2026-01-01T00:00:02Z ee\nplain line\n",
            ),
            (
                LogOptions {
                    since: Some("2026-01-01T00:00:01Z".parse().unwrap()),
                    ..Default::default()
                },
                "two\nthree\nplain line\n",
            ),
        ];
        for (opts, want) in cases {
            assert_eq!(
                String::from_utf8(render_all(LOG, &opts)).unwrap(),
                want,
                "{opts:?}"
            );
        }
    }

    #[test]
    fn query_parsing() {
        let q = [
            ("tailLines", "3"),
            ("timestamps", "true"),
            ("limitBytes", "10"),
        ];
        let o = LogOptions::from_query(q.into_iter()).unwrap();
        assert_eq!(
            (o.tail_lines, o.timestamps, o.limit_bytes),
            (Some(3), true, Some(10))
        );
        assert!(LogOptions::from_query([("tailLines", "-1")].into_iter()).is_err());
        assert!(LogOptions::from_query([("sinceSeconds", "x")].into_iter()).is_err());
    }

    #[tokio::test]
    async fn files_attempts_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("default_web_uid1").join("app");
        std::fs::create_dir_all(&c).unwrap();
        std::fs::write(c.join("0.log"), "2026-01-01T00:00:00Z stdout F first run\n").unwrap();
        std::fs::write(c.join("1.log"), LOG).unwrap();
        let cur = find_log(dir.path(), "default", "web", "app", false).unwrap();
        assert!(cur.ends_with("1.log"));
        let prev = find_log(dir.path(), "default", "web", "app", true).unwrap();
        assert!(prev.ends_with("0.log"));
        assert!(matches!(
            find_log(dir.path(), "default", "other", "app", false),
            Err(LogError::NotFound(_))
        ));
        let (tx, mut rx) = mpsc::channel(8);
        let opts = LogOptions {
            limit_bytes: Some(6),
            ..Default::default()
        };
        stream_log(cur, opts, tx, || async { false }).await;
        let mut got = Vec::new();
        while let Some(b) = rx.recv().await {
            got.extend_from_slice(&b);
        }
        assert_eq!(got, b"one\ntw");
    }

    #[tokio::test]
    async fn follow_sees_new_lines_until_the_container_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(&path, "2026-01-01T00:00:00Z stdout F a\n").unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let alive = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = alive.clone();
        let task = tokio::spawn(stream_log(
            path.clone(),
            LogOptions {
                follow: true,
                ..Default::default()
            },
            tx,
            move || {
                let flag = flag.clone();
                async move { flag.load(std::sync::atomic::Ordering::SeqCst) }
            },
        ));
        assert_eq!(&rx.recv().await.unwrap()[..], b"a\n");
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"2026-01-01T00:00:01Z stdout F b\n").unwrap();
        assert_eq!(&rx.recv().await.unwrap()[..], b"b\n");
        alive.store(false, std::sync::atomic::Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
