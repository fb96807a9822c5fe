/// `sc_*`, `sc0_*`..`sc2_*` and `src_*` fetches: counters of stick-table entries, tracked by
/// the session (`track-sc*`) or looked up by the client's address.
extension FetchTable {
    static func addStickCounterFetches(to table: inout [String: Definition]) {
        for counter in StickCounterName.allCases {
            let name = counter.rawValue
            table["sc_\(name)"] = Definition(minArguments: 1, maxArguments: 2) { args in
                guard let slot = Int(args[0]), (0...2).contains(slot) else {
                    throw RuleError("invalid arg 1 in fetch method 'sc_\(name)' : expects a stick counter number between 0 and 2 ('\(args[0])').")
                }
                return (.stickCounter(.tracked(slot: slot, table: args.count > 1 ? args[1] : nil), counter), [])
            }
            for slot in 0...2 {
                table["sc\(slot)_\(name)"] = Definition(minArguments: 0, maxArguments: 1) { args in
                    (.stickCounter(.tracked(slot: slot, table: args.first), counter), [])
                }
            }
            guard counter != .tracked else { continue }
            table["src_\(name)"] = Definition(minArguments: 0, maxArguments: 1) { args in
                (.stickCounter(.source(table: args.first), counter), [])
            }
        }
    }
}

/// Which entry a stick-counter fetch reads.
public enum StickSource: Sendable, Hashable {
    /// The entry tracked in slot 0, 1 or 2 (its key looked up in another table when given).
    case tracked(slot: Int, table: String?)
    /// The entry of the client's address in a table (the current proxy's when nil).
    case source(table: String?)
}

extension StickSource {
    func read(_ counter: StickCounterName, _ subject: any RuleSubject, proxyTable: String?) -> Int64? {
        switch self {
        case .tracked(let slot, let tableName):
            guard let tracked = subject.trackedCounters[slot] else {
                return counter == .tracked ? 0 : nil
            }
            if let tableName, tableName != tracked.table.definition.name {
                return nil
            }
            return tracked.table.read(counter, of: tracked.entry)
        case .source(let tableName):
            guard let name = tableName ?? proxyTable, let table = subject.stickTable(named: name),
                  let address = subject.clientAddress else { return nil }
            guard let key = StickKey.make(.ip(address), for: table.definition) else { return nil }
            let creates = counter == .incrementGPC0 || counter == .incrementGPC1
            guard let entry = creates ? table.entry(for: key) : table.existingEntry(for: key) else { return 0 }
            return table.read(counter, of: entry)
        }
    }
}
