/**
 * Checks a webhook delivery: `signatureHeader` is `X-Offload-Signature` (`sha256=<hex>`), the HMAC-SHA256 of
 * the raw body keyed with the server's `OFFLOAD_WEBHOOK_SECRET`. Pass the body exactly as received, before
 * any JSON parsing. The comparison is WebCrypto's `verify`, which takes the same time whatever the bytes.
 */
export async function verifyWebhook(
  rawBody: string | Uint8Array | ArrayBuffer, signatureHeader: string | null | undefined, secret: string,
): Promise<boolean> {
  if (!signatureHeader || !secret) return false;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(signatureHeader.trim());
  if (!match) return false;
  const hex = match[1]!;
  const signature = new Uint8Array(32);
  for (let i = 0; i < 32; i++) signature[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  const encoder = new TextEncoder();
  const body = typeof rawBody === "string" ? encoder.encode(rawBody) : rawBody instanceof Uint8Array ? rawBody : new Uint8Array(rawBody);
  const subtle = await webCrypto();
  const key = await subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  return subtle.verify("HMAC", key, signature, body);
}

/** WebCrypto: global everywhere but on Node 18, which has it in `node:crypto`. */
async function webCrypto(): Promise<SubtleCrypto> {
  if (globalThis.crypto?.subtle) return globalThis.crypto.subtle;
  const specifier = "node:crypto";
  const module = await import(/* webpackIgnore: true */ specifier);
  return module.webcrypto.subtle as SubtleCrypto;
}
