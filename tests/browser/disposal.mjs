// The web map's account and disposal form in Debian's headless Chromium, against a private
// server: without a token the page says so; an editor opens an idle finding's popup, sees its
// history and records the next event; a viewer sees the history without the form.
//   node tests/browser/disposal.mjs URL EDITOR_TOKEN VIEWER_TOKEN
import { launch } from "./launch.mjs";

const [url, editor, viewer] = process.argv.slice(2);
const browser = await launch();

// A page signed in with `token` (kept in localStorage as the token field keeps it).
async function open(token) {
  const context = await browser.newContext({ viewport: { width: 1300, height: 800 } });
  if (token) await context.addInitScript((t) => localStorage.setItem("landwatch.token", t), token);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  await page.goto(url, { waitUntil: "load" });
  return { page, errors };
}

// Click the first idle finding drawn on the map and wait for its popup's case.
async function openFinding(page) {
  await page.waitForFunction(() => window.__landwatch && window.__landwatch.ready, null, { timeout: 60000 });
  const at = await page.evaluate(() => {
    const m = window.__landwatch.map;
    const f = m.queryRenderedFeatures({ layers: ["idle-fill"] })[0];
    const ring = f.geometry.type === "Polygon" ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    const [x, y] = ring.slice(0, -1).reduce(([a, b], [c, d]) => [a + c / (ring.length - 1), b + d / (ring.length - 1)], [0, 0]);
    const p = m.project([x, y]);
    const r = m.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  });
  await page.mouse.click(at.x, at.y);
  await page.waitForSelector(".maplibregl-popup .disposal h5", { timeout: 30000 });
}

const report = {};
try {
  // No token on a private server: the page says the data needs one.
  const anon = await open(null);
  await anon.page.waitForSelector("#notice:not(.hidden)", { timeout: 30000 });
  report.anonymous = { notice: await anon.page.textContent("#notice"), who: await anon.page.textContent("#who") };

  const ed = await open(editor);
  await openFinding(ed.page);
  report.editor = { who: await ed.page.textContent("#who"), form: await ed.page.locator(".event-form").count() };
  report.editor.before = await ed.page.locator(".disposal table.history tr").count();
  await ed.page.selectOption(".event-form select[name=status]", "investigating");
  await ed.page.fill(".event-form input[name=effective_date]", "2024-03-01");
  await ed.page.fill(".event-form input[name=document_no]", "资规闲调〔2024〕9号");
  await ed.page.click(".event-form button[type=submit]");
  await ed.page.waitForSelector(".disposal .ok", { timeout: 30000 });
  report.editor.recorded = await ed.page.textContent(".disposal .ok");
  report.editor.history = await ed.page.textContent(".disposal table.history");
  report.editor.errors = ed.errors;

  const vw = await open(viewer);
  await openFinding(vw.page);
  // The served history catches up with the write within a reload of the store.
  await vw.page.waitForTimeout(500);
  report.viewer = {
    who: await vw.page.textContent("#who"),
    form: await vw.page.locator(".event-form").count(),
    history: await vw.page.textContent(".disposal"),
    errors: vw.errors,
  };
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
