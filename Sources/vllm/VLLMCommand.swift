import ArgumentParser

@main
struct VLLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vllm",
        abstract: "A high-throughput LLM inference and serving engine (OpenAI-compatible).",
        discussion: """
            vllm serve [MODEL]      serve MODEL (default: SmolLM2-135M-Instruct) over an OpenAI-compatible API
            vllm generate --input prompts.jsonl --output results.jsonl
                                    offline batch generation
            vllm bench ...          benchmarks
            """,
        version: vllmVersion,
        subcommands: [ServeCommand.self, GenerateCommand.self, BenchCommand.self]
    )
}
