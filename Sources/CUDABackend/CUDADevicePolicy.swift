import Models
import Weights

/// Which runtime `vllm serve --device` asks for.
public enum CUDADevicePolicy: String, Sendable, CaseIterable {
    /// CUDA when libvllm_cuda.so, a driver and a device are all found; the CPU otherwise.
    case auto
    case cpu
    case cuda

    public init(argument: String) throws {
        guard let policy = CUDADevicePolicy(rawValue: argument.lowercased()) else {
            throw CUDAError.unsupportedModel("unknown --device '\(argument)' (expected auto, cpu or cuda)")
        }
        self = policy
    }
}

/// A loaded model and where it runs; `fallbackReason` says why `auto` chose the CPU.
public struct DeviceModel {
    public let model: CausalLanguageModel
    public let deviceDescription: String
    public let fallbackReason: String?
}

/// Loads `location` on the device `policy` selects. `.cuda` throws when CUDA is unavailable;
/// `.auto` falls back to the CPU `LlamaModel` and reports why.
public func loadModelForDevice(_ location: ModelLocation, policy: CUDADevicePolicy,
                               deviceIndex: Int = 0) throws -> DeviceModel {
    if policy == .cpu {
        return DeviceModel(model: try ModelLoader.load(location), deviceDescription: "cpu", fallbackReason: nil)
    }
    let device: CUDADevice
    do {
        device = try CUDADevice(runtime: try CUDARuntime.load(), index: deviceIndex)
    } catch {
        if policy == .cuda { throw error }
        return DeviceModel(model: try ModelLoader.load(location), deviceDescription: "cpu",
                           fallbackReason: "\(error)")
    }
    let model = try CUDALlamaModel.load(location, device: device)
    return DeviceModel(model: model, deviceDescription: device.description, fallbackReason: nil)
}
