/// One word of a configuration line after quoting, escaping and environment expansion.
struct LexedWord: Sendable, Hashable {
    var text: String
    /// Byte offset in the raw line where the word began (or, for a word left empty by an
    /// undefined variable, where that variable's name is), for HAProxy-style error carets.
    var position: Int

    init(_ text: String, position: Int = 0) {
        self.text = text
        self.position = position
    }
}

/// A lexing failure, already worded as HAProxy words it (message, position and caret).
struct LexError: Error, Sendable, Equatable {
    var message: String
}

/// Values of HAProxy's pseudo-variables `${.FILE}`, `${.LINE}` and `${.SECTION}`.
struct LexerPseudoVariables: Sendable {
    var file: String = ""
    var line: Int = 0
    var section: String = ""
}

/// Splits configuration lines into words with HAProxy's rules (configuration.txt 2.2 and 2.3,
/// and `parse_line()` in HAProxy's tools.c):
/// - words are separated by unquoted, unescaped blanks; `#` outside quotes starts a comment;
/// - single quotes protect everything, double quotes allow escapes and `$` expansion;
/// - backslash escapes `\ `, `\\`, `\#`, `\'`, `\"`, `\t`, `\n`, `\r`, `\xNN` (and `\$` inside
///   double quotes); any other backslash is kept as is;
/// - environment variables (`$NAME`, `${NAME}`, `${NAME-default}`, `"${NAME[*]}"`) are expanded
///   only inside double quotes, as HAProxy does; an undefined variable expands to nothing.
enum Lexer {
    static func split(_ text: String, environment: [String: String],
                      pseudo: LexerPseudoVariables = LexerPseudoVariables()) throws(LexError) -> [LexedWord] {
        try split(Array(text.utf8), environment: environment, pseudo: pseudo)
    }

    static func split(_ bytes: [UInt8], environment: [String: String],
                      pseudo: LexerPseudoVariables = LexerPseudoVariables()) throws(LexError) -> [LexedWord] {
        var state = LexerState(bytes: bytes, environment: environment, pseudo: pseudo)
        try state.run()
        return state.words
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
    static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// HAProxy's error layout: `what at position N:\n  LINE\n  ^` where N counts from 1 in the
    /// raw line and the caret sits under the offending byte of the line shown without its
    /// leading blanks (non-printable bytes shown as '?').
    static func caretMessage(_ what: String, bytes: [UInt8], errorAt offset: Int) -> String {
        var start = 0
        while start < bytes.count, isSpace(bytes[start]) { start += 1 }
        var end = bytes.count
        while end > start, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        let shown = bytes[start..<end].map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: "?") : $0 }
        let caretColumn = max(0, offset - start)
        let line = String(decoding: shown, as: UTF8.self)
        return "\(what) at position \(offset + 1):\n  \(line)\n  \(String(repeating: " ", count: caretColumn))^"
    }
}

/// The state machine of `Lexer`, a port of HAProxy's `parse_line()`.
private struct LexerState {
    let bytes: [UInt8]
    let environment: [String: String]
    let pseudo: LexerPseudoVariables
    var words: [LexedWord] = []

    private var i = 0
    private var out: [UInt8] = []
    private var inArg = false
    private var prevInArg = false
    private var emptyQuote = false
    private var squote = false
    private var dquote = false
    private var quotePosition: Int?
    private var wordStart = 0
    private var unknownVariable: Int?

    init(bytes: [UInt8], environment: [String: String], pseudo: LexerPseudoVariables) {
        self.bytes = bytes
        self.environment = environment
        self.pseudo = pseudo
    }

    private func byte(_ index: Int) -> UInt8 { index < bytes.count ? bytes[index] : 0 }

    private mutating func emit(_ c: UInt8) {
        out.append(c)
        emptyQuote = false
    }

    private mutating func transition(from current: Int) {
        if !prevInArg && inArg {
            wordStart = current
        }
        if prevInArg && !inArg {
            finishWord()
        }
    }

    private mutating func finishWord() {
        let position = out.isEmpty ? (unknownVariable ?? wordStart) : wordStart
        words.append(LexedWord(String(decoding: out, as: UTF8.self), position: position))
        out.removeAll(keepingCapacity: true)
        unknownVariable = nil
    }

    private func fail(_ what: String, at offset: Int) -> LexError {
        LexError(message: Lexer.caretMessage(what, bytes: bytes, errorAt: offset))
    }

