// sizeup page: forms generated from GET /api/commands, answers from POST /api/<command>.
// It computes nothing itself: every number shown comes from the API (the same engine and
// the same JSON as `sizeup <command> --json`). The state lives in the URL.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { commands: [], models: [], gpus: [], config: null, configName: "", generation: 0 };
const TASK_LABELS = { infer: "Inference", train: "Training or fine-tuning", fit: "Largest model that fits",
  plan: "Best parallel layouts", serve_plan: "Serving plans" };
// Shortcuts for the usual questions: a command, and for fine-tuning the option that selects
// it (shown only when the engine has that command and option).
const TASKS = [
  { label: "Inference", command: "infer" },
  { label: "Training", command: "train", set: ["finetune", ""] },
  { label: "Fine-tuning (LoRA)", command: "train", set: ["finetune", "lora"] },
  { label: "Best layouts", command: "plan" },
];
const FOLDED_GROUPS = ["Hypothetical model", "Assumptions", "Activations"];
const BATCH_OPTIONS = ["micro_batch", "batch"];
const SEQ_OPTIONS = ["seq", "context"];
const COLORS = ["#0b5cad", "#c75000", "#2e7d32", "#6a1b9a", "#00838f", "#ad1457", "#5d4037",
  "#455a64", "#9e7c00", "#283593"];

function gib(bytes) { return bytes / 2 ** 30; }
function fmtGib(bytes) { return gib(bytes).toFixed(2) + " GiB"; }
function command() { return state.commands.find((c) => c.name === $("command").value); }
function modelOption(c) { return c && c.options.find((o) => o.name === "model"); }

async function getJson(url, init) {
  const res = await fetch(url, init);
  const body = await res.json();
  return { ok: res.ok, status: res.status, body };
}

// ---- Form ----------------------------------------------------------------------------
function inputFor(o) {
  const id = "opt-" + o.name;
  let el;
  if (o.kind === "flag") {
    el = document.createElement("input");
    el.type = "checkbox";
  } else if (o.kind === "toggle" || (o.choices && o.choices.length)) {
    el = document.createElement("select");
    const values = o.kind === "toggle" ? [["", "default"], ["true", "yes"], ["false", "no"]]
      : [["", "default"]].concat(o.choices.map((v) => [v, v]));
    for (const [v, text] of values) el.add(new Option(text, v));
  } else {
    el = document.createElement("input");
    el.type = "text";
    if (!["text", "json"].includes(o.kind)) el.inputMode = "decimal";
    if (o.name === "gpu") el.setAttribute("list", "gpu-names");
    el.autocomplete = "off";
  }
  el.id = id;
  el.name = o.name;
  el.dataset.kind = o.kind;
  const help = document.createElement("p");
  help.className = "help";
  help.id = id + "-help";
  help.textContent = o.help;
  el.setAttribute("aria-describedby", help.id);
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = o.name.replace(/_/g, " ");
  const wrap = document.createElement("div");
  wrap.className = "option";
  if (o.kind === "flag") {
    label.className = "inline";
    wrap.append(el, label, help);
  } else {
    wrap.append(label, el, help);
  }
  return wrap;
}

function renderOptions(values) {
  const c = command();
  $("command-help").textContent = c ? c.help : "";
  $("model-fieldset").hidden = !modelOption(c);
  const box = $("options");
  box.replaceChildren();
  if (!c) return;
  const groups = new Map();
  for (const o of c.options) {
    if (o.name === "model" || o.name === "config" || o.kind === "json") continue;
    const g = o.group || "";
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(o);
  }
  for (const [g, opts] of groups) {
    const fs = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = g || "Options of " + c.name;
    fs.append(legend);
    for (const o of opts) fs.append(inputFor(o));
    if (g) {  // groups are folded when rarely needed, unless one of their options is set
      const d = document.createElement("details");
      d.className = "group";
      d.open = !FOLDED_GROUPS.includes(g) || opts.some((o) => values.has(o.name));
      const s = document.createElement("summary");
      s.textContent = g;
      d.append(s, fs);
      box.append(d);
    } else {
      box.append(fs);
    }
  }
  for (const [name, v] of values) {
    const el = $("opt-" + name);
    if (!el) continue;
    if (el.type === "checkbox") el.checked = v === "true";
    else el.value = v;
  }
}

