import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OffloadCore

/// Reading and writing JSON bodies with the API's limits and error messages.
enum HTTPJSON {
    /// Reads the whole body (413 past `limit`) and decodes it (400 when malformed).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        let data = try await body(of: request, limit: limit)
        guard !data.isEmpty else { throw OffloadError.badRequest("the request needs a JSON body") }
        do {
            return try JSONCoding.decoder.decode(T.self, from: data)
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

    static func body(of request: Request, limit: Int) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw OffloadError.payloadTooLarge("the body is larger than \(limit) bytes")
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
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

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
