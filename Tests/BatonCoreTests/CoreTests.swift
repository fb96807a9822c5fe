import Testing

@testable import BatonCore

@Suite struct TimeValueTests {
    @Test(arguments: [
        ("100", Duration.milliseconds(100)), ("5s", .seconds(5)), ("2m", .seconds(120)),
        ("1h", .seconds(3600)), ("1d", .seconds(86400)), ("250ms", .milliseconds(250)),
        ("10us", .microseconds(10)), ("0", .zero),
    ])
    func parsesHAProxyUnits(text: String, expected: Duration) {
        #expect(TimeValue.parse(text) == expected)
    }

    @Test(arguments: ["", "s", "5x", "-1", "1.5s", "99999999999999999999", "5 s"])
    func rejectsInvalidValues(text: String) {
        #expect(TimeValue.parse(text) == nil)
    }

    @Test func convertsToMilliseconds() {
        #expect(Duration.seconds(2).wholeMilliseconds == 2000)
        #expect(Duration.microseconds(1500).wholeMilliseconds == 1)
        #expect(Duration.milliseconds(3).wholeNanoseconds == 3_000_000)
    }
}

@Suite struct SuggestionTests {
    @Test func suggestsCloseKeywords() {
        #expect(Suggestion.closest(to: "bidn", among: ["bind", "balance", "backlog"]) == "bind")
        #expect(Suggestion.closest(to: "tiemout", among: ["timeout", "retries"]) == "timeout")
        #expect(Suggestion.closest(to: "DEFAULT_BACKEND", among: ["default_backend"]) == "default_backend")
    }

    @Test func staysQuietWhenNothingIsClose() {
        #expect(Suggestion.closest(to: "frobnicate", among: ["bind", "mode"]) == nil)
        #expect(Suggestion.closest(to: "x", among: [String]()) == nil)
    }
}

@Suite struct DiagnosticTests {
    @Test func rendersLikeHAProxy() {
        let alert = Diagnostic.alert("unknown keyword 'bidn' in 'frontend' section",
                                     at: SourceLocation(file: "h.cfg", line: 7))
        #expect(alert.rendered(pid: 42)
            == "[ALERT]    (42) : config : parsing [h.cfg:7] : unknown keyword 'bidn' in 'frontend' section")
        let warning = Diagnostic.warning("missing timeouts")
        #expect(warning.rendered(pid: 1) == "[WARNING]  (1) : config : missing timeouts")
        #expect([warning].hasAlerts == false)
        #expect([warning, alert].hasAlerts)
    }
}
