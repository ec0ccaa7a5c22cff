/// Every error Offload shows to a caller; the server maps each case to one HTTP status, in one place.
public enum OffloadError: Error, Sendable, Equatable {
    case badRequest(String)
    case unauthorized(String)
    case forbidden(String)
    case notFound(String)
    case conflict(String)
    case payloadTooLarge(String)
    case unprocessable(String)
    /// Some items of a batch are invalid: each item is `{"index", "code", "message"}`.
    case invalidItems(String, [JSONValue])
    case rateLimited(retryAfterSeconds: Int)
    case unavailable(String)

    /// A stable machine-readable code for the error body.
    public var code: String {
        switch self {
        case .badRequest: return "bad_request"
        case .unauthorized: return "unauthorized"
        case .forbidden: return "forbidden"
        case .notFound: return "not_found"
        case .conflict: return "conflict"
        case .payloadTooLarge: return "payload_too_large"
        case .unprocessable, .invalidItems: return "unprocessable"
        case .rateLimited: return "rate_limited"
        case .unavailable: return "unavailable"
        }
    }

    /// The error a `code` and `message` stand for (as an error body or a sync's report outcome carries them);
    /// an unknown code is `unavailable`.
    public init(code: String, message: String) {
        switch code {
        case "bad_request": self = .badRequest(message)
        case "unauthorized": self = .unauthorized(message)
        case "forbidden": self = .forbidden(message)
        case "not_found": self = .notFound(message)
        case "conflict": self = .conflict(message)
        case "payload_too_large": self = .payloadTooLarge(message)
        case "unprocessable": self = .unprocessable(message)
        case "rate_limited": self = .rateLimited(retryAfterSeconds: 1)
        default: self = .unavailable(message)
        }
    }

    /// A message safe to show: never a secret, a stack trace or SQL.
    public var message: String {
        switch self {
        case .badRequest(let m), .unauthorized(let m), .forbidden(let m), .notFound(let m), .conflict(let m),
            .payloadTooLarge(let m), .unprocessable(let m), .unavailable(let m), .invalidItems(let m, _):
            return m
        case .rateLimited(let seconds):
            return "rate limit exceeded, retry in \(seconds) s"
        }
    }
}
