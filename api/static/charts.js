// SVG drawing, no library: line charts with axes, and maps of points at projected
// longitude/latitude (no tiles). Colours go in presentation attributes, never in style
// attributes (the Content-Security-Policy has no 'unsafe-inline').
const NS = "http://www.w3.org/2000/svg";

export function svgEl(name, attrs = {}, text) {
  const el = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

// About five round steps between lo and hi.
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const step = [1, 2, 2.5, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(raw))).find((s) => s >= raw);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
  return ticks;
}

// A line chart. series: [{label, points: [[x, y]], colour, dash}]; marks: [{x, y, label}].
// x and y axes with ticks; formatX / formatY render tick labels; yTitle names the unit.
export function lineChart(svg, { series, marks = [], formatX, formatY, xTicks, yTitle, xMin, xMax, yMin, yMax,
  width = 720, height = 260 }) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const box = { left: 64, right: width - 28, top: 24, bottom: height - 40 };  // room for the last tick
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).concat(marks.map((m) => m.x));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).concat(marks.map((m) => m.y));
  if (!xs.length && xMin === undefined) return;
  let [x0, x1] = [Math.min(xMin ?? Infinity, ...xs), Math.max(xMax ?? -Infinity, ...xs)];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  let [y0, y1] = [yMin ?? Math.min(...ys), yMax ?? Math.max(...ys)];
  if (!ys.length) [y0, y1] = [yMin ?? 0, yMax ?? 1];
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const px = (x) => box.left + (box.right - box.left) * (x - x0) / (x1 - x0);
  const py = (y) => box.bottom - (box.bottom - box.top) * (y - y0) / (y1 - y0);
  const axis = svgEl("g", { class: "axis" });
  for (const y of niceTicks(y0, y1)) {
    axis.append(svgEl("line", { x1: box.left, x2: box.right, y1: py(y), y2: py(y), class: "grid" }),
      svgEl("text", { x: box.left - 6, y: py(y) + 4, "text-anchor": "end" }, formatY(y)));
  }
  for (const x of (xTicks || niceTicks(x0, x1, 6))) {
    if (x < x0 || x > x1) continue;
    axis.append(svgEl("line", { x1: px(x), x2: px(x), y1: box.bottom, y2: box.bottom + 5, class: "tick" }),
      svgEl("text", { x: px(x), y: box.bottom + 18, "text-anchor": "middle" }, formatX(x)));
  }
  axis.append(svgEl("line", { x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom, class: "base" }),
    svgEl("line", { x1: box.left, x2: box.left, y1: box.top, y2: box.bottom, class: "base" }),
    svgEl("text", { x: box.left, y: 14, class: "unit" }, yTitle));
  svg.append(axis);
  series.forEach((s, index) => {
    const points = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
    const line = svgEl("polyline", { points, fill: "none", stroke: s.colour, "stroke-width": 2,
      class: "series", "data-series": s.key ?? index });
    if (s.dash) line.setAttribute("stroke-dasharray", "6 4");
    line.append(svgEl("title", {}, s.label));
    svg.append(line);
    if (s.dots) {
      for (const [x, y] of s.points) svg.append(svgEl("circle", { cx: px(x), cy: py(y), r: 3.5, fill: s.colour }));
    }
  });
  for (const m of marks) {
    const g = svgEl("g", { class: "mark" });
    g.append(svgEl("circle", { cx: px(m.x), cy: py(m.y), r: 5, fill: "#fff", stroke: "#8a1c1c", "stroke-width": 2 }),
      svgEl("text", { x: px(m.x) - 8, y: py(m.y) - 9, "text-anchor": "end" }, m.label));
    svg.append(g);
  }
}

// Equirectangular projection around the points' middle latitude: good enough at
// Vietnam's size (8.5°N-23.5°N), and it keeps every point where a reader expects it.
export function projection(points, width, height, pad = 24) {
  const lons = points.map((p) => p.longitude), lats = points.map((p) => p.latitude);
  const [lon0, lon1, lat0, lat1] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const k = Math.cos(((lat0 + lat1) / 2) * Math.PI / 180);
  const spanX = Math.max((lon1 - lon0) * k, 1e-3), spanY = Math.max(lat1 - lat0, 1e-3);
  const scale = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  const offX = (width - spanX * scale) / 2, offY = (height - spanY * scale) / 2;
  return (p) => [offX + (p.longitude - lon0) * k * scale, height - offY - (p.latitude - lat0) * scale];
}

// Points as links (keyboard-focusable, named for screen readers): [{key, label, href,
// colour, latitude, longitude, text}]. Points without coordinates are left off.
export function pointMap(svg, points, { width = 520, height = 640, radius = 9, labels = true, title, pad = 24 }) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  if (title) svg.append(svgEl("title", {}, title));
  const placed = points.filter((p) => p.latitude != null && p.longitude != null);
  if (!placed.length) return;
  const project = projection(placed, width, height, pad);
  for (const p of placed) {
    const [x, y] = project(p);
    // A point with somewhere to go is a link; one without is a labelled mark.
    const link = p.href ? svgEl("a", { href: p.href, "aria-label": p.label, class: "point", "data-key": p.key })
      : svgEl("g", { class: "place", "data-key": p.key });
    link.append(svgEl("title", {}, p.label),
      svgEl("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: radius, fill: p.colour, stroke: "#1d2733" }));
    if (labels && p.text) link.append(svgEl("text", { x: (x + radius + 3).toFixed(1), y: (y + 4).toFixed(1) }, p.text));
    svg.append(link);
  }
}

// A sequential blue scale (light to dark) with enough contrast against white at each end.
const RAMP = ["#deebf7", "#9ecae1", "#4292c6", "#2166ac", "#08306b"];
export const NO_DATA = "#bdbdbd";
export function colourOf(value, max) {
  if (value === null || value === undefined) return NO_DATA;
  const share = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  return RAMP[Math.min(RAMP.length - 1, Math.floor(share * RAMP.length))];
}
export function legendSteps(max) {
  return RAMP.map((colour, i) => ({ colour, from: (max * i) / RAMP.length, to: (max * (i + 1)) / RAMP.length }));
}
