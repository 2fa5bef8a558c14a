//! Reload without downtime, in-process: the real app, a `current` symlink re-pointed between
//! releases built in temporary folders from a copy of `data/`, `POST /admin/reload`, health.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use actix_web::{test, web};
use nosterm::config::{AppConfig, Secret};
use nosterm::state::AppState;
use serde_json::{json, Value};

use common::{call, copy_tree, data_dir, edit_line, enc, get, param_value, TempDir};

const TOKEN: &str = "test-token-0123456789";
const R10: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R10-SexeAdministratif/FHIR/TRE-R10-SexeAdministratif";
const R999: &str = "https://mos.esante.gouv.fr/NOS/TRE_R999-Essai/FHIR/TRE-R999-Essai";
const A08: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_A08-HL7Confidentiality/FHIR/TRE-A08-HL7Confidentiality";
const J245: &str =
    "https://mos.esante.gouv.fr/NOS/JDV_J245-Civilite-CISIS/FHIR/JDV-J245-Civilite-CISIS";
const A08_CSV: &str = "CodeSystem-TRE-A08-HL7Confidentiality.csv";
const R10_CSV: &str = "CodeSystem-TRE-R10-SexeAdministratif.csv";

/// A fresh folder under the system temp dir, removed when dropped.
fn copy_data(dir: &TempDir, name: &str) -> PathBuf {
    let out = dir.path(name);
    copy_tree(&data_dir(), &out);
    out
}

/// (tables, concepts) the shipped data gives, as `/health/ready` counts them.
fn shipped_counts() -> (u64, u64) {
    let state = state_at(&data_dir(), None);
    let s = nosterm::reload::Status::of(&state.release());
    (s.tables as u64, s.concepts as u64)
}

/// Replaces line `line` (1-based) of a CRLF or LF text file.
fn line_of(file: &Path, needle: &str) -> usize {
    let text = fs::read_to_string(file).unwrap();
    1 + text
        .split('\n')
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {}", file.display()))
}

/// The next release: R10 version 0.2.0 with F relabelled and M retired, and a new table
/// TRE_R999-Essai (a copy of R10 under another URL and OID).
fn next_release(dir: &TempDir, name: &str) -> PathBuf {
    let out = copy_data(dir, name);
    let catalog = out.join("catalog.csv");
    let row = line_of(&catalog, "TRE_R10-SexeAdministratif,");
    let original = fs::read_to_string(&catalog).unwrap();
    let r10_row = original
        .split('\n')
        .nth(row - 1)
        .unwrap()
        .trim_end()
        .to_string();
    edit_line(&catalog, row, |l| l.replace(",0.1.0,", ",0.2.0,"));
    let new_row = r10_row
        .replace("R10-SexeAdministratif", "R999-Essai")
        .replace("1.2.250.1.213.2.27", "1.2.250.1.213.2.99999");
    let mut text = fs::read_to_string(&catalog).unwrap();
    if !text.ends_with('\n') {
        text.push_str("\r\n");
    }
    text.push_str(&new_row);
    text.push_str("\r\n");
    fs::write(&catalog, text).unwrap();
    fs::copy(out.join(R10_CSV), out.join("CodeSystem-TRE-R999-Essai.csv")).unwrap();
    let r10 = out.join(R10_CSV);
    edit_line(&r10, line_of(&r10, "F,Féminin"), |l| {
        l.replacen("F,Féminin", "F,Femme", 1)
    });
    edit_line(&r10, line_of(&r10, "M,Masculin"), |l| {
        l.replacen(
            ",active,2013-06-28T00:00:00+01:00,,",
            ",retired,2013-06-28T00:00:00+01:00,2025-01-01,",
            1,
        )
    });
    out
}

/// Points `link` at `target` (atomically: a temporary link renamed over it).
fn point(link: &Path, target: &Path) {
    let tmp = link.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).unwrap();
    fs::rename(&tmp, link).unwrap();
}

fn config(data: &Path, token: Option<&str>) -> AppConfig {
    AppConfig {
        data: Some(data.to_path_buf()),
        admin_token: token.map(Secret::new),
        ..AppConfig::default()
    }
}

fn state_at(data: &Path, token: Option<&str>) -> web::Data<AppState> {
    common::state_with(data, config(data, token))
}

