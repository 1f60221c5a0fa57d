/**
 * The Sachet API client for TypeScript.
 *
 * `src/schema.ts` is generated from `openapi.yaml` by openapi-typescript;
 * requests go through openapi-fetch, so every path, parameter, body and
 * response is typed from the contract. `Sachet` adds what the contract
 * alone doesn't give: keeping the token, chunked uploads of a Blob, and
 * ranged downloads. `sachet.api` is the raw typed client for everything
 * else:
 *
 * ```ts
 * const sachet = new Sachet({ baseUrl: "http://127.0.0.1:5000" });
 * await sachet.login("alice", "pw");
 * const { data } = await sachet.api.GET("/files/{share_id}", {
 *   params: { path: { share_id: id } },
 * });
 * ```
 */
import createClient, { type Client } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

export type Schemas = components["schemas"];
export type Share = Schemas["Share"];
export type User = Schemas["User"];
export type Whoami = Schemas["Whoami"];
export type Permission = Schemas["Permission"];
export type Chunk = Schemas["Chunk"];
export type Link = Schemas["Link"];
export type LinkCreate = Schemas["LinkCreate"];
export type LinkCreated = Schemas["LinkCreated"];
export type LinkInfo = Schemas["LinkInfo"];

/** Every permission, in the order the server lists them. */
export const ALL_PERMISSIONS: readonly Permission[] = [
  "CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "ADMIN", "READ",
];

/** 8 MiB: far below the server's default chunk limit (256 MiB). */
export const DEFAULT_CHUNK_SIZE = 8 << 20;

export interface SachetOptions {
  /** Where the API is, e.g. `http://127.0.0.1:5000`. */
  baseUrl: string;
  /** A token to start with, e.g. one kept from an earlier login. */
  token?: string;
  /** A fetch to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
}

/** An error answer from the API: the HTTP status and the server's message. */
export class SachetError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(`${status}: ${message}`);
    this.name = "SachetError";
    this.status = status;
  }
}

export interface UploadOptions {
  /** Bytes per chunk; DEFAULT_CHUNK_SIZE when absent. */
  chunkSize?: number;
  /** The order to send chunk indexes in (a permutation of 0..n-1); ascending when absent. */
  order?: readonly number[];
  /** The upload's id (`dzuuid`); a random UUID when absent. */
  uploadId?: string;
  /** Replace existing content (PUT) instead of setting the first (POST). */
  replace?: boolean;
}

export interface DownloadOptions {
  /** First byte to fetch (resume from here). */
  start?: number;
  /** Last byte to fetch, inclusive; the end of the content when absent. */
  end?: number;
}

export interface LinkDownloadOptions extends DownloadOptions {
  /** The link's password, sent in `X-Sachet-Link-Password` (never the URL). */
  password?: string;
}

export interface Download {
  /** 200 for the whole content, 206 for a range. */
  status: number;
  bytes: Uint8Array;
  /** `Content-Range`, for a range. */
  contentRange: string | null;
  contentType: string | null;
  contentDisposition: string | null;
  etag: string | null;
}

/** A Sachet server, with the token of whoever signed in. */
export class Sachet {
  /** The typed client generated from openapi.yaml; it sends the token. */
  readonly api: Client<paths>;
  /** The current token; undefined when anonymous. */
  token: string | undefined;

  constructor(opts: SachetOptions) {
    this.token = opts.token;
    this.api = createClient<paths>({
      baseUrl: opts.baseUrl.replace(/\/+$/, ""),
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });
    this.api.use({
      onRequest: ({ request }) => {
        if (this.token && !request.headers.has("Authorization")) {
          request.headers.set("Authorization", `Bearer ${this.token}`);
        }
        return request;
      },
    });
  }

  /** Signs in and keeps the token for later calls. */
  async login(username: string, password: string): Promise<string> {
    const { data, error, response } = await this.api.POST("/users/login", {
      body: { username, password },
    });
    if (!data) throw fail(response, error);
    this.token = data.auth_token;
    return data.auth_token;
  }

  /** Revokes the current token and forgets it. */
  async logout(): Promise<void> {
    if (!this.token) return;
    const { error, response } = await this.api.POST("/users/logout", {
      body: { token: this.token },
    });
    if (!response.ok) throw fail(response, error);
    this.token = undefined;
  }

  /** Who the server takes the caller for, with the caller's permissions. */
  async whoami(): Promise<Whoami> {
    const { data, error, response } = await this.api.GET("/whoami");
    if (!data) throw fail(response, error);
    return data;
  }

  /** Creates an empty share and returns its id. */
  async createShare(fileName?: string): Promise<string> {
    const { data, error, response } = await this.api.POST("/files", {
      body: fileName === undefined ? {} : { file_name: fileName },
    });
    if (!data) throw fail(response, error);
    return shareIdOf(data.url);
  }

