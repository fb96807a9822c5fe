/// `balance leastconn`: the usable server with the fewest current connections relative to its
/// weight; ties go round robin so equal servers share the load.
enum LeastConnections {
    static func pick(from group: ServerGroup, excluding excluded: ServerState?) -> ServerState? {
        let count = group.members.count
        let start = group.nextStart() % count
        var best: ServerState?
        for offset in 0..<count {
            let server = group.members[(start + offset) % count]
            guard server.isUsable, server !== excluded else { continue }
            if let current = best {
                // Compare current/weight without division: a/wa < b/wb  <=>  a*wb < b*wa.
                if server.currentConnections * current.weight < current.currentConnections * server.weight {
                    best = server
                }
            } else {
                best = server
            }
        }
        return best
    }
}
