// The TypeScript client against a real server: login, whoami, creating a
// user as admin, a share, a chunked upload sent out of order, ranged
// downloads, lock, logout.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";

import { ALL_PERMISSIONS, Sachet, SachetError, shareIdOf } from "../src/index.js";
import { ADMIN, startServer, type TestServer } from "./server.js";

let server: TestServer;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("a user's session: login, whoami, share, chunked upload, ranged download, lock, logout", async () => {
  // Login and whoami as the administrator.
  const admin = new Sachet({ baseUrl: server.url });
  const token = await admin.login(ADMIN.username, ADMIN.password);
  assert.ok(token.length > 0);
  const me = await admin.whoami();
  assert.equal(me.username, "admin");
  assert.deepEqual(me.permissions, ALL_PERMISSIONS);

  // Create a user as admin, through the raw typed client.
  const created = await admin.api.POST("/users", {
    body: { username: "alice", password: "alice-pw", permissions: ["CREATE", "READ", "MODIFY", "LOCK"] },
  });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));
  assert.equal(created.data?.url, "/users/alice");
  const dup = await admin.api.POST("/users", { body: { username: "alice", password: "x" } });
  assert.equal(dup.response.status, 409);
  assert.equal(dup.error?.status, "fail");

  const alice = new Sachet({ baseUrl: server.url });
  await alice.login("alice", "alice-pw");
  assert.deepEqual(await alice.whoami(), {
    username: "alice",
    permissions: ["CREATE", "MODIFY", "LOCK", "READ"],
    quota: null, // no quota of her own, and no default: unlimited
    used_bytes: 0,
  });

  // A share, and its content in three chunks sent out of order.
  const id = await alice.createShare("hello.txt");
  assert.match(id, UUID_V4);
  const content = new TextEncoder().encode("The quick brown fox jumps over the lazy dog.");
  const chunkSize = 16; // 16 + 16 + 12 bytes
  await alice.upload(id, new Blob([content]), { chunkSize, order: [2, 0, 1] });

  const share = await alice.api.GET("/files/{share_id}", { params: { path: { share_id: id } } });
  assert.equal(share.response.status, 200);
  assert.equal(share.data?.initialized, true);
  assert.equal(share.data?.size, content.length);
  assert.equal(share.data?.sha256, createHash("sha256").update(content).digest("hex"));
  assert.equal(share.data?.owner_name, "alice");
  assert.ok(!Number.isNaN(Date.parse(share.data?.create_date ?? "")));

  // Whole and ranged downloads; resuming from an offset.
  const whole = await alice.download(id);
  assert.equal(whole.status, 200);
  assert.deepEqual(whole.bytes, content);
  assert.match(whole.contentDisposition ?? "", /hello\.txt/);

  const part = await alice.download(id, { start: 4, end: 18 });
  assert.equal(part.status, 206);
  assert.equal(new TextDecoder().decode(part.bytes), "quick brown fox");
  assert.equal(part.contentRange, `bytes 4-18/${content.length}`);

  const rest = await alice.download(id, { start: 40 });
  assert.equal(rest.status, 206);
  assert.equal(new TextDecoder().decode(rest.bytes), "dog.");

  // Lock: the share can no longer be changed.
  const lock = await alice.api.POST("/files/{share_id}/lock", { params: { path: { share_id: id } } });
  assert.equal(lock.response.status, 200, JSON.stringify(lock.error));
  const rename = await alice.api.PATCH("/files/{share_id}", {
    params: { path: { share_id: id } },
    body: { file_name: "renamed.txt" },
  });
  assert.equal(rename.response.status, 423);
  assert.equal((await alice.api.GET("/files/{share_id}", { params: { path: { share_id: id } } })).data?.locked, true);

  // Logout revokes the token for good.
  const old = alice.token;
  await alice.logout();
  assert.equal(alice.token, undefined);
  await assert.rejects(new Sachet({ baseUrl: server.url, token: old }).whoami(), (err: unknown) => {
    assert.ok(err instanceof SachetError);
    assert.equal(err.status, 401);
    return true;
  });
  // Anonymous again: no permissions by default.
  assert.deepEqual(await alice.whoami(), { username: null, permissions: [], quota: null, used_bytes: 0 });
});

test("errors carry the status and the server's message", async () => {
  const anon = new Sachet({ baseUrl: server.url });
  await assert.rejects(anon.login("admin", "wrong"), (err: unknown) => {
    assert.ok(err instanceof SachetError);
    assert.equal(err.status, 401);
    assert.ok(err.message.length > 5);
    return true;
  });
  const admin = new Sachet({ baseUrl: server.url, token: server.adminToken });
  await assert.rejects(admin.download("00000000-0000-4000-8000-000000000000"), (err: unknown) => {
    assert.ok(err instanceof SachetError);
    assert.equal(err.status, 404);
    return true;
  });
});

test("the upload helper checks its order", async () => {
  const admin = new Sachet({ baseUrl: server.url, token: server.adminToken });
  const id = await admin.createShare();
  await assert.rejects(admin.upload(id, new Blob(["abcdef"]), { chunkSize: 2, order: [0, 1] }), RangeError);
  assert.equal(shareIdOf(`/files/${id}`), id);
});
