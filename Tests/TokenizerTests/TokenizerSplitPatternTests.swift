import Foundation
import XCTest
@testable import Tokenizer

/// The hand-written scanners must split exactly like the regexes they replace (checked against
/// ICU through the general NSRegularExpression path).
final class TokenizerSplitPatternTests: XCTestCase {
    private let samples = [
        "Hello, y'all! How're you? I'M FINE, THEY'LL SEE. 's 'S 'x",
        "   leading and trailing spaces   ", "tabs\tand\t\ttabs\n\nnewlines\r\nCRLF\r\n\r\n",
        "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n", "1 22 333 4444 55555 3.14159 ½ ² Ⅻ",
        "emoji: 🚀 😶‍🌫️ 👩🏽‍💻 ✅", "中文测试：我想在apple工作1314151天～", "combining: e\u{301} a\u{308} ि्",
        "nbsp\u{a0}here\u{2003}em\u{3000}ideographic\u{85}nel", "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i); }",
        "((( ))) !!! ?? ...\n...\r\n", "a\n\nb \n c  \t\n d", "x  ", " ", "",
    ]

    private func splits(_ pattern: SplitPattern, _ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var matches: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { pattern.findMatches($0, 0..<$0.count, into: &matches) }
        return matches.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    private func compare(_ flavor: ScannedPattern.Flavor, _ regex: String) throws {
        let scanner = ScannedPattern(flavor: flavor)
        let general = try RegexPattern(regex)
        for text in samples {
            XCTAssertEqual(splits(scanner, text), splits(general, text), "\(flavor) on \(text.debugDescription)")
        }
    }

    func testGPT2ScannerMatchesRegex() throws { try compare(.gpt2, KnownPattern.gpt2) }
    func testLlama3ScannerMatchesRegex() throws { try compare(.llama3, KnownPattern.llama3) }
    func testQwen2ScannerMatchesRegex() throws { try compare(.qwen2, KnownPattern.qwen2) }

    func testKnownPatternsUseScanners() throws {
        XCTAssertTrue(try KnownPattern.make(KnownPattern.llama3) is ScannedPattern)
        XCTAssertTrue(try KnownPattern.make(KnownPattern.qwen2) is ScannedPattern)
        XCTAssertTrue(try KnownPattern.make(#"\p{N}{1,3}"#) is RegexPattern)
        XCTAssertThrowsError(try KnownPattern.make("(unclosed"))
    }

    func testByteLevelTableRoundTrips() {
        let all = (0...255).map { UInt8($0) }
        let encoded = String(decoding: ByteLevelTable.encode(all), as: UTF8.self)
        XCTAssertEqual(ByteLevelTable.decode(encoded), all)
        XCTAssertEqual(String(decoding: ByteLevelTable.encode(Array(" hi".utf8)), as: UTF8.self), "Ġhi")
        XCTAssertNil(ByteLevelTable.decode("€"))
    }
}