    mutating func run() throws(LexError) {
        while i < bytes.count, Lexer.isSpace(bytes[i]), bytes[i] != 0x0A, bytes[i] != 0x0D { i += 1 }
        while true {
            prevInArg = inArg
            let current = i
            let c = byte(i)
            if c == 0 || c == 0x0A || c == 0x0D {
                break
            } else if c == UInt8(ascii: "#") && !squote && !dquote {
                break
            } else if c == UInt8(ascii: "\"") && !squote {
                dquote = toggleQuote(dquote)
            } else if c == UInt8(ascii: "'") && !dquote {
                squote = toggleQuote(squote)
            } else if c == UInt8(ascii: "\\") && !squote {
                try escape()
            } else if Lexer.isSpace(c) && !squote && !dquote {
                inArg = false
                while Lexer.isSpace(byte(i)) && byte(i) != 0x0A && byte(i) != 0x0D { i += 1 }
            } else if c == UInt8(ascii: "$") && dquote {
                try expandVariable(current: current)
            } else {
                inArg = true
                emit(c)
                i += 1
            }
            transition(from: current)
        }
        if inArg {
            finishWord()
        }
        if let quotePosition {
            throw fail("unmatched quote", at: quotePosition)
        }
    }

    /// Opens or closes a quote; returns the new quoting state.
    private mutating func toggleQuote(_ open: Bool) -> Bool {
        i += 1
        if open {
            if emptyQuote { inArg = true }
            quotePosition = nil
            return false
        }
        quotePosition = i - 1
        emptyQuote = true
        return true
    }

    private mutating func escape() throws(LexError) {
        var toSend = bytes[i]
        inArg = true
        let next = byte(i + 1)
        switch next {
        case UInt8(ascii: " "), UInt8(ascii: "\\"), UInt8(ascii: "#"), UInt8(ascii: "'"), UInt8(ascii: "\""):
            toSend = next
            i += 1
        case UInt8(ascii: "t"):
            toSend = 0x09
            i += 1
        case UInt8(ascii: "n"):
            toSend = 0x0A
            i += 1
        case UInt8(ascii: "r"):
            toSend = 0x0D
            i += 1
        case UInt8(ascii: "$"):
            if dquote {
                toSend = next
                i += 1
            }
        case UInt8(ascii: "x"):
            guard let high = Lexer.hexValue(byte(i + 2)), let low = Lexer.hexValue(byte(i + 3)) else {
                throw fail("truncated or invalid hexadecimal sequence", at: i)
            }
            toSend = high << 4 | low
            i += 3
        default:
            break
        }
        i += 1
        emit(toSend)
    }

    private mutating func expandVariable(current: Int) throws(LexError) {
        i += 1
        var brace: Int?
        if byte(i) == UInt8(ascii: "{") {
            brace = i
            i += 1
        }
        let first = byte(i)
        guard Lexer.isAlpha(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ".") else {
            throw fail("forbidden first char in environment variable name", at: i)
        }
        let nameStart = i
        if first == UInt8(ascii: ".") { i += 1 }
        while Lexer.isAlpha(byte(i)) || Lexer.isDigit(byte(i)) || byte(i) == UInt8(ascii: "_") { i += 1 }
        let name = String(decoding: bytes[nameStart..<i], as: UTF8.self)
        var value: [UInt8]?
        if name.hasPrefix(".") {
            switch name {
            case ".LINE": value = Array(String(pseudo.line).utf8)
            case ".FILE": value = Array(pseudo.file.utf8)
            case ".SECTION": value = Array(pseudo.section.utf8)
            default: throw fail("forbidden first char in environment variable name", at: nameStart)
            }
        } else {
            value = environment[name].map { Array($0.utf8) }
        }

        var wordExpand = false
        if byte(i) == UInt8(ascii: "["), brace != nil {
            let start = i
            guard byte(i + 1) == UInt8(ascii: "*"), byte(i + 2) == UInt8(ascii: "]") else {
                throw fail("truncated or invalid word expansion sequence", at: start)
            }
            i += 3
            wordExpand = true
        }
        if let brace {
            if byte(i) == UInt8(ascii: "-") {
                let defaultStart = i + 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "}") { i += 1 }
                guard i < bytes.count else { throw fail("unmatched brace in environment variable name", at: brace) }
                if value == nil { value = Array(bytes[defaultStart..<i]) }
            } else if byte(i) != UInt8(ascii: "}") {
                throw fail("unmatched brace in environment variable name", at: brace)
            }
            i += 1
        }
        if wordExpand {
            emptyQuote = false
        }
        if let value {
            unknownVariable = nil
            var index = 0
            while index < value.count {
                if wordExpand && Lexer.isSpace(value[index]) {
                    inArg = false
                    while index < value.count, Lexer.isSpace(value[index]) { index += 1 }
                } else {
                    inArg = true
                    emit(value[index])
                    index += 1
                }
                transition(from: current)
                prevInArg = inArg
            }
        } else if !wordExpand {
            inArg = true
            if unknownVariable == nil { unknownVariable = nameStart }
        }
    }
}
