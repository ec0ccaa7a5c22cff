import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OffloadCore

/// Reading and writing JSON bodies with the API's limits and error messages.
enum HTTPJSON {
    /// Reads the whole body (413 past `limit`) and decodes it (400 when malformed).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        let bytes = try await body(of: request, limit: limit)
        do {
            return try JSONCoding.decoder.decode(T.self, from: Data(bytes))
        } catch DecodingError.keyNotFound(let key, let context) {
            throw OffloadError.badRequest("missing field '\(path(context.codingPath + [key]))'")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            throw OffloadError.badRequest("wrong type for field '\(path(context.codingPath))'")
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
            throw OffloadError.badRequest("invalid value for field '\(path(context.codingPath))'")
        } catch {
            throw OffloadError.badRequest("malformed JSON")
        }
    }

    /// Reads the whole body and parses it as a JSON object, as every JSON body of the API is (400 when
    /// malformed or not an object, 413 past `limit`).
    static func object(from request: Request, limit: Int) async throws -> JSONValue {
        let value = try JSONValue.parse(try await body(of: request, limit: limit))
        guard value.objectValue != nil else { throw OffloadError.badRequest("the body must be a JSON object") }
        return value
    }

    /// The whole body, never empty (400), at most `limit` bytes (413).
    private static func body(of request: Request, limit: Int) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw OffloadError.payloadTooLarge("the body is larger than \(limit) bytes")
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            guard buffer.readableBytes > 0 else { throw OffloadError.badRequest("the request needs a JSON body") }
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw OffloadError.payloadTooLarge("the body is larger than \(limit) bytes")
        }
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONCoding.encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A JSON response from a `JSONValue` (the fast path for jobs and events).
    static func response(json: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: json.jsonBytes())))
    }

    /// A page of a listing: `{"<name>": [...], "nextCursor": ...}`.
    static func page(_ name: String, _ items: [JSONValue], nextCursor: String?) -> Response {
        response(json: [name: .array(items), "nextCursor": nextCursor.map(JSONValue.string) ?? .null])
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
