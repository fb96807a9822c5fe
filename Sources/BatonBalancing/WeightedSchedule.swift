/// Builds a weighted round-robin order in which each server appears as often as its weight and
/// no server gets a long run of consecutive picks (the "smooth" weighted round robin).
enum WeightedSchedule {
    static func smooth(weights: [Int]) -> [Int] {
        let positive = weights.map { max(0, $0) }
        let divisor = positive.reduce(0) { gcd($0, $1) }
        guard divisor > 0 else { return [] }
        let reduced = positive.map { $0 / divisor }
        let total = reduced.reduce(0, +)
        var current = [Int](repeating: 0, count: reduced.count)
        var order: [Int] = []
        order.reserveCapacity(total)
        for _ in 0..<total {
            var best = -1
            for i in reduced.indices where reduced[i] > 0 {
                current[i] += reduced[i]
                if best < 0 || current[i] > current[best] { best = i }
            }
            current[best] -= total
            order.append(best)
        }
        return order
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