// The options as the API takes them: strings as typed (the engine parses 70B, 80GiB),
// booleans for flags and toggles.
function readOptions() {
  const c = command();
  const options = {};
  if (!c) return options;
  if (modelOption(c)) {
    if (state.config) options.config = state.config;
    else if ($("model-select").value) options.model = $("model-select").value;
  }
  for (const el of $("options").querySelectorAll("input, select")) {
    if (el.type === "checkbox") { if (el.checked) options[el.name] = true; continue; }
    const v = el.value.trim();
    if (v === "") continue;
    if (el.dataset.kind === "toggle") options[el.name] = v === "true";
    else options[el.name] = v;
  }
  return options;
}

function renderTasks() {
  const box = $("tasks");
  box.replaceChildren();
  for (const t of TASKS) {
    const c = state.commands.find((x) => x.name === t.command);
    if (!c || (t.set && t.set[1] && !c.options.some((o) => o.name === t.set[0]))) continue;
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = t.label;
    const current = () => $("command").value === t.command &&
      (!t.set || (($("opt-" + t.set[0]) || {}).value || "") === t.set[1]);
    b.setAttribute("aria-pressed", String(current()));
    b.addEventListener("click", () => {
      if ($("command").value !== t.command) {
        $("command").value = t.command;
        renderOptions(new Map());
      }
      if (t.set && $("opt-" + t.set[0])) $("opt-" + t.set[0]).value = t.set[1];
      schedule();
    });
    box.append(b);
    b.refresh = () => b.setAttribute("aria-pressed", String(current()));
  }
}

function refreshTasks() { for (const b of $("tasks").children) if (b.refresh) b.refresh(); }

function writeUrl() {
  const p = new URLSearchParams();
  p.set("command", $("command").value);
  const o = readOptions();
  for (const [k, v] of Object.entries(o)) if (k !== "config") p.set(k, String(v));
  let hash = "";
  if (state.config) {
    const text = JSON.stringify(state.config);
    if (text.length < 6000) hash = "#config=" + encodeURIComponent(text);
  }
  history.replaceState(null, "", "?" + p.toString() + hash);
}

function readUrl() {
  const p = new URLSearchParams(location.search);
  const values = new Map();
  for (const [k, v] of p) if (k !== "command") values.set(k, v);
  if (location.hash.startsWith("#config=")) {
    try {
      state.config = JSON.parse(decodeURIComponent(location.hash.slice(8)));
      state.configName = "config.json from the link";
    } catch (e) { state.config = null; }
  }
  return { command: p.get("command"), values };
}

