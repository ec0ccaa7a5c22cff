import Foundation

/// Makes ids that sort by creation time: a prefix, 10 base-32 characters of milliseconds, then 16 of randomness.
public struct IDGenerator: Sendable {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    public init() {}

    public func make(prefix: String, at date: Date = Date()) -> String {
        var rng = SystemRandomNumberGenerator()
        var chars = [UInt8](repeating: 0, count: 26)
        var ms = UInt64(max(0, Timestamps.millis(date)))
        for i in stride(from: 9, through: 0, by: -1) {
            chars[i] = Self.alphabet[Int(ms & 31)]
            ms >>= 5
        }
        // 16 random characters of 5 bits each: 80 bits from two draws.
        var random = rng.next()
        for i in 10..<26 {
            if i == 22 { random = rng.next() }
            chars[i] = Self.alphabet[Int(random & 31)]
            random >>= 5
        }
        return prefix + String(decoding: chars, as: UTF8.self)
    }

    public func jobId(at date: Date = Date()) -> String { make(prefix: "job_", at: date) }

    /// `count` job ids made at `date` that sort in the order they are handed out (a batch stays FIFO).
    public func jobIds(_ count: Int, at date: Date = Date()) -> [String] {
        (0..<count).map { _ in jobId(at: date) }.sorted()
    }

    /// A random secret of `bytes` bytes, hex-encoded.
    public func secret(bytes: Int = 32) -> String {
        var rng = SystemRandomNumberGenerator()
        return Hex.encode((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }
}

/// Where the current time comes from; tests pass a fixed or stepped one.
public protocol TimeSource: Sendable {
    func now() -> Date
}

/// The wall clock.
public struct SystemTimeSource: TimeSource {
    public init() {}
    public func now() -> Date { Date() }
}

/// Lower-case hexadecimal text of bytes.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Names users choose (queues, schedules, labels) hold ASCII letters, digits and a few marks, so they read
/// the same in a URL, a log line and a stored label term.
public enum Names {
    public static func isPlain(_ text: String, marks: String = "-_.") -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || marks.unicodeScalars.contains(scalar))
        }
    }

    /// A queue name, checked (`field` names it in the error).
    public static func queue(_ text: String, field: String) throws -> String {
        guard Limits.queueName.allows(length: text), isPlain(text) else {
            throw OffloadError.unprocessable("\(field) must be 1 to 64 ASCII letters, digits, '-', '_' and '.'")
        }
        return text
    }
}

/// The release this build is: `offload --version` prints it (with the git commit), and the OpenAPI
/// document's `info.version` is held equal to it by a test.
public enum Release {
    public static let version = "1.0.0"
}