fn reload_req(token: Option<&str>, data: Option<&Path>) -> actix_http::Request {
    let mut r = test::TestRequest::post().uri("/admin/reload");
    if let Some(t) = token {
        r = r.insert_header(("authorization", format!("Bearer {t}")));
    }
    if let Some(d) = data {
        r = r
            .insert_header(("content-type", "application/json"))
            .set_payload(json!({"data": d}).to_string());
    }
    r.to_request()
}

fn lookup_uri(system: &str, code: &str, version: Option<&str>) -> String {
    let v = version
        .map(|v| format!("&version={}", enc(v)))
        .unwrap_or_default();
    format!(
        "/fhir/CodeSystem/$lookup?system={}&code={}{v}",
        enc(system),
        enc(code)
    )
}

/// Answers that must not change when a release is refused (timestamps removed).
const PROBES: &[&str] = &[
    "/fhir/CodeSystem/$lookup?system=https%3A%2F%2Fmos.esante.gouv.fr%2FNOS%2FTRE_R10-SexeAdministratif%2FFHIR%2FTRE-R10-SexeAdministratif&code=F",
    "/fhir/CodeSystem/$validate-code?url=https%3A%2F%2Fmos.esante.gouv.fr%2FNOS%2FTRE_A08-HL7Confidentiality%2FFHIR%2FTRE-A08-HL7Confidentiality&code=R",
    "/fhir/ValueSet/$expand?url=https%3A%2F%2Fmos.esante.gouv.fr%2FNOS%2FJDV_J245-Civilite-CISIS%2FFHIR%2FJDV-J245-Civilite-CISIS&filter=ma",
    "/fhir/CodeSystem?url=https%3A%2F%2Fmos.esante.gouv.fr%2FNOS%2FTRE_R10-SexeAdministratif%2FFHIR%2FTRE-R10-SexeAdministratif",
    "/health/ready",
];

fn strip_volatile(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in ["timestamp", "identifier", "meta", "id"] {
                m.remove(k);
            }
            m.values_mut().for_each(strip_volatile);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

async fn probe<S: common::App>(app: &S) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    for uri in PROBES {
        let (s, mut v) = call(app, get(uri)).await;
        strip_volatile(&mut v);
        out.push((s, v));
    }
    out
}

#[actix_web::test]
async fn reload_swaps_data_and_keeps_the_previous_versions() {
    let dir = TempDir::new("swap");
    let a = copy_data(&dir, "releases/a");
    let b = next_release(&dir, "releases/b");
    let current = dir.path("current");
    point(&current, &a);
    let state = state_at(&current, Some(TOKEN));
    let app = common::start(state.clone()).await;

    let (_, before) = call(&app, get(&lookup_uri(R10, "F", None))).await;
    assert_eq!(param_value(&before, "display"), Some(&json!("Féminin")));
    let (s, _) = call(&app, get(&lookup_uri(R999, "F", None))).await;
    assert_eq!(s, 404);

    // Re-point the link, reload without a body: the link is resolved again.
    point(&current, &b);
    let (s, report) = call(&app, reload_req(Some(TOKEN), None)).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["generation"], 2);
    assert_eq!(report["tables"], shipped_counts().0 + 1);
    assert_eq!(
        report["source"],
        json!(fs::canonicalize(&b).unwrap().display().to_string())
    );
    let changes = &report["changes"];
    assert_eq!(changes["tables_added"][0]["url"], R999);
    let r10 = &changes["tables_changed"][0];
    assert_eq!(r10["url"], R10);
    assert_eq!(r10["old_version"], "0.1.0");
    assert_eq!(r10["new_version"], "0.2.0");
    assert_eq!(r10["retired"], json!(["M"]));
    assert_eq!(
        r10["relabelled"],
        json!([{"code": "F", "old": "Féminin", "new": "Femme"}])
    );
    assert_eq!(changes["tables_changed"].as_array().map(Vec::len), Some(1));

    // Unpinned: the new release. Pinned to the old version: still answered.
    let (_, now) = call(&app, get(&lookup_uri(R10, "F", None))).await;
    assert_eq!(param_value(&now, "display"), Some(&json!("Femme")));
    assert_eq!(param_value(&now, "version"), Some(&json!("0.2.0")));
    let (s, old) = call(&app, get(&lookup_uri(R10, "F", Some("0.1.0")))).await;
    assert_eq!(s, 200, "{old}");
    assert_eq!(param_value(&old, "display"), Some(&json!("Féminin")));
    let (s, _) = call(&app, get(&lookup_uri(R999, "F", None))).await;
    assert_eq!(s, 200);
    let (_, bundle) = call(&app, get(&format!("/fhir/CodeSystem?url={}", enc(R10)))).await;
    let versions = common::bundle_versions(&bundle);
    assert_eq!(versions, ["0.1.0", "0.2.0"]);

    // Back to the first release (a folder in the body this time): R999 is gone for unpinned
    // requests, still there pinned; R10 unpinned is 0.1.0 again.
    let (s, report) = call(&app, reload_req(Some(TOKEN), Some(&a))).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["changes"]["tables_removed"][0]["url"], R999);
    let (s, _) = call(&app, get(&lookup_uri(R999, "F", None))).await;
    assert_eq!(s, 404);
    let (s, _) = call(&app, get(&lookup_uri(R999, "F", Some("0.1.0")))).await;
    assert_eq!(s, 200);
    let (_, again) = call(&app, get(&lookup_uri(R10, "F", None))).await;
    assert_eq!(param_value(&again, "display"), Some(&json!("Féminin")));
    let (_, pinned) = call(&app, get(&lookup_uri(R10, "F", Some("0.2.0")))).await;
    assert_eq!(param_value(&pinned, "display"), Some(&json!("Femme")));
}

