//! Container probes as upstream's prober: one worker per (container, probe kind), each
//! waiting initialDelaySeconds, then probing every periodSeconds with timeoutSeconds, and
//! flipping its result after successThreshold consecutive successes or failureThreshold
//! consecutive failures. Readiness starts failed, liveness passed, startup unknown; liveness
//! and readiness wait until the startup probe has passed. Results land in [`ProbeResults`]
//! and wake the pod worker, which restarts containers whose liveness probe failed and
//! reports readiness in the Ready condition.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::events::{ObjectRef, Recorder};
use crate::runtime::Runtime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

#[derive(Debug, Clone, Default)]
struct Entry {
    container_id: String,
    liveness_failed: bool,
    readiness: bool,
    startup: bool,
}

/// Probe outcomes per container name, for the container instance they were taken on.
#[derive(Debug, Clone, Default)]
pub struct ProbeResults {
    inner: Arc<Mutex<HashMap<String, Entry>>>,
}

impl ProbeResults {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn reset(&self, container: &str, id: &str) {
        self.with(|m| {
            m.insert(
                container.to_string(),
                Entry {
                    container_id: id.to_string(),
                    ..Default::default()
                },
            )
        });
    }

    /// Sets a result; true when it changed.
    fn set(&self, container: &str, id: &str, kind: ProbeKind, ok: bool) -> bool {
        self.with(|m| {
            let Some(e) = m.get_mut(container).filter(|e| e.container_id == id) else {
                return false;
            };
            let slot = match kind {
                ProbeKind::Liveness => {
                    let failed = !ok;
                    let changed = e.liveness_failed != failed;
                    e.liveness_failed = failed;
                    return changed;
                }
                ProbeKind::Readiness => &mut e.readiness,
                ProbeKind::Startup => &mut e.startup,
            };
            let changed = *slot != ok;
            *slot = ok;
            changed
        })
    }

    /// Whether the readiness/startup probe of this container instance has passed.
    pub fn passed(&self, container: &str, id: &str, kind: ProbeKind) -> bool {
        self.with(|m| {
            m.get(container)
                .filter(|e| e.container_id == id)
                .is_some_and(|e| match kind {
                    ProbeKind::Liveness => !e.liveness_failed,
                    ProbeKind::Readiness => e.readiness,
                    ProbeKind::Startup => e.startup,
                })
        })
    }

    /// Whether the liveness (or startup) probe asked for a restart of this instance.
    pub fn liveness_failed(&self, container: &str, id: &str) -> bool {
        self.with(|m| {
            m.get(container)
                .filter(|e| e.container_id == id)
                .is_some_and(|e| e.liveness_failed)
        })
    }
}

/// The probe workers of one container instance; dropping it stops them.
pub struct Prober {
    _guard: DropGuard,
}

impl Prober {
    pub fn start(
        runtime: Arc<dyn Runtime>,
        c: &Container,
        container_id: String,
        pod_ip: IpAddr,
        results: ProbeResults,
        kick: Arc<Notify>,
        events: (Recorder, ObjectRef),
    ) -> Prober {
        let token = CancellationToken::new();
        results.reset(&c.name, &container_id);
        let has_startup = c.startup_probe.is_some();
        if !has_startup {
            results.set(&c.name, &container_id, ProbeKind::Startup, true);
        }
        for (kind, probe) in [
            (ProbeKind::Startup, &c.startup_probe),
            (ProbeKind::Liveness, &c.liveness_probe),
            (ProbeKind::Readiness, &c.readiness_probe),
        ] {
            let Some(probe) = probe.clone() else { continue };
            let worker = ProbeWorker {
                runtime: runtime.clone(),
                container: c.clone(),
                container_id: container_id.clone(),
                pod_ip,
                kind,
                probe,
                results: results.clone(),
                kick: kick.clone(),
                events: events.clone(),
            };
            let token = token.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = token.cancelled() => {}
                    _ = worker.run() => {}
                }
            });
        }
        Prober {
            _guard: token.drop_guard(),
        }
    }
}

