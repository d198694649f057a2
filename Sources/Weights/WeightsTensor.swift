#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element encodings the model code can consume directly. Quantized types are GGML block formats
/// (32 values per block) and are handed over as-is, never dequantized here.
public enum WeightDType: String, Sendable, CaseIterable {
    case f32, f16, bf16, q8_0, q4_0, q4_1

    /// Values per storage block: 1 for plain floats, 32 for GGML quantized blocks.
    public var blockElements: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q8_0, .q4_0, .q4_1: return 32
        }
    }

    /// Bytes per storage block (one element for plain floats).
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q8_0: return 34  // fp16 scale + 32 x int8
        case .q4_0: return 18  // fp16 scale + 16 bytes of nibbles
        case .q4_1: return 20  // fp16 scale + fp16 min + 16 bytes of nibbles
        }
    }

    public var isQuantized: Bool { blockElements > 1 }

    /// Bytes needed for a tensor whose innermost (contiguous) dimension is `rowLength`, or nil when
    /// the row does not split into whole blocks or the size overflows.
    public func byteCount(rowLength: Int, rows: Int) -> Int? {
        guard rowLength >= 0, rows >= 0, rowLength % blockElements == 0 else { return nil }
        let (rowBytes, o1) = (rowLength / blockElements).multipliedReportingOverflow(by: blockBytes)
        let (total, o2) = rowBytes.multipliedReportingOverflow(by: rows)
        return o1 || o2 ? nil : total
    }
}

/// A view of one tensor inside a memory-mapped weight file. `data` stays valid while the store that
/// produced it is alive; keep a reference to the store for as long as the tensor is used.
public struct WeightTensor: @unchecked Sendable {
    public let name: String
    public let dtype: WeightDType
    /// PyTorch order, e.g. [out_features, in_features]; GGUF `ne` is reversed to match.
    public let shape: [Int]
    public let data: UnsafeRawPointer
    public let byteCount: Int
    /// Whether `data` lies in a read-only private file mapping (every store's tensors do), whose pages
    /// can be dropped and fault back in from the file.
    public let isFileMapped: Bool

    public init(name: String, dtype: WeightDType, shape: [Int], data: UnsafeRawPointer, byteCount: Int,
                isFileMapped: Bool = false) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.data = data
        self.byteCount = byteCount
        self.isFileMapped = isFileMapped
    }

    /// For tensors copied elsewhere at load (repacked weights): drops the whole pages inside this
    /// tensor from the process (they stay in the page cache and fault back in if read again), so
    /// resident memory does not count the weights twice. Neighbours sharing a partial page keep it.
    public func releaseMappedPages() {
        guard isFileMapped, byteCount > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: data) + page - 1) / page * page
        let end = (Int(bitPattern: data) + byteCount) / page * page
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, end - start, Int32(MADV_DONTNEED))
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// Bytes per row of the innermost dimension (what matmul kernels step by).
    public var rowBytes: Int {
        let rowLength = shape.last ?? 1
        return rowLength / dtype.blockElements * dtype.blockBytes
    }

    /// The tensor as raw bytes, for callers that want bounds-checked access.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: data, count: byteCount) }
}

/// A read-only collection of named tensors backed by memory-mapped files.
public protocol WeightStore: AnyObject, Sendable {
    var tensorNames: [String] { get }
    func contains(_ name: String) -> Bool
    /// Throws `WeightsError` (kind `.missingTensor`) naming the tensor and the file(s) searched.
    func tensor(_ name: String) throws -> WeightTensor
}
