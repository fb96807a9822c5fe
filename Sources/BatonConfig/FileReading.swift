#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-system failure, with the system's `strerror` text.
struct FileError: Error, Sendable {
    var reason: String

    init(errno code: Int32) {
        reason = String(cString: strerror(code))
    }
}

/// Reading configuration files, error files and directories with the system's errors.
enum FileReading {
    enum Kind: Sendable { case file, directory }

    static func kind(of path: String) -> Result<Kind, FileError> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(FileError(errno: errno)) }
        return .success((info.st_mode & S_IFMT) == S_IFDIR ? .directory : .file)
    }

    /// The regular `*.cfg` files of `directory` whose names do not start with a dot, sorted by
    /// byte value as `scandir(..., alphasort)` does in the C locale, as full paths.
    static func configurationFiles(in directory: String) -> Result<[String], FileError> {
        guard let handle = opendir(directory) else { return .failure(FileError(errno: errno)) }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard !name.hasPrefix("."), name.hasSuffix(".cfg") else { continue }
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if case .success(.file) = kind(of: path), isRegular(path) { names.append(path) }
        }
        return .success(names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
    }

    private static func isRegular(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    static func read(_ path: String) -> Result<[UInt8], FileError> {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return .failure(FileError(errno: errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(FileError(errno: errno))
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return .success(bytes)
    }

    /// The file's bytes, or nil when it cannot be read (or is a directory).
    static func contents(of path: String) -> [UInt8]? {
        guard case .success(.file) = kind(of: path), case .success(let bytes) = read(path) else { return nil }
        return bytes
    }

    /// Splits on LF; a trailing CR is left for the lexer, which ends lines there.
    static func lines(of bytes: [UInt8]) -> [[UInt8]] {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if bytes.last == 0x0A { lines.removeLast() }
        return lines
    }
}

private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}
