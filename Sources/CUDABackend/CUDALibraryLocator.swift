import Foundation

/// Where libvllm_cuda.so is looked for, in order: $VLLM_CUDA_LIB (a file, or a folder holding it),
/// the executable's folder, then cuda/build/ under the current directory and under the repository
/// this source file was built from (development checkouts).
public enum CUDALibraryLocator {
    public static let libraryName = "libvllm_cuda.so"

    public static func candidatePaths(environment: [String: String] = ProcessInfo.processInfo.environment,
                                      executablePath: String? = CommandLine.arguments.first,
                                      currentDirectory: String = FileManager.default.currentDirectoryPath,
                                      sourceFile: String = #filePath) -> [String] {
        var paths: [String] = []
        if let override = environment["VLLM_CUDA_LIB"], !override.isEmpty {
            paths.append(override.hasSuffix(".so") || override.contains(".so.") ? override
                : (override as NSString).appendingPathComponent(libraryName))
        }
        if let executablePath, executablePath.contains("/") {
            let folder = ((executablePath as NSString).resolvingSymlinksInPath as NSString).deletingLastPathComponent
            paths.append((folder as NSString).appendingPathComponent(libraryName))
        }
        paths.append((currentDirectory as NSString).appendingPathComponent("cuda/build/" + libraryName))
        // Sources/CUDABackend/CUDALibraryLocator.swift -> repository root.
        let root = (((sourceFile as NSString).deletingLastPathComponent as NSString)
            .deletingLastPathComponent as NSString).deletingLastPathComponent
        paths.append((root as NSString).appendingPathComponent("cuda/build/" + libraryName))
        var seen = Set<String>()
        return paths.filter { seen.insert(($0 as NSString).standardizingPath).inserted }
    }
}
