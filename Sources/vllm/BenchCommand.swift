import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmarks: serve, throughput, latency.")
    func run() async throws { throw ValidationError("bench is not implemented yet") }
}
