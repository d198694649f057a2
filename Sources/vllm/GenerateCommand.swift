import JSON
import ArgumentParser
import Engine
import Foundation
import Logging
import Server

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Offline batch generation from a JSONL file.",
        discussion: """
            Each input line is {"prompt": "..."} (completion) or {"messages": [...]} (chat), optionally with
            sampling fields named as in the OpenAI/vLLM API (max_tokens, temperature, top_p, top_k, n, stop, seed,
            logprobs, ...). Each output line is {"index", "outputs": [{"text", "finish_reason"}], "usage"} or
            {"index", "error"}, in input order. Progress goes to stderr.

            Example:
              printf '{"prompt": "Once upon a time", "max_tokens": 32}\\n' > prompts.jsonl
              vllm generate --input prompts.jsonl --output results.jsonl
            """)

    @Option(help: "Model folder (Hugging Face layout) or .gguf file. Default: SmolLM2-135M-Instruct.")
    var model: String?

    @Option(help: "Input JSONL file ('-' for stdin).")
    var input: String

    @Option(help: "Output JSONL file ('-' for stdout).")
    var output: String = "-"

    @OptionGroup var engine: EngineOptions

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "vllm.generate")
        let lines = try readLines()
        guard !lines.isEmpty else { throw ValidationError("\(input) has no JSON lines") }
        let loaded = try loadServingEngine(model: model, options: engine, servedModelName: nil, logger: logger)
        let started = Date()
        let bar = ProgressBar(total: lines.count)
        let results = await OfflineBatch.run(lines: lines, engine: loaded.engine,
                                             modelName: loaded.servedModelNames.first ?? "model") { done, total, tokens in
            bar.update(done: done, tokens: tokens, elapsed: Date().timeIntervalSince(started))
        }
        bar.finish()
        var text = ""
        for result in results { text += JSONWriter.string(result.json) + "\n" }
        if output == "-" {
            FileHandle.standardOutput.write(Data(text.utf8))
        } else {
            do {
                try text.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write --output \(output): \(error.localizedDescription)")
            }
        }
        let failures = results.filter { $0.json["error"] != nil }.count
        let tokens = results.reduce(0) { $0 + $1.generatedTokens }
        let seconds = Date().timeIntervalSince(started)
        FileHandle.standardError.write(Data(String(
            format: "Generated %d tokens for %d requests in %.2f s (%.1f tokens/s)%@\n", tokens, results.count, seconds,
            Double(tokens) / max(seconds, 1e-9), failures > 0 ? " — \(failures) failed (see \"error\" lines)" : "").utf8))
        let stats = loaded.engine.stats()
        if let line = EngineStatsLogLine.speculation(previous: EngineStats(maxModelLen: stats.maxModelLen), current: stats) {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        await loaded.shutdown()
    }

    private func readLines() throws -> [String] {
        let data: Data
        if input == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: input) else {
                throw ValidationError("cannot read --input \(input)")
            }
            data = contents
        }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }
}

/// A one-line progress bar on stderr.
final class ProgressBar: @unchecked Sendable {
    private let total: Int
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastDrawn = -1

    init(total: Int) { self.total = total }

    func update(done: Int, tokens: Int, elapsed: Double) {
        lock.lock()
        defer { lock.unlock() }
        // Without a terminal, print at most ~20 lines.
        if !isTerminal, done != total, done * 20 / max(total, 1) == lastDrawn * 20 / max(total, 1) { return }
        lastDrawn = done
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let line = String(format: "Processed prompts: %d/%d [%@] %.1f tokens/s", done, total, bar,
                          Double(tokens) / max(elapsed, 1e-9))
        FileHandle.standardError.write(Data((isTerminal ? "\r" + line : line + "\n").utf8))
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
