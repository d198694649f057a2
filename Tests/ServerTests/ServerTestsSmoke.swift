import XCTest
final class ServerTestsSmoke: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
