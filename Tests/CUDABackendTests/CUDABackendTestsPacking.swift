import Models
import XCTest
@testable import CUDABackend

final class CUDABackendTestsPacking: XCTestCase {
    /// Two sequences: a 3-token prefill (blocks 4, 7) and one decode token at position 9 (blocks 1, 2, 5).
    func mixedBatch() -> ForwardBatch {
        var batch = ForwardBatch()
        batch.tokenIds = [11, 12, 13, 14]
        batch.positions = [0, 1, 2, 9]
        batch.slotMapping = [16, 17, 18, 5 * 4 + 9 % 4]  // row 3: block 5 (entry 9 / 4), offset 1
        batch.queryStart = [0, 3, 4]
        batch.seqLens = [3, 10]
        batch.maxBlocksPerSeq = 3
        batch.blockTables = [4, 7, 0, 1, 2, 5]
        batch.logitRows = [2, 3]
        return batch
    }

    func testLayoutOffsetsAndContents() throws {
        var staging: [Int32] = []
        let layout = try CUDAStepPacker.pack(mixedBatch(), vocabSize: 32, numBlocks: 8, blockSize: 4, into: &staging)
        XCTAssertEqual(layout, CUDAStepLayout(rows: 4, numSeqs: 2, maxBlocksPerSeq: 3, logitRowCount: 2))
        XCTAssertEqual(layout.positions, 4)
        XCTAssertEqual(layout.slotMapping, 8)
        XCTAssertEqual(layout.queryStart, 12)
        XCTAssertEqual(layout.seqLens, 15)
        XCTAssertEqual(layout.blockTables, 17)
        XCTAssertEqual(layout.logitRows, 23)
        XCTAssertEqual(layout.totalCount, 25)
        XCTAssertEqual(staging, [11, 12, 13, 14, 0, 1, 2, 9, 16, 17, 18, 21, 0, 3, 4, 3, 10, 4, 7, 0, 1, 2, 5, 2, 3])
    }

    func testOnlyTheUsedBlockTablePrefixIsPacked() throws {
        var batch = mixedBatch()
        batch.blockTables += [99, 99, 99]  // stale tail from a larger earlier step
        var staging: [Int32] = [42, 42]
        let layout = try CUDAStepPacker.pack(batch, vocabSize: 32, numBlocks: 8, blockSize: 4, into: &staging)
        XCTAssertEqual(staging.count, layout.totalCount)
        XCTAssertFalse(staging.contains(99))
        XCTAssertFalse(staging.contains(42))
    }

    func testRejectsOutOfRangeInputs() {
        var staging: [Int32] = []
        func rejects(_ mutate: (inout ForwardBatch) -> Void, _ fragment: String, line: UInt = #line) {
            var batch = mixedBatch()
            mutate(&batch)
            XCTAssertThrowsError(try CUDAStepPacker.pack(batch, vocabSize: 32, numBlocks: 8, blockSize: 4,
                                                         into: &staging), line: line) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error)", line: line)
            }
        }
        rejects({ $0.tokenIds[1] = 32 }, "outside the vocabulary")
        rejects({ $0.positions[0] = -1 }, "negative position")
        rejects({ $0.slotMapping[3] = 32 }, "beyond the KV cache")
        rejects({ $0.blockTables[4] = 8 }, "block id 8")
        rejects({ $0.seqLens[1] = 13 }, "must cover")
        rejects({ $0.seqLens[0] = 2 }, "must cover")
        rejects({ $0.logitRows = [4] }, "logit row 4")
        rejects({ $0.positions.removeLast() }, "differ in length")
        rejects({ $0.queryStart = [0, 3, 5] }, "queryStart")
        rejects({ $0.seqLens = [3] }, "seqLens has 1")
        rejects({ $0.blockTables.removeLast() }, "blockTables has 5")
    }

    func testUnusedBlockEntriesMayBePadding() throws {
        var batch = mixedBatch()
        batch.blockTables[2] = 0  // sequence 0 needs only one block of 4 for 3 tokens; entry 2 is padding
        batch.blockTables[1] = -1
        var staging: [Int32] = []
        XCTAssertNoThrow(try CUDAStepPacker.pack(batch, vocabSize: 32, numBlocks: 8, blockSize: 4, into: &staging))
    }
}
