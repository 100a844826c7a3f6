// landwatch web map: every layer from the server's vector tiles, no basemap, no CDN.
"use strict";

const CATEGORY = {
  industrial: ["#a77bca", "工业用地"], logistics: ["#b08968", "物流仓储用地"], residential: ["#f6d55c", "居住用地"],
  public_service: ["#ef8a62", "公共管理与公共服务用地"], commercial: ["#e15759", "商业服务业用地"], transport: ["#bab0ac", "交通运输用地"],
  utilities: ["#4e79a7", "公用设施用地"], green: ["#59a14f", "绿地与开敞空间用地"], ecological: ["#2e7d32", "生态用地"],
  agricultural_facility: ["#c5e1a5", "农业设施建设用地"], special: ["#8c564b", "特殊用地"], reserve: ["#d9d9d9", "留白用地"],
  unclassified: ["#9e9e9e", "未分类"],
};
const CONFLICT = {
  a_only_construction: ["#e377c2", "土规建设·城规非建设"], b_only_construction: ["#17becf", "城规建设·土规非建设"],
  category_mismatch: ["#bcbd22", "用地性质不一致"], ecological_redline: ["#b71c1c", "占用生态保护红线"],
  basic_farmland: ["#f9a825", "占用永久基本农田"], outside_urban_boundary: ["#ff6f00", "超出城镇开发边界"],
  outside_park: ["#6a1b9a", "宗地超出园区四至"], industrial_buffer: ["#5d4037", "产业过渡区内二/三类工业"],
};
const CONCLUSION = { conforming: "pass", partly: "partly", nonconforming: "fail", not_checked: "unknown" };
const FINDING = { not_started: ["#d32f2f", "未动工开发满一年"], stalled: ["#f57c00", "已动工但中止开发"], approved_not_supplied: ["#7b1fa2", "批而未供"] };
const LABELS = {
  id: "编号", park_id: "所属园区", holder: "权利人", finding: "认定类型", finding_zh: "认定类型", track: "处置路径", track_zh: "处置路径",
  idle_since: "闲置起算日", years_idle: "闲置年限(年)", idle_days: "闲置天数", fee_wan: "土地闲置费(万元)", rule: "依据", status: "状态",
  government_cause: "政府原因", layer: "图层", fid: "要素号", industry_code: "行业代码", area_mu: "面积(亩)", reason_count: "低效原因数",
  reasons: "低效原因", verdict_zh: "结论", name: "名称", type: "类型", pass: "结构达标", area_ha: "面积(公顷)", category: "用地类别", code: "用地代码", kind: "类型",
  inputs_area_m2: "面积(㎡)", inputs_area_mu: "面积(亩)", inputs_contract_date: "合同签订日期", inputs_agreed_start: "约定动工日期",
  inputs_actual_start: "实际动工日期", inputs_suspended_since: "停工日期", inputs_land_price_wan: "出让价款(万元)",
  inputs_developed_share: "已开发比例", inputs_invested_share: "投资比例", inputs_gov_cause: "政府原因", inputs_approval_date: "批准日期",
  inputs_1_years_on: "满一年之日", inputs_2_years_on: "满两年之日", inputs_approval_no: "批准文号",
  disposal_status: "处置状态", inputs_cause_note: "原因说明", inputs_fee_note: "闲置费说明", inputs_area_basis: "面积口径",
  inputs_developed_area_m2: "已开发面积(㎡)", inputs_planned_dev_area_m2: "应开发面积(㎡)", inputs_footprint_m2: "建筑基底面积(㎡)",
  inputs_footprint_source: "基底面积来源", inputs_invested_wan: "已投资(万元)", inputs_total_investment_wan: "总投资(万元)",
  inputs_supply_status: "供地状态", overlaps: "重叠宗地对数",
  type_zh: "差异类型", other_layer: "对比图层", area_m2: "面积(㎡)", measured: "面积口径", sliver: "碎图斑",
  feature_id: "要素编号", other_feature_id: "对比要素编号", system: "分类体系", category_zh: "用地类别", other_code: "对比用地代码",
  other_name: "对比用地名称", other_system: "对比分类体系", other_category_zh: "对比用地类别", parcel_id: "宗地编号",
  redline_id: "红线要素编号", redline_name: "红线要素名称", distance_m: "距离(m)", required_m: "要求距离(m)", suggestion: "建议调整",
  coordination: "协调方式", adjustment_reason: "调整缘由",
  subject_zh: "对象", status_zh: "状态", method_zh: "处置方式", effective_date: "生效日期", until: "期限至", document_no: "文号",
  amount_wan: "金额(万元)", note: "备注", recorded_by: "记录人", recorded_at: "记录时间", supersedes: "更正记录", in_force: "有效",
  located: "要素仍在图层中",
};
// The bureau's columns of a ledger row: shown even while empty, to be filled in.
const LEDGER_WORK = ["coordination", "adjustment_reason", "disposal_status"];
// Properties a popup does not list: internal ids, codes shown by their Chinese label, and
// per-category figures drawn as bars instead.
const HIDDEN = (k, props) => ["layer", "fid", "finding", "track", "verdict", "category", "other_category"].includes(k) || (k === "type" && "type_zh" in props)
  || k.endsWith("_json") || k.startsWith("share_") || k.startsWith("pass_") || k.startsWith("code_parse");
