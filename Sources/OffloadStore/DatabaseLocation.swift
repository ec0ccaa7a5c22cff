import Foundation
import OffloadCore

/// Where the store lives, from `--database` or `OFFLOAD_DATABASE_URL`: `sqlite:PATH` or `postgres://…`.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// Parses `sqlite:PATH`, `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require]`
    /// (`postgresql://` too); nil gives the embedded default, `<dataDirectory>/offload.sqlite`.
    public init(_ text: String?, dataDirectory: String) throws {
        guard let text, !text.isEmpty else {
            self = .sqlite(path: (dataDirectory as NSString).appendingPathComponent("offload.sqlite"))
            return
        }
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw OffloadError.badRequest("--database sqlite: needs a path") }
            self = .sqlite(path: path)
            return
        }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(url: text))
            return
        }
        throw OffloadError.badRequest("--database must be sqlite:PATH or postgres://USER@HOST:PORT/DB")
    }

    /// The location without its password, for logs.
    public var redacted: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let location): return location.redacted
        }
    }
}

/// A PostgreSQL server and database, parsed from a `postgres://` URL.
public struct PostgresLocation: Sendable, Equatable {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String, tls: TLSMode = .prefer) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    public init(url: String) throws {
        let invalid = OffloadError.badRequest("--database must look like postgres://USER[:PASSWORD]@HOST[:PORT]/DB")
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty,
            let user = components.user, !user.isEmpty
        else { throw invalid }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw invalid }
        var tls = TLSMode.prefer
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value {
            guard let parsed = TLSMode(rawValue: mode) else {
                throw OffloadError.badRequest("sslmode must be disable, prefer or require")
            }
            tls = parsed
        }
        self.init(
            host: host, port: components.port ?? 5432, username: components.user?.removingPercentEncoding ?? user,
            password: components.password?.removingPercentEncoding, database: database, tls: tls)
    }

    /// The URL without its password, for logs.
    public var redacted: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }
}
