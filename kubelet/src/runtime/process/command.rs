//! Running the host helpers the process runtime is built on (`ip`, the CNI plugins, `mount`,
//! `nsenter`): bounded in time, with their output captured for error messages.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::runtime::RuntimeError;

/// How a helper ended.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stderr (or stdout when stderr is empty) as one trimmed line, for error messages.
    pub fn message(&self) -> String {
        let text = if self.stderr.iter().all(u8::is_ascii_whitespace) {
            &self.stdout
        } else {
            &self.stderr
        };
        String::from_utf8_lossy(text).trim().replace('\n', "; ")
    }
}

/// Runs `program args…` with extra environment and optional stdin, killing it after
/// `timeout`. A helper that cannot be started is an error; one that exits non-zero is not
/// (callers decide what its exit code means).
pub async fn run(
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output, RuntimeError> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(envs.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| RuntimeError::io(format!("running {program}"), e))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A helper that exits without reading its stdin is reported through its exit code.
        let _ = pipe.write_all(input).await;
        drop(pipe);
    }
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => Ok(Output {
            code: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        }),
        Ok(Err(e)) => Err(RuntimeError::io(format!("waiting for {program}"), e)),
        // kill_on_drop ends the helper when the timed-out future is dropped.
        Err(_) => Err(RuntimeError::Other(format!(
            "{program} {} did not finish within {timeout:?}",
            args.join(" ")
        ))),
    }
}

/// Like [`run`] but a non-zero exit is an error carrying the helper's message.
pub async fn run_ok(
    program: &str,
    args: &[&str],
    timeout: Duration,
) -> Result<Output, RuntimeError> {
    let out = run(program, args, &[], None, timeout).await?;
    if out.success() {
        Ok(out)
    } else {
        Err(RuntimeError::Other(format!(
            "{program} {} failed (exit {}): {}",
            args.join(" "),
            out.code
                .map_or_else(|| "by signal".to_string(), |c| c.to_string()),
            out.message()
        )))
    }
}
