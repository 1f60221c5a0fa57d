// Sachet in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core):
//  - a page served from another origin uses the API with fetch(): login,
//    a share, a two-chunk FormData upload, HEAD and a Range GET, reading
//    the headers the web UI reads; preflights pass and the console stays
//    empty;
//  - a page on another origin uploads several-MiB files with the real,
//    stock Dropzone.js from npm (1 MB chunks, one after another and in
//    parallel); each share ends byte-identical to its source (SHA-256);
//  - a page on another origin, with no account, downloads through a
//    password-protected share link: metadata, HEAD, a Range from 0 and its
//    resumption, the whole content, then 410 once the link is used up;
//  - /docs renders offline, making no request beyond the page itself; a
//    screenshot goes to artifacts/docs.png.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { ADMIN, startServer } from "./server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARTIFACTS = path.join(here, "artifacts");
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

let api; // the Sachet server
let app; // the page's own server, on another origin
let appURL;
let context;
let profile;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  api = await startServer();
  const files = {
    "/": ["text/html; charset=utf-8", readFileSync(path.join(here, "app.html"))],
    "/dropzone.html": ["text/html; charset=utf-8", readFileSync(path.join(here, "dropzone.html"))],
    "/links.html": ["text/html; charset=utf-8", readFileSync(path.join(here, "links.html"))],
    // The npm package's own ES module build, unmodified.
    "/dropzone.mjs": [
      "text/javascript; charset=utf-8",
      readFileSync(createRequire(import.meta.url).resolve("dropzone/dist/dropzone.mjs")),
    ],
  };
  app = http.createServer((req, res) => {
    const f = req.method === "GET" && files[req.url];
    if (f) {
      res.writeHead(200, { "Content-Type": f[0] });
      res.end(f[1]);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
  appURL = `http://127.0.0.1:${app.address().port}`;
  // A fresh profile (--user-data-dir) every run.
  profile = mkdtempSync(path.join(tmpdir(), "sachet-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await new Promise((resolve) => (app ? app.close(resolve) : resolve()));
  await api?.stop();
});

/** Collects console errors, page errors and failed requests of a page. */
function watch(page) {
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  return problems;
}

/** Records CORS preflights (OPTIONS) the browser sends, with their status. */
async function watchPreflights(page) {
  const cdp = await page.context().newCDPSession(page);
  const preflights = new Map();
  cdp.on("Network.requestWillBeSent", (e) => {
    if (e.type === "Preflight" || e.request.method === "OPTIONS") {
      preflights.set(e.requestId, { url: e.request.url, method: e.request.method, status: null });
    }
  });
  cdp.on("Network.responseReceived", (e) => {
    const p = preflights.get(e.requestId);
    if (p) p.status = e.response.status;
  });
  cdp.on("Network.loadingFailed", (e) => {
    const p = preflights.get(e.requestId);
    if (p) p.failed = e.errorText + (e.corsErrorStatus ? ` (${e.corsErrorStatus.corsError})` : "");
  });
  await cdp.send("Network.enable");
  return preflights;
}

test("a page on another origin uses the API with fetch()", async () => {
  assert.notEqual(new URL(appURL).origin, new URL(api.url).origin);
  const page = await context.newPage();
  const problems = watch(page);
  const preflights = await watchPreflights(page);
  await page.goto(appURL + "/");

  const out = await page.evaluate(([u, n, p]) => globalThis.runScenario(u, n, p), [api.url, ADMIN.username, ADMIN.password]);

  assert.equal(out.loginStatus, 200);
  assert.equal(out.createStatus, 201);
  assert.match(out.url, /^\/files\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(out.location, out.url, "Location must be exposed to script");
  assert.deepEqual(out.chunkStatuses, [200, 201]);

  const size = new TextEncoder().encode(out.expected).length;
  assert.equal(out.head.status, 200);
  assert.equal(out.head.contentLength, String(size), "HEAD Content-Length visible to script");
  assert.match(out.head.contentType ?? "", /^text\/plain/, "HEAD Content-Type visible to script");
  assert.match(out.head.contentDisposition ?? "", /from the browser\.txt/);
  assert.ok(out.head.etag, "ETag must be exposed to script");
  assert.equal(out.head.bodyBytes, 0);

  assert.equal(out.range.status, 206);
  assert.equal(out.range.body, out.expected.slice(6, 10));
  assert.equal(out.range.contentRange, `bytes 6-9/${size}`);
  assert.equal(out.range.contentLength, "4");
  assert.match(out.range.contentDisposition ?? "", /^inline; filename="from the browser\.txt"/);
  assert.equal(out.whole, out.expected);
  assert.equal(out.whoami.username, ADMIN.username);

  // The JSON calls and those with Authorization are not "simple": the
  // browser preflighted them, and every preflight succeeded.
  const sent = [...preflights.values()];
  assert.ok(sent.length >= 2, `expected preflights, saw ${JSON.stringify(sent)}`);
  for (const p of sent) {
    assert.ok(!p.failed && p.status >= 200 && p.status < 300, `preflight ${p.url}: ${JSON.stringify(p)}`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

/** sha256 hex of bytes. */
const sha256 = (b) => createHash("sha256").update(b).digest("hex");

/** Signs in as the admin from Node (not the page) and returns the token. */
async function adminToken() {
  const r = await fetch(api.url + "/users/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(ADMIN),
  });
  assert.equal(r.status, 200);
  return (await r.json()).auth_token;
}

test("a page on another origin downloads through a share link, Range included", async () => {
  const token = await adminToken();
  const auth = { Authorization: `Bearer ${token}` };
  const text = "Bytes for whoever holds the link, read across origins.";
  const created = await fetch(api.url + "/files", {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ file_name: "linked.txt" }),
  });
  const { url } = await created.json();
  const form = new FormData();
  form.append("dzuuid", "link-upload");
  form.append("dzchunkindex", "0");
  form.append("dztotalchunks", "1");
  form.append("upload", new Blob([text]), "linked.txt");
  assert.equal((await fetch(api.url + url + "/content", { method: "POST", headers: auth, body: form })).status, 201);
  const made = await fetch(api.url + url + "/links", {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ max_downloads: 2, password: "shared secret" }),
  });
  assert.equal(made.status, 201);
  const link = api.url + (await made.json()).url;

  const page = await context.newPage();
  const problems = watch(page);
  const preflights = await watchPreflights(page);
  await page.goto(appURL + "/links.html");
  const out = await page.evaluate(([l, p]) => globalThis.runLinkScenario(l, p), [link, "shared secret"]);

  assert.equal(out.noPassword.status, 401);
  assert.match(out.noPassword.message, /X-Sachet-Link-Password/);
  assert.equal(out.info.status, 200);
  assert.equal(out.info.cacheControl, "no-store");
  assert.deepEqual(out.info.body, { file_name: "linked.txt", size: text.length, expires_at: null, downloads_left: 2 });
  assert.equal(out.head.status, 200);
  assert.equal(out.head.contentLength, String(text.length));
  assert.match(out.head.contentDisposition ?? "", /linked\.txt/);
  assert.deepEqual(out.first, { status: 206, body: text.slice(0, 10), contentRange: `bytes 0-9/${text.length}` });
  assert.deepEqual(out.rest, { status: 206, body: text.slice(10), contentRange: `bytes 10-${text.length - 1}/${text.length}` });
  assert.equal(out.left, 1, "the range from 0 counted once, its resumption not");
  assert.deepEqual(out.whole, { status: 200, body: text });
  assert.equal(out.gone.status, 410);
  assert.match(out.gone.message, /no downloads left/);

  const sent = [...preflights.values()];
  assert.ok(sent.length >= 1, `the password header needs a preflight; saw ${JSON.stringify(sent)}`);
  for (const p of sent) {
    assert.ok(!p.failed && p.status >= 200 && p.status < 300, `preflight ${p.url}: ${JSON.stringify(p)}`);
  }
  // The 401 and the 410 are expected answers; anything else is a problem.
  const unexpected = problems.filter((p) => !/status of (401|410)/.test(p));
  assert.deepEqual(unexpected, []);
  await page.close();
});

test("a stock Dropzone.js on another origin uploads several-MiB files byte-identical", async () => {
  const token = await adminToken();
  const auth = { Authorization: `Bearer ${token}` };
  const page = await context.newPage();
  const problems = watch(page);
  const preflights = await watchPreflights(page);
  // Every chunk request Dropzone makes, with its answer.
  const chunks = [];
  page.on("response", (r) => {
    if (r.request().method() === "POST" && r.url().endsWith("/content")) {
      chunks.push({ url: r.url(), status: r.status() });
    }
  });
  await page.goto(appURL + "/dropzone.html");
  await page.waitForFunction(() => typeof globalThis.uploadWithDropzone === "function");

  // 5.5 MiB and 3 MiB of random bytes: 6 and 4 chunks of 1 MB.
  const sources = [
    { name: "five-and-a-half.bin", bytes: randomBytes(5.5 * 1024 * 1024), chunks: 6 },
    { name: "three.bin", bytes: randomBytes(3 * 1024 * 1024), chunks: 4 },
  ];
  for (const parallel of [false, true]) {
    for (const src of sources) {
      const what = `${src.name} (${parallel ? "parallel chunks" : "one chunk after another"})`;
      const created = await fetch(api.url + "/files", {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify({ file_name: src.name }),
      });
      assert.equal(created.status, 201, what);
      const shareURL = api.url + (await created.json()).url;
      const before = chunks.length;

      const out = await page.evaluate(
        ([u, t, n, b64, p]) => globalThis.uploadWithDropzone(u, t, n, b64, p),
        [shareURL + "/content", token, src.name, src.bytes.toString("base64"), parallel],
      );
      assert.ok(out.ok, `${what}: Dropzone reported ${JSON.stringify(out)}`);
      assert.equal(out.chunks, src.chunks, what);

      // One request per chunk: all 200 but the one that completed it, 201.
      const statuses = chunks.slice(before).filter((c) => c.url === shareURL + "/content").map((c) => c.status);
      assert.equal(statuses.length, src.chunks, `${what}: ${JSON.stringify(statuses)}`);
      assert.deepEqual(
        [...statuses].sort(),
        [...Array(src.chunks - 1).fill(200), 201],
        `${what}: chunk answers ${JSON.stringify(statuses)}`,
      );

      // Byte-identical: the share's recorded sha256 and size, and a download.
      const meta = await (await fetch(shareURL, { headers: auth })).json();
      assert.equal(meta.initialized, true, what);
      assert.equal(meta.size, src.bytes.length, what);
      assert.equal(meta.sha256, sha256(src.bytes), `${what}: recorded sha256`);
      const got = Buffer.from(await (await fetch(shareURL + "/content", { headers: auth })).arrayBuffer());
      assert.equal(got.length, src.bytes.length, what);
      assert.equal(sha256(got), sha256(src.bytes), `${what}: downloaded sha256`);
    }
  }

  // Dropzone's requests were preflighted (Authorization, Cache-Control,
  // X-Requested-With), and every preflight passed.
  const sent = [...preflights.values()];
  assert.ok(sent.length >= 1, `expected preflights, saw ${JSON.stringify(sent)}`);
  for (const p of sent) {
    assert.ok(!p.failed && p.status >= 200 && p.status < 300, `preflight ${p.url}: ${JSON.stringify(p)}`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test("/docs renders offline and lists the operations", async () => {
  const page = await context.newPage();
  const problems = watch(page);
  // Anything but the page itself would be a request to the network.
  const requests = [];
  await page.route("**/*", (route) => {
    const u = route.request().url();
    requests.push(u);
    if (u === api.url + "/docs") return route.continue();
    return route.abort();
  });

  await page.setViewportSize({ width: 1440, height: 1100 });
  const res = await page.goto(api.url + "/docs", { waitUntil: "load" });
  assert.equal(res?.status(), 200);
  // The page renders under its own Content-Security-Policy (a violation
  // would show in the console, which must stay empty).
  assert.match(res.headers()["content-security-policy"] ?? "", /default-src 'none'/);
  await page.locator("h2", { hasText: "Sign in" }).first().waitFor({ timeout: 30_000 });
  // As a reader would: open the auth group in the sidebar, pick "Sign in".
  await page.locator('li[data-item-id="tag/auth"] > label').click();
  await page.locator('li[data-item-id*="/operation/"] label', { hasText: "Sign in" }).first().click();
  await page.waitForTimeout(800); // let Redoc scroll and lay out
  assert.match(page.url(), /#tag\/auth\/operation\//);

  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = path.join(ARTIFACTS, "docs.png");
  await page.screenshot({ path: shot });

  // Every operation has its section, and an entry in the sidebar.
  const spec = await (await fetch(api.url + "/openapi.json")).json();
  const ops = Object.values(spec.paths).flatMap((item) =>
    Object.values(item).flatMap((op) => (op && typeof op === "object" && op.operationId ? [op] : [])),
  );
  assert.ok(ops.length >= 30, `only ${ops.length} operations in the spec`);
  const text = await page.evaluate(() => document.body.innerText);
  for (const s of ["Sign in", "Create an empty share", "Download a share's content", ...ops.map((o) => o.summary)]) {
    assert.ok(text.includes(s), `/docs does not show ${JSON.stringify(s)}`);
  }
  for (const op of ops) {
    const section = page.locator(`[id="operation/${op.operationId}"]`);
    assert.equal(await section.count(), 1, `no section for ${op.operationId}`);
    assert.ok((await section.innerText()).includes(op.summary), `section ${op.operationId} lacks its summary`);
    assert.ok(
      (await page.locator(`li[data-item-id$="/operation/${op.operationId}"]`).count()) === 1,
      `no sidebar entry for ${op.operationId}`,
    );
  }
  // The group of the operation in view is open, its entries visible.
  for (const s of ["Sign in", "Renew a token", "Revoke a token", "Change one's own password"]) {
    assert.ok(await page.locator('li[data-item-id*="operation/"] label', { hasText: s }).first().isVisible(), s);
  }
  assert.ok(text.includes(spec.info.title));
  assert.deepEqual(requests.filter((u) => !u.startsWith("data:") && !u.startsWith("blob:")), [api.url + "/docs"]);
  assert.deepEqual(problems, []);
  console.log(`# screenshot of /docs: ${shot}`);
  await page.close();
});
