import Foundation
import Hummingbird
import OffloadCore
import OffloadProcessing
import OffloadStore

/// Admin switches: pause and resume queues, switch processing types on and off.
struct QueueRoutes {
    let store: any JobStore
    let processors: ProcessorRegistry
    let switches: TypeSwitches
    let maxBodyBytes: Int

    func register(on group: RouterGroup<OffloadRequestContext>) {
        group.get("/queues", use: queues)
        group.post("/queues/{name}/pause", use: pause)
        group.post("/queues/{name}/resume", use: resume)
        group.get("/types", use: types)
        group.put("/types/{type}", use: setType)
    }

    /// `GET /api/queues`.
    @Sendable func queues(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let paused = try await store.pausedQueues().sorted()
        return HTTPJSON.response(json: ["queues": .array(paused.map { ["queue": .string($0), "paused": true] })])
    }

    /// `POST /api/queues/{name}/pause`.
    @Sendable func pause(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        try await setQueue(context, paused: true)
    }

    /// `POST /api/queues/{name}/resume`.
    @Sendable func resume(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        try await setQueue(context, paused: false)
    }

    /// `GET /api/types`.
    @Sendable func types(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let disabled = try await store.disabledTypes()
        let types = Set(processors.types).union(disabled.keys).sorted()
        return HTTPJSON.response(json: ["types": .array(types.map { type -> JSONValue in
            var entry: [String: JSONValue] = ["processingType": .string(type), "enabled": .bool(disabled[type] == nil)]
            if let fallback = disabled[type] { entry["fallback"] = .string(fallback.rawValue) }
            return .object(entry)
        })])
    }

    /// `PUT /api/types/{type}`.
    @Sendable func setType(_ request: Request, context: OffloadRequestContext) async throws -> Response {
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

    private func setQueue(_ context: OffloadRequestContext, paused: Bool) async throws -> Response {
        _ = try context.require(.admin)
        let queue = try Names.queue(try context.path("name"), field: "the queue name")
        try await store.setQueue(queue, paused: paused, at: Date())
        return HTTPJSON.response(json: ["queue": .string(queue), "paused": .bool(paused)])
    }
}