/// Each bad release, and the `file:line` its refusal must name.
fn bad_releases(dir: &TempDir) -> Vec<(&'static str, PathBuf, String)> {
    let mut out = Vec::new();

    let p = copy_data(dir, "malformed-row");
    edit_line(&p.join(A08_CSV), 4, |l| format!("{l},\"unterminated"));
    out.push(("malformed row", p, format!("{A08_CSV}:4")));

    let p = copy_data(dir, "duplicate-code");
    edit_line(&p.join(A08_CSV), 4, |l| l.replacen("V,", "R,", 1));
    out.push((
        "duplicate code",
        p,
        format!("{A08_CSV}:4:1: duplicate code 'R'"),
    ));

    let p = copy_data(dir, "broken-json");
    let json = fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fhir/CodeSystem-TRE-A08-HL7Confidentiality.json"),
    )
    .unwrap();
    let broken = json.replacen("\"value\" : \"urn:oid:", "\"value\" \"urn:oid:", 1);
    fs::create_dir_all(p.join("fhir")).unwrap();
    fs::write(p.join("fhir/a08.json"), broken).unwrap();
    out.push(("broken JSON", p, "fhir/a08.json:16:13: invalid JSON".into()));

    let p = copy_data(dir, "unknown-system");
    // Drop the not-present LOINC code system that JDV_J07 names.
    let catalog = p.join("catalog.csv");
    let loinc = line_of(&catalog, "TRE_A04-Loinc,");
    let text = fs::read_to_string(&catalog).unwrap();
    let kept: Vec<&str> = text
        .split('\n')
        .enumerate()
        .filter(|(i, _)| i + 1 != loinc)
        .map(|(_, l)| l)
        .collect();
    fs::write(&catalog, kept.join("\n")).unwrap();
    out.push((
        "JDV naming an unknown system",
        p,
        "ValueSet-JDV-J07-XdsTypeCode-CISIS.csv:33:1: unknown system".into(),
    ));

    let p = copy_data(dir, "truncated");
    let r38 = p.join("CodeSystem-TRE-R38-SpecialiteOrdinale.csv");
    let bytes = fs::read(&r38).unwrap();
    fs::write(&r38, &bytes[..bytes.len() / 2]).unwrap();
    out.push((
        "truncated file",
        p,
        "CodeSystem-TRE-R38-SpecialiteOrdinale.csv:".into(),
    ));

    let p = copy_data(dir, "latin1-bad-bytes");
    let tabs = fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tabs/TRE_A08-HL7Confidentiality.tabs"),
    )
    .unwrap();
    // Another table (own OID and name), in ISO-8859-1, with C1 control bytes in a label of
    // line 5: what a file mangled by a wrong conversion looks like.
    let mut text: Vec<u8> = replace_bytes(&tabs, b"2.16.840.1.113883.5.25", b"1.2.250.1.213.9.9");
    text = replace_bytes(&text, b"TRE_A08-HL7Confidentiality", b"TRE_Z99-Essai");
    text = replace_bytes(
        &text,
        b";Restreint;Restreint;",
        b";Rest\x81\x90eint;Restreint;",
    );
    fs::create_dir_all(p.join("tabs")).unwrap();
    fs::write(p.join("tabs/TRE_Z99-Essai.tabs"), text).unwrap();
    out.push((
        "Latin-1 file with bad bytes",
        p,
        "tabs/TRE_Z99-Essai.tabs:5:".into(),
    ));
    out
}

fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

#[actix_web::test]
async fn a_bad_release_is_refused_with_file_and_line_and_changes_nothing() {
    let dir = TempDir::new("bad");
    let good = copy_data(&dir, "good");
    let current = dir.path("current");
    point(&current, &good);
    let state = state_at(&current, Some(TOKEN));
    let app = common::start(state.clone()).await;
    let before = probe(&app).await;
    assert!(before.iter().all(|(s, _)| *s == 200), "{before:?}");

    for (what, release, expected) in bad_releases(&dir) {
        // Both ways in: a folder in the body, and the link re-pointed.
        for by_link in [false, true] {
            let req = if by_link {
                point(&current, &release);
                reload_req(Some(TOKEN), None)
            } else {
                reload_req(Some(TOKEN), Some(&release))
            };
            let (s, outcome) = call(&app, req).await;
            assert_eq!(s, 422, "{what}: {outcome}");
            assert_eq!(outcome["resourceType"], "OperationOutcome");
            let texts: Vec<&str> = outcome["issue"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|i| i["details"]["text"].as_str())
                .collect();
            assert!(
                texts.iter().any(|t| t.starts_with(&expected)),
                "{what}: expected an issue starting with {expected:?}, got {texts:#?}"
            );
            assert_eq!(probe(&app).await, before, "{what}: answers changed");
            assert_eq!(state.release().generation, 1, "{what}");
        }
        point(&current, &good);
    }
    // The good release still reloads afterwards.
    let (s, report) = call(&app, reload_req(Some(TOKEN), None)).await;
    assert_eq!(s, 200, "{report}");
    assert!(report["changes"]["tables_changed"]
        .as_array()
        .is_some_and(Vec::is_empty));
}

