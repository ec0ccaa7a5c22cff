import Foundation
import Hummingbird
import OffloadCore
import OffloadProcessing
import OffloadStore
import Synchronization

/// The processing types switched off, remembered for a second so a submit costs no extra read.
/// A switch made on this server applies at once; one made on another server within a second.
final class TypeSwitches: Sendable {
    private let store: any JobStore
    private let cached = Mutex<(types: [String: TypeFallback], expires: ContinuousClock.Instant)?>(nil)

    init(store: any JobStore) {
        self.store = store
    }

    /// nil while `processingType` is switched on; otherwise what its submits get.
    func fallback(for processingType: String) async throws -> TypeFallback? {
        let now = ContinuousClock.now
        if let fresh = cached.withLock({ $0.flatMap { $0.expires > now ? $0.types : nil } }) {
            return fresh[processingType]
        }
        let disabled = try await store.disabledTypes()
        cached.withLock { $0 = (disabled, now + .seconds(1)) }
        return disabled[processingType]
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
            let types = Set(processors.types).union(disabled.keys).sorted()
            return HTTPJSON.response(json: ["types": .array(types.map { type -> JSONValue in
                var entry: [String: JSONValue] = ["processingType": .string(type), "enabled": .bool(disabled[type] == nil)]
                if let fallback = disabled[type] { entry["fallback"] = .string(fallback.rawValue) }
                return .object(entry)
            })])
        }
        group.put("/types/{type}") { request, context -> Response in
            _ = try context.require(.admin)
            let type = try context.path("type")
            guard Limits.processingType.allows(length: type) else {
                throw OffloadError.unprocessable("a processing type is 1 to 64 characters")
            }
            let body = try await HTTPJSON.object(from: request, limit: maxBodyBytes)
            guard let enabled = body["enabled"]?.boolValue else {
                throw OffloadError.badRequest("the body must be {\"enabled\": true|false, \"fallback\"?: \"refuse\"|\"sync\"}")
            }
            let fallbackText = body["fallback"] ?? .string(TypeFallback.refuse.rawValue)
            guard let fallback = fallbackText.stringValue.flatMap(TypeFallback.init(rawValue:)) else {
                throw OffloadError.badRequest("fallback must be refuse or sync")
            }
            try await store.setType(type, enabled: enabled, fallback: fallback, at: Date())
            switches.forget()
            var answer: [String: JSONValue] = ["processingType": .string(type), "enabled": .bool(enabled)]
            if !enabled { answer["fallback"] = .string(fallback.rawValue) }
            return HTTPJSON.response(json: .object(answer))
        }
    }

    private func setQueue(_ context: OffloadRequestContext, paused: Bool) async throws -> Response {
        _ = try context.require(.admin)
        let queue = try Names.queue(try context.path("name"), field: "the queue name")
        try await store.setQueue(queue, paused: paused, at: Date())
        return HTTPJSON.response(json: ["queue": .string(queue), "paused": .bool(paused)])
    }
}
