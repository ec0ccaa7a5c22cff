import Foundation
import ZIPFoundation

/// One entry of a ZIP made by a test.
struct ZipEntry {
    var path: String
    var content: String = ""
    var isLink = false
    var isDirectory = false
}

/// A ZIP archive in memory, built entry by entry (paths as given, so a test can write `../evil`).
func makeZip(_ entries: [ZipEntry]) throws -> [UInt8] {
    let archive = try Archive(data: Data(), accessMode: .create)
    for entry in entries {
        let bytes = Data(entry.content.utf8)
        let type: Entry.EntryType = entry.isLink ? .symlink : entry.isDirectory ? .directory : .file
        try archive.addEntry(
            with: entry.path, type: type, uncompressedSize: Int64(bytes.count),
            permissions: entry.path.hasSuffix(".sh") ? 0o755 : nil,
            provider: { position, size in bytes.subdata(in: Int(position)..<Int(position) + size) })
    }
    guard let data = archive.data else { throw TestFailure("the archive has no data") }
    return Array(data)
}
