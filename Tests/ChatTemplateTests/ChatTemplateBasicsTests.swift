import XCTest
@testable import ChatTemplate

final class ChatTemplateBasicsTests: XCTestCase {
    private func render(_ source: String, _ context: [String: TemplateValue] = [:]) throws -> String {
        try ChatTemplate(source: source).render(context)
    }

    func testTextAndExpressions() throws {
        XCTAssertEqual(try render("Hello {{ name }}!", ["name": "world"]), "Hello world!")
        XCTAssertEqual(try render("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ -7 % 3 }} {{ 2 ** 10 }}"),
                       "7 3 -4 3.5 2.0 2 1024")
    }
}
