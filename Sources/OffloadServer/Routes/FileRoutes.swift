import Crypto
import Foundation
import Hummingbird
import NIOCore
import OffloadCore
import OffloadProcessing
import OffloadStore

/// Bundles for shell jobs: a client uploads a ZIP (checked for paths that would land outside the job's
/// directory before it is stored), workers download it by id.
struct FileRoutes {
    let store: any JobStore
    let maxBytes: Int
    let ids = IDGenerator()

    func register(on group: RouterGroup<OffloadRequestContext>) {
        group.post("/files", use: upload)
        group.get("/files/{id}", use: download)
    }

    /// `POST /api/files`.
    @Sendable func upload(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let identity = try context.require(.client)
        if let type = request.headers[.contentType], !type.hasPrefix("application/zip"),
            !type.hasPrefix("application/octet-stream")
        {
            throw OffloadError.badRequest("upload the bundle as the raw body with Content-Type: application/zip")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes {
            throw OffloadError.payloadTooLarge("a bundle may be at most \(maxBytes) bytes")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            throw OffloadError.payloadTooLarge("a bundle may be at most \(maxBytes) bytes")
        }
        let bytes = Array(buffer.readableBytesView)
        guard !bytes.isEmpty else { throw OffloadError.badRequest("the request needs the ZIP bundle as its body") }
        try BundleArchive.validate(bytes)
        let file = StoredFile(
            fileId: ids.make(prefix: "file_"), tenant: identity.tenant, size: bytes.count,
            sha256: Hex.encode(SHA256.hash(data: bytes)), content: bytes, createdAt: Date())
        try await store.saveFile(file)
        return HTTPJSON.response(
            json: ["fileId": .string(file.fileId), "size": .int(Int64(file.size)), "sha256": .string(file.sha256)],
            status: .created)
    }

    /// `GET /api/files/{id}`.
    @Sendable func download(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard identity.jobScope == nil else { throw OffloadError.forbidden("a stream token can only read its own job") }
        let id = try context.path("id")
        // Workers run every tenant's jobs; a client reads its own tenant's bundles.
        let tenant = identity.role == .client ? identity.tenant : nil
        guard let file = try await store.file(id: id, tenant: tenant) else { throw OffloadError.notFound("no file \(id)") }
        return Response(
            status: .ok,
            headers: [.contentType: "application/zip", .init("X-Content-SHA256")!: file.sha256],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.content)))
    }
}
