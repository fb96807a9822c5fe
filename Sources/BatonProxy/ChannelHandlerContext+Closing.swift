import NIOCore

extension ChannelHandlerContext {
    /// Closes (all, or only output to send a FIN) once every byte written so far has gone out:
    /// a plain close would drop writes still queued behind backpressure.
    func closeAfterPendingWrites(mode: CloseMode = .all) {
        let promise = eventLoop.makePromise(of: Void.self)
        writeAndFlush(NIOAny(ByteBuffer()), promise: promise)
        let channel = self.channel
        promise.futureResult.whenComplete { _ in
            channel.close(mode: mode, promise: nil)
        }
    }
}
