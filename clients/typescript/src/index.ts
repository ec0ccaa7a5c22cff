export { Offload } from "./client.js";
export { OffloadError } from "./errors.js";
export { SSEParser, type ServerSentMessage } from "./sse.js";
export { verifyWebhook } from "./webhook.js";
export * from "./types.js";
