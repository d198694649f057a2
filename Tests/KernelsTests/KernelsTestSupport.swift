// Deterministic inputs, reference math and ISA iteration shared by the kernel tests.
import Backend
import CKernels
import XCTest

/// SplitMix64: reproducible inputs without Foundation's global RNG.
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-scale, scale).
    mutating func float(_ scale: Float = 1) -> Float {
        Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) * scale
    }
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in float(scale) } }
}

let allDTypes: [vk_dtype] = [VK_F32, VK_F16, VK_BF16, VK_Q8_0, VK_Q4_0, VK_Q4_1]
let quantizedDTypes: [vk_dtype] = [VK_Q8_0, VK_Q4_0, VK_Q4_1]

func dtypeName(_ t: vk_dtype) -> String {
    switch t {
    case VK_F32: return "f32"
    case VK_F16: return "f16"
    case VK_BF16: return "bf16"
    case VK_Q8_0: return "q8_0"
    case VK_Q4_0: return "q4_0"
    case VK_Q4_1: return "q4_1"
    default: return "dtype\(t.rawValue)"
    }
}

/// Quantizes/converts `n` rows of `k` values into one weight blob.
func encodeRows(_ values: [Float], rows n: Int, k: Int, dtype: vk_dtype) -> [UInt8] {
    let rowBytes = vk_row_bytes(dtype, Int64(k))
    var blob = [UInt8](repeating: 0, count: rowBytes * n)
    values.withUnsafeBufferPointer { src in
        blob.withUnsafeMutableBytes { dst in
            for r in 0..<n {
                vk_quantize_row(src.baseAddress! + r * k, dtype, Int64(k), dst.baseAddress! + r * rowBytes)
            }
        }
    }
    return blob
}

/// The fp32 values a weight blob actually holds (after rounding/quantization).
func decodeRows(_ blob: [UInt8], rows n: Int, k: Int, dtype: vk_dtype) -> [Float] {
    let rowBytes = vk_row_bytes(dtype, Int64(k))
    var out = [Float](repeating: 0, count: n * k)
    blob.withUnsafeBytes { src in
        out.withUnsafeMutableBufferPointer { dst in
            for r in 0..<n {
                vk_row_to_f32(src.baseAddress! + r * rowBytes, dtype, Int64(k), dst.baseAddress! + r * k)
            }
        }
    }
    return out
}

/// y = x * W^T in double precision (x: [m][k], W: [n][k]), with each output's sum of |products|: the
/// scale of the fp32 rounding a kernel may show.
func referenceMatmul(_ x: [Float], _ w: [Float], m: Int, k: Int, n: Int) -> (values: [Float], bounds: [Float]) {
    var values = [Float](repeating: 0, count: m * n), bounds = values
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0, a = 0.0
            for t in 0..<k {
                s += Double(x[i * k + t]) * Double(w[j * k + t])
                a += abs(Double(x[i * k + t]) * Double(w[j * k + t]))
            }
            values[i * n + j] = Float(s)
            bounds[i * n + j] = Float(a)
        }
    }
    return (values, bounds)
}

/// y = x * W^T through vk_matmul, W a weight blob of `dtype` (any element type: bytes, 16-bit panels).
func matmul<T>(_ x: [Float], m: Int, k: Int, _ w: [T], _ dtype: vk_dtype, n: Int) -> [Float] {
    var y = [Float](repeating: .nan, count: m * n)
    w.withUnsafeBytes { vk_matmul(&y, x, Int64(m), Int64(k), $0.baseAddress!, dtype, Int64(n)) }
    return y
}

/// Each part's y from one vk_matmul_shared_input call over the blobs (parts of sizes[i] outputs).
func sharedInputMatmul<T>(_ x: [Float], m: Int, k: Int, _ blobs: [[T]], _ dtype: vk_dtype, sizes: [Int]) -> [[Float]] {
    let weights = blobs.map { blob -> UnsafeMutableRawPointer in
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(blob.count * MemoryLayout<T>.stride, 1), alignment: 64)
        blob.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return copy
    }
    let outputs = sizes.map { count -> UnsafeMutablePointer<Float> in
        let y = UnsafeMutablePointer<Float>.allocate(capacity: m * count)
        y.initialize(repeating: .nan, count: m * count) // a part left unwritten cannot pass
        return y
    }
    defer {
        weights.forEach { $0.deallocate() }
        outputs.forEach { $0.deallocate() }
    }
    let parts = sizes.indices.map { vk_matmul_part(y: outputs[$0], w: weights[$0], n: Int64(sizes[$0])) }
    vk_matmul_shared_input(x, Int64(m), Int64(k), dtype, parts, Int32(parts.count))
    return sizes.indices.map { Array(UnsafeBufferPointer(start: outputs[$0], count: m * sizes[$0])) }
}

/// Runs `body` once per instruction set this CPU supports, restoring the best one afterwards.
func forEachISA(_ body: (KernelISA) throws -> Void) rethrows {
    let best = CPUKernels.activeISA
    defer { CPUKernels.force(isa: best) }
    for isa in CPUKernels.supportedISAs {
        XCTAssertEqual(CPUKernels.force(isa: isa), isa)
        try body(isa)
    }
}

func assertClose(_ got: [Float], _ want: [Float], tolerance: (Int) -> Float, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, "\(what): count", file: file, line: line)
    var failures = 0
    for i in 0..<min(got.count, want.count) where !(abs(got[i] - want[i]) <= tolerance(i)) {
        failures += 1
        if failures <= 5 {
            XCTFail("\(what): [\(i)] got \(got[i]) want \(want[i]) (tol \(tolerance(i)))", file: file, line: line)
        }
    }
}

func assertClose(_ got: [Float], _ want: [Float], abs tol: Float, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    assertClose(got, want, tolerance: { _ in tol }, what, file: file, line: line)
}