#[actix_web::test]
async fn admin_routes_need_the_token() {
    let dir = TempDir::new("auth");
    let a = copy_data(&dir, "a");
    let app = common::start(state_at(&a, Some(TOKEN))).await;
    let (s, o) = call(&app, reload_req(None, None)).await;
    assert_eq!(s, 401);
    assert_eq!(o["resourceType"], "OperationOutcome");
    assert_eq!(o["issue"][0]["code"], "login");
    let (s, _) = call(&app, reload_req(Some("wrong-token-0123456789"), None)).await;
    assert_eq!(s, 401);
    let (s, _) = call(&app, reload_req(Some(&TOKEN[..5]), None)).await;
    assert_eq!(s, 401);
    let (s, _) = call(
        &app,
        test::TestRequest::get()
            .uri("/admin/status")
            .insert_header(("authorization", format!("Basic {TOKEN}")))
            .to_request(),
    )
    .await;
    assert_eq!(s, 401);
    let (s, status) = call(
        &app,
        test::TestRequest::get()
            .uri("/admin/status")
            .insert_header(("authorization", format!("Bearer {TOKEN}")))
            .to_request(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(status["status"]["generation"], 1);
    assert_eq!(status["status"]["concepts"], shipped_counts().1);
    let (s, r) = call(&app, reload_req(Some(TOKEN), None)).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["generation"], 2);
    // Never under /fhir.
    let (s, _) = call(
        &app,
        test::TestRequest::post()
            .uri("/fhir/admin/reload")
            .insert_header(("authorization", format!("Bearer {TOKEN}")))
            .to_request(),
    )
    .await;
    assert!(s >= 400, "{s}");
    // Off without a token.
    let app = common::start(state_at(&a, None)).await;
    let (s, _) = call(&app, reload_req(Some(TOKEN), None)).await;
    assert_eq!(s, 404);
}

#[actix_web::test]
async fn health_endpoints() {
    // Before the first load: live, not ready, /fhir answers 503.
    let state = web::Data::new(AppState::empty(config(&data_dir(), Some(TOKEN))));
    let app = common::start(state.clone()).await;
    let (s, _) = call(&app, get("/health/live")).await;
    assert_eq!(s, 200);
    let (s, o) = call(&app, get("/health/ready")).await;
    assert_eq!(s, 503);
    assert_eq!(o["issue"][0]["code"], "transient");
    let (s, _) = call(&app, get("/fhir/metadata")).await;
    assert_eq!(s, 503);
    // The first load, as `serve` does it.
    let (s, r) = call(&app, reload_req(Some(TOKEN), None)).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["generation"], 1);
    let (s, ready) = call(&app, get("/health/ready")).await;
    assert_eq!(s, 200);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["generation"], 1);
    let (tables, concepts) = shipped_counts();
    assert_eq!(ready["tables"], tables);
    assert_eq!(ready["concepts"], concepts);
    assert!(ready["loaded_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let (s, _) = call(&app, get("/fhir/metadata")).await;
    assert_eq!(s, 200);
    let (s, v) = call(
        &app,
        get(&format!(
            "/fhir/ValueSet/$validate-code?url={}&system={}&code=N",
            enc(J245),
            enc(A08)
        )),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

/// The value of an unlabelled sample `name` in a Prometheus text body.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

async fn metrics_text<S: common::App>(app: &S) -> String {
    let resp = test::call_service(app, get("/metrics")).await;
    assert_eq!(resp.status(), 200);
    String::from_utf8(test::read_body(resp).await.to_vec()).unwrap()
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64
}

#[actix_web::test]
async fn data_age_and_refused_reloads_are_exposed() {
    let dir = TempDir::new("age");
    let a = copy_data(&dir, "a");
    // Release b: one table dated in 2031 at +02:00, later than anything shipped.
    let b = copy_data(&dir, "b");
    let catalog = b.join("catalog.csv");
    let row = line_of(&catalog, "TRE_R10-SexeAdministratif,");
    edit_line(&catalog, row, |l| {
        let mut cols: Vec<String> = l.split(',').map(str::to_string).collect();
        cols[6] = "2031-05-06T10:00:00+02:00".into();
        cols.join(",")
    });
    let link = dir.path("current");
    point(&link, &a);
    let state = state_at(&link, Some(TOKEN));
    let app = test::init_service(nosterm::create_app(state.clone())).await;

    let (_, ready) = call(&app, get("/health/ready")).await;
    let shipped_newest = ready["newest_resource_date"].as_str().unwrap().to_string();
    assert!(
        shipped_newest.starts_with("20") && shipped_newest.as_str() < "2031",
        "{ready}"
    );

    let started = unix_now();
    point(&link, &b);
    let (s, r) = call(&app, reload_req(Some(TOKEN), None)).await;
    assert_eq!(s, 200, "{r}");
    let (s, ready) = call(&app, get("/health/ready")).await;
    assert_eq!(s, 200);
    assert_eq!(ready["newest_resource_date"], "2031-05-06T10:00:00+02:00");
    let loaded_at = ready["loaded_at"].as_str().unwrap().to_string();
    let text = metrics_text(&app).await;
    // 2031-05-06T08:00:00Z
    assert_eq!(
        sample(&text, "nosterm_release_newest_resource_timestamp_seconds"),
        Some(1_935_820_800.0),
        "{text}"
    );
    let loaded = sample(&text, "nosterm_release_loaded_timestamp_seconds").unwrap();
    assert!(loaded >= started && loaded <= unix_now(), "{loaded}");
    assert_eq!(nosterm::fhir::instant_from_unix(loaded as u64), loaded_at);
    let failures = sample(&text, "nosterm_reload_failures_total").unwrap();

    // A refused reload: counted and timed; the release served and its dates do not change.
    let (s, _) = call(&app, reload_req(Some(TOKEN), Some(&dir.path("missing")))).await;
    assert_eq!(s, 422);
    let text = metrics_text(&app).await;
    // Other tests of this binary may refuse reloads at the same time: at least ours.
    assert!(sample(&text, "nosterm_reload_failures_total").unwrap() > failures);
    assert!(sample(&text, "nosterm_reload_last_failure_timestamp_seconds").unwrap() >= loaded);
    assert_eq!(
        sample(&text, "nosterm_release_loaded_timestamp_seconds"),
        Some(loaded)
    );
    let (_, ready) = call(&app, get("/health/ready")).await;
    assert_eq!(ready["newest_resource_date"], "2031-05-06T10:00:00+02:00");
    assert_eq!(ready["loaded_at"], loaded_at.as_str());
}
