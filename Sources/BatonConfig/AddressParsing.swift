#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Address syntax shared by `bind`, `server`, `log` and `option forwardfor except`, following
/// HAProxy's `str2sa_range()` (tools.c) and its messages.
enum AddressParsing {
    static func ipv4Bytes(_ text: String) -> [UInt8]? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    static func ipv6Bytes(_ text: String) -> [UInt8]? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// The family of a numeric address, nil for anything else.
    static func literalFamily(_ text: String) -> AddressFamily? {
        if ipv4Bytes(text) != nil { return .ipv4 }
        if ipv6Bytes(text) != nil { return .ipv6 }
        return nil
    }

    /// Splits `host:port` as HAProxy does: the port follows the last colon unless a closing
    /// bracket comes after it; brackets around the host are removed (`[::1]:80`).
    static func splitHostPort(_ text: String) -> (host: String, port: String?) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return ("", nil) }
        var index = bytes.count - 1
        while index > 0, bytes[index] != UInt8(ascii: "]"), bytes[index] != UInt8(ascii: ":") { index -= 1 }
        var host = text
        var port: String?
        if bytes[index] == UInt8(ascii: ":") {
            host = String(decoding: bytes[..<index], as: UTF8.self)
            port = String(decoding: bytes[(index + 1)...], as: UTF8.self)
        }
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        return (host, port)
    }

    /// Parses the port part of `whole`. Returns the port (nil when absent and not mandatory) or
    /// HAProxy's message. Ranges and offsets are refused.
    static func parsePort(_ port: String?, in whole: String, mandatory: Bool) -> Result<Int?, AddressError> {
        guard let port, !port.isEmpty else {
            return mandatory ? .failure(AddressError("missing port specification in '\(whole)'")) : .success(nil)
        }
        let first = port.first!
        if first == "+" || first == "-" {
            return .failure(AddressError("port offset not permitted here in '\(whole)'"))
        }
        guard first.isASCII, first.isNumber else {
            return .failure(AddressError("invalid character '\(first)' in port number '\(port)' in '\(whole)'"))
        }
        if port.contains("-") {
            return .failure(AddressError("port range not permitted here in '\(whole)'"))
        }
        if let bad = port.first(where: { !($0.isASCII && $0.isNumber) }) {
            return .failure(AddressError("invalid character '\(bad)' in port number '\(port)' in '\(whole)'"))
        }
        guard let value = Int(port), value >= (mandatory ? 1 : 0), value <= 65535 else {
            return .failure(AddressError("invalid port '\(port)'"))
        }
        return .success(value)
    }

    /// `addr[/mask]` for IPv4 (mask as a length or dotted) or `addr[/len]` for IPv6, with the
    /// host bits cleared, as `option forwardfor except` takes it.
    static func network(_ text: String) -> IPNetwork? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if let v4 = ipv4Bytes(parts[0]) {
            var length = 32
            if parts.count == 2 {
                if let n = Parse.integer(parts[1]), n <= 32 {
                    length = n
                } else if let mask = ipv4Bytes(parts[1]), let n = prefixLength(ofMask: mask) {
                    length = n
                } else {
                    return nil
                }
            }
            return masked(IPNetwork(address: v4, prefixLength: length))
        }
        if let v6 = ipv6Bytes(parts[0]) {
            var length = 128
            if parts.count == 2 {
                guard let n = Parse.integer(parts[1]), n <= 128 else { return nil }
                length = n
            }
            return masked(IPNetwork(address: v6, prefixLength: length))
        }
        return nil
    }

    private static func prefixLength(ofMask mask: [UInt8]) -> Int? {
        let bits = mask.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let length = bits.nonzeroBitCount
        let expected: UInt32 = length == 0 ? 0 : ~UInt32(0) << (32 - length)
        return bits == expected ? length : nil
    }

    private static func masked(_ network: IPNetwork) -> IPNetwork {
        var result = network
        var remaining = network.prefixLength
        for index in result.address.indices {
            let bits = min(8, max(0, remaining))
            let mask: UInt8 = bits == 8 ? 0xff : ~(0xff >> UInt8(bits))
            result.address[index] &= bits == 0 ? 0 : mask
            remaining -= 8
        }
        return result
    }
}

/// An address that does not parse, with HAProxy's wording.
struct AddressError: Error, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
}

extension HostResolver {
    /// Resolves with `getaddrinfo`, preferring an IPv4 address; numeric addresses are returned
    /// unchanged.
    public static let system = HostResolver { host in
        if AddressParsing.literalFamily(host) != nil { return host }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        var v4: String?
        var v6: String?
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count),
                           nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if current.pointee.ai_family == AF_INET, v4 == nil { v4 = text }
                if current.pointee.ai_family == AF_INET6, v6 == nil { v6 = text }
            }
            node = current.pointee.ai_next
        }
        return v4 ?? v6
    }

    /// Accepts numeric addresses only; every name fails to resolve.
    public static let numericOnly = HostResolver { host in
        AddressParsing.literalFamily(host) != nil ? host : nil
    }
}
