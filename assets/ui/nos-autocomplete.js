// <nos-autocomplete value-set="…" [value-set-version="…"] [fhir-base="/fhir"] [count="10"]
//                   [label="…"] [placeholder="…"] [min-chars="1"]>
// A picker over a FHIR terminology server's ValueSet/$expand?filter=: debounced (120 ms), the
// request in flight cancelled by the next keystroke (AbortController), ARIA combobox with
// keyboard navigation (↑ ↓ Home End Enter Escape), matches highlighted. Choosing a concept
// fires `nos-select` (bubbles, composed) with detail {system, code, display}; the element's
// `value` is then that Coding. Every rendered list also fires `nos-render` with detail
// {query, ms, count}: the time from the keystroke to the suggestions in the DOM.
// No dependencies; served by nosterm at /ui/nos-autocomplete.js.

const DEBOUNCE_MS = 120;
let nextId = 0;

function fold(s) {
  return String(s ?? "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}
function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
/** `text` escaped, the parts starting like a typed word (accents and case folded) in <mark>. */
export function highlight(text, query) {
  text = String(text ?? "");
  const words = fold(query).split(/[\s,;:'’()\-/]+/).filter(Boolean);
  if (!words.length) return esc(text);
  // NFD + removing marks keeps one folded char per source char for the Latin letters used here.
  const f = fold(text);
  const same = f.length === text.length;
  const marks = new Array(text.length).fill(false);
  for (const w of words) {
    const re = new RegExp(`(^|[^a-z0-9])(${w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")})`, "g");
    let m;
    let any = false;
    while ((m = re.exec(f))) {
      const start = m.index + m[1].length;
      for (let k = start; k < start + w.length && k < marks.length; k++) marks[k] = true;
      any = true;
    }
    if (!any) {
      const i = f.indexOf(w);
      if (i >= 0) for (let k = i; k < i + w.length && k < marks.length; k++) marks[k] = true;
    }
  }
  if (!same) return esc(text);
  let out = "";
  let open = false;
  for (let i = 0; i < text.length; i++) {
    if (marks[i] && !open) { out += "<mark part=\"match\">"; open = true; }
    if (!marks[i] && open) { out += "</mark>"; open = false; }
    out += esc(text[i]);
  }
  return out + (open ? "</mark>" : "");
}

const STYLE = `
:host { display: inline-block; position: relative; min-width: 16rem; font: inherit; }
label { display: block; margin-bottom: .25rem; }
input { box-sizing: border-box; width: 100%; font: inherit; padding: .5rem .6rem;
  border: 1px solid #8a8a95; border-radius: 6px; background: #fff; color: inherit; }
input:focus-visible { outline: 3px solid #ff9940; outline-offset: 1px; }
ul { position: absolute; z-index: 1000; left: 0; right: 0; margin: 2px 0 0; padding: 0; list-style: none;
  background: #fff; border: 1px solid #8a8a95; border-radius: 6px; box-shadow: 0 4px 14px rgba(0,0,0,.12);
  max-height: 22rem; overflow-y: auto; }
ul[hidden] { display: none; }
li { padding: .45rem .6rem; cursor: pointer; display: flex; gap: .5rem; justify-content: space-between; }
li[aria-selected="true"] { background: #000091; color: #fff; }
li[aria-selected="true"] .code { color: #dcdcff; }
.code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85em; color: #5c5c66; white-space: nowrap; }
mark { background: #fff3b0; color: inherit; padding: 0; font-weight: 600; }
li[aria-selected="true"] mark { background: transparent; color: #fff; text-decoration: underline; }
.status { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
li.empty { color: #5c5c66; cursor: default; }
`;

export class NosAutocomplete extends HTMLElement {
  static get observedAttributes() {
    return ["value-set", "value-set-version", "label", "placeholder"];
  }

  constructor() {
    super();
    const id = `nos-ac-${++nextId}`;
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = `<style>${STYLE}</style>
      <label part="label" for="${id}-input"></label>
      <input part="input" id="${id}-input" type="text" role="combobox" autocomplete="off" spellcheck="false"
        aria-autocomplete="list" aria-expanded="false" aria-controls="${id}-list">
      <ul part="listbox" id="${id}-list" role="listbox" hidden></ul>
      <div class="status" role="status" aria-live="polite"></div>`;
    this._id = id;
    this._input = root.querySelector("input");
    this._list = root.querySelector("ul");
    this._label = root.querySelector("label");
    this._status = root.querySelector(".status");
    this._items = [];
    this._active = -1;
    this._timer = 0;
    this._abort = null;
    this._typedAt = 0;
    this._seq = 0;
    this.value = null;
    this.lastLatency = null;
    this.lastQuery = null;
    this._input.addEventListener("input", () => this._onInput());
    this._input.addEventListener("keydown", (e) => this._onKey(e));
    this._input.addEventListener("blur", () => setTimeout(() => this._close(), 150));
    this._list.addEventListener("mousedown", (e) => e.preventDefault());
    this._list.addEventListener("click", (e) => {
      const li = e.target.closest("li[data-i]");
      if (li) this._choose(Number(li.dataset.i));
    });
  }

  connectedCallback() {
    this._render();
  }

  attributeChangedCallback() {
    this._render();
  }

  _render() {
    const label = this.getAttribute("label");
    this._label.textContent = label || "";
    this._label.hidden = !label;
    if (!label) this._input.setAttribute("aria-label", this.getAttribute("value-set") || "Recherche");
    this._input.placeholder = this.getAttribute("placeholder") || "Rechercher…";
  }

  /** The input's text. */
  get text() {
    return this._input.value;
  }

  focus() {
    this._input.focus();
  }

  _onInput() {
    this._typedAt = performance.now();
    clearTimeout(this._timer);
    const q = this._input.value.trim();
    if (q.length < Number(this.getAttribute("min-chars") || 1)) {
      this._abort?.abort();
      this._close();
      return;
    }
    this._timer = setTimeout(() => this._fetch(q, this._typedAt), DEBOUNCE_MS);
  }

  async _fetch(q, typedAt) {
    this._abort?.abort();
    const abort = new AbortController();
    this._abort = abort;
    const seq = ++this._seq;
    const base = (this.getAttribute("fhir-base") || "/fhir").replace(/\/$/, "");
    const params = new URLSearchParams({
      url: this.getAttribute("value-set") || "",
      filter: q,
      count: this.getAttribute("count") || "10",
    });
    const version = this.getAttribute("value-set-version");
    if (version) params.set("valueSetVersion", version);
    try {
      const r = await fetch(`${base}/ValueSet/$expand?${params}`, {
        headers: { Accept: "application/fhir+json" },
        signal: abort.signal,
      });
      const body = await r.json();
      if (seq !== this._seq) return;
      if (!r.ok) throw new Error(body?.issue?.[0]?.details?.text || `HTTP ${r.status}`);
      this._show(q, body.expansion?.contains || [], body.expansion?.total, typedAt);
    } catch (e) {
      if (e.name === "AbortError" || seq !== this._seq) return;
      this._items = [];
      this._list.innerHTML = `<li class="empty" role="option" aria-disabled="true">Erreur : ${esc(e.message)}</li>`;
      this._open();
      this.dispatchEvent(new CustomEvent("nos-error", { detail: { message: e.message }, bubbles: true, composed: true }));
    }
  }

  _show(q, items, total, typedAt) {
    this._items = items.filter((c) => !c.abstract);
    this._active = this._items.length ? 0 : -1;
    this._list.innerHTML = this._items.length
      ? this._items.map((c, i) => `<li role="option" part="option" id="${this._id}-o${i}" data-i="${i}"
          aria-selected="${i === this._active}"><span>${highlight(c.display || c.code, q)}</span>
          <span class="code">${highlight(c.code, q)}</span></li>`).join("")
      : `<li class="empty" role="option" aria-disabled="true">Aucun résultat</li>`;
    this._open();
    this._syncActive();
    this._status.textContent = this._items.length
      ? `${total ?? this._items.length} résultat(s) ; flèches pour choisir, Entrée pour valider`
      : "Aucun résultat";
    const ms = performance.now() - typedAt;
    this.lastLatency = ms;
    this.lastQuery = q;
    this.dispatchEvent(new CustomEvent("nos-render", { detail: { query: q, ms, count: this._items.length } }));
  }

  _open() {
    this._list.hidden = false;
    this._input.setAttribute("aria-expanded", "true");
  }

  _close() {
    this._list.hidden = true;
    this._input.setAttribute("aria-expanded", "false");
    this._input.removeAttribute("aria-activedescendant");
    this._active = -1;
  }

  _syncActive() {
    this._list.querySelectorAll("li[data-i]").forEach((li, i) => li.setAttribute("aria-selected", String(i === this._active)));
    if (this._active >= 0) {
      const li = this._list.querySelector(`#${this._id}-o${this._active}`);
      this._input.setAttribute("aria-activedescendant", li.id);
      li.scrollIntoView({ block: "nearest" });
    } else {
      this._input.removeAttribute("aria-activedescendant");
    }
  }

  _onKey(e) {
    const open = !this._list.hidden && this._items.length > 0;
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        if (!open) { if (this._items.length) { this._open(); this._active = 0; this._syncActive(); } else this._onInput(); return; }
        this._active = (this._active + 1) % this._items.length;
        this._syncActive();
        break;
      case "ArrowUp":
        if (!open) return;
        e.preventDefault();
        this._active = (this._active - 1 + this._items.length) % this._items.length;
        this._syncActive();
        break;
      case "Home":
      case "End":
        if (!open) return;
        e.preventDefault();
        this._active = e.key === "Home" ? 0 : this._items.length - 1;
        this._syncActive();
        break;
      case "Enter":
        if (open && this._active >= 0) {
          e.preventDefault();
          this._choose(this._active);
        }
        break;
      case "Escape":
        if (!this._list.hidden) {
          e.preventDefault();
          this._close();
        } else if (this._input.value) {
          e.preventDefault();
          this._input.value = "";
        }
        break;
      default:
    }
  }

  _choose(i) {
    const c = this._items[i];
    if (!c) return;
    const coding = { system: c.system, code: c.code, display: c.display };
    if (c.version) coding.version = c.version;
    this.value = coding;
    this._input.value = c.display || c.code;
    this._close();
    this._status.textContent = `Choisi : ${c.display || c.code}`;
    this.dispatchEvent(new CustomEvent("nos-select", { detail: coding, bubbles: true, composed: true }));
  }
}

if (!customElements.get("nos-autocomplete")) customElements.define("nos-autocomplete", NosAutocomplete);
