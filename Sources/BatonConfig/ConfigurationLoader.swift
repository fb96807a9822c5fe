import Foundation
import BatonCore

/// The result of loading configuration files: the model when there were no alerts, and every
/// diagnostic found (warnings come with a model too).
public struct LoadResult: Sendable {
    public var configuration: Configuration?
    public var diagnostics: [Diagnostic]

    public init(configuration: Configuration?, diagnostics: [Diagnostic]) {
        self.configuration = configuration
        self.diagnostics = diagnostics
    }
}

/// Turns host names in `server` lines into numeric addresses. Injected so tests need no DNS.
public struct HostResolver: Sendable {
    public var resolve: @Sendable (_ host: String) -> String?

    public init(resolve: @escaping @Sendable (_ host: String) -> String?) {
        self.resolve = resolve
    }
}

/// Reads HAProxy configuration files into a `Configuration`, collecting every diagnostic
/// instead of stopping at the first.
public struct ConfigurationLoader: Sendable {
    public var environment: [String: String]
    public var resolver: HostResolver

    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                resolver: HostResolver = .system) {
        self.environment = environment
        self.resolver = resolver
    }

    /// Loads `paths`, each a file or a directory; a directory contributes its regular `*.cfg`
    /// files not starting with a dot, in lexical order, as HAProxy does.
    public func load(paths: [String]) -> LoadResult {
        var diagnostics: [Diagnostic] = []
        var files: [(name: String, bytes: [UInt8])] = []
        for path in paths {
            switch FileReading.kind(of: path) {
            case .failure(let error):
                diagnostics.append(.alert("Cannot open configuration file/directory \(path) : \(error.reason)"))
            case .success(.directory):
                switch FileReading.configurationFiles(in: path) {
                case .failure(let error):
                    diagnostics.append(.alert("Cannot open configuration directory \(path) : \(error.reason)"))
                case .success(let names):
                    for name in names { files.append(contentsOf: read(name, into: &diagnostics)) }
                }
            case .success(.file):
                files.append(contentsOf: read(path, into: &diagnostics))
            }
        }
        return run(files, diagnostics: diagnostics)
    }

    /// Loads in-memory texts, each with the file name diagnostics will show.
    public func load(sources: [(name: String, text: String)]) -> LoadResult {
        run(sources.map { ($0.name, Array($0.text.utf8)) }, diagnostics: [])
    }

    private func read(_ path: String, into diagnostics: inout [Diagnostic]) -> [(name: String, bytes: [UInt8])] {
        switch FileReading.read(path) {
        case .success(let bytes): return [(path, bytes)]
        case .failure(let error):
            diagnostics.append(.alert("Could not open configuration file \(path) : \(error.reason)"))
            return []
        }
    }

    private func run(_ files: [(name: String, bytes: [UInt8])], diagnostics initial: [Diagnostic]) -> LoadResult {
        var diagnostics = initial
        var parser = ConfigParser(resolver: resolver)
        for file in files {
            var blocks = ConditionalBlocks(environment: environment)
            for (index, line) in FileReading.lines(of: file.bytes).enumerated() {
                let location = SourceLocation(file: file.name, line: index + 1)
                let pseudo = LexerPseudoVariables(file: file.name, line: index + 1, section: parser.sectionName)
                let words: [LexedWord]
                do {
                    words = try Lexer.split(line, environment: environment, pseudo: pseudo)
                } catch {
                    diagnostics.append(.alert(error.message, at: location))
                    continue
                }
                guard let first = words.first else { continue }
                if first.text.hasPrefix(".") {
                    blocks.handle(words.map(\.text), at: location, into: &diagnostics)
                    continue
                }
                guard blocks.isActive else { continue }
                if let empty = words.firstIndex(where: { $0.text.isEmpty }) {
                    diagnostics.append(.alert(Self.emptyArgumentMessage(index: empty, word: words[empty], line: line),
                                              at: location))
                    continue
                }
                parser.parse(words.map(\.text), at: location)
                diagnostics += parser.diagnostics
                parser.diagnostics.removeAll()
            }
            blocks.finish(into: &diagnostics)
            parser.finishSection()
        }
        let (configuration, findings) = Validation.finish(global: parser.global, proxies: parser.proxies,
                                                          userlists: parser.userlists)
        diagnostics += findings
        return LoadResult(configuration: diagnostics.hasAlerts ? nil : configuration, diagnostics: diagnostics)
    }

    /// HAProxy 3.x refuses empty words (such as an undefined `"${VAR}"`) rather than silently
    /// ending the line there.
    static func emptyArgumentMessage(index: Int, word: LexedWord, line: [UInt8]) -> String {
        let snippet = Lexer.caretMessage("", bytes: line, errorAt: word.position)
        let tail = snippet[snippet.firstIndex(of: "\n")!...]
        return "argument number \(index) at position \(word.position + 1) is empty and marks the end of the "
            + "argument list:\(tail)\nAborting to prevent all subsequent arguments from being silently ignored. "
            + "If this is caused by an environment variable expansion, please have a look at section 2.3 of the "
            + "configuration manual to find solutions to address this."
    }
}
