import CKernels
import Weights

/// Weights converted on the host and copied to the device once: matrices as bf16, vectors as fp32.
/// Quantized GGUF tensors (Q8_0, Q4_0, Q4_1) are dequantized here, so every matmul is bf16 x bf16.
struct CUDAWeightUploader {
    let device: CUDADevice
    let store: WeightStore
    /// Rows converted per host->device copy; bounds the host staging memory.
    let chunkBytes = 32 << 20

    func tensor(_ name: String, shape expected: [Int]) throws -> WeightTensor {
        guard store.contains(name) else { throw CUDAError.unsupportedModel("missing tensor \(name)") }
        let tensor = try store.tensor(name)
        let actual = Array(tensor.shape.drop { $0 == 1 && tensor.shape.count > expected.count })
        guard actual == expected else {
            throw CUDAError.unsupportedModel("tensor \(name) has shape \(tensor.shape), expected \(expected)")
        }
        if tensor.dtype.isQuantized, expected.last.map({ $0 % 32 != 0 }) ?? true {
            throw CUDAError.unsupportedModel("tensor \(name): quantized rows must be a multiple of 32")
        }
        return tensor
    }

    /// A [rows][columns] matrix as bf16 on the device.
    func matrix(_ name: String, rows: Int, columns: Int) throws -> DeviceBuffer {
        let source = try tensor(name, shape: [rows, columns])
        let buffer = try device.allocate(bytes: rows * columns * 2, what: name)
        if source.dtype == .bf16 {
            try device.upload(UnsafeRawBufferPointer(start: source.data, count: rows * columns * 2), to: buffer)
            try device.synchronize()  // the mapped file page range may be unmapped later; copy completes now
            return buffer
        }
        let rowsPerChunk = max(1, chunkBytes / (columns * 2))
        let floats = UnsafeMutablePointer<Float>.allocate(capacity: columns)
        let staging = UnsafeMutablePointer<UInt16>.allocate(capacity: rowsPerChunk * columns)
        defer { floats.deallocate(); staging.deallocate() }
        var row = 0
        while row < rows {
            let count = min(rowsPerChunk, rows - row)
            Self.convertRowsToBF16(source, columns: columns, rows: row..<(row + count), scratch: floats,
                                   into: staging)
            let chunk = UnsafeRawBufferPointer(start: staging, count: count * columns * 2)
            try device.upload(chunk, to: buffer, offset: row * columns * 2)
            try device.synchronize()  // staging is reused by the next chunk
            row += count
        }
        return buffer
    }

    /// Dequantizes/converts `rows` of a [*][columns] tensor to bf16, row by row through `scratch`
    /// (columns floats), writing them contiguously from `output`.
    static func convertRowsToBF16(_ source: WeightTensor, columns: Int, rows: Range<Int>,
                                  scratch: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<UInt16>) {
        let rowBytes = source.rowBytes
        for (local, row) in rows.enumerated() {
            vk_row_to_f32(source.data + row * rowBytes, source.dtype.cudaKernelType, Int64(columns), scratch)
            BFloat16.convert(scratch, count: columns, into: output + local * columns)
        }
    }

    /// A vector as fp32 on the device (norm weights, biases); also returns the host values.
    func vector(_ name: String, count: Int) throws -> (buffer: DeviceBuffer, values: [Float]) {
        let source = try tensor(name, shape: [count])
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { vk_row_to_f32(source.data, source.dtype.cudaKernelType, Int64(count), $0.baseAddress) }
        let buffer = try floats(values, what: name)
        return (buffer, values)
    }

    func optionalVector(_ name: String, count: Int) throws -> DeviceBuffer? {
        store.contains(name) ? try vector(name, count: count).buffer : nil
    }

    func floats(_ values: [Float], what: String) throws -> DeviceBuffer {
        let buffer = try device.allocate(bytes: values.count * 4, what: what)
        try values.withUnsafeBytes { try device.upload($0, to: buffer) }
        try device.synchronize()
        return buffer
    }
}

extension WeightDType {
    var cudaKernelType: vk_dtype {
        switch self {
        case .f32: return VK_F32
        case .f16: return VK_F16
        case .bf16: return VK_BF16
        case .q8_0: return VK_Q8_0
        case .q4_0: return VK_Q4_0
        case .q4_1: return VK_Q4_1
        }
    }
}
