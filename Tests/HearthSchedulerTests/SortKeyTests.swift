import Foundation
import Testing
@testable import HearthScheduler

@Suite struct SortKeyTests {
    /// The pass's introsort gives the standard library's order, duplicates included.
    @Test(arguments: [0, 1, 2, 17, 100, 5_000])
    func matchesStandardSort(count: Int) {
        var rng = SeededGenerator(seed: UInt64(count) + 1)
        var keys = (0..<count).map { i in
            SortKey(priority: Double(Int(rng.unit() * 20)), submitted: Double(Int(rng.unit() * 5)),
                id: Int64(rng.unit() * 1e6), index: Int32(i))
        }
        let expected = keys.sorted(by: SortKey.precedes).map { "\($0.priority)/\($0.submitted)/\($0.id)" }
        SortKey.sort(&keys)
        // Same sequence of keys (ties may swap indices), a permutation, and in order.
        #expect(keys.map { "\($0.priority)/\($0.submitted)/\($0.id)" } == expected)
        #expect(Set(keys.map(\.index)) == Set((0..<count).map { Int32($0) }))
        for (a, b) in zip(keys, keys.dropFirst()) { #expect(!SortKey.precedes(b, a)) }
    }
}
