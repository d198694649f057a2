import XCTest
final class ModelsTestsSmoke: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
