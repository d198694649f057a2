import Foundation
import XCTest
@testable import ChatTemplate

/// Renders the 57 real templates from ../shared/assets with the conversations in Fixtures/conversations.json
/// and compares with python jinja2's output recorded by scripts/make_template_fixtures.py.
final class ChatTemplateFixtureTests: XCTestCase {
    private static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    private static let repoRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
    private static let templatesDirectory = repoRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/assets/llama.cpp/models/templates")

    private func loadJSON(_ name: String) throws -> TemplateValue {
        let data = try Data(contentsOf: Self.testsDirectory.appendingPathComponent("Fixtures/\(name)"))
        return try TemplateValue.parseJSON([UInt8](data))
    }

    func testAllTemplatesMatchPythonJinja() throws {
        guard FileManager.default.fileExists(atPath: Self.templatesDirectory.path) else {
            throw XCTSkip("shared assets not found at \(Self.templatesDirectory.path)")
        }
        let setup = try loadJSON("conversations.json")
        guard case .object(let expectedRoot)? = try loadJSON("expected.json")["templates"],
              case .array(let conversations)? = setup["conversations"] else {
            return XCTFail("malformed fixtures")
        }
        // 2025-03-14T09:26:53Z, the instant the fixture script feeds strftime_now.
        let fixedNow = Date(timeIntervalSince1970: 1_741_944_413)
        var identical = 0, total = 0, templatesAllIdentical = 0
        var failures: [String] = []
        for templateName in expectedRoot.keys {
            guard case .object(let expectations)? = expectedRoot[templateName] else { continue }
            let url = Self.templatesDirectory.appendingPathComponent(templateName)
            let source = try String(contentsOf: url, encoding: .utf8)
            var allIdentical = true
            let template: ChatTemplate
            do {
                template = try ChatTemplate(source: source, now: { fixedNow })
            } catch {
                failures.append("\(templateName): failed to parse: \(error)")
                total += expectations.count
                continue
            }
            for conversation in conversations {
                guard let name = conversation["name"]?.stringValue, let expected = expectations[name],
                      let messages = conversation["messages"] else { continue }
                total += 1
                var extra: [String: TemplateValue] = [:]
                if case .object(let kwargs)? = conversation["extra"] {
                    for (key, value) in kwargs.pairs { extra[key] = value }
                }
                let result = Result {
                    try template.renderChat(messages: messages, tools: conversation["tools"],
                                            addGenerationPrompt: conversation["add_generation_prompt"] == .bool(true),
                                            bosToken: setup["bos_token"]?.stringValue, eosToken: setup["eos_token"]?.stringValue,
                                            extraContext: extra)
                }
                switch (result, expected["output"], expected["error"]) {
                // Byte comparison: Swift's String == ignores Unicode normalisation differences.
                case (.success(let output), .string(let want)?, _) where output.utf8.elementsEqual(want.utf8):
                    identical += 1
                case (.failure(let error as ChatTemplateError), _, .string(let message)?):
                    // raise_exception messages must match exactly; other errors just have to happen.
                    if expected["raised"] == .bool(true), error.kind != .raised || error.message != message {
                        allIdentical = false
                        failures.append("\(templateName) [\(name)]: expected raise_exception(\(message)), got \(error)")
                    } else {
                        identical += 1
                    }
                case (.success(let output), .string(let want)?, _):
                    allIdentical = false
                    failures.append("\(templateName) [\(name)]: output differs\n" + Self.firstDifference(output, want))
                case (.success, _, .string(let message)?):
                    allIdentical = false
                    failures.append("\(templateName) [\(name)]: python raised '\(message)', we rendered")
                case (.failure(let error), _, _):
                    allIdentical = false
                    failures.append("\(templateName) [\(name)]: unexpected error \(error)")
                default:
                    allIdentical = false
                    failures.append("\(templateName) [\(name)]: malformed expectation")
                }
            }
            if allIdentical { templatesAllIdentical += 1 }
        }
        print("chat templates: \(templatesAllIdentical)/\(expectedRoot.count) templates fully identical, \(identical)/\(total) renders identical")
        XCTAssertEqual(identical, total, failures.joined(separator: "\n"))
    }

    private static func firstDifference(_ got: String, _ want: String) -> String {
        let g = Array(got), w = Array(want)
        var i = 0
        while i < g.count, i < w.count, g[i] == w[i] { i += 1 }
        let from = max(0, i - 60)
        return "  at char \(i)\n  got:  \(String(g[from..<min(g.count, i + 80)]).debugDescription)\n  want: \(String(w[from..<min(w.count, i + 80)]).debugDescription)"
    }
}
