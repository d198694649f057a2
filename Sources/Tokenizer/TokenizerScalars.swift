/// Character classes the pre-tokenizer regexes distinguish (\p{L}, \p{N}, \s, anything else).
enum ScalarClass: UInt8 {
    case other = 0, letter = 1, number = 2, whitespace = 3
}

enum Scalars {
    static let asciiClass: [ScalarClass] = (0..<128).map { value -> ScalarClass in
        switch value {
        case 0x41...0x5A, 0x61...0x7A: return .letter
        case 0x30...0x39: return .number
        case 0x09...0x0D, 0x20: return .whitespace
        default: return .other
        }
    }

    @inline(__always)
    static func classify(_ value: UInt32) -> ScalarClass {
        if value < 128 { return asciiClass[Int(value)] }
        guard let scalar = Unicode.Scalar(value) else { return .other }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return properties.isWhitespace ? .whitespace : .other
        }
    }

    /// Decodes the UTF-8 scalar starting at `index` (never past `end`); malformed bytes decode as
    /// themselves with length 1 so scanning always advances.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int, _ end: Int) -> (value: UInt32, length: Int) {
        let b0 = UInt32(bytes[index])
        if b0 < 0x80 { return (b0, 1) }
        if b0 >= 0xF0, index + 3 < end {
            let v = (b0 & 0x07) << 18 | (UInt32(bytes[index + 1]) & 0x3F) << 12
                | (UInt32(bytes[index + 2]) & 0x3F) << 6 | (UInt32(bytes[index + 3]) & 0x3F)
            return (v, 4)
        }
        if b0 >= 0xE0, index + 2 < end {
            let v = (b0 & 0x0F) << 12 | (UInt32(bytes[index + 1]) & 0x3F) << 6 | (UInt32(bytes[index + 2]) & 0x3F)
            return (v, 3)
        }
        if b0 >= 0xC0, index + 1 < end {
            return ((b0 & 0x1F) << 6 | (UInt32(bytes[index + 1]) & 0x3F), 2)
        }
        return (0xFFFD, 1)
    }

    /// Byte length of the UTF-8 sequence introduced by `lead`.
    @inline(__always)
    static func sequenceLength(_ lead: UInt8) -> Int {
        if lead < 0x80 { return 1 }
        if lead >= 0xF0 { return 4 }
        if lead >= 0xE0 { return 3 }
        if lead >= 0xC0 { return 2 }
        return 1
    }

    static func isPunctuation(_ value: UInt32) -> Bool {
        if (0x21...0x2F).contains(value) || (0x3A...0x40).contains(value)
            || (0x5B...0x60).contains(value) || (0x7B...0x7E).contains(value) { return true }
        guard value >= 128, let scalar = Unicode.Scalar(value) else { return false }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}