const ROLE_ORDER = ["plan", "parcels", "buildings", "redline", "parks", "other"];
// The checks come from the server (/analysis); these are shown when the map opens.
const SHOWN_AT_START = ["idle"];
const state = {
  asOf: new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10), park: null, collections: [], checks: [], map: null, errors: [],
  drawing: false, sitePoints: [], site: null,
};
window.__landwatch = state;

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const fmt = (v) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 4 : 2)) : v === true ? "是" : v === false ? "否" : v ?? "");

async function getJSON(url) {
  const r = await fetch(url, { headers: window.landwatchAuth.headers({ Accept: "application/json" }) });
  if (r.status === 401) throw new Error(`${url}: 需要有效的令牌，请在上方“令牌”处输入`);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

function notice(text) {
  const n = $("notice");
  n.textContent = text;
  n.classList.remove("hidden");
  setTimeout(() => n.classList.add("hidden"), 6000);
}

function categoryColor() {
  const m = ["match", ["get", "category"]];
  for (const [k, [c]] of Object.entries(CATEGORY)) m.push(k, c);
  m.push("#9e9e9e");
  return m;
}

// Labels in the CJK font the server renders glyphs from (/fonts/{fontstack}/{range}.pbf).
const LABEL_FONT = ["WenQuanYi Micro Hei"];
const label = (src, field, size, color, minzoom = 0) => ({
  id: `${src}-label`, type: "symbol", source: src, "source-layer": src, minzoom,
  layout: { "text-field": field, "text-font": LABEL_FONT, "text-size": size, "text-max-width": 8 },
  paint: { "text-color": color, "text-halo-color": "#ffffff", "text-halo-width": 1.5 },
});

function styleLayers(c) {
  const src = c.id, sl = c.id;
  switch (c.role) {
    case "parks":
      return [
        { id: `${src}-fill`, type: "fill", source: src, "source-layer": sl, paint: { "fill-color": "#0d47a1", "fill-opacity": 0.03 } },
        { id: `${src}-line`, type: "line", source: src, "source-layer": sl, paint: { "line-color": "#0d47a1", "line-width": 2.5 } },
        label(src, ["coalesce", ["get", "name"], ["get", "id"]], 14, "#0d47a1"),
      ];
    case "parcels":
      return [
        { id: `${src}-fill`, type: "fill", source: src, "source-layer": sl, paint: { "fill-color": categoryColor(), "fill-opacity": 0.55 } },
        { id: `${src}-line`, type: "line", source: src, "source-layer": sl, minzoom: 13, paint: { "line-color": "#4a4a4a", "line-width": 0.4 } },
        label(src, ["get", "id"], 10, "#263238", 16),
      ];
    case "buildings":
      return [{ id: `${src}-fill`, type: "fill", source: src, "source-layer": sl, paint: { "fill-color": "#5f6368", "fill-opacity": 0.75 } }];
    case "plan":
      return [
        { id: `${src}-fill`, type: "fill", source: src, "source-layer": sl, paint: { "fill-color": categoryColor(), "fill-opacity": 0.35 } },
        { id: `${src}-line`, type: "line", source: src, "source-layer": sl, paint: { "line-color": "#37474f", "line-width": 0.8, "line-dasharray": [3, 2] } },
      ];
    case "redline": {
      const color = c.kind === "farmland" ? "#f9a825" : c.kind === "urban_boundary" ? "#ff6f00" : "#c62828";
      const fill = c.kind === "urban_boundary" ? 0 : 0.25;
      return [
        { id: `${src}-fill`, type: "fill", source: src, "source-layer": sl, paint: { "fill-color": color, "fill-opacity": fill } },
        { id: `${src}-line`, type: "line", source: src, "source-layer": sl, paint: { "line-color": color, "line-width": 2, "line-dasharray": c.kind === "urban_boundary" ? [4, 2] : [1, 0] } },
      ];
    }
    case "idle": {
      const m = ["match", ["get", "finding"]];
      for (const [k, [col]] of Object.entries(FINDING)) m.push(k, col);
      m.push("#d32f2f");
      return [
        { id: `${src}-fill`, type: "fill", source: src, "source-layer": sl, paint: { "fill-color": m, "fill-opacity": 0.8 } },
        { id: `${src}-line`, type: "line", source: src, "source-layer": sl, paint: { "line-color": ["match", ["get", "track"], "recovery", "#4a0000", "negotiated", "#1565c0", "#7f0000"], "line-width": 1.5 } },
      ];
    }
    case "underused":
      return [
        // A flag resting only on assumptions (需补充数据) is not 低效: drawn pale.
        { id: `${src}-fill`, type: "fill", source: src, "source-layer": sl, paint: { "fill-color": ["match", ["get", "verdict"], "needs_data", "#fff3c4", "#ffb300"], "fill-opacity": 0.75 } },
        { id: `${src}-line`, type: "line", source: src, "source-layer": sl, paint: { "line-color": "#8d5a00", "line-width": 1 } },
      ];
    case "conflicts": {
      const m = ["match", ["get", "type"]];
      for (const [k, [col]] of Object.entries(CONFLICT)) m.push(k, col);
      m.push("#555");
      return [
        { id: `${src}-fill`, type: "fill", source: src, "source-layer": sl, paint: { "fill-color": m, "fill-opacity": ["case", ["get", "sliver"], 0.25, 0.6] } },
        { id: `${src}-line`, type: "line", source: src, "source-layer": sl, paint: { "line-color": m, "line-width": 1.5 } },
      ];
    }
    case "events": {
      // Parcels with recorded events, outlined by the status of each event.
      const m = ["match", ["get", "status"], "suspected", "#9e9e9e", "investigating", "#1e88e5", "confirmed", "#8e24aa", "disposing", "#fb8c00", "disposed", "#43a047", "#555"];
      return [{ id: `${src}-line`, type: "line", source: src, "source-layer": sl, paint: { "line-color": m, "line-width": 3 } }];
    }
    case "zoning":
      return [{ id: `${src}-line`, type: "line", source: src, "source-layer": sl, paint: { "line-color": ["case", ["get", "pass"], "#2e7d32", "#c62828"], "line-width": 5, "line-opacity": 0.8 } }];
    default:
      return [{ id: `${src}-line`, type: "line", source: src, "source-layer": sl, paint: { "line-color": "#555", "line-width": 1 } }];
  }
}

// The evaluation date, for the checks that take one.
function dated(id, sep = "?") {
  const c = state.checks.find((x) => x.id === id);
  return c && c.params.includes("as_of") ? `${sep}as_of=${state.asOf}` : "";
}

function tileUrl(c) {
  return `/tiles/${c.id}.json${c.analysis ? dated(c.id) : ""}`;
}

// The analysis collections' counts on the chosen evaluation date.
async function refreshCounts() {
  await Promise.all(state.collections.filter((c) => c.analysis).map(async (c) => {
    c.count = (await getJSON(`/collections/${c.id}${dated(c.id)}`)).count;
  }));
  renderToggles();
}

function addCollection(c) {
  const map = state.map;
  map.addSource(c.id, { type: "vector", url: new URL(tileUrl(c), location.href).href });
  for (const l of styleLayers(c)) {
    l.layout = { ...l.layout, visibility: c.on ? "visible" : "none" };
    map.addLayer(l);
    c.mapLayers.push(l.id);
  }
}

function removeCollection(c) {
  for (const id of c.mapLayers) if (state.map.getLayer(id)) state.map.removeLayer(id);
  c.mapLayers = [];
  if (state.map.getSource(c.id)) state.map.removeSource(c.id);
}

function setVisible(c, on) {
  c.on = on;
  for (const id of c.mapLayers) state.map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
  renderLegend();
}

function renderToggles() {
  const box = $("layers");
  box.innerHTML = "";
  for (const c of state.collections) {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" ${c.on ? "checked" : ""}> ${esc(c.label)} <span class="count">${c.count ?? ""}</span>`;
    label.querySelector("input").addEventListener("change", (e) => setVisible(c, e.target.checked));
    box.appendChild(label);
  }
}

function renderLegend() {
  const items = [];
  const on = (role) => state.collections.some((c) => c.on && c.role === role);
  if (on("parcels") || on("plan")) for (const [, [col, name]] of Object.entries(CATEGORY)) items.push([col, name]);
  if (on("idle")) for (const [, [col, name]] of Object.entries(FINDING)) items.push([col, name]);
  if (on("underused")) items.push(["#ffb300", "低效用地"], ["#fff3c4", "需补充数据（仅凭假定）"]);
  if (on("conflicts")) for (const [, [col, name]] of Object.entries(CONFLICT)) items.push([col, name]);
  if (on("redline")) items.push(["#c62828", "生态保护红线"], ["#f9a825", "永久基本农田"], ["#ff6f00", "城镇开发边界"]);
  if (on("parks")) items.push(["#0d47a1", "园区四至"]);
  if (on("zoning")) items.push(["#2e7d32", "用地结构达标园区（轮廓）", true], ["#c62828", "用地结构不达标园区（轮廓）", true]);
  const swatch = (c, outline) => (outline ? `border:3px solid ${c};background:none` : `background:${c}`);
  $("legend").innerHTML = items.map(([c, n, outline]) => `<div><i style="${swatch(c, outline)}"></i>${esc(n)}</div>`).join("");
}

function renderDownloads() {
  const park = state.park ? `&park=${encodeURIComponent(state.park)}` : "";
  $("downloads").innerHTML = state.checks
    .filter((c) => c.method === "GET")
    .map((c) => `<a href="/analysis/${c.id}?f=xlsx${dated(c.id, "&")}${c.params.includes("from") ? `&${trendSpan()}` : ""}${c.params.includes("park") ? park : ""}" download>${esc(c.title)} Excel</a>`)
    .join("") + `<a href="/analysis/idle?f=csv&table=1&as_of=${state.asOf}${park}" download>闲置土地 CSV</a>`;
}

function shareBars(categories) {
  const rows = categories.filter((c) => c.share > 0 || c.min != null || c.max != null);
  const scale = Math.max(0.1, ...rows.map((c) => Math.max(c.share, c.max ?? 0, c.min ?? 0))) * 1.05;
  return rows
    .map((c) => {
      const w = (v) => ((v / scale) * 100).toFixed(2);
      const bounds = [c.min, c.max].filter((v) => v != null).map((v) => `<line x1="${w(v)}%" x2="${w(v)}%" y1="0" y2="14" stroke="#16324f" stroke-width="2"/>`).join("");
      const color = c.min == null && c.max == null ? "#8da2b5" : c.pass ? "#4c9a6a" : "#c0392b";
      return `<div class="share-row" title="${esc(c.label)} ${(c.share * 100).toFixed(2)}%${c.min != null ? " 下限 " + (c.min * 100).toFixed(0) + "%" : ""}${c.max != null ? " 上限 " + (c.max * 100).toFixed(0) + "%" : ""}">
        <span class="label">${esc(c.label)}</span>
        <svg><rect x="0" y="2" height="10" width="${w(c.share)}%" fill="${color}"/>${bounds}</svg>
        <span class="value">${(c.share * 100).toFixed(1)}%</span></div>`;
    })
    .join("");
}

async function showPark(id) {
  state.park = id;
  for (const b of document.querySelectorAll(".parks button")) b.classList.toggle("active", b.dataset.id === id);
  renderDownloads();
  const q = `park=${encodeURIComponent(id)}&as_of=${state.asOf}`;
  try {
    const [zoning, indicators, idle, underused, conflicts] = await Promise.all([
      getJSON(`/analysis/zoning?${q}`), getJSON(`/analysis/indicators?${q}`), getJSON(`/analysis/idle?${q}`), getJSON(`/analysis/underused?${q}`),
      getJSON(`/analysis/conflicts?park=${encodeURIComponent(id)}`),
    ]);
    renderParkConflicts(conflicts);
    renderParkTrends(id);
    const z = zoning.parks[0];
    $("park-panel").classList.remove("hidden");
    $("park-title").textContent = `${z.name ?? z.id}（${z.type}）`;
    const s = idle.summary;
    const count = (k) => (s.by_finding[k] ? s.by_finding[k].count : 0);
    const mu = ["not_started", "stalled"].reduce((a, k) => a + (s.by_finding[k]?.area_mu ?? 0), 0);
    $("park-summary").innerHTML = [
      ["园区面积", `${z.area_ha.toFixed(1)} 公顷`], ["结构", z.pass ? "达标" : "不达标"],
      ["疑似闲置", `${count("not_started") + count("stalled")} 宗`], ["批而未供", `${count("approved_not_supplied")} 宗`],
      ["闲置面积", `${mu.toFixed(1)} 亩`], ["低效用地", `${underused.summary.flagged} 宗`],
    ].map(([k, v]) => `<div>${esc(k)}<b>${esc(v)}</b></div>`).join("");
    $("shares").innerHTML = shareBars(z.categories);
    $("plan-shares").innerHTML = (z.plans ?? [])
      .map((pl) => `<h3>规划用地结构（${esc(pl.layer)}${pl.kind === "urban" ? "，控规" : pl.kind === "territorial" ? "，土规" : ""}）</h3>${shareBars(pl.categories)}`)
      .join("");
    const p = indicators.parks[0];
    $("indicators").innerHTML = `<tr><th>指标</th><th>数值</th><th>参考值</th></tr>` + p.indicators
      .map((i) => {
        const pct = i.unit === "比例";
        const v = i.value == null ? (i.missing?.length ? `未知（未记录${i.missing.join("、")}）` : "—") : pct ? `${(i.value * 100).toFixed(1)}%` : `${i.value.toFixed(2)}${i.unit ? " " + i.unit : ""}`;
        const b = i.benchmark == null ? "" : pct ? `${(i.benchmark * 100).toFixed(1)}%` : i.benchmark.toFixed(2);
        return `<tr><td title="${esc(i.formula)}">${esc(i.name)}</td><td class="num">${esc(v)}</td><td class="num">${esc(b)}</td></tr>`;
      })
      .join("");
  } catch (e) {
    notice(`园区 ${id}: ${e.message}`);
  }
}

async function renderParks() {
  // The zoning collection carries every park with its canonical id, name and type, whatever
  // the park layer's own field names are.
  if (!state.collections.some((c) => c.role === "parks")) return;
  const fc = await getJSON(`/collections/zoning/items?limit=1000${dated("zoning", "&")}`);
  const box = $("parks");
  box.innerHTML = "";
  for (const f of fc.features) {
    const p = f.properties;
    const id = p.id;
    const b = document.createElement("button");
    b.dataset.id = id;
    b.innerHTML = `${esc(p.name ?? id)}<span class="type">${esc(p.type ?? "")}</span>`;
    b.addEventListener("click", () => {
      showPark(id);
      const xs = [], ys = [];
      const walk = (c) => (typeof c[0] === "number" ? (xs.push(c[0]), ys.push(c[1])) : c.forEach(walk));
      walk(f.geometry.coordinates);
      state.map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 30 });
    });
    box.appendChild(b);
  }
}

