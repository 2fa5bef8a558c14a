//! The answer cache (`nosterm::answers`): a question asked again gets exactly the answer a
//! server without the cache gives, whatever the headers and bodies that change an answer.

mod common;
use common::{data_dir, enc};

use actix_web::{test, web};
use nosterm::config::AppConfig;
use nosterm::state::AppState;

const A08: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_A08-HL7Confidentiality/FHIR/TRE-A08-HL7Confidentiality";
const J08: &str = "https://mos.esante.gouv.fr/NOS/JDV_J08-XdsConfidentialityCode-CISIS/FHIR/JDV-J08-XdsConfidentialityCode-CISIS";
const R10: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R10-SexeAdministratif/FHIR/TRE-R10-SexeAdministratif";

fn state(answer_cache_bytes: u64) -> web::Data<AppState> {
    let config = AppConfig {
        answer_cache_bytes,
        ..AppConfig::default()
    };
    match AppState::load(&data_dir(), config) {
        Ok(s) => web::Data::new(s),
        Err(errors) => panic!("shipped data must load: {errors:?}"),
    }
}

/// One request: method, URI, headers, body.
struct Ask {
    post: bool,
    uri: String,
    headers: Vec<(&'static str, &'static str)>,
    body: String,
}

fn get(uri: String) -> Ask {
    Ask {
        post: false,
        uri,
        headers: Vec::new(),
        body: String::new(),
    }
}

fn questions() -> Vec<Ask> {
    let mut out = Vec::new();
    for (system, codes) in [(A08, ["N", "R", "V", "ZZ"]), (R10, ["F", "M", "U", "ZZ"])] {
        for code in codes {
            let (s, c) = (enc(system), enc(code));
            out.push(get(format!(
                "/fhir/CodeSystem/$validate-code?url={s}&code={c}"
            )));
            out.push(get(format!(
                "/fhir/CodeSystem/$validate-code?url={s}&code={c}&display=Normal"
            )));
            out.push(get(format!("/fhir/CodeSystem/$lookup?system={s}&code={c}")));
            for lang in ["en", "fr-FR", "de"] {
                let mut ask = get(format!("/fhir/CodeSystem/$lookup?system={s}&code={c}"));
                ask.headers.push(("accept-language", lang));
                out.push(ask);
            }
            out.push(get(format!(
                "/fhir/ValueSet/$validate-code?url={}&system={s}&code={c}",
                enc(J08)
            )));
            let body = serde_json::json!({"resourceType": "Parameters", "parameter": [
                {"name": "url", "valueUri": J08},
                {"name": "coding", "valueCoding": {"system": system, "code": code}}]});
            for ctype in ["application/fhir+json", "application/json"] {
                out.push(Ask {
                    post: true,
                    uri: "/fhir/ValueSet/$validate-code".into(),
                    headers: vec![("content-type", ctype)],
                    body: body.to_string(),
                });
            }
            // The same parameters as a form: a different body, a different question.
            out.push(Ask {
                post: true,
                uri: "/fhir/ValueSet/$validate-code".into(),
                headers: vec![("content-type", "application/x-www-form-urlencoded")],
                body: format!("url={}&system={s}&code={c}", enc(J08)),
            });
        }
    }
    // Expansion pages made on the worker, with the header that lowers the expansion limit.
    for filter in ["res", "norm", "tres restreint"] {
        let uri = format!(
            "/fhir/ValueSet/$expand?url={}&filter={}&count=2",
            enc(J08),
            enc(filter)
        );
        out.push(get(uri.clone()));
        let mut limited = get(uri.replace("&count=2", ""));
        limited.headers.push(("x-too-costly-threshold", "1"));
        out.push(limited);
        let mut unlimited = get(uri.replace("&count=2", ""));
        unlimited.headers.push(("x-too-costly-threshold", "100"));
        out.push(unlimited);
    }
    // Errors are answered the same, and not kept.
    out.push(get("/fhir/CodeSystem/$validate-code?code=N".into()));
    out.push(get(format!("/fhir/CodeSystem/$lookup?system={}", enc(A08))));
    out
}

