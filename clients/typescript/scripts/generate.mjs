// Regenerates src/schema.ts from ../../openapi.yaml (run by `make generate`).
// Uses openapi-typescript's API rather than its CLI only to map
// `format: binary` to Blob, so a chunk's `upload` field is typed as what
// FormData takes.
import { writeFile } from "node:fs/promises";
import ts from "typescript";
import openapiTS, { astToString } from "openapi-typescript";

const spec = new URL("../../../openapi.yaml", import.meta.url);
const out = new URL("../src/schema.ts", import.meta.url);

const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));

const ast = await openapiTS(spec, {
  transform(schemaObject) {
    if (schemaObject.format === "binary") return BLOB;
    return undefined;
  },
});

const header = `/**
 * Generated from openapi.yaml by openapi-typescript (scripts/generate.mjs).
 * Do not edit: change openapi.yaml and run \`make generate\`.
 */

`;
await writeFile(out, header + astToString(ast));
