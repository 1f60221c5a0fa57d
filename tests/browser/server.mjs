// Boots a real Sachet server for the browser test: the binary built from
// this repository (or $SACHET_BIN), a temporary data dir with SQLite, a
// free port, bcrypt cost 4, and an "admin" user holding every permission.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ADMIN = { username: "admin", password: "pw" };
const ALL = ["CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "ADMIN", "READ"];

export function repoRoot() {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "go.mod"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error("go.mod not found");
    dir = up;
  }
  return dir;
}

export function freePort(host = "127.0.0.1") {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function login(url) {
  const r = await fetch(url + "/users/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(ADMIN),
  });
  if (r.status !== 200) throw new Error(`admin login: ${r.status} ${await r.text()}`);
  return (await r.json()).auth_token;
}

/** Starts sachet serve; extraEnv is added to its environment. */
export async function startServer(extraEnv = {}) {
  const root = repoRoot();
  const work = mkdtempSync(path.join(tmpdir(), "sachet-browser-"));
  let bin = process.env.SACHET_BIN;
  if (!bin) {
    bin = path.join(work, "sachet");
    execFileSync("go", ["build", "-o", bin, "./cmd/sachet"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  }
  const port = await freePort();
  const env = {
    ...process.env,
    SACHET_DATA_DIR: path.join(work, "data"),
    SACHET_ADDR: `127.0.0.1:${port}`,
    SACHET_BCRYPT_COST: "4",
    ...extraEnv,
  };
  delete env.SACHET_DATABASE;
  execFileSync(bin, ["user", "create", "--username", ADMIN.username, "--password", ADMIN.password, "--admin"], {
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const child = spawn(bin, ["serve"], { env, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(work, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`sachet serve exited with ${child.exitCode}:\n${log}`);
      try {
        if ((await fetch(url + "/readyz")).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`sachet serve not ready after 30s:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // `user create --admin` grants ADMIN only; grant the rest.
    const r = await fetch(`${url}/users/${ADMIN.username}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${await login(url)}` },
      body: JSON.stringify({ permissions: ALL }),
    });
    if (r.status !== 200) throw new Error(`granting permissions: ${r.status} ${await r.text()}`);
    return { url, stop, log: () => log };
  } catch (err) {
    await stop();
    throw err;
  }
}
