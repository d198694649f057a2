import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// libvllm_cuda.so loaded with dlopen, its C ABI (cuda/vllm_cuda.h) resolved with dlsym.
///
/// Loading never needs CUDA at build time: on a machine without the library or a driver `load()`
/// throws a `CUDAError` that says which piece is missing.
public final class CUDARuntime: @unchecked Sendable {
    /// Must equal VC_ABI_VERSION in cuda/vllm_cuda.h.
    public static let abiVersion: Int32 = 1

    typealias Status = Int32
    typealias Context = OpaquePointer
    typealias Int64Arg = Int64

    public let path: String
    private let handle: UnsafeMutableRawPointer

    let lastError: @convention(c) () -> UnsafePointer<CChar>?
    let deviceCount: @convention(c) (UnsafeMutablePointer<Int32>?) -> Status
    let contextCreate: @convention(c) (Int32, UnsafeMutablePointer<Context?>?) -> Status
    let contextDestroy: @convention(c) (Context?) -> Void
    let deviceInfo: @convention(c) (Context?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutablePointer<Int32>?,
                                    UnsafeMutablePointer<Int32>?) -> Status
    let memInfo: @convention(c) (Context?, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int>?) -> Status
    let malloc: @convention(c) (Context?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int) -> Status
    let free: @convention(c) (Context?, UnsafeMutableRawPointer?) -> Status
    let copyToDevice: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Status
    let copyToHost: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Status
    let memsetZero: @convention(c) (Context?, UnsafeMutableRawPointer?, Int) -> Status
    let synchronize: @convention(c) (Context?) -> Status
    let embedding: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int32, Int64, Int64,
                                   UnsafeRawPointer?, Int64) -> Status
    let rmsNorm: @convention(c) (Context?, UnsafeMutableRawPointer?, Int32, UnsafeRawPointer?, UnsafeRawPointer?,
                                 Int64, Int64, Float) -> Status
    let rope: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, Int64, Int64,
                              Int64, Int64, Int32) -> Status
    let siluMul: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, Int64,
                                 Int64) -> Status
    let add: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int64) -> Status
    let addBias: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int64, Int64) -> Status
    let toBF16: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int64) -> Status
    let gatherRows: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, Int64,
                                    Int64) -> Status
    let matmulBF16: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, Int64,
                                    Int64, Int64) -> Status
    let kvStore: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?,
                                 UnsafeRawPointer?, UnsafeRawPointer?, Int64, Int64) -> Status
    let pagedAttention: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?,
                                        UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?,
                                        Int64, Int64, Int64, Int64, Int64, Int64, Int64, Float) -> Status
    let sampleGreedyTopK: @convention(c) (Context?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                                          UnsafeMutableRawPointer?, UnsafeRawPointer?, Int64, Int64, Int64) -> Status

    private init(path: String, handle: UnsafeMutableRawPointer) throws {
        self.path = path
        self.handle = handle
        func symbol<T>(_ name: String, as _: T.Type) throws -> T {
            guard let address = dlsym(handle, name) else {
                throw CUDAError.libraryInvalid(path: path, reason: "missing symbol \(name)")
            }
            return unsafeBitCast(address, to: T.self)
        }
        let abi = try symbol("vc_abi_version", as: (@convention(c) () -> Int32).self)()
        guard abi == Self.abiVersion else {
            throw CUDAError.libraryInvalid(path: path, reason: "ABI version \(abi), expected \(Self.abiVersion)")
        }
        lastError = try symbol("vc_last_error", as: type(of: lastError))
        deviceCount = try symbol("vc_device_count", as: type(of: deviceCount))
        contextCreate = try symbol("vc_context_create", as: type(of: contextCreate))
        contextDestroy = try symbol("vc_context_destroy", as: type(of: contextDestroy))
        deviceInfo = try symbol("vc_device_info", as: type(of: deviceInfo))
        memInfo = try symbol("vc_mem_info", as: type(of: memInfo))
        malloc = try symbol("vc_malloc", as: type(of: malloc))
        free = try symbol("vc_free", as: type(of: free))
        copyToDevice = try symbol("vc_copy_to_device", as: type(of: copyToDevice))
        copyToHost = try symbol("vc_copy_to_host", as: type(of: copyToHost))
        memsetZero = try symbol("vc_memset_zero", as: type(of: memsetZero))
        synchronize = try symbol("vc_synchronize", as: type(of: synchronize))
        embedding = try symbol("vc_embedding", as: type(of: embedding))
        rmsNorm = try symbol("vc_rms_norm", as: type(of: rmsNorm))
        rope = try symbol("vc_rope", as: type(of: rope))
        siluMul = try symbol("vc_silu_mul", as: type(of: siluMul))
        add = try symbol("vc_add", as: type(of: add))
        addBias = try symbol("vc_add_bias", as: type(of: addBias))
        toBF16 = try symbol("vc_to_bf16", as: type(of: toBF16))
        gatherRows = try symbol("vc_gather_rows", as: type(of: gatherRows))
        matmulBF16 = try symbol("vc_matmul_bf16", as: type(of: matmulBF16))
        kvStore = try symbol("vc_kv_store", as: type(of: kvStore))
        pagedAttention = try symbol("vc_paged_attention", as: type(of: pagedAttention))
        sampleGreedyTopK = try symbol("vc_sample_greedy_topk", as: type(of: sampleGreedyTopK))
    }

    /// Loads the first library found among `candidates` (see `CUDALibraryLocator`).
    /// The handle stays open for the life of the process: kernels and cuBLAS live in it.
    public static func load(candidates: [String] = CUDALibraryLocator.candidatePaths()) throws -> CUDARuntime {
        var lastError = ""
        for path in candidates where FileManager.default.fileExists(atPath: path) {
            guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
                lastError = dlerror().map { String(cString: $0) } ?? "dlopen failed"
                continue
            }
            return try CUDARuntime(path: path, handle: handle)
        }
        throw CUDAError.libraryNotFound(searched: candidates, lastError: lastError)
    }

    /// The library's message for the last failure on this thread.
    var lastErrorMessage: String { lastError().map { String(cString: $0) } ?? "" }

    /// Turns a status into a thrown `CUDAError` naming `call`.
    func check(_ status: Status, _ call: String) throws {
        guard status != 0 else { return }
        let message = lastErrorMessage
        switch status {
        case -1: throw CUDAError.noDriver(message)
        case -2: throw CUDAError.noDevice(message)
        default: throw CUDAError.callFailed(call: call, status: status, message: message)
        }
    }

    /// Visible devices; throws `.noDriver` when the driver is missing.
    public func visibleDeviceCount() throws -> Int {
        var count: Int32 = 0
        try check(deviceCount(&count), "vc_device_count")
        return Int(count)
    }
}
