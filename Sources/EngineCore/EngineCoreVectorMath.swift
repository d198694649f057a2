// Vocabulary-wide loops of the sampler, written as plain loops over unsafe pointers that LLVM
// auto-vectorizes (no traps, no generic SIMD calls, which Swift does not specialize well).
// Buffers are padded to a multiple of 8 with -inf, which every function treats as masked.

enum VectorMath {
    static let width = 8

    static func paddedCount(_ count: Int) -> Int { (count + width - 1) / width * width }

    /// Copies `count` values, NaN -> -inf (a broken row must not poison sampling), and fills the
    /// padding up to `paddedCount(count)` with -inf.
    static func sanitizedCopy(_ source: UnsafePointer<Float>, count: Int, to destination: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let v = source[i]
            destination[i] = v != v ? -.infinity : v
        }
        for i in count..<paddedCount(count) { destination[i] = -.infinity }
    }

    /// Largest value of a NaN-free buffer (8 independent running maxima for throughput).
    static func max(_ values: UnsafePointer<Float>, paddedCount: Int) -> Float {
        var m0 = -Float.infinity, m1 = m0, m2 = m0, m3 = m0, m4 = m0, m5 = m0, m6 = m0, m7 = m0
        var i = 0
        while i + 8 <= paddedCount {
            m0 = values[i] > m0 ? values[i] : m0
            m1 = values[i + 1] > m1 ? values[i + 1] : m1
            m2 = values[i + 2] > m2 ? values[i + 2] : m2
            m3 = values[i + 3] > m3 ? values[i + 3] : m3
            m4 = values[i + 4] > m4 ? values[i + 4] : m4
            m5 = values[i + 5] > m5 ? values[i + 5] : m5
            m6 = values[i + 6] > m6 ? values[i + 6] : m6
            m7 = values[i + 7] > m7 ? values[i + 7] : m7
            i += 8
        }
        while i < paddedCount { m0 = values[i] > m0 ? values[i] : m0; i += 1 }
        let a = m0 > m1 ? m0 : m1, b = m2 > m3 ? m2 : m3, c = m4 > m5 ? m4 : m5, d = m6 > m7 ? m6 : m7
        let e = a > b ? a : b, f = c > d ? c : d
        return e > f ? e : f
    }

    /// values[i] *= factor (-inf stays -inf for factor > 0).
    static func scale(_ values: UnsafeMutablePointer<Float>, paddedCount: Int, by factor: Float) {
        for i in 0..<paddedCount { values[i] *= factor }
    }

    /// Sets values below `cutoff` to -inf.
    static func maskBelow(_ values: UnsafeMutablePointer<Float>, paddedCount: Int, cutoff: Float) {
        for i in 0..<paddedCount { values[i] = values[i] < cutoff ? -.infinity : values[i] }
    }

    /// weights[i] = exp(values[i] - shift) (exactly 0 for -inf) and returns the sum.
    static func expShifted(_ values: UnsafePointer<Float>, paddedCount: Int, shift: Float,
                           into weights: UnsafeMutablePointer<Float>) -> Double {
        for i in 0..<paddedCount { weights[i] = exp(values[i] - shift) }
        var total = 0.0
        var i = 0
        while i < paddedCount {
            // Eight float partial sums per 1024 values, then double, to bound rounding error.
            var p0: Float = 0, p1: Float = 0, p2: Float = 0, p3: Float = 0
            var p4: Float = 0, p5: Float = 0, p6: Float = 0, p7: Float = 0
            let end = Swift.min(paddedCount, i + 1024)
            while i + 8 <= end {
                p0 += weights[i]; p1 += weights[i + 1]; p2 += weights[i + 2]; p3 += weights[i + 3]
                p4 += weights[i + 4]; p5 += weights[i + 5]; p6 += weights[i + 6]; p7 += weights[i + 7]
                i += 8
            }
            while i < end { p0 += weights[i]; i += 1 }
            total += Double(((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7)))
        }
        return total
    }

    /// How many of the first `count` values are >= `value`.
    static func countAtLeast(_ values: UnsafePointer<Float>, count: Int, value: Float) -> Int {
        var total = 0
        for i in 0..<count { total &+= values[i] >= value ? 1 : 0 }
        return total
    }

    /// First index holding `value` (which must occur in the buffer).
    static func firstIndex(of value: Float, in values: UnsafePointer<Float>, count: Int) -> Int {
        for i in 0..<count where values[i] == value { return i }
        return 0
    }

    /// expf without libm calls, so loops over it vectorize (Cephes polynomial, relative error
    /// < 2e-7 on the range); -inf and anything below -87.3 give exactly 0.
    @inline(__always)
    static func exp(_ v: Float) -> Float {
        let x = v < -87.3 ? -87.3 : (v > 88.3 ? 88.3 : v)
        // Adding 1.5 * 2^23 rounds x / ln2 to the nearest integer n, held in the low mantissa bits.
        let t = x * 1.442_695_04 + 12_582_912.0
        let n = t - 12_582_912.0
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        let z = r * r
        var y: Float = 1.987_569_15e-4
        y = y * r + 1.398_199_95e-3
        y = y * r + 8.333_451_9e-3
        y = y * r + 4.166_579_59e-2
        y = y * r + 1.666_666_55e-1
        y = y * r + 5.000_000_12e-1
        y = y * z + r + 1
        let scale = Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        return v < -87.3 ? 0 : y * scale
    }
}
