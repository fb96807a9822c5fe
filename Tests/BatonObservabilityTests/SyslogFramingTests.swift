#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BatonConfig
import Testing
@testable import BatonObservability

// Expected bytes come from HAProxy 2.6.12 (Debian 2.6.12-1+deb12u4) sending one httplog line at
// level info to UDP listeners, a unix datagram socket, stdout and stderr (a Python receiver
// printed the exact datagrams). Paris = TZ=Europe/Paris (+01:00), New York = America/New_York.

private let paris = LogTimeZone.fixed(offsetSeconds: 3600)
private let newYork = LogTimeZone.fixed(offsetSeconds: -5 * 3600)
private let parisMessage = #"127.0.0.1:53584 [29/Nov/2026:06:42:38.269] fe_http fe_http/<NOSRV> 0/-1/-1/-1/0 200 76 - - LR-- 1/1/0/0/0 0/0 "GET /foo?x=1 HTTP/1.1""#
private let parisSent = utcMicros(2026, 11, 29, 5, 42, 38, micro: 270_790)

private func udp(_ facility: SyslogFacility, format: LogTarget.Format = .automatic, level: SyslogLevel? = nil,
                 minimum: SyslogLevel? = nil, len: Int = 1024) -> LogTarget {
    LogTarget(destination: .udp(host: "127.0.0.1", port: 19501), facility: facility, level: level,
              minimumLevel: minimum, format: format, maxLength: len)
}

private func frameParis(_ target: LogTarget, level: SyslogLevel = .info, micros: Int64 = parisSent) -> String {
    SyslogFraming.frame(message: parisMessage, target: target, level: level, tag: "haproxy", pid: 7136,
                        hostname: nil, timestampMicroseconds: micros, timeZone: paris).text
}

@Suite struct SyslogFramingTests {
    @Test func defaultFormatWithoutHostname() {
        // log 127.0.0.1:19501 local0
        #expect(frameParis(udp(.local0)) == "<134>Nov 29 06:42:38 haproxy[7136]: " + parisMessage + "\n")
    }

