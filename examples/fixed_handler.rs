//! The HTTP ceiling for `scripts/bench-http.sh`: an actix-web server that answers every
//! GET or POST, on any path, with the same small FHIR `Parameters` body.
//!
//! ```text
//! cargo run --release --example fixed_handler -- --addr 127.0.0.1:8081
//! ```
//!
//! It is set up like `nosterm serve` (one worker per core, same backlog) and does no
//! terminology work at all, so `nosterm req/s ÷ fixed_handler req/s` under the same load
//! says how much of the machine's HTTP capacity the real operations leave.
//! Prints `listening on http://ADDR/` once bound.

use actix_web::{http::header, web, App, HttpResponse, HttpServer};

/// The allocator of the `nosterm` binary, so the ceiling is measured on the same runtime.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A `$validate-code`-like answer, about 200 bytes, as nosterm would render it.
const BODY: &str = concat!(
    r#"{"resourceType":"Parameters","parameter":["#,
    r#"{"name":"result","valueBoolean":true},"#,
    r#"{"name":"code","valueCode":"11488-4"},"#,
    r#"{"name":"system","valueUri":"http://loinc.org"},"#,
    r#"{"name":"display","valueString":"Compte rendu de consultation"}]}"#,
);

/// Reads the request body (POSTs carry a `Parameters`), then answers the fixed body.
async fn fixed(_body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/fhir+json; charset=utf-8"))
        .body(BODY)
}

fn parse_addr() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:8081");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs a value")?,
            other => match other.strip_prefix("--addr=") {
                Some(value) => addr = value.to_string(),
                None => {
                    return Err(format!(
                        "unknown argument {other:?}; usage: --addr HOST:PORT"
                    ))
                }
            },
        }
    }
    Ok(addr)
}

fn main() -> std::process::ExitCode {
    let addr = match parse_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fixed_handler: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let result = actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| App::new().default_service(web::to(fixed)))
            .workers(workers)
            .backlog(4096)
            .bind(&addr)?;
        let addrs = server.addrs();
        let running = server.run();
        for a in addrs {
            println!("listening on http://{a}/");
        }
        running.await
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fixed_handler: server error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
