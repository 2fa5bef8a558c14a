use nosterm::load::fhir_json::parse_resource;
use nosterm::fhir::resources::code_system_json;
use nosterm::load::Resource;
#[test]
fn perf() {
    let concepts: Vec<serde_json::Value> = (0..100_000).map(|i| serde_json::json!({"code": format!("c{i}"), "display": format!("Concept {i}"),
        "designation": [{"use": {"code": "LibelleCourt"}, "value": "x"}], "property": [{"code": "dateValid", "valueDateTime": "2016-05-19T00:00:00+01:00"}]})).collect();
    let v = serde_json::json!({"resourceType": "CodeSystem", "url": "http://big", "status": "active", "content": "complete", "concept": concepts});
    let t = std::time::Instant::now();
    let Ok(Resource::CodeSystem(cs)) = parse_resource(&v) else { panic!() };
    println!("parse {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let out = code_system_json(&cs, true);
    println!("render {:?} {}", t.elapsed(), out["concept"].as_array().unwrap().len());
}