function rows(props) {
  return Object.entries(props)
    .filter(([k, v]) => v !== null && v !== "" && typeof v !== "object" && !HIDDEN(k, props))
    .map(([k, v]) => `<tr><th>${esc(LABELS[k] ?? k)}</th><td>${esc(fmt(v))}</td></tr>`)
    .join("");
}

// A park's stock of idle land and 批而未供 at the end of each quarter of the last two years
// (亩), and the latest quarter's balance: start + new − disposed = end.
// The span of the trends the map shows: the two years up to the evaluation date, by quarter.
function trendSpan() {
  const to = state.asOf;
  const from = new Date(`${to}T00:00:00Z`);
  from.setUTCFullYear(from.getUTCFullYear() - 2); // 29 February becomes 1 March
  return `from=${from.toISOString().slice(0, 10)}&to=${to}&period=quarter`;
}

async function renderParkTrends(id) {
  const el = $("park-trends");
  let r;
  try {
    r = await getJSON(`/analysis/trends?${trendSpan()}&park=${encodeURIComponent(id)}`);
  } catch (e) {
    el.textContent = `动态无法计算：${e.message}`;
    return;
  }
  if (state.park !== id) return;
  const ps = r.periods;
  const mu = (m2) => m2 / (10000 / 15);
  const max = Math.max(1, ...ps.map((p) => Math.max(mu(p.idle.end_area_m2), mu(p.approved_not_supplied.end_area_m2))));
  const w = 300 / ps.length;
  const bars = ps
    .map((p, i) => {
      const h = (m2) => ((mu(m2) / max) * 110).toFixed(1);
      const label = `${p.end.slice(2, 4)}Q${Math.floor((Number(p.end.slice(5, 7)) - 1) / 3) + 1}`;
      return `<g><title>${esc(p.start)}–${esc(p.end)}：闲置 ${p.idle.end_count} 宗 ${mu(p.idle.end_area_m2).toFixed(1)} 亩，批而未供 ${p.approved_not_supplied.end_count} 宗 ${mu(p.approved_not_supplied.end_area_m2).toFixed(1)} 亩</title>
        <rect x="${(i * w + w * 0.1).toFixed(2)}" y="${(120 - h(p.idle.end_area_m2)).toFixed(1)}" width="${(w * 0.38).toFixed(2)}" height="${h(p.idle.end_area_m2)}" fill="#c0392b"/>
        <rect x="${(i * w + w * 0.5).toFixed(2)}" y="${(120 - h(p.approved_not_supplied.end_area_m2)).toFixed(1)}" width="${(w * 0.38).toFixed(2)}" height="${h(p.approved_not_supplied.end_area_m2)}" fill="#e69f00"/>
        <text x="${(i * w + w / 2).toFixed(2)}" y="134" text-anchor="middle">${esc(label)}</text></g>`;
    })
    .join("");
  const last = ps[ps.length - 1];
  const pct = (v) => (v == null ? "未知" : `${(v * 100).toFixed(2)}%`);
  const row = (name, f) => `<tr><td>${esc(name)}</td><td class="num">${f.start_count}</td><td class="num">${f.new_count}</td><td class="num">${f.disposed_count}</td><td class="num">${f.end_count}</td><td class="num">${mu(f.end_area_m2).toFixed(1)}</td></tr>`;
  el.innerHTML = `<svg class="trend-chart" viewBox="0 0 300 140" role="img" aria-label="各季度末闲置土地与批而未供面积（亩）">${bars}</svg>
    <div class="legend-line"><span class="swatch idle"></span>闲置土地（亩） <span class="swatch unsupplied"></span>批而未供（亩） 最高 ${max.toFixed(1)} 亩</div>
    <table class="indicators"><tr><th>${esc(last.start)}–${esc(last.end)}</th><th>期初</th><th>新增</th><th>处置</th><th>期末</th><th>期末亩</th></tr>
    ${row("闲置土地", last.idle)}${row("批而未供", last.approved_not_supplied)}
    <tr><td>土地闲置率</td><td class="num" colspan="5">${pct(last.land_idle_rate)}</td></tr>
    <tr><td>批而未供率</td><td class="num" colspan="5">${pct(last.approved_not_supplied_rate)}</td></tr>
    <tr><td>征缴土地闲置费</td><td class="num" colspan="5">${last.fees_collected_wan.toFixed(2)} 万元</td></tr></table>`;
}

