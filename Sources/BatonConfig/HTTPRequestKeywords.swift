import BatonCore

/// `http-request ACTION ...`: only an unconditional `return` for now.
enum HTTPRequestKeywords {
    static let table: [ProxyKeyword] = [
        ProxyKeyword("http-request return", [.frontend, .listen, .backend],
                     "[status N] [content-type TYPE] [string TEXT | file PATH]: answer directly (no conditions yet)") {
            draft, ctx in
            parseReturn(&draft, &ctx)
        },
    ]

    /// The actions HAProxy has, to tell a typo from an action Baton does not have.
    static let haproxyActions: Set<String> = [
        "add-acl", "add-header", "allow", "auth", "cache-use", "capture", "del-acl", "del-header", "del-map",
        "deny", "disable-l7-retry", "do-log", "do-resolve", "early-hint", "normalize-uri", "pause", "redirect",
        "reject", "replace-header", "replace-path", "replace-pathq", "replace-uri", "replace-value", "return",
        "sc-add-gpc", "sc-inc-gpc", "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0", "send-spoe-group",
        "set-bandwidth-limit", "set-dst", "set-dst-port", "set-header", "set-log-level", "set-map", "set-mark",
        "set-method", "set-nice", "set-path", "set-pathq", "set-priority-class", "set-priority-offset",
        "set-query", "set-retries", "set-src", "set-src-port", "set-timeout", "set-tos", "set-uri", "set-var",
        "set-var-fmt", "silent-drop", "strict-mode", "tarpit", "track-sc0", "track-sc1", "track-sc2",
        "unset-var", "use-service", "wait-for-body", "wait-for-handshake",
    ]

    private static func parseReturn(_ draft: inout ProxyDraft, _ ctx: inout ParseContext) {
        let context = "error detected in \(draft.typeAndName) while parsing 'http-request return' rule : "
        let args = Array(ctx.line.arguments)
        var status = 200
        var contentType: String?
        var body = HTTPReturn.Body.none
        var bodyKeyword: String?
        var index = 0
        while index < args.count {
            let word = args[index]
            let value = index + 1 < args.count ? args[index + 1] : nil
            switch word {
            case "status":
                guard let value else {
                    ctx.alert(context + "'status' expects <status_code> as argument.")
                    return
                }
                guard let code = Parse.integer(value), (200...599).contains(code) else {
                    ctx.alert(context + "Unexpected status code '\(value)'.")
                    return
                }
                status = code
            case "content-type":
                guard let value else {
                    ctx.alert(context + "'content-type' expects <ctype> as argument.")
                    return
                }
                contentType = value
            case "string", "file":
                if let bodyKeyword {
                    ctx.alert(context + "unexpected '\(word)' argument, '\(bodyKeyword)' already defined.")
                    return
                }
                guard let value else {
                    ctx.alert(context + "'\(word)' expects <\(word == "file" ? "file" : "str")> as argument.")
                    return
                }
                if word == "string" {
                    body = .string(value)
                } else {
                    guard let contents = FileReading.contents(of: value) else {
                        ctx.alert(context + "error opening file '\(value)'.")
                        return
                    }
                    body = .file(path: value, contents: contents)
                }
                bodyKeyword = word
            case "if", "unless":
                ctx.alert("'http-request return' conditions ('if'/'unless') are not supported by Baton yet.")
                return
            case "lf-string", "lf-file", "errorfile", "errorfiles", "default-errorfiles", "hdr":
                ctx.alert("'http-request return' argument '\(word)' is not supported by Baton yet.")
                return
            default:
                ctx.alert(context + "unexpected argument '\(word)'.")
                return
            }
            index += 2
        }
        let hasBody: Bool
        switch body {
        case .none: hasBody = false
        case .string(let text): hasBody = !text.isEmpty
        case .file(_, let contents): hasBody = !contents.isEmpty
        }
        if hasBody && (status == 204 || status == 304) {
            ctx.alert(context + "No body expected for \(status) responses.")
            return
        }
        if hasBody && contentType == nil {
            ctx.alert(context + "a content type must be defined when non-empty payload is configured.")
            return
        }
        draft.proxy.httpRequestReturns.append(
            HTTPReturn(status: status, contentType: contentType, body: body, location: ctx.location))
    }
}
