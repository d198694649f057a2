import Models

/// Where each array of a packed `ForwardBatch` starts inside the flat int32 staging buffer, so one
/// host->device copy per step carries all step metadata (offsets are in int32 elements).
public struct CUDAStepLayout: Sendable, Equatable {
    public var rows: Int
    public var numSeqs: Int
    public var maxBlocksPerSeq: Int
    public var logitRowCount: Int
    public var tokenIds: Int
    public var positions: Int
    public var slotMapping: Int
    public var queryStart: Int
    public var seqLens: Int
    public var blockTables: Int
    public var logitRows: Int
    public var totalCount: Int

    public init(rows: Int, numSeqs: Int, maxBlocksPerSeq: Int, logitRowCount: Int) {
        self.rows = rows
        self.numSeqs = numSeqs
        self.maxBlocksPerSeq = maxBlocksPerSeq
        self.logitRowCount = logitRowCount
        tokenIds = 0
        positions = rows
        slotMapping = 2 * rows
        queryStart = 3 * rows
        seqLens = queryStart + numSeqs + 1
        blockTables = seqLens + numSeqs
        logitRows = blockTables + numSeqs * maxBlocksPerSeq
        totalCount = logitRows + logitRowCount
    }
}

/// Packs a step's metadata into one flat int32 buffer after checking everything the kernels index
/// with, so a bad batch is a thrown error and never an out-of-bounds device access.
public enum CUDAStepPacker {
    /// Fills `staging` (capacity kept across steps) and returns the layout.
    public static func pack(_ batch: ForwardBatch, vocabSize: Int, numBlocks: Int, blockSize: Int,
                            into staging: inout [Int32]) throws -> CUDAStepLayout {
        try validate(batch, vocabSize: vocabSize, numBlocks: numBlocks, blockSize: blockSize)
        let layout = CUDAStepLayout(rows: batch.numTokens, numSeqs: batch.numSeqs,
                                    maxBlocksPerSeq: batch.maxBlocksPerSeq, logitRowCount: batch.logitRows.count)
        staging.removeAll(keepingCapacity: true)
        staging.reserveCapacity(layout.totalCount)
        staging.append(contentsOf: batch.tokenIds)
        staging.append(contentsOf: batch.positions)
        staging.append(contentsOf: batch.slotMapping)
        staging.append(contentsOf: batch.queryStart)
        staging.append(contentsOf: batch.seqLens)
        // Only the numSeqs x maxBlocksPerSeq prefix is meaningful; the engine may keep a longer array.
        staging.append(contentsOf: batch.blockTables[0..<(layout.numSeqs * layout.maxBlocksPerSeq)])
        staging.append(contentsOf: batch.logitRows)
        return layout
    }

    static func fail(_ message: String) -> CUDAError { .callFailed(call: "forward", status: -6, message: message) }

    static func validate(_ batch: ForwardBatch, vocabSize: Int, numBlocks: Int, blockSize: Int) throws {
        let rows = batch.numTokens
        guard batch.positions.count == rows, batch.slotMapping.count == rows else {
            throw fail("tokenIds (\(rows)), positions (\(batch.positions.count)) and slotMapping "
                       + "(\(batch.slotMapping.count)) differ in length")
        }
        guard batch.queryStart.first == 0, batch.queryStart.last.map(Int.init) == rows, batch.numSeqs >= 1 else {
            throw fail("queryStart must run from 0 to the row count \(rows) over at least one sequence")
        }
        let sequences = batch.numSeqs
        guard batch.seqLens.count == sequences else {
            throw fail("seqLens has \(batch.seqLens.count) entries for \(sequences) sequences")
        }
        guard batch.maxBlocksPerSeq >= 1, batch.blockTables.count >= sequences * batch.maxBlocksPerSeq else {
            throw fail("blockTables has \(batch.blockTables.count) entries, \(sequences) x \(batch.maxBlocksPerSeq) needed")
        }
        let slotCount = numBlocks * blockSize
        for row in 0..<rows {
            let token = batch.tokenIds[row]
            if token < 0 || Int(token) >= vocabSize {
                throw fail("token id \(token) at row \(row) is outside the vocabulary (\(vocabSize))")
            }
            if batch.positions[row] < 0 {
                throw fail("negative position \(batch.positions[row]) at row \(row)")
            }
            if Int(batch.slotMapping[row]) >= slotCount {
                throw fail("slot \(batch.slotMapping[row]) at row \(row) is beyond the KV cache (\(slotCount) slots)")
            }
        }
        for sequence in 0..<sequences {
            let queryLength = Int(batch.queryStart[sequence + 1]) - Int(batch.queryStart[sequence])
            let length = Int(batch.seqLens[sequence])
            guard queryLength >= 0 else { throw fail("queryStart decreases at sequence \(sequence)") }
            guard length >= queryLength, length <= batch.maxBlocksPerSeq * blockSize else {
                throw fail("sequence \(sequence): seqLen \(length) must cover its \(queryLength) new rows and fit "
                           + "\(batch.maxBlocksPerSeq) blocks of \(blockSize)")
            }
            let usedBlocks = (length + blockSize - 1) / blockSize
            for entry in 0..<usedBlocks {
                let block = batch.blockTables[sequence * batch.maxBlocksPerSeq + entry]
                if block < 0 || Int(block) >= numBlocks {
                    throw fail("sequence \(sequence) uses block id \(block), cache has \(numBlocks) blocks")
                }
            }
        }
        for row in batch.logitRows where row < 0 || Int(row) >= rows {
            throw fail("logit row \(row) is not a row of this batch (\(rows) rows)")
        }
    }
}
