/// Open-addressing map from byte strings to ids. Lookups take raw byte ranges (or the
/// concatenation of two), so probing never allocates; keys compare byte-exactly.
struct ByteStringIndex: @unchecked Sendable {
    private var storage: [UInt8] = []
    private var starts: [Int] = []
    private var ids: [Int32] = []
    private var slotEntry: [Int32]
    private var slotHash: [UInt64]
    private var mask: Int

    init(expectedCount: Int) {
        var size = 16
        while size < expectedCount * 2 { size <<= 1 }
        slotEntry = [Int32](repeating: -1, count: size)
        slotHash = [UInt64](repeating: 0, count: size)
        mask = size - 1
        starts.reserveCapacity(expectedCount + 1)
        starts.append(0)
        ids.reserveCapacity(expectedCount)
    }

    var count: Int { ids.count }

    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var h = seed
        for byte in bytes {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01B3
        }
        return h
    }

    @inline(__always)
    private static func finish(_ h: UInt64) -> UInt64 { (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9 }

    /// Adds `bytes -> id` unless the key is present already (first one wins). Returns whether it was added.
    @discardableResult
    mutating func insert<C: Collection>(_ key: C, id: Int32) -> Bool where C.Element == UInt8 {
        let bytes = Array(key)
        if bytes.withUnsafeBufferPointer({ lookup($0) }) != nil { return false }
        if (ids.count + 1) * 2 > slotEntry.count { grow() }
        let h = bytes.withUnsafeBufferPointer { Self.finish(Self.hash($0)) }
        storage.append(contentsOf: bytes)
        starts.append(storage.count)
        ids.append(id)
        place(entry: Int32(ids.count - 1), hash: h)
        return true
    }

    private mutating func place(entry: Int32, hash: UInt64) {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slotEntry[slot] >= 0 { slot = (slot + 1) & mask }
        slotEntry[slot] = entry
        slotHash[slot] = hash
    }

    private mutating func grow() {
        let entries = slotEntry
        let hashes = slotHash
        slotEntry = [Int32](repeating: -1, count: entries.count * 2)
        slotHash = [UInt64](repeating: 0, count: entries.count * 2)
        mask = slotEntry.count - 1
        for (slot, entry) in entries.enumerated() where entry >= 0 { place(entry: entry, hash: hashes[slot]) }
    }

    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        lookup(key, UnsafeBufferPointer(start: nil, count: 0))
    }

    /// Id of the concatenation `first + second`.
    func lookup(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) -> Int32? {
        let h = Self.finish(Self.hash(second, Self.hash(first)))
        let total = first.count + second.count
        var slot = Int(truncatingIfNeeded: h) & mask
        return storage.withUnsafeBufferPointer { stored -> Int32? in
            while true {
                let entry = slotEntry[slot]
                if entry < 0 { return nil }
                if slotHash[slot] == h {
                    let start = starts[Int(entry)]
                    if starts[Int(entry) + 1] - start == total, matches(stored, start, first, second) { return ids[Int(entry)] }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    @inline(__always)
    private func matches(_ stored: UnsafeBufferPointer<UInt8>, _ start: Int,
                         _ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>) -> Bool {
        for k in 0..<first.count where stored[start + k] != first[k] { return false }
        let offset = start + first.count
        for k in 0..<second.count where stored[offset + k] != second[k] { return false }
        return true
    }

    func lookup(_ string: String) -> Int32? {
        var copy = string
        return copy.withUTF8 { lookup($0) }
    }

    func lookup(_ first: String, _ second: String) -> Int32? {
        var a = first
        var b = second
        return a.withUTF8 { left in b.withUTF8 { right in lookup(left, right) } }
    }
}