// A park's conflicts: counts and areas by type, and the four classes of the two plans.
function renderParkConflicts(r) {
  const types = r.summary.by_type.filter((t) => t.count > 0 || t.slivers > 0);
  const classes = r.comparisons[0]?.classes;
  const ha = (m2) => (m2 / 10000).toFixed(2);
  $("park-conflicts").innerHTML = (types.length
    ? `<tr><th>差异类型</th><th>图斑</th><th>面积(亩)</th></tr>` + types
      .map((t) => `<tr><td><i class="dot" style="background:${CONFLICT[t.type]?.[0] ?? "#555"}"></i>${esc(t.type_zh)}</td><td class="num">${t.count}${t.slivers ? `（碎 ${t.slivers}）` : ""}</td><td class="num">${t.area_mu.toFixed(2)}</td></tr>`)
      .join("")
    : `<tr><td>无差异图斑</td></tr>`)
    + (classes ? `<tr><th colspan="3">两规比对（${esc(r.comparisons[0].a)} × ${esc(r.comparisons[0].b)}，公顷）</th></tr>`
      + [["两规均为建设用地", classes.both_construction], ["土规建设·城规非建设", classes.a_only_construction],
        ["城规建设·土规非建设", classes.b_only_construction], ["两规均为非建设用地", classes.both_non_construction]]
        .map(([k, v]) => `<tr><td>${k}</td><td></td><td class="num">${ha(v)}</td></tr>`).join("") : "")
    + r.summary.not_checked.map((n) => `<tr><td colspan="3" class="muted">未检查：${esc(n)}</td></tr>`).join("");
}

