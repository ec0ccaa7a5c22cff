import Foundation

/// What a key may do: clients submit and read their tenant's jobs, workers lease and report, admins do all.
public enum Role: String, Codable, Sendable, CaseIterable {
    case client, worker, admin
}

/// An API key as the API shows it (never with its secret, except once at creation).
public struct APIKeyInfo: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var role: Role
    public var tenant: String
    public var createdAt: Date
    public var secret: String?

    public init(id: String, name: String, role: Role, tenant: String, createdAt: Date, secret: String? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.tenant = tenant
        self.createdAt = createdAt
        self.secret = secret
    }
}