    @Test func rfc5424() {
        // log 127.0.0.1:19502 format rfc5424 local1 info
        #expect(frameParis(udp(.local1, format: .rfc5424, level: .info)) ==
            "<142>1 2026-11-29T06:42:38.270790+01:00 - haproxy 7136 - - " + parisMessage + "\n")
    }

    @Test func datagramTruncationKeepsLenBytesThenTheNewline() {
        // log 127.0.0.1:19503 len 80 local2: 81 bytes received.
        let framed = frameParis(udp(.local2, len: 80))
        #expect(framed == "<150>Nov 29 06:42:38 haproxy[7136]: 127.0.0.1:53584 [29/Nov/2026:06:42:38.269] f\n")
        #expect(framed.utf8.count == 81)
    }

    @Test func minimumLevelCapsOnlyMoreSevereMessages() {
        // log 127.0.0.1:19504 len 80 format rfc5424 local3 debug err: info stays info (158 = 19*8+6).
        let target = udp(.local3, format: .rfc5424, level: .debug, minimum: .err, len: 80)
        #expect(frameParis(target, micros: utcMicros(2026, 11, 29, 5, 42, 38, micro: 270_804)) ==
            "<158>1 2026-11-29T06:42:38.270804+01:00 - haproxy 7136 - - 127.0.0.1:53584 [29/N\n")
        // emerg is sent as err: 19*8+3.
        #expect(frameParis(target, level: .emerg).hasPrefix("<155>1 "))
        #expect(target.effectiveLevel(.emerg) == .err)
        #expect(target.effectiveLevel(.err) == .err)
        #expect(target.effectiveLevel(.warning) == .warning)
    }

    @Test func rawDatagram() {
        // log 127.0.0.1:19506 len 80 format raw local0
        #expect(frameParis(udp(.local0, format: .raw, len: 80)) ==
            "127.0.0.1:53584 [29/Nov/2026:06:42:38.269] fe_http fe_http/<NOSRV> 0/-1/-1/-1/0 \n")
    }

    @Test func unixDatagramFacility() {
        // log unix@/tmp/hap/dgram.sock local7
        let target = LogTarget(destination: .unixDatagram(path: "/tmp/hap/dgram.sock"), facility: .local7)
        #expect(frameParis(target) == "<190>Nov 29 06:42:38 haproxy[7136]: " + parisMessage + "\n")
    }

    @Test func streamTruncationKeepsLenMinusOneBytesThenTheNewline() {
        // log stdout len 80 format raw local0: 79 bytes and the newline.
        let stdout = LogTarget(destination: .stdout, facility: .local0, format: .raw, maxLength: 80)
        #expect(frameParis(stdout) ==
            "127.0.0.1:53584 [29/Nov/2026:06:42:38.269] fe_http fe_http/<NOSRV> 0/-1/-1/-1/0\n")
        // log stderr len 80 format rfc3164 local0: an explicit rfc3164 writes "localhost".
        let stderr = LogTarget(destination: .stderr, facility: .local0, maxLength: 80)
        let framed = SyslogFraming.frame(message: Array(parisMessage.utf8), target: stderr, format: .rfc3164,
                                         level: .info, header: SyslogHeader(tag: "haproxy", pid: 7136, hostname: nil),
                                         timestampMicroseconds: parisSent, timeZone: paris)
        #expect(framed.text == "<134>Nov 29 06:42:38 localhost haproxy[7136]: 127.0.0.1:53584 [29/Nov/2026:06:4\n")
        #expect(framed.count == 80)
    }

    @Test func hostnameAndTag() {
        // log-send-hostname myhost.example, log-tag mytag, TZ=America/New_York.
        let message = #"127.0.0.1:59408 [29/Nov/2026:00:42:51.682] fe_http fe_http/<NOSRV> 0/-1/-1/-1/0 200 76 - - LR-- 1/1/0/0/0 0/0 "GET /foo?x=1 HTTP/1.1""#
        let sent = utcMicros(2026, 11, 29, 5, 42, 51, micro: 684_283)
        func frame(_ target: LogTarget) -> String {
            SyslogFraming.frame(message: message, target: target, level: .info, tag: "mytag", pid: 7294,
                                hostname: "myhost.example", timestampMicroseconds: sent, timeZone: newYork).text
        }
        let expected3164 = "<134>Nov 29 00:42:51 myhost.example mytag[7294]: " + message + "\n"
        #expect(frame(udp(.local0)) == expected3164)   // no format: rfc3164 since a hostname is sent
        #expect(frame(LogTarget(destination: .stdout, facility: .local0)) == expected3164)
        #expect(frame(LogTarget(destination: .stderr, facility: .local0, format: .rfc5424)) ==
            "<134>1 2026-11-29T00:42:51.684283-05:00 myhost.example mytag 7294 - - " + message + "\n")
    }

    @Test func explicitRFC3164WithoutHostnameSaysLocalhost() {
        // log 127.0.0.1:19501 format rfc3164 local0 / log stdout local0, no log-send-hostname.
        let message = #"127.0.0.1:59410 [29/Nov/2026:00:42:53.306] fe_http fe_http/<NOSRV> 0/-1/-1/-1/0 200 76 - - LR-- 1/1/0/0/0 0/0 "GET /bar HTTP/1.1""#
        let header = SyslogHeader(tag: "haproxy", pid: 7319, hostname: nil)
        let sent = utcMicros(2026, 11, 29, 5, 42, 53, micro: 306_904)
        let explicit = SyslogFraming.frame(message: Array(message.utf8), target: udp(.local0), format: .rfc3164,
                                           level: .info, header: header, timestampMicroseconds: sent, timeZone: newYork)
        #expect(explicit.text == "<134>Nov 29 00:42:53 localhost haproxy[7319]: " + message + "\n")
        let automatic = SyslogFraming.frame(message: message, target: LogTarget(destination: .stdout, facility: .local0),
                                            level: .info, tag: "haproxy", pid: 7319, hostname: nil,
                                            timestampMicroseconds: sent, timeZone: newYork)
        #expect(automatic.text == "<134>Nov 29 00:42:53 haproxy[7319]: " + message + "\n")
        let rfc5424 = SyslogFraming.frame(message: message, target: LogTarget(destination: .stderr, facility: .local0, format: .rfc5424),
                                          level: .info, tag: "haproxy", pid: 7319, hostname: nil,
                                          timestampMicroseconds: sent, timeZone: newYork)
        #expect(rfc5424.text == "<134>1 2026-11-29T00:42:53.306904-05:00 - haproxy 7319 - - " + message + "\n")
    }

    @Test func longLinesAtTheDefaultLength() {
        // An httplog line of 1023 bytes (the longest HAProxy builds): raw datagram 1023+1 bytes,
        // rfc3164 datagram 1024+1, stdout 1023+1.
        let line = String(repeating: "x", count: 1023)
        let sent = utcMicros(2026, 11, 29, 5, 43, 17)
        func frame(_ target: LogTarget) -> [UInt8] {
            SyslogFraming.frame(message: line, target: target, level: .info, tag: "haproxy", pid: 7554,
                                hostname: nil, timestampMicroseconds: sent, timeZone: .utc)
        }
        #expect(frame(udp(.local0, format: .raw)).count == 1024)
        let rfc3164 = frame(udp(.local0))
        #expect(rfc3164.count == 1025)
        #expect(rfc3164.text.hasPrefix("<134>Nov 29 05:43:17 haproxy[7554]: xxx"))
        #expect(rfc3164.last == UInt8(ascii: "\n"))
        #expect(frame(LogTarget(destination: .stdout, facility: .local0, format: .raw)).count == 1024)
    }

    @Test(arguments: SyslogFacility.allCases)
    func priorityIsFacilityTimesEightPlusLevel(_ facility: SyslogFacility) {
        for level in SyslogLevel.allCases {
            let framed = SyslogFraming.frame(message: "m", target: udp(facility), level: level, tag: "t", pid: 1,
                                             hostname: nil, timestampMicroseconds: 0, timeZone: .utc)
            #expect(framed.text == "<\(facility.rawValue * 8 + level.rawValue)>Jan  1 00:00:00 t[1]: m\n")
        }
    }

    @Test func facilityOverride() {
        let framed = SyslogFraming.frame(message: "m", target: udp(.local0), level: .err, facility: .daemon,
                                         tag: "t", pid: 1, hostname: nil, timestampMicroseconds: 0, timeZone: .utc)
        #expect(framed.text == "<27>Jan  1 00:00:00 t[1]: m\n")
    }

    @Test func singleDigitDaysArePaddedWithASpace() {
        let framed = SyslogFraming.frame(message: "m", target: udp(.local0), level: .info, tag: "t", pid: 1,
                                         hostname: nil, timestampMicroseconds: utcMicros(2026, 3, 5, 7, 8, 9),
                                         timeZone: .utc)
        #expect(framed.text == "<134>Mar  5 07:08:09 t[1]: m\n")
    }

    @Test func otherHeaderFormats() {
        let header = SyslogHeader(tag: "baton", pid: 42, hostname: "h")
        let target = udp(.local0)
        let when = utcMicros(2026, 7, 4, 12, 0, 1, micro: 5)
        func frame(_ format: SyslogHeaderFormat) -> String {
            SyslogFraming.frame(message: Array("m".utf8), target: target, format: format, level: .notice,
                                header: header, timestampMicroseconds: when, timeZone: .fixed(offsetSeconds: 5 * 3600 + 1800)).text
        }
        #expect(frame(.local) == "<133>Jul  4 17:30:01 baton[42]: m\n")
        #expect(frame(.rfc3164) == "<133>Jul  4 17:30:01 h baton[42]: m\n")
        #expect(frame(.rfc5424) == "<133>1 2026-07-04T17:30:01.000005+05:30 h baton 42 - - m\n")
        #expect(frame(.priority) == "<133>m\n")
        #expect(frame(.short) == "<5>m\n")
        #expect(frame(.timed) == "<5>2026-07-04T17:30:01.000005+05:30 m\n")
        #expect(frame(.iso) == "2026-07-04T17:30:01.000005+05:30 m\n")
        #expect(frame(.raw) == "m\n")
        #expect(frame(.automatic) == frame(.rfc3164))
        let noHost = SyslogHeader(tag: "baton", pid: 42, hostname: nil)
        let automatic = SyslogFraming.frame(message: Array("m".utf8), target: target, format: .automatic, level: .notice,
                                            header: noHost, timestampMicroseconds: when, timeZone: .utc)
        #expect(automatic.text == "<133>Jul  4 12:00:01 baton[42]: m\n")
    }

    @Test func trailingNewlinesAndNULsAreRemoved() {
        let framed = SyslogFraming.frame(message: "m\n\n\0", target: udp(.local0, format: .raw), level: .info,
                                         tag: "t", pid: 1, hostname: nil, timestampMicroseconds: 0, timeZone: .utc)
        #expect(framed.text == "m\n")
    }

    @Test func levelFilter() {
        let target = udp(.local0, level: .notice)
        #expect(target.admits(.emerg))
        #expect(target.admits(.notice))
        #expect(!target.admits(.info))
        #expect(!target.admits(.debug))
        #expect(udp(.local0).admits(.debug))
    }
}

