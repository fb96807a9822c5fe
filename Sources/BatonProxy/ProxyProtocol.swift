import BatonConfig
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// The PROXY protocol (haproxy's doc/proxy-protocol.txt), versions 1 and 2: the header a
/// `server ... send-proxy[-v2]` connection starts with, and the one a `bind ... accept-proxy`
/// listener reads before anything else.
enum ProxyProtocol {
    /// The addresses a header carries: source (the client) and destination (where it
    /// connected), as raw bytes (4 or 16) with ports. nil means unknown (`UNKNOWN`, `LOCAL`).
    struct Endpoints: Equatable {
        var source: [UInt8]
        var sourcePort: Int
        var destination: [UInt8]
        var destinationPort: Int
    }

    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    // MARK: Writing

    /// The endpoints of a client connection, when both addresses are IP addresses. A mix of
    /// IPv4 and IPv6 is sent as IPv6, the IPv4 one mapped (::ffff:a.b.c.d).
    static func endpoints(of connection: ClientConnection) -> Endpoints? {
        guard var source = connection.clientAddressBytes, var destination = connection.localAddressBytes else {
            return nil
        }
        if source.count != destination.count {
            source = mappedToIPv6(source)
            destination = mappedToIPv6(destination)
        }
        return Endpoints(source: source, sourcePort: connection.clientPort,
                         destination: destination, destinationPort: connection.localPort)
    }

    static func mappedToIPv6(_ bytes: [UInt8]) -> [UInt8] {
        bytes.count == 4 ? [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + bytes : bytes
    }

    static func header(_ version: ProxyProtocolVersion, for endpoints: Endpoints?) -> [UInt8] {
        switch version {
        case .v1: return v1Header(endpoints)
        case .v2: return v2Header(endpoints)
        }
    }

    /// `PROXY TCP4 1.2.3.4 5.6.7.8 1234 80\r\n`, or `PROXY UNKNOWN\r\n`.
    static func v1Header(_ endpoints: Endpoints?) -> [UInt8] {
        guard let endpoints else { return Array("PROXY UNKNOWN\r\n".utf8) }
        let family = endpoints.source.count == 4 ? "TCP4" : "TCP6"
        let line = "PROXY \(family) \(text(of: endpoints.source)) \(text(of: endpoints.destination)) "
            + "\(endpoints.sourcePort) \(endpoints.destinationPort)\r\n"
        return Array(line.utf8)
    }

    /// The binary header: signature, version 2 with command PROXY, the family, and the
    /// addresses; AF_UNSPEC with no addresses when they are unknown.
    static func v2Header(_ endpoints: Endpoints?) -> [UInt8] {
        var bytes = v2Signature
        bytes.append(0x21)
        guard let endpoints else {
            bytes += [0x00, 0x00, 0x00]
            return bytes
        }
        let ipv4 = endpoints.source.count == 4
        bytes.append(ipv4 ? 0x11 : 0x21)
        let length = ipv4 ? 12 : 36
        bytes += [UInt8(length >> 8), UInt8(length & 0xff)]
        bytes += endpoints.source + endpoints.destination
        bytes += [UInt8(endpoints.sourcePort >> 8), UInt8(endpoints.sourcePort & 0xff)]
        bytes += [UInt8(endpoints.destinationPort >> 8), UInt8(endpoints.destinationPort & 0xff)]
        return bytes
    }

    /// The text form of 4 or 16 address bytes.
    static func text(of bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        let address = bytes.withUnsafeBytes { raw -> SocketAddress? in
            var storage = in6_addr()
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) }
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_addr = storage
            return SocketAddress(sin6, host: "")
        }
        return address?.ipAddress ?? "::"
    }

    // MARK: Reading

    enum ParseError: Error, Equatable {
        case invalid
    }

    enum ParseResult: Equatable {
        /// More bytes are needed.
        case incomplete
        /// The header took `length` bytes; nil endpoints for UNKNOWN or LOCAL.
        case header(Endpoints?, length: Int)
    }

    /// Reads a v1 or v2 header at the start of `bytes`.
    static func parse(_ bytes: [UInt8]) throws(ParseError) -> ParseResult {
        guard let first = bytes.first else { return .incomplete }
        if first == 0x0D { return try parseV2(bytes) }
        if first == UInt8(ascii: "P") { return try parseV1(bytes) }
        throw .invalid
    }

    /// At most 107 bytes, CRLF included.
    static func parseV1(_ bytes: [UInt8]) throws(ParseError) -> ParseResult {
        let prefix = Array("PROXY ".utf8)
        guard bytes.starts(with: prefix.prefix(bytes.count)) else { throw .invalid }
        guard let lf = bytes.prefix(107).firstIndex(of: 0x0A) else {
            if bytes.count >= 107 { throw .invalid }
            return .incomplete
        }
        guard lf > 0, bytes[lf - 1] == 0x0D, let line = String(validating: bytes[..<(lf - 1)], as: UTF8.self) else {
            throw .invalid
        }
        let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard words.count >= 2, words[0] == "PROXY" else { throw .invalid }
        if words[1] == "UNKNOWN" { return .header(nil, length: lf + 1) }
        guard words.count == 6, words[1] == "TCP4" || words[1] == "TCP6",
              let source = addressBytes(words[2], ipv4: words[1] == "TCP4"),
              let destination = addressBytes(words[3], ipv4: words[1] == "TCP4"),
              let sourcePort = port(words[4]), let destinationPort = port(words[5]) else {
            throw .invalid
        }
        return .header(Endpoints(source: source, sourcePort: sourcePort, destination: destination,
                                 destinationPort: destinationPort), length: lf + 1)
    }

    static func parseV2(_ bytes: [UInt8]) throws(ParseError) -> ParseResult {
        guard bytes.starts(with: v2Signature.prefix(bytes.count)) else { throw .invalid }
        guard bytes.count >= 16 else { return .incomplete }
        let versionCommand = bytes[12]
        guard versionCommand >> 4 == 2 else { throw .invalid }
        let length = Int(bytes[14]) << 8 | Int(bytes[15])
        guard bytes.count >= 16 + length else { return .incomplete }
        let total = 16 + length
        switch versionCommand & 0x0F {
        case 0x0: return .header(nil, length: total)  // LOCAL: the sender's own connection
        case 0x1: break
        default: throw .invalid
        }
        let body = Array(bytes[16..<total])
        switch bytes[13] {
        case 0x11 where body.count >= 12:
            return .header(Endpoints(source: Array(body[0..<4]), sourcePort: Int(body[8]) << 8 | Int(body[9]),
                                     destination: Array(body[4..<8]),
                                     destinationPort: Int(body[10]) << 8 | Int(body[11])), length: total)
        case 0x21 where body.count >= 36:
            return .header(Endpoints(source: Array(body[0..<16]), sourcePort: Int(body[32]) << 8 | Int(body[33]),
                                     destination: Array(body[16..<32]),
                                     destinationPort: Int(body[34]) << 8 | Int(body[35])), length: total)
        case 0x11, 0x21:
            throw .invalid
        default:
            // UNSPEC, Unix sockets and others: the addresses are not usable as IP addresses.
            return .header(nil, length: total)
        }
    }

    private static func port(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text),
              value <= 65535 else { return nil }
        return value
    }

    private static func addressBytes(_ text: String, ipv4: Bool) -> [UInt8]? {
        guard let address = try? SocketAddress(ipAddress: text, port: 0) else { return nil }
        switch address {
        case .v4(let inet) where ipv4:
            return withUnsafeBytes(of: inet.address.sin_addr.s_addr) { Array($0) }
        case .v6(let inet) where !ipv4:
            return withUnsafeBytes(of: inet.address.sin6_addr) { Array($0) }
        default:
            return nil
        }
    }
}