// ---- Results -------------------------------------------------------------------------
function showDerivation(row) {
  const dl = $("derivation-body");
  dl.replaceChildren();
  $("derivation-title").textContent = row.label;
  const items = [["Value", row.display + (row.unit && !row.display.includes(row.unit) ? " " + row.unit : "")],
    ["Formula", row.formula], ["Substituted", row.substituted], ["Source", row.source],
    ["JSON key", row.key]];
  for (const [k, v] of items) {
    if (!v) continue;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
  if (!row.formula) {
    const dd = document.createElement("dd");
    dd.textContent = "This row is an input or a lookup: it has no formula of its own.";
    dl.append(dd);
  }
  $("derivation").showModal();
}

function renderTables(report) {
  const box = $("tables");
  box.replaceChildren();
  for (const s of report.sections) {
    if (!s.rows.length) continue;
    const wrap = document.createElement("div");
    wrap.className = "table-wrap";
    const t = document.createElement("table");
    const cap = t.createCaption();
    cap.textContent = s.title;
    const head = t.createTHead().insertRow();
    const columns = s.columns && s.columns.length ? s.columns : ["quantity", "value"];
    const ncells = Math.max(0, ...s.rows.map((r) => (r.cells || []).length));
    for (let i = 0; i < 2 + ncells; ++i) {
      const h = columns[i] || "";
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = h;
      head.append(th);
    }
    const body = t.createTBody();
    for (const row of s.rows) {
      const tr = body.insertRow();
      tr.dataset.key = row.key;
      const th = document.createElement("th");
      th.scope = "row";
      const b = document.createElement("button");
      b.type = "button";
      b.className = "derive";
      b.textContent = row.label;
      b.title = "show the derivation";
      b.addEventListener("click", () => showDerivation(row));
      th.append(b);
      const td = tr.insertCell();
      td.className = "value";
      td.textContent = row.display;
      td.dataset.value = JSON.stringify(row.value);
      tr.prepend(th);
      for (let i = 0; i < ncells; ++i) tr.insertCell().textContent = (row.cells || [])[i] || "";
    }
    wrap.append(t);
    for (const n of s.notes || []) {
      const p = document.createElement("p");
      p.className = "help";
      p.textContent = n;
      wrap.append(p);
    }
    box.append(wrap);
  }
  for (const n of report.notes || []) {
    const p = document.createElement("p");
    p.className = "help";
    p.textContent = n;
    box.append(p);
  }
}

// Lists in the answer that are not rows (the catalog, the planner's layouts, ...): one table
// each, its columns the scalar fields of the entries.
function renderLists(json) {
  const box = $("lists");
  box.replaceChildren();
  for (const [key, list] of Object.entries(json)) {
    if (!Array.isArray(list) || !list.length || typeof list[0] !== "object" || list[0] === null) continue;
    const columns = [...new Set(list.flatMap((e) => Object.keys(e).filter((k) => typeof e[k] !== "object" || e[k] === null)))];
    if (!columns.length) continue;
    const wrap = document.createElement("div");
    wrap.className = "table-wrap";
    const t = document.createElement("table");
    t.dataset.list = key;
    t.createCaption().textContent = key.replace(/_/g, " ") + (list.length > 50 ? " (first 50 of " + list.length + ")" : "");
    const head = t.createTHead().insertRow();
    for (const c of columns) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = c.replace(/_/g, " ");
      head.append(th);
    }
    const body = t.createTBody();
    for (const e of list.slice(0, 50)) {
      const tr = body.insertRow();
      for (const c of columns) {
        const v = e[c];
        const td = tr.insertCell();
        td.textContent = v === undefined || v === null ? "" : typeof v === "number" && /_bytes$/.test(c) ? fmtGib(v)
          : typeof v === "number" ? (Number.isInteger(v) ? v.toLocaleString("en-US") : v.toPrecision(4)) : String(v);
      }
    }
    wrap.append(t);
    box.append(wrap);
  }
}

const NOT_COMPONENTS = /^(total|limit|host|first_stage|last_stage|heuristic.*|.*_total)_bytes$/;

function gpuCapacity(json) {
  if (json.memory && json.memory.limit_bytes) return json.memory.limit_bytes;
  if (json.gpu && json.gpu.memory_bytes) return json.gpu.memory_bytes;
  const name = ($("opt-gpu") || {}).value;
  const g = state.gpus.find((x) => x.name === name);
  return g ? g.memory_bytes : 0;
}

