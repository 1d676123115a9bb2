// SwiftNIO echo server speaking Keel's default frame (4-byte little-endian
// length, then the payload), written the way NIO's own examples are: the
// stock NIOExtras frame decoder and prepender, TCP_NODELAY, one event loop
// (Keel's compare runs each server on one core).
//
// Usage: NIOEchoServer PORT

import NIOCore
import NIOExtras
import NIOPosix

final class EchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 2, let port = Int(arguments[1]) else {
    print("usage: NIOEchoServer PORT")
    exit(64)
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(
                    LengthFieldBasedFrameDecoder(lengthFieldBitLength: .fourBytes, lengthFieldEndianness: .little)))
            try channel.pipeline.syncOperations.addHandler(
                LengthFieldPrepender(lengthFieldBitLength: .fourBytes, lengthFieldEndianness: .little))
            try channel.pipeline.syncOperations.addHandler(EchoHandler())
        }
    }

let channel = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
print("nio-echo listening on \(channel.localAddress!)")
try channel.closeFuture.wait()
