// Vocabulary-wide loops of the sampler on 8-wide SIMD (AVX2 in release builds). Buffers handed to
// these functions are padded to a multiple of 8 with -inf, which every function treats as masked.

enum VectorMath {
    static let width = 8

    static func paddedCount(_ count: Int) -> Int { (count + width - 1) / width * width }

    /// Copies `count` values, NaN -> -inf (a broken row must not poison sampling), and fills the
    /// padding up to `paddedCount(count)` with -inf.
    static func sanitizedCopy(_ source: UnsafePointer<Float>, count: Int, to destination: UnsafeMutablePointer<Float>) {
        let vectorEnd = count / width * width
        var i = 0
        while i < vectorEnd {
            let v = load(source + i)
            store(v.replacing(with: -.infinity, where: v .!= v), destination + i)
            i += width
        }
        while i < count { destination[i] = source[i].isNaN ? -.infinity : source[i]; i += 1 }
        while i < paddedCount(count) { destination[i] = -.infinity; i += 1 }
    }

    /// Largest value of a padded, NaN-free buffer.
    static func max(_ values: UnsafePointer<Float>, paddedCount: Int) -> Float {
        var best = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i < paddedCount {
            best = pointwiseMax(best, load(values + i))
            i += width
        }
        return best.max()
    }

    /// values[i] *= factor over the padded buffer (-inf stays -inf for factor > 0).
    static func scale(_ values: UnsafeMutablePointer<Float>, paddedCount: Int, by factor: Float) {
        var i = 0
        while i < paddedCount {
            store(load(values + i) * factor, values + i)
            i += width
        }
    }

    /// Sets values below `cutoff` to -inf.
    static func maskBelow(_ values: UnsafeMutablePointer<Float>, paddedCount: Int, cutoff: Float) {
        var i = 0
        while i < paddedCount {
            let v = load(values + i)
            store(v.replacing(with: -.infinity, where: v .< cutoff), values + i)
            i += width
        }
    }

    /// weights[i] = exp(values[i] - shift) (exactly 0 for -inf) and returns the sum.
    static func expShifted(_ values: UnsafePointer<Float>, paddedCount: Int, shift: Float,
                           into weights: UnsafeMutablePointer<Float>) -> Double {
        var total = 0.0
        var i = 0
        while i < paddedCount {
            // Sum in float lanes per 1024 values, then in double, to keep rounding error small.
            var partial = SIMD8<Float>(repeating: 0)
            let blockEnd = Swift.min(paddedCount, i + 1024)
            while i < blockEnd {
                let w = exp(load(values + i) - shift)
                store(w, weights + i)
                partial += w
                i += width
            }
            total += Double(partial.sum())
        }
        return total
    }

    /// How many of the first `count` values are >= `value`.
    static func countAtLeast(_ values: UnsafePointer<Float>, count: Int, value: Float) -> Int {
        let vectorEnd = count / width * width
        var lanes = SIMD8<Int32>(repeating: 0)
        let threshold = SIMD8<Float>(repeating: value)
        var i = 0
        while i < vectorEnd {
            lanes &+= SIMD8<Int32>(repeating: 0).replacing(with: 1, where: load(values + i) .>= threshold)
            i += width
        }
        var total = Int(lanes.wrappedSum())
        while i < count { if values[i] >= value { total += 1 }; i += 1 }
        return total
    }

    /// First index holding `value` (which must occur in the buffer).
    static func firstIndex(of value: Float, in values: UnsafePointer<Float>, count: Int) -> Int {
        for i in 0..<count where values[i] == value { return i }
        return 0
    }

    /// exp on 8 lanes (Cephes expf polynomial; relative error ~1e-7); -inf and very negative -> 0.
    @inline(__always)
    static func exp(_ input: SIMD8<Float>) -> SIMD8<Float> {
        let underflow = input .< -87.3
        var x = input.clamped(lowerBound: SIMD8(repeating: -87.3), upperBound: SIMD8(repeating: 88.3))
        let n = (x * 1.442_695_04 + 0.5).rounded(.down)
        x = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        let z = x * x
        var y = SIMD8<Float>(repeating: 1.987_569_15e-4)
        y = y * x + 1.398_199_95e-3
        y = y * x + 8.333_451_9e-3
        y = y * x + 4.166_579_59e-2
        y = y * x + 1.666_666_55e-1
        y = y * x + 5.000_000_12e-1
        y = y * z + x + 1
        let exponent = (SIMD8<Int32>(n, rounding: .towardZero) &+ 127) &<< 23
        let scale = unsafeBitCast(exponent, to: SIMD8<Float>.self)
        return (y * scale).replacing(with: 0, where: underflow)
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}
