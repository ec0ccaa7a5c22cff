import HTTPTypes
import Hummingbird
import OffloadCore

/// Where an `OffloadError` meets HTTP: its status and the API's error body `{"error": {"code", "message"}}`
/// (with a batch's invalid `items`), plus `Retry-After` or `WWW-Authenticate` where they belong. A handler
/// throws it and Hummingbird answers it.
extension OffloadError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch self {
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

    public func response(from request: Request, context: some RequestContext) -> Response {
        var details: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if case .invalidItems(_, let items) = self { details["items"] = .array(items) }
        var response = HTTPJSON.response(json: ["error": .object(details)], status: status)
        switch self {
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
}
