//! HTTP: actix-web routes and thin handlers (parse → call ops → render).

mod admin;
mod metadata;
mod observe;
mod operations;
mod request;
mod resources;
pub mod server;
mod svs;
mod ui;

/// What the `operations` fuzz target (`fuzz/`) drives: an operation answered without a
/// server. Not an API for anything else.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::operations::answer_in_place;
    pub use super::request::RequestHead;
}

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, ResponseError};
use serde_json::Value;

use crate::error::Error;
use crate::fhir::outcome::error_json;
use crate::state::AppState;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// A FHIR JSON response.
pub fn fhir_response(status: StatusCode, body: &Value) -> HttpResponse {
    // `to_vec` writes bytes directly (`to_string` goes through `fmt::Write`, a third slower).
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    HttpResponse::build(status)
        .content_type(FHIR_JSON)
        .body(bytes)
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
    fn error_response(&self) -> HttpResponse {
        let mut resp = fhir_response(self.status_code(), &error_json(self));
        if matches!(self, Error::Unauthorized(_)) {
            resp.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, Error> {
    Err(Error::NotFound(format!(
        "No FHIR endpoint at {} {}",
        req.method(),
        req.path()
    )))
}

async fn read_only() -> Result<HttpResponse, Error> {
    Err(Error::MethodNotAllowed(
        "This terminology server is read-only: create, update and delete are not supported".into(),
    ))
}

async fn not_ready() -> Result<HttpResponse, Error> {
    Err(Error::Unavailable(
        "The terminology data is still loading; retry shortly".into(),
    ))
}

/// True until the first data load is complete: `/fhir` then answers 503.
fn loading(ctx: &actix_web::guard::GuardContext) -> bool {
    ctx.app_data::<web::Data<AppState>>()
        .is_some_and(|s| !s.is_ready())
}

/// Routes under `/fhir`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/fhir")
            .guard(actix_web::guard::fn_guard(loading))
            .default_service(web::to(not_ready)),
    );
    cfg.service(
        web::scope("/fhir")
            .route("/metadata", web::get().to(metadata::metadata))
            .route("/$versions", web::get().to(metadata::versions))
            .route("/$versions", web::post().to(metadata::versions))
            .configure(operations::type_level_routes)
            // One resource per path, its methods as routes: a path pattern with parameters is
            // matched by a regex, once per resource tried (a measurable share of a look-up).
            .service(
                web::resource("/{rtype}")
                    .route(web::get().to(resources::search))
                    .route(web::post().to(read_only))
                    .default_service(web::to(not_found)),
            )
            .service(
                web::resource("/{rtype}/{id}")
                    .route(web::get().to(operations::get_resource_or_op))
                    .route(web::post().to(operations::post_op))
                    .route(web::put().to(read_only))
                    .route(web::delete().to(read_only))
                    .route(web::patch().to(read_only))
                    .default_service(web::to(not_found)),
            )
            .service(
                web::resource("/{rtype}/{id}/{op}")
                    .route(web::get().to(operations::instance_op))
                    .route(web::post().to(operations::instance_op))
                    .default_service(web::to(not_found)),
            )
            .default_service(web::to(not_found)),
    );
}

/// The one place the HTTP app is assembled (used by `main` and by the integration tests).
pub fn create_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let admin = state.config.admin_token.is_some();
    App::new()
        .wrap(actix_web::middleware::from_fn(observe::observe))
        .app_data(state)
        .app_data(
            web::QueryConfig::default().error_handler(|e, _| {
                Error::Invalid(format!("Malformed query string: {e}")).into()
            }),
        )
        .configure(configure)
        .configure(|cfg| admin::configure(cfg, admin))
        .configure(svs::configure)
        .configure(ui::configure)
        .configure(observe::configure)
        .default_service(web::to(not_found))
}
