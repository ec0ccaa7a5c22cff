import Crypto
import Foundation
import OffloadCore

/// API key secrets: random, shown once, stored only as their SHA-256.
enum KeySecrets {
    static func make() -> String { "ok_" + IDGenerator().secret(bytes: 32) }

    static func hash(_ secret: String) -> String {
        Hex.encode(SHA256.hash(data: Data(secret.utf8)))
    }
}
