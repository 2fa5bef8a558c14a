// nosterm UI: a small hash-routed page over the FHIR API (/fhir) and /ui/api helpers.
// No build step; French first.
"use strict";

const FHIR = "/fhir";
const PAGE = 50;
const main = document.getElementById("main");

const KIND_FR = { CodeSystem: "Terminologie (TRE)", ValueSet: "Jeu de valeurs (JDV)", ConceptMap: "Correspondance (ASS)" };

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function fold(s) {
  return String(s ?? "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}
/** Escapes `text` and wraps the parts matching a word of `query` (accents and case folded) in <mark>. */
function highlight(text, query) {
  text = String(text ?? "");
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (!words.length) return esc(text);
  const f = fold(text);
  const marks = new Array(text.length).fill(false);
  for (const w of words) {
    let i = f.indexOf(w);
    while (i >= 0) {
      for (let k = i; k < i + w.length && k < marks.length; k++) marks[k] = true;
      i = f.indexOf(w, i + w.length);
    }
  }
  let out = "", open = false;
  for (let i = 0; i < text.length; i++) {
    if (marks[i] && !open) { out += "<mark>"; open = true; }
    if (!marks[i] && open) { out += "</mark>"; open = false; }
    out += esc(text[i]);
  }
  return out + (open ? "</mark>" : "");
}
function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, v);
  return u.toString();
}
async function getJSON(url, signal) {
  const r = await fetch(url, { headers: { Accept: "application/fhir+json, application/json" }, signal });
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    const msg = body?.issue?.map((i) => i.details?.text || i.diagnostics).filter(Boolean).join(" ; ");
    throw new Error(msg || `HTTP ${r.status}`);
  }
  return body;
}
function oidOf(res) {
  const id = (res.identifier || []).find((i) => String(i.value || "").startsWith("urn:oid:"));
  return id ? id.value.slice(8) : (res.oids && res.oids[0]) || "";
}
function tableLink(kind, id, label) {
  return `<a href="#/table/${encodeURIComponent(kind)}/${encodeURIComponent(id)}">${label}</a>`;
}
function conceptHref(system, code, display) {
  return "#/concept?" + qs({ system, code, d: display });
}
function setTitle(t) {
  document.title = `${t} · nosterm`;
}
function errorBox(e) {
  return `<p class="error" role="alert">Erreur : ${esc(e.message || e)}</p>`;
}
function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// ---------------------------------------------------------------- home: search everywhere
let homeAbort = null;
async function home(params) {
  setTitle("Recherche");
  const q = params.get("q") || "";
  main.innerHTML = `
    <h1>Rechercher dans les NOS</h1>
    <form class="search" role="search" id="home-form">
      <label class="muted" for="q" style="flex-basis:100%">Nom de table, OID, libellé ou code (raccourci : <kbd>/</kbd>)</label>
      <input type="search" id="q" name="q" autocomplete="off" value="${esc(q)}" placeholder="ex. G15, 1.2.250.1.71.1.2.7, infirmier, CR opératoire">
      <button type="submit">Rechercher</button>
    </form>
    <div id="results" aria-live="polite"></div>`;
  const input = document.getElementById("q");
  const run = async () => {
    const text = input.value.trim();
    history.replaceState(null, "", "#/?" + qs({ q: text }));
    homeAbort?.abort();
    homeAbort = new AbortController();
    const out = document.getElementById("results");
    try {
      if (!text) {
        const tables = await getJSON("/ui/api/tables", homeAbort.signal);
        out.innerHTML = `<h2>${tables.length} tables chargées</h2>` + tablesTable(tables, "");
        return;
      }
      const r = await getJSON("/ui/api/search?" + qs({ q: text, limit: 30 }), homeAbort.signal);
      out.innerHTML =
        `<h2>Tables (${r.tables.length})</h2>` +
        (r.tables.length ? tablesTable(r.tables, text) : `<p class="muted">Aucune table.</p>`) +
        `<h2>Concepts (${r.concepts.length})</h2>` +
        (r.concepts.length
          ? `<table id="concept-results"><thead><tr><th>Code</th><th>Libellé</th><th class="opt">Table</th></tr></thead><tbody>` +
            r.concepts.map((c) => `<tr><td class="code">${highlight(c.code, text)}</td>
              <td><a href="${esc(conceptHref(c.system, c.code, c.display))}">${highlight(c.display || c.code, text)}</a>
              ${c.inactive ? ' <span class="tag bad">inactif</span>' : ""}</td>
              <td class="opt">${c.table_id ? tableLink("CodeSystem", c.table_id, esc(c.table)) : `<span class="code">${esc(c.system)}</span>`}</td></tr>`).join("") +
            `</tbody></table>`
          : `<p class="muted">Aucun concept.</p>`);
    } catch (e) {
      if (e.name !== "AbortError") out.innerHTML = errorBox(e);
    }
  };
  document.getElementById("home-form").addEventListener("submit", (e) => { e.preventDefault(); run(); });
  input.addEventListener("input", debounce(run, 150));
  input.focus();
  run();
}

