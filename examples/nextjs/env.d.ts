// In a Next.js app @types/node declares `process`; the type check here has no npm, so this stands in for it.
declare const process: { env: Record<string, string | undefined> };
