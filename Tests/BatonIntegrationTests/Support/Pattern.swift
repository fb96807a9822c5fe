import Foundation
import NIOCore

/// The bytes of large test bodies: byte `i` of a stream is `i % 251`. The period is prime, so a
/// lost, duplicated or reordered piece of a stream shows up as a mismatch. Both checking and
/// generating work on whole runs of bytes (memcmp, ByteBuffer slices), not byte by byte.
enum Pattern {
    static let period = 251
    /// The pattern from offset 0, long enough that any run of up to `maxRun` bytes starting at
    /// any phase is one contiguous slice.
    static let maxRun = 1 << 20
    static let bytes: [UInt8] = (0..<(maxRun + period)).map { UInt8($0 % period) }
    static let buffer: ByteBuffer = ByteBuffer(bytes: bytes)

    /// `count` (≤ maxRun) pattern bytes as they appear at stream offset `offset`.
    static func slice(at offset: Int, count: Int) -> ByteBuffer {
        precondition(count <= maxRun)
        return buffer.getSlice(at: offset % period, length: count)!
    }

    /// Whether `chunk` equals the pattern at stream offset `offset`.
    static func matches(_ chunk: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        var done = 0
        while done < chunk.count {
            let run = min(maxRun, chunk.count - done)
            let phase = (offset + done) % period
            let equal = bytes.withUnsafeBytes { pattern in
                memcmp(chunk.baseAddress! + done, pattern.baseAddress! + phase, run) == 0
            }
            if !equal { return false }
            done += run
        }
        return true
    }

    /// Writes a file of `count` pattern bytes.
    static func writeFile(_ path: String, count: Int) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var written = 0
        while written < count {
            let run = min(maxRun - maxRun % period, count - written)
            try handle.write(contentsOf: bytes[0..<run])
            written += run
        }
    }
}
