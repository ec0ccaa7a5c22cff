import Foundation
import Hummingbird
import NIOCore
import OffloadCore

/// Who is calling: resolved from an API key or a JWT by `AuthMiddleware`.
public struct Identity: Sendable, Equatable {
    public var keyId: String
    public var role: Role
    public var tenant: String
    /// Set on stream tokens: the one job this identity may read.
    public var jobScope: String?

    /// The tenant filter for reads: admins see every tenant.
    var tenantFilter: String? { role == .admin ? nil : tenant }
}

/// The request context of every Offload route.
public struct OffloadRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    /// The connection the request came on: a long poll watches it to stop waiting when its client is gone.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
        channel = source.channel
    }

    /// The caller, or 401 when the route was reached without credentials.
    func requireIdentity() throws -> Identity {
        guard let identity else { throw OffloadError.unauthorized("authentication required") }
        return identity
    }

    /// The caller, if one of `roles` and not limited to a single job.
    func require(_ roles: Role...) throws -> Identity {
        let identity = try requireIdentity()
        guard identity.jobScope == nil else {
            throw OffloadError.forbidden("a stream token can only read its own job")
        }
        guard roles.contains(identity.role) || identity.role == .admin else {
            throw OffloadError.forbidden("this needs the \(roles.map(\.rawValue).joined(separator: " or ")) role")
        }
        return identity
    }

    /// The caller, allowed to read `jobId` (any client or admin of its tenant, or a stream token for it).
    func requireReader(of jobId: String) throws -> Identity {
        let identity = try requireIdentity()
        if let scope = identity.jobScope {
            guard scope == jobId else { throw OffloadError.notFound("no job \(jobId)") }
            return identity
        }
        guard identity.role == .client || identity.role == .admin else {
            throw OffloadError.forbidden("this needs the client role")
        }
        return identity
    }
}

extension OffloadRequestContext {
    /// A path parameter, percent-decoded: `/api/types/a%20b` names the type `a b` (the router leaves it encoded).
    func path(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        guard let decoded = raw.removingPercentEncoding else {
            throw OffloadError.badRequest("the path parameter \(name) is not valid percent-encoded UTF-8")
        }
        return decoded
    }
}
