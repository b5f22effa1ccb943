//! The README's walk-through, run as written: the command of its "Walk-through" section that
//! starts the cluster (with `./scripts/up` replaced by the already built binary, and the port
//! and data dir moved to free ones so tests can run side by side), then every command of the
//! block that follows it, in one shell, stopping at the first failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::apiserver::{binary, free_port};

/// The fenced code blocks of the README section that starts with `heading`.
fn section_blocks(readme: &str, heading: &str) -> Vec<Vec<String>> {
    let start = readme
        .find(heading)
        .expect("README has the walk-through section");
    let section = &readme[start + heading.len()..];
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in section.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(b) => blocks.push(b),
                None => current = Some(Vec::new()),
            }
        } else if let Some(b) = current.as_mut() {
            b.push(line.to_string());
        }
    }
    blocks
}

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn readme_walkthrough_runs_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let blocks = section_blocks(&readme, "## Walk-through");
    assert!(
        blocks.len() >= 2,
        "the walk-through has a start command and a command block"
    );
    let start_cmd = blocks[0].join(" ");
    assert!(
        start_cmd.contains("./scripts/up"),
        "the walk-through starts with ./scripts/up: {start_cmd}"
    );
    let demo_dir = "/tmp/ferrokube-demo";
    assert!(start_cmd.contains(demo_dir));

    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("demo");
    let port = free_port().unwrap().to_string();
    let args: Vec<String> = start_cmd
        .split_whitespace()
        .skip(1)
        .map(|a| {
            a.replace(demo_dir, data_dir.to_str().unwrap())
                .replace("6443", &port)
        })
        .collect();
    let log = std::fs::File::create(tmp.path().join("up.log")).unwrap();
    let child = Command::new(binary("ferrokube").unwrap())
        .arg("up")
        .args(&args)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let _guard = Killed(child);
    let kubeconfig = data_dir.join("kubeconfig");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !kubeconfig.exists() {
        assert!(
            Instant::now() < deadline,
            "ferrokube up did not become ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let script = blocks[1]
        .iter()
        .map(|l| l.replace(demo_dir, data_dir.to_str().unwrap()))
        .collect::<Vec<_>>()
        .join("\n");
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the walk-through did not finish in time");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success(),
        "walk-through failed:\nstdout:\n{out}\nstderr:\n{err}"
    );
    // What the walk-through shows a reader.
    assert!(
        out.contains("deployment.apps/nginx-deployment created"),
        "{out}"
    );
    assert!(out.contains("25%"), "defaulted maxSurge: {out}");
    assert!(
        out.contains("deployment.apps/nginx-deployment scaled"),
        "{out}"
    );
    assert!(out.contains("hello"), "configmap data: {out}");
    assert!(out.contains("apiserver_request_total"), "metrics: {out}");
}
