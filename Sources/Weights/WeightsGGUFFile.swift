/// A GGUF (v2 or v3) file: metadata plus tensor views into the memory-mapped data section.
/// Tensors are handed out in their stored encoding (never dequantized).
public final class GGUFFile: WeightStore, @unchecked Sendable {
    public let path: String
    public let version: Int
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order (dictionaries lose it; tools that print metadata want it).
    public let metadataKeys: [String]
    public let alignment: Int
    /// Tensor names in file order.
    public let tensorNames: [String]
    /// Byte offset of the tensor data section within the file (at most the file size: vocab-only
    /// files end without the final alignment padding).
    public let dataOffset: Int

    private let infos: [String: GGUFTensorInfo]
    // Held only to keep the mapping (and so every tensor pointer) alive.
    private let mapping: WeightsMappedFile

    static let magic: UInt32 = 0x4655_4747  // "GGUF" read as a little-endian u32
    static let defaultAlignment = 32
    /// GGML_MAX_DIMS: no valid tensor has more dimensions.
    static let maxDimensions = 4

    public init(path: String) throws {
        let file = try WeightsMappedFile(path: path)
        var reader = GGUFReader(bytes: file.bytes, path: path)
        guard file.size >= 4 else {
            throw WeightsError(.truncated, "\(path) is truncated: \(file.size) bytes, too short for a GGUF header")
        }
        let magic = try reader.read(UInt32.self, "magic")
        guard magic == GGUFFile.magic else {
            throw WeightsError(.badMagic, "\(path) is not a GGUF file (bad magic \(GGUFFile.describeMagic(magic)), expected \"GGUF\")")
        }
        let version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            let hint = version.byteSwapped == 2 || version.byteSwapped == 3 ? " (a big-endian file; only little-endian is supported)" : ""
            throw WeightsError(.unsupportedVersion, "\(path): unsupported GGUF version \(version)\(hint); supported: 2, 3")
        }
        // Minimal encodings: tensor info = name length 8 + n_dims 4 + type 4 + offset 8;
        // key/value = key length 8 + type 4 + one byte of value.
        let tensorCount = try reader.readCount(minBytesEach: 24, "tensor count")
        let kvCount = try reader.readCount(minBytesEach: 13, "metadata count")

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(kvCount)
        for index in 0..<kvCount {
            let key = try reader.readString("metadata key #\(index)")
            guard metadata[key] == nil else {
                throw WeightsError(.duplicateName, "\(path) is corrupt: metadata key '\(key)' appears twice")
            }
            metadata[key] = try reader.readValue(key: key)
            keys.append(key)
        }

        if let splits = metadata["split.count"]?.int, splits > 1 {
            let index = (metadata["split.no"]?.int).map { "\($0 + 1) of \(splits)" } ?? "one of \(splits)"
            throw WeightsError(.unsupportedFormat, "\(path) is part \(index) of a split GGUF model; merge the parts first (llama-gguf-split --merge FIRST-PART OUTPUT.gguf)")
        }
        let alignment = try GGUFFile.alignment(from: metadata["general.alignment"], path: path)
        var pending: [(name: String, type: UInt32, ne: [Int], offset: UInt64)] = []
        pending.reserveCapacity(tensorCount)
        var seen = Set<String>()
        for index in 0..<tensorCount {
            let name = try reader.readString("name of tensor #\(index)")
            guard seen.insert(name).inserted else {
                throw WeightsError(.duplicateName, "\(path) is corrupt: tensor '\(name)' appears twice")
            }
            let dims = try reader.read(UInt32.self, "dimension count of tensor '\(name)'")
            guard dims <= UInt32(GGUFFile.maxDimensions) else {
                throw WeightsError(.invalidHeader, "\(path) is corrupt: tensor '\(name)' has \(dims) dimensions (at most \(GGUFFile.maxDimensions) allowed)")
            }
            var ne: [Int] = []
            for axis in 0..<Int(dims) {
                let extent = try reader.read(UInt64.self, "dimension \(axis) of tensor '\(name)'")
                guard extent <= UInt64(Int.max) else {
                    throw WeightsError(.invalidHeader, "\(path) is corrupt: tensor '\(name)' dimension \(axis) is \(extent)")
                }
                ne.append(Int(extent))
            }
            let type = try reader.read(UInt32.self, "type of tensor '\(name)'")
            let offset = try reader.read(UInt64.self, "data offset of tensor '\(name)'")
            pending.append((name, type, ne, offset))
        }

        reader.align(to: alignment)
        let dataOffset = reader.position
        let dataSize = file.size - dataOffset
        var infos: [String: GGUFTensorInfo] = [:]
        for item in pending {
            infos[item.name] = try GGUFTensorInfo(name: item.name, typeId: item.type, ne: item.ne, offset: item.offset,
                                                  alignment: alignment, dataOffset: dataOffset, dataSize: dataSize,
                                                  file: file)
        }