  /**
   * Uploads `content` as the share's content, one chunk per request
   * (Dropzone's protocol). Chunks may go in any order; the last request
   * answers 201 once the server has joined them.
   */
  async upload(shareId: string, content: Blob, opts: UploadOptions = {}): Promise<void> {
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!(chunkSize > 0)) throw new RangeError("chunkSize must be positive");
    const total = Math.max(1, Math.ceil(content.size / chunkSize));
    const order = opts.order ?? [...Array(total).keys()];
    if (order.length !== total || new Set(order).size !== total || order.some((i) => !(i >= 0 && i < total))) {
      throw new RangeError(`order must be a permutation of 0..${total - 1}`);
    }
    const dzuuid = opts.uploadId ?? globalThis.crypto.randomUUID();
    let completed = false;
    for (const index of order) {
      const chunk: Chunk = {
        dzuuid,
        dzchunkindex: index,
        dztotalchunks: total,
        dzchunkbyteoffset: index * chunkSize,
        dztotalfilesize: content.size,
        upload: content.slice(index * chunkSize, (index + 1) * chunkSize),
      };
      const init = { params: { path: { share_id: shareId } }, body: chunk, bodySerializer: chunkForm };
      const { error, response } = opts.replace
        ? await this.api.PUT("/files/{share_id}/content", init)
        : await this.api.POST("/files/{share_id}/content", init);
      if (!response.ok) throw fail(response, error);
      completed = response.status === 201;
    }
    if (!completed) throw new Error("the server did not report the upload complete");
  }

  /** Downloads the content, or the bytes from `start` to `end` (resume). */
  async download(shareId: string, opts: DownloadOptions = {}): Promise<Download> {
    const ranged = opts.start !== undefined || opts.end !== undefined;
    const header = ranged ? { Range: `bytes=${opts.start ?? 0}-${opts.end ?? ""}` } : {};
    const { data, error, response } = await this.api.GET("/files/{share_id}/content", {
      params: { path: { share_id: shareId }, header },
      parseAs: "arrayBuffer",
    });
    if (data === undefined) throw fail(response, error);
    const h = response.headers;
    return {
      status: response.status,
      bytes: new Uint8Array(data),
      contentRange: h.get("Content-Range"),
      contentType: h.get("Content-Type"),
      contentDisposition: h.get("Content-Disposition"),
      etag: h.get("ETag"),
    };
  }

  /**
   * Makes a public link to a share (its owner or an ADMIN). The answer
   * carries the token, shown this once; the link is its `url`
   * (`/links/<token>`).
   */
  async createLink(shareId: string, opts: LinkCreate = {}): Promise<LinkCreated> {
    const { data, error, response } = await this.api.POST("/files/{share_id}/links", {
      params: { path: { share_id: shareId } },
      body: opts,
    });
    if (!data) throw fail(response, error);
    return data;
  }

  /** The share's links, revoked ones included, newest first. */
  async links(shareId: string): Promise<Link[]> {
    const { data, error, response } = await this.api.GET("/files/{share_id}/links", {
      params: { path: { share_id: shareId } },
    });
    if (!data) throw fail(response, error);
    return data.data;
  }

  /** Revokes a link: it answers 410 from then on. */
  async revokeLink(shareId: string, linkId: string): Promise<void> {
    const { error, response } = await this.api.DELETE("/files/{share_id}/links/{link_id}", {
      params: { path: { share_id: shareId, link_id: linkId } },
    });
    if (!response.ok) throw fail(response, error);
  }

  /** What a link serves (name, size, expiry, downloads left); needs no account. */
  async linkInfo(token: string, password?: string): Promise<LinkInfo> {
    const header = password === undefined ? {} : { "X-Sachet-Link-Password": password };
    const { data, error, response } = await this.api.GET("/links/{token}", {
      params: { path: { token }, header },
    });
    if (!data) throw fail(response, error);
    return data;
  }

  /**
   * Downloads through a link, or the bytes from `start` to `end`. A whole
   * download, or a range from byte 0, counts against the link's
   * `max_downloads`; a resumption from elsewhere does not.
   */
  async downloadLink(token: string, opts: LinkDownloadOptions = {}): Promise<Download> {
    const ranged = opts.start !== undefined || opts.end !== undefined;
    const header: Record<string, string> = ranged ? { Range: `bytes=${opts.start ?? 0}-${opts.end ?? ""}` } : {};
    if (opts.password !== undefined) header["X-Sachet-Link-Password"] = opts.password;
    const { data, error, response } = await this.api.GET("/links/{token}/content", {
      params: { path: { token }, header },
      parseAs: "arrayBuffer",
    });
    if (data === undefined) throw fail(response, error);
    const h = response.headers;
    return {
      status: response.status,
      bytes: new Uint8Array(data),
      contentRange: h.get("Content-Range"),
      contentType: h.get("Content-Type"),
      contentDisposition: h.get("Content-Disposition"),
      etag: h.get("ETag"),
    };
  }
}

/** The token at the end of a link's `url` (`/links/<token>`, maybe followed by `/content`). */
export function linkTokenOf(url: string): string {
  const token = url.replace(/\/+$/, "").replace(/\/content$/, "").split("/").pop();
  if (!token) throw new Error(`no link token in ${JSON.stringify(url)}`);
  return token;
}

/** The share id at the end of a `url` such as `/files/<uuid>`. */
export function shareIdOf(url: string): string {
  const id = url.split("/").pop();
  if (!id) throw new Error(`no share id in ${JSON.stringify(url)}`);
  return id;
}

/** Serialises a chunk as the multipart form the server reads. */
export function chunkForm(chunk: Chunk): FormData {
  const form = new FormData();
  for (const [key, value] of Object.entries(chunk)) {
    if (value === undefined || key === "upload") continue;
    form.append(key, String(value));
  }
  form.append("upload", chunk.upload, "blob");
  return form;
}

function fail(response: Response, error: unknown): SachetError {
  const message =
    typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
      ? error.message
      : response.statusText || "request failed";
  return new SachetError(response.status, message);
}
