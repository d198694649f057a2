import XCTest
final class ChatTemplateTestsSmoke: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
