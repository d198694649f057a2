import Foundation

/// Seeded xoshiro256** generator: the same seed gives the same prompts and arrival times on every machine.
public struct BenchRandom: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mix = seed
        func splitMix() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform integer in lower...upper.
    public mutating func int(in range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    public mutating func standardNormal() -> Double {
        let u1 = max(uniform(), 1e-300)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * uniform())
    }

    /// Gamma(shape, scale) by Marsaglia and Tsang; shape < 1 uses the u^(1/shape) boost.
    public mutating func gamma(shape: Double, scale: Double) -> Double {
        if shape < 1 {
            return gamma(shape: shape + 1, scale: scale) * pow(max(uniform(), 1e-300), 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = standardNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = uniform()
            if u < 1 - 0.0331 * x * x * x * x || log(max(u, 1e-300)) < 0.5 * x * x + d * (1 - v + log(v)) {
                return d * v * scale
            }
        }
    }
}

/// Request send times, as vLLM's `get_request`: the first request at 0, then gaps drawn from
/// Gamma(shape = burstiness, scale = 1 / (rate * burstiness)), whose mean is 1 / rate. burstiness 1 is a Poisson
/// process; smaller is burstier. An infinite rate sends everything at once.
public enum BenchArrivals {
    public static func sendTimes(count: Int, requestRate: Double, burstiness: Double,
                                 random: inout BenchRandom) -> [Double] {
        guard count > 0 else { return [] }
        guard requestRate.isFinite, requestRate > 0 else { return Array(repeating: 0, count: count) }
        var times = [0.0]
        var time = 0.0
        let scale = 1 / (requestRate * burstiness)
        for _ in 1..<count {
            time += random.gamma(shape: burstiness, scale: scale)
            times.append(time)
        }
        return times
    }
}
