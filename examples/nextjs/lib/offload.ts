// The server-side client: the API key stays on the Next.js server (a `client` key, from OFFLOAD_API_KEY).
import { Offload } from "@offload/client";

export const offload = new Offload({ baseUrl: process.env.OFFLOAD_URL!, apiKey: process.env.OFFLOAD_API_KEY! });

/** A JSON answer (what `Response.json` does on newer TypeScript libs). */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}
