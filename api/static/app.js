// The dashboard: plain JavaScript modules, no CDN, everything served by the API itself.
// The API token is asked for once, in the sign-in form, and kept in sessionStorage (gone
// when the browser session ends); it is sent only as "Authorization: Bearer". It is never
// read from or written to an address: addresses end up in history, bookmarks and proxy logs.
//
// Pages (the address's #fragment, so a page can be bookmarked without the token):
// #/national, #/province/82, #/commune/82/<ward>, #/device/<id>. Each page shows what
// the API returns for the province, period and day chosen in the header, and nothing
// the API would refuse the token: the page asks the API, never works around it.
import { TEXT, formatDay, formatNumber, formatTick, formatTime, todayInVietnam } from "./i18n.js";
import { NO_DATA, colourOf, legendSteps, lineChart, pointMap, projection, svgEl } from "./charts.js";

const TOKEN_KEY = "iotgw-token";
const $ = (id) => document.getElementById(id);
let lang = "vi";
const t = (key) => TEXT[lang][key] ?? key;
let statusText = () => "";  // re-rendered when the language changes
const VIEWS = {
  national: ["national-view"],
  province: ["province-view", "breakdown-view", "coverage-view", "gateways-view", "reports-view"],
  commune: ["commune-view"],
  device: ["device-view"],
};

// What was read with the token: dropped at sign-out.
let data = {};
let render = () => {};  // the current page's renderer, re-run when the language changes
const sorting = { national: { key: "province_name", up: true }, coverage: { key: "name", up: true } };

function setStatus(text) {
  statusText = text;
  $("status").textContent = text();
}

const storedToken = () => sessionStorage.getItem(TOKEN_KEY) || "";

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${storedToken()}` } });
  if (response.status === 401) signOut("need_signin");
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(`${response.status}: ${body.detail || response.statusText}`);
  }
  return response.json();
}

// Read once per sign-in: the catalogue and the labels do not change with the page.
async function once(key, path) {
  if (data[key] === undefined) data[key] = await api(path);
  return data[key];
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const COMPARATOR = { ">=": "≥", "<=": "≤", ">": ">", "<": "<" };
const num = (value, digits) => formatNumber(lang, value, digits);
const unitText = (unit) => (unit === "devices" ? t("devices").toLowerCase() : unit);
const indicatorName = (ind) => (lang === "vi" ? ind.name_vi : ind.name_en);
const profileName = (name) => data.profiles?.[name]?.[lang] ?? name;
const provinceName = (code) => data.provinces?.find((p) => p.code === code)?.name ?? String(code);

// -- session ---------------------------------------------------------------------------

function showSignedIn(signedIn) {
  $("signin").hidden = signedIn;
  $("session").hidden = !signedIn;
  $("nav").hidden = !signedIn;
  $("load").disabled = !signedIn;
  $("chart-load").disabled = !signedIn;
}

// Signed out, nothing read with the token stays on the page.
function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  showSignedIn(false);
  data = {};
  render = () => {};
  for (const id of ["indicators", "charts", "own-devices", "whoami", "national-legend", "commune-summary"]) {
    $(id).replaceChildren();
  }
  for (const table of document.querySelectorAll("table tbody")) table.replaceChildren();
  for (const svg of document.querySelectorAll("svg")) svg.replaceChildren();
  for (const ids of Object.values(VIEWS)) ids.forEach((id) => { $(id).hidden = true; });
  setStatus(() => t(message));
}

function describeMe(me) {
  const role = { ministry: "ministry", province: "province_role", operator: "operator",
    organisation: "organisation_role" }[me.role];
  const where = me.role === "organisation" ? `${t("organisation")} ${me.organisation}`
    : me.province ? `${t("province")} ${provinceName(me.province)}` : t("all_provinces");
  return `${me.token} · ${t("role")}: ${t(role)} · ${where}`;
}

// -- routing ---------------------------------------------------------------------------

function show(page) {
  for (const [name, ids] of Object.entries(VIEWS)) ids.forEach((id) => { $(id).hidden = name !== page; });
  for (const [name, id] of [["national", "nav-national"], ["province", "nav-province"], ["device", "nav-device"]]) {
    if (name === page) $(id).setAttribute("aria-current", "page");
    else $(id).removeAttribute("aria-current");
  }
}

function defaultRoute(params) {
  const me = data.me;
  if (me.role === "organisation") return "#/device";
  const province = params.get("province") || me.province;
  if (province) return `#/province/${province}`;
  return "#/national";
}

