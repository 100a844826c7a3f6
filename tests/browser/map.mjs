// Open landwatch's web map in Debian's headless Chromium and report what a person would see:
// console errors, the number of rendered features, and a screenshot.
//   node tests/browser/map.mjs URL SCREENSHOT.png
import { chromium } from "playwright-core";

const [url, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
  ],
});
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  // MapLibre cancels the tiles it no longer needs when the view moves: not a failure.
  page.on("requestfailed", (r) => {
    if (r.failure()?.errorText !== "net::ERR_ABORTED") errors.push(`request: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`http ${r.status()}: ${r.url()}`); });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => window.__landwatch && window.__landwatch.ready, null, { timeout: 60000 });
  // Open a park's panel, as a user would, and let the bars draw.
  await page.click(".parks button");
  await page.waitForSelector("#shares .share-row", { timeout: 30000 });
  await page.waitForTimeout(1500);
  const state = await page.evaluate(() => ({
    rendered: window.__landwatch.rendered,
    mapErrors: window.__landwatch.errors,
    layers: window.__landwatch.collections.map((c) => c.id),
    bars: document.querySelectorAll("#shares .share-row").length,
    indicators: document.querySelectorAll("#indicators tr").length,
    // Labels drawn with the glyphs the server renders from its CJK font.
    labels: (() => {
      const m = window.__landwatch.map;
      const ids = m.getStyle().layers.filter((l) => l.type === "symbol").map((l) => l.id);
      return m.queryRenderedFeatures({ layers: ids }).map((f) => f.properties.name ?? f.properties.id);
    })(),
    legend: document.querySelector("#legend").textContent,
  }));
  await page.screenshot({ path: shot });
  console.log(JSON.stringify({ ...state, errors }));
} finally {
  await browser.close();
}
