/// Every failure of the Weights module. `message` names the file, tensor or field involved so a
/// user can act on it without a debugger; `kind` lets callers and tests branch without parsing text.
public struct WeightsError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case fileNotFound
        case ioError
        case truncated
        case invalidHeader
        case badMagic
        case unsupportedVersion
        case unsupportedDType
        /// A real format variant this module does not read (split GGUF, PyTorch pickles).
        case unsupportedFormat
        case outOfBounds
        case shapeMismatch
        case missingTensor
        case duplicateName
        case invalidModelLocation
        case downloadFailed
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
