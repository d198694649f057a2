import Backend
import CKernels
import Foundation
import XCTest

final class KernelsPoolTests: XCTestCase {
    /// Kernels called from several threads at once (sections serialise, scratch is per thread).
    func testConcurrentCallersGetIdenticalResults() {
        CPUKernels.initialize(threads: 2)
        var rng = TestRNG(seed: 23)
        let (m, k, n) = (9, 288, 70)
        let x = rng.floats(m * k)
        let blob = encodeRows(rng.floats(n * k), rows: n, k: k, dtype: VK_Q8_0)
        func run(_ rows: Int) -> [Float] {
            var y = [Float](repeating: 0, count: rows * n)
            blob.withUnsafeBytes { vk_matmul(&y, x, Int64(rows), Int64(k), $0.baseAddress!, VK_Q8_0, Int64(n)) }
            return y
        }
        let expected = [run(1), run(m)]
        let results = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: 8)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            var last: [Float] = []
            for _ in 0..<20 { last = run(i % 2 == 0 ? 1 : m) }
            results[i] = last
        }
        for i in 0..<8 { XCTAssertEqual(results[i], expected[i % 2], "caller \(i)") }
    }

    /// Resizing the pool (including before workers first run) must neither hang nor lose work.
    func testPoolResizeKeepsResultsIdentical() {
        var rng = TestRNG(seed: 17)
        let (m, k, n) = (1, 512, 300)
        let x = rng.floats(m * k), w = rng.floats(n * k)
        var reference: [Float]? = nil
        for threads in [1, 3, 2, 4, 1, 2] {
            CPUKernels.initialize(threads: threads)
            XCTAssertEqual(CPUKernels.threadCount, threads)
            var y = [Float](repeating: 0, count: m * n)
            vk_matmul(&y, x, Int64(m), Int64(k), w, VK_F32, Int64(n))
            if let reference { XCTAssertEqual(y, reference, "threads=\(threads)") } else { reference = y }
        }
    }
}
