import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks: serve, throughput, latency, forward.",
        subcommands: [BenchServeCommand.self, BenchThroughputCommand.self, BenchLatencyCommand.self,
                      BenchForwardCommand.self])
}
