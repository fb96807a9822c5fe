/// `balance random`: HAProxy's default draws two servers at random, weighted, and keeps the less
/// loaded one (the "power of two choices").
enum RandomChoice {
    static func pick(from group: ServerGroup, excluding excluded: ServerState?) -> ServerState? {
        let candidates = group.members.filter { $0.isUsable && $0 !== excluded }
        guard !candidates.isEmpty else { return nil }
        let total = candidates.reduce(0) { $0 + $1.weight }
        func draw() -> ServerState {
            var point = Int.random(in: 0..<total)
            for server in candidates {
                point -= server.weight
                if point < 0 { return server }
            }
            return candidates[candidates.count - 1]
        }
        let a = draw()
        let b = draw()
        return b.currentConnections * a.weight < a.currentConnections * b.weight ? b : a
    }
}
