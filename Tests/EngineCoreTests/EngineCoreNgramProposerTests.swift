import XCTest
@testable import EngineCore

final class EngineCoreNgramProposerTests: XCTestCase {
    func proposals(_ tokens: [Int], minN: Int = 1, maxN: Int = 3, k: Int = 3) -> [Int] {
        var drafts: [Int] = []
        tokens.withUnsafeBufferPointer { NgramProposer(minN: minN, maxN: maxN).propose($0, maxTokens: k, into: &drafts) }
        return drafts
    }

    func testLongestSuffixMatchWinsAndItsLatestOccurrence() {
        // Suffix [2, 3] occurs at 1 (followed by 9, 9) and at 5 (followed by 7, 8): the latest wins.
        XCTAssertEqual(proposals([1, 2, 3, 9, 9, 2, 3, 7, 8, 4, 2, 3]), [7, 8, 4])
        // [4, 2, 3] (n = 3) beats [2, 3] wherever it occurs.
        XCTAssertEqual(proposals([4, 2, 3, 5, 6, 2, 3, 7, 7, 4, 2, 3]), [5, 6, 2])
    }

    func testLimitsAndMisses() {
        XCTAssertEqual(proposals([1, 2, 3, 1, 2], k: 1), [3], "at most maxTokens drafts")
        XCTAssertEqual(proposals([5, 6, 7, 8]), [], "no earlier occurrence of any suffix")
        XCTAssertEqual(proposals([1, 2, 9, 1, 2], minN: 3, maxN: 3), [], "below prompt_lookup_min")
        XCTAssertEqual(proposals([1, 2, 1, 2]), [1, 2], "only as many drafts as follow the match")
        XCTAssertEqual(proposals([7, 7, 7, 7], maxN: 2), [7, 7], "overlapping matches are fine")
        XCTAssertEqual(proposals([3]), [], "a single token has nothing before it")
    }
}