// What one page showed is gone before the next one asks the API: a page the token may
// not read shows nothing, not what an earlier page had.
function clearPages() {
  render = () => {};
  for (const id of ["indicators", "charts", "commune-summary", "national-legend"]) $(id).replaceChildren();
  for (const table of document.querySelectorAll("main table tbody")) table.replaceChildren();
  for (const svg of document.querySelectorAll("main figure svg")) svg.replaceChildren();
}

// A page's answers arrive after its requests: when another page was asked for meanwhile
// (a quick second click), the older answers are dropped rather than drawn over it.
let routed = 0;
class Superseded extends Error {}

async function route() {
  if (!storedToken() || !data.me) return;
  clearPages();
  const mine = ++routed;
  const fresh = async (pending) => {
    const answer = await pending;
    if (mine !== routed) throw new Superseded();
    return answer;
  };
  const [page, a, b] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  try {
    if (page === "national") await nationalPage(fresh);
    else if (page === "province") await provincePage(fresh, Number(a) || Number($("province").value));
    else if (page === "commune") await communePage(fresh, Number(a), Number(b));
    else if (page === "device") await devicePage(fresh, a);
    else location.replace(defaultRoute(new URLSearchParams(location.search)));
  } catch (err) {
    if (!(err instanceof Superseded)) setStatus(() => `${t("error")} ${err.message}`);
  }
}

// -- national page ---------------------------------------------------------------------

async function nationalPage(fresh) {
  show("national");
  const [catalogue, places, communes] = await fresh(Promise.all([
    once("catalogue", "/v1/indicators"), once("places", "/v1/map/provinces"),
    once("allCommunes", "/v1/map/communes")]));
  const period = $("period").value, date = $("date").value;
  const compared = await fresh(Promise.all(catalogue.filter((ind) => ind.breakdowns.includes("province")).map(
    (ind) => api(`/v1/indicators/${ind.id}/provinces?period=${period}&from=${date}`))));
  data.national = { places, communes, compared, rows: compared.flatMap((found) => {
    const ind = catalogue.find((i) => i.id === found.indicator);
    // The API's target of the province for the period's year and the gap to it.
    return found.values.map((v) => ({ ...v, indicator: ind, gap: v.target?.gap ?? null,
      plan_area_only: !v.target && ind.targets.some((x) => x.province === v.province && x.former_province != null),
      comparable: found.comparable, why: found.why }));
  }) };
  const select = $("map-indicator");
  if (!select.options.length) {
    select.append(...catalogue.map((ind) => new Option(ind.id, ind.id)));
    select.value = catalogue.some((i) => i.id === "active_iot_devices") ? "active_iot_devices" : catalogue[0].id;
  }
  render = renderNational;
  renderNational();
  setStatus(() => `${t("loaded")}: ${data.national.rows.length} × ${t("indicator").toLowerCase()}`);
}

// An evidence mix (kind -> its part of the numerator), as "telemetry 3, declaration 1".
function evidenceText(mix) {
  const parts = Object.entries(mix ?? {}).map(([kind, count]) => `${t(kind)} ${num(count)}`);
  return parts.length ? parts.join(", ") : "–";
}

// The gap to the target and, judged by the API, whether it is met (in its year) or on the path.
function gapText(target) {
  if (!target || target.gap === null) return "–";
  const state = target.met !== null ? t(target.met ? "met" : "not_met")
    : target.on_path !== null ? t(target.on_path ? "on_path" : "behind") : null;
  return state ? `${num(target.gap)} (${state})` : num(target.gap);
}

function nationalCells(row) {
  const ind = row.indicator;
  const evidence = evidenceText(row.suppressed ? {} : row.evidence);
  const target = row.target ? `${COMPARATOR[row.target.comparator]} ${num(row.target.value)} ${unitText(ind.unit)} (${row.target.year})`
    : row.plan_area_only ? t("target_elsewhere") : "–";
  return {
    province_name: row.name, indicator_name: indicatorName(ind),
    value: row.suppressed ? t("suppressed") : row.value === null ? t("none") : `${num(row.value)} ${unitText(ind.unit)}`,
    target, gap: gapText(row.target), area: row.area, evidence,
    denominator_source: row.denominator_source ?? "–",
  };
}

function sortRows(rows, { key, up }, valueOf) {
  rows.sort((a, b) => {
    const x = valueOf(a, key), y = valueOf(b, key);
    // Numbers largest first, names A to Z; a second click reverses.
    const order = (typeof x === "number" || typeof y === "number") ? (y ?? -Infinity) - (x ?? -Infinity)
      : String(x ?? "").localeCompare(String(y ?? ""), "vi");
    return up ? order : -order;
  });
}

