import XCTest
final class TokenizerTestsSmoke: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
