import XCTest
final class EngineCoreTestsSmoke: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
