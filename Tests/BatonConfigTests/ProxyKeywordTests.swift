import Testing
@testable import BatonConfig
import BatonRules

@Suite("proxy keywords: bad input gives HAProxy's diagnostics")
struct ProxyKeywordTests {
    @Test func backendKeywords() {
        let result = load("""
            backend be
                mode
                mode foo
                mode http x
                mode log
                retries x
                balance
                balance foo
                balance uri
                balance hdr(host)
                balance roundrobin x
                default_backend x
                maxconn 10
                monitor-uri /x
                option httplog
                timeout client 5s
                http-request return status 200 if TRUE
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : unknown proxy mode ''.",
            "config : parsing [t.cfg:3] : unknown proxy mode 'foo'.",
            "config : parsing [t.cfg:4] : 'mode' cannot handle unexpected argument 'x'.",
            "config : parsing [t.cfg:5] : 'mode log' is not supported by Baton yet.",
            "config : parsing [t.cfg:6] : 'retries' expects an integer argument (dispatch counts for one).",
            "config : parsing [t.cfg:7] : balance only supports 'roundrobin', 'static-rr', 'leastconn', 'first', 'source' and 'random' options.",
            "config : parsing [t.cfg:8] : balance only supports 'roundrobin', 'static-rr', 'leastconn', 'first', 'source' and 'random' options.",
            "config : parsing [t.cfg:9] : 'balance uri' is not supported by Baton yet.",
            "config : parsing [t.cfg:10] : 'balance hdr(host)' is not supported by Baton yet.",
            "config : parsing [t.cfg:11] : 'balance' cannot handle unexpected argument 'x'.",
        ])
        // As haproxy 2.6: settings of the frontend side are ignored with a warning.
        #expect(result.warnings.filter { $0.contains("capability") || $0.contains("ignored") } == [
            "config : parsing [t.cfg:12] : 'default_backend' ignored because backend 'be' has no frontend capability.",
            "config : parsing [t.cfg:13] : 'maxconn' ignored because backend 'be' has no frontend capability. Maybe you want 'fullconn' instead ?",
            "config : parsing [t.cfg:14] : 'monitor-uri' ignored because backend 'be' has no frontend capability.",
            "config : parsing [t.cfg:15] : backend 'be' : 'option httplog' directive is ignored in backends.",
            "config : parsing [t.cfg:16] : 'timeout client' will be ignored because backend 'be' has no frontend capability",
            "config : parsing [t.cfg:1] : 'http-request' rules ignored for backend 'be' as they require HTTP mode.",
        ])
    }

    @Test func timeouts() {
        let result = load("""
            backend be
                timeout server
                timeout server 5x
                timeout server 5sx
                timeout server abc
                timeout server 5s 6s
                timeout server 30d
                timeout server 10us
                timeout foo 5s
                timeout check 5s
                timeout
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : 'timeout server' expects an integer value (in milliseconds)",
            "config : parsing [t.cfg:3] : unexpected character 'x' in 'timeout server'",
            "config : parsing [t.cfg:4] : unexpected character 'x' in 'timeout server'",
            "config : parsing [t.cfg:5] : unexpected character 'a' in 'timeout server'",
            "config : parsing [t.cfg:6] : 'timeout server' : unexpected extra argument '6s' after value '5s'.",
            "config : parsing [t.cfg:7] : timer overflow in argument '30d' to 'timeout server' (maximum value is 2147483647 ms or ~24.8 days)",
            "config : parsing [t.cfg:8] : timer underflow in argument '10us' to 'timeout server' (minimum non-null value is 1 ms)",
            "config : parsing [t.cfg:9] : 'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'handshake', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got 'foo')",
            "config : parsing [t.cfg:10] : 'timeout check' is not supported by Baton yet.",
            "config : parsing [t.cfg:11] : 'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'handshake', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '')",
        ])
    }

    @Test func smallTimeoutsWarn() {
        let result = load("backend be\n  timeout server 50\n")
        #expect(result.warnings == [
            "config : parsing [t.cfg:2] : 'timeout server 50' in backend 'be' is suspiciously small for a value in milliseconds. Please use an explicit unit ('50ms') if that was the intent.",
        ])
        #expect(result.configuration?.proxies.first?.timeouts.server == .milliseconds(50))
    }

    @Test func options() {
        let result = load("""
            backend be
                option foo
                option forwardfr
                option httpchk
                option
                option redispatch x
                option redispatch 1 2
                option http-keep-alive x
                no option forwardfor
                option forwardfor except
                option forwardfor except 1.2.3.0/33
                option forwardfor header
                option forwardfor foo
                no option httpchk
                no mode
                default option redispatch
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : unknown option 'foo'.",
            "config : parsing [t.cfg:3] : unknown option 'forwardfr'; did you mean 'forwardfor' maybe ?",
            "config : parsing [t.cfg:4] : 'option httpchk' is not supported by Baton yet.",
            "config : parsing [t.cfg:5] : 'option' expects an option name.",
            "config : parsing [t.cfg:6] : 'option redispatch' interval 'x' is not supported by Baton yet.",
            "config : parsing [t.cfg:7] : 'option redispatch' cannot handle unexpected argument '2'.",
            "config : parsing [t.cfg:8] : 'option http-keep-alive' cannot handle unexpected argument 'x'.",
            "config : parsing [t.cfg:9] : negation/default is not supported for option 'forwardfor'.",
            "config : parsing [t.cfg:10] : 'option forwardfor except' expects <address>[/mask] as argument.",
            "config : parsing [t.cfg:11] : 'option forwardfor except' expects <address>[/mask] as argument.",
            "config : parsing [t.cfg:12] : 'option forwardfor header' expects <header_name> as argument.",
            "config : parsing [t.cfg:13] : 'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'.",
            "config : parsing [t.cfg:14] : 'option httpchk' is not supported by Baton yet.",
            "config : parsing [t.cfg:15] : negation/default currently supported only for options and log.",
            "config : parsing [t.cfg:16] : 'default' is not supported by Baton yet.",
        ])
    }

    @Test func logFormatOptions() {
        let result = load("frontend fe\n  option tcplog x\n  option httplog clf\n")
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : 'option tcplog' cannot handle unexpected argument 'x'.",
            "config : parsing [t.cfg:3] : 'option httplog clf' is not supported by Baton yet.",
        ])
    }

    @Test func frontendKeywords() {
        let result = load("""
            frontend fe
                default_backend
                default_backend a b
                monitor-uri
                monitor-uri a b
                maxconn x
                balance roundrobin
                retries 3
                option redispatch
                server s 1.2.3.4:80
                timeout server 5s
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : 'default_backend' expects a backend name.",
            "config : parsing [t.cfg:3] : 'default_backend' cannot handle unexpected argument 'b'.",
            "config : parsing [t.cfg:4] : 'monitor-uri' expects an URI.",
            "config : parsing [t.cfg:5] : 'monitor-uri' cannot handle unexpected argument 'b'.",
            "config : parsing [t.cfg:6] : 'maxconn' expects an integer argument.",
            "config : parsing [t.cfg:10] : 'server' not allowed because frontend 'fe' has no backend capability.",
        ])
        // As haproxy 2.6: settings of the backend side are ignored with a warning.
        #expect(result.warnings.filter { $0.contains("capability") } == [
            "config : parsing [t.cfg:7] : 'balance' ignored because frontend 'fe' has no backend capability.",
            "config : parsing [t.cfg:8] : 'retries' ignored because frontend 'fe' has no backend capability.",
            "config : parsing [t.cfg:9] : 'redispatch' ignored because frontend 'fe' has no backend capability.",
            "config : parsing [t.cfg:11] : 'timeout server' will be ignored because frontend 'fe' has no backend capability",
        ])
    }

    @Test func defaultsKeywords() {
        let result = load("""
            defaults
                server s 1.2.3.4:80
                bind :80
                http-request return status 200
                mode http
                balance leastconn
                default_backend be
                monitor-uri /health
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : 'server' not allowed in 'defaults' section.",
            "config : parsing [t.cfg:3] : 'bind' not allowed in 'defaults' section.",
            "config : parsing [t.cfg:4] : 'http-request' rules in 'defaults' sections are not supported by Baton yet.",
        ])
    }

    @Test func httpRequestReturn() {
        let result = load("""
            frontend fe
                http-request return status 999
                http-request return status 200 string hi
                http-request return status 200 content-type text/plain string a file b
                http-request return status 200 content-type text/plain file /nonexistent/file
                http-request return lf-string x
                http-request return foo
                http-request return status 204 content-type text/plain string x
                http-request return status
                http-request set-header X-A b
                http-request foo
            """)
        let prefix = "error detected in frontend 'fe' while parsing 'http-request return' rule : "
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : \(prefix)Unexpected status code '999'.",
            "config : parsing [t.cfg:3] : \(prefix)a content type must be defined when non-empty payload is configured.",
            "config : parsing [t.cfg:4] : \(prefix)unexpected 'file' argument, 'string' already defined.",
            "config : parsing [t.cfg:5] : \(prefix)error opening file '/nonexistent/file'.",
            "config : parsing [t.cfg:6] : \(prefix)a content type must be defined when non-empty payload is configured.",
            "config : parsing [t.cfg:7] : \(prefix)unexpected argument 'foo'.",
            "config : parsing [t.cfg:8] : \(prefix)No body expected for 204 responses.",
            "config : parsing [t.cfg:9] : \(prefix)'status' expects <status_code> as argument.",
            "config : parsing [t.cfg:11] : 'http-request' expects \(HTTPRuleParser.requestActions.map { "'\($0)'" }.joined(separator: ", ")), but got 'foo'.",
        ])
    }

    @Test func unknownAndUnsupportedKeywords() {
        let result = load("""
            listen li
                stats enable
                acl is_api path_beg /api
                use_backend api if is_api
                tcp-response content accept
                http-check expect status 200
                timeou client 5s
                balanse roundrobin
                frobnicate
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : 'stats' is not supported by Baton yet.",
            "config : parsing [t.cfg:5] : 'tcp-response' is not supported by Baton yet.",
            "config : parsing [t.cfg:6] : 'http-check' is not supported by Baton yet.",
            "config : parsing [t.cfg:7] : unknown keyword 'timeou' in 'listen' section; did you mean 'timeout' maybe ?",
            "config : parsing [t.cfg:8] : unknown keyword 'balanse' in 'listen' section; did you mean 'balance' maybe ?",
            "config : parsing [t.cfg:9] : unknown keyword 'frobnicate' in 'listen' section",
            "config : parsing [t.cfg:4] : Proxy 'li': unable to find required use_backend: 'api'.",
        ])
    }

    @Test func errorfile() {
        let result = load("""
            defaults
                errorfile 503
                errorfile 999 /x
                errorfile 503 /nonexistent/503.http
                errorfile 503 /x extra
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : errorfile : expects <status_code> and <file> as arguments.",
            "config : parsing [t.cfg:3] : errorfile : status code '999' not handled.",
            "config : parsing [t.cfg:4] : errorfile : error opening file '/nonexistent/503.http'.",
            "config : parsing [t.cfg:5] : 'errorfile' cannot handle unexpected argument 'extra'.",
        ])
    }
}