        self.path = path
        self.version = Int(version)
        self.metadata = metadata
        self.metadataKeys = keys
        self.alignment = alignment
        self.tensorNames = pending.map(\.name)
        self.dataOffset = dataOffset
        self.infos = infos
        self.mapping = file
    }

    public func contains(_ name: String) -> Bool { infos[name] != nil }

    public func tensor(_ name: String) throws -> WeightTensor {
        guard let info = infos[name] else {
            throw WeightsError(.missingTensor, "tensor '\(name)' not found in \(path)")
        }
        return try info.tensor(path: path)
    }

    /// The ggml type id stored for a tensor (also for types this module cannot hand out).
    public func ggmlTypeId(of name: String) -> UInt32? { infos[name]?.typeId }

    private static func alignment(from value: GGUFValue?, path: String) throws -> Int {
        guard let value else { return defaultAlignment }
        guard let alignment = value.int, alignment > 0, alignment <= 1 << 20, alignment & (alignment - 1) == 0 else {
            throw WeightsError(.invalidHeader, "\(path): general.alignment must be a power of two up to 1 MiB, found \(value)")
        }
        return alignment
    }

    private static func describeMagic(_ magic: UInt32) -> String {
        let bytes = withUnsafeBytes(of: magic.littleEndian) { Array($0) }
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return "\"" + String(decoding: bytes, as: UTF8.self) + "\""
        }
        let hexDigits = Array("0123456789abcdef")
        return bytes.map { String([hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 15)]]) }.joined(separator: " ")
    }
}

/// One tensor's placement in the data section, validated when the file is opened.
struct GGUFTensorInfo {
    let name: String
    let typeId: UInt32
    let dtype: WeightDType?
    let shape: [Int]
    let data: UnsafeRawPointer?
    let byteCount: Int

    init(name: String, typeId: UInt32, ne: [Int], offset: UInt64, alignment: Int,
         dataOffset: Int, dataSize: Int, file: WeightsMappedFile) throws {
        let path = file.path
        self.name = name
        self.typeId = typeId
        self.shape = ne.reversed()
        self.dtype = GGMLType.dtype(typeId)
        guard let dtype else {
            // Unsupported types fail only when requested, so metadata and other tensors stay usable.
            self.data = nil
            self.byteCount = 0
            return
        }
        // ggml pads missing dimensions with 1, so a 0-dimensional tensor is a scalar.
        let rowLength = ne.first ?? 1
        var rows = 1
        for extent in ne.dropFirst() {
            let (product, overflow) = rows.multipliedReportingOverflow(by: extent)
            guard !overflow else {
                throw WeightsError(.invalidHeader, "\(path) is corrupt: tensor '\(name)' shape \(shape) overflows")
            }
            rows = product
        }
        guard rowLength % dtype.blockElements == 0 else {
            throw WeightsError(.shapeMismatch, "\(path): tensor '\(name)' is \(dtype.rawValue) but its row length \(rowLength) is not a multiple of \(dtype.blockElements)")
        }
        guard let byteCount = dtype.byteCount(rowLength: rowLength, rows: rows) else {
            throw WeightsError(.invalidHeader, "\(path) is corrupt: tensor '\(name)' shape \(shape) overflows")
        }
        guard offset % UInt64(alignment) == 0 else {
            throw WeightsError(.invalidHeader, "\(path) is corrupt: tensor '\(name)' offset \(offset) is not a multiple of the alignment \(alignment)")
        }
        guard offset <= UInt64(dataSize), byteCount <= dataSize - Int(offset) else {
            throw WeightsError(.outOfBounds, "\(path) is truncated or corrupt: tensor '\(name)' needs bytes \(offset)..<\(offset + UInt64(byteCount)) of the data section, which has \(max(dataSize, 0)) bytes")
        }
        self.byteCount = byteCount
        self.data = byteCount > 0 ? file.bytes.baseAddress.map { UnsafeRawPointer($0) + dataOffset + Int(offset) } : nil
    }

    func tensor(path: String) throws -> WeightTensor {
        guard let dtype else {
            throw WeightsError(.unsupportedDType, "tensor '\(name)' in \(path) has ggml type \(GGMLType.name(typeId)) (id \(typeId)); supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1")
        }
        // A zero-byte tensor has no storage; any valid address works for it.
        let pointer = data ?? UnsafeRawPointer(bitPattern: 1)!
        return WeightTensor(name: name, dtype: dtype, shape: shape, data: pointer, byteCount: byteCount,
                            isFileMapped: true)
    }
}

/// ggml tensor type ids (ggml.h `enum ggml_type`).
enum GGMLType {
    static func dtype(_ id: UInt32) -> WeightDType? {
        switch id {
        case 0: return .f32
        case 1: return .f16
        case 2: return .q4_0
        case 3: return .q4_1
        case 8: return .q8_0
        case 30: return .bf16
        default: return nil
        }
    }

    static func id(_ dtype: WeightDType) -> UInt32 {
        switch dtype {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 8
        case .bf16: return 30
        }
    }

    static func name(_ id: UInt32) -> String {
        let names: [UInt32: String] = [
            0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
            10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
            16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S",
            22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
            29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
        ]
        return names[id] ?? "unknown"
    }
}