/// `bind ... accept-proxy`: the first handler of an accepted channel. It reads the PROXY
/// header, then puts the session handler in its place with the addresses the header gave and
/// passes on whatever followed the header. A connection without a valid header is closed.
final class ProxyProtocolReceiver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var received: [UInt8] = []
    private var done = false
    private let timer: InactivityTimer
    private let timeout: Duration?
    /// Called once with the connection built from the header; it adds the session handler.
    private let start: (ChannelHandlerContext, ClientConnection) throws -> Void

    init(eventLoop: any EventLoop, timeout: Duration?,
         start: @escaping (ChannelHandlerContext, ClientConnection) throws -> Void) {
        self.timer = InactivityTimer(eventLoop: eventLoop)
        self.timeout = timeout
        self.start = start
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timer.arm(timeout?.timeAmount) { [weak self] in
            guard let self, !self.done else { return }
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else {
            context.fireChannelRead(data)
            return
        }
        var buffer = unwrapInboundIn(data)
        received += buffer.readBytes(length: buffer.readableBytes) ?? []
        let result: ProxyProtocol.ParseResult
        do {
            result = try ProxyProtocol.parse(received)
        } catch {
            done = true
            context.close(promise: nil)
            return
        }
        guard case .header(let endpoints, let length) = result else { return }
        done = true
        timer.cancel()
        let connection: ClientConnection
        if let endpoints {
            connection = ClientConnection(
                client: (ProxyProtocol.text(of: endpoints.source), endpoints.sourcePort, endpoints.source),
                local: (ProxyProtocol.text(of: endpoints.destination), endpoints.destinationPort,
                        endpoints.destination))
        } else {
            // UNKNOWN or LOCAL: the connection's own addresses, as HAProxy does.
            connection = ClientConnection(remote: context.channel.remoteAddress, local: context.channel.localAddress)
        }
        do {
            try start(context, connection)
        } catch {
            context.close(promise: nil)
            return
        }
        let rest = Array(received[length...])
        received = []
        // The session handler now follows this one: what came after the header goes to it.
        if !rest.isEmpty {
            context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: rest)))
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