function tablesTable(tables, q) {
  return `<table class="tables"><thead><tr><th>Table</th><th class="opt">OID</th><th>Type</th><th class="opt">Version</th><th>Éléments</th></tr></thead><tbody>` +
    tables.map((t) => `<tr>
      <td>${tableLink(t.kind, t.id, highlight(t.name || t.id, q))}<br><span class="muted">${highlight(t.title || t.description || "", q)}</span></td>
      <td class="opt code">${highlight((t.oids || [])[0] || "", q)}</td>
      <td><span class="tag">${esc(t.kind === "CodeSystem" ? "TRE" : t.kind === "ValueSet" ? "JDV" : "ASS")}</span></td>
      <td class="opt code">${esc(t.version || "")}</td>
      <td>${t.count}</td></tr>`).join("") + `</tbody></table>`;
}

// ---------------------------------------------------------------- table page
async function tablePage(kind, id, params) {
  setTitle(id);
  main.innerHTML = `<p class="muted">Chargement de ${esc(id)}…</p>`;
  let res, versions;
  try {
    res = await getJSON(`${FHIR}/${encodeURIComponent(kind)}/${encodeURIComponent(id)}?_summary=true`);
    versions = await getJSON("/ui/api/versions?" + qs({ kind, url: res.url }));
  } catch (e) {
    main.innerHTML = errorBox(e);
    return;
  }
  const title = res.title || res.name || res.id;
  setTitle(title);
  const newest = versions[versions.length - 1];
  const versionRows = versions.map((v) => `<li>${v.id === res.id && v.version === res.version ? `<strong>${esc(v.version || "(sans version)")}</strong>` : tableLink(kind, v.id, esc(v.version || "(sans version)"))}
      <span class="muted">· ${esc((v.date || "").slice(0, 10))} · ${v.count} éléments${v === newest ? " · la plus récente" : ""}</span></li>`).join("");
  const diffForm = versions.length > 1
    ? `<form id="diff-form" class="pager"><label>Comparer <select name="from">${versions.map((v, i) => `<option ${i === versions.length - 2 ? "selected" : ""}>${esc(v.version)}</option>`).join("")}</select></label>
       <label>à <select name="to">${versions.map((v, i) => `<option ${i === versions.length - 1 ? "selected" : ""}>${esc(v.version)}</option>`).join("")}</select></label>
       <button type="submit">Voir les différences</button></form>`
    : "";
  main.innerHTML = `
    <p><a href="#/">← Recherche</a></p>
    <h1>${esc(title)}</h1>
    <div class="card"><dl class="meta">
      <dt>Type</dt><dd>${esc(KIND_FR[kind] || kind)}</dd>
      <dt>URL</dt><dd class="code">${esc(res.url)}</dd>
      <dt>OID</dt><dd class="code">${esc(oidOf(res)) || "—"}</dd>
      <dt>Nom</dt><dd>${esc(res.name || "")}</dd>
      <dt>Version</dt><dd class="code">${esc(res.version || "")}</dd>
      <dt>Statut</dt><dd>${esc(res.status || "")}</dd>
      <dt>Date</dt><dd>${esc(res.date || "")}</dd>
      ${res.description ? `<dt>Description</dt><dd>${esc(res.description)}</dd>` : ""}
      ${res.content ? `<dt>Contenu</dt><dd>${esc(res.content)}</dd>` : ""}
      <dt>Éléments</dt><dd id="count">…</dd>
    </dl></div>
    <h2>Versions (${versions.length})</h2>
    <ul>${versionRows}</ul>
    ${diffForm}
    <div id="diff"></div>
    <h2>${kind === "ConceptMap" ? "Correspondances" : "Concepts"}</h2>
    <form class="search" role="search" id="concept-search">
      <label for="cq" class="muted" style="flex-basis:100%">Filtrer par libellé ou code</label>
      <input type="search" id="cq" autocomplete="off" value="${esc(params.get("q") || "")}">
    </form>
    <div id="concepts" aria-live="polite"></div>`;
  const df = document.getElementById("diff-form");
  if (df) df.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = "#/diff/" + encodeURIComponent(kind) + "?" + qs({ url: res.url, id, from: df.from.value, to: df.to.value });
  });
  const state = { offset: Number(params.get("offset") || 0) };
  const cq = document.getElementById("cq");
  let abort = null;
  const load = async () => {
    abort?.abort();
    abort = new AbortController();
    const box = document.getElementById("concepts");
    const filter = cq.value.trim();
    try {
      if (kind === "ConceptMap") {
        const full = await getJSON(`${FHIR}/ConceptMap/${encodeURIComponent(id)}`, abort.signal);
        renderMappings(box, full, filter, state, load);
        return;
      }
      const url = kind === "CodeSystem" ? res.url + "?fhir_vs" : res.url;
      const p = { url, filter, offset: state.offset, count: PAGE };
      if (kind === "ValueSet" && res.version) p.valueSetVersion = res.version;
      if (kind === "CodeSystem" && res.version) p["system-version"] = `${res.url}|${res.version}`;
      const exp = await getJSON(`${FHIR}/ValueSet/$expand?` + qs(p), abort.signal);
      const e = exp.expansion || {};
      const items = e.contains || [];
      const total = e.total ?? items.length;
      if (!filter) document.getElementById("count").textContent = String(total);
      box.innerHTML = `<table id="concept-list"><thead><tr><th>Code</th><th>Libellé</th>${kind === "ValueSet" ? '<th class="opt">Système</th>' : ""}</tr></thead><tbody>` +
        items.map((c) => `<tr><td class="code">${highlight(c.code, filter)}</td>
          <td><a href="${esc(conceptHref(c.system, c.code, c.display))}">${highlight(c.display || c.code, filter)}</a>${c.inactive ? ' <span class="tag bad">inactif</span>' : ""}</td>
          ${kind === "ValueSet" ? `<td class="opt code">${esc(shortSystem(c.system))}</td>` : ""}</tr>`).join("") +
        `</tbody></table>` + pager(state, total, load);
      wirePager(box, state, total, load);
    } catch (err) {
      if (err.name === "AbortError") return;
      box.innerHTML = errorBox(err);
      if (!filter) document.getElementById("count").textContent = "—";
    }
  };
  cq.addEventListener("input", debounce(() => { state.offset = 0; load(); }, 150));
  cq.form.addEventListener("submit", (e) => { e.preventDefault(); state.offset = 0; load(); });
  load();
}

