import NIOCore
import OffloadCore

/// Tells a long-poll handler that its client is gone. The server allows half-closed connections, so a
/// client that dies only closes the input side and the channel stays active until a write fails: this
/// handler sees that input close (or the channel going inactive) at the head of the pipeline.
final class ConnectionWatch: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny

    /// Set once the client closed its side or the connection went away.
    let gone = Latch<Void>()

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { gone.set(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        gone.set(())
        context.fireChannelInactive()
    }

    /// Watches `channel` while `body` runs, when `waits` (a call that answers at once does not need it, and
    /// adding and removing the handler are two trips to the channel's event loop).
    static func watching<T>(_ channel: any Channel, if waits: Bool, _ body: (Latch<Void>) async throws -> T) async throws -> T {
        guard waits else { return try await body(Latch<Void>()) }
        let watch = ConnectionWatch()
        try await channel.pipeline.addHandler(watch, position: .first).get()
        if !channel.isActive { watch.gone.set(()) }
        do {
            let value = try await body(watch.gone)
            try? await channel.pipeline.removeHandler(watch).get()
            return value
        } catch {
            try? await channel.pipeline.removeHandler(watch).get()
            throw error
        }
    }
}