async function popup(e) {
  const features = state.map.queryRenderedFeatures(e.point).filter((f) => state.collections.some((c) => c.id === f.source));
  if (!features.length) return;
  if (state.drawing) return;
  const order = state.checks.map((c) => c.id);
  features.sort((a, b) => (order.includes(b.source) ? 1 : 0) - (order.includes(a.source) ? 1 : 0));
  const f = features[0];
  const c = state.collections.find((x) => x.id === f.source);
  const pop = new maplibregl.Popup({ maxWidth: "380px" }).setLngLat(e.lngLat).setHTML(`<div class="popup"><h4>${esc(c.label)}</h4>读取中…</div>`).addTo(state.map);
  try {
    const q = c.analysis ? dated(c.id) : "";
    // Tiles carry a number for every feature; the ledger's own polygons are addressed by their id.
    const fid = c.id === "conflicts" ? f.properties.id : f.id;
    const full = await getJSON(`/collections/${c.id}/items/${encodeURIComponent(fid)}${q}`);
    const p = full.properties;
    let html = `<div class="popup"><h4>${esc(c.id === "conflicts" ? `差异图斑 ${p.id}` : c.label)}</h4><table>${rows(p)}`;
    if (c.id === "conflicts") html += LEDGER_WORK.map((k) => `<tr><th>${esc(LABELS[k])}</th><td class="muted">${esc(p[k] ?? "（待填）")}</td></tr>`).join("");
    html += "</table>";
    if (p.rule) html += `<div class="rule">${esc(p.rule)}</div>`;
    if (c.id === "zoning") {
      const z = (await getJSON(`/analysis/zoning?park=${encodeURIComponent(p.id)}&as_of=${state.asOf}`)).parks[0];
      html += `<div class="popup-shares">${shareBars(z.categories)}</div>`;
    }
    if (p.reasons_json) {
      html += JSON.parse(p.reasons_json)
        .map((r) => `<div class="rule">${esc(r.indicator)}：${esc(fmt(r.value))}（阈值 ${esc(fmt(r.threshold))} ${esc(r.unit)}）<br>${esc(r.rule)}${r.note ? "<br>" + esc(r.note) : ""}${r.assumption ? "<br>假定：" + esc(r.assumption) : ""}</div>`)
        .join("");
    }
    pop.setHTML(html + "</div>");
    await window.landwatchDisposal.attach(pop.getElement().querySelector(".popup"), c.id, p);
  } catch (err) {
    pop.setHTML(`<div class="popup">${esc(err.message)}</div>`);
  }
}