function shortSystem(s) {
  const m = /\/NOS\/([^/]+)\//.exec(s || "");
  return m ? m[1] : s;
}

function pager(state, total, _load) {
  if (total <= PAGE) return `<p class="muted">${total} élément(s)</p>`;
  const from = state.offset + 1, to = Math.min(state.offset + PAGE, total);
  return `<div class="pager"><button type="button" data-dir="-1" ${state.offset === 0 ? "disabled" : ""}>← Précédents</button>
    <span>${from}–${to} sur ${total}</span>
    <button type="button" data-dir="1" ${to >= total ? "disabled" : ""}>Suivants →</button></div>`;
}
function wirePager(box, state, total, load) {
  box.querySelectorAll(".pager button").forEach((b) => b.addEventListener("click", () => {
    state.offset = Math.max(0, Math.min(total - 1, state.offset + Number(b.dataset.dir) * PAGE));
    load().then(() => box.querySelector(`.pager button[data-dir="${b.dataset.dir}"]:not([disabled])`)?.focus());
  }));
}

function renderMappings(box, cm, filter, state, load) {
  const rows = [];
  for (const g of cm.group || []) for (const el of g.element || []) for (const t of el.target || [])
    rows.push({ ss: g.source, sc: el.code, sd: el.display, ts: g.target, tc: t.code, td: t.display, eq: t.equivalence || t.relationship });
  const f = fold(filter);
  const hits = f ? rows.filter((r) => fold(`${r.sc} ${r.sd} ${r.tc} ${r.td}`).includes(f)) : rows;
  if (!filter) document.getElementById("count").textContent = String(rows.length);
  const page = hits.slice(state.offset, state.offset + PAGE);
  box.innerHTML = `<table><thead><tr><th>Source</th><th>Relation</th><th>Cible</th></tr></thead><tbody>` +
    page.map((r) => `<tr><td><a href="${esc(conceptHref(r.ss, r.sc, r.sd))}" class="code">${highlight(r.sc, filter)}</a> ${highlight(r.sd || "", filter)}<br><span class="muted code">${esc(shortSystem(r.ss))}</span></td>
      <td>${esc(r.eq || "")}</td>
      <td><a href="${esc(conceptHref(r.ts, r.tc, r.td))}" class="code">${highlight(r.tc, filter)}</a> ${highlight(r.td || "", filter)}<br><span class="muted code">${esc(shortSystem(r.ts))}</span></td></tr>`).join("") +
    `</tbody></table>` + pager(state, hits.length, load);
  wirePager(box, state, hits.length, load);
}

