// Writes src/openapi.ts, the TypeScript types of the server's OpenAPI document.
//
//   node scripts/gen-types.mjs http://127.0.0.1:8080/openapi.json   (or a file path; "-" prints instead)
//
// Every schema of `components.schemas` becomes a type of the same name, and a few answers that the document
// writes inline get names of their own (EXTRA). The test suite runs this against a live server and fails when
// the committed file differs, so the SDK's types cannot drift from the API.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** Schemas whose names would hide a global of JavaScript (`Error`, `Event`). */
const RENAME = { Error: "ErrorBody", Event: "StoredEvent" };
const nameOf = (schemaName) => RENAME[schemaName] ?? schemaName;

/** Inline schemas worth a name: [type name, operationId, response status]. */
const EXTRA = [
  ["AuthToken", "createToken", "200"],
  ["StreamToken", "createStreamToken", "201"],
];

export function generate(document) {
  const out = [
    "// Generated from the server's /openapi.json by scripts/gen-types.mjs: do not edit.",
    "// Run `node scripts/gen-types.mjs <server>/openapi.json` after the API changes; a test fails until you do.",
    "",
  ];
  const schemas = document.components?.schemas ?? {};
  for (const name of Object.keys(schemas).sort()) out.push(declaration(nameOf(name), schemas[name]), "");
  const operations = Object.values(document.paths ?? {}).flatMap((item) => Object.values(item));
  for (const [name, operationId, status] of EXTRA) {
    const operation = operations.find((o) => o && o.operationId === operationId);
    const schema = operation?.responses?.[status]?.content?.["application/json"]?.schema;
    if (!schema) throw new Error(`${operationId} has no JSON answer ${status}`);
    out.push(declaration(name, schema), "");
  }
  return out.join("\n");
}

function declaration(name, schema) {
  const doc = schema.description ? `/** ${schema.description.replace(/\*\//g, "*\\/")} */\n` : "";
  if (schema.type === "object" && schema.properties && !schema.additionalProperties) {
    return `${doc}export interface ${name} ${objectType(schema, "")}`;
  }
  return `${doc}export type ${name} = ${type(schema, "")};`;
}

function type(schema, indent) {
  if (schema === true || schema === undefined || Object.keys(schema).length === 0) return "unknown";
  if (schema.$ref) return nameOf(schema.$ref.split("/").pop());
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.allOf) return schema.allOf.map((s) => type(s, indent)).join(" & ");
  if (schema.oneOf || schema.anyOf) return (schema.oneOf ?? schema.anyOf).map((s) => type(s, indent)).join(" | ");
  if (Array.isArray(schema.type)) return schema.type.map((t) => type({ ...schema, type: t }, indent)).join(" | ");
  switch (schema.type) {
    case "string": return "string";
    case "integer":
    case "number": return "number";
    case "boolean": return "boolean";
    case "null": return "null";
    case "array": {
      const item = type(schema.items ?? {}, indent);
      return /[|&]/.test(item) ? `(${item})[]` : `${item}[]`;
    }
    case "object": return objectType(schema, indent);
    default: return "unknown";
  }
}

function objectType(schema, indent) {
  const properties = schema.properties ?? {};
  const names = Object.keys(properties);
  const extra = schema.additionalProperties;
  if (names.length === 0) {
    return extra && extra !== true ? `{ [key: string]: ${type(extra, indent)} }` : "{ [key: string]: unknown }";
  }
  const required = new Set(schema.required ?? []);
  const inner = indent + "  ";
  const lines = names.map((key) => {
    const property = properties[key];
    const doc = property.description ? `${inner}/** ${property.description.replace(/\*\//g, "*\\/")} */\n` : "";
    const safe = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
    return `${doc}${inner}${safe}${required.has(key) ? "" : "?"}: ${type(property, inner)};`;
  });
  if (extra && extra !== true) lines.push(`${inner}[key: string]: ${type(extra, inner)} | undefined;`);
  return `{\n${lines.join("\n")}\n${indent}}`;
}

async function load(source) {
  if (/^https?:/.test(source)) {
    const answer = await fetch(source);
    if (!answer.ok) throw new Error(`${source}: HTTP ${answer.status}`);
    return answer.json();
  }
  return JSON.parse(await readFile(source, "utf8"));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [source, target = fileURLToPath(new URL("../src/openapi.ts", import.meta.url))] = process.argv.slice(2);
  if (!source) {
    console.error("usage: node scripts/gen-types.mjs <server>/openapi.json [output | -]");
    process.exit(2);
  }
  const text = generate(await load(source));
  if (target === "-") process.stdout.write(text);
  else await writeFile(target, text);
}