// 合规性审查: a site drawn on the map (click the corners, then 完成) or read from a GeoJSON file.
function siteGeoJSON() {
  const pts = state.sitePoints.map((p) => [p.lng, p.lat]);
  if (state.site) return state.site;
  if (pts.length >= 3) return { type: "Polygon", coordinates: [[...pts, pts[0]]] };
  if (pts.length >= 2) return { type: "LineString", coordinates: pts };
  return null;
}

function showSite() {
  const map = state.map;
  const g = siteGeoJSON();
  const data = { type: "FeatureCollection", features: g && g.type !== "Point" ? [{ type: "Feature", properties: {}, geometry: g }] : [] };
  if (map.getSource("site")) map.getSource("site").setData(data);
  else {
    map.addSource("site", { type: "geojson", data });
    map.addLayer({ id: "site-fill", type: "fill", source: "site", filter: ["==", ["geometry-type"], "Polygon"], paint: { "fill-color": "#1565c0", "fill-opacity": 0.2 } });
    map.addLayer({ id: "site-line", type: "line", source: "site", paint: { "line-color": "#1565c0", "line-width": 2.5, "line-dasharray": [2, 1] } });
  }
  $("review-site").disabled = !(state.site || state.sitePoints.length >= 3 || state.siteText);
  $("finish-site").disabled = !(state.drawing && state.sitePoints.length >= 3);
}

