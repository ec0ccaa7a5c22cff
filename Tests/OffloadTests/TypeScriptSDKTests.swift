import Foundation
import Testing

/// The TypeScript SDK (`clients/typescript`): compiled with Debian's tsc, its `node --test` suite run against
/// the `offload` binary built beside this test bundle, and the Next.js example type-checked against it.
@Suite("TypeScript SDK", .serialized)
struct TypeScriptSDKTests {
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("clients/typescript").path
    static let example = URL(fileURLWithPath: package).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/nextjs").path

    /// Links Debian's React into node_modules and compiles `src/` to `dist/`.
    private static func build() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/tsc"), "tsc is not installed (.ci/run installs node-typescript)")
        let (linked, linkOutput) = try await runProgram("/bin/sh", ["scripts/debian-modules.sh"], directory: package)
        try #require(linked == 0, "\(linkOutput)")
        let (status, output) = try await runProgram("/usr/bin/tsc", ["-p", "."], directory: package)
        try #require(status == 0, "tsc: \(output)")
    }

    @Test("tsc compiles the SDK to ES modules with declarations, and its node --test suite passes against offload serve")
    func suite() async throws {
        try await Self.build()
        for file in ["index.js", "index.d.ts", "react.js", "react.d.ts"] {
            #expect(FileManager.default.fileExists(atPath: "\(Self.package)/dist/\(file)"), "dist/\(file)")
        }
        let tests = try FileManager.default.contentsOfDirectory(atPath: "\(Self.package)/test")
            .filter { $0.hasSuffix(".test.mjs") }.sorted().map { "test/\($0)" }
        #expect(tests.count >= 6, "\(tests)")
        let (status, output) = try await runProgram("/usr/bin/env", ["node", "--test"] + tests, environment: [
            "OFFLOAD_BIN": OffloadProcess.binary, "NODE_PATH": "/usr/share/nodejs",
        ], directory: Self.package)
        #expect(status == 0, "\(output.suffix(12_000))")
        #expect(output.contains("# fail 0") && !output.contains("# pass 0"), "\(output.suffix(2_000))")
    }

    @Test("examples/nextjs type-checks against the SDK")
    func example() async throws {
        try await Self.build()
        let (status, output) = try await runProgram("/usr/bin/tsc", ["-p", ".", "--noEmit"], directory: Self.example)
        #expect(status == 0, "tsc examples/nextjs: \(output)")
    }
}
