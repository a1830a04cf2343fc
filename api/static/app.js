// The dashboard: plain JavaScript, no CDN, everything served by the API itself.
// The API token is asked for once, in the sign-in form, and kept in sessionStorage (gone
// when the browser session ends); it is sent only as "Authorization: Bearer". It is never
// read from or written to an address: addresses end up in history, bookmarks and proxy logs.
"use strict";
const TOKEN_KEY = "iotgw-token";
const TEXT = {
  vi: { title: "Chỉ tiêu kinh tế số và IoT", token: "Mã truy cập", province: "Tỉnh/thành phố", date: "Ngày",
        load: "Xem", indicators: "Tiến độ chỉ tiêu", coverage: "Độ phủ theo xã, phường",
        filter: "Lọc theo tên", commune: "Xã, phường", devices: "Thiết bị", active: "Đang hoạt động",
        availability: "Độ sẵn sàng (%)", last_seen: "Lần cuối", gateways: "Gateway",
        readings: "Dữ liệu thiết bị", device: "Mã thiết bị", switch: "English", target: "mục tiêu",
        none: "chưa có số liệu", suppressed: "ẩn (quá ít hộ gia đình)", loaded: "Đã tải", error: "Lỗi", signin: "Đăng nhập",
        signout: "Đăng xuất", signed_in: "Đã đăng nhập", signed_out: "Đã đăng xuất",
        need_signin: "Nhập mã truy cập để đăng nhập",
        token_in_url: "Không nhận mã truy cập trong địa chỉ (đã xoá khỏi địa chỉ): hãy nhập vào ô đăng nhập" },
  en: { title: "Digital economy and IoT indicators", token: "API token", province: "Province", date: "Date",
        load: "Show", indicators: "Indicator progress", coverage: "Coverage by commune",
        filter: "Filter by name", commune: "Commune/ward", devices: "Devices", active: "Active",
        availability: "Availability (%)", last_seen: "Last seen", gateways: "Gateways",
        readings: "Device readings", device: "Device id", switch: "Tiếng Việt", target: "target",
        none: "no data yet", suppressed: "hidden (too few households)", loaded: "Loaded", error: "Error", signin: "Sign in",
        signout: "Sign out", signed_in: "Signed in", signed_out: "Signed out",
        need_signin: "Enter your API token to sign in",
        token_in_url: "Tokens are not accepted in addresses (removed from the address): use the sign-in form" },
};
let lang = "vi";
let statusText = () => "";  // re-rendered when the language changes
let catalogue = [];
let communes = [];
let sortKey = "name";
const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[lang][key];

function applyLanguage() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
  $("lang").textContent = t("switch");
  renderIndicators(lastValues);
  $("status").textContent = statusText();
}

function setStatus(text) {
  statusText = text;
  $("status").textContent = text();
}

const storedToken = () => sessionStorage.getItem(TOKEN_KEY) || "";

function showSignedIn(signedIn) {
  $("signin").hidden = signedIn;
  $("session").hidden = !signedIn;
  $("load").disabled = !signedIn;
  $("chart-load").disabled = !signedIn;
}

