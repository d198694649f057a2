import Foundation
import XCTest
@testable import ChatTemplate

/// One-feature snippets (whitespace control, loops, filters, tests, methods, printing) whose python jinja2
/// output scripts/make_template_fixtures.py recorded in Fixtures/features.json.
final class ChatTemplateFeatureTests: XCTestCase {
    func testFeatureSnippetsMatchPythonJinja() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/features.json")
        let root = try TemplateValue.parseJSON([UInt8](try Data(contentsOf: url)))
        guard case .array(let cases)? = root["cases"] else { return XCTFail("malformed features.json") }
        let fixedNow = Date(timeIntervalSince1970: 1_741_944_413)
        var failures: [String] = []
        for testCase in cases {
            guard let source = testCase["template"]?.stringValue else { continue }
            var context: [String: TemplateValue] = [:]
            if case .object(let object)? = testCase["context"] {
                for (key, value) in object.pairs { context[key] = value }
            }
            let result = Result { try ChatTemplate(source: source, now: { fixedNow }).render(context) }
            switch (result, testCase["output"], testCase["error"]) {
            case (.success(let got), .string(let want)?, _):
                if !got.utf8.elementsEqual(want.utf8) { failures.append("\(source.debugDescription)\n  got:  \(got.debugDescription)\n  want: \(want.debugDescription)") }
            case (.failure(let error as ChatTemplateError), _, .string(let message)?):
                if testCase["raised"] == .bool(true), error.kind != .raised || error.message != message {
                    failures.append("\(source.debugDescription): expected raise_exception(\(message)), got \(error)")
                }
            case (.success(let got), _, .string(let message)?):
                failures.append("\(source.debugDescription): python raised '\(message)', we rendered \(got.debugDescription)")
            case (.failure(let error), _, _):
                failures.append("\(source.debugDescription): unexpected error \(error)")
            default:
                failures.append("\(source.debugDescription): malformed case")
            }
        }
        XCTAssert(failures.isEmpty, "\(failures.count)/\(cases.count) snippets differ:\n" + failures.joined(separator: "\n"))
    }
}