function markSorted(table, { key, up }) {
  for (const th of table.querySelectorAll("th[data-key]")) {
    const sorted = th.dataset.key === key;
    th.classList.toggle("sorted", sorted);
    th.classList.toggle("down", sorted && !up);
    if (sorted) th.setAttribute("aria-sort", "other");  // numbers largest first, names A to Z
    else th.removeAttribute("aria-sort");
  }
}

function renderNational() {
  const national = data.national;
  if (!national) return;
  for (const option of $("map-indicator").options) {
    option.textContent = indicatorName(data.catalogue.find((i) => i.id === option.value));
  }
  const filter = $("national-filter").value.toLowerCase();
  const rows = national.rows.filter((r) => `${r.name} ${indicatorName(r.indicator)}`.toLowerCase().includes(filter));
  const numeric = { value: (r) => r.value, gap: (r) => r.gap, target: (r) => r.target?.value ?? null };
  sortRows(rows, sorting.national, (r, key) => (numeric[key] ? numeric[key](r) : nationalCells(r)[key]));
  $("national").querySelector("tbody").replaceChildren(...rows.map((r) => {
    const cells = nationalCells(r);
    const tr = el("tr", { "data-province": String(r.province), "data-indicator": r.indicator.id });
    tr.append(el("td", {}, el("a", { href: `#/province/${r.province}` }, cells.province_name)));
    for (const key of ["indicator_name", "value", "target", "gap", "area", "evidence", "denominator_source"]) {
      tr.append(el("td", { "data-key": key }, cells[key]));
    }
    if (r.suppressed) tr.className = "suppressed";
    return tr;
  }));
  markSorted($("national"), sorting.national);
  const notComparable = national.compared.filter((c) => !c.comparable);
  $("national-comparable").textContent = notComparable.map((c) => `${t("not_comparable")} (${c.indicator}): ${c.why}`)
    .join(" · ");
  renderNationalMap();
}

