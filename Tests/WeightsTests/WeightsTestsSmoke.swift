import XCTest
final class WeightsTestsSmoke: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
