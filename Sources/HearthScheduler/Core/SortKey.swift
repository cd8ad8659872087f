/// The pass's sort key. Sorted with a hand-written introsort: the standard library's
/// stable merge sort allocates and copies more than 100,000 keys deserve.
struct SortKey {
    var priority: Double
    var submitted: Double
    var id: Int64
    var index: Int32

    @inline(__always)
    static func precedes(_ a: SortKey, _ b: SortKey) -> Bool {
        if a.priority != b.priority { return a.priority > b.priority }
        if a.submitted != b.submitted { return a.submitted < b.submitted }
        return a.id < b.id
    }

    static func sort(_ keys: inout [SortKey]) {
        keys.withUnsafeMutableBufferPointer { buf in
            guard buf.count > 1 else { return }
            quicksort(buf, 0, buf.count - 1, 2 * (Int.bitWidth - buf.count.leadingZeroBitCount))
        }
    }

    /// `depth` bounds the recursion depth of this call's path (introsort's guard).
    private static func quicksort(_ a: UnsafeMutableBufferPointer<SortKey>, _ lo: Int, _ hi: Int, _ depth: Int) {
        var lo = lo, hi = hi, depth = depth
        while hi - lo > 16 {
            if depth == 0 {
                // Degenerate input: fall back to the standard library for this range.
                let sorted = a[lo...hi].sorted(by: precedes)
                for (k, v) in sorted.enumerated() { a[lo + k] = v }
                return
            }
            depth -= 1
            // Median of three as pivot.
            let mid = lo + (hi - lo) / 2
            if precedes(a[mid], a[lo]) { a.swapAt(mid, lo) }
            if precedes(a[hi], a[lo]) { a.swapAt(hi, lo) }
            if precedes(a[hi], a[mid]) { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while precedes(a[i], pivot) { i += 1 }
                while precedes(pivot, a[j]) { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            // Recurse into the smaller half, loop on the larger.
            if j - lo < hi - i {
                if lo < j { quicksort(a, lo, j, depth) }
                lo = i
            } else {
                if i < hi { quicksort(a, i, hi, depth) }
                hi = j
            }
        }
        // Insertion sort for short ranges.
        if hi > lo {
            for k in (lo + 1)...hi {
                let v = a[k]
                var m = k - 1
                while m >= lo && precedes(v, a[m]) {
                    a[m + 1] = a[m]
                    m -= 1
                }
                a[m + 1] = v
            }
        }
    }
}
