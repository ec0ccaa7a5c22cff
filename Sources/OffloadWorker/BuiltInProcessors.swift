import OffloadCore
import OffloadProcessing

extension ProcessorRegistry {
    /// Every built-in processing type, as the server checks submissions: type1, type2, type3, noop, shell,
    /// llm.chat and http. What a worker runs is `offered(_:)`.
    public static var builtIn: ProcessorRegistry {
        ProcessorRegistry(demo + [ShellProcessor(), LLMChatProcessor(endpoint: nil), HTTPCallProcessor(allowedHosts: [])])
    }

    /// The processors every worker offers: the demo types of 000 and noop.
    private static var demo: [any Processor] {
        [ItemProcessor.type1, ItemProcessor.type2, BatchProcessor(), NoopProcessor()]
    }

    /// The built-in processors a worker offers: the demo types and noop always; shell, llm.chat and http only
    /// when configured for them.
    public static func offered(_ options: BuiltInOptions) -> ProcessorRegistry {
        var processors = demo
        if options.allowShell { processors.append(ShellProcessor()) }
        if let llm = options.llm { processors.append(LLMChatProcessor(endpoint: llm)) }
        if !options.httpAllow.isEmpty { processors.append(HTTPCallProcessor(allowedHosts: options.httpAllow)) }
        return ProcessorRegistry(processors)
    }
}

/// How a worker is configured for the built-in processors that need it.
public struct BuiltInOptions: Sendable, Equatable {
    /// Offer `shell`: run the commands of shell jobs on this machine.
    public var allowShell: Bool
    /// Offer `llm.chat` against this endpoint.
    public var llm: LLMChatProcessor.Endpoint?
    /// Offer `http`, calling only these hosts (`host` or `host:port`).
    public var httpAllow: [String]

    public init(allowShell: Bool = false, llm: LLMChatProcessor.Endpoint? = nil, httpAllow: [String] = []) {
        self.allowShell = allowShell
        self.llm = llm
        self.httpAllow = httpAllow
    }
}

extension InProcessWorkers {
    /// A server's own workers on this runtime: the built-in processors `options` allows, in a `WorkerPool`
    /// that leases as soon as a slot is free (its leases join the store's next transaction anyway).
    public static func builtIn(_ options: BuiltInOptions) -> InProcessWorkers {
        let registry = ProcessorRegistry.offered(options)
        return InProcessWorkers(processors: registry) { setup in
            WorkerPool(
                source: setup.source, registry: registry,
                configuration: .init(
                    concurrency: setup.concurrency, shutdownGrace: setup.shutdownGrace,
                    heartbeatInterval: setup.heartbeatInterval, gatherDelay: .zero),
                logger: setup.logger)
        }
    }
}