function startDrawing() {
  state.drawing = true;
  state.site = null;
  state.siteText = null;
  state.sitePoints = [];
  $("site-file").value = "";
  $("review-result").innerHTML = `<p class="muted">在地图上依次点击用地范围的拐点，再点“完成”。</p>`;
  state.map.getCanvas().style.cursor = "crosshair";
  showSite();
}

function finishDrawing() {
  if (state.sitePoints.length < 3) return;
  state.site = siteGeoJSON();
  state.drawing = false;
  state.map.getCanvas().style.cursor = "";
  showSite();
}

function clearSite() {
  state.drawing = false;
  state.site = null;
  state.siteText = null;
  state.sitePoints = [];
  $("site-file").value = "";
  $("review-result").innerHTML = "";
  showSite();
}

async function readSiteFile(file) {
  clearSite();
  state.siteText = await file.text();
  // Lon/lat files are drawn; a projected one is reviewed by the server from the CRS it names.
  try {
    const v = JSON.parse(state.siteText);
    const g = v.type === "FeatureCollection" ? v.features?.[0]?.geometry : v.type === "Feature" ? v.geometry : v;
    const c = JSON.stringify(g?.coordinates ?? []).match(/-?\d+(\.\d+)?/g)?.map(Number) ?? [];
    if (g && c.length && c.every((x) => Math.abs(x) <= 180)) state.site = g;
  } catch (e) {
    // The server says what is wrong with the file.
  }
  $("review-result").innerHTML = `<p class="muted">已读取 ${esc(file.name)}</p>`;
  showSite();
}

function renderReview(r) {
  const m2 = (v) => (v == null ? "—" : `${v.toFixed(1)} ㎡`);
  const line = (name, l) => `<tr><td>${name}</td><td class="num">${l.checked ? m2(l.inside_m2) : "未审查（无此图层）"}</td></tr>`;
  $("review-result").innerHTML = `
    <div class="conclusion ${CONCLUSION[r.conclusion] ?? ""}" data-conclusion="${esc(r.conclusion)}">${esc(r.conclusion_zh)}</div>
    <p>用地面积 ${r.site_area_m2.toFixed(1)} ㎡（${r.site_area_mu.toFixed(2)} 亩）${r.intended_use ? "，拟用途 " + esc(r.intended_use) : ""}</p>
    <table class="indicators review-layers"><tr><th>图层</th><th>符合</th><th>不符合</th><th>结论</th></tr>${r.layers
      .map((l) => `<tr><td>${esc(l.layer)}</td><td class="num">${m2(l.conforming_m2)}</td><td class="num">${m2(l.nonconforming_m2)}</td><td>${esc(l.conclusion_zh)}</td></tr>`)
      .join("")}</table>
    <table class="indicators"><tr><th>控制线</th><th>占用 / 线内面积</th></tr>${line("生态保护红线", r.redlines.ecological)}${line("永久基本农田", r.redlines.farmland)}${line("城镇开发边界内", r.redlines.urban_boundary)}</table>
    <div class="rule">${esc(r.rule)}</div>
    ${r.reasons.map((x) => `<div class="reason">${esc(x)}</div>`).join("")}
    ${r.not_checked.map((x) => `<div class="reason muted">未审查：${esc(x)}</div>`).join("")}
    <p class="muted">${esc(r.measured)}；各图层面积口径独立，不可相加。</p>`;
}

