/// The request-target forms of RFC 9112 section 3.2, and how they must agree with the method and the Host field.
///
/// The rules are HAProxy's (2.6, src/h1.c) wherever HAProxy refuses, so that Baton is never more lenient:
/// - no `#` anywhere: a fragment is never sent (HAProxy: "do not accept '#' as part of the URI component");
/// - CONNECT takes the authority-form `host:port`, with a non-empty port; a Host field must name the same host
///   and port, or the same host without a port when the port is 80 or 443;
/// - an absolute-form authority (after `scheme://`, up to the first `/`) must equal the Host field, ignoring
///   case, or differ only by the scheme's default port (`http` 80, `https` 443) or an empty port.
///
/// It is stricter than HAProxy 2.6 where the RFC leaves no choice, as HAProxy 3.0 is (h1.c, "Be stricter on
/// request target validation"): a target that starts with neither `/` nor a scheme (`a/b`, `example.test:80`)
/// is refused whatever Host says, the asterisk-form is for OPTIONS only, and userinfo (`user@`) in an
/// absolute-form authority is refused (RFC 9110 section 4.2.4) rather than ignored.
enum RequestTarget {
    static func validate(
        _ p: UnsafeRawBufferPointer,
        method: Range<Int>,
        target: Range<Int>,
        host: Range<Int>?
    ) throws(HTTPParserError) {
        if ASCII.find(UInt8(ascii: "#"), in: p, from: target.lowerBound, to: target.upperBound) != nil {
            throw .badMessage("fragment in request target")
        }
        if ASCII.equals(p, method, "CONNECT") {
            try Self.validateAuthorityForm(p, target, host: host)
            return
        }
        let first = p[target.lowerBound]
        if first == UInt8(ascii: "/") { return }  // origin-form
        if first == UInt8(ascii: "*") && target.count == 1 {
            guard ASCII.equals(p, method, "OPTIONS") else { throw .badMessage("asterisk-form on a method other than OPTIONS") }
            return
        }
        try Self.validateAbsoluteForm(p, target, host: host)
    }

    /// absolute-form = scheme "://" authority [ path-abempty ] [ "?" query ].
    private static func validateAbsoluteForm(
        _ p: UnsafeRawBufferPointer,
        _ target: Range<Int>,
        host: Range<Int>?
    ) throws(HTTPParserError) {
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        var i = target.lowerBound
        guard Self.isAlpha(p[i]) else { throw .badMessage("request target is neither origin-form nor absolute-form") }
        i += 1
        while i < target.upperBound && Self.isSchemeByte(p[i]) { i += 1 }
        let scheme = target.lowerBound..<i
        guard target.upperBound - i >= 3, p[i] == ASCII.colon, p[i + 1] == UInt8(ascii: "/"), p[i + 2] == UInt8(ascii: "/")
        else {
            throw .badMessage("request target is neither origin-form nor absolute-form")
        }
        let authorityStart = i + 3
        // As HAProxy does, the authority runs to the first "/" (a "?" stays in it, and then cannot match Host).
        let authorityEnd = ASCII.find(UInt8(ascii: "/"), in: p, from: authorityStart, to: target.upperBound) ?? target.upperBound
        let authority = authorityStart..<authorityEnd
        guard !authority.isEmpty else { throw .badMessage("absolute-form without authority") }
        if ASCII.find(UInt8(ascii: "@"), in: p, from: authority.lowerBound, to: authority.upperBound) != nil {
            throw .badMessage("userinfo in request target")
        }
        if let host, !Self.authority(p, authority, matchesHost: host, scheme: scheme) {
            throw .badMessage("absolute-form authority differs from Host")
        }
    }

    /// HAProxy's h1_validate_mismatch_authority, after an exact (case-insensitive) comparison failed.
    private static func authority(
        _ p: UnsafeRawBufferPointer,
        _ authority: Range<Int>,
        matchesHost host: Range<Int>,
        scheme: Range<Int>
    ) -> Bool {
        if ASCII.equalsIgnoringCase(p, authority, host) { return true }
        let uriPort = Self.port(p, authority)
        let hostPort = Self.port(p, host)
        if uriPort == nil && hostPort == nil { return false }
        if let uriPort, !Self.isDefaultPort(p, uriPort, scheme: scheme) { return false }
        if let hostPort, !Self.isDefaultPort(p, hostPort, scheme: scheme) { return false }
        let uriHost = authority.lowerBound..<(uriPort.map { $0.lowerBound - 1 } ?? authority.upperBound)
        let hostHost = host.lowerBound..<(hostPort.map { $0.lowerBound - 1 } ?? host.upperBound)
        return ASCII.equalsIgnoringCase(p, uriHost, hostHost)
    }

