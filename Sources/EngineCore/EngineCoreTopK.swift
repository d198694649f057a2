// Partial selection of the largest entries of a logits row without sorting the vocabulary:
// a bounded min-heap, O(V log k), reusing its storage across calls.

struct TopKSelector {
    private var heapValues: [Float] = []
    private var heapIndices: [Int32] = []

    /// Writes the indices of the `k` largest finite-or-+inf values (masked -inf entries are
    /// skipped) into `out`, largest first, ties broken by the lower index. Returns how many.
    mutating func select(_ values: UnsafeBufferPointer<Float>, k: Int, into out: inout [Int32]) -> Int {
        out.removeAll(keepingCapacity: true)
        let limit = min(k, values.count)
        guard limit > 0 else { return 0 }
        heapValues.removeAll(keepingCapacity: true)
        heapIndices.removeAll(keepingCapacity: true)
        // The worst kept entry (heap root) in locals: most values lose to it without touching the heap.
        var rootValue = -Float.infinity
        var rootIndex = Int32.max
        for i in 0..<values.count {
            let v = values[i]
            if v == -Float.infinity || v.isNaN { continue }
            if heapValues.count < limit {
                heapValues.append(v)
                heapIndices.append(Int32(i))
                siftUp(heapValues.count - 1)
            } else if v > rootValue || (v == rootValue && Int32(i) < rootIndex) {
                heapValues[0] = v
                heapIndices[0] = Int32(i)
                siftDown(0)
            } else {
                continue
            }
            if heapValues.count == limit {
                rootValue = heapValues[0]
                rootIndex = heapIndices[0]
            }
        }
        // Pop worst-first, then reverse into best-first order.
        var count = heapValues.count
        out.reserveCapacity(count)
        while count > 0 {
            out.append(heapIndices[0])
            count -= 1
            heapValues.swapAt(0, count)
            heapIndices.swapAt(0, count)
            heapValues.removeLast()
            heapIndices.removeLast()
            if count > 0 { siftDown(0) }
        }
        out.reverse()
        return out.count
    }

    @inline(__always)
    private func isBetter(_ v: Float, _ i: Int32, than w: Float, _ j: Int32) -> Bool {
        v > w || (v == w && i < j)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            // Min-heap on "better": the worst entry sits at the root.
            if isBetter(heapValues[parent], heapIndices[parent], than: heapValues[child], heapIndices[child]) {
                heapValues.swapAt(parent, child)
                heapIndices.swapAt(parent, child)
                child = parent
            } else { return }
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let n = heapValues.count
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var worst = parent
            if left < n && isBetter(heapValues[worst], heapIndices[worst], than: heapValues[left], heapIndices[left]) {
                worst = left
            }
            if right < n && isBetter(heapValues[worst], heapIndices[worst], than: heapValues[right], heapIndices[right]) {
                worst = right
            }
            if worst == parent { return }
            heapValues.swapAt(parent, worst)
            heapIndices.swapAt(parent, worst)
            parent = worst
        }
    }
}
