/// Host-side bf16 conversion used when uploading weights (round to nearest even, NaN kept quiet).
enum BFloat16 {
    static func fromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    static func toFloat(_ value: UInt16) -> Float { Float(bitPattern: UInt32(value) << 16) }

    /// Converts `count` floats into `output` (caller-sized).
    static func convert(_ input: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<UInt16>) {
        for index in 0..<count { output[index] = fromFloat(input[index]) }
    }
}