async function reviewSite() {
  const body = state.siteText ?? JSON.stringify(siteGeoJSON());
  const use = $("site-use").value;
  $("review-result").innerHTML = `<p class="muted">审查中…</p>`;
  try {
    const r = await fetch(`/analysis/compliance${use ? `?use=${encodeURIComponent(use)}` : ""}`, {
      method: "POST", headers: window.landwatchAuth.headers({ "Content-Type": "application/geo+json", Accept: "application/json" }), body,
    });
    const v = await r.json();
    if (!r.ok) {
      $("review-result").innerHTML = `<div class="conclusion fail">无法审查</div><p>${esc(v.description ?? r.status)}</p>`;
      return;
    }
    renderReview(v);
  } catch (e) {
    $("review-result").innerHTML = `<p>${esc(e.message)}</p>`;
  }
}

function initReview() {
  $("site-use").innerHTML = `<option value="">建设用地（不限用途）</option>` + Object.entries(CATEGORY)
    .filter(([k]) => k !== "unclassified")
    .map(([k, [, name]]) => `<option value="${k}">${esc(name)}</option>`)
    .join("");
  $("draw-site").addEventListener("click", startDrawing);
  $("finish-site").addEventListener("click", finishDrawing);
  $("clear-site").addEventListener("click", clearSite);
  $("review-site").addEventListener("click", reviewSite);
  $("site-file").addEventListener("change", (e) => e.target.files[0] && readSiteFile(e.target.files[0]));
  state.map.on("click", (e) => {
    if (!state.drawing) return;
    state.sitePoints.push(e.lngLat);
    showSite();
  });
  showSite();
}

async function main() {
  $("asof").value = state.asOf;
  if (typeof maplibregl === "undefined") {
    $("map").innerHTML = `<p style="padding:20px">MapLibre GL JS is not installed: run scripts/setup, which installs it from npm.</p>`;
    return;
  }
  const [cols, analyses] = await Promise.all([getJSON("/collections").then((r) => r.collections), getJSON("/analysis").then((r) => r.checks)]);
  state.checks = analyses;
  const layerCols = cols.filter((c) => c.role).sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
  state.collections = layerCols.map((c) => ({
    id: c.id, role: c.role, kind: c.kind, label: c.title, count: c.count, on: c.role !== "plan" && c.role !== "other", mapLayers: [], bbox: c.extent?.spatial?.bbox?.[0],
  }));
  for (const a of state.checks.filter((x) => x.collection)) {
    const c = cols.find((x) => x.id === a.id);
    if (c) state.collections.push({ id: a.id, role: a.id, label: a.title, count: c.count, on: SHOWN_AT_START.includes(a.id), analysis: true, mapLayers: [] });
  }
  const parks = state.collections.find((c) => c.role === "parks") ?? state.collections.find((c) => c.bbox);
  const bounds = parks?.bbox ? [[parks.bbox[0], parks.bbox[1]], [parks.bbox[2], parks.bbox[3]]] : [[73, 18], [135, 54]];
  const map = new maplibregl.Map({
    container: "map",
    style: {
      version: 8, glyphs: `${location.origin}/fonts/{fontstack}/{range}.pbf`, sources: {},
      layers: [{ id: "background", type: "background", paint: { "background-color": "#eef2ee" } }],
    },
    bounds,
    fitBoundsOptions: { padding: 30 },
    attributionControl: false,
    // A private server wants the token with every tile and glyph.
    transformRequest: (url) => (url.startsWith("/") || url.startsWith(location.origin) ? { url, headers: window.landwatchAuth.headers() } : { url }),
  });
  state.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  map.on("error", (e) => {
    const msg = e.error?.message ?? String(e.error ?? e);
    state.errors.push(msg);
    console.warn("map:", msg);
  });
  map.on("load", () => {
    for (const c of state.collections) addCollection(c);
    initReview();
    map.once("idle", () => {
      const n = map.queryRenderedFeatures().length;
      document.body.dataset.rendered = String(n);
      state.ready = true;
      state.rendered = n;
    });
  });
  map.on("click", popup);
  map.on("mousemove", (e) => {
    if (state.drawing) return;
    const hit = map.queryRenderedFeatures(e.point).some((f) => state.collections.some((c) => c.id === f.source));
    map.getCanvas().style.cursor = hit ? "pointer" : "";
  });
  $("asof").addEventListener("change", (e) => {
    if (!e.target.value) return;
    state.asOf = e.target.value;
    for (const c of state.collections.filter((x) => x.analysis && dated(x.id))) {
      removeCollection(c);
      addCollection(c);
    }
    renderDownloads();
    refreshCounts().catch((err) => notice(err.message));
    if (state.park) showPark(state.park);
  });
  renderToggles();
  renderLegend();
  renderDownloads();
  await renderParks();
}

main().catch((e) => {
  state.errors.push(e.message);
  notice(e.message);
  console.error(e);
});
