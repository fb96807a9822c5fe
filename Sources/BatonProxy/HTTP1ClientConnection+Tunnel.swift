import BatonHTTP1
import NIOCore

/// After a 101 (Switching Protocols) the connection relays raw bytes between the client and
/// the server connection the transaction handed over, under `timeout tunnel`, and logs the
/// transaction when the tunnel ends, with its whole duration, as HAProxy does.
extension HTTP1ClientConnection: UpstreamReceiver {
    func switchToTunnel(_ transaction: HTTPTransaction, upstream: UpstreamConnection) {
        if self.transaction === transaction { self.transaction = nil }
        tunnelTransaction = transaction
        tunnel = upstream
        upstream.mode = .raw
        upstream.receiver = self
        // Bytes that followed the 101 or the request head belong to the new protocol.
        let fromServer = upstream.parser.takeRemainingBytes()
        if fromServer.readableBytes > 0 { write(fromServer) }
        context?.flush()
        let fromClient = parser.takeRemainingBytes()
        if fromClient.readableBytes > 0 { upstream.writeAndFlush(fromClient) }
        let backendTimeouts = transaction.backend?.config.timeouts
        let tunnelTimeout = (backendTimeouts?.tunnel ?? timeouts.tunnel)?.timeAmount
        armClientTimer(backendTimeouts?.tunnel ?? timeouts.tunnel ?? timeouts.client) { [self] in
            self.endTunnel(.init(.timedOut, .client, .data))
        }
        upstream.idleTimer.arm(tunnelTimeout ?? backendTimeouts?.server?.timeAmount) { [self] in
            self.endTunnel(.init(.timedOut, .server, .data))
        }
        resumeClientReadsIfNeeded()
        upstream.resumeReadsIfNeeded()
    }

    /// The client half-closed the tunnel: pass the FIN on and wait for the server to finish,
    /// under `timeout server-fin` when set.
    func tunnelClientClosedInput() {
        guard let tunnel else { return }
        tunnel.closeOutput()
        if let fin = tunnelTransaction?.backend?.config.timeouts.serverFin {
            tunnel.idleTimer.arm(fin.timeAmount) { [self] in self.endTunnel(.init(.timedOut, .server, .data)) }
        }
        if tunnelServerClosed { endTunnel(nil) }
    }

    /// Closes both sides of the tunnel and writes its log line, once.
    func endTunnel(_ error: TransactionError?) {
        if let upstream = tunnel {
            tunnel = nil
            upstream.idleTimer.cancel()
            upstream.close()
        }
        if let transaction = tunnelTransaction {
            tunnelTransaction = nil
            transaction.tunnelEnded(error)
        }
        closeClientAfterFlush()
    }

    // MARK: - UpstreamReceiver, for the tunnel's server connection

    func upstream(_ connection: UpstreamConnection, received event: HTTPParserEvent<HTTPResponseHead>) {}

    func upstream(_ connection: UpstreamConnection, receivedRaw bytes: ByteBuffer) {
        guard tunnel === connection else { return }
        connection.idleTimer.touch()
        write(bytes)
    }

    func upstreamInputClosed(_ connection: UpstreamConnection) {
        guard tunnel === connection else { return }
        tunnelServerClosed = true
        context?.closeAfterPendingWrites(mode: .output)
        // Waiting for the client to finish now: `timeout client-fin` when set.
        if let fin = timeouts.clientFin {
            armClientTimer(fin) { [self] in self.endTunnel(.init(.timedOut, .client, .data)) }
        }
        if clientInputClosed { endTunnel(nil) }
    }

    func upstreamReadComplete(_ connection: UpstreamConnection) {
        context?.flush()
    }

    func upstream(_ connection: UpstreamConnection, failed failure: UpstreamFailure) {
        guard tunnel === connection else { return }
        if failure.isTimeout {
            endTunnel(.init(.timedOut, .server, .data))
        } else {
            endTunnel(tunnelServerClosed ? nil : .init(.aborted, .server, .data))
        }
    }

    func upstreamWritabilityChanged(_ connection: UpstreamConnection) {
        resumeClientReadsIfNeeded()
    }

    var acceptsUpstreamData: Bool { context?.channel.isWritable ?? false }
}
