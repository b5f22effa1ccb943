//! Logging set-up shared by the binaries: text or JSON lines on stderr, filtered by RUST_LOG
//! (default `info`).

/// Installs the global tracing subscriber. A second call (several components in one
/// process, as `ferrokube up` runs them) leaves the first one in place.
pub fn init(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // try_init: an already installed subscriber is not an error here.
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