function renderMemory(json) {
  const fig = $("memory");
  const m = json.memory;
  if (!m || typeof m !== "object" || !m.total_bytes) { fig.hidden = true; return; }
  const parts = Object.entries(m).filter(([k, v]) => k.endsWith("_bytes") && !NOT_COMPONENTS.test(k)
    && typeof v === "number" && v > 0);
  const capacity = gpuCapacity(json);
  const scale = Math.max(m.total_bytes, capacity || 0);
  const bar = $("memory-bar");
  const legend = $("memory-legend");
  bar.replaceChildren();
  legend.replaceChildren();
  parts.forEach(([k, v], i) => {
    const span = document.createElement("span");
    span.style.width = (100 * v / scale) + "%";
    span.style.background = COLORS[i % COLORS.length];
    span.title = k.replace(/_bytes$/, "") + ": " + fmtGib(v);
    bar.append(span);
    const li = document.createElement("li");
    const sw = document.createElement("i");
    sw.style.background = COLORS[i % COLORS.length];
    li.append(sw, k.replace(/_bytes$/, "").replace(/_/g, " ") + " " + fmtGib(v));
    legend.append(li);
  });
  if (capacity) {  // the GPU's memory, marked on the bar
    const mark = document.createElement("b");
    mark.className = "capacity";
    mark.style.left = "calc(" + (100 * capacity / scale) + "% - 2px)";
    mark.title = "GPU memory " + fmtGib(capacity);
    bar.append(mark);
  }
  const li = document.createElement("li");
  li.textContent = "total " + fmtGib(m.total_bytes) + (capacity ? " of " + fmtGib(capacity) + " per GPU" +
    (m.total_bytes > capacity ? " (does not fit)" : "") : "");
  legend.append(li);
  bar.setAttribute("aria-label", "Memory per GPU: " + parts.map(([k, v]) => k.replace(/_bytes$/, "") + " " +
    fmtGib(v)).join(", ") + "; " + li.textContent);
  fig.hidden = false;
}

// Memory against one option: one request per value, plotted with uPlot.
async function sweep(c, base, names, values, el, titleEl, generation) {
  const name = names.find((n) => c.options.some((o) => o.name === n));
  if (!name) { el.replaceChildren(); titleEl.textContent = ""; return false; }
  const totals = [], caps = [];
  for (const v of values) {
    const r = await getJson("/api/" + c.name, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({}, base, { [name]: v })) }).catch(() => null);
    if (generation !== state.generation) return false;
    const ok = r && r.ok && r.body.memory && r.body.memory.total_bytes;
    totals.push(ok ? gib(r.body.memory.total_bytes) : null);
    caps.push(ok ? gib(gpuCapacity(r.body)) || null : null);
  }
  if (!totals.some((v) => v !== null)) return false;
  titleEl.textContent = "Memory per GPU (GiB) against " + name.replace(/_/g, " ");
  el.replaceChildren();
  const width = Math.max(260, Math.min(720, el.clientWidth || $("results").clientWidth - 20));
  new uPlot({
    width, height: 220,
    scales: { x: { time: false, distr: 3, log: 2 } },
    axes: [{ label: name.replace(/_/g, " ") }, { label: "GiB" }],
    series: [{ label: name }, { label: "total", stroke: COLORS[0], width: 2 },
      { label: "GPU memory", stroke: "#a00000", dash: [6, 4] }],
  }, [values, totals, caps], el);
  return true;
}

