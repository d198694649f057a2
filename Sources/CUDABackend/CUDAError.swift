/// Why the CUDA backend cannot run, or what failed while it ran.
public enum CUDAError: Error, CustomStringConvertible, Equatable {
    /// libvllm_cuda.so was not found in any searched place (listed).
    case libraryNotFound(searched: [String], lastError: String)
    /// The library was found but is unusable (missing symbol, wrong ABI version).
    case libraryInvalid(path: String, reason: String)
    /// The library loaded but the NVIDIA driver (libcuda.so.1) is missing or too old.
    case noDriver(String)
    /// The driver works but no device is visible (or the index is out of range).
    case noDevice(String)
    /// A library call failed; `call` names it and `message` is the library's own message.
    case callFailed(call: String, status: Int32, message: String)
    /// The model cannot run on this backend (shape or dtype it does not support).
    case unsupportedModel(String)
    /// Memory sizing left no room for the KV cache, or the settings are out of range.
    case insufficientMemory(String)

    public var description: String {
        switch self {
        case let .libraryNotFound(searched, lastError):
            return "CUDA library libvllm_cuda.so not found (searched: \(searched.joined(separator: ", ")))"
                + (lastError.isEmpty ? "" : "; last dlopen error: \(lastError)")
                + ". Build it with cuda/build.sh or set VLLM_CUDA_LIB."
        case let .libraryInvalid(path, reason):
            return "CUDA library \(path) is unusable: \(reason)"
        case let .noDriver(message):
            return "no CUDA driver found: \(message)"
        case let .noDevice(message):
            return "no CUDA device found: \(message)"
        case let .callFailed(call, status, message):
            return "CUDA call \(call) failed (status \(status)): \(message)"
        case let .unsupportedModel(message):
            return "model not supported by the CUDA backend: \(message)"
        case let .insufficientMemory(message):
            return "CUDA memory: \(message)"
        }
    }
}
