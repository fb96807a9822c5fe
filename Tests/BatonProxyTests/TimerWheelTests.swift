import NIOCore
import NIOEmbedded
import Testing

@testable import BatonProxy

/// The wheel is driven by hand here (`advance(to:)`); timers measure from the real clock, so
/// each test moves the wheel well past or well short of their deadlines.
@Suite struct TimerWheelTests {
    let loop = EmbeddedEventLoop()

    func timer(_ wheel: TimerWheel) -> InactivityTimer {
        InactivityTimer(eventLoop: loop, wheel: wheel)
    }

    @Test func aTimerFiresOnceItsDeadlineHasPassed() {
        let wheel = TimerWheel(eventLoop: loop)
        let watched = timer(wheel)
        var fired = 0
        watched.arm(.milliseconds(200)) { fired += 1 }
        #expect(wheel.count == 1)
        wheel.advance(to: .now())
        #expect(fired == 0)
        wheel.advance(to: .now() + .milliseconds(300))
        #expect(fired == 1)
        #expect(wheel.count == 0)
        wheel.advance(to: .now() + .seconds(30))
        #expect(fired == 1)
    }

    @Test func cancellingLeavesNothingBehind() {
        let wheel = TimerWheel(eventLoop: loop)
        let timers = (0..<1000).map { _ in timer(wheel) }
        var fired = 0
        for (index, watched) in timers.enumerated() {
            watched.arm(.milliseconds(Int64(100 + index))) { fired += 1 }
        }
        #expect(wheel.count == 1000)
        for watched in timers where ObjectIdentifier(watched).hashValue % 2 == 0 { watched.cancel() }
        let left = wheel.count
        for watched in timers { watched.cancel() }
        #expect(left < 1000)
        #expect(wheel.count == 0)
        wheel.advance(to: .now() + .seconds(5))
        #expect(fired == 0)
    }

    @Test func aTimerMoreThanOneTurnAwayWaitsForItsTurn() {
        let wheel = TimerWheel(eventLoop: loop)
        let watched = timer(wheel)
        var fired = false
        watched.arm(.seconds(25)) { fired = true }  // two and a half turns of the wheel
        wheel.advance(to: .now() + .seconds(11))
        wheel.advance(to: .now() + .seconds(21))
        #expect(!fired)
        wheel.advance(to: .now() + .seconds(26))
        #expect(fired)
    }

    @Test func aLongTimerNeitherFiresEarlyNorLeavesTheWheel() {
        let wheel = TimerWheel(eventLoop: loop)
        let watched = timer(wheel)
        var fired = false
        watched.arm(.seconds(60)) { fired = true }
        wheel.advance(to: .now() + .seconds(59))
        #expect(!fired)
        #expect(wheel.count == 1)
        wheel.advance(to: .now() + .seconds(61))
        #expect(fired)
    }

    @Test func reArmingWithAnEarlierDeadlineRefilesTheTimer() {
        let wheel = TimerWheel(eventLoop: loop)
        let watched = timer(wheel)
        var which = ""
        watched.arm(.seconds(60)) { which = "long" }
        watched.arm(.milliseconds(100)) { which = "short" }
        #expect(wheel.count == 1)
        wheel.advance(to: .now() + .milliseconds(200))
        #expect(which == "short")
    }

    @Test func anExpiryMayArmAndCancelOtherTimers() {
        let wheel = TimerWheel(eventLoop: loop)
        let first = timer(wheel)
        let second = timer(wheel)
        let third = timer(wheel)
        var log: [String] = []
        // `second` is due two ticks after `first`, whatever the clock does between the two
        // calls, and both are due in the same walk.
        first.arm(.milliseconds(100)) {
            log.append("first")
            second.cancel()
            third.arm(.milliseconds(100)) { log.append("third") }
        }
        second.arm(.milliseconds(120)) { log.append("second") }
        wheel.advance(to: .now() + .milliseconds(150))
        // Both were due in the same walk; `second` was cancelled before its turn to fire.
        #expect(log == ["first"])
        wheel.advance(to: .now() + .milliseconds(400))
        #expect(log == ["first", "third"])
        #expect(wheel.count == 0)
    }
}
