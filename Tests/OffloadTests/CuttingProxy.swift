import NIOCore
import NIOPosix

/// A loopback TCP proxy in front of a server that a test can use to cut every open connection at once, as
/// a network drop would.
final class CuttingProxy: Sendable {
    private let channel: any Channel
    private let open = Locked<[ObjectIdentifier: any Channel]>([:])
    private let acceptedCount = Locked(0)
    let port: Int

    /// Connections accepted so far (also those whose upstream refused them).
    var accepted: Int { acceptedCount.withLock { $0 } }

    init(targetPort: Int) async throws {
        let open = self.open
        let acceptedCount = self.acceptedCount
        let group = MultiThreadedEventLoopGroup.singleton
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                acceptedCount.withLock { $0 += 1 }
                return inbound.setOption(.autoRead, value: false).flatMap {
                    ClientBootstrap(group: inbound.eventLoop).connect(host: "127.0.0.1", port: targetPort)
                }.flatMap { outbound in
                    open.withLock {
                        $0[ObjectIdentifier(inbound)] = inbound
                        $0[ObjectIdentifier(outbound)] = outbound
                    }
                    let closeBoth: @Sendable (any Channel) -> Void = { channel in
                        open.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
                    }
                    inbound.closeFuture.whenComplete { _ in
                        closeBoth(inbound)
                        outbound.close(promise: nil)
                    }
                    outbound.closeFuture.whenComplete { _ in
                        closeBoth(outbound)
                        inbound.close(promise: nil)
                    }
                    return outbound.pipeline.addHandler(Relay(peer: inbound)).flatMap {
                        inbound.pipeline.addHandler(Relay(peer: outbound))
                    }.flatMap { inbound.setOption(.autoRead, value: true) }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    /// Closes every connection through the proxy; new ones are accepted as before.
    func cutAll() {
        for channel in open.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }

    func close() async throws {
        cutAll()
        try await channel.close()
    }

    /// Writes what one side reads to the other.
    private final class Relay: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let peer: any Channel

        init(peer: any Channel) { self.peer = peer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }
    }
}