/// The answer without what differs between two expansions made at different times.
fn timeless(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            if let Some(e) = v.get_mut("expansion").and_then(|e| e.as_object_mut()) {
                e.remove("timestamp");
                e.remove("identifier");
            }
            v.to_string().into_bytes()
        }
        Err(_) => body.to_vec(),
    }
}

async fn answer<S>(app: &S, ask: &Ask) -> (u16, Vec<u8>)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
    >,
{
    let mut req = if ask.post {
        test::TestRequest::post().set_payload(ask.body.clone())
    } else {
        test::TestRequest::get()
    }
    .uri(&ask.uri);
    for h in &ask.headers {
        req = req.insert_header(*h);
    }
    let resp = test::call_service(app, req.to_request()).await;
    let status = resp.status().as_u16();
    (status, test::read_body(resp).await.to_vec())
}

#[actix_web::test]
async fn kept_answers_are_the_answers_of_a_server_without_the_cache() {
    // Room for every answer with a wide margin: near its capacity the cache may refuse a new
    // entry (TinyLFU admission), and a refused expansion made again has a new timestamp.
    let cached_state = state(64 << 20);
    let cached = common::start(cached_state.clone()).await;
    let plain = common::start(state(0)).await;
    let asks = questions();
    let mut ok = 0;
    let mut kept = Vec::new();
    // Round 0 makes every answer (an expansion is made off the HTTP worker and not kept, its
    // work is); round 1 answers and keeps them all; round 2 must get round 1's bytes.
    for round in 0..3 {
        if round == 2 {
            // Past the second, an answer made again would carry another timestamp.
            actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
        for (n, ask) in asks.iter().enumerate() {
            let want = answer(&plain, ask).await;
            if round == 0 && want.0 == 200 {
                ok += 1;
            }
            let got = answer(&cached, ask).await;
            // A kept answer is the very same bytes, timestamp included.
            if round == 1 {
                kept.push(got.clone());
            } else if round == 2 && got.0 == 200 {
                assert_eq!(got, kept[n], "{} {:?}", ask.uri, ask.headers);
            }
            let (got, want) = ((got.0, timeless(&got.1)), (want.0, timeless(&want.1)));
            assert_eq!(
                got,
                want,
                "round {round}: {} {:?} {}",
                ask.uri,
                ask.headers,
                String::from_utf8_lossy(&got.1)
            );
        }
    }
    // Successful answers were kept (one per distinct question; errors are not).
    let snapshot = cached_state.release();
    snapshot.answers.settle();
    assert!(ok > 30 && ok < asks.len(), "{ok} of {}", asks.len());
    assert_eq!(snapshot.answers.len(), ok as u64);
}

/// `answer_in_place`, the way in of the `operations` fuzz target, answers what the server
/// answers: the same bytes for a success, the same status for an error.
#[actix_web::test]
async fn answers_in_place_are_the_answers_of_the_server() {
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
    use nosterm::http::fuzzing::{answer_in_place, RequestHead};

    let state = state(0);
    let server = common::start(state.clone()).await;
    for ask in questions() {
        let (path, query) = ask.uri.split_once('?').unwrap_or((&ask.uri, ""));
        let Some((rtype, op)) = path.strip_prefix("/fhir/").and_then(|p| p.split_once("/$")) else {
            panic!("not an operation: {}", ask.uri);
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &ask.headers {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let head = RequestHead::from_parts(query, headers);
        let got = answer_in_place(&state, rtype, None, op, &head, ask.body.as_bytes());
        let (status, body) = answer(&server, &ask).await;
        match got {
            Ok(bytes) => assert_eq!(
                (200, timeless(&bytes)),
                (status, timeless(&body)),
                "{}",
                ask.uri
            ),
            Err(e) => assert_eq!(e.status(), status, "{}: {e}", ask.uri),
        }
    }
}
