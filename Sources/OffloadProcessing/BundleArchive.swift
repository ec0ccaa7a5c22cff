import Foundation
import OffloadCore
import ZIPFoundation

/// A shell job's ZIP bundle: checked before it is stored and again before it is unpacked, so that nothing
/// in it lands outside the job's directory (zip-slip): no absolute path, no `..`, no link that points out.
public enum BundleArchive {
    /// At most this many entries and this many bytes unpacked (declared sizes; the CRC check catches lies).
    public static let maxEntries = 20_000
    public static let maxUnpackedBytes: UInt64 = 2 * 1024 * 1024 * 1024

    /// Throws `unprocessable` with a clear message when the bundle is not a ZIP or is unsafe to unpack.
    public static func validate(_ bytes: [UInt8]) throws {
        _ = try checkedEntries(try open(bytes))
    }

    /// Unpacks a validated bundle into `directory` (which must exist and be empty).
    public static func extract(_ bytes: [UInt8], into directory: URL) throws {
        let archive = try open(bytes)
        for entry in try checkedEntries(archive) {
            let target = directory.appendingPathComponent(entry.path)
            do {
                _ = try archive.extract(entry, to: target)
            } catch {
                throw OffloadError.unprocessable("bundle entry '\(entry.path)' could not be unpacked: \(error)")
            }
        }
    }

    private static func open(_ bytes: [UInt8]) throws -> Archive {
        do {
            return try Archive(data: Data(bytes), accessMode: .read)
        } catch {
            throw OffloadError.unprocessable("the bundle is not a ZIP archive")
        }
    }

    private static func checkedEntries(_ archive: Archive) throws -> [Entry] {
        var entries: [Entry] = []
        var unpacked: UInt64 = 0
        for entry in archive {
            entries.append(entry)
            guard entries.count <= maxEntries else {
                throw OffloadError.unprocessable("the bundle has more than \(maxEntries) entries")
            }
            unpacked += entry.uncompressedSize
            guard unpacked <= maxUnpackedBytes else {
                throw OffloadError.unprocessable("the bundle unpacks to more than \(maxUnpackedBytes) bytes")
            }
            let components = try inside(entry.path, from: [], what: "path")
            if entry.type == .symlink {
                var target = Data()
                _ = try? archive.extract(entry, skipCRC32: true) { target.append($0) }
                // A link resolves from the directory that holds it.
                _ = try inside(String(decoding: target, as: UTF8.self), from: Array(components.dropLast()), what: "link '\(entry.path)' points")
            }
        }
        return entries
    }

    /// The normalised components of `path` taken from `base`; throws when it is absolute or climbs out.
    @discardableResult
    private static func inside(_ path: String, from base: [String], what: String) throws -> [String] {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.hasPrefix("\\"), !path.contains("\0"),
            !(path.count >= 2 && path.dropFirst().first == ":")
        else {
            throw OffloadError.unprocessable("bundle \(what) '\(path)': absolute paths are not allowed")
        }
        var components = base
        for part in path.split(whereSeparator: { $0 == "/" || $0 == "\\" }) {
            switch part {
            case ".": continue
            case "..":
                guard !components.isEmpty else {
                    throw OffloadError.unprocessable("bundle \(what) '\(path)' leads outside the bundle ('..')")
                }
                components.removeLast()
            default: components.append(String(part))
            }
        }
        return components
    }
}