struct ProbeWorker {
    runtime: Arc<dyn Runtime>,
    container: Container,
    container_id: String,
    pod_ip: IpAddr,
    kind: ProbeKind,
    probe: Probe,
    results: ProbeResults,
    kick: Arc<Notify>,
    /// Where Unhealthy events go, and the container they are about.
    events: (Recorder, ObjectRef),
}

fn secs(v: Option<i32>, default: i32, min: i32) -> Duration {
    Duration::from_secs(u64::try_from(v.unwrap_or(default).max(min)).unwrap_or(1))
}

impl ProbeWorker {
    async fn run(self) {
        let p = &self.probe;
        let period = secs(p.period_seconds, 10, 1);
        let timeout = secs(p.timeout_seconds, 1, 1);
        let success_threshold = p.success_threshold.unwrap_or(1).max(1);
        let failure_threshold = p.failure_threshold.unwrap_or(3).max(1);
        tokio::time::sleep(secs(p.initial_delay_seconds, 0, 0)).await;
        let (mut successes, mut failures) = (0, 0);
        let name = self.container.name.clone();
        loop {
            let startup_done = self
                .results
                .passed(&name, &self.container_id, ProbeKind::Startup);
            if self.kind == ProbeKind::Startup && startup_done {
                return;
            }
            if self.kind != ProbeKind::Startup && !startup_done {
                tokio::time::sleep(period).await;
                continue;
            }
            match run_probe(
                &*self.runtime,
                &self.container,
                &self.container_id,
                self.pod_ip,
                p,
                timeout,
            )
            .await
            {
                Ok(()) => {
                    successes += 1;
                    failures = 0;
                }
                Err(why) => {
                    tracing::debug!(container = %name, kind = ?self.kind, "probe failed: {why}");
                    // Upstream records every failed probe (not only the one that crosses the
                    // threshold); repeats are counted on one Event.
                    let kind = match self.kind {
                        ProbeKind::Liveness => "Liveness",
                        ProbeKind::Readiness => "Readiness",
                        ProbeKind::Startup => "Startup",
                    };
                    let (recorder, object) = &self.events;
                    recorder.warning(object, "Unhealthy", format!("{kind} probe failed: {why}"));
                    failures += 1;
                    successes = 0;
                }
            }
            let verdict = if successes >= success_threshold {
                Some(true)
            } else if failures >= failure_threshold {
                Some(false)
            } else {
                None
            };
            if let Some(ok) = verdict {
                // A failed startup probe kills the container just as a failed liveness one.
                let (kind, ok) = match (self.kind, ok) {
                    (ProbeKind::Startup, false) => (ProbeKind::Liveness, false),
                    other => other,
                };
                if self.results.set(&name, &self.container_id, kind, ok) {
                    self.kick.notify_one();
                }
                if kind == ProbeKind::Liveness && !ok {
                    // The container is about to be restarted; the new instance gets new workers.
                    return;
                }
            }
            tokio::time::sleep(period).await;
        }
    }
}

fn resolve_port(c: &Container, port: &IntOrString) -> Result<u16, String> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| format!("invalid port {n}")),
        IntOrString::String(name) => {
            if let Ok(n) = name.parse::<u16>() {
                return Ok(n);
            }
            c.ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok())
                .ok_or_else(|| format!("couldn't find port {name:?} in container {:?}", c.name))
        }
    }
}

