import ArgumentParser

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Offline batch generation from a JSONL file.")
    func run() async throws { throw ValidationError("generate is not implemented yet") }
}
