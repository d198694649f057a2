/// Errors from reading a model's configuration or weights. Messages name the file, tensor or field.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unreadableConfig(path: String, reason: String)
    case missingField(source: String, field: String)
    case invalidField(source: String, field: String, reason: String)
    case unsupportedArchitecture(String)
    case unsupportedRopeScaling(String)
    case missingTensor(String)
    case badTensorShape(name: String, expected: [Int], actual: [Int])
    case unsupportedTensorDType(name: String, dtype: String)
    case kvCacheNotAllocated
    case invalidBatch(String)
    case logitsBufferTooSmall(needed: Int, got: Int)
    case outOfMemory(String)

    public var description: String {
        switch self {
        case let .unreadableConfig(path, reason):
            return "cannot read model config \(path): \(reason)"
        case let .missingField(source, field):
            return "\(source): required field '\(field)' is missing"
        case let .invalidField(source, field, reason):
            return "\(source): field '\(field)' is invalid: \(reason)"
        case let .unsupportedArchitecture(name):
            let supported = ModelRegistry.shared.architectureNames.joined(separator: ", ")
            return "Model architectures ['\(name)'] are not supported for now. Supported architectures: \(supported)"
        case let .unsupportedRopeScaling(kind):
            return "unsupported rope_scaling type '\(kind)' (supported: llama3, linear)"
        case let .missingTensor(name):
            return "weight tensor '\(name)' is missing"
        case let .badTensorShape(name, expected, actual):
            return "weight tensor '\(name)' has shape \(actual), expected \(expected)"
        case let .unsupportedTensorDType(name, dtype):
            return "weight tensor '\(name)' has unsupported dtype \(dtype)"
        case .kvCacheNotAllocated:
            return "forward called before allocateKVCache"
        case let .invalidBatch(reason):
            return "invalid forward batch: \(reason)"
        case let .logitsBufferTooSmall(needed, got):
            return "logits buffer holds \(got) floats, \(needed) needed"
        case let .outOfMemory(what):
            return "out of memory: \(what)"
        }
    }
}
