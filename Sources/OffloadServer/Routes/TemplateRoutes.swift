import Foundation
import Hummingbird
import OffloadCore
import OffloadProcessing
import OffloadStore

/// Named job templates (admin): type, queue, options and default data that a submit can name.
struct TemplateRoutes {
    let store: any JobStore
    let processors: ProcessorRegistry
    let maxBodyBytes: Int

    func register(on group: RouterGroup<OffloadRequestContext>) {
        group.post("/templates", use: save)
        group.get("/templates", use: list)
        group.delete("/templates/{name}", use: delete)
    }

    /// `POST /api/templates`.
    @Sendable func save(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let body = try await HTTPJSON.object(from: request, limit: maxBodyBytes)
        guard let name = body["name"]?.stringValue, Limits.templateName.allows(length: name) else {
            throw OffloadError.badRequest("a template needs a name of 1 to 100 characters")
        }
        guard let type = body["processingType"]?.stringValue else {
            throw OffloadError.badRequest("a template needs a processingType")
        }
        guard processors[type] != nil else {
            throw OffloadError.unprocessable("unknown processingType '\(type)'")
        }
        if let options = body["options"], options.objectValue == nil {
            throw OffloadError.badRequest("options must be a JSON object")
        }
        var template = body.objectValue ?? [:]
        template.removeValue(forKey: "name")
        try await store.saveTemplate(name: name, body: .object(template), at: Date())
        return HTTPJSON.response(json: .object(template.merging(["name": .string(name)]) { _, new in new }), status: .created)
    }

    /// `GET /api/templates`.
    @Sendable func list(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let all = try await store.templates()
        let list = all.keys.sorted().map { name -> JSONValue in
            .object((all[name]?.objectValue ?? [:]).merging(["name": .string(name)]) { _, new in new })
        }
        return HTTPJSON.page("templates", list, nextCursor: nil)
    }

    /// `DELETE /api/templates/{name}`.
    @Sendable func delete(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let name = try context.path("name")
        guard try await store.deleteTemplate(name: name) else { throw OffloadError.notFound("no template \(name)") }
        return Response(status: .noContent)
    }
}
