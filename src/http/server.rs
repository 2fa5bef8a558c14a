//! The HTTP server around the app: workers, backlog and the connection limits
//! (`--max-connections`, `--client-timeout-ms`), shared by `main` and the tests.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, HttpServer};

use crate::config::NetLimits;
use crate::state::AppState;

/// Binds `addr` and returns the server (not yet polled) with the addresses it listens on.
///
/// A client must send its request head within `client_timeout_ms` (else 408 and the
/// connection is closed), idle keep-alive connections close after the same time, and each
/// worker holds at most `max_connections` connections (more wait in the backlog).
pub fn bind(
    state: web::Data<AppState>,
    addr: &str,
    workers: usize,
    net: &NetLimits,
) -> std::io::Result<(Server, Vec<SocketAddr>)> {
    let client_timeout = Duration::from_millis(net.client_timeout_ms);
    let server = HttpServer::new(move || crate::create_app(state.clone()))
        .workers(workers)
        .backlog(4096)
        .max_connections(net.max_connections)
        .client_request_timeout(client_timeout)
        .client_disconnect_timeout(Duration::from_secs(1))
        .keep_alive(client_timeout)
        .bind(addr)?;
    let addrs = server.addrs();
    Ok((server.run(), addrs))
}