@Suite struct LogTimeZoneTests {
    @Test func civilDatesMatchGmtime() {
        var samples: [Int64] = [0, -1, 86_399, 86_400, 951_782_400, 4_102_444_800, -2_208_988_800, 1_709_164_800]
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2000 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            samples.append(Int64(x >> 31) % 8_000_000_000 - 2_000_000_000)
        }
        for second in samples {
            var t = time_t(second)
            var expected = tm()
            _ = gmtime_r(&t, &expected)
            let date = LogDate(epochSecond: second, microsecond: 0, utcOffset: 0)
            #expect(date.year == Int(expected.tm_year) + 1900 && date.month == Int(expected.tm_mon) + 1
                    && date.day == Int(expected.tm_mday) && date.hour == Int(expected.tm_hour)
                    && date.minute == Int(expected.tm_min) && date.second == Int(expected.tm_sec),
                    "second \(second)")
        }
    }

    @Test func localZoneMatchesLocaltime() {
        for second: Int64 in [0, 1_700_000_000, 1_711_846_800, 1_729_990_800, 1_800_000_000, 1_800_000_000, 1_800_000_001] {
            var t = time_t(second)
            var expected = tm()
            _ = localtime_r(&t, &expected)
            #expect(LogTimeZone.local.utcOffset(atEpochSecond: second) == Int(expected.tm_gmtoff))
            let date = LogTimeZone.local.date(microseconds: second * 1_000_000 + 123_456)
            #expect(date.hour == Int(expected.tm_hour) && date.day == Int(expected.tm_mday))
            #expect(date.microsecond == 123_456)
        }
    }

    @Test func negativeInstantsKeepPositiveMicroseconds() {
        let date = LogTimeZone.utc.date(microseconds: -1)
        #expect(date.year == 1969 && date.month == 12 && date.day == 31 && date.second == 59)
        #expect(date.microsecond == 999_999)
    }
}
