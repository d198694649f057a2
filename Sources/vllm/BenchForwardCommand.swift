import ArgumentParser

/// Raw forward-pass speed of the model runtime (prefill and decode), no scheduler or HTTP.
struct BenchForwardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "forward", abstract: "Prefill/decode speed of the model runtime.")
    func run() async throws { throw ValidationError("bench forward is not implemented yet") }
}
