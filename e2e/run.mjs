// End-to-end browser tests of the nosterm UI, in Debian's headless chromium driven by
// playwright-core (no browser download). Run by scripts/e2e, which starts the server and sets
// NOSTERM_URL. Exits 1 on the first failed check; prints timings and writes screenshots.
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const BASE = process.env.NOSTERM_URL || "http://127.0.0.1:8080";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "screenshots");
const LOINC = "https://mos.esante.gouv.fr/NOS/TRE_A04-Loinc/FHIR/TRE-A04-Loinc";
mkdirSync(SHOTS, { recursive: true });

let failures = 0;
const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures++;
    results.push(`FAIL ${name}: ${e.message.split("\n")[0]}`);
  }
  console.log(results[results.length - 1]);
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
function eq(a, b, msg) {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${msg}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const profile = mkdtempSync(join(tmpdir(), "nosterm-e2e-"));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
  viewport: { width: 1280, height: 860 },
  locale: "fr-FR",
});
ctx.setDefaultTimeout(10_000);
const page = ctx.pages()[0] || (await ctx.newPage());
page.on("pageerror", (e) => console.log(`page error: ${e.message}`));

try {
  await check('J07 picker: "cr op" → "CR opératoire" first', async () => {
    await page.goto(`${BASE}/demo`);
    const input = page.locator("#j07 input");
    await input.click();
    await input.pressSequentially("cr op", { delay: 40 });
    const first = page.locator('#j07 li[role="option"]').first();
    await first.waitFor();
    await page.waitForFunction(() => {
      const el = document.querySelector("#j07");
      return el.lastQuery === "cr op" && !el._list.hidden;
    });
    const text = (await first.locator("span").first().innerText()).trim();
    eq(text, "CR opératoire", "first suggestion");
    assert((await first.getAttribute("aria-selected")) === "true", "first suggestion is not the active one");
    assert((await first.locator("mark").count()) >= 2, "matches are not highlighted");
    await page.screenshot({ path: join(SHOTS, "demo-autocomplete.png") });
  });

  await check("J07 picker: Enter chooses it → nos-select with the right Coding", async () => {
    await page.locator("#j07 input").press("Enter");
    const events = await page.evaluate(() => window.nosEvents);
    eq(events.length, 1, "nos-select events");
    eq(events[0].coding, { system: LOINC, code: "34874-8", display: "CR opératoire" }, "Coding");
    eq(await page.locator("#j07 input").inputValue(), "CR opératoire", "input text after choice");
    assert(await page.locator("#j07 ul").isHidden(), "list still open after choice");
  });

  await check("J07 picker: arrows move, Escape closes", async () => {
    const input = page.locator("#j07 input");
    await input.fill("");
    await input.pressSequentially("compte rendu", { delay: 30 });
    await page.locator('#j07 li[role="option"]').nth(1).waitFor();
    await input.press("ArrowDown");
    eq(await page.locator('#j07 li[role="option"]').nth(1).getAttribute("aria-selected"), "true", "second active after ↓");
    const active = await input.getAttribute("aria-activedescendant");
    assert(active && active.endsWith("-o1"), `aria-activedescendant ${active}`);
    await input.press("ArrowUp");
    eq(await page.locator('#j07 li[role="option"]').nth(0).getAttribute("aria-selected"), "true", "first active after ↑");
    await input.press("Escape");
    assert(await page.locator("#j07 ul").isHidden(), "Escape did not close the list");
    eq(await input.getAttribute("aria-expanded"), "false", "aria-expanded");
  });

  await check("G15 picker: keyboard only (Tab, type, ↓, Enter) picks a profession", async () => {
    await page.locator("#j07 input").focus();
    await page.keyboard.press("Tab");
    await page.keyboard.type("sage fem", { delay: 30 });
    await page.locator('#g15 li[role="option"]').first().waitFor();
    await page.waitForFunction(() => document.querySelector("#g15").shadowRoot.querySelector("li[data-i]")?.textContent.includes("Sage"));
    await page.keyboard.press("Enter");
    const events = await page.evaluate(() => window.nosEvents);
    const last = events[events.length - 1];
    eq(last.picker, "g15", "picker");
    eq(last.coding.system, "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante", "system");
    assert(/sage-femme/i.test(last.coding.display), `display ${last.coding.display}`);
    await page.screenshot({ path: join(SHOTS, "demo-g15.png") });
  });

  await check("pinned value-set-version answers from that version", async () => {
    const n = await page.evaluate(async () => {
      const el = document.createElement("nos-autocomplete");
      el.setAttribute("value-set", "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS");
      el.setAttribute("value-set-version", "0.1.0");
      document.body.append(el);
      const done = new Promise((r) => el.addEventListener("nos-render", (e) => r(e.detail)));
      el._input.value = "attestation";
      el._input.dispatchEvent(new Event("input"));
      const d = await done;
      el.remove();
      return d.count;
    });
    assert(n > 0, "no suggestion from version 0.1.0");
  });

  // Keystroke → rendered suggestions, measured in the page (performance.now at the input
  // event, to the list in the DOM), over several queries typed one key at a time.
  await check("keystroke-to-rendered-suggestions time", async () => {
    await page.goto(`${BASE}/demo`);
    const input = page.locator("#j07 input");
    const queries = ["cr op", "lettre", "compte rendu", "synthese", "ordonnance", "bilan", "cr consult", "radio", "imagerie", "vaccin"];
    const all = [];
    for (const q of queries) {
      await input.fill("");
      for (const ch of q) {
        const wait = page.evaluate(() => new Promise((r) => {
          const el = document.querySelector("#j07");
          el.addEventListener("nos-render", (e) => r(e.detail.ms), { once: true });
        }));
        await input.press(ch === " " ? "Space" : ch);
        // The keystroke's own suggestions (one key at a time: no debounce coalescing).
        all.push(await wait);
      }
    }
    const server = all.map((ms) => ms - 120);
    console.log(`     keystroke → rendered suggestions over ${all.length} keystrokes: median ${pct(all, 50).toFixed(1)} ms, p90 ${pct(all, 90).toFixed(1)} ms, max ${Math.max(...all).toFixed(1)} ms (incl. the 120 ms debounce; without it median ${pct(server, 50).toFixed(1)} ms, p90 ${pct(server, 90).toFixed(1)} ms)`);
    assert(pct(all, 50) < 400, "median above 400 ms");
  });

  await check("home search → concept page", async () => {
    await page.goto(`${BASE}/`);
    await page.screenshot({ path: join(SHOTS, "home.png") });
    const q = page.locator("#q");
    await q.fill("cr opératoire");
    const link = page.locator("#concept-results a", { hasText: "CR opératoire" }).first();
    await link.waitFor();
    await page.screenshot({ path: join(SHOTS, "home-search.png") });
    await link.focus();
    await page.keyboard.press("Enter");
    await page.locator("#concept-title").waitFor();
    const title = await page.locator("#concept-title").innerText();
    assert(title.includes("34874-8") && title.includes("CR opératoire"), `concept title ${title}`);
    await page.locator("#jdv-list a", { hasText: "J07" }).first().waitFor();
    await page.screenshot({ path: join(SHOTS, "concept.png"), fullPage: true });
  });

  await check("concept page: designations, dates and ASS mappings", async () => {
    await page.goto(`${BASE}/#/concept?system=${encodeURIComponent("http://loinc.org")}&code=11369-6`);
    await page.locator("#concept-title").waitFor();
    await page.getByText("TRE_A03-ClasseDocument").first().waitFor();
    await page.goto(`${BASE}/#/concept?system=${encodeURIComponent("https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante")}&code=10`);
    await page.getByText("Date de validité").waitFor();
    await page.getByText("LibelleCourt").first().waitFor();
  });

  await check("table page: metadata, paging and search box", async () => {
    await page.goto(`${BASE}/#/table/CodeSystem/TRE-G15-ProfessionSante`);
    await page.locator("#concept-list tbody tr").first().waitFor();
    const oid = await page.locator("dl.meta dd.code").nth(1).innerText();
    eq(oid, "1.2.250.1.71.1.2.7", "OID");
    await page.locator("#cq").fill("infirm");
    await page.waitForFunction(() => [...document.querySelectorAll("#concept-list td a")].every((a) => /infirm/i.test(a.textContent)) && document.querySelectorAll("#concept-list td a").length > 0);
    await page.screenshot({ path: join(SHOTS, "table.png"), fullPage: true });
  });

  await check("value set with two versions: diff view", async () => {
    await page.goto(`${BASE}/#/table/ValueSet/${encodeURIComponent("1.2.250.1.213.1.1.5.471")}`);
    await page.locator("#diff-form button").click();
    await page.getByRole("heading", { name: /Ajoutés/ }).waitFor();
    await page.screenshot({ path: join(SHOTS, "diff.png") });
  });

  await check("phone viewport: home readable, no horizontal scroll", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${BASE}/#/?q=infirmier`);
    await page.locator("#concept-results").waitFor();
    const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert(over <= 1, `page is ${over}px wider than the phone screen`);
    await page.screenshot({ path: join(SHOTS, "phone-search.png") });
    await page.goto(`${BASE}/demo`);
    await page.locator("#j07 input").pressSequentially("cr op", { delay: 30 });
    await page.locator('#j07 li[role="option"]').first().waitFor();
    await page.screenshot({ path: join(SHOTS, "phone-demo.png") });
  });
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}

console.log(`\n${results.length - failures}/${results.length} e2e checks passed; screenshots in docs/screenshots/`);
process.exit(failures ? 1 : 0);
