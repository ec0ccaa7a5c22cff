import Foundation
import Hummingbird
import OffloadCore
import OffloadStore

/// Admin management of API keys: create (the secret shown once), list, delete.
struct KeyRoutes {
    let store: any JobStore
    let keyCache: KeyCache
    let maxBodyBytes: Int

    struct CreateKey: Decodable {
        var name: String
        var role: Role
        var tenant: String?
    }

    struct KeyList: Encodable {
        var keys: [APIKeyInfo]
        var nextCursor: String?
    }

    func register(on group: RouterGroup<OffloadRequestContext>) {
        group.post("/keys", use: create)
        group.get("/keys", use: list)
        group.delete("/keys/{id}", use: delete)
    }

    /// `POST /api/keys`.
    @Sendable func create(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let body = try await HTTPJSON.decode(CreateKey.self, from: request, limit: maxBodyBytes)
        let tenant = body.tenant ?? "default"
        guard Limits.keyName.allows(length: body.name) else {
            throw OffloadError.unprocessable("name must be 1 to 200 characters")
        }
        guard Limits.tenant.allows(length: tenant) else {
            throw OffloadError.unprocessable("tenant must be 1 to 200 characters")
        }
        let secret = KeySecrets.make()
        let key = StoredKey(
            id: IDGenerator().make(prefix: "key_"), name: body.name, role: body.role, tenant: tenant,
            secretHash: KeySecrets.hash(secret), createdAt: Date())
        try await store.createKey(key)
        var info = key.info
        info.secret = secret
        return try HTTPJSON.response(info, status: .created)
    }

    /// `GET /api/keys`.
    @Sendable func list(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        return try HTTPJSON.response(KeyList(keys: try await store.keys().map(\.info), nextCursor: nil))
    }

    /// `DELETE /api/keys/{id}`.
    @Sendable func delete(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let identity = try context.require(.admin)
        let id = try context.path("id")
        guard id != identity.keyId else {
            throw OffloadError.conflict("a key cannot delete itself")
        }
        guard try await store.deleteKey(id: id) else { throw OffloadError.notFound("no key \(id)") }
        keyCache.removeAll()
        return Response(status: .noContent)
    }
}