async function compute() {
  const generation = ++state.generation;
  const c = command();
  if (!c) return;
  writeUrl();
  refreshTasks();
  const options = readOptions();
  $("status").textContent = "Computing…";
  for (const el of $("options").querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  let r;
  try {
    r = await getJson("/api/" + c.name + "?rows=1", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(options) });
  } catch (e) {
    r = { ok: false, body: { error: { field: "", message: "the server did not answer: " + e } } };
  }
  if (generation !== state.generation) return;
  if (!r.ok) {
    const err = r.body.error || { field: "", message: "error " + r.status };
    const el = $("opt-" + err.field) || (err.field === "model" ? $("model-select") : null);
    if (el) el.setAttribute("aria-invalid", "true");
    $("error").textContent = err.message;
    $("status").textContent = "Error in " + (err.field || "the request") + ".";
    return;
  }
  $("error").textContent = "";
  const report = r.body.report;
  delete r.body.report;
  $("report-title").textContent = report.title;
  renderTables(report);
  renderLists(r.body);
  renderMemory(r.body);
  $("json").textContent = JSON.stringify(r.body, null, 2);
  $("status").textContent = "Up to date.";
  const base = Object.assign({}, options);
  const a = await sweep(c, base, BATCH_OPTIONS, [1, 2, 4, 8, 16, 32, 64], $("chart-batch"), $("chart-batch-title"), generation);
  const b = await sweep(c, base, SEQ_OPTIONS, [512, 1024, 2048, 4096, 8192, 16384, 32768], $("chart-seq"), $("chart-seq-title"), generation);
  if (generation === state.generation) $("sweeps").hidden = !(a || b);
}

let timer = 0;
function schedule() { clearTimeout(timer); timer = setTimeout(compute, 250); }

function loadConfig(file) {
  const reader = new FileReader();
  reader.onload = () => {
    try {
      state.config = JSON.parse(reader.result);
      state.configName = file.name;
      $("model-select").value = "";
      $("config-status").textContent = "Using " + file.name + " (clear it by choosing a catalog model).";
    } catch (e) {
      $("config-status").textContent = file.name + " is not JSON: " + e.message;
      state.config = null;
    }
    schedule();
  };
  reader.readAsText(file);
}

async function init() {
  const [cmds, models, gpus] = await Promise.all([getJson("/api/commands"), getJson("/api/models"),
    getJson("/api/gpus")]);
  state.commands = cmds.body.commands;
  state.models = models.body.models || [];
  state.gpus = gpus.body.gpus || [];
  for (const c of state.commands) {
    const label = TASK_LABELS[c.name] ? TASK_LABELS[c.name] + " (" + c.name + ")" : c.name + ": " + c.help;
    $("command").add(new Option(label, c.name));
  }
  $("model-select").add(new Option("(none: use a config.json or shape options)", ""));
  for (const m of state.models) $("model-select").add(new Option(m.name + " (" + m.family + ")", m.name));
  const list = document.createElement("datalist");
  list.id = "gpu-names";
  for (const g of state.gpus) list.append(new Option(g.display_name || g.name, g.name));
  document.body.append(list);

  const url = readUrl();
  const names = state.commands.map((c) => c.name);
  $("command").value = names.includes(url.command) ? url.command
    : ["train", "infer", "params"].find((n) => names.includes(n)) || names[0];
  const model = url.values.get("model");
  $("model-select").value = model && state.models.some((m) => m.name === model) ? model
    : state.config ? "" : "llama-3-8b";
  url.values.delete("model");
  if (state.config) $("config-status").textContent = "Using " + state.configName + ".";
  renderOptions(url.values);
  renderTasks();

  $("command").addEventListener("change", () => { renderOptions(new Map()); schedule(); });
  $("model-select").addEventListener("change", () => {
    if ($("model-select").value) { state.config = null; $("config-status").textContent = ""; }
    schedule();
  });
  $("options").addEventListener("input", schedule);
  $("options").addEventListener("change", schedule);
  $("config-file").addEventListener("change", (e) => { if (e.target.files[0]) loadConfig(e.target.files[0]); });
  const form = $("form");
  form.addEventListener("submit", (e) => { e.preventDefault(); compute(); });
  form.addEventListener("dragover", (e) => { e.preventDefault(); $("drop").classList.add("over"); });
  form.addEventListener("dragleave", () => $("drop").classList.remove("over"));
  form.addEventListener("drop", (e) => {
    e.preventDefault();
    $("drop").classList.remove("over");
    if (e.dataTransfer.files[0]) loadConfig(e.dataTransfer.files[0]);
  });
  await compute();
}

init().catch((e) => { $("error").textContent = "The page could not start: " + e; });
