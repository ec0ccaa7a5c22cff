import Foundation
import JWTKit
import OffloadCore
import Synchronization

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
    private let verified = VerifiedTokens()

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
        if let identity = verified.identity(of: token, at: Date()) { return identity }
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch {
            throw OffloadError.unauthorized("invalid or expired token")
        }
        guard let role = Role(rawValue: claims.role) else { throw OffloadError.unauthorized("invalid token") }
        let identity = Identity(keyId: claims.sub.value, role: role, tenant: claims.tenant, jobScope: claims.job)
        verified.remember(token, identity, until: claims.exp.value)
        return identity
    }
}

/// Tokens whose signature was checked, until they expire: an agent shows the same token on every sync, and
/// checking it again (an actor hop, HMAC, JSON decoding of the claims) was paid on each request.
final class VerifiedTokens: Sendable {
    private let entries = Mutex<[String: (Identity, Date)]>([:])
    /// Forgets them all beyond this many (tokens live an hour; a server sees a few per client).
    private let capacity = 4_096

    func identity(of token: String, at now: Date) -> Identity? {
        entries.withLock { entries in
            guard let (identity, expires) = entries[token] else { return nil }
            guard now < expires else {
                entries[token] = nil
                return nil
            }
            return identity
        }
    }

    func remember(_ token: String, _ identity: Identity, until expires: Date) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll() }
            entries[token] = (identity, expires)
        }
    }
}