// ---------------------------------------------------------------- concept page
const PROP_FR = { dateValid: "Date de validité", dateMaj: "Date de mise à jour", dateFin: "Date de fin", dateCreation: "Date de création", status: "Statut", inactive: "Inactif", deprecated: "Déprécié", parent: "Parent", child: "Enfant" };

function paramValue(p) {
  for (const k of Object.keys(p)) if (k.startsWith("value")) {
    const v = p[k];
    if (v && typeof v === "object") return v.code ? `${v.code}${v.display ? " " + v.display : ""}` : JSON.stringify(v);
    return String(v);
  }
  return "";
}

async function conceptPage(params) {
  const system = params.get("system") || "", code = params.get("code") || "", hint = params.get("d") || "";
  setTitle(`${code} ${hint}`);
  main.innerHTML = `<p class="muted">Chargement…</p>`;
  const [lk, vs, tr, cs] = await Promise.allSettled([
    getJSON(`${FHIR}/CodeSystem/$lookup?` + qs({ system, code, property: "*" })),
    getJSON("/ui/api/concept?" + qs({ system, code })),
    getJSON(`${FHIR}/ConceptMap/$translate?` + qs({ system, code })),
    getJSON(`${FHIR}/CodeSystem?` + qs({ url: system, _summary: "true" })),
  ]);
  const parts = lk.status === "fulfilled" ? lk.value.parameter || [] : [];
  const one = (n) => parts.find((p) => p.name === n);
  const display = one("display")?.valueString || hint || code;
  setTitle(`${code} ${display}`);
  const designations = parts.filter((p) => p.name === "designation").map((d) => {
    const get = (n) => (d.part || []).find((x) => x.name === n);
    return { use: get("use")?.valueCoding, lang: get("language")?.valueCode, value: get("value")?.valueString };
  });
  const props = parts.filter((p) => p.name === "property").map((d) => {
    const get = (n) => (d.part || []).find((x) => x.name === n);
    return { code: get("code")?.valueCode, value: paramValue(get("value") || {}) };
  });
  const inactive = props.some((p) => (p.code === "inactive" && p.value === "true") || (p.code === "status" && /retired|inactive|deprecated/.test(p.value)))
    || props.some((p) => p.code === "dateFin" && p.value && p.value.slice(0, 10) <= new Date().toISOString().slice(0, 10));
  const csEntry = cs.status === "fulfilled" ? cs.value.entry?.[0]?.resource : null;
  const jdvs = vs.status === "fulfilled" ? vs.value.value_sets : null;
  const matches = tr.status === "fulfilled" ? (tr.value.parameter || []).filter((p) => p.name === "match") : [];
  main.innerHTML = `
    <p><a href="#/">← Recherche</a>${csEntry ? ` · ${tableLink("CodeSystem", csEntry.id, esc(csEntry.title || csEntry.name || csEntry.id))}` : ""}</p>
    <h1 id="concept-title"><span class="code">${esc(code)}</span> — ${esc(display)}</h1>
    <div class="card"><dl class="meta">
      <dt>Code</dt><dd class="code">${esc(code)}</dd>
      <dt>Libellé</dt><dd>${esc(display)}</dd>
      <dt>Système</dt><dd class="code">${esc(system)}</dd>
      ${csEntry && oidOf(csEntry) ? `<dt>OID du système</dt><dd class="code">${esc(oidOf(csEntry))}</dd>` : ""}
      <dt>Statut</dt><dd>${lk.status === "fulfilled" ? (inactive ? '<span class="tag bad">inactif</span>' : '<span class="tag ok">actif</span>') : '<span class="muted">inconnu (système non chargé en entier)</span>'}</dd>
      ${props.map((p) => `<dt>${esc(PROP_FR[p.code] || p.code)}</dt><dd>${esc(/^\d{4}-\d\d-\d\d/.test(p.value) ? p.value.slice(0, 10) : p.value)}</dd>`).join("")}
    </dl></div>
    ${lk.status === "rejected" ? `<p class="muted">$lookup : ${esc(lk.reason.message)}</p>` : ""}
    <h2>Désignations (${designations.length})</h2>
    ${designations.length ? `<table><thead><tr><th>Usage</th><th>Langue</th><th>Valeur</th></tr></thead><tbody>${designations.map((d) => `<tr><td>${esc(d.use?.display || d.use?.code || "")}</td><td>${esc(d.lang || "")}</td><td>${esc(d.value)}</td></tr>`).join("")}</tbody></table>` : `<p class="muted">Aucune.</p>`}
    <h2>Jeux de valeurs contenant ce concept (${jdvs ? jdvs.length : "?"})</h2>
    ${jdvs ? (jdvs.length ? `<ul class="plain" id="jdv-list">${jdvs.map((v) => `<li>${tableLink("ValueSet", v.id, esc(v.name || v.id))} <span class="muted">${esc(v.title || v.description || "")} · ${esc(v.version || "")}</span></li>`).join("")}</ul>` : `<p class="muted">Aucun.</p>`) : errorBox(vs.reason)}
    <h2>Correspondances (ASS) (${matches.length})</h2>
    ${matches.length ? `<table><thead><tr><th>Relation</th><th>Concept cible</th><th class="opt">Correspondance</th></tr></thead><tbody>${matches.map((m) => {
      const get = (n) => (m.part || []).find((x) => x.name === n);
      const c = get("concept")?.valueCoding || {};
      const origin = get("originMap")?.valueCanonical || "";
      return `<tr><td>${esc(get("equivalence")?.valueCode || get("relationship")?.valueCode || "")}</td>
        <td><a href="${esc(conceptHref(c.system, c.code, c.display))}" class="code">${esc(c.code)}</a> ${esc(c.display || "")}<br><span class="muted code">${esc(shortSystem(c.system))}</span></td>
        <td class="opt code">${esc(shortSystem(origin.split("|")[0]))}</td></tr>`;
    }).join("")}</tbody></table>` : `<p class="muted">Aucune.</p>`}`;
}

