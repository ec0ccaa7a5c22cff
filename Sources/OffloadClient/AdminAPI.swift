import OffloadCore

/// Calls that need an admin key: the worker registry, statistics and API keys.
extension OffloadClient {
    /// The worker registry (an admin key): each worker's JSON as `GET /api/workers` shows it.
    public func workers() async throws -> [JSONValue] {
        try await call("GET", "/api/workers", json: nil)["workers"]?.arrayValue ?? []
    }

    /// `GET /api/stats` (an admin key): per queue and type, jobs waiting, running and finished in the last
    /// hour; wait and run time percentiles; workers by status.
    public func stats() async throws -> JSONValue {
        try await call("GET", "/api/stats", json: nil)
    }

    /// Pauses or resumes a worker (an admin key).
    public func setWorker(_ workerId: String, paused: Bool) async throws -> JSONValue {
        try await call("POST", "/api/workers/\(workerId)/\(paused ? "pause" : "resume")", json: nil)
    }

    /// Every API key (never their secrets).
    public func keys() async throws -> [JSONValue] {
        try await call("GET", "/api/keys", json: nil)["keys"]?.arrayValue ?? []
    }

    /// Creates an API key with a role (`client`, `worker` or `admin`) in a tenant; the answer holds its
    /// `secret`, shown only this once.
    public func createKey(name: String, role: String, tenant: String) async throws -> JSONValue {
        try await call("POST", "/api/keys", json: ["name": .string(name), "role": .string(role), "tenant": .string(tenant)])
    }

    /// Deletes an API key: it stops working at once on the server that deleted it, within 10 s on the others.
    public func deleteKey(_ id: String) async throws {
        _ = try await call("DELETE", "/api/keys/\(id)", json: nil)
    }
}
