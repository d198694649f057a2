// Prefix-cache keys. A block's hash chains its parent's hash, its token ids and extra keys
// (the cache salt on the first block) through SHA-256, so two different prefixes cannot share a
// cached block by accident (a 64-bit hash could collide and silently corrupt outputs).

/// A 256-bit block hash; equal hashes mean equal token prefixes (and salts).
struct BlockHash: Hashable, Sendable, CustomStringConvertible {
    var words: (UInt64, UInt64, UInt64, UInt64)

    init(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) { words = (w0, w1, w2, w3) }

    static func == (a: BlockHash, b: BlockHash) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    func hash(into hasher: inout Hasher) { hasher.combine(words.0); hasher.combine(words.1) }

    var description: String {
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return hex(words.0) + hex(words.1) + hex(words.2) + hex(words.3)
    }

    /// Root parent of every chain (vLLM `NONE_HASH`): random per engine so hashes are not predictable
    /// across processes.
    static func randomRoot() -> BlockHash {
        var rng = SystemRandomNumberGenerator()
        return BlockHash(rng.next(), rng.next(), rng.next(), rng.next())
    }

    /// Hash of a full block: SHA-256(parent | count | tokens as u32 LE | extra length | extra bytes).
    /// Streams the message through the hasher, so caching a block allocates nothing.
    static func chained(parent: BlockHash, tokens: ArraySlice<Int>, extra: [UInt8]?) -> BlockHash {
        var hasher = SHA256Digest()
        hasher.append(bigEndian: parent.words.0)
        hasher.append(bigEndian: parent.words.1)
        hasher.append(bigEndian: parent.words.2)
        hasher.append(bigEndian: parent.words.3)
        hasher.append(littleEndian: UInt32(truncatingIfNeeded: tokens.count))
        for token in tokens { hasher.append(littleEndian: UInt32(truncatingIfNeeded: token)) }
        hasher.append(littleEndian: UInt32(truncatingIfNeeded: extra?.count ?? 0))
        if let extra { for byte in extra { hasher.append(byte) } }
        let digest = hasher.finish()
        return BlockHash(digest.0, digest.1, digest.2, digest.3)
    }
}

/// Minimal streaming SHA-256 (FIPS 180-4); no Foundation/CryptoKit dependency on Linux. Its state
/// and 64-byte block live inline, so hashing never touches the heap.
struct SHA256Digest {
    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    /// The message block being filled (64 bytes).
    private var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var blockFill = 0
    private var messageBytes: UInt64 = 0

    init() {}

    /// Returns the digest of `input` as four big-endian 64-bit words.
    static func hash(_ input: [UInt8]) -> [UInt64] {
        var hasher = SHA256Digest()
        for byte in input { hasher.append(byte) }
        let digest = hasher.finish()
        return [digest.0, digest.1, digest.2, digest.3]
    }

    mutating func append(_ byte: UInt8) {
        let index = blockFill
        withUnsafeMutableBytes(of: &block) { $0[index] = byte }
        blockFill += 1
        messageBytes &+= 1
        if blockFill == 64 {
            compress()
            blockFill = 0
        }
    }

    mutating func append(littleEndian value: UInt32) {
        for shift in stride(from: 0, through: 24, by: 8) { append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func append(bigEndian value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    /// Pads, processes the last block and returns the digest as four big-endian 64-bit words.
    mutating func finish() -> (UInt64, UInt64, UInt64, UInt64) {
        let bitLength = messageBytes &* 8
        append(0x80)
        while blockFill != 56 { append(0) }
        append(bigEndian: bitLength)
        let s = state
        return (UInt64(s.0) << 32 | UInt64(s.1), UInt64(s.2) << 32 | UInt64(s.3),
                UInt64(s.4) << 32 | UInt64(s.5), UInt64(s.6) << 32 | UInt64(s.7))
    }

    private mutating func compress() {
        var (a, b, c, d, e, f, g, h) = state
        // The message schedule, 16 words kept in a ring (w[i] lives at i % 16).
        var ring: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeBytes(of: block) { bytes in
            withUnsafeMutableBytes(of: &ring) { raw in
                let w = raw.bindMemory(to: UInt32.self)
                for i in 0..<16 {
                    w[i] = UInt32(bytes[i * 4]) << 24 | UInt32(bytes[i * 4 + 1]) << 16
                        | UInt32(bytes[i * 4 + 2]) << 8 | UInt32(bytes[i * 4 + 3])
                }
                SHA256Digest.roundConstants.withUnsafeBufferPointer { k in
                    for i in 0..<64 {
                        if i >= 16 {
                            let w15 = w[(i - 15) & 15], w2 = w[(i - 2) & 15]
                            let s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3)
                            let s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10)
                            w[i & 15] = w[i & 15] &+ s0 &+ w[(i - 7) & 15] &+ s1
                        }
                        let sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                        let choose = (e & f) ^ (~e & g)
                        let t1 = h &+ sum1 &+ choose &+ k[i] &+ w[i & 15]
                        let sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                        let majority = (a & b) ^ (a & c) ^ (b & c)
                        let t2 = sum0 &+ majority
                        h = g; g = f; f = e; e = d &+ t1
                        d = c; c = b; b = a; a = t1 &+ t2
                    }
                }
            }
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d,
                 state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h)
    }
}

@inline(__always)
private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
