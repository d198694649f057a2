import ArgumentParser
import Foundation
import Logging
import Server

/// A loaded engine behind the server's `ServingEngine` protocol.
struct LoadedServingEngine {
    var engine: any ServingEngine
    var servedModelNames: [String]
    var modelPath: String
    /// Scheduler/cache settings for the startup log line.
    var engineSummary: String
    var shutdown: @Sendable () async -> Void
}

func loadServingEngine(model: String?, options: EngineOptions, servedModelName: String?, logger: Logger) throws
    -> LoadedServingEngine {
    throw ValidationError("the inference engine is not available in this build yet")
}
