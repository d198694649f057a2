import XCTest
@testable import CUDABackend

final class CUDABackendTestsBFloat16: XCTestCase {
    func testExactValuesRoundTrip() {
        for value: Float in [0, 1, -2, 0.5, 3.140625, -65536, .infinity, -.infinity] {
            XCTAssertEqual(BFloat16.toFloat(BFloat16.fromFloat(value)), value)
        }
    }

    func testRoundsToNearestEven() {
        // 1 + 2^-8 is halfway between bf16 1.0 and 1 + 2^-7: ties go to the even mantissa (1.0).
        XCTAssertEqual(BFloat16.fromFloat(1 + 1.0 / 256), 0x3F80)
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
        XCTAssertEqual(BFloat16.fromFloat(1 + 3.0 / 256), 0x3F82)
        XCTAssertEqual(BFloat16.fromFloat(1 + 1.0 / 256 + 1.0 / 4096), 0x3F81)
    }

    func testNaNStaysNaN() {
        XCTAssertTrue(BFloat16.toFloat(BFloat16.fromFloat(.nan)).isNaN)
        XCTAssertTrue(BFloat16.toFloat(BFloat16.fromFloat(Float(bitPattern: 0x7F80_0001))).isNaN)
    }
}
