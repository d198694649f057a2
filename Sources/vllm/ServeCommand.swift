import ArgumentParser

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve a model over an OpenAI-compatible HTTP API.")
    @Argument(help: "Model folder or .gguf file (default: SmolLM2-135M-Instruct).") var model: String?
    func run() async throws { throw ValidationError("serve is not implemented yet") }
}
