import Foundation
import PackagePlugin

/// Writes `BuildInfo.commit`, the short git commit the binary is built from ("unknown" outside a git checkout,
/// with "-dirty" when the tree has changes), for `offload --version`. The file is rewritten only when the
/// commit changes, so an unchanged tree rebuilds nothing.
@main
struct GitCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let directory = context.pluginWorkDirectoryURL.appending(path: "Generated")
        let script = #"""
            mkdir -p "$2"
            commit=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null) || commit=unknown
            if [ "$commit" != unknown ] && [ -n "$(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
                commit="$commit-dirty"
            fi
            text="enum BuildInfo { static let commit = \"$commit\" }"
            [ "$(cat "$2/BuildInfo.swift" 2>/dev/null)" = "$text" ] || printf '%s\n' "$text" > "$2/BuildInfo.swift"
            """#
        return [
            .prebuildCommand(
                displayName: "Reading the git commit",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", context.package.directoryURL.path, directory.path],
                outputFilesDirectory: directory)
        ]
    }
}