    /// authority-form = uri-host ":" port, for CONNECT.
    private static func validateAuthorityForm(
        _ p: UnsafeRawBufferPointer,
        _ target: Range<Int>,
        host: Range<Int>?
    ) throws(HTTPParserError) {
        guard let port = Self.port(p, target), !port.isEmpty, port.lowerBound - 1 > target.lowerBound,
            ASCII.find(UInt8(ascii: "/"), in: p, from: target.lowerBound, to: target.upperBound) == nil,
            ASCII.find(UInt8(ascii: "@"), in: p, from: target.lowerBound, to: target.upperBound) == nil
        else {
            throw .badMessage("CONNECT without an authority-form target")
        }
        guard let host else { return }
        // HAProxy's h1_validate_connect_authority.
        let uriHost = target.lowerBound..<(port.lowerBound - 1)
        let hostPort = Self.port(p, host)
        let hostHost = host.lowerBound..<(hostPort.map { $0.lowerBound - 1 } ?? host.upperBound)
        let matches: Bool
        if let hostPort, !hostPort.isEmpty {
            matches = ASCII.equalsIgnoringCase(p, uriHost, hostHost) && ASCII.equals(p, port, hostPort)
        } else {
            matches = Self.isDefaultPort(p, port, scheme: nil) && ASCII.equalsIgnoringCase(p, uriHost, hostHost)
        }
        guard matches else { throw .badMessage("CONNECT authority differs from Host") }
    }

    /// The digits after the last ":" of an authority or Host value (possibly empty), or nil when it does not end
    /// with ":" and digits (HAProxy's http_get_host_port; "[::1]" has no port, "[::1]:80" has "80").
    private static func port(_ p: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int>? {
        var start = range.upperBound
        while start > range.lowerBound && ASCII.isDigit(p[start - 1]) { start -= 1 }
        guard start > range.lowerBound, p[start - 1] == ASCII.colon else { return nil }
        return start..<range.upperBound
    }

    /// An empty port, or the scheme's default one; without a scheme (CONNECT), 80 and 443 both are.
    private static func isDefaultPort(_ p: UnsafeRawBufferPointer, _ port: Range<Int>, scheme: Range<Int>?) -> Bool {
        if port.isEmpty { return true }
        let is80 = ASCII.equals(p, port, "80")
        let is443 = ASCII.equals(p, port, "443")
        guard let scheme else { return is80 || is443 }
        return (is80 && ASCII.equalsLowercase(p, scheme.lowerBound, scheme.upperBound, "http"))
            || (is443 && ASCII.equalsLowercase(p, scheme.lowerBound, scheme.upperBound, "https"))
    }

    private static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) &- 0x61 < 26 }

    private static func isSchemeByte(_ c: UInt8) -> Bool {
        Self.isAlpha(c) || ASCII.isDigit(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
    }
}

extension ASCII {
    /// Byte equality of a range with an ASCII literal (case-sensitive: methods and ports).
    static func equals(_ p: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let l = literal.utf8Start
        for k in 0..<range.count where p[range.lowerBound + k] != l[k] { return false }
        return true
    }

    static func equals(_ p: UnsafeRawBufferPointer, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        guard a.count == b.count else { return false }
        for k in 0..<a.count where p[a.lowerBound + k] != p[b.lowerBound + k] { return false }
        return true
    }

    /// ASCII case-insensitive equality of two ranges of the same buffer.
    static func equalsIgnoringCase(_ p: UnsafeRawBufferPointer, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        guard a.count == b.count else { return false }
        for k in 0..<a.count where ASCII.lower(p[a.lowerBound + k]) != ASCII.lower(p[b.lowerBound + k]) { return false }
        return true
    }
}
