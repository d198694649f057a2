/// One GPU: a library context (stream + cuBLAS handle) and typed wrappers over the C ABI.
public final class CUDADevice: CustomStringConvertible, @unchecked Sendable {
    public let runtime: CUDARuntime
    public let index: Int
    public let name: String
    public let computeCapability: (major: Int, minor: Int)
    let context: OpaquePointer

    public init(runtime: CUDARuntime, index: Int = 0) throws {
        self.runtime = runtime
        self.index = index
        var created: OpaquePointer?
        try runtime.check(runtime.contextCreate(Int32(index), &created), "vc_context_create")
        guard let created else { throw CUDAError.callFailed(call: "vc_context_create", status: 0, message: "null context") }
        context = created
        var nameBuffer = [CChar](repeating: 0, count: 256)
        var major: Int32 = 0, minor: Int32 = 0
        let status = runtime.deviceInfo(created, &nameBuffer, nameBuffer.count, &major, &minor)
        if status != 0 { runtime.contextDestroy(created) }
        try runtime.check(status, "vc_device_info")
        name = String(cString: nameBuffer)
        computeCapability = (Int(major), Int(minor))
        guard major >= 8 else {
            runtime.contextDestroy(created)
            throw CUDAError.noDevice("\(name) has compute capability \(major).\(minor); bf16 kernels need 8.0+")
        }
    }

    deinit { runtime.contextDestroy(context) }

    public var description: String {
        "cuda:\(index) (\(name), sm_\(computeCapability.major)\(computeCapability.minor))"
    }

    /// (free, total) device memory in bytes.
    public func memoryInfo() throws -> (free: Int, total: Int) {
        var free = 0, total = 0
        try runtime.check(runtime.memInfo(context, &free, &total), "vc_mem_info")
        return (free, total)
    }

    func allocate(bytes: Int, what: String) throws -> DeviceBuffer {
        var pointer: UnsafeMutableRawPointer?
        let status = runtime.malloc(context, &pointer, max(bytes, 1))
        if status != 0 {
            throw CUDAError.callFailed(call: "vc_malloc(\(what), \(bytes) bytes)", status: status,
                                       message: runtime.lastErrorMessage)
        }
        guard let pointer else { throw CUDAError.callFailed(call: "vc_malloc(\(what))", status: 0, message: "null") }
        return DeviceBuffer(device: self, pointer: pointer, bytes: bytes)
    }

    func upload(_ source: UnsafeRawBufferPointer, to buffer: DeviceBuffer, offset: Int = 0) throws {
        guard offset + source.count <= buffer.bytes, let base = source.baseAddress else {
            if source.count == 0 { return }
            throw CUDAError.callFailed(call: "vc_copy_to_device", status: -6, message: "copy exceeds buffer")
        }
        try runtime.check(runtime.copyToDevice(context, buffer.pointer + offset, base, source.count),
                          "vc_copy_to_device")
    }

    func download(_ buffer: DeviceBuffer, into destination: UnsafeMutableRawBufferPointer) throws {
        guard destination.count <= buffer.bytes, let base = destination.baseAddress else {
            if destination.count == 0 { return }
            throw CUDAError.callFailed(call: "vc_copy_to_host", status: -6, message: "copy exceeds buffer")
        }
        try runtime.check(runtime.copyToHost(context, base, buffer.pointer, destination.count), "vc_copy_to_host")
    }

    func synchronize() throws { try runtime.check(runtime.synchronize(context), "vc_synchronize") }
}

/// Device memory freed when the last reference goes.
final class DeviceBuffer {
    /// Strong: a model's buffers may outlive its own reference to the device during deinit.
    let device: CUDADevice
    let pointer: UnsafeMutableRawPointer
    let bytes: Int

    init(device: CUDADevice, pointer: UnsafeMutableRawPointer, bytes: Int) {
        self.device = device
        self.pointer = pointer
        self.bytes = bytes
    }

    deinit { _ = device.runtime.free(device.context, pointer) }
}
