import ArgumentParser
import Foundation
import OffloadWorker

/// The flags that switch on the built-in processors needing configuration, shared by `serve` (its
/// in-process workers) and `worker`.
struct ProcessorOptions: ParsableArguments {
    @Flag(help: "Offer the shell processor: run the commands of shell jobs on this machine.") var allowShell = false
    @Option(help: "OpenAI-compatible base URL for llm.chat, e.g. https://api.openai.com/v1 (also OFFLOAD_LLM_BASE_URL; the key only from OFFLOAD_LLM_API_KEY).")
    var llmBaseUrl: String?
    @Option(help: "Default model for llm.chat jobs that name none (also OFFLOAD_LLM_MODEL).") var llmModel: String?
    @Option(help: "A host the http processor may call, HOST or HOST:PORT (repeatable; none: no http processor).")
    var httpAllow: [String] = []

    func builtIns() throws -> BuiltInOptions {
        let environment = ProcessInfo.processInfo.environment
        var options = BuiltInOptions(allowShell: allowShell, httpAllow: httpAllow)
        if let base = (llmBaseUrl ?? environment["OFFLOAD_LLM_BASE_URL"]).flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let url = URL(string: base), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ValidationError("--llm-base-url must be an http(s) URL such as https://api.openai.com/v1")
            }
            options.llm = LLMChatProcessor.Endpoint(
                baseURL: base, apiKey: environment["OFFLOAD_LLM_API_KEY"].flatMap { $0.isEmpty ? nil : $0 },
                defaultModel: llmModel ?? environment["OFFLOAD_LLM_MODEL"])
        }
        return options
    }
}
