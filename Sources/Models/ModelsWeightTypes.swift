import CKernels
import Foundation
import Weights

/// A weight matrix W[outFeatures][inFeatures], repacked once into tiles of 16 outputs (`PackedWeights`)
/// where the kernels have a packed layout for its dtype, else used in place (memory-mapped).
struct LinearWeight {
    let name: String
    let data: UnsafeRawPointer
    let dtype: vk_dtype
    let outFeatures: Int
    let inFeatures: Int
    let bias: FloatVector?
    /// Owns `data` when the weights were repacked.
    let packed: PackedWeights?

    init(_ tensor: WeightTensor, outFeatures: Int, inFeatures: Int, bias: FloatVector?) throws {
        name = tensor.name
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.bias = bias
        if let layout = PackedWeights.layout(of: tensor.dtype, columns: inFeatures) {
            let weights = try PackedWeights(tensor.data, layout: layout, rows: outFeatures, columns: inFeatures,
                                            name: tensor.name)
            tensor.releaseMappedPages()
            packed = weights
            data = UnsafeRawPointer(weights.pointer)
            dtype = layout
        } else {
            packed = nil
            data = tensor.data
            dtype = tensor.dtype.kernelType
        }
    }

    /// y[rows][outFeatures] = x[rows][inFeatures] * W^T (+ bias).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        vk_matmul(y, x, Int64(rows), Int64(inFeatures), data, dtype, Int64(outFeatures))
        addBias(y, rows: rows)
    }

    /// Applies two or three weights to the same x (q/k/v, gate/up): one rounding of x and one parallel
    /// region when they share a dtype and input size; results equal separate `apply` calls.
    static func apply(_ x: UnsafePointer<Float>, rows: Int, _ a: (LinearWeight, UnsafeMutablePointer<Float>),
                      _ b: (LinearWeight, UnsafeMutablePointer<Float>),
                      _ c: (LinearWeight, UnsafeMutablePointer<Float>)? = nil) {
        let shared = a.0.dtype == b.0.dtype && a.0.inFeatures == b.0.inFeatures &&
            (c.map { $0.0.dtype == a.0.dtype && $0.0.inFeatures == a.0.inFeatures } ?? true)
        guard shared else {
            a.0.apply(x, rows: rows, into: a.1)
            b.0.apply(x, rows: rows, into: b.1)
            if let c { c.0.apply(x, rows: rows, into: c.1) }
            return
        }
        func part(_ p: (LinearWeight, UnsafeMutablePointer<Float>)) -> vk_matmul_part {
            vk_matmul_part(y: p.1, w: p.0.data, n: Int64(p.0.outFeatures))
        }
        // A tuple on the stack: no heap allocation per call.
        var parts = (part(a), part(b), c.map(part) ?? part(b))
        withUnsafePointer(to: &parts) {
            $0.withMemoryRebound(to: vk_matmul_part.self, capacity: 3) {
                vk_matmul_shared_input(x, Int64(rows), Int64(a.0.inFeatures), a.0.dtype, $0, c == nil ? 2 : 3)
            }
        }
        a.0.addBias(a.1, rows: rows)
        b.0.addBias(b.1, rows: rows)
        if let c { c.0.addBias(c.1, rows: rows) }
    }

    private func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int) {
        if let bias { vk_add_bias(y, bias.pointer, Int64(rows), Int64(outFeatures)) }
    }
}

/// Weights repacked at load into tiles of 16 outputs (`vk_pack_weights`): BF16 / F16 into VK_BF16_PANELS /
/// VK_F16_PANELS, Q8_0 / Q4_0 / Q4_1 into VK_Q8_0_TILES / VK_Q4_0_TILES / VK_Q4_1_TILES (with the AVX2 kernels;
/// the portable ones keep quantized weights as stored, `vk_packed_layout`). Every batch size
/// then reads whole cache lines of 16 outputs with the outputs in vector lanes, and decode batches, prefill
/// and batch 1 share one arithmetic. Owned for the model's life. Costs one pass over the weights at load;
/// the file's pages are then dropped from the process (`releaseMappedPages`), so resident memory holds the
/// weights once.
final class PackedWeights {
    let pointer: UnsafeMutableRawPointer

    /// The packed layout for weights stored as `dtype` with `columns` inputs, or nil when they stay as
    /// stored (F32, and quantized types on the portable path).
    static func layout(of dtype: WeightDType, columns: Int) -> vk_dtype? {
        let stored = dtype.kernelType, layout = vk_packed_layout(stored)
        return layout == stored || vk_packed_bytes(layout, 1, Int64(columns)) == 0 ? nil : layout
    }

    init(_ rows: UnsafeRawPointer, layout: vk_dtype, rows count: Int, columns: Int, name: String) throws {
        let bytes = vk_packed_bytes(layout, Int64(count), Int64(columns))
        guard let memory = vk_packed_alloc(max(bytes, 64)) else {
            throw ModelError.outOfMemory("\(bytes) bytes to repack weight tensor '\(name)'")
        }
        pointer = memory
        vk_pack_weights(rows, layout, Int64(count), Int64(columns), pointer)
    }

    deinit { vk_packed_free(pointer) }
}

/// A small fp32 vector (norm weight, bias) converted once at load and owned for the model's life.
final class FloatVector {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

extension WeightDType {
    var kernelType: vk_dtype {
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

/// Fetches tensors by name with shape checks, turning them into the forms the forward pass uses.
struct TensorReader {
    let store: WeightStore

    func tensor(_ name: String, shape expected: [Int]) throws -> WeightTensor {
        guard store.contains(name) else { throw ModelError.missingTensor(name) }
        let tensor = try store.tensor(name)
        // A vector may be stored as [n] or [1, n]; compare without leading 1s.
        let actual = Array(tensor.shape.drop { $0 == 1 && tensor.shape.count > expected.count })
        guard actual == expected else {
            throw ModelError.badTensorShape(name: name, expected: expected, actual: tensor.shape)
        }
        return tensor
    }

    func linear(_ name: String, out: Int, in inFeatures: Int, biasName: String? = nil) throws -> LinearWeight {
        let tensor = try tensor(name, shape: [out, inFeatures])
        var bias: FloatVector?
        if let biasName, store.contains(biasName) {
            bias = try vector(biasName, count: out)
        }
        return try LinearWeight(tensor, outFeatures: out, inFeatures: inFeatures, bias: bias)
    }

    /// A 1-D tensor converted to fp32.
    func vector(_ name: String, count: Int) throws -> FloatVector {
        let tensor = try tensor(name, shape: [count])
        guard !tensor.dtype.isQuantized || count % 32 == 0 else {
            throw ModelError.unsupportedTensorDType(name: name, dtype: tensor.dtype.rawValue)
        }
        let vector = FloatVector(count: count)
        vk_row_to_f32(tensor.data, tensor.dtype.kernelType, Int64(count), vector.pointer)
        return vector
    }
}
