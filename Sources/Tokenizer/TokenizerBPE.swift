import Foundation

/// Byte-pair-encoding model (HF `models.BPE`): byte-level (GPT-2 style), or over Unicode scalars with
/// byte fallback (SentencePiece style). Merges may come from a merges list, from ranked tokens
/// (tiktoken) or from token scores (SentencePiece / GGUF "llama").
final class BPEModel: @unchecked Sendable {
    /// (left << 32 | right) -> (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    let byteLevel: Bool
    /// byteLevel: id of each byte's byte-level scalar; otherwise id of `<0xXX>` (byte fallback), -1 if absent.
    let byteIds: [Int32]
    /// Non byte-level: id of each single-scalar token.
    let scalarIds: [UInt32: Int32]
    let unknownId: Int32?
    let fuseUnknown: Bool
    let byteFallback: Bool
    /// Whole words found in the vocabulary skip merging (tiktoken, Llama-3 `ignore_merges`); keyed by raw bytes.
    let wholeWordIds: ByteStringIndex?
    private let cache = WordCache()

    init(merges: [UInt64: UInt64], byteLevel: Bool, byteIds: [Int32], scalarIds: [UInt32: Int32],
         unknownId: Int32?, fuseUnknown: Bool, byteFallback: Bool, wholeWordIds: ByteStringIndex?) {
        self.merges = merges
        self.byteLevel = byteLevel
        self.byteIds = byteIds
        self.scalarIds = scalarIds
        self.unknownId = unknownId
        self.fuseUnknown = fuseUnknown
        self.byteFallback = byteFallback
        self.wholeWordIds = wholeWordIds
    }

    /// Appends the ids of one pre-tokenized word (its raw UTF-8 bytes).
    func encodeWord(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, scratch: inout BPEScratch, into out: inout [Int]) {
        let word = UnsafeBufferPointer(rebasing: bytes[range])
        guard !word.isEmpty else { return }
        let cacheable = word.count <= 64
        var hash: UInt64 = 0
        if cacheable {
            hash = WordCache.hash(word)
            if cache.lookup(hash: hash, word: word, into: &out) { return }
        }
        let start = out.count
        if let wholeWordIds, let id = wholeWordIds.lookup(word) {
            out.append(Int(id))
        } else {
            initialSymbols(word, into: &scratch.symbols)
            mergeSymbols(&scratch)
            for id in scratch.symbols { out.append(Int(id)) }
        }
        if cacheable { cache.insert(hash: hash, word: word, ids: out[start...]) }
    }

    private func initialSymbols(_ word: UnsafeBufferPointer<UInt8>, into symbols: inout [Int32]) {
        symbols.removeAll(keepingCapacity: true)
        if byteLevel {
            for byte in word {
                let id = byteIds[Int(byte)]
                if id >= 0 { symbols.append(id) } else { appendUnknown(&symbols) }
            }
            return
        }
        var i = 0
        var previousWasUnknown = false
        while i < word.count {
            let (value, length) = Scalars.decode(word, i, word.count)
            if let id = scalarIds[value] {
                symbols.append(id)
                previousWasUnknown = false
            } else if byteFallback, (i..<(i + length)).allSatisfy({ byteIds[Int(word[$0])] >= 0 }) {
                for k in i..<(i + length) { symbols.append(byteIds[Int(word[k])]) }
                previousWasUnknown = false
            } else if let unknownId {
                if !(fuseUnknown && previousWasUnknown) { symbols.append(unknownId) }
                previousWasUnknown = true
            }
            i += length
        }
    }

    private func appendUnknown(_ symbols: inout [Int32]) {
        if let unknownId { symbols.append(unknownId) }
    }

