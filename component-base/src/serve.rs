//! The health and metrics endpoints every component serves: /healthz, /livez, /readyz
//! answer `ok`, /metrics the Prometheus text format.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

/// The server stopped for a reason other than shutdown.
#[derive(Debug, thiserror::Error)]
#[error("health and metrics server: {0}")]
pub struct Error(#[from] std::io::Error);

/// Serves until `shutdown` is cancelled.
pub async fn serve_health_and_metrics(
    listener: tokio::net::TcpListener,
    registry: impl Into<Arc<Registry>>,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let app = router(registry.into());
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/healthz", get(ok))
        .route("/livez", get(ok))
        .route("/readyz", get(ok))
        .route("/metrics", get(metrics))
        .with_state(registry)
}

async fn ok() -> &'static str {
    "ok"
}

async fn metrics(State(registry): State<Arc<Registry>>) -> Response {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics: {e}"),
        )
            .into_response(),
    }
}
