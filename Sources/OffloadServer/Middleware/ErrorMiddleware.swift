import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OffloadCore

/// Answers every error a handler throws with the API's error body and its status, where the metrics
/// middleware (outside it) sees the status: an `HTTPResponseError` (every `OffloadError`) answers itself,
/// Hummingbird's own `HTTPError` (an unknown route, a body too large) gets the API's body, and an unknown
/// error becomes a 500 with no detail (the detail goes to the log).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
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
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            return Self.body(status: .internalServerError, code: "internal", message: "internal error")
        }
    }

    static func body(status: HTTPResponse.Status, code: String, message: String) -> Response {
        HTTPJSON.response(json: ["error": ["code": .string(code), "message": .string(message)]], status: status)
    }
}