    @inline(__always)
    private func lookupMerge(_ left: Int32, _ right: Int32) -> UInt64? {
        merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))]
    }

    /// Repeatedly merges the lowest-ranked adjacent pair (leftmost on ties), like HF `Word::merge_all`.
    private func mergeSymbols(_ scratch: inout BPEScratch) {
        let count = scratch.symbols.count
        if count < 2 { return }
        if count <= 48 {
            mergeSmall(&scratch.symbols, &scratch.pairRanks)
        } else {
            mergeLarge(&scratch)
        }
    }

    /// Quadratic scan; fastest for the short words byte-level pre-tokenizers produce.
    private func mergeSmall(_ symbols: inout [Int32], _ ranks: inout [UInt64]) {
        ranks.removeAll(keepingCapacity: true)
        for k in 0..<(symbols.count - 1) { ranks.append(lookupMerge(symbols[k], symbols[k + 1]) ?? .max) }
        while true {
            var best = UInt64.max
            var bestIndex = -1
            for k in 0..<ranks.count where ranks[k] < best {
                best = ranks[k]
                bestIndex = k
            }
            if bestIndex < 0 { return }
            symbols[bestIndex] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            symbols.remove(at: bestIndex + 1)
            ranks.remove(at: bestIndex)
            if bestIndex < ranks.count {
                ranks[bestIndex] = lookupMerge(symbols[bestIndex], symbols[bestIndex + 1]) ?? .max
            }
            if bestIndex > 0 {
                ranks[bestIndex - 1] = lookupMerge(symbols[bestIndex - 1], symbols[bestIndex]) ?? .max
            }
        }
    }

    /// Heap of candidate merges over a linked list; O(n log n) for long words (SentencePiece text has no pre-split).
    private func mergeLarge(_ scratch: inout BPEScratch) {
        let count = scratch.symbols.count
        scratch.previous.removeAll(keepingCapacity: true)
        scratch.next.removeAll(keepingCapacity: true)
        for k in 0..<count {
            scratch.previous.append(Int32(k - 1))
            scratch.next.append(k + 1 < count ? Int32(k + 1) : -1)
        }
        var heap = MergeHeap(storage: scratch.heapStorage)
        for k in 0..<(count - 1) {
            if let merge = lookupMerge(scratch.symbols[k], scratch.symbols[k + 1]) {
                heap.push(MergeCandidate(rank: UInt32(merge >> 32), position: UInt32(k), newId: Int32(truncatingIfNeeded: merge & 0xFFFF_FFFF)))
            }
        }
        var alive = [Bool](repeating: true, count: count)
        while let candidate = heap.pop() {
            let position = Int(candidate.position)
            guard alive[position] else { continue }
            let nextPosition = Int(scratch.next[position])
            guard nextPosition >= 0,
                  let merge = lookupMerge(scratch.symbols[position], scratch.symbols[nextPosition]),
                  Int32(truncatingIfNeeded: merge & 0xFFFF_FFFF) == candidate.newId else { continue }
            scratch.symbols[position] = candidate.newId
            alive[nextPosition] = false
            let after = scratch.next[nextPosition]
            scratch.next[position] = after
            if after >= 0 { scratch.previous[Int(after)] = Int32(position) }
            let before = Int(scratch.previous[position])
            if before >= 0, let m = lookupMerge(scratch.symbols[before], candidate.newId) {
                heap.push(MergeCandidate(rank: UInt32(m >> 32), position: UInt32(before), newId: Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)))
            }
            if after >= 0, let m = lookupMerge(candidate.newId, scratch.symbols[Int(after)]) {
                heap.push(MergeCandidate(rank: UInt32(m >> 32), position: UInt32(position), newId: Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)))
            }
        }
        scratch.heapStorage = heap.takeStorage()
        var result: [Int32] = []
        result.reserveCapacity(count)
        var k = 0
        while k >= 0 && k < count {
            result.append(scratch.symbols[k])
            k = Int(scratch.next[k])
        }
        scratch.symbols = result
    }
}

/// Per-call working memory, reused across the words of one encode.
struct BPEScratch {
    var symbols: [Int32] = []
    var pairRanks: [UInt64] = []
    var previous: [Int32] = []
    var next: [Int32] = []
    var heapStorage: [MergeCandidate] = []
}

struct MergeCandidate {
    var rank: UInt32
    var position: UInt32
    var newId: Int32

    @inline(__always) var key: UInt64 { UInt64(rank) << 32 | UInt64(position) }
}

/// Binary min-heap ordered by (rank, position).
struct MergeHeap {
    private var items: [MergeCandidate]

    init(storage: [MergeCandidate]) {
        items = storage
        items.removeAll(keepingCapacity: true)
    }

    func takeStorage() -> [MergeCandidate] { items }

    mutating func push(_ item: MergeCandidate) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent].key <= items[child].key { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> MergeCandidate? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var parent = 0
        let count = items.count
        while true {
            let left = 2 * parent + 1
            if left >= count { break }
            let right = left + 1
            let smallest = right < count && items[right].key < items[left].key ? right : left
            if items[parent].key <= items[smallest].key { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

/// Thread-safe word -> ids cache (the tokenizer is shared across threads).
final class WordCache: @unchecked Sendable {
    private struct Entry {
        var word: [UInt8]
        var ids: [Int32]
    }
    private var table: [UInt64: Entry] = [:]
    private let lock = NSLock()
    private let capacity = 100_000

    @inline(__always)
    static func hash(_ word: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in word {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01B3
        }
        return h
    }

    func lookup(hash: UInt64, word: UnsafeBufferPointer<UInt8>, into out: inout [Int]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let entry = table[hash], entry.word.count == word.count else { return false }
        let same = entry.word.withUnsafeBufferPointer { stored -> Bool in
            guard let storedBase = stored.baseAddress, let wordBase = word.baseAddress else { return word.isEmpty }
            return memcmp(storedBase, wordBase, word.count) == 0
        }
        guard same else { return false }
        for id in entry.ids { out.append(Int(id)) }
        return true
    }

    func insert(hash: UInt64, word: UnsafeBufferPointer<UInt8>, ids: ArraySlice<Int>) {
        lock.lock()
        defer { lock.unlock() }
        guard table.count < capacity else { return }
        table[hash] = Entry(word: Array(word), ids: ids.map { Int32($0) })
    }
}
