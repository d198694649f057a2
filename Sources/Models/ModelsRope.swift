import Foundation

/// Inverse rotary frequencies (rotaryDim / 2 values) with any context scaling folded in, the form
/// vk_rope takes.
///
/// Computed in Float like the HF reference (its inv_freq is a float32 tensor), so rounding matches.
public func ropeInverseFrequencies(config: LlamaConfig, freqFactors: [Float]? = nil) -> [Float] {
    let half = config.rotaryDim / 2
    let base = Float(config.ropeTheta)
    var inverse = (0..<half).map { i in 1 / powf(base, Float(2 * i) / Float(config.rotaryDim)) }
    switch config.ropeScaling {
    case .none:
        break
    case let .linear(factor):
        inverse = inverse.map { $0 / Float(factor) }
    case let .llama3(factor, lowFreqFactor, highFreqFactor, originalMax):
        inverse = inverse.map {
            llama3Scaled($0, factor: Float(factor), lowFreqFactor: Float(lowFreqFactor),
                         highFreqFactor: Float(highFreqFactor), originalMax: Float(originalMax))
        }
    }
    // GGUF files carry llama3-style scaling as per-frequency divisors (rope_freqs.weight).
    if let freqFactors {
        for i in 0..<min(half, freqFactors.count) where freqFactors[i] != 0 {
            inverse[i] /= freqFactors[i]
        }
    }
    return inverse
}

/// Long wavelengths are slowed by `factor`, short ones kept, the band between blended smoothly.
private func llama3Scaled(_ inverseFrequency: Float, factor: Float, lowFreqFactor: Float,
                          highFreqFactor: Float, originalMax: Float) -> Float {
    let lowFreqWavelength = originalMax / lowFreqFactor
    let highFreqWavelength = originalMax / highFreqFactor
    let wavelength = 2 * Float.pi / inverseFrequency
    if wavelength < highFreqWavelength { return inverseFrequency }
    if wavelength > lowFreqWavelength { return inverseFrequency / factor }
    let smooth = (originalMax / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
    return (1 - smooth) * inverseFrequency / factor + smooth * inverseFrequency
}
