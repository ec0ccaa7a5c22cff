import Foundation
import JWTKit
import OffloadCore

/// The claims of Offload's HS256 JWTs.
struct AccessClaims: JWTPayload {
    var sub: SubjectClaim
    var exp: ExpirationClaim
    var role: String
    var tenant: String
    /// Present on stream tokens: the only job the token reads.
    var job: String?

    func verify(using algorithm: some JWTAlgorithm) throws {
        try exp.verifyNotExpired()
    }
}

/// Signs and verifies the JWTs that API keys are exchanged for.
struct TokenIssuer: Sendable {
    private let keys: JWTKeyCollection

    init(secret: String) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    }

    func issue(for identity: Identity, lifetime: TimeInterval, jobScope: String? = nil) async throws -> String {
        let claims = AccessClaims(
            sub: SubjectClaim(value: identity.keyId),
            exp: ExpirationClaim(value: Date().addingTimeInterval(lifetime)),
            role: identity.role.rawValue,
            tenant: identity.tenant,
            job: jobScope)
        return try await keys.sign(claims)
    }

    /// The identity a valid, unexpired token carries; 401 otherwise.
    func verify(_ token: String) async throws -> Identity {
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch {
            throw OffloadError.unauthorized("invalid or expired token")
        }
        guard let role = Role(rawValue: claims.role) else { throw OffloadError.unauthorized("invalid token") }
        return Identity(keyId: claims.sub.value, role: role, tenant: claims.tenant, jobScope: claims.job)
    }
}
