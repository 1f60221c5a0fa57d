// Boots a real Sachet server for the tests: the binary built from this
// repository (or $SACHET_BIN), a temporary data dir with SQLite, a free
// port, bcrypt cost 4, and an "admin" user holding every permission.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ADMIN = { username: "admin", password: "pw" };
const ALL = ["CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "ADMIN", "READ"];

export interface TestServer {
  url: string;
  /** A token of "admin", who has every permission. */
  adminToken: string;
  stop(): Promise<void>;
}

/** The repository root: the nearest directory above this file with go.mod. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "go.mod"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error("go.mod not found above " + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

async function api(url: string, method: string, token: string | null, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token) headers["Authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(url, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
}

async function login(url: string): Promise<string> {
  const r = await api(url + "/users/login", "POST", null, ADMIN);
  if (r.status !== 200) throw new Error(`admin login: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { auth_token: string }).auth_token;
}

export async function startServer(): Promise<TestServer> {
  const root = repoRoot();
  const work = mkdtempSync(path.join(tmpdir(), "sachet-ts-"));
  let bin = process.env["SACHET_BIN"];
  if (!bin) {
    bin = path.join(work, "sachet");
    execFileSync("go", ["build", "-o", bin, "./cmd/sachet"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  }
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SACHET_DATA_DIR: path.join(work, "data"),
    SACHET_ADDR: `127.0.0.1:${port}`,
    SACHET_BCRYPT_COST: "4",
    SACHET_LOG_FORMAT: "text",
  };
  delete env["SACHET_DATABASE"];
  execFileSync(bin, ["user", "create", "--username", ADMIN.username, "--password", ADMIN.password, "--admin"], {
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });

  const child: ChildProcess = spawn(bin, ["serve"], { env, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
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
    const first = await login(url);
    const r = await api(`${url}/users/${ADMIN.username}`, "PATCH", first, { permissions: ALL });
    if (r.status !== 200) throw new Error(`granting permissions: ${r.status} ${await r.text()}`);
    return { url, adminToken: await login(url), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
