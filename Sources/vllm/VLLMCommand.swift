import ArgumentParser

@main
struct VLLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vllm",
        abstract: "A high-throughput LLM inference and serving engine (OpenAI-compatible).",
        version: "0.1.0",
        subcommands: [ServeCommand.self, GenerateCommand.self, BenchCommand.self]
    )
}