// Signed out, nothing read with the token stays on the page.
function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  showSignedIn(false);
  catalogue = [];
  communes = [];
  lastValues = {};
  renderIndicators(lastValues);
  renderCoverage();
  $("gateways").replaceChildren();
  $("chart").replaceChildren();
  setStatus(() => t(message));
}

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${storedToken()}` } });
  if (response.status === 401) signOut("need_signin");
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(`${response.status}: ${body.detail || response.statusText}`);
  }
  return response.json();
}

let lastValues = {};
function renderIndicators(values) {
  const box = $("indicators");
  box.replaceChildren();
  for (const ind of catalogue) {
    const value = values[ind.id];
    const row = document.createElement("div");
    const name = lang === "vi" ? ind.name_vi : ind.name_en;
    const label = document.createElement("div");
    label.className = "indicator";
    label.dataset.indicator = ind.id;
    if (!value || value.suppressed) {
      label.textContent = `${name}: ${t(value ? "suppressed" : "none")}`;
      row.append(label);
      box.append(row);
      continue;
    }
    const target = value.target;
    label.textContent = `${name}: ${value.value.toFixed(1)} ${ind.unit}` +
      (target ? ` (${t("target")} ${target.comparator} ${target.value} ${ind.unit}, ${target.year})` : "");
    row.append(label);
    if (ind.unit === "%") {
      const bar = document.createElement("div");
      // Behind: short of the target in its own year, or of the straight path before it.
      const behind = target && (target.met === false || (target.met == null && target.on_path === false));
      bar.className = "bar" + (behind ? " behind" : "");
      const fill = document.createElement("span");
      fill.style.width = `${Math.min(100, value.value)}%`;
      bar.append(fill);
      if (target) {
        const mark = document.createElement("i");
        mark.style.left = `${target.value}%`;
        bar.append(mark);
      }
      row.append(bar);
    }
    box.append(row);
  }
}

function renderCoverage() {
  const filter = $("filter").value.toLowerCase();
  const rows = communes.filter((c) => c.name.toLowerCase().includes(filter));
  rows.sort((a, b) => {
    const x = a[sortKey], y = b[sortKey];
    if (typeof x === "number" || typeof y === "number") return (y ?? -1) - (x ?? -1);
    return String(x ?? "").localeCompare(String(y ?? ""), "vi");
  });
  const body = $("coverage").querySelector("tbody");
  body.replaceChildren(...rows.map((c) => {
    const tr = document.createElement("tr");
    if (!c.active) tr.className = "none";
    for (const key of ["name", "devices", "active", "availability", "last_seen"]) {
      const td = document.createElement("td");
      td.textContent = c[key] ?? "–";
      tr.append(td);
    }
    return tr;
  }));
  document.querySelectorAll("#coverage th").forEach((th) => {
    th.classList.toggle("sorted", th.dataset.key === sortKey);
  });
}

async function load() {
  const province = $("province").value;
  const date = $("date").value;
  try {
    catalogue = await api("/v1/indicators");
    const values = {};
    await Promise.all(catalogue.map(async (ind) => {
      const found = await api(`/v1/indicators/${ind.id}/values?province=${province}&period=year`);
      if (found.values.length) values[ind.id] = found.values[found.values.length - 1];
    }));
    lastValues = values;
    renderIndicators(values);
    const coverage = await api(`/v1/provinces/${province}/coverage?date=${date}`);
    communes = coverage.communes;
    renderCoverage();
    const gateways = await api(`/v1/gateways?province=${province}`);
    $("gateways").replaceChildren(...gateways.map((g) => {
      const li = document.createElement("li");
      li.textContent = `${g.gateway}: ${g.last_seen ?? "–"}`;
      return li;
    }));
    setStatus(() => `${t("loaded")}: ${communes.length} ${t("commune").toLowerCase()}`);
  } catch (err) {
    setStatus(() => `${t("error")} ${err.message}`);
  }
}

async function chart() {
  const device = $("device").value;
  const date = $("date").value;
  const svg = $("chart");
  svg.replaceChildren();
  try {
    const end = new Date(`${date}T00:00:00+07:00`);
    const start = new Date(end.getTime() - 7 * 86400000);
    const found = await api(`/v1/devices/${encodeURIComponent(device)}/readings?resolution=hour` +
      `&from=${encodeURIComponent(start.toISOString())}&to=${encodeURIComponent(new Date(end.getTime() + 86400000).toISOString())}`);
    const rows = found.readings;
    const key = rows.length ? Object.keys(rows[0]).find((k) => k.endsWith("_mean") || k.endsWith("_increase")) : null;
    if (!key) return;
    const xs = rows.map((r) => r.time), ys = rows.map((r) => r[key] ?? 0);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs) || 1], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    const px = (x) => 40 + 660 * (x - x0) / ((x1 - x0) || 1);
    const py = (y) => 200 - 180 * (y - y0) / ((y1 - y0) || 1);
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", rows.map((r, i) => `${px(xs[i])},${py(ys[i])}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#0b5394");
    line.setAttribute("stroke-width", "2");
    const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
    label.setAttribute("x", "40");
    label.setAttribute("y", "14");
    label.textContent = `${key}: ${y0.toFixed(1)} – ${y1.toFixed(1)}`;
    svg.append(line, label);
  } catch (err) {
    setStatus(() => `${t("error")} ${err.message}`);
  }
}

async function start(params) {
  try {
    const provinces = await api("/v1/provinces");
    $("province").replaceChildren(...provinces.map((p) => new Option(p.name, p.code)));
    if (params.get("province")) $("province").value = params.get("province");
    await load();
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

async function init() {
  localStorage.removeItem(TOKEN_KEY);  // where an earlier version kept it, beyond the session
  $("date").value = new Date(Date.now() + 7 * 3600000).toISOString().slice(0, 10);
  const params = new URLSearchParams(location.search);
  const refused = dropTokenFromAddress(params);
  if (params.get("date")) $("date").value = params.get("date");
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
  $("load").addEventListener("click", load);
  $("chart-load").addEventListener("click", chart);
  $("filter").addEventListener("input", renderCoverage);
  document.querySelectorAll("#coverage th").forEach((th) => th.addEventListener("click", () => {
    sortKey = th.dataset.key;
    renderCoverage();
  }));
  showSignedIn(Boolean(storedToken()));
  if (storedToken()) await start(params);
  else setStatus(() => t("need_signin"));
  if (refused) setStatus(() => t("token_in_url"));  // last, so no other message hides it
}
init();
