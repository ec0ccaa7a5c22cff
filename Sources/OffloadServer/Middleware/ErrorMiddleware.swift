import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OffloadCore

/// Turns every error into the API's error body `{"error": {"code", "message"}}` with its status: the one
/// place where errors meet HTTP. Unknown errors become a 500 with no detail (the detail goes to the log).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as OffloadError {
            return Self.response(for: error)
        } catch let error as HTTPError {
            let code: String
            switch error.status {
            case .notFound: code = "not_found"
            case .methodNotAllowed: code = "method_not_allowed"
            case .contentTooLarge: code = "payload_too_large"
            case .badRequest: code = "bad_request"
            default: code = error.status.code >= 500 ? "internal" : "error"
            }
            return Self.body(status: error.status, code: code, message: error.body ?? error.status.reasonPhrase)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            return Self.body(status: .internalServerError, code: "internal", message: "internal error")
        }
    }

    static func response(for error: OffloadError) -> Response {
        var details: [String: JSONValue] = ["code": .string(error.code), "message": .string(error.message)]
        if case .invalidItems(_, let items) = error { details["items"] = .array(items) }
        var response = HTTPJSON.response(json: ["error": .object(details)], status: status(of: error))
        switch error {
        case .rateLimited(let seconds):
            response.headers[.retryAfter] = "\(seconds)"
        case .unavailable:
            response.headers[.retryAfter] = "1"
        case .unauthorized:
            response.headers[.wwwAuthenticate] = "Bearer"
        default:
            break
        }
        return response
    }

    static func status(of error: OffloadError) -> HTTPResponse.Status {
        switch error {
        case .badRequest: return .badRequest
        case .unauthorized: return .unauthorized
        case .forbidden: return .forbidden
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .payloadTooLarge: return .contentTooLarge
        case .unprocessable, .invalidItems: return .unprocessableContent
        case .rateLimited: return .tooManyRequests
        case .unavailable: return .serviceUnavailable
        }
    }

    static func body(status: HTTPResponse.Status, code: String, message: String) -> Response {
        HTTPJSON.response(json: ["error": ["code": .string(code), "message": .string(message)]], status: status)
    }
}
