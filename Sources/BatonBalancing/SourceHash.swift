/// `balance source`: the client's address hashed onto the servers by weight (HAProxy's default
/// map-based hashing), so one client keeps reaching the same server while the set is unchanged.
/// When the chosen server is unusable, the next usable one in the map takes its place.
enum SourceHash {
    static func pick(from group: ServerGroup, hash: UInt64, excluding excluded: ServerState?) -> ServerState? {
        let schedule = group.schedule
        guard !schedule.isEmpty else { return nil }
        let start = Int(hash % UInt64(schedule.count))
        for offset in 0..<schedule.count {
            let server = group.members[schedule[(start + offset) % schedule.count]]
            if server.isUsable && server !== excluded { return server }
        }
        return nil
    }

    /// FNV-1a over the address bytes: stable across processes and reloads.
    public static func hash(addressBytes: some Sequence<UInt8>) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in addressBytes {
            value ^= UInt64(byte)
            value = value &* 0x0100_0000_01b3
        }
        return value
    }
}

extension ServerSelector {
    /// The hash `balance source` uses for a client address given as its raw bytes.
    public static func sourceHash(addressBytes: some Sequence<UInt8>) -> UInt64 {
        SourceHash.hash(addressBytes: addressBytes)
    }
}
