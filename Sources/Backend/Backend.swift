// Swift face of the CKernels library: pool setup, ISA selection and aligned activation buffers.
import CKernels

/// Instruction-set level of the CPU kernels (ordered: a higher level implies the lower ones).
public enum KernelISA: Int32, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case scalar = 0, avx2 = 1, avx512 = 2

    public var description: String { String(cString: vk_isa_name(vk_isa(rawValue: UInt32(rawValue)))) }
    public static func < (lhs: KernelISA, rhs: KernelISA) -> Bool { lhs.rawValue < rhs.rawValue }

    init(_ isa: vk_isa) { self = KernelISA(rawValue: Int32(isa.rawValue)) ?? .scalar }
}

public enum CPUKernels {
    /// Starts (or resizes) the kernel thread pool; `threads <= 0` uses one thread per online core.
    public static func initialize(threads: Int = 0) {
        vk_init(Int32(clamping: threads))
    }

    public static var threadCount: Int { Int(vk_num_threads()) }

    /// The instruction set the kernels currently run with.
    public static var activeISA: KernelISA { KernelISA(vk_active_isa()) }

    /// Lowers (or restores) the instruction set, never above what the CPU supports.
    /// Returns the level actually in force. Meant for tests and benchmarks.
    @discardableResult
    public static func force(isa: KernelISA) -> KernelISA {
        KernelISA(vk_force_isa(vk_isa(rawValue: UInt32(isa.rawValue))))
    }

    /// Every level this CPU can run, lowest first.
    public static var supportedISAs: [KernelISA] {
        let saved = activeISA
        defer { force(isa: saved) }
        let best = force(isa: .avx512)
        return KernelISA.allCases.filter { $0 <= best }
    }
}

/// A 64-byte aligned, zero-initialised fp32 buffer that owns its memory (activations, KV cache).
public final class AlignedFloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = max(count, 0)
        let bytes = max(self.count, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pointer = raw.bindMemory(to: Float.self, capacity: max(self.count, 1))
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    public func zero() { pointer.update(repeating: 0, count: count) }

    public func toArray() -> [Float] { Array(buffer) }
}
