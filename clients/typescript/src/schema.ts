/**
 * Generated from openapi.yaml by openapi-typescript (scripts/generate.mjs).
 * Do not edit: change openapi.yaml and run `make generate`.
 */

export interface paths {
    "/users/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read the user named "login"
         * @description The user look-up of `GET /users/{username}` for the name `login`, which
         *     its POST route reserves: no user can have it, so the answer is `403`,
         *     for `ADMIN` too, as for any user that does not exist (`401` when
         *     anonymous). Clients that meant to
         *     call the POST route get a clear error instead.
         */
        get: operations["getUserNamedLogin"];
        put?: never;
        /**
         * Sign in
         * @description Exchanges a username and password for a token. An unknown user and a
         *     wrong password get the same answer, in the same time.
         */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/extend": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read the user named "extend"
         * @description The user look-up of `GET /users/{username}` for the name `extend`, which
         *     its POST route reserves: no user can have it, so the answer is `403`,
         *     for `ADMIN` too, as for any user that does not exist (`401` when
         *     anonymous). Clients that meant to
         *     call the POST route get a clear error instead.
         */
        get: operations["getUserNamedExtend"];
        put?: never;
        /**
         * Renew a token
         * @description Returns a new token for the caller. The old token stays valid. Needs
         *     a token: an API key gets `403`.
         */
        post: operations["extendToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read the user named "logout"
         * @description The user look-up of `GET /users/{username}` for the name `logout`, which
         *     its POST route reserves: no user can have it, so the answer is `403`,
         *     for `ADMIN` too, as for any user that does not exist (`401` when
         *     anonymous). Clients that meant to
         *     call the POST route get a clear error instead.
         */
        get: operations["getUserNamedLogout"];
        put?: never;
        /**
         * Revoke a token
         * @description Revokes the token in the body. It must belong to the caller, unless
         *     the caller has `ADMIN`.
         *     Needs a token: an API key gets `403`.
         */
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/password": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read the user named "password"
         * @description The user look-up of `GET /users/{username}` for the name `password`, which
         *     its POST route reserves: no user can have it, so the answer is `403`,
         *     for `ADMIN` too, as for any user that does not exist (`401` when
         *     anonymous). Clients that meant to
         *     call the POST route get a clear error instead.
         */
        get: operations["getUserNamedPassword"];
        put?: never;
        /**
         * Change one's own password
         * @description Every other token of the caller stops working at once (tokens from
         *     `POST /users/extend` included); the token that made the call stays
         *     valid. A wrong `old` password is `403` and counts as a failed sign-in
         *     for the sign-in throttle, which answers `429` with `Retry-After`
         *     before checking the password once the caller's budget is used up.
         *     The user's API keys keep working: they are revoked one by one with
         *     `DELETE /users/{username}/keys/{key_id}`. Needs a token: an API key
         *     gets `403`, so a leaked key cannot take over its account.
         */
        post: operations["changePassword"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List users
         * @description Ordered by registration time, then username.
         */
        get: operations["listUsers"];
        put?: never;
        /**
         * Create a user
         * @description Registers a user with the given password and permissions (none when
         *     absent). `url` and `Location` give the new user's path. A taken
         *     username is `409`.
         */
        post: operations["createUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/{username}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
            };
            cookie?: never;
        };
        /**
         * Read a user
         * @description Allowed for the user itself and for `ADMIN`. A non-admin asking for
         *     anyone else, existing or not, gets `403`; so does `ADMIN` asking for
         *     a user that does not exist, as the reference server answers (the
         *     Sachet web UI shows "Invalid user" on `403` only).
         */
        get: operations["getUser"];
        /**
         * Replace a user's fields
         * @description `username` may only be given unchanged.
         */
        put: operations["putUser"];
        post?: never;
        /**
         * Delete a user
         * @description A user who still owns shares is not deleted (`409`). Tokens of a
         *     deleted user stop working at once, for good.
         */
        delete: operations["deleteUser"];
        options?: never;
        head?: never;
        /**
         * Update some of a user's fields
         * @description `username` may only be given unchanged.
         */
        patch: operations["patchUser"];
        trace?: never;
    };
    "/users/{username}/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * End all of a user's sessions
         * @description Ends every session of the user: every token issued to them so far,
         *     including tokens obtained through `POST /users/extend` and the token
         *     that makes this call when it is the user's own, stops working. The
         *     user signs in again to get a new one. Allowed for the user itself
         *     and for `ADMIN`; anyone else, and a user that does not exist, gets
         *     `403`, as `GET /users/{username}` answers. Takes effect at once on
         *     the server that answers, and on other server processes sharing the
         *     database within `SACHET_CACHE_TTL` (1 s by default). API keys are
         *     not sessions and keep working (revoke them with
         *     `DELETE /users/{username}/keys/{key_id}`). Needs a token: an API
         *     key gets `403`.
         */
        delete: operations["revokeUserTokens"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/{username}/keys": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
            };
            cookie?: never;
        };
        /**
         * List a user's API keys
         * @description Every key of the user (at most 100), newest first, without their
         *     secrets. `last_used_date` is updated at most once a minute per key.
         *     Allowed for the user itself and for `ADMIN`; anyone else, and a
         *     user that does not exist, gets `403`, as `GET /users/{username}`
         *     answers. Accepts a token or a key.
         */
        get: operations["listApiKeys"];
        put?: never;
        /**
         * Create an API key
         * @description Creates a named API key for the caller, for scripts and the `sachet`
         *     client. Only for oneself: anyone else's name, an admin's call
         *     included, is `403` (no one mints credentials that act as another
         *     user). `permissions` must be a subset of the caller's own: the
         *     ones the caller lacks are named in a `400`. At each use the key has
         *     its permissions intersected with its user's permissions of that
         *     moment, so a permission the user loses, the key loses too.
         *     `expire_date`, when given, must be in the future; without it the
         *     key lives until it is revoked or its user is deleted.
         *
         *     The response carries the key's `secret`, shown this once and
         *     stored only as a hash: keep it. Send it as `Authorization: Bearer
         *     <secret>` (the `apiKeyAuth` scheme). Needs a token (`bearerAuth`):
         *     a key cannot create keys (`403`).
         */
        post: operations["createApiKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/{username}/keys/{key_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
                /** @description The key's id, the part of its secret between `sachet_` and the next `_`. */
                key_id: components["parameters"]["PathKeyId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Revoke an API key
         * @description Revokes the key: it stops working at once on the server that
         *     answers, and on other server processes sharing the database within
         *     `SACHET_CACHE_TTL` (1 s by default). Allowed for the user itself
         *     and for `ADMIN`; anyone else, and a user that does not exist, gets
         *     `403`. A key the user does not have is `404`. Accepts a token or a
         *     key (a key may revoke itself).
         */
        delete: operations["deleteApiKey"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/settings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read server settings
         * @description The server-wide settings, e.g. the anonymous user's permissions.
         */
        get: operations["getSettings"];
        /**
         * Replace the settings
         * @description Sets every setting; all are required.
         */
        put: operations["putSettings"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Update some settings
         * @description Changes the settings given; absent ones stay.
         */
        patch: operations["patchSettings"];
        trace?: never;
    };
    "/whoami": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's identity and permissions
         * @description For an anonymous caller, `username` is null and `permissions` are the anonymous ones.
         */
        get: operations["whoami"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/files": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List all shares
         * @description Ordered by creation time, then share id.
         */
        get: operations["listShares"];
        put?: never;
        /**
         * Create an empty share
         * @description The owner is the caller (null for anonymous callers), whatever the
         *     body says. Upload the content next with `POST /files/{share_id}/content`.
         */
        post: operations["createShare"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/files/{share_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        /**
         * Read a share's metadata
         * @description Any share. Its content is at `GET /files/{share_id}/content`.
         */
        get: operations["getShare"];
        /**
         * Replace a share's metadata
         * @description Owner only. Both writable fields are required.
         */
        put: operations["putShare"];
        post?: never;
        /**
         * Delete a share
         * @description Any share, with its content and unfinished uploads. Not while locked.
         */
        delete: operations["deleteShare"];
        options?: never;
        head?: never;
        /**
         * Update some of a share's metadata
         * @description Owner only. Setting `owner_name` to null gives the share to anonymous users.
         */
        patch: operations["patchShare"];
        trace?: never;
    };
    "/files/{share_id}/lock": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Lock a share
         * @description A locked share can't be modified or deleted.
         */
        post: operations["lockShare"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/files/{share_id}/unlock": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Unlock a share
         * @description Any share; it can be modified and deleted again.
         */
        post: operations["unlockShare"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/files/{share_id}/content": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        /**
         * Download a share's content
         * @description Streams the bytes. Supports `Range` (RFC 9110: single ranges,
         *     suffix ranges, several ranges as `multipart/byteranges`) and
         *     conditional requests (`If-None-Match`, `If-Modified-Since`,
         *     `If-Range`, `If-Match`, `If-Unmodified-Since`). A `Range` in a unit
         *     other than `bytes` is ignored. Never compressed.
         */
        get: operations["getShareContent"];
        /**
         * Replace the content, one chunk per request
         * @description Replaces the content of a share that has some. Owner only. The same
         *     chunk protocol as `POST`. Checks: `404`, `423` (locked), `403`
         *     (owner), `423` (not yet initialized), then the form (`400`, `413`,
         *     `429` as for `POST`).
         *     Readers see the old content or the new, never a mixture.
         */
        put: operations["replaceShareContent"];
        /**
         * Upload the first content, one chunk per request
         * @description Sets the content of a share that has none yet. Owner only. Every
         *     request carries one chunk of a Dropzone-style chunked upload; chunks
         *     may arrive in any order, concurrently, and be re-sent. While chunks
         *     are missing the answer is `200`; the request that completes the
         *     upload gets `201`, after the joined file has atomically become the
         *     share's content. Checks: `404`, `403` (owner), `423` (locked or
         *     already initialized), then the form (`400`, `413`; `429` when the
         *     chunk would start one upload more than its owner may have open).
         *     `413` also when the upload would pass the share owner's storage
         *     quota (see `User.quota`): judged up front on `dztotalfilesize` when
         *     sent, and on the bytes as they stream, against the owner's usage
         *     and what their other uploads in progress have reserved; the chunk
         *     is then not kept and the share is unchanged. Replacing content
         *     needs room for the old and the new until the upload completes.
         */
        post: operations["uploadShareContent"];
        delete?: never;
        options?: never;
        /**
         * Headers of a share's content
         * @description As `GET`, without the body.
         */
        head: operations["headShareContent"];
        patch?: never;
        trace?: never;
    };
    "/files/{share_id}/uploads/{dzuuid}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
                /**
                 * @description The upload's id, as sent in the chunks' `dzuuid` field: any 1–255
                 *     bytes, percent-encoded in the path (`/` as `%2F`). An id no upload
                 *     can have addresses none (`404`).
                 */
                dzuuid: components["parameters"]["PathDzuuid"];
            };
            cookie?: never;
        };
        /**
         * Ask which chunks of an unfinished upload the server holds
         * @description The state of the unfinished upload `dzuuid` to this share, so that a
         *     client resuming an interrupted upload sends only the chunks that
         *     are missing (what tus answers with `HEAD` and S3 with `ListParts`).
         *     Owner only, with `CREATE` or `MODIFY` (either: the permissions that
         *     let one upload to the share). Checks: `404` (share), `403` (owner),
         *     `404` (no such unfinished upload: never started, completed,
         *     aborted, or removed by cleanup).
         */
        get: operations["getUploadStatus"];
        put?: never;
        post?: never;
        /**
         * Abort an unfinished upload and free its space
         * @description Deletes the unfinished upload `dzuuid` to this share with every
         *     chunk it holds; the share's current content is untouched. A chunk
         *     of it sent afterwards starts a new upload. Owner only, with
         *     `CREATE` or `MODIFY`. Checks: `404` (share), `403` (owner), `404`
         *     (no such unfinished upload), `409` (it is being completed right
         *     now: its last chunk arrived).
         */
        delete: operations["abortUpload"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/upload-requests": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List one's upload requests
         * @description The caller's upload requests, newest first, revoked ones included
         *     (their `revoked` is true). Tokens are not shown: only
         *     `POST /upload-requests` shows one, once.
         */
        get: operations["listUploadRequests"];
        put?: never;
        /**
         * Create an upload request
         * @description Makes a link through which anyone who has it, with no account,
         *     creates up to `max_files` new shares owned by the caller and
         *     uploads their content (at most `max_bytes` in all) until
         *     `expires_at`. The answer carries the link's token, shown only
         *     here: the server keeps only its hash. Anonymous callers cannot
         *     (the shares need an owner): `401`.
         */
        post: operations["createUploadRequest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/upload-requests/{request_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An upload request's id (not its token). */
                request_id: components["parameters"]["PathRequestId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Revoke an upload request
         * @description Its link stops working at once (`410`), uploads in progress
         *     through it included. The shares created through it stay, the
         *     creator's. Its creator or an ADMIN; `404` for anyone else's (an
         *     id tells nothing about whether it exists).
         */
        delete: operations["revokeUploadRequest"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/requests/{token}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An upload request's secret token, from its link. */
                token: components["parameters"]["PathRequestToken"];
            };
            cookie?: never;
        };
        /**
         * What an upload request's link still allows
         * @description For the uploader, with no account (the anonymous permissions do not
         *     matter): the label and the limits left. Nothing else of the
         *     creator or their shares. `404` for an unknown token; `410` once the
         *     link is expired, revoked or exhausted (no file or no byte left to
         *     start a new file with).
         */
        get: operations["getRequestLink"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/requests/{token}/files": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An upload request's secret token, from its link. */
                token: components["parameters"]["PathRequestToken"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start a file through an upload request
         * @description Creates a new, empty share owned by the link's creator, counting
         *     toward `max_files`; upload its content next to the `url` answered
         *     plus `/content`. `404` unknown token; `410` expired, revoked, or no
         *     file (or byte) left.
         */
        post: operations["createRequestFile"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/requests/{token}/files/{share_id}/content": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An upload request's secret token, from its link. */
                token: components["parameters"]["PathRequestToken"];
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Upload a requested file's content, one chunk per request
         * @description The same chunked protocol and form fields as
         *     `POST /files/{share_id}/content`, for a share created through this
         *     link only (`404` for any other). The bytes count toward the link's
         *     `max_bytes` and the creator's quota, both enforced while they
         *     stream (`413` naming the limit; the chunk is not kept). Checks:
         *     `404` (token), `410` (expired or revoked), `404` (share not this
         *     link's), `423` (content already complete), then the form.
         */
        post: operations["uploadRequestFileContent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/requests/{token}/files/{share_id}/uploads/{dzuuid}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An upload request's secret token, from its link. */
                token: components["parameters"]["PathRequestToken"];
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
                /**
                 * @description The upload's id, as sent in the chunks' `dzuuid` field: any 1–255
                 *     bytes, percent-encoded in the path (`/` as `%2F`). An id no upload
                 *     can have addresses none (`404`).
                 */
                dzuuid: components["parameters"]["PathDzuuid"];
            };
            cookie?: never;
        };
        /**
         * Which chunks of an unfinished upload through the link the server holds
         * @description As `GET /files/{share_id}/uploads/{dzuuid}`, for a share created
         *     through this link. `404` (token), `410`, `404` (share, upload).
         */
        get: operations["getRequestUploadStatus"];
        put?: never;
        post?: never;
        /**
         * Abort an unfinished upload through the link
         * @description As `DELETE /files/{share_id}/uploads/{dzuuid}`, for a share created
         *     through this link. `404` (token), `410`, `404` (share, upload),
         *     `409` (being completed).
         */
        delete: operations["abortRequestUpload"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/files/{share_id}/links": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        /**
         * List a share's links
         * @description Every link of the share, revoked ones included, newest first,
         *     without their tokens (which are not kept). Allowed for the share's
         *     owner and for `ADMIN`. Checks: `401`, `404` (share), `403`.
         */
        get: operations["listShareLinks"];
        put?: never;
        /**
         * Create a share link
         * @description Creates a public link to the share's content, for someone without
         *     an account: `GET /links/{token}/content` then serves the bytes to
         *     whoever holds the token, whatever the anonymous permissions are.
         *     Allowed for the share's owner and for `ADMIN`; anyone else gets
         *     `403`. Checks: `401`, `404` (share), `403` (owner or ADMIN), then
         *     the body (`400`). Every field is optional: `expires_at` (in the
         *     future) ends the link at that instant; `max_downloads` limits how
         *     many downloads it serves (see `GET /links/{token}/content` for what
         *     counts); `password` (1–72 bytes, stored hashed) must then be sent in
         *     the `X-Sachet-Link-Password` header, never the query; `label` is a
         *     note for the owner. A share has at most 100 links (revoked ones
         *     included; they go with the share).
         *
         *     The response carries the link's `token`, shown this once and stored
         *     only as a hash: the link is `url` (`/links/<token>`). A link ends
         *     with its share, and with the user who created it (deleted).
         */
        post: operations["createShareLink"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/files/{share_id}/links/{link_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
                /** @description The link's id (`link_id` in its listing; not its token). */
                link_id: components["parameters"]["PathLinkId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Revoke a share link
         * @description Revokes the link: from now on it answers `410`, at once on the
         *     server that answers, and on other server processes sharing the
         *     database within `SACHET_CACHE_TTL` (1 s by default; no download
         *     that counts is served there meanwhile: downloads are claimed in
         *     the database). It stays in the share's list, marked `revoked`. Allowed for the share's owner and for
         *     `ADMIN`. Checks: `401`, `404` (share), `403`, `404` (the share has
         *     no such link). Revoking a revoked link is `200` again.
         */
        delete: operations["revokeShareLink"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/links/{token}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The link's token: 32 URL-safe characters (base64url of 192 random
                 *     bits). A string of another shape addresses no link (`404`).
                 */
                token: components["parameters"]["PathLinkToken"];
            };
            cookie?: never;
        };
        /**
         * What a share link serves
         * @description The file's name and size, when the link ends and how many downloads
         *     it has left: nothing else of the share or its owner. Needs no
         *     account: the `Authorization` header is not read and the anonymous
         *     permissions do not matter. Checks: `404` (no such link), `410`
         *     (revoked, expired or out of downloads), `401` (the link has a
         *     password and `X-Sachet-Link-Password` is missing or wrong; wrong
         *     guesses are throttled like sign-ins: `429` with `Retry-After`).
         *     Never stored by caches (`Cache-Control: no-store`). On a server
         *     process other than the one that counted a download,
         *     `downloads_left` may lag by up to `SACHET_CACHE_TTL` (1 s).
         */
        get: operations["getLink"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/links/{token}/content": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The link's token: 32 URL-safe characters (base64url of 192 random
                 *     bits). A string of another shape addresses no link (`404`).
                 */
                token: components["parameters"]["PathLinkToken"];
            };
            cookie?: never;
        };
        /**
         * Download a share's content through a link
         * @description Exactly what `GET /files/{share_id}/content` answers (`Range`,
         *     conditional requests, `ETag`, `Content-Disposition`, `nosniff`, the
         *     sandbox CSP), for whoever holds the token: the `Authorization`
         *     header is not read and the anonymous permissions do not matter.
         *     Checks: `404` (no such link, or the share has no content yet),
         *     `410` (revoked, expired or out of downloads), `401` (password
         *     missing or wrong, sent in `X-Sachet-Link-Password`; a password in
         *     the query is ignored; wrong guesses are throttled like sign-ins:
         *     `429` with `Retry-After`), then the range and conditions.
         *
         *     What counts as a download, against `max_downloads`: a response
         *     that starts sending the whole content (`200`), and a `206` whose
         *     (first) range starts at byte 0 — a client transfer starts there
         *     once, however it then resumes. A `206` starting elsewhere (a
         *     resumed transfer, a seek), a `304`, a `412`, a `416` and any `HEAD`
         *     do not count; but once the link is out of downloads every request
         *     is `410`, resumptions included. Counting is exact under
         *     concurrency: the download is claimed in the database at the moment
         *     the body is about to be sent, so of N parallel requests for a link
         *     with one download left exactly one gets the body and the others
         *     `410`. For a link without `max_downloads`, a body of 1 MiB or more
         *     starts while its claim is being committed and only its last bytes
         *     wait for it: should the claim be refused meanwhile (the link
         *     revoked or expired in that instant), the transfer is cut short of
         *     its `Content-Length`. Either way a client that has the whole body
         *     has been counted.
         *
         *     Answers carry `Cache-Control: private, no-cache`: no shared cache
         *     keeps the content and a browser revalidates (a `304` does not
         *     count), so no cache serves downloads the link did not count, nor
         *     any once it is revoked, expired or used up.
         */
        get: operations["getLinkContent"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        /**
         * Headers of a share's content through a link
         * @description As `GET`, without the body; never counts as a download.
         */
        head: operations["headLinkContent"];
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Liveness
         * @description `200` while the process is alive and serving.
         */
        get: operations["healthz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Readiness
         * @description `200` when the database answers and the data directory is writable;
         *     `503` naming what is wrong otherwise.
         */
        get: operations["readyz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Prometheus metrics
         * @description Requests by operation and status, latencies, bytes moved, active
         *     uploads, database pool. `404` when the server is configured to serve
         *     them on an address of their own (`SACHET_METRICS_ADDR`) instead.
         */
        get: operations["metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.yaml": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * This contract, as YAML
         * @description Exactly the document the server validates requests against.
         */
        get: operations["getOpenAPIYAML"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * This contract, as JSON
         * @description The same document as `/openapi.yaml`, converted to JSON.
         */
        get: operations["getOpenAPIJSON"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * API reference page
         * @description A self-contained HTML reference of this contract; it loads nothing
         *     from other hosts, and its Content-Security-Policy lets nothing else
         *     load or run.
         */
        get: operations["getDocs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * @description A permission code. Lists of them are always serialised in this
         *     order: CREATE, MODIFY, DELETE, LOCK, LIST, ADMIN, READ.
         * @enum {string}
         */
        Permission: "CREATE" | "MODIFY" | "DELETE" | "LOCK" | "LIST" | "ADMIN" | "READ";
        /**
         * @description Permission codes; in requests, duplicates collapse and order does not matter.
         * @example [
         *       "CREATE",
         *       "MODIFY",
         *       "READ"
         *     ]
         */
        Permissions: components["schemas"]["Permission"][];
        Message: {
            /** @enum {string} */
            status: "success";
            message: string;
        };
        Error: {
            /** @enum {string} */
            status: "fail";
            /** @description What was wrong, for humans. */
            message: string;
        };
        Created: {
            /** @enum {string} */
            status: "success";
            /**
             * @description Relative path of the new resource.
             * @example /files/9ae90f06-a751-409c-a9fe-8277575b9914
             */
            url: string;
        };
        LoginRequest: {
            username: string;
            /** Format: password */
            password: string;
        };
        TokenResponse: {
            /** @enum {string} */
            status: "success";
            /** @example Logged in. */
            message: string;
            username: string;
            /** @description A JWT; clients treat it as an opaque string. */
            auth_token: string;
        };
        LogoutRequest: {
            /** @description The token to revoke. */
            token: string;
        };
        PasswordChange: {
            /** Format: password */
            old: string;
            new: components["schemas"]["Password"];
        };
        /**
         * @description 1–64 letters, digits, `.`, `_` or `-`; not `login`, `logout`, `extend` or `password`.
         * @example alice
         */
        Username: string;
        /**
         * Format: password
         * @description 1–72 bytes, no NUL (bcrypt's limit; never truncated).
         */
        Password: string;
        User: {
            username: components["schemas"]["Username"];
            permissions: components["schemas"]["Permissions"];
            register_date: components["schemas"]["RegisterDate"];
            quota?: components["schemas"]["UserQuota"];
            used_bytes?: components["schemas"]["UsedBytes"];
        };
        /**
         * Format: int64
         * @description The user's storage quota in bytes: the most the content of the
         *     shares they own may add up to. `null`: the server's
         *     `default_quota`; `0`: unlimited. Set by an administrator with
         *     `PATCH /users/{username}`. An upload that would pass it is refused
         *     while it streams with `413`, naming the quota.
         * @example 1073741824
         */
        UserQuota: number | null;
        /**
         * Format: int64
         * @description Bytes of content of the shares the user owns, which the quota
         *     bounds (a share's expired content counts until the purge removes
         *     it). In `GET /users/{username}`; lists leave it out.
         */
        UsedBytes: number;
        /**
         * @description A new user. An unknown field is `400`, and so is `register_date`:
         *     the server sets it.
         */
        UserCreate: {
            username: components["schemas"]["Username"];
            password: components["schemas"]["Password"];
            permissions?: components["schemas"]["Permissions"];
            register_date?: components["schemas"]["RegisterDate"];
        };
        /**
         * @description Fields to change; absent ones stay. An unknown field is `400`.
         *     `username`, `register_date` and `used_bytes` are accepted only with
         *     the values the user has, so a body fetched with `GET` can be sent
         *     back.
         */
        UserPatch: {
            /** @description Only the user's current name is accepted (users can't be renamed). */
            username?: string;
            password?: components["schemas"]["Password"];
            permissions?: components["schemas"]["Permissions"];
            register_date?: components["schemas"]["RegisterDate"];
            quota?: components["schemas"]["UserQuota"];
            used_bytes?: components["schemas"]["UsedBytes"];
        };
        /**
         * @description Every writable field. An unknown field is `400`. `username`,
         *     `register_date` and `used_bytes` are accepted only with the values
         *     the user has, so a body fetched with `GET` can be sent back (with a
         *     password). `quota` absent keeps the user's quota.
         */
        UserPut: {
            /** @description Only the user's current name is accepted (users can't be renamed). */
            username: string;
            password: components["schemas"]["Password"];
            permissions: components["schemas"]["Permissions"];
            register_date?: components["schemas"]["RegisterDate"];
            quota?: components["schemas"]["UserQuota"];
            used_bytes?: components["schemas"]["UsedBytes"];
        };
        /**
         * Format: date-time
         * @description When the user registered; set by the server.
         * @example 2026-05-20T23:05:31.546561Z
         */
        RegisterDate: string;
        UserPage: {
            data: components["schemas"]["User"][];
            next: components["schemas"]["PageNumber"];
            prev: components["schemas"]["PageNumber"];
            /** @description Total number of pages, 0 when there are no items. */
            pages: number;
        };
        /** @description A neighbouring page, or null when there is none. */
        PageNumber: number | null;
        /**
         * @description The settings. `GET` always shows every one; in a `PUT`,
         *     `default_quota` may be left out (it then stays as it is).
         */
        Settings: {
            default_permissions: components["schemas"]["Permissions"];
            default_quota?: components["schemas"]["DefaultQuota"];
        };
        /**
         * Format: int64
         * @description The storage quota in bytes of users whose own `quota` is null;
         *     `0` (the initial value): unlimited.
         * @example 10737418240
         */
        DefaultQuota: number;
        SettingsPatch: {
            default_permissions?: components["schemas"]["Permissions"];
            default_quota?: components["schemas"]["DefaultQuota"];
        };
        Whoami: {
            /** @description The caller's name, or null when not signed in. */
            username: string | null;
            permissions: components["schemas"]["Permissions"];
            /**
             * Format: int64
             * @description The caller's effective storage quota in bytes (their own, else
             *     the server's `default_quota`); null when unlimited, and for
             *     anonymous callers, whose shares have no quota.
             */
            quota: number | null;
            /**
             * Format: int64
             * @description Bytes of content of the shares the caller owns; 0 for anonymous callers.
             */
            used_bytes: number;
        };
        /**
         * @description 1–64 characters of UTF-8, no control characters; unique among the user's keys.
         * @example backup script
         */
        ApiKeyName: string;
        ApiKeyCreate: {
            name: components["schemas"]["ApiKeyName"];
            permissions: components["schemas"]["Permissions"];
            /**
             * Format: date-time
             * @description When the key stops working (RFC 3339, in the future); absent, it does not expire.
             * @example 2027-01-01T00:00:00Z
             */
            expire_date?: string;
        };
        ApiKey: {
            /** @example 3f9c2a7d41e0b658 */
            readonly key_id: string;
            name: components["schemas"]["ApiKeyName"];
            permissions: components["schemas"]["Permissions"];
            /**
             * Format: date-time
             * @example 2026-05-20T23:05:31.546561Z
             */
            readonly create_date: string;
            /**
             * Format: date-time
             * @description When the key stops working; null when it does not expire.
             */
            expire_date: string | null;
            /**
             * Format: date-time
             * @description When the key last authenticated a request, to within a minute
             *     (it is recorded at most once a minute); null if never used.
             */
            readonly last_used_date: string | null;
        };
        ApiKeyCreated: {
            /** @enum {string} */
            status: "success";
            /**
             * @description Relative path of the new key (`DELETE` it to revoke it).
             * @example /users/alice/keys/3f9c2a7d41e0b658
             */
            url: string;
            /**
             * @description The whole key, `sachet_<key_id>_<secret>`, to send as
             *     `Authorization: Bearer <secret>`. Shown only here.
             * @example sachet_3f9c2a7d41e0b658_0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
             */
            secret: string;
            key: components["schemas"]["ApiKey"];
        };
        ApiKeyList: {
            data: components["schemas"]["ApiKey"][];
        };
        /**
         * @description A note for the owner, 1–64 characters of UTF-8 with no control characters.
         * @example for the auditors
         */
        LinkLabel: string;
        LinkCreate: {
            label?: components["schemas"]["LinkLabel"];
            /**
             * Format: date-time
             * @description When the link stops serving (RFC 3339, in the future); absent, it does not expire.
             * @example 2027-01-01T00:00:00Z
             */
            expires_at?: string;
            /**
             * Format: int64
             * @description How many downloads the link serves; absent, no limit.
             * @example 1
             */
            max_downloads?: number;
            password?: components["schemas"]["Password"];
        };
        /**
         * @description `active` serves; the others answer `410`. A revoked link is
         *     `revoked` whatever else holds; then `expired`, then `exhausted`.
         * @enum {string}
         */
        LinkState: "active" | "expired" | "exhausted" | "revoked";
        Link: {
            /**
             * @description The link's id, to revoke it; not its token.
             * @example 5b1e0c9a2f4d7e36
             */
            readonly link_id: string;
            share_id: components["schemas"]["ShareId"];
            /** @description The owner's note, or null. */
            label: string | null;
            /**
             * Format: date-time
             * @example 2026-05-20T23:05:31.546561Z
             */
            readonly create_date: string;
            /**
             * Format: date-time
             * @description When the link stops serving; null when it does not expire.
             */
            expires_at: string | null;
            /**
             * Format: int64
             * @description The download limit; null for none.
             */
            max_downloads: number | null;
            /**
             * Format: int64
             * @description Downloads counted so far (see `GET /links/{token}/content`).
             */
            downloads: number;
            /**
             * Format: int64
             * @description `max_downloads - downloads`; null when there is no limit.
             */
            downloads_left: number | null;
            /** @description Whether the link needs a password. */
            has_password: boolean;
            /**
             * Format: date-time
             * @description When the link was revoked; null while it is not.
             */
            revoked_date: string | null;
            state: components["schemas"]["LinkState"];
        };
        LinkCreated: {
            /** @enum {string} */
            status: "success";
            /**
             * @description The link's public path, `/links/<token>`; its content is at
             *     `<url>/content`. Shown only here.
             * @example /links/q3Vw0xT5m1bN8cYk2LzR7aHf4JdE6sPo
             */
            url: string;
            /**
             * @description The link's token (32 URL-safe characters). Shown only here.
             * @example q3Vw0xT5m1bN8cYk2LzR7aHf4JdE6sPo
             */
            token: string;
            link: components["schemas"]["Link"];
        };
        LinkList: {
            data: components["schemas"]["Link"][];
        };
        /** @description What a link serves, and nothing else of its share or owner. */
        LinkInfo: {
            file_name: components["schemas"]["FileName"];
            size: components["schemas"]["ContentSize"];
            /**
             * Format: date-time
             * @description When the link stops serving; null when it does not expire.
             */
            expires_at: string | null;
            /**
             * Format: int64
             * @description Downloads the link still serves; null when there is no limit.
             */
            downloads_left: number | null;
        };
        /**
         * @description 1–255 bytes of UTF-8, with no `/`, `\`, NUL or control characters.
         * @example report.pdf
         */
        FileName: string;
        /**
         * @description The owner's username; null means anonymous users own the share.
         * @example alice
         */
        OwnerName: string | null;
        Share: {
            share_id: components["schemas"]["ShareId"];
            file_name: components["schemas"]["FileName"];
            owner_name: components["schemas"]["OwnerName"];
            initialized: components["schemas"]["ShareInitialized"];
            locked: components["schemas"]["ShareLocked"];
            create_date: components["schemas"]["ShareCreateDate"];
            size: components["schemas"]["ContentSize"];
            sha256: components["schemas"]["ContentSha256"];
            expires_at: components["schemas"]["ShareExpiresAt"];
        };
        /**
         * Format: date-time
         * @description When the share stops serving (RFC 3339; null: never). From that
         *     instant the share, its metadata and its content answer `404` as if
         *     it did not exist, it leaves `GET /files`, and the periodic cleanup
         *     later deletes it with its content. When set, it must be in the
         *     future (`400` otherwise); `null` removes the expiry. An upload
         *     still running at the expiry cannot complete.
         * @example 2027-01-01T00:00:00Z
         */
        ShareExpiresAt: string | null;
        /**
         * Format: uuid
         * @description The share's id, assigned by the server; it never changes.
         * @example 9ae90f06-a751-409c-a9fe-8277575b9914
         */
        ShareId: string;
        /** @description Whether content exists; it becomes true when the first upload completes. */
        ShareInitialized: boolean;
        /** @description Whether the share is locked; change it with `POST /files/{share_id}/lock` and `/unlock`. */
        ShareLocked: boolean;
        /**
         * Format: date-time
         * @description When the share was created; set by the server.
         * @example 2026-05-20T23:05:31.546561Z
         */
        ShareCreateDate: string;
        /**
         * Format: int64
         * @description Content size in bytes; null until initialized. It follows the content.
         */
        ContentSize: number | null;
        /** @description Lowercase hex SHA-256 of the content; null until initialized. It follows the content. */
        ContentSha256: string | null;
        /**
         * @description Metadata of the new share. `file_name` defaults to the share id.
         *     The owner is always the caller (null for anonymous callers),
         *     whatever `owner_name` says: it is accepted and ignored, as the
         *     reference server does. The read-only fields are accepted only with
         *     the values a new share has (`initialized` and `locked` false,
         *     `size` and `sha256` null); `share_id` and `create_date` are set by
         *     the server. An unknown field is `400`.
         */
        ShareCreate: {
            file_name?: components["schemas"]["FileName"];
            /**
             * @description Ignored; the new share is the caller's (transfer it afterwards with `PATCH`).
             * @example alice
             */
            owner_name?: string | null;
            share_id?: components["schemas"]["ShareId"];
            initialized?: components["schemas"]["ShareInitialized"];
            locked?: components["schemas"]["ShareLocked"];
            create_date?: components["schemas"]["ShareCreateDate"];
            size?: components["schemas"]["ContentSize"];
            sha256?: components["schemas"]["ContentSha256"];
            expires_at?: components["schemas"]["ShareExpiresAt"];
        };
        /**
         * @description Fields to change; absent ones stay. An unknown field is `400`. The
         *     read-only fields are accepted only with the values the share has,
         *     so a body fetched with `GET` can be sent back; another value is
         *     `400`, naming the field and how to change it.
         */
        SharePatch: {
            file_name?: components["schemas"]["FileName"];
            owner_name?: components["schemas"]["OwnerName"];
            share_id?: components["schemas"]["ShareId"];
            initialized?: components["schemas"]["ShareInitialized"];
            locked?: components["schemas"]["ShareLocked"];
            create_date?: components["schemas"]["ShareCreateDate"];
            size?: components["schemas"]["ContentSize"];
            sha256?: components["schemas"]["ContentSha256"];
            expires_at?: components["schemas"]["ShareExpiresAt"];
        };
        /**
         * @description Every writable field. An unknown field is `400`. The read-only
         *     fields are accepted only with the values the share has, so a body
         *     fetched with `GET` can be sent back; another value is `400`, naming
         *     the field and how to change it. `expires_at` absent keeps the
         *     expiry the share has (clients older than it keep working).
         */
        SharePut: {
            file_name: components["schemas"]["FileName"];
            owner_name: components["schemas"]["OwnerName"];
            share_id?: components["schemas"]["ShareId"];
            initialized?: components["schemas"]["ShareInitialized"];
            locked?: components["schemas"]["ShareLocked"];
            create_date?: components["schemas"]["ShareCreateDate"];
            size?: components["schemas"]["ContentSize"];
            sha256?: components["schemas"]["ContentSha256"];
            expires_at?: components["schemas"]["ShareExpiresAt"];
        };
        SharePage: {
            data: components["schemas"]["Share"][];
            next: components["schemas"]["PageNumber"];
            prev: components["schemas"]["PageNumber"];
            /** @description Total number of pages, 0 when there are no items. */
            pages: number;
        };
        /** @description The new request's limits; each absent one is unlimited (but see `expires_at`). */
        UploadRequestCreate: {
            label?: components["schemas"]["UploadRequestLabel"];
            /** @description How many files (shares) the link may create; absent, unlimited. */
            max_files?: number;
            /**
             * Format: int64
             * @description How many bytes of content all its files may add up to; absent, unlimited.
             */
            max_bytes?: number;
            /**
             * Format: date-time
             * @description When the link stops working (in the future); absent, never.
             */
            expires_at?: string;
        };
        /**
         * @description A note for the uploader (shown to them), e.g. what to send.
         * @example Scans for the 2026 tax return
         */
        UploadRequestLabel: string;
        UploadRequest: {
            /** @description The id that revokes it; not the token. */
            request_id: string;
            label: string | null;
            max_files: number | null;
            /** Format: int64 */
            max_bytes: number | null;
            /** Format: date-time */
            expires_at: string | null;
            /** @description Files created through the link so far. */
            files_used: number;
            /**
             * Format: int64
             * @description Bytes of content of the shares created through it.
             */
            bytes_used: number;
            /** Format: date-time */
            create_date: string;
            revoked: boolean;
        };
        UploadRequestList: {
            data: components["schemas"]["UploadRequest"][];
        };
        UploadRequestCreated: {
            /** @enum {string} */
            status: "success";
            /**
             * @description Relative path of the request (`DELETE` it to revoke the link).
             * @example /upload-requests/3f9c2a7d41e0b6583f9c2a7d41e0b658
             */
            url: string;
            /** @description The link's secret (≥ 128 random bits, URL-safe); shown only here. */
            token: string;
            /** @description The uploader's relative link, `/requests/<token>`. */
            upload_url: string;
            request: components["schemas"]["UploadRequest"];
        };
        RequestLink: {
            label: string | null;
            /** @description Files the link may still create; null when unlimited. */
            files_left: number | null;
            /**
             * Format: int64
             * @description Bytes its files may still add; null when unlimited.
             */
            bytes_left: number | null;
            /** Format: date-time */
            expires_at: string | null;
        };
        RequestFileCreate: {
            file_name?: components["schemas"]["FileName"];
        };
        /** @description What the server holds of an unfinished upload. */
        UploadStatus: {
            /** @description The upload's id. */
            dzuuid: string;
            /** @description The upload's chunk count (`dztotalchunks`). */
            total_chunks: number;
            /** @description How many distinct chunk indexes the server holds. */
            received_chunks: number;
            /**
             * @description The chunk indexes held, as inclusive ranges `[first, last]` in
             *     ascending order, e.g. `[[0, 4], [7, 7]]`; empty when none is.
             * @example [
             *       [
             *         0,
             *         4
             *       ],
             *       [
             *         7,
             *         7
             *       ]
             *     ]
             */
            chunks: number[][];
            /**
             * Format: int64
             * @description The bytes of the chunks held.
             */
            bytes_held: number;
            /**
             * Format: date-time
             * @description When the upload's first chunk arrived.
             */
            create_date: string;
        };
        /**
         * @description One chunk. The total is `dztotalchunks`, or `dztotalchunkcount` as a
         *     stock Dropzone.js (`chunking: true`) names it: one of them is
         *     required, and both must agree when both are sent. Dropzone.js also
         *     sends `dzchunksize`, `dztotalfilesize` and `dzchunkbyteoffset`; when
         *     present they are checked (`400` on a mismatch): the offset is
         *     `dzchunkindex × dzchunksize`, the total is
         *     `max(1, ceil(dztotalfilesize / dzchunksize))`, a chunk other than
         *     the last is `dzchunksize` bytes and the last one the rest of the
         *     file. Any other part is refused (`400`, naming it).
         *
         *     Integrity, optional (a client that sends neither field works as
         *     before):
         *
         *     - `dzchunksha256`, this chunk's SHA-256, must come before the
         *       `upload` part (`400` after it). The server hashes the part as it
         *       streams and compares before acknowledging: on a mismatch `400`
         *       naming both digests, and nothing is kept. The upload is as it
         *       was: a chunk it held under that index stays, one it did not is
         *       still missing (the upload status says so). Why a form field and
         *       not RFC 9530 `Content-Digest`: that header digests the whole
         *       multipart message, not the chunk, and a browser's `FormData`
         *       cannot compute it.
         *     - `dzfilesha256`, the whole file's SHA-256, may come with any chunk
         *       and in any place in the form; send it with the chunk of the last
         *       index (`dztotalchunks - 1`), which the upload cannot complete
         *       without. It is kept with the upload (sent again, it must be the
         *       same: `400` otherwise) and checked against the joined content
         *       before the `201`. On a mismatch the request that completed the
         *       upload gets `400` naming both digests; the joined content is
         *       dropped, the share's content stays as it was, and the upload is
         *       dropped too (which chunk was wrong is unknown): its status is
         *       `404`, and the file must be sent again, under the same `dzuuid`
         *       or another. A chunk re-sent after the upload already held every
         *       chunk cannot change it; its `dzfilesha256` is then not checked
         *       (compare the share's `sha256`).
         */
        Chunk: {
            /** @description The upload's id, the same on all its chunks; 1–255 bytes of any characters. */
            dzuuid: string;
            /** @description 0-based index of this chunk, below `dztotalchunks`. */
            dzchunkindex: number;
            /** @description Number of chunks in the upload; the same on every chunk. */
            dztotalchunks?: number;
            /** @description Dropzone.js's name for `dztotalchunks`. */
            dztotalchunkcount?: number;
            /**
             * Format: int64
             * @description The size of every chunk but the last, in bytes.
             */
            dzchunksize?: number;
            /**
             * Format: int64
             * @description The size of the whole file, in bytes.
             */
            dztotalfilesize?: number;
            /**
             * Format: int64
             * @description Where this chunk starts in the file, `dzchunkindex × dzchunksize`.
             */
            dzchunkbyteoffset?: number;
            /**
             * @description This chunk's SHA-256, 64 hex digits (lowercase preferred), sent
             *     before the `upload` part; checked before the chunk is
             *     acknowledged.
             * @example 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
             */
            dzchunksha256?: string;
            /**
             * @description The whole file's SHA-256, 64 hex digits (lowercase preferred),
             *     best sent with the chunk of the last index; checked when the
             *     upload completes.
             * @example 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
             */
            dzfilesha256?: string;
            /**
             * Format: binary
             * @description This chunk's bytes.
             */
            upload: Blob;
        };
    };
    responses: {
        /** @description Done. */
        Success: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "success",
                 *       "message": "Done."
                 *     }
                 */
                "application/json": components["schemas"]["Message"];
            };
        };
        /** @description Created; `url` and `Location` give its path. */
        Created: {
            headers: {
                Location: components["headers"]["Location"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Created"];
            };
        };
        /** @description A new token. Never stored by caches on the way. */
        Token: {
            headers: {
                "Cache-Control": components["headers"]["NoStore"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["TokenResponse"];
            };
        };
        /**
         * @description The key, with its secret, shown this once. `url` and `Location` give
         *     the path that revokes it. Never stored by caches on the way.
         */
        ApiKeyCreated: {
            headers: {
                Location: components["headers"]["Location"];
                "Cache-Control": components["headers"]["NoStore"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ApiKeyCreated"];
            };
        };
        /**
         * @description The upload request, with its token shown this once. `url` and
         *     `Location` give the path that revokes it; `upload_url` is the
         *     uploader's link. Never stored by caches on the way.
         */
        UploadRequestCreated: {
            headers: {
                Location: components["headers"]["Location"];
                "Cache-Control": components["headers"]["NoStore"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["UploadRequestCreated"];
            };
        };
        /** @description The link is expired, revoked or exhausted; the message says which. */
        Gone: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "fail",
                 *       "message": "This upload request has expired."
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The chunk is stored; other chunks are still missing. */
        ChunkAccepted: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "success",
                 *       "message": "Chunk uploaded."
                 *     }
                 */
                "application/json": components["schemas"]["Message"];
            };
        };
        /** @description That was the last missing chunk; the joined file is now the share's content. */
        UploadCompleted: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "success",
                 *       "message": "Upload completed."
                 *     }
                 */
                "application/json": components["schemas"]["Message"];
            };
        };
        /** @description The whole content. */
        Content: {
            headers: {
                "Content-Length": components["headers"]["ContentLength"];
                "Content-Disposition": components["headers"]["ContentDisposition"];
                ETag: components["headers"]["ETag"];
                "Last-Modified": components["headers"]["LastModified"];
                "Accept-Ranges": components["headers"]["AcceptRanges"];
                "X-Content-Type-Options": components["headers"]["NoSniff"];
                "Content-Security-Policy": components["headers"]["Sandbox"];
                [name: string]: unknown;
            };
            content: {
                "*/*": Blob;
            };
        };
        /** @description The headers of the whole content. */
        ContentHead: {
            headers: {
                "Content-Length": components["headers"]["ContentLength"];
                "Content-Disposition": components["headers"]["ContentDisposition"];
                ETag: components["headers"]["ETag"];
                "Last-Modified": components["headers"]["LastModified"];
                "Accept-Ranges": components["headers"]["AcceptRanges"];
                "X-Content-Type-Options": components["headers"]["NoSniff"];
                "Content-Security-Policy": components["headers"]["Sandbox"];
                [name: string]: unknown;
            };
            content?: never;
        };
        /** @description The requested range; several ranges come as `multipart/byteranges`. */
        PartialContent: {
            headers: {
                "Content-Length": components["headers"]["ContentLength"];
                "Content-Range": components["headers"]["ContentRange"];
                "Content-Disposition": components["headers"]["ContentDisposition"];
                ETag: components["headers"]["ETag"];
                "Last-Modified": components["headers"]["LastModified"];
                "Accept-Ranges": components["headers"]["AcceptRanges"];
                [name: string]: unknown;
            };
            content: {
                "*/*": Blob;
            };
        };
        /** @description The headers of the requested range. */
        PartialContentHead: {
            headers: {
                "Content-Length": components["headers"]["ContentLength"];
                "Content-Range": components["headers"]["ContentRange"];
                ETag: components["headers"]["ETag"];
                [name: string]: unknown;
            };
            content?: never;
        };
        /** @description The content has not changed (conditional request). */
        NotModified: {
            headers: {
                ETag: components["headers"]["ETag"];
                [name: string]: unknown;
            };
            content?: never;
        };
        /** @description An `If-Match` or `If-Unmodified-Since` precondition failed. */
        PreconditionFailed: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description The range is malformed, or none of its ranges overlaps the content
         *     (each starts at or past the end, or is an empty suffix).
         */
        RangeNotSatisfiable: {
            headers: {
                "Content-Range": components["headers"]["ContentRangeUnsatisfied"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The request is malformed; the message names the field or limit. */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "fail",
                 *       "message": "invalid request body: \"username\": property is missing"
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description Authentication failed (bad, expired or revoked token, wrong
         *     credentials), or an anonymous caller lacks the permission.
         */
        Unauthorized: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "fail",
                 *       "message": "Invalid or expired token."
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The caller is authenticated but not allowed. */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "fail",
                 *       "message": "This needs the MODIFY permission."
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The addressed resource does not exist. */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "fail",
                 *       "message": "No such share."
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The resource's state forbids it (duplicate, still referenced). */
        Conflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description A size limit was exceeded; the message names it. */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description A request body was sent under a `Content-Type` other than
         *     `application/json` (parameters such as `charset` are fine), or
         *     without one.
         */
        UnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "fail",
                 *       "message": "request body must be sent as Content-Type: application/json, not \"text/plain\""
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The share is locked, or its content is not in the required state. */
        Locked: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "fail",
                 *       "message": "The share is locked."
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Too many failed attempts; retry later. */
        TooManyRequests: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description The chunk would start a new upload, but its owner already has
         *     `SACHET_MAX_OPEN_UPLOADS` unfinished ones (anonymous users share one
         *     budget). `429` rather than `409`: nothing is wrong with the share
         *     addressed, the caller has too many uploads in flight, and a slot
         *     frees by itself when one of them completes or expires, so trying
         *     again later is the right reaction. Chunks of uploads already
         *     started are always accepted.
         */
        TooManyUploads: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "fail",
                 *       "message": "user \"alice\" already has 32 unfinished uploads, the most allowed at a time: complete one (or let it expire) before starting another"
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description The link has a password, and `X-Sachet-Link-Password` is missing or
         *     wrong.
         */
        LinkPasswordRequired: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "status": "fail",
                 *       "message": "This link needs a password: send it in the X-Sachet-Link-Password header."
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description The link, with its token, shown this once. `url` and `Location`
         *     give the link's public path. Never stored by caches on the way.
         */
        LinkCreated: {
            headers: {
                Location: components["headers"]["Location"];
                "Cache-Control": components["headers"]["NoStoreLink"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["LinkCreated"];
            };
        };
        /** @description A dependency (database, storage) is unavailable; the message names it. */
        Unavailable: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description Any other error, e.g. `405`, `429`, `431`, `500`, `503` (database
         *     unavailable), `507` (storage full).
         */
        Error: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
    };
    parameters: {
        /** @description The page to return, from 1. A page past the end is empty. */
        Page: number;
        /** @description Items per page. */
        PerPage: number;
        /** @description The user's name. */
        PathUsername: string;
        /** @description The key's id, the part of its secret between `sachet_` and the next `_`. */
        PathKeyId: string;
        /**
         * @description The share's id, a canonical lowercase UUID. Anything else addresses
         *     no share (`404`).
         */
        PathShareId: string;
        /** @description An upload request's id (not its token). */
        PathRequestId: string;
        /** @description An upload request's secret token, from its link. */
        PathRequestToken: string;
        /** @description The link's id (`link_id` in its listing; not its token). */
        PathLinkId: string;
        /**
         * @description The link's token: 32 URL-safe characters (base64url of 192 random
         *     bits). A string of another shape addresses no link (`404`).
         */
        PathLinkToken: string;
        /** @description The link's password, when it has one. Never send it in the URL. */
        LinkPassword: string;
        /**
         * @description The upload's id, as sent in the chunks' `dzuuid` field: any 1–255
         *     bytes, percent-encoded in the path (`/` as `%2F`). An id no upload
         *     can have addresses none (`404`).
         */
        PathDzuuid: string;
        /** @description RFC 9110 byte ranges, e.g. `bytes=0-1023`, `bytes=-500`, `bytes=0-9,20-29`. */
        Range: string;
        /** @description Serve the range only if the content still has this ETag or date. */
        IfRange: string;
        /** @description `304` when the content still has one of these ETags. */
        IfNoneMatch: string;
        /** @description `304` when the content has not changed since this HTTP date. */
        IfModifiedSince: string;
    };
    requestBodies: {
        LinkCreate: {
            content: {
                "application/json": components["schemas"]["LinkCreate"];
            };
        };
        Login: {
            content: {
                "application/json": components["schemas"]["LoginRequest"];
            };
        };
        Logout: {
            content: {
                "application/json": components["schemas"]["LogoutRequest"];
            };
        };
        PasswordChange: {
            content: {
                "application/json": components["schemas"]["PasswordChange"];
            };
        };
        UserCreate: {
            content: {
                "application/json": components["schemas"]["UserCreate"];
            };
        };
        UserPatch: {
            content: {
                "application/json": components["schemas"]["UserPatch"];
            };
        };
        UserPut: {
            content: {
                "application/json": components["schemas"]["UserPut"];
            };
        };
        SettingsPatch: {
            content: {
                "application/json": components["schemas"]["SettingsPatch"];
            };
        };
        SettingsPut: {
            content: {
                "application/json": components["schemas"]["Settings"];
            };
        };
        ApiKeyCreate: {
            content: {
                "application/json": components["schemas"]["ApiKeyCreate"];
            };
        };
        ShareCreate: {
            content: {
                "application/json": components["schemas"]["ShareCreate"];
            };
        };
        SharePatch: {
            content: {
                "application/json": components["schemas"]["SharePatch"];
            };
        };
        SharePut: {
            content: {
                "application/json": components["schemas"]["SharePut"];
            };
        };
        UploadRequestCreate: {
            content: {
                "application/json": components["schemas"]["UploadRequestCreate"];
            };
        };
        RequestFileCreate: {
            content: {
                "application/json": components["schemas"]["RequestFileCreate"];
            };
        };
        /** @description One chunk of a Dropzone-style chunked upload. */
        Chunk: {
            content: {
                "multipart/form-data": components["schemas"]["Chunk"];
            };
        };
    };
    headers: {
        /** @description The created resource's path. */
        Location: string;
        /** @description Length of the body in bytes. */
        ContentLength: number;
        /**
         * @description `inline; filename=<name>`: the name bare when it is an RFC 9110 token
         *     (`inline; filename=notes.txt`, as the reference server sends it), a
         *     quoted-string otherwise, plus an RFC 5987 `filename*` for non-ASCII
         *     names. Control and bidirectional-override characters are left out.
         */
        ContentDisposition: string;
        /** @description Strong validator derived from the content's SHA-256. */
        ETag: string;
        /** @description When the content was last replaced (HTTP date). */
        LastModified: string;
        /** @description Always `bytes`. */
        AcceptRanges: "bytes";
        /** @description The range served, e.g. `bytes 0-1023/4000` (absent for `multipart/byteranges`). */
        ContentRange: string;
        /** @description `bytes *\/<size>`. */
        ContentRangeUnsatisfied: string;
        /** @description Always `nosniff`. */
        NoSniff: "nosniff";
        /** @description Always `sandbox`, so content opened in a browser can't run script on the API's origin. */
        Sandbox: "sandbox";
        /** @description Seconds to wait before trying again. */
        RetryAfter: number;
        /** @description Always `no-store`, so a token is never kept by a cache or proxy. */
        NoStore: "no-store";
        /** @description Always `no-store`, so what a link reveals is never kept by a cache or proxy. */
        NoStoreLink: "no-store";
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getUserNamedLogin: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: components["requestBodies"]["Login"];
        responses: {
            200: components["responses"]["Token"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            default: components["responses"]["Error"];
        };
    };
    getUserNamedExtend: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    extendToken: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Token"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    getUserNamedLogout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: components["requestBodies"]["Logout"];
        responses: {
            200: components["responses"]["Success"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Error"];
        };
    };
    getUserNamedPassword: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    changePassword: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: components["requestBodies"]["PasswordChange"];
        responses: {
            200: components["responses"]["Success"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            default: components["responses"]["Error"];
        };
    };
    listUsers: {
        parameters: {
            query?: {
                /** @description The page to return, from 1. A page past the end is empty. */
                page?: components["parameters"]["Page"];
                /** @description Items per page. */
                per_page?: components["parameters"]["PerPage"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of users. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createUser: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: components["requestBodies"]["UserCreate"];
        responses: {
            201: components["responses"]["Created"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Error"];
        };
    };
    getUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    putUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
            };
            cookie?: never;
        };
        requestBody: components["requestBodies"]["UserPut"];
        responses: {
            200: components["responses"]["Success"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Error"];
        };
    };
    deleteUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    patchUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
            };
            cookie?: never;
        };
        requestBody: components["requestBodies"]["UserPatch"];
        responses: {
            200: components["responses"]["Success"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Error"];
        };
    };
    revokeUserTokens: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    listApiKeys: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user's keys. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyList"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
            };
            cookie?: never;
        };
        requestBody: components["requestBodies"]["ApiKeyCreate"];
        responses: {
            201: components["responses"]["ApiKeyCreated"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Error"];
        };
    };
    deleteApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's name. */
                username: components["parameters"]["PathUsername"];
                /** @description The key's id, the part of its secret between `sachet_` and the next `_`. */
                key_id: components["parameters"]["PathKeyId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    getSettings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The settings. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Settings"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    putSettings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: components["requestBodies"]["SettingsPut"];
        responses: {
            200: components["responses"]["Success"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Error"];
        };
    };
    patchSettings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: components["requestBodies"]["SettingsPatch"];
        responses: {
            200: components["responses"]["Success"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Error"];
        };
    };
    whoami: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Whoami"];
                };
            };
            401: components["responses"]["Unauthorized"];
            default: components["responses"]["Error"];
        };
    };
    listShares: {
        parameters: {
            query?: {
                /** @description The page to return, from 1. A page past the end is empty. */
                page?: components["parameters"]["Page"];
                /** @description Items per page. */
                per_page?: components["parameters"]["PerPage"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of shares. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SharePage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createShare: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: components["requestBodies"]["ShareCreate"];
        responses: {
            201: components["responses"]["Created"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Error"];
        };
    };
    getShare: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The share. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Share"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    putShare: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody: components["requestBodies"]["SharePut"];
        responses: {
            200: components["responses"]["Success"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            423: components["responses"]["Locked"];
            default: components["responses"]["Error"];
        };
    };
    deleteShare: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            423: components["responses"]["Locked"];
            default: components["responses"]["Error"];
        };
    };
    patchShare: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody: components["requestBodies"]["SharePatch"];
        responses: {
            200: components["responses"]["Success"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            423: components["responses"]["Locked"];
            default: components["responses"]["Error"];
        };
    };
    lockShare: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    unlockShare: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    getShareContent: {
        parameters: {
            query?: never;
            header?: {
                /** @description RFC 9110 byte ranges, e.g. `bytes=0-1023`, `bytes=-500`, `bytes=0-9,20-29`. */
                Range?: components["parameters"]["Range"];
                /** @description Serve the range only if the content still has this ETag or date. */
                "If-Range"?: components["parameters"]["IfRange"];
                /** @description `304` when the content still has one of these ETags. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
                /** @description `304` when the content has not changed since this HTTP date. */
                "If-Modified-Since"?: components["parameters"]["IfModifiedSince"];
            };
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Content"];
            206: components["responses"]["PartialContent"];
            /**
             * @description Only on a server started with `SACHET_S3_PRESIGNED_REDIRECT=true`
             *     (content on S3; off by default): the bytes are at `Location`, a
             *     presigned URL of the S3 server, valid for 5 minutes, which serves
             *     the same bytes with the same `Content-Type` and
             *     `Content-Disposition`, and answers `Range` itself (the S3 server's
             *     `ETag` is not Sachet's). Sent for a `GET` with no conditional
             *     header and a satisfiable `Range` or none; other requests are
             *     answered as without the setting. Never cached (`Cache-Control:
             *     no-store`).
             */
            302: {
                headers: {
                    /** @description The presigned URL of the content. */
                    Location: string;
                    /** @description Always `no-store`. */
                    "Cache-Control"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            304: components["responses"]["NotModified"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            412: components["responses"]["PreconditionFailed"];
            416: components["responses"]["RangeNotSatisfiable"];
            default: components["responses"]["Error"];
        };
    };
    replaceShareContent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody: components["requestBodies"]["Chunk"];
        responses: {
            200: components["responses"]["ChunkAccepted"];
            201: components["responses"]["UploadCompleted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            423: components["responses"]["Locked"];
            429: components["responses"]["TooManyUploads"];
            default: components["responses"]["Error"];
        };
    };
    uploadShareContent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody: components["requestBodies"]["Chunk"];
        responses: {
            200: components["responses"]["ChunkAccepted"];
            201: components["responses"]["UploadCompleted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            423: components["responses"]["Locked"];
            429: components["responses"]["TooManyUploads"];
            default: components["responses"]["Error"];
        };
    };
    headShareContent: {
        parameters: {
            query?: never;
            header?: {
                /** @description RFC 9110 byte ranges, e.g. `bytes=0-1023`, `bytes=-500`, `bytes=0-9,20-29`. */
                Range?: components["parameters"]["Range"];
                /** @description Serve the range only if the content still has this ETag or date. */
                "If-Range"?: components["parameters"]["IfRange"];
                /** @description `304` when the content still has one of these ETags. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
                /** @description `304` when the content has not changed since this HTTP date. */
                "If-Modified-Since"?: components["parameters"]["IfModifiedSince"];
            };
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["ContentHead"];
            206: components["responses"]["PartialContentHead"];
            304: components["responses"]["NotModified"];
            /** @description Authentication failed or is required (no body on HEAD). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not allowed (no body on HEAD). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No such share, or no content yet (no body on HEAD). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A precondition failed (no body on HEAD). */
            412: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The range is not satisfiable (no body on HEAD). */
            416: {
                headers: {
                    "Content-Range": components["headers"]["ContentRangeUnsatisfied"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Another error (no body on HEAD). */
            default: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    getUploadStatus: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
                /**
                 * @description The upload's id, as sent in the chunks' `dzuuid` field: any 1–255
                 *     bytes, percent-encoded in the path (`/` as `%2F`). An id no upload
                 *     can have addresses none (`404`).
                 */
                dzuuid: components["parameters"]["PathDzuuid"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The upload's state. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UploadStatus"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    abortUpload: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
                /**
                 * @description The upload's id, as sent in the chunks' `dzuuid` field: any 1–255
                 *     bytes, percent-encoded in the path (`/` as `%2F`). An id no upload
                 *     can have addresses none (`404`).
                 */
                dzuuid: components["parameters"]["PathDzuuid"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    listUploadRequests: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller's upload requests. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UploadRequestList"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createUploadRequest: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: components["requestBodies"]["UploadRequestCreate"];
        responses: {
            201: components["responses"]["UploadRequestCreated"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Error"];
        };
    };
    revokeUploadRequest: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An upload request's id (not its token). */
                request_id: components["parameters"]["PathRequestId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    getRequestLink: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An upload request's secret token, from its link. */
                token: components["parameters"]["PathRequestToken"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The link's limits left. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestLink"];
                };
            };
            404: components["responses"]["NotFound"];
            410: components["responses"]["Gone"];
            default: components["responses"]["Error"];
        };
    };
    createRequestFile: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An upload request's secret token, from its link. */
                token: components["parameters"]["PathRequestToken"];
            };
            cookie?: never;
        };
        requestBody?: components["requestBodies"]["RequestFileCreate"];
        responses: {
            201: components["responses"]["Created"];
            400: components["responses"]["BadRequest"];
            404: components["responses"]["NotFound"];
            410: components["responses"]["Gone"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Error"];
        };
    };
    uploadRequestFileContent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An upload request's secret token, from its link. */
                token: components["parameters"]["PathRequestToken"];
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody: components["requestBodies"]["Chunk"];
        responses: {
            200: components["responses"]["ChunkAccepted"];
            201: components["responses"]["UploadCompleted"];
            400: components["responses"]["BadRequest"];
            404: components["responses"]["NotFound"];
            410: components["responses"]["Gone"];
            413: components["responses"]["PayloadTooLarge"];
            423: components["responses"]["Locked"];
            429: components["responses"]["TooManyUploads"];
            default: components["responses"]["Error"];
        };
    };
    getRequestUploadStatus: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An upload request's secret token, from its link. */
                token: components["parameters"]["PathRequestToken"];
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
                /**
                 * @description The upload's id, as sent in the chunks' `dzuuid` field: any 1–255
                 *     bytes, percent-encoded in the path (`/` as `%2F`). An id no upload
                 *     can have addresses none (`404`).
                 */
                dzuuid: components["parameters"]["PathDzuuid"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The upload's state. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UploadStatus"];
                };
            };
            404: components["responses"]["NotFound"];
            410: components["responses"]["Gone"];
            default: components["responses"]["Error"];
        };
    };
    abortRequestUpload: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An upload request's secret token, from its link. */
                token: components["parameters"]["PathRequestToken"];
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
                /**
                 * @description The upload's id, as sent in the chunks' `dzuuid` field: any 1–255
                 *     bytes, percent-encoded in the path (`/` as `%2F`). An id no upload
                 *     can have addresses none (`404`).
                 */
                dzuuid: components["parameters"]["PathDzuuid"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            410: components["responses"]["Gone"];
            default: components["responses"]["Error"];
        };
    };
    listShareLinks: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The share's links. */
            200: {
                headers: {
                    "Cache-Control": components["headers"]["NoStoreLink"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LinkList"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    createShareLink: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
            };
            cookie?: never;
        };
        requestBody?: components["requestBodies"]["LinkCreate"];
        responses: {
            201: components["responses"]["LinkCreated"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            default: components["responses"]["Error"];
        };
    };
    revokeShareLink: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The share's id, a canonical lowercase UUID. Anything else addresses
                 *     no share (`404`).
                 */
                share_id: components["parameters"]["PathShareId"];
                /** @description The link's id (`link_id` in its listing; not its token). */
                link_id: components["parameters"]["PathLinkId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    getLink: {
        parameters: {
            query?: never;
            header?: {
                /** @description The link's password, when it has one. Never send it in the URL. */
                "X-Sachet-Link-Password"?: components["parameters"]["LinkPassword"];
            };
            path: {
                /**
                 * @description The link's token: 32 URL-safe characters (base64url of 192 random
                 *     bits). A string of another shape addresses no link (`404`).
                 */
                token: components["parameters"]["PathLinkToken"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The link's file. */
            200: {
                headers: {
                    "Cache-Control": components["headers"]["NoStoreLink"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LinkInfo"];
                };
            };
            401: components["responses"]["LinkPasswordRequired"];
            404: components["responses"]["NotFound"];
            410: components["responses"]["Gone"];
            429: components["responses"]["TooManyRequests"];
            default: components["responses"]["Error"];
        };
    };
    getLinkContent: {
        parameters: {
            query?: never;
            header?: {
                /** @description The link's password, when it has one. Never send it in the URL. */
                "X-Sachet-Link-Password"?: components["parameters"]["LinkPassword"];
                /** @description RFC 9110 byte ranges, e.g. `bytes=0-1023`, `bytes=-500`, `bytes=0-9,20-29`. */
                Range?: components["parameters"]["Range"];
                /** @description Serve the range only if the content still has this ETag or date. */
                "If-Range"?: components["parameters"]["IfRange"];
                /** @description `304` when the content still has one of these ETags. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
                /** @description `304` when the content has not changed since this HTTP date. */
                "If-Modified-Since"?: components["parameters"]["IfModifiedSince"];
            };
            path: {
                /**
                 * @description The link's token: 32 URL-safe characters (base64url of 192 random
                 *     bits). A string of another shape addresses no link (`404`).
                 */
                token: components["parameters"]["PathLinkToken"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Content"];
            206: components["responses"]["PartialContent"];
            304: components["responses"]["NotModified"];
            401: components["responses"]["LinkPasswordRequired"];
            404: components["responses"]["NotFound"];
            410: components["responses"]["Gone"];
            412: components["responses"]["PreconditionFailed"];
            416: components["responses"]["RangeNotSatisfiable"];
            429: components["responses"]["TooManyRequests"];
            default: components["responses"]["Error"];
        };
    };
    headLinkContent: {
        parameters: {
            query?: never;
            header?: {
                /** @description The link's password, when it has one. Never send it in the URL. */
                "X-Sachet-Link-Password"?: components["parameters"]["LinkPassword"];
                /** @description RFC 9110 byte ranges, e.g. `bytes=0-1023`, `bytes=-500`, `bytes=0-9,20-29`. */
                Range?: components["parameters"]["Range"];
                /** @description Serve the range only if the content still has this ETag or date. */
                "If-Range"?: components["parameters"]["IfRange"];
                /** @description `304` when the content still has one of these ETags. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
                /** @description `304` when the content has not changed since this HTTP date. */
                "If-Modified-Since"?: components["parameters"]["IfModifiedSince"];
            };
            path: {
                /**
                 * @description The link's token: 32 URL-safe characters (base64url of 192 random
                 *     bits). A string of another shape addresses no link (`404`).
                 */
                token: components["parameters"]["PathLinkToken"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["ContentHead"];
            206: components["responses"]["PartialContentHead"];
            304: components["responses"]["NotModified"];
            /** @description The link's password is missing or wrong (no body on HEAD). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No such link, or no content yet (no body on HEAD). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The link is revoked, expired or out of downloads (no body on HEAD). */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A precondition failed (no body on HEAD). */
            412: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The range is not satisfiable (no body on HEAD). */
            416: {
                headers: {
                    "Content-Range": components["headers"]["ContentRangeUnsatisfied"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Too many wrong passwords; retry later (no body on HEAD). */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Another error (no body on HEAD). */
            default: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    healthz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            default: components["responses"]["Error"];
        };
    };
    readyz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["Success"];
            503: components["responses"]["Unavailable"];
            default: components["responses"]["Error"];
        };
    };
    metrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Metrics in the Prometheus text exposition format. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    getOpenAPIYAML: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI document. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/yaml": string;
                };
            };
            default: components["responses"]["Error"];
        };
    };
    getOpenAPIJSON: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI document. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": Record<string, never>;
                };
            };
            default: components["responses"]["Error"];
        };
    };
    getDocs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The HTML page. */
            200: {
                headers: {
                    /**
                     * @description `default-src 'none'`; the page's own inline scripts allowed
                     *     by their SHA-256 hashes, inline styles, `data:` images and
                     *     fonts, `blob:` workers.
                     */
                    "Content-Security-Policy": string;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            default: components["responses"]["Error"];
        };
    };
}
