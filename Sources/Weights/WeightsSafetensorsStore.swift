import Foundation
import JSON

/// Tensors from Hugging Face safetensors files in one folder: `model.safetensors`, shards listed by
/// `model.safetensors.index.json`, or else every `*.safetensors` file in the folder.
public final class SafetensorsStore: WeightStore, @unchecked Sendable {
    public let directory: String
    /// Paths of the files opened, in load order.
    public let files: [String]
    /// The `__metadata__` string map of each file, merged (later shards win on conflicts).
    public let metadata: [String: String]
    public let tensorNames: [String]

    private let entries: [String: SafetensorsEntry]
    // Held only to keep the mappings (and so every tensor pointer) alive.
    private let mappings: [WeightsMappedFile]

    public init(directory: String) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw WeightsError(.fileNotFound, "model folder not found: \(directory)")
        }
        guard isDirectory.boolValue else {
            throw WeightsError(.invalidModelLocation, "\(directory) is not a folder (expected a folder with *.safetensors)")
        }

        let plan = try SafetensorsStore.shardPlan(directory: directory)
        var entries: [String: SafetensorsEntry] = [:]
        var owner: [String: String] = [:]
        var metadata: [String: String] = [:]
        var mappings: [WeightsMappedFile] = []
        var names: [String] = []
        for path in plan.files {
            let file = try WeightsMappedFile(path: path)
            let parsed = try SafetensorsHeader.parse(file)
            mappings.append(file)
            metadata.merge(parsed.metadata) { _, new in new }
            for entry in parsed.entries {
                if let previous = owner[entry.name] {
                    throw WeightsError(.duplicateName,
                                       "tensor '\(entry.name)' appears in both \(previous) and \(path)")
                }
                owner[entry.name] = path
                entries[entry.name] = entry
                names.append(entry.name)
            }
        }
        if let weightMap = plan.weightMap {
            for (name, shard) in weightMap.sorted(by: { $0.key < $1.key }) where entries[name] == nil {
                throw WeightsError(.missingTensor,
                                   "tensor '\(name)' is listed in \(plan.indexPath ?? "the index") for shard \(shard) but that file does not contain it")
            }
        }
        self.files = plan.files
        self.metadata = metadata
        self.entries = entries
        self.mappings = mappings
        self.tensorNames = names
    }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    public func tensor(_ name: String) throws -> WeightTensor {
        guard let entry = entries[name] else {
            let searched = files.count == 1 ? files[0] : "\(files.count) files in \(directory)"
            throw WeightsError(.missingTensor, "tensor '\(name)' not found in \(searched)")
        }
        return try entry.tensor()
    }

    private struct ShardPlan {
        var files: [String]
        var weightMap: [String: String]?
        var indexPath: String?
    }

    private static func shardPlan(directory: String) throws -> ShardPlan {
        let dir = URL(fileURLWithPath: directory)
        let single = dir.appendingPathComponent("model.safetensors").path
        if FileManager.default.fileExists(atPath: single) {
            return ShardPlan(files: [single])
        }
        let indexPath = dir.appendingPathComponent("model.safetensors.index.json").path
        if FileManager.default.fileExists(atPath: indexPath) {
            let weightMap = try readWeightMap(indexPath: indexPath)
            var seen = Set<String>()
            var files: [String] = []
            for shard in weightMap.values.sorted() where seen.insert(shard).inserted {
                guard !shard.contains("/") else {
                    throw WeightsError(.invalidHeader, "\(indexPath): shard name '\(shard)' must be a file name in the same folder")
                }
                let path = dir.appendingPathComponent(shard).path
                guard FileManager.default.fileExists(atPath: path) else {
                    throw WeightsError(.fileNotFound, "shard \(path) listed in \(indexPath) is missing")
                }
                files.append(path)
            }
            return ShardPlan(files: files, weightMap: weightMap, indexPath: indexPath)
        }
        let listing: [String]
        do {
            listing = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw WeightsError(.ioError, "cannot list \(directory): \(error.localizedDescription)")
        }
        let shards = listing.filter { $0.hasSuffix(".safetensors") }.sorted()
        guard !shards.isEmpty else {
            if let pickle = listing.sorted().first(where: { $0.hasSuffix(".bin") || $0.hasSuffix(".pt") || $0.hasSuffix(".pth") }) {
                throw WeightsError(.unsupportedFormat, "\(directory) holds PyTorch pickle weights (\(pickle)) but no *.safetensors; only safetensors are read (convert the checkpoint, or use a GGUF file)")
            }
            throw WeightsError(.fileNotFound, "no *.safetensors files in \(directory)")
        }
        return ShardPlan(files: shards.map { dir.appendingPathComponent($0).path })
    }

    private static func readWeightMap(indexPath: String) throws -> [String: String] {
        let root: JSONValue
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: indexPath))
            root = try JSONParser.parse([UInt8](data))
        } catch {
            throw WeightsError(.invalidHeader, "\(indexPath) is not valid JSON: \(error)")
        }
        guard let map = root["weight_map"]?.members else {
            throw WeightsError(.invalidHeader, "\(indexPath) has no \"weight_map\" object")
        }
        var result: [String: String] = [:]
        for (name, value) in map {
            guard let shard = value.string else {
                throw WeightsError(.invalidHeader, "\(indexPath): weight_map entry for '\(name)' is not a file name")
            }
            result[name] = shard
        }
        return result
    }
}
