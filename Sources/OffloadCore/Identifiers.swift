import Foundation

/// Makes ids that sort by creation time: a prefix, 10 base-32 characters of milliseconds, then 16 of randomness.
public struct IDGenerator: Sendable {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")

    public init() {}

    public func make(prefix: String, at date: Date = Date()) -> String {
        var rng = SystemRandomNumberGenerator()
        var chars = [Character]()
        chars.reserveCapacity(26)
        var ms = UInt64(max(0, Timestamps.millis(date)))
        var timePart = [Character](repeating: "0", count: 10)
        for i in stride(from: 9, through: 0, by: -1) {
            timePart[i] = Self.alphabet[Int(ms & 31)]
            ms >>= 5
        }
        chars.append(contentsOf: timePart)
        for _ in 0..<16 {
            chars.append(Self.alphabet[Int(rng.next() & 31)])
        }
        return prefix + String(chars)
    }

    public func jobId(at date: Date = Date()) -> String { make(prefix: "job_", at: date) }

    /// A random secret of `bytes` bytes, hex-encoded.
    public func secret(bytes: Int = 32) -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
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