function renderNationalMap() {
  const national = data.national;
  const ind = data.catalogue.find((i) => i.id === $("map-indicator").value);
  const values = new Map(national.rows.filter((r) => r.indicator.id === ind.id).map((r) => [r.province, r]));
  // Percentages on 0-100; counts up to the largest, rounded up to a multiple of 5.
  const max = ind.unit === "%" ? 100
    : 5 * Math.ceil(Math.max(5, ...[...values.values()].map((r) => r.value ?? 0)) / 5);
  const svg = $("national-map");
  const points = national.places.map((p) => {
    const row = values.get(p.code);
    const value = row && !row.suppressed ? row.value : null;
    return { ...p, key: String(p.code), href: `#/province/${p.code}`, colour: colourOf(value, max), text: p.name,
      label: `${p.name}: ${value === null ? t("legend_none") : `${num(value)} ${unitText(ind.unit)}`}` };
  });
  pointMap(svg, points, { width: 560, height: 760, radius: 8, labels: true, title: indicatorName(ind), pad: 60 });
  // The communes, as a background that draws the country's shape; decorative.
  const dots = svgEl("g", { class: "communes", "aria-hidden": "true" });
  const project = projection(national.places.filter((p) => p.latitude != null), 560, 760, 60);
  for (const c of national.communes) {
    if (c.latitude == null) continue;
    const [x, y] = project(c);
    dots.append(svgEl("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 1.2, fill: "#8c96a0" }));
  }
  svg.insertBefore(dots, svg.querySelector("a"));
  $("national-map-title").textContent = `${t("map")}: ${indicatorName(ind)} (${data.national.compared[0]?.period ?? ""})`;
  $("national-legend").replaceChildren(...legendSteps(max).map((s) => {
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = s.colour;
    return el("li", {}, swatch, `${num(s.from, 0)}–${num(s.to, 0)} ${unitText(ind.unit)}`);
  }), el("li", {}, el("span", { class: "swatch none" }), t("legend_none")));
}

// -- province page ---------------------------------------------------------------------

// The history the province page shows: the year before the day's (months, halves), or
// the four before it (years).
function range(period, date) {
  const year = Number(date.slice(0, 4));
  return { first: period === "year" ? `${year - 4}-01-01` : `${year - 1}-01-01`, last: date };
}
const vnMidnight = (day) => new Date(`${day}T00:00:00+07:00`).getTime();

async function provincePage(fresh, province) {
  show("province");
  $("province").value = String(province);
  const period = $("period").value, date = $("date").value, year = Number(date.slice(0, 4));
  const catalogue = await fresh(once("catalogue", "/v1/indicators"));
  const shown = range(period, date);
  const [values, coverage, communes, gateways, reports] = await fresh(Promise.all([
    Promise.all(catalogue.map((ind) => api(`/v1/indicators/${ind.id}/values?province=${province}` +
      `&period=${period}&level=province&unit=${province}&from=${shown.first}&to=${shown.last}`))),
    api(`/v1/provinces/${province}/coverage?date=${date}`),
    api(`/v1/provinces/${province}/communes`),
    api(`/v1/gateways?province=${province}`),
    api(`/v1/provinces/${province}/reports?year=${year - 1}&year=${year}`)]));
  data.province = { code: province, values, coverage, communes, gateways, reports, range: shown };
  render = renderProvince;
  renderProvince();
  setStatus(() => `${t("loaded")}: ${coverage.communes.length} ${t("commune").toLowerCase()}`);
}

function renderProvince() {
  const p = data.province;
  if (!p) return;
  $("province-title").textContent = `${t("indicators")} · ${provinceName(p.code)}`;
  renderIndicators(p.values);
  renderBreakdowns(p.coverage);
  renderCoverage();
  renderProvinceMap();
  renderGateways(p.gateways);
  renderReports(p.reports);
}

// A period label (2026-03, 2026-H1, 2026, 2026-03-10) -> the middle of the period, in ms.
function periodMiddle(label) {
  const [year, part] = label.split("-");
  const at = (y, m, d = 1) => Date.UTC(Number(y), m, d) - 7 * 3600000;
  if (!part) return (at(year, 0) + at(Number(year) + 1, 0)) / 2;
  if (part === "H1") return (at(year, 0) + at(year, 6)) / 2;
  if (part === "H2") return (at(year, 6) + at(Number(year) + 1, 0)) / 2;
  const month = Number(part) - 1;
  const day = label.split("-")[2];
  return day ? at(year, month, Number(day)) + 43200000 : (at(year, month) + at(year, month + 1)) / 2;
}
const yearEnd = (year) => Date.UTC(year + 1, 0, 1) - 7 * 3600000;

function progressText(target, ind) {
  if (!target) return null;
  const parts = [`${t("target")} ${COMPARATOR[target.comparator]} ${num(target.value)} ${unitText(ind.unit)}, ${target.year}` +
    ` (${t("plan_line")} ${target.plan}, ${t("line")} ${target.line})`];
  if (target.gap !== null) parts.push(`${t("gap")}: ${num(target.gap)}`);
  if (target.met !== null) parts.push(t(target.met ? "met" : "not_met"));
  else if (target.on_path !== null) {
    parts.push(`${t(target.on_path ? "on_path" : "behind")} (${t("path")}: ${num(target.expected_on_path)})`);
  }
  return parts.join(" · ");
}

function renderIndicators(all) {
  const box = $("indicators");
  box.replaceChildren();
  for (const found of all) {
    const ind = data.catalogue.find((i) => i.id === found.indicator);
    const shown = found.values.filter((v) => !v.suppressed && v.value !== null);
    const last = found.values[found.values.length - 1];
    const card = el("article", { class: "card", "data-indicator": ind.id });
    const heading = el("h3", {}, indicatorName(ind));
    const label = el("div", { class: "indicator", "data-indicator": ind.id });
    if (!last) label.textContent = t("none");
    else if (last.suppressed) label.textContent = `${last.period}: ${t("suppressed")}`;
    else label.textContent = `${last.period}: ${num(last.value)} ${unitText(ind.unit)}`;
    card.append(heading, label);
    const target = last?.target;
    const progress = progressText(target, ind);
    if (progress) {
      const behind = target.met === false || (target.met === null && target.on_path === false);
      card.append(el("p", { class: behind ? "progress behind" : "progress" }, progress));
    }
    const meta = [];
    const area = found.areas[0];
    if (area) meta.push(`${t("area")}: ${area.name}`);
    if (last && !last.suppressed && Object.keys(last.evidence).length) {
      meta.push(`${t("evidence")}: ${evidenceText(last.evidence)}`);
    }
    if (last?.denominator_source) meta.push(`${t("denominator_source")}: ${last.denominator_source}`);
    if (meta.length) card.append(el("p", { class: "meta" }, meta.join(" · ")));
    if (shown.length || target) card.append(trajectory(ind, shown, target));
    box.append(card);
  }
}

// The values over time and, when there is a target, the straight path from the baseline
// year's value to it: how far along the province is toward the target year.
function trajectory(ind, values, target) {
  const svg = svgEl("svg", { class: "trajectory", role: "img", "aria-label": `${t("history")}: ${indicatorName(ind)}` });
  const series = [{ key: "values", label: indicatorName(ind), colour: "#0b5394", dots: true,
    points: values.map((v) => [periodMiddle(v.period), v.value]) }];
  const marks = [];
  if (target) {
    marks.push({ x: yearEnd(target.year), y: target.value, label: `${t("target")} ${target.year}` });
    if (target.baseline !== null) {
      series.push({ key: "path", label: t("path"), colour: "#8a1c1c", dash: true,
        points: [[yearEnd(target.baseline_year), target.baseline], [yearEnd(target.year), target.value]] });
    }
  }
  // From the start of the history shown (or the baseline) to the day (or the target's year).
  const { first, last } = data.province.range;
  const xs = series.flatMap((s) => s.points.map((q) => q[0])).concat(marks.map((m) => m.x));
  const [x0, x1] = [Math.min(vnMidnight(first), ...xs), Math.max(vnMidnight(last) + 86400000, ...xs)];
  // Ticks on the first of a month, at most about six: every 3, 6 or 12 months.
  const months = (x1 - x0) / (30.4 * 86400000);
  const step = months <= 18 ? 3 : months <= 36 ? 6 : 12;
  const ticks = [];
  const [y0, y1] = [new Date(x0 + 7 * 3600000).getUTCFullYear(), new Date(x1 + 7 * 3600000).getUTCFullYear()];
  for (let y = y0; y <= y1 + 1; y++) {
    for (let m = 0; m < 12; m += step) ticks.push(Date.UTC(y, m, 1) - 7 * 3600000);
  }
  const label = (x) => {
    const d = new Date(x + 7 * 3600000);  // the tick's day in Vietnam
    return step === 12 ? String(d.getUTCFullYear()) : `${String(d.getUTCMonth() + 1).padStart(2, "0")}/${d.getUTCFullYear()}`;
  };
  lineChart(svg, { series, marks, width: 420, height: 180, yMin: 0, yMax: ind.unit === "%" ? 100 : undefined,
    xMin: x0, xMax: x1, formatY: (y) => num(y, 0), yTitle: unitText(ind.unit), xTicks: ticks, formatX: label });
  return svg;
}

function countTable(table, counts, labelOf) {
  table.querySelector("tbody").replaceChildren(...Object.entries(counts).sort((a, b) => b[1] - a[1])
    .map(([key, count]) => el("tr", { "data-key": key }, el("td", {}, labelOf(key)), el("td", {}, num(count, 0)))));
}

function renderBreakdowns(coverage) {
  const sectors = {}, profiles = {};
  for (const c of coverage.communes) {
    for (const [k, v] of Object.entries(c.active_by_sector)) sectors[k] = (sectors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(c.active_by_profile)) profiles[k] = (profiles[k] ?? 0) + v;
  }
  countTable($("sectors"), sectors, t);
  countTable($("profiles"), profiles, profileName);
}

function communeCell(c, key) {
  if (key === "last_seen") return formatTime(lang, c.last_seen);
  if (key === "availability") return num(c.availability, 2);
  if (key === "households") return c.suppressed ? t("suppressed") : num(c.households, 0);
  return typeof c[key] === "number" ? num(c[key], 0) : c[key];
}

function renderCoverage() {
  const p = data.province;
  if (!p) return;
  const filter = $("filter").value.toLowerCase();
  const rows = p.coverage.communes.filter((c) => c.name.toLowerCase().includes(filter));
  sortRows(rows, sorting.coverage, (c, k) => c[k]);
  $("coverage").querySelector("tbody").replaceChildren(...rows.map((c) => {
    const tr = el("tr", { "data-commune": String(c.commune) });
    if (!c.active) tr.className = "none";
    tr.append(el("td", {}, el("a", { href: `#/commune/${p.code}/${c.commune}` }, c.name)));
    for (const k of ["devices", "active", "availability", "households", "last_seen"]) {
      tr.append(el("td", { "data-key": k }, communeCell(c, k)));
    }
    return tr;
  }));
  markSorted($("coverage"), sorting.coverage);
}

function renderProvinceMap() {
  const p = data.province;
  const byCode = new Map(p.coverage.communes.map((c) => [c.commune, c]));
  const max = Math.max(1, ...p.coverage.communes.map((c) => c.active));
  pointMap($("province-map"), p.communes.map((c) => {
    const row = byCode.get(c.code);
    return { ...c, key: String(c.code), href: `#/commune/${p.code}/${c.code}`, text: null,
      colour: row && row.devices ? colourOf(row.active, max) : NO_DATA,
      label: `${c.name}: ${row ? `${num(row.active, 0)}/${num(row.devices, 0)} ${t("active").toLowerCase()}` : "–"}` };
  }), { width: 520, height: 520, radius: 4, labels: false, title: `${t("map")}: ${provinceName(p.code)}` });
  $("province-map-title").textContent = `${t("map")}: ${t("active")} / ${t("devices")} · ${provinceName(p.code)}`;
}

function renderGateways(gateways) {
  $("gateways").querySelector("tbody").replaceChildren(...gateways.map((g) => {
    const h = g.health;
    // No heartbeat within the API's health window: the state is not known, not "offline".
    const online = h.online === true;
    const known = typeof h.online === "boolean";
    const since = g.last_seen ? ` (${t(online ? "since" : "last_seen").toLowerCase()} ${formatTime(lang, g.last_seen)})` : "";
    const state = known ? `${t(online ? "online" : "offline")}${since}` : t("unknown");
    return el("tr", { "data-gateway": g.gateway },
      el("td", {}, g.gateway, g.id_conflict ? el("strong", { class: "warn" }, ` ${t("id_conflict")}`) : null),
      el("td", { "data-key": "status" }, state),
      el("td", { "data-key": "last_seen" }, formatTime(lang, g.last_seen)),
      el("td", { "data-key": "buffer_depth" }, num(h.buffer_depth, 0)),
      el("td", { "data-key": "read_errors" }, num(h.read_errors, 0)),
      el("td", { "data-key": "version" }, String(h.version ?? h.agent_version ?? "–")));
  }));
}

async function download(province, report, format) {
  const response = await fetch(`/v1/provinces/${province}/reports/${report.year}/${report.part}.${format}`,
    { headers: { Authorization: `Bearer ${storedToken()}` } });
  if (!response.ok) throw new Error(`${response.status}`);
  const link = el("a", { href: URL.createObjectURL(await response.blob()),
    download: `iotgw-${province}-${report.year}-${report.part}.${format}` });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
}

function renderReports(due) {
  const province = data.province.code;
  $("reports-as-of").textContent = `${t("as_of")}: ${formatTime(lang, due.as_of)}`;
  $("reports").querySelector("tbody").replaceChildren(...due.reports.map((r) => {
    const state = r.status === "filed"
      ? `${t("filed")} ${formatTime(lang, r.filed_at)} (${t(r.on_time ? "on_time" : "filed_late")})`
      : `${t(r.status)} · ${t("draft")}`;
    const buttons = ["csv", "xlsx"].map((format) => {
      const button = el("button", { type: "button", class: "link",
        "data-download": `${r.year}/${r.part}.${format}` }, format.toUpperCase());
      button.setAttribute("aria-label", `${t("download")} ${r.period} ${format.toUpperCase()}`);
      button.addEventListener("click", () => download(province, r, format)
        .catch((err) => setStatus(() => `${t("error")} ${err.message}`)));
      return button;
    });
    return el("tr", { "data-report": `${r.year}-${r.part}` }, el("td", {}, `${r.period} (${r.part})`),
      el("td", {}, formatDay(lang, r.deadline)), el("td", { "data-key": "status", class: r.status }, state),
      el("td", { class: "downloads" }, ...buttons));
  }));
}

// -- commune page ----------------------------------------------------------------------

async function communePage(fresh, province, commune) {
  show("commune");
  const date = $("date").value;
  const [coverage, found, places] = await fresh(Promise.all([
    api(`/v1/provinces/${province}/coverage?date=${date}`),
    api(`/v1/provinces/${province}/communes/${commune}/devices`),
    api(`/v1/provinces/${province}/communes`)]));
  data.commune = { province, row: coverage.communes.find((c) => c.commune === commune), found,
    place: places.find((c) => c.code === commune) };
  $("commune-back").href = `#/province/${province}`;
  render = renderCommune;
  renderCommune();
  setStatus(() => `${t("loaded")}: ${found.devices.length} ${t("devices").toLowerCase()}`);
}

function renderCommune() {
  const { province, row, found } = data.commune;
  $("commune-title").textContent = `${found.name} · ${provinceName(province)}`;
  const facts = row ? [["devices", num(row.devices, 0)], ["active", num(row.active, 0)],
    ["availability", num(row.availability, 2)], ["households", communeCell(row, "households")],
    ["last_seen", formatTime(lang, row.last_seen)]] : [];
  $("commune-summary").replaceChildren(...facts.flatMap(([key, value]) => [
    el("dt", {}, t(key)), el("dd", { "data-key": key }, value)]));
  renderCommuneMap();
  $("commune-devices").querySelector("tbody").replaceChildren(...found.devices.map((d) => el("tr",
    { "data-device": d.id }, el("td", {}, el("a", { href: `#/device/${encodeURIComponent(d.id)}` }, d.id)),
    el("td", {}, profileName(d.profile)), el("td", {}, t(d.sector)), el("td", {}, d.gateway ?? "–"),
    el("td", {}, d.latitude === null ? t("no_position")
      : `${num(d.latitude, 5)}, ${num(d.longitude, 5)}`))));
}

// The commune's centroid and its devices where they are registered (those with coordinates).
function renderCommuneMap() {
  const { found, place } = data.commune;
  const points = [{ ...place, key: "centroid", href: null, colour: NO_DATA, text: found.name, label: found.name },
    ...found.devices.map((d) => ({ key: d.id, href: `#/device/${encodeURIComponent(d.id)}`, colour: "#2166ac",
      latitude: d.latitude, longitude: d.longitude, text: d.id, label: `${t("show_device")} ${d.id}` }))];
  pointMap($("commune-map"), points, { width: 480, height: 320, radius: 6, labels: true, title: found.name, pad: 110 });
  $("commune-map-title").textContent = `${t("map")}: ${found.name} · ${t("devices")}: ` +
    `${found.devices.filter((d) => d.latitude !== null).length}/${found.devices.length} ${t("position").toLowerCase()}`;
}

// -- device page -----------------------------------------------------------------------

const RESOLUTION = { 1: "raw", 7: "hour", 90: "day" };
const SUFFIX = { "": null, _mean: "mean", _increase: "increase" };
const COLOURS = ["#0b5394", "#8a1c1c", "#2e6b30", "#6a3d9a"];

// A stored field -> its quantity and the aggregate (raw value, hour/day mean or increase).
function fieldQuantity(field, dictionary) {
  for (const [suffix, kind] of Object.entries(SUFFIX)) {
    const name = suffix ? field.slice(0, -suffix.length) : field;
    if ((!suffix || field.endsWith(suffix)) && dictionary[name]) return { name, kind };
  }
  return null;
}

async function devicePage(fresh, device) {
  show("device");
  const me = data.me;
  $("own-devices").replaceChildren(...me.devices.map((d) => el("li", {},
    el("a", { href: `#/device/${encodeURIComponent(d.id)}` }, `${d.id} (${profileName(d.profile)})`))));
  $("my-devices").replaceChildren(...me.devices.map((d) => new Option(d.id)));
  $("own-devices-title").hidden = !me.devices.length;
  if (!device && me.devices.length) device = me.devices[0].id;
  if (!device) { render = () => {}; return; }
  $("device").value = device;
  const days = Number($("range").value);
  const end = new Date(new Date(`${$("date").value}T00:00:00+07:00`).getTime() + 86400000);
  const start = new Date(end.getTime() - days * 86400000);
  const [dictionary, found] = await fresh(Promise.all([once("dictionary", "/v1/open/data-dictionary"),
    api(`/v1/devices/${encodeURIComponent(device)}/readings?resolution=${RESOLUTION[days]}` +
      `&from=${encodeURIComponent(start.toISOString())}&to=${encodeURIComponent(end.toISOString())}`)]));
  data.device = { found, dictionary, start: start.getTime(), end: end.getTime() };
  render = renderDevice;
  renderDevice();
  setStatus(() => `${t("loaded")}: ${found.readings.length} (${found.resolution})`);
}

function renderDevice() {
  const { found, dictionary, start, end } = data.device;
  const groups = new Map();
  for (const row of found.readings) {
    for (const [field, value] of Object.entries(row)) {
      const q = typeof value === "number" ? fieldQuantity(field, dictionary) : null;
      if (!q) continue;
      const key = `${q.name}|${q.kind ?? ""}`;
      if (!groups.has(key)) groups.set(key, { ...q, points: [] });
      groups.get(key).points.push([row.time, value]);
    }
  }
  const box = $("charts");
  box.replaceChildren();
  if (!groups.size) box.append(el("p", {}, t("no_readings")));
  let index = 0;
  for (const g of groups.values()) {
    const q = dictionary[g.name];
    const title = `${q[lang]}${g.kind ? ` (${t(g.kind)})` : ""}`;
    const svg = svgEl("svg", { class: "chart", role: "img", "data-quantity": g.name,
      "aria-label": `${title}, ${q.unit}` });
    const span = end - start;
    lineChart(svg, { series: [{ key: g.name, label: title, colour: COLOURS[index++ % COLOURS.length],
      points: g.points.sort((a, b) => a[0] - b[0]) }], formatY: (y) => num(y, 2),
      formatX: (x) => formatTick(lang, x, span), yTitle: `${title} (${q.unit})`, xMin: start, xMax: end,
      xTicks: Array.from({ length: 7 }, (_, i) => start + (span * i) / 6) });
    box.append(el("figure", {}, svg, el("figcaption", {}, `${title}, ${q.unit} · ${t("time")}: ` +
      `${formatTime(lang, start)} – ${formatTime(lang, end)}`)));
  }
}

// -- start -----------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
  $("lang").textContent = t("switch");
  $("lang").lang = lang === "vi" ? "en" : "vi";
  if (data.me) $("whoami").textContent = describeMe(data.me);
  render();
  $("status").textContent = statusText();
}

async function start(params) {
  try {
    const [me, provinces, profiles] = await Promise.all([api("/v1/me"), api("/v1/provinces"),
      api("/v1/map/profiles")]);
    Object.assign(data, { me, provinces, profiles });
    $("whoami").textContent = describeMe(me);
    $("province").replaceChildren(...provinces.map((p) => new Option(p.name, p.code)));
    const scoped = me.role === "province" ? [me.province] : provinces.map((p) => p.code);
    for (const option of $("province").options) option.disabled = !scoped.includes(Number(option.value));
    $("province").closest("label").hidden = me.role === "organisation";  // it reads no province
    $("nav-national").hidden = !["ministry", "operator"].includes(me.role);
    $("nav-province").hidden = me.role === "organisation";
    $("province").value = params.get("province") || me.province || provinces[0].code;
    $("nav-province").href = `#/province/${$("province").value}`;
    if (location.hash) await route();
    else location.replace(defaultRoute(params));  // hashchange routes it
  } catch (err) {
    setStatus(() => `${t("error")} ${err.message}`);
  }
}

// A token in the address is refused: taken out of the address bar, never used.
function dropTokenFromAddress(params) {
  if (!params.has("token")) return false;
  params.delete("token");
  const query = params.toString();
  history.replaceState(null, "", location.pathname + (query ? `?${query}` : "") + location.hash);
  return true;
}

function sortable(table, state, rerender) {
  for (const th of table.querySelectorAll("th[data-key]")) {
    th.addEventListener("click", () => {
      state.up = state.key === th.dataset.key ? !state.up : true;
      state.key = th.dataset.key;
      rerender();
    });
  }
}

async function init() {
  localStorage.removeItem(TOKEN_KEY);  // where an earlier version kept it, beyond the session
  $("date").value = todayInVietnam();
  const params = new URLSearchParams(location.search);
  const refused = dropTokenFromAddress(params);
  if (params.get("date")) $("date").value = params.get("date");
  if (params.get("period")) $("period").value = params.get("period");
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    $("token").value = "";
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    showSignedIn(true);
    start(params);
  });
  $("signout").addEventListener("click", () => signOut("signed_out"));
  $("lang").addEventListener("click", () => { lang = lang === "vi" ? "en" : "vi"; applyLanguage(); });
  $("load").addEventListener("click", route);
  $("province").addEventListener("change", () => {
    $("nav-province").href = `#/province/${$("province").value}`;
    if (location.hash.startsWith("#/province")) location.hash = `#/province/${$("province").value}`;
  });
  $("chart-load").addEventListener("click", () => {
    const wanted = `#/device/${encodeURIComponent($("device").value.trim())}`;
    if (location.hash === wanted) route();
    else location.hash = wanted;
  });
  $("range").addEventListener("change", () => { if (location.hash.startsWith("#/device/")) route(); });
  $("filter").addEventListener("input", renderCoverage);
  $("national-filter").addEventListener("input", renderNational);
  $("map-indicator").addEventListener("change", renderNational);
  sortable($("coverage"), sorting.coverage, renderCoverage);
  sortable($("national"), sorting.national, renderNational);
  window.addEventListener("hashchange", route);
  showSignedIn(Boolean(storedToken()));
  if (storedToken()) await start(params);
  else setStatus(() => t("need_signin"));
  if (refused) setStatus(() => t("token_in_url"));  // last, so no other message hides it
}
init();
