use nosterm::load::fhir_json::parse_resource;
use nosterm::fhir::resources::code_system_json;
use nosterm::load::Resource;
#[test]
fn perf() {
    let concepts: Vec<serde_json::Value> = (0..100_000).map(|i| serde_json::json!({"code": format!("c{i}"), "display": format!("Concept {i}"),
        "designation": [{"use": {"code": "LibelleCourt"}, "value": "x"}], "property": [{"code": "dateValid", "valueDateTime": "2016-05-19T00:00:00+01:00"}]})).collect();
    let v = serde_json::json!({"resourceType": "CodeSystem", "url": "http://big", "status": "active", "content": "complete", "concept": concepts});
    for _ in 0..3 {
    let t = std::time::Instant::now();
    let c = v.clone();
    println!("clone {:?} {}", t.elapsed(), c.is_object());
    let t = std::time::Instant::now();
    let s = serde_json::to_string(&v).unwrap();
    println!("to_string {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let _x: serde_json::Value = serde_json::from_str(&s).unwrap();
    println!("from_str {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let Ok(Resource::CodeSystem(cs)) = parse_resource(&v) else { panic!() };
    println!("parse {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let out = code_system_json(&cs, true);
    println!("render {:?} {}", t.elapsed(), out["concept"].as_array().unwrap().len());
    }
}
