// Open landwatch's web map in Debian's headless Chromium and report what a person would see:
// console errors, the number of rendered features, the conflicts layer, one compliance
// review of a drawn site and one of a bad file, and a screenshot.
//   node tests/browser/map.mjs URL SCREENSHOT.png
import { launch } from "./launch.mjs";

const [url, shot] = process.argv.slice(2);
const browser = await launch();
const errors = [];
let expectRefusal = false;
const expected = (text) => expectRefusal && (text.includes("/analysis/compliance") || text.includes("status of 400"));
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  page.on("console", (m) => { if (m.type() === "error" && !expected(m.text())) errors.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  // MapLibre cancels the tiles it no longer needs when the view moves: not a failure.
  page.on("requestfailed", (r) => {
    if (r.failure()?.errorText !== "net::ERR_ABORTED") errors.push(`request: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => { if (r.status() >= 400 && !expected(r.url())) errors.push(`http ${r.status()}: ${r.url()}`); });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => window.__landwatch && window.__landwatch.ready, null, { timeout: 60000 });
  // Open a park's panel, as a user would, and let the bars draw.
  await page.click(".parks button");
  await page.waitForSelector("#shares .share-row", { timeout: 30000 });
  await page.waitForSelector("#park-conflicts tr", { timeout: 30000 });
  // Switch the conflicts layer on, as a user would, and let the map settle on the park.
  await page.click('#layers label:has-text("多规合一差异图斑") input');
  await page.waitForTimeout(2500);
  const conflicts = await page.evaluate(() => {
    const m = window.__landwatch.map;
    const fs = m.getLayer("conflicts-fill") ? m.queryRenderedFeatures({ layers: ["conflicts-fill"] }) : [];
    return { rendered: fs.length, types: [...new Set(fs.map((f) => f.properties.type))] };
  });
  // A compliance review of a site drawn by clicking four corners around the map's centre.
  await page.click("#draw-site");
  const box = await page.locator("#map").boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  for (const [dx, dy] of [[-40, -40], [40, -40], [40, 40], [-40, 40]]) await page.mouse.click(cx + dx, cy + dy);
  await page.click("#finish-site");
  await page.click("#review-site");
  await page.waitForSelector("#review-result .conclusion", { timeout: 30000 });
  const review = await page.evaluate(() => ({
    conclusion: document.querySelector("#review-result .conclusion").dataset.conclusion ?? null,
    text: document.querySelector("#review-result .conclusion").textContent,
    layers: document.querySelectorAll("#review-result .review-layers tr").length - 1,
  }));
  // A file that is not a polygon: the tool says why (the server's 400 is the expected answer).
  expectRefusal = true;
  await page.setInputFiles("#site-file", { name: "point.geojson", mimeType: "application/geo+json", buffer: Buffer.from('{"type":"Point","coordinates":[104.5,30.1]}') });
  await page.waitForFunction(() => !document.querySelector("#review-site").disabled, null, { timeout: 10000 });
  await page.click("#review-site");
  await page.waitForFunction(() => document.querySelector("#review-result").textContent.includes("无法审查"), null, { timeout: 30000 });
  const refused = await page.evaluate(() => document.querySelector("#review-result").textContent);
  expectRefusal = false;
  const state = await page.evaluate(() => ({
    rendered: window.__landwatch.rendered,
    mapErrors: window.__landwatch.errors,
    layers: window.__landwatch.collections.map((c) => c.id),
    bars: document.querySelectorAll("#shares .share-row").length,
    indicators: document.querySelectorAll("#indicators tr").length,
    parkConflicts: document.querySelectorAll("#park-conflicts tr").length,
    // Labels drawn with the glyphs the server renders from its CJK font.
    labels: (() => {
      const m = window.__landwatch.map;
      const ids = m.getStyle().layers.filter((l) => l.type === "symbol").map((l) => l.id);
      return m.queryRenderedFeatures({ layers: ids }).map((f) => f.properties.name ?? f.properties.id);
    })(),
    legend: document.querySelector("#legend").textContent,
  }));
  await page.screenshot({ path: shot });
  console.log(JSON.stringify({ ...state, conflicts, review, refused, errors }));
} finally {
  await browser.close();
}
