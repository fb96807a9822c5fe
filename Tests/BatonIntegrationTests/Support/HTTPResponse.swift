import Foundation

/// One HTTP/1.x response as a client received it, parsed strictly (CRLF line endings).
struct HTTPResponse: Sendable, CustomStringConvertible {
    var version: String
    var status: Int
    var reason: String
    /// Header fields in order, names as sent.
    var headers: [(name: String, value: String)]
    /// The body after transfer decoding.
    var body: [UInt8]
    /// The bytes of the whole response as received (head and framed body).
    var raw: [UInt8]
    /// The body was delimited by the connection closing.
    var closeDelimited = false

    var bodyText: String { String(decoding: body, as: UTF8.self) }
    var rawText: String { String(decoding: raw, as: UTF8.self) }

    /// Values of every field named `name` (case-insensitive).
    func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    func header(_ name: String) -> String? { values(name).first }

    var description: String {
        "\(status) \(reason) \(headers.map { "\($0.name): \($0.value)" }) body=\(bodyText.prefix(300).debugDescription)"
    }

    enum ParseResult {
        case incomplete
        case invalid(String)
        case complete(HTTPResponse, consumed: Int)
    }

    static func parse(_ bytes: [UInt8], isHeadResponse: Bool, peerClosed: Bool) -> ParseResult {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: 0) else { return .incomplete }
        let headText = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            return .invalid("status line \(statusLine.debugDescription)")
        }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return .invalid("header line \(line.debugDescription)") }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: [" ", "\t"])
            headers.append((name, value))
        }
        var response = HTTPResponse(version: String(parts[0]), status: status,
                                    reason: parts.count > 2 ? String(parts[2]) : "",
                                    headers: headers, body: [], raw: [])
        let bodyStart = headEnd + 4
        let noBody = isHeadResponse || (100..<200).contains(status) || status == 204 || status == 304
        if noBody {
            response.raw = Array(bytes[0..<bodyStart])
            return .complete(response, consumed: bodyStart)
        }
        let transferEncoding = response.values("transfer-encoding").joined(separator: ",").lowercased()
        if transferEncoding.contains("chunked") {
            var offset = bodyStart
            var body: [UInt8] = []
            while true {
                guard let lineEnd = find([13, 10], in: bytes, from: offset) else { return .incomplete }
                let sizeText = String(decoding: bytes[offset..<lineEnd], as: UTF8.self)
                    .split(separator: ";").first.map { $0.trimmingCharacters(in: [" ", "\t"]) } ?? ""
                guard let size = Int(sizeText, radix: 16) else { return .invalid("chunk size \(sizeText.debugDescription)") }
                offset = lineEnd + 2
                if size == 0 {
                    // Trailers, then an empty line.
                    while true {
                        guard let trailerEnd = find([13, 10], in: bytes, from: offset) else { return .incomplete }
                        let isEmpty = trailerEnd == offset
                        offset = trailerEnd + 2
                        if isEmpty { break }
                    }
                    break
                }
                guard bytes.count >= offset + size + 2 else { return .incomplete }
                body.append(contentsOf: bytes[offset..<(offset + size)])
                guard bytes[offset + size] == 13, bytes[offset + size + 1] == 10 else { return .invalid("chunk not followed by CRLF") }
                offset += size + 2
            }
            response.body = body
            response.raw = Array(bytes[0..<offset])
            return .complete(response, consumed: offset)
        }
        if let lengthText = response.header("content-length") {
            guard let length = Int(lengthText) else { return .invalid("content-length \(lengthText)") }
            guard bytes.count >= bodyStart + length else { return .incomplete }
            response.body = Array(bytes[bodyStart..<(bodyStart + length)])
            response.raw = Array(bytes[0..<(bodyStart + length)])
            return .complete(response, consumed: bodyStart + length)
        }
        // Delimited by the end of the connection.
        guard peerClosed else { return .incomplete }
        response.body = Array(bytes[bodyStart...])
        response.raw = bytes
        response.closeDelimited = true
        return .complete(response, consumed: bytes.count)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0] && Array(haystack[index..<(index + needle.count)]) == needle { return index }
            index += 1
        }
        return nil
    }
}
