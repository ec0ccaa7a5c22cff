import Foundation
import Hummingbird
import OffloadCore
import OffloadStore
import OffloadWorker
import Synchronization

/// The processing types switched off, remembered for a second so a submit costs no extra read.
/// A switch made on this server applies at once; one made on another server within a second.
final class TypeSwitches: Sendable {
    private let store: any JobStore
    private let cached = Mutex<(types: Set<String>, expires: ContinuousClock.Instant)?>(nil)

    init(store: any JobStore) {
        self.store = store
    }

    /// Throws a clear 422 when `processingType` is switched off.
    func requireEnabled(_ processingType: String) async throws {
        let now = ContinuousClock.now
        var disabled = cached.withLock { $0.flatMap { $0.expires > now ? $0.types : nil } }
        if disabled == nil {
            let fresh = try await store.disabledTypes()
            cached.withLock { $0 = (fresh, now + .seconds(1)) }
            disabled = fresh
        }
        if disabled?.contains(processingType) == true {
            throw OffloadError.unprocessable("processing type '\(processingType)' is switched off")
        }
    }

    func forget() {
        cached.withLock { $0 = nil }
    }
}

/// Admin switches: pause and resume queues, switch processing types on and off.
struct QueueRoutes {
    let store: any JobStore
    let processors: ProcessorRegistry
    let switches: TypeSwitches
    let maxBodyBytes: Int

    func register(on group: RouterGroup<OffloadRequestContext>) {
        group.get("/queues") { _, context -> Response in
            _ = try context.require(.admin)
            let paused = try await store.pausedQueues().sorted()
            return HTTPJSON.response(json: ["queues": .array(paused.map { ["queue": .string($0), "paused": true] })])
        }
        group.post("/queues/{name}/pause") { _, context -> Response in
            try await setQueue(context, paused: true)
        }
        group.post("/queues/{name}/resume") { _, context -> Response in
            try await setQueue(context, paused: false)
        }
        group.get("/types") { _, context -> Response in
            _ = try context.require(.admin)
            let disabled = try await store.disabledTypes()
            let types = Set(processors.types).union(disabled).sorted()
            return HTTPJSON.response(json: ["types": .array(types.map {
                ["processingType": .string($0), "enabled": .bool(!disabled.contains($0))]
            })])
        }
        group.put("/types/{type}") { request, context -> Response in
            _ = try context.require(.admin)
            let type = try context.parameters.require("type")
            let body = try await HTTPJSON.value(from: request, limit: maxBodyBytes)
            guard let enabled = body["enabled"]?.boolValue else {
                throw OffloadError.badRequest("the body must be {\"enabled\": true|false}")
            }
            try await store.setType(type, enabled: enabled, at: Date())
            switches.forget()
            return HTTPJSON.response(json: ["processingType": .string(type), "enabled": .bool(enabled)])
        }
    }

    private func setQueue(_ context: OffloadRequestContext, paused: Bool) async throws -> Response {
        _ = try context.require(.admin)
        let queue = try context.parameters.require("name")
        try await store.setQueue(queue, paused: paused, at: Date())
        return HTTPJSON.response(json: ["queue": .string(queue), "paused": .bool(paused)])
    }
}
