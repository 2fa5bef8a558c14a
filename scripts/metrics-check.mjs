#!/usr/bin/env node
// Scrapes /metrics, sends a fixed number of requests (a mix of $expand with filter,
// $validate-code, $lookup and reads) with fixed concurrency, scrapes again, and checks the
// per-operation request counters moved by exactly what was sent.
// Usage: node scripts/metrics-check.mjs http://127.0.0.1:8080 [REQUESTS] [CONCURRENCY]
const base = process.argv[2] || "http://127.0.0.1:8080";
const total = Number(process.argv[3] || 20000);
const conc = Number(process.argv[4] || 32);
const J07 = "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS";
const G15 = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante";
const words = ["cr op", "lettre", "compte rendu", "synth", "bilan", "radio", "ordonnance", "vaccin", "imagerie", "consult"];
const mix = [
  ["ValueSet/$expand", (i) => `/fhir/ValueSet/$expand?url=${encodeURIComponent(J07)}&filter=${encodeURIComponent(words[i % words.length])}&count=10`],
  ["ValueSet/$expand", (i) => `/fhir/ValueSet/$expand?url=${encodeURIComponent(G15 + "?fhir_vs")}&filter=${["inf", "sage", "med", "pharm", "kin"][i % 5]}&count=10`],
  ["CodeSystem/$validate-code", (i) => `/fhir/CodeSystem/$validate-code?url=${encodeURIComponent(G15)}&code=${[10, 21, 40, 50, 60, 99][i % 6]}`],
  ["CodeSystem/$lookup", (i) => `/fhir/CodeSystem/$lookup?system=${encodeURIComponent(G15)}&code=${[10, 21, 40, 50, 60][i % 5]}`],
  ["CodeSystem/read", () => `/fhir/CodeSystem/TRE-G15-ProfessionSante?_summary=true`],
];

async function scrape() {
  const text = await (await fetch(`${base}/metrics`)).text();
  const by = {};
  for (const l of text.split("\n")) {
    const m = /^nosterm_http_requests_total\{operation="([^"]+)",status="(\d+)"\} (\d+)/.exec(l);
    if (m) by[`${m[1]} ${m[2]}`] = Number(m[3]);
  }
  return { by, text };
}

const before = await scrape();
const sent = {};
const lat = [];
let next = 0, failed = 0;
const t0 = performance.now();
async function worker() {
  for (;;) {
    const i = next++;
    if (i >= total) return;
    const [op, path] = mix[i % mix.length];
    const t = performance.now();
    try {
      const r = await fetch(base + path(i));
      await r.arrayBuffer();
      const k = `${op} ${r.status}`;
      sent[k] = (sent[k] || 0) + 1;
      if (r.status >= 500) failed++;
    } catch {
      failed++;
    }
    lat.push(performance.now() - t);
  }
}
await Promise.all(Array.from({ length: conc }, worker));
const secs = (performance.now() - t0) / 1000;
const after = await scrape();
lat.sort((a, b) => a - b);
const p = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(2);
console.log(`load: ${total} requests, ${conc} connections, ${secs.toFixed(1)} s, ${(total / secs).toFixed(0)} req/s, failed ${failed}, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms`);
let ok = true;
console.log("operation status                  sent   /metrics delta");
for (const k of Object.keys(sent).sort()) {
  const d = (after.by[k] || 0) - (before.by[k] || 0);
  if (d !== sent[k]) ok = false;
  console.log(`${k.padEnd(34)} ${String(sent[k]).padStart(6)} ${String(d).padStart(8)}${d === sent[k] ? "" : "  MISMATCH"}`);
}
const cache = (t, n) => Number((new RegExp(`^${n} (\\d+)`, "m").exec(t) || [])[1] || 0);
console.log(`search cache: hits +${cache(after.text, "nosterm_search_cache_hits_total") - cache(before.text, "nosterm_search_cache_hits_total")}, misses +${cache(after.text, "nosterm_search_cache_misses_total") - cache(before.text, "nosterm_search_cache_misses_total")}`);
if (process.env.METRICS_OUT) {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(`${process.env.METRICS_OUT}.before.txt`, before.text);
  writeFileSync(`${process.env.METRICS_OUT}.after.txt`, after.text);
}
process.exit(ok && failed === 0 ? 0 : 1);
