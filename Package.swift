// swift-tools-version:6.0
import PackageDescription
import Foundation

// Targets form one chain of concerns; dependencies point one way:
// CKernels -> Backend -> Weights / Tokenizer / ChatTemplate -> Models -> EngineCore -> Engine -> Server -> vllm,
// with JSON (the one JSON reader and writer) under every target that reads JSON.
//
// VLLM_TARGETS (comma-separated test target names) restricts the package to those test targets
// and what they depend on. Parallel developers use it with their own --scratch-path so that an
// unfinished target elsewhere never breaks their build. Unset (CI, users): everything is built.

let fastC: [CSetting] = [.unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=fast"])]

struct Spec {
    var name: String
    var deps: [String] = []
    var external: [Target.Dependency] = []
    var kind: Kind = .library
    var resources: [Resource]? = nil
    enum Kind { case library, cLibrary, test, executable }
}

let optimizedInDebug: Set<String> = ["JSON", "Tokenizer", "Models", "EngineCore", "Engine"]
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let specs: [Spec] = [
    Spec(name: "CKernels", kind: .cLibrary),
    // Interposes malloc to count one thread's allocations (tests, `vllm bench`); a plain forward when not counting.
    Spec(name: "AllocationCounter", deps: ["CKernels"], kind: .cLibrary),
    Spec(name: "Backend", deps: ["CKernels"]),
    Spec(name: "JSON"),
    Spec(name: "Weights", deps: ["Backend", "JSON"]),
    Spec(name: "Tokenizer", deps: ["JSON"]),
    Spec(name: "ChatTemplate", deps: ["JSON"]),
    Spec(name: "Models", deps: ["Backend", "Weights", "JSON"]),
    Spec(name: "CUDABackend", deps: ["Models", "Weights"]),
    Spec(name: "EngineCore", deps: ["Models"]),
    Spec(name: "Engine", deps: ["EngineCore", "Models", "Weights", "Tokenizer", "ChatTemplate", "JSON"],
         external: [.product(name: "Logging", package: "swift-log")]),
    Spec(name: "Server", deps: ["Engine", "EngineCore", "JSON"],
         external: [hummingbird,
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                    .product(name: "Logging", package: "swift-log")]),
    Spec(name: "Benchmarks", deps: ["Engine", "AllocationCounter", "JSON"],
         external: [.product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOPosix", package: "swift-nio"),
                    .product(name: "NIOHTTP1", package: "swift-nio")]),
    Spec(name: "vllm", deps: ["Server", "Engine", "Benchmarks", "AllocationCounter", "JSON"],
         external: [.product(name: "ArgumentParser", package: "swift-argument-parser"),
                    .product(name: "Logging", package: "swift-log")],
         kind: .executable),

    Spec(name: "JSONTests", deps: ["JSON"], kind: .test),
    Spec(name: "KernelsTests", deps: ["CKernels", "Backend"], kind: .test),
    Spec(name: "WeightsTests", deps: ["Weights"], kind: .test),
    Spec(name: "TokenizerTests", deps: ["Tokenizer"], kind: .test),
    Spec(name: "ChatTemplateTests", deps: ["ChatTemplate"], kind: .test),
    Spec(name: "ModelsTests", deps: ["Models", "Weights", "Backend", "AllocationCounter"], kind: .test),
    Spec(name: "CUDABackendTests", deps: ["CUDABackend"], kind: .test),
    Spec(name: "EngineCoreTests", deps: ["EngineCore", "Models", "AllocationCounter"], kind: .test),
    Spec(name: "EngineTests", deps: ["Engine", "AllocationCounter", "JSON"], kind: .test),
    Spec(name: "BenchmarksTests", deps: ["Benchmarks"], kind: .test),
    Spec(name: "ServerTests", deps: ["Server", "JSON"],
         external: [.product(name: "HummingbirdTesting", package: "hummingbird")], kind: .test),
]

let selected: Set<String> = {
    guard let list = ProcessInfo.processInfo.environment["VLLM_TARGETS"], !list.isEmpty else {
        return Set(specs.map(\.name))
    }
    var keep = Set<String>()
    var stack = list.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
    while let name = stack.popLast() {
        guard keep.insert(name).inserted, let spec = specs.first(where: { $0.name == name }) else { continue }
        stack.append(contentsOf: spec.deps)
    }
    return keep
}()

let targets: [Target] = specs.filter { selected.contains($0.name) }.map { spec in
    let deps = spec.deps.map { Target.Dependency(stringLiteral: $0) } + spec.external
    switch spec.kind {
    case .cLibrary:
        return .target(name: spec.name, dependencies: deps, cSettings: fastC, linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("m")])
    case .library:
        // Per-token Swift paths (tokenizer, sampler, scheduler, model glue) are optimized even in debug
        // builds so that tests and the end-to-end suite run at realistic speed on small CI machines.
        let settings: [SwiftSetting] = optimizedInDebug.contains(spec.name) ? [.unsafeFlags(["-O"])] : []
        return .target(name: spec.name, dependencies: deps, resources: spec.resources, swiftSettings: settings)
    case .executable:
        return .executableTarget(name: spec.name, dependencies: deps)
    case .test:
        // Fixture files are read at run time through #filePath, not bundled as resources.
        let fixtures = "\(Context.packageDirectory)/Tests/\(spec.name)/Fixtures"
        let exclude = FileManager.default.fileExists(atPath: fixtures) ? ["Fixtures"] : []
        return .testTarget(name: spec.name, dependencies: deps, exclude: exclude)
    }
}

let package = Package(
    name: "swift-vllm",
    platforms: [.macOS(.v14)],
    products: selected.contains("vllm") ? [.executable(name: "vllm", targets: ["vllm"])] : [],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: targets,
    swiftLanguageModes: [.v5]
)
