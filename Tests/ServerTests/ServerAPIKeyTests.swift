import Foundation
import XCTest
@testable import Server

final class ServerAPIKeyTests: XCTestCase {
    func testConstantTimeKeyComparison() {
        let keys = [Array("secret".utf8), Array("other".utf8)]
        XCTAssertTrue(constantTimeMatchesAny(Array("secret".utf8), keys))
        XCTAssertTrue(constantTimeMatchesAny(Array("other".utf8), keys))
        XCTAssertFalse(constantTimeMatchesAny(Array("secre".utf8), keys))
        XCTAssertFalse(constantTimeMatchesAny(Array("secrets".utf8), keys))
        XCTAssertFalse(constantTimeMatchesAny([], keys))
    }
}
