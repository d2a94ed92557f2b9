// Browser test of the page `sizeup serve` embeds: Debian's chromium, headless, driven by
// playwright-core (web/package-lock.json). Usage: node page.mjs URL SCREENSHOT.png
// Loads the page, picks a model, changes batch and GPU, checks that the numbers shown equal
// the API's for the same request, opens a derivation, reloads from the shared URL and gets
// the same state, and saves a screenshot.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const [url, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));

async function settled() {
  await page.waitForFunction(() => document.getElementById("status").textContent === "Up to date.");
}

// The value cells of the results table by JSON key: {key: [display text, raw value]}.
async function shown(p = page) {
  return p.$$eval("tr[data-key]", (rows) => Object.fromEntries(rows.filter((r) => r.dataset.key)
    .map((r) => [r.dataset.key, [r.querySelector("td.value").textContent, JSON.parse(r.querySelector("td.value").dataset.value)]])));
}

function at(obj, path) { return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj); }

await page.goto(url);
await settled();
const commands = await page.$$eval("#command option", (os) => os.map((o) => o.value));
// The richest command on the engine: training if it is there, else inference, else params.
const command = ["train", "infer", "params"].find((c) => commands.includes(c));
await page.selectOption("#command", command);
await page.selectOption("#model-select", "llama-2-7b");
for (const name of ["micro_batch", "batch"]) {
  if (await page.$("#opt-" + name)) { await page.fill("#opt-" + name, "4"); break; }
}
if (await page.$("#opt-gpu")) await page.fill("#opt-gpu", "a100-80gb");
if (await page.$("#opt-gpus")) await page.fill("#opt-gpus", "8");
await page.waitForTimeout(400);
await settled();

// The same request through the API: every row shown equals the API's JSON at its key.
const query = new URL(page.url()).searchParams;
const request = {};
for (const [k, v] of query) if (k !== "command") request[k] = v;
const api = await (await page.request.post(new URL("/api/" + command, url).href, { data: request })).json();
const rows = await shown();
assert.ok(Object.keys(rows).length >= 5, "the results table has rows: " + JSON.stringify(rows));
for (const [key, [text, value]] of Object.entries(rows)) {
  assert.deepEqual(value, at(api, key), key);
  assert.ok(text.length > 0, key);
}
assert.equal(request.model, "llama-2-7b");
if (command === "params") {
  // Llama 2 7B: 6,738,415,616 parameters (HF num_parameters()).
  assert.equal(rows["params.total"][0], "6,738,415,616");
}

// A derivation opens on click and names its formula.
await page.click("tr[data-key] button.derive");
await page.waitForSelector("#derivation[open]");
const derivation = await page.textContent("#derivation-body");
assert.match(derivation, /Formula|no formula/);
await page.keyboard.press("Escape");

// Shared link: a fresh page at the same URL shows the same state and numbers.
const link = page.url();
const again = await browser.newPage({ viewport: { width: 390, height: 844 } });  // phone width
await again.goto(link);
await again.waitForFunction(() => document.getElementById("status").textContent === "Up to date.");
assert.equal(await again.inputValue("#command"), command);
assert.equal(await again.inputValue("#model-select"), "llama-2-7b");
assert.deepEqual(await shown(again), rows);
await again.close();

// The form is reachable by keyboard: Tab from the top reaches the command select.
await page.keyboard.press("Tab");
await page.keyboard.press("Tab");
const focused = await page.evaluate(() => document.activeElement.id || document.activeElement.tagName);
assert.ok(focused, "keyboard focus lands on a control");

await page.screenshot({ path: screenshot, fullPage: true });
assert.deepEqual(errors, [], "no script errors");
await browser.close();
console.log(`browser test: ${command} with ${Object.keys(rows).length} rows equal to the API; screenshot ${screenshot}`);
