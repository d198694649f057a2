import XCTest
final class CUDABackendTestsSmoke: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