/// Runs one probe; Ok means success.
pub async fn run_probe(
    runtime: &dyn Runtime,
    c: &Container,
    container_id: &str,
    pod_ip: IpAddr,
    p: &Probe,
    timeout: Duration,
) -> Result<(), String> {
    if let Some(exec) = &p.exec {
        let cmd = exec.command.clone().unwrap_or_default();
        let r = runtime
            .exec_sync(container_id, &cmd, timeout)
            .await
            .map_err(|e| e.to_string())?;
        return if r.exit_code == 0 {
            Ok(())
        } else {
            // Upstream reports the command's output; without any, say how it ended.
            let mut output = r.stdout;
            output.extend_from_slice(&r.stderr);
            let output = String::from_utf8_lossy(&output).trim().to_string();
            if output.is_empty() {
                Err(format!("command {cmd:?} exited with {}", r.exit_code))
            } else {
                Err(output)
            }
        };
    }
    if let Some(tcp) = &p.tcp_socket {
        let port = resolve_port(c, &tcp.port)?;
        let host: IpAddr = match tcp.host.as_deref() {
            Some(h) if !h.is_empty() => h.parse().map_err(|_| format!("invalid host {h:?}"))?,
            _ => pod_ip,
        };
        return tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port)))
            .await
            .map_err(|_| format!("dial tcp {host}:{port}: i/o timeout"))?
            .map(|_| ())
            .map_err(|e| format!("dial tcp {host}:{port}: {e}"));
    }
    if let Some(http) = &p.http_get {
        let port = resolve_port(c, &http.port)?;
        if http.scheme.as_deref() == Some("HTTPS") {
            return Err("HTTPS probes are not supported by this node agent yet".into());
        }
        let host: IpAddr = match http.host.as_deref() {
            Some(h) if !h.is_empty() => h.parse().map_err(|_| format!("invalid host {h:?}"))?,
            _ => pod_ip,
        };
        let path = http.path.clone().unwrap_or_else(|| "/".into());
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        let headers: String = http
            .http_headers
            .iter()
            .flatten()
            .map(|h| format!("{}: {}\r\n", h.name, h.value))
            .collect();
        let addr = SocketAddr::new(host, port);
        let fut = async move {
            let mut s = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| format!("dial tcp {addr}: {e}"))?;
            let req = format!(
                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n{headers}\r\n"
            );
            s.write_all(req.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            let mut buf = vec![0u8; 256];
            let mut got = 0;
            while got < 12 {
                let n = s.read(&mut buf[got..]).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                got += n;
            }
            let head = String::from_utf8_lossy(&buf[..got]);
            let code: u16 = head
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("malformed HTTP response {head:?}"))?;
            if (200..400).contains(&code) {
                Ok(())
            } else {
                Err(format!("HTTP probe failed with statuscode: {code}"))
            }
        };
        return tokio::time::timeout(timeout, fut).await.map_err(|_| {
            "context deadline exceeded (Client.Timeout exceeded while awaiting headers)".to_string()
        })?;
    }
    if p.grpc.is_some() {
        return Err("gRPC probes are not supported by this node agent".into());
    }
    Err("probe has no handler".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k8s_openapi::api::core::v1::{HTTPGetAction, TCPSocketAction};

    fn container() -> Container {
        Container {
            name: "c".into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn http_and_tcp_probes_against_a_real_listener() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut n = 0;
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let status = if n == 0 {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                };
                n += 1;
                let _ = s
                    .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        let rt = crate::runtime::simulated::SimulatedRuntime::new();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let http = Probe {
            http_get: Some(HTTPGetAction {
                port: IntOrString::Int(i32::from(port)),
                path: Some("/healthz".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let t = Duration::from_secs(2);
        assert!(
            run_probe(&rt, &container(), "x", ip, &http, t)
                .await
                .is_ok()
        );
        let err = run_probe(&rt, &container(), "x", ip, &http, t)
            .await
            .unwrap_err();
        assert!(err.contains("503"), "{err}");
        let tcp = Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::Int(i32::from(port)),
                host: None,
            }),
            ..Default::default()
        };
        assert!(run_probe(&rt, &container(), "x", ip, &tcp, t).await.is_ok());
        // A closed port fails.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        let tcp_closed = Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::Int(i32::from(closed_port)),
                host: None,
            }),
            ..Default::default()
        };
        assert!(
            run_probe(&rt, &container(), "x", ip, &tcp_closed, t)
                .await
                .is_err()
        );
    }

    #[test]
    fn named_ports_resolve() {
        let mut c = container();
        c.ports = Some(vec![k8s_openapi::api::core::v1::ContainerPort {
            name: Some("http".into()),
            container_port: 8080,
            ..Default::default()
        }]);
        assert_eq!(
            resolve_port(&c, &IntOrString::String("http".into())),
            Ok(8080)
        );
        assert!(resolve_port(&c, &IntOrString::String("grpc".into())).is_err());
    }
}
