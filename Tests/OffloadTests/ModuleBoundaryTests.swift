import Foundation
import Testing

/// The module arrows of DESIGN.md, held by reading every source file's imports: a module may import only the
/// modules of ours listed for it (the compiler would let an undeclared one through when it is built anyway).
@Suite("Module boundaries")
struct ModuleBoundaryTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// Each module of ours and the modules of ours it may import.
    static let allowed: [String: Set<String>] = [
        "OffloadCore": [],
        "OffloadStore": ["OffloadCore"],
        "OffloadProcessing": ["OffloadCore"],
        "OffloadClient": ["OffloadCore"],
        "OffloadWorker": ["OffloadCore", "OffloadProcessing", "OffloadClient"],
        "OffloadServer": ["OffloadCore", "OffloadStore", "OffloadProcessing"],
        "OffloadBench": ["OffloadCore", "OffloadStore", "OffloadProcessing", "OffloadClient", "OffloadWorker", "OffloadServer"],
        "offload": ["OffloadCore", "OffloadStore", "OffloadProcessing", "OffloadClient", "OffloadWorker", "OffloadServer", "OffloadBench"],
    ]

    @Test("every module imports only the modules of ours it may (the server never the worker runtime)")
    func imports() throws {
        let fileManager = FileManager.default
        let modules = try fileManager.contentsOfDirectory(atPath: Self.sources.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(Set(modules) == Set(Self.allowed.keys), "a module without a rule, or a rule without a module: \(modules)")
        let ours = Set(Self.allowed.keys)
        var violations: [String] = []
        for module in modules {
            let root = Self.sources.appendingPathComponent(module)
            let files = fileManager.enumerator(atPath: root.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
            #expect(!files.isEmpty, "\(module) has no sources")
            for file in files {
                let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let words = line.split(separator: " ")
                    guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                        words[..<index].allSatisfy({ $0.hasPrefix("@") || ["public", "internal", "package"].contains($0) })
                    else { continue }
                    let imported = String(words[index + 1])
                    if ours.contains(imported), imported != module, Self.allowed[module]?.contains(imported) != true {
                        violations.append("Sources/\(module)/\(file):\(number + 1) imports \(imported)")
                    }
                }
            }
        }
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
    }
}