// ---------------------------------------------------------------- diff view
async function diffPage(kind, params) {
  const url = params.get("url"), from = params.get("from"), to = params.get("to"), id = params.get("id");
  setTitle(`Différences ${from} → ${to}`);
  main.innerHTML = `<p class="muted">Comparaison…</p>`;
  try {
    const d = await getJSON("/ui/api/diff?" + qs({ kind, url, from, to }));
    const list = (title, items, cls) => `<h2>${title} (${items.length})</h2>` +
      (items.length ? `<ul class="plain ${cls}">${items.map((c) => `<li class="code">${esc(c)}</li>`).join("")}</ul>` : `<p class="muted">Aucun.</p>`);
    main.innerHTML = `<p>${id ? tableLink(kind, id, "← Retour à la table") : `<a href="#/">← Recherche</a>`}</p>
      <h1>Différences de ${esc(shortSystem(url) || url)}</h1>
      <p>Version <span class="code">${esc(d.old_version || "")}</span> → <span class="code">${esc(d.new_version || "")}</span></p>
      ${list("Ajoutés", d.added, "diff-add")}
      ${list("Supprimés", d.removed, "diff-del")}
      ${list("Retirés (devenus inactifs)", d.retired, "diff-del")}
      ${list("Réactivés", d.reactivated, "diff-add")}
      <h2>Libellés modifiés (${d.relabelled.length})</h2>
      ${d.relabelled.length ? `<table><thead><tr><th>Code</th><th>Avant</th><th>Après</th></tr></thead><tbody>${d.relabelled.map((r) => `<tr><td class="code">${esc(r.code)}</td><td class="diff-del">${esc(r.old)}</td><td class="diff-add">${esc(r.new)}</td></tr>`).join("")}</tbody></table>` : `<p class="muted">Aucun.</p>`}`;
  } catch (e) {
    main.innerHTML = errorBox(e);
  }
}

// ---------------------------------------------------------------- router
function route() {
  const h = location.hash.replace(/^#/, "") || "/";
  const [path, query] = h.split("?");
  const params = new URLSearchParams(query || "");
  const seg = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (seg[0] === "table" && seg.length >= 3) return tablePage(seg[1], seg.slice(2).join("/"), params);
  if (seg[0] === "concept") return conceptPage(params);
  if (seg[0] === "diff" && seg[1]) return diffPage(seg[1], params);
  return home(params);
}
window.addEventListener("hashchange", () => { route(); main.focus({ preventScroll: true }); });
document.addEventListener("keydown", (e) => {
  if (e.key === "/" && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName || "")) {
    const s = main.querySelector('input[type="search"]');
    if (s) { e.preventDefault(); s.focus(); s.select(); }
  }
});
fetch("/health/ready").then((r) => r.json()).then((r) => {
  document.getElementById("ready").textContent = r.status === "ready"
    ? `génération ${r.generation}, ${r.tables} tables, ${r.concepts} concepts, chargée le ${r.loaded_at}` : "chargement en cours";
}).catch(() => {});
route();
