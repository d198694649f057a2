import AllocationCounter
import Backend
import CKernels
import Foundation
import XCTest

/// The allocation counter that the decode-step tests rely on: it must see the counting thread's
/// allocations and the kernel pool's work for it, and nothing else.
final class ModelsAllocationCounterTests: XCTestCase {
    func testCounterSeesAllocations() throws {
        try XCTSkipUnless(vk_alloc_counter_supported() != 0, "heap allocation counting needs Linux with glibc")
        vk_alloc_counting_begin()
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        let aligned = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 64)
        let count = vk_alloc_counting_end()
        pointer.deallocate()
        aligned.deallocate()
        XCTAssertGreaterThanOrEqual(count, 2, "the counter must see Swift runtime allocations")
    }

    /// Another thread allocating while this one counts (as a server test's event loop may) is not
    /// this thread's step allocating.
    func testCounterIgnoresOtherThreads() throws {
        try XCTSkipUnless(vk_alloc_counter_supported() != 0, "heap allocation counting needs Linux with glibc")
        let start = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let otherAllocations = 1000
        let thread = Thread {
            start.wait()
            for size in 1...otherAllocations {
                let pointer = malloc(size)
                free(pointer)
            }
            done.signal()
        }
        thread.start()
        vk_alloc_counting_begin()
        start.signal()
        done.wait()
        let count = vk_alloc_counting_end()
        XCTAssertLessThan(count, UInt64(otherAllocations), "another thread's allocations were counted")
    }

    /// A pool worker growing its scratch arena for this thread's matmul is counted: the workers are
    /// not left out of the proof.
    func testCounterSeesPoolWorkerScratchGrowth() throws {
        try XCTSkipUnless(vk_alloc_counter_supported() != 0, "heap allocation counting needs Linux with glibc")
        let (m, k, n) = (64, 2048, 2048)
        let x = [Float](repeating: 0.5, count: m * k), w = [Float](repeating: 0.25, count: n * k)
        var y = [Float](repeating: 0, count: m * n)
        defer { CPUKernels.initialize(threads: 0) }
        vk_matmul(&y, x, Int64(m), Int64(k), w, VK_F32, Int64(n))  // sizes this thread's own arenas
        // A fresh worker has empty arenas; whether it joins a section is up to the scheduler, so the
        // section is long (tens of ms) and retried: on two busy cores a 1024-wide one was missed in 10 tries.
        for _ in 0..<30 {
            CPUKernels.initialize(threads: 1)
            CPUKernels.initialize(threads: 2)
            let growthsBefore = vk_pool_worker_scratch_growths()
            vk_alloc_counting_begin()
            vk_matmul(&y, x, Int64(m), Int64(k), w, VK_F32, Int64(n))
            let count = vk_alloc_counting_end()
            let growths = vk_pool_worker_scratch_growths() - growthsBefore
            guard growths > 0 else { continue }
            XCTAssertEqual(count, growths, "the worker's scratch growths (this thread's arenas are warm)")
            return
        }
        XCTFail("the pool's worker never joined a 64x2048x2048 matmul in 30 tries")
    }
}
