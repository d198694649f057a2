import XCTest
final class BenchmarksTestsSmoke: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
