/// GPT-2's reversible byte <-> printable-scalar mapping used by byte-level BPE vocabularies.
enum ByteLevelTable {
    /// Scalar that stands for each byte in a byte-level vocabulary.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// Inverse of `byteToScalar`, indexed by scalar value; -1 where a scalar stands for no byte.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (byte, scalar) in byteToScalar.enumerated() { table[Int(scalar)] = Int16(byte) }
        return table
    }()

    /// UTF-8 of the byte-level string that represents `bytes`.
    static func encode<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        var out: [UInt8] = []
        for byte in bytes {
            let scalar = byteToScalar[Int(byte)]
            if scalar < 0x80 {
                out.append(UInt8(scalar))
            } else {
                out.append(UInt8(0xC0 | (scalar >> 6)))
                out.append(UInt8(0x80 | (scalar & 0x3F)))
            }
        }
        return out
    }

    /// What the byte-level decoder makes of a token: its raw bytes, or its UTF-8 when some scalar
    /// stands for no byte (added tokens).
    static func bytes(of token: String) -> [UInt8] { decode(token) ?? Array(token.utf8) }

    /// Raw bytes of a byte-level token string, or nil when some scalar stands for no byte.
    static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < scalarToByte.count, scalarToByte[value] >= 0 else { return nil }
            out.append(UInt8(scalarToByte[value]))
        }
        return out
    }
}

/// Hashable byte string: dictionary key that compares bytes exactly (Swift `String` equality
/// would merge canonically-equivalent tokens such as precomposed and decomposed accents).
struct TokenKey: Hashable {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(_ string: String) { self.bytes = Array(string.utf8) }
    init<C: Collection>(slice: C) where C.Element == UInt8 { self.bytes = Array(slice) }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// Parses SentencePiece byte tokens such as `<0x0A>`.
func parseByteToken(_ token: String) -> UInt8? {
    let utf8 = Array(token.utf8)
    guard utf8.count == 6, utf8[0] == 0x3C, utf8[1] == 0x30, utf8[2] == 0x78, utf8[5] == 0x3E else { return nil }
    func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
    guard let high = hex(utf8[3]), let low = hex(utf8[4]) else { return nil }
    return high << 4 | low
}
