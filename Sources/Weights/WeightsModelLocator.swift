import Foundation

/// Where a model's files are, as decided from the user's `--model` argument.
public enum ModelLocation: Sendable, Equatable {
    /// A folder with config.json and *.safetensors (Hugging Face layout).
    case huggingFaceFolder(String)
    /// A single .gguf file.
    case ggufFile(String)

    public var path: String {
        switch self {
        case .huggingFaceFolder(let path), .ggufFile(let path): return path
        }
    }
}

public enum ModelLocator {
    /// nil (or one of `DefaultModel.aliases`, unless such a path exists) -> the default model, fetched once into the cache;
    /// a folder with config.json -> Hugging Face layout; a .gguf file, or a folder holding exactly one, -> GGUF.
    /// Paths may start with `~/`. Nothing is downloaded unless the default model is asked for.
    public static func resolve(_ argument: String?, cacheDirectory: String? = nil) throws -> ModelLocation {
        guard let argument, !argument.isEmpty else { return try defaultModel(cacheDirectory) }
        let path = absolutePath(expandingTilde(argument))
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            // A local file or folder of the same name wins over the default model's names.
            if DefaultModel.aliases.contains(argument) { return try defaultModel(cacheDirectory) }
            throw WeightsError(.invalidModelLocation,
                               "model '\(argument)' not found: expected a local folder with config.json and *.safetensors, or a .gguf file (models are not downloaded from the Hugging Face Hub; omit the model argument to use the default \(DefaultModel.name))")
        }
        if isDirectory.boolValue {
            let config = (path as NSString).appendingPathComponent("config.json")
            if FileManager.default.fileExists(atPath: config) { return .huggingFaceFolder(path) }
            return try ggufInFolder(path)
        }
        if (path as NSString).lastPathComponent == "config.json" {
            return .huggingFaceFolder((path as NSString).deletingLastPathComponent)
        }
        if path.lowercased().hasSuffix(".gguf") || startsWithGGUFMagic(path) {
            return .ggufFile(path)
        }
        throw WeightsError(.invalidModelLocation,
                           "model file \(path) is neither a .gguf file nor a config.json; pass a GGUF file or a Hugging Face model folder")
    }

    /// GGUF repositories ship a folder of .gguf files and no config.json: take the only one.
    private static func ggufInFolder(_ folder: String) throws -> ModelLocation {
        let ggufs = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.lowercased().hasSuffix(".gguf") }.sorted()
        switch ggufs.count {
        case 1:
            return .ggufFile((folder as NSString).appendingPathComponent(ggufs[0]))
        case 0:
            throw WeightsError(.invalidModelLocation,
                               "model folder \(folder) has no config.json and no .gguf file (expected a Hugging Face model folder with config.json and *.safetensors, or a .gguf file)")
        default:
            throw WeightsError(.invalidModelLocation,
                               "model folder \(folder) has no config.json but several .gguf files (\(ggufs.joined(separator: ", "))); pass the one to use")
        }
    }

    private static func defaultModel(_ cacheDirectory: String?) throws -> ModelLocation {
        .ggufFile(try DefaultModel.ensureCached(cacheDirectory: cacheDirectory ?? defaultCacheDirectory))
    }

    /// `$VLLM_CACHE_DIR`, or `~/.cache/swift-vllm`.
    public static var defaultCacheDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let custom = environment["VLLM_CACHE_DIR"], !custom.isEmpty {
            return expandingTilde(custom)
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.path
        return (home as NSString).appendingPathComponent(".cache/swift-vllm")
    }

    static func expandingTilde(_ path: String) -> String {
        (path as NSString).expandingTildeInPath
    }

    private static func absolutePath(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return (path as NSString).standardizingPath }
        let joined = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (joined as NSString).standardizingPath
    }

    private static func startsWithGGUFMagic(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4)) ?? Data()
        return head == Data("GGUF".utf8)
    }
}
