// landwatch web map: the account (a bearer token kept in this browser) and, in a finding's
// popup, its disposal history (处置记录) with a form to record the next event — shown to
// editors and admins only.
"use strict";

const TOKEN_KEY = "landwatch.token";
const ROLE_ZH = { viewer: "查看", editor: "编辑", admin: "管理员" };
const STATUS_ZH = { suspected: "疑似", investigating: "调查中", confirmed: "已认定", disposing: "处置中", disposed: "已处置" };
const METHOD_ZH = {
  started: "动工", extended: "延期动工", use_changed: "调整用途", temporary_use: "临时使用",
  fee_collected: "征缴闲置费", recovered: "无偿收回", paid_recovery: "有偿收回", swapped: "置换",
};
// Which findings have a case, and what the case is about.
const SUBJECT = {
  idle: (p) => (p.finding === "approved_not_supplied" ? "approved_not_supplied" : "idle"),
  underused: () => "underused",
  conflicts: () => "conflict",
};

const auth = {
  token: localStorage.getItem(TOKEN_KEY) || "",
  account: null,
  // Headers every request of the map sends.
  headers(extra = {}) {
    return auth.token ? { ...extra, Authorization: `Bearer ${auth.token}` } : extra;
  },
  canWrite() {
    return auth.account && (auth.account.role === "editor" || auth.account.role === "admin");
  },
};
window.landwatchAuth = auth;

const escText = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

async function whoAmI() {
  const who = document.getElementById("who");
  auth.account = null;
  if (!auth.token) {
    who.textContent = "未登录（只读）";
    return;
  }
  const r = await fetch("/account", { headers: auth.headers({ Accept: "application/json" }) });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    who.textContent = `令牌无效：${body.description ?? r.status}`;
    who.classList.add("bad");
    return;
  }
  auth.account = body;
  who.classList.remove("bad");
  who.textContent = `${body.name}（${ROLE_ZH[body.role] ?? body.role}）`;
}

function initToken() {
  const input = document.getElementById("token");
  input.value = auth.token;
  input.addEventListener("change", () => {
    auth.token = input.value.trim();
    if (auth.token) localStorage.setItem(TOKEN_KEY, auth.token);
    else localStorage.removeItem(TOKEN_KEY);
    // Everything already loaded was read with the old token: start again with the new one.
    location.reload();
  });
  auth.ready = whoAmI().catch((e) => {
    document.getElementById("who").textContent = e.message;
  });
}

function historyTable(events) {
  if (!events.length) return `<div class="muted">尚无处置记录</div>`;
  const rows = events.map((e) => `<tr><td>${escText(e.effective_date)}</td><td>${escText(STATUS_ZH[e.status] ?? e.status)}${e.method ? "·" + escText(METHOD_ZH[e.method] ?? e.method) : ""}</td>`
    + `<td>${escText(e.document_no)}${e.amount_wan != null ? ` ${escText(e.amount_wan)} 万元` : ""}</td><td>${escText(e.recorded_by)}</td></tr>`).join("");
  return `<table class="history"><tr><th>日期</th><th>状态</th><th>文号/金额</th><th>记录人</th></tr>${rows}</table>`;
}

function options(map, blank) {
  return (blank ? `<option value="">（无）</option>` : "") + Object.entries(map).map(([k, v]) => `<option value="${k}">${v}</option>`).join("");
}

// The case of a finding's popup: its history, and the form for editors.
async function attach(container, collection, props) {
  const subjectOf = SUBJECT[collection];
  if (!subjectOf) return;
  await auth.ready;
  const key = { subject: subjectOf(props), layer: collection === "conflicts" ? "conflicts" : props.layer, feature_id: String(props.id) };
  const box = document.createElement("div");
  box.className = "disposal";
  container.appendChild(box);
  const c = { version: 0, events: [] };
  const load = async () => {
    const q = new URLSearchParams({ ...key, limit: "1000", skipGeometry: "true" });
    const r = await fetch(`/collections/events/items?${q}`, { headers: auth.headers({ Accept: "application/geo+json" }) });
    if (!r.ok) throw new Error(`处置记录读取失败：${r.status}`);
    const fc = await r.json();
    const events = fc.features.map((f) => ({ id: f.id, ...f.properties })).filter((e) => e.subject === key.subject);
    // The served history may lag a write by a moment; keep what this page recorded.
    for (const e of c.events) if (!events.some((x) => x.id === e.id)) events.push(e);
    events.sort((a, b) => a.id - b.id);
    c.events = events;
    c.version = Math.max(c.version, ...events.map((e) => e.id), 0);
    render();
  };
  const render = () => {
    let html = `<h5>处置记录</h5>${historyTable(c.events)}`;
    if (auth.canWrite()) {
      html += `<form class="event-form"><h5>记录下一步</h5>
        <label>状态 <select name="status">${options(STATUS_ZH)}</select></label>
        <label>方式 <select name="method">${options(METHOD_ZH, true)}</select></label>
        <label>生效日期 <input type="date" name="effective_date" required></label>
        <label>期限至 <input type="date" name="until"></label>
        <label>文号 <input name="document_no" placeholder="闲置土地认定书文号"></label>
        <label>金额(万元) <input type="number" step="any" min="0" name="amount_wan"></label>
        <label>备注 <input name="note"></label>
        <button type="submit" class="primary">记录</button><div class="form-result"></div></form>`;
    }
    box.innerHTML = html;
    const form = box.querySelector("form");
    if (form) form.addEventListener("submit", (ev) => { ev.preventDefault(); submit(form).catch((e) => { form.querySelector(".form-result").textContent = e.message; }); });
  };
  const submit = async (form) => {
    const data = new FormData(form);
    const properties = { ...key, status: data.get("status"), effective_date: data.get("effective_date") };
    for (const k of ["method", "until", "document_no", "note"]) if (data.get(k)) properties[k] = data.get(k);
    if (data.get("amount_wan")) properties.amount_wan = Number(data.get("amount_wan"));
    const r = await fetch("/collections/events/items", {
      method: "POST",
      headers: auth.headers({ "Content-Type": "application/geo+json", "If-Match": `"${c.version}"` }),
      body: JSON.stringify({ type: "Feature", geometry: null, properties }),
    });
    const body = await r.json().catch(() => ({}));
    const result = form.querySelector(".form-result");
    if (r.status === 201) {
      c.events.push({ id: body.id, ...body.properties });
      c.version = body.id;
      render();
      box.querySelector("h5").insertAdjacentHTML("afterend", `<div class="ok">已记录（第 ${body.id} 号）</div>`);
      return;
    }
    if (r.status === 412) {
      result.textContent = "另一位编辑已先记录了此案件的新事件，已刷新记录，请核对后再提交。";
      const v = /at version (\d+)/.exec(body.description ?? "");
      if (v) c.version = Number(v[1]);
      await load();
      return;
    }
    result.textContent = body.description ?? `记录失败：${r.status}`;
  };
  try {
    await load();
  } catch (e) {
    box.innerHTML = `<div class="muted">${escText(e.message)}</div>`;
  }
}

window.landwatchDisposal = { attach };
document.addEventListener("DOMContentLoaded", initToken);
