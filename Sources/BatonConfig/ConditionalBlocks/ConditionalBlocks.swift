import BatonCore

/// The `.if` / `.elif` / `.else` / `.endif` blocks and the `.diag`, `.notice`, `.warning`,
/// `.alert` directives of one file (configuration.txt section 2.4), with HAProxy's states and
/// messages (cfgparse.c). Blocks do not span files.
struct ConditionalBlocks {
    private enum State {
        case ifTake, ifDrop, ifSkip, elifTake, elifDrop, elifSkip, elseTake, elseDrop

        var takes: Bool { self == .ifTake || self == .elifTake || self == .elseTake }
        var isElse: Bool { self == .elseTake || self == .elseDrop }
    }

    private var stack: [(state: State, location: SourceLocation)] = []
    let environment: [String: String]

    init(environment: [String: String]) {
        self.environment = environment
    }

    /// Whether ordinary lines are to be parsed at this point.
    var isActive: Bool { stack.last.map { $0.state.takes } ?? true }

    /// Handles a line whose first word starts with a dot. Every such line is consumed.
    mutating func handle(_ words: [String], at location: SourceLocation, into diagnostics: inout [Diagnostic]) {
        let directive = words[0]
        let arguments = Array(words.dropFirst())
        switch directive {
        case ".if":
            if let top = stack.last, !top.state.takes {
                stack.append((.ifSkip, location))
                return
            }
            let taken = evaluate(arguments, directive: directive, at: location, into: &diagnostics)
            stack.append((taken ? .ifTake : .ifDrop, location))
        case ".elif":
            guard let top = stack.last else {
                diagnostics.append(.alert("lone '.elif' with no matching '.if'.", at: location))
                return
            }
            switch top.state {
            case .elseTake, .elseDrop:
                diagnostics.append(.alert("'.elif' after '.else' is not permitted.", at: location))
            case .ifSkip:
                break
            case .ifTake, .elifTake, .elifSkip:
                stack[stack.count - 1].state = .elifSkip
            case .ifDrop, .elifDrop:
                let taken = evaluate(arguments, directive: directive, at: location, into: &diagnostics)
                stack[stack.count - 1].state = taken ? .elifTake : .elifDrop
            }
        case ".else", ".endif":
            if let extra = arguments.first {
                diagnostics.append(.alert("Unexpected argument '\(extra)' for '\(directive)'.", at: location))
                return
            }
            guard let top = stack.last else {
                diagnostics.append(.alert("lone '\(directive)' with no matching '.if'.", at: location))
                return
            }
            if directive == ".endif" {
                stack.removeLast()
            } else if top.state.isElse {
                diagnostics.append(.alert("'.else' after '.else' is not permitted.", at: location))
            } else {
                let taken = top.state == .ifDrop || top.state == .elifDrop
                stack[stack.count - 1].state = taken ? .elseTake : .elseDrop
            }
        case ".diag", ".notice", ".warning", ".alert":
            guard isActive else { return }
            if arguments.count > 1 {
                diagnostics.append(.alert("Unexpected argument '\(arguments[1])' for '\(directive)'. "
                                          + "Use quotes if the message should contain spaces.", at: location))
                return
            }
            let message = "'\(arguments.first ?? "")'."
            let severity: Diagnostic.Severity = switch directive {
            case ".alert": .alert
            case ".warning": .warning
            default: .notice
            }
            diagnostics.append(Diagnostic(severity, message, at: location))
        default:
            guard isActive else { return }
            diagnostics.append(.alert("unknown directive '\(directive)'.", at: location))
        }
    }

    /// Reports blocks left open at the end of a file.
    mutating func finish(into diagnostics: inout [Diagnostic]) {
        for open in stack {
            diagnostics.append(.alert("non-terminated '.if' block.", at: open.location))
        }
        stack.removeAll()
    }

    /// A condition that fails to parse is reported and taken as false.
    private func evaluate(_ words: [String], directive: String, at location: SourceLocation,
                          into diagnostics: inout [Diagnostic]) -> Bool {
        do {
            return try ConditionExpression.evaluate(words: words, environment: environment)
        } catch let error as ConditionExpression.EvaluationError {
            diagnostics.append(.alert(error.rendered(directive: directive), at: location))
        } catch {
            diagnostics.append(.alert("\(error)", at: location))
        }
        return false
    }
}
