extension ForwardBatch {
    /// Rejects batches the kernels would read out of bounds with; cost is O(rows + block table).
    func validate(vocabSize: Int, numBlocks: Int, blockSize: Int) throws {
        let rows = tokenIds.count
        guard positions.count == rows, slotMapping.count == rows else {
            throw ModelError.invalidBatch("tokenIds (\(rows)), positions (\(positions.count)) and slotMapping (\(slotMapping.count)) differ in length")
        }
        guard let first = queryStart.first, first == 0, queryStart.last.map(Int.init) == rows else {
            throw ModelError.invalidBatch("queryStart must run from 0 to the row count \(rows)")
        }
        let sequences = numSeqs
        guard seqLens.count == sequences else {
            throw ModelError.invalidBatch("seqLens has \(seqLens.count) entries for \(sequences) sequences")
        }
        guard maxBlocksPerSeq >= 0, blockTables.count >= sequences * maxBlocksPerSeq else {
            throw ModelError.invalidBatch("blockTables has \(blockTables.count) entries, \(sequences) x \(maxBlocksPerSeq) needed")
        }
        let slotCount = numBlocks * blockSize
        for row in 0..<rows {
            let token = tokenIds[row]
            if token < 0 || Int(token) >= vocabSize {
                throw ModelError.invalidBatch("token id \(token) at row \(row) is outside the vocabulary (\(vocabSize))")
            }
            if positions[row] < 0 {
                throw ModelError.invalidBatch("negative position \(positions[row]) at row \(row)")
            }
            if Int(slotMapping[row]) >= slotCount {
                throw ModelError.invalidBatch("slot \(slotMapping[row]) at row \(row) is beyond the KV cache (\(slotCount) slots)")
            }
        }
        for sequence in 0..<sequences {
            let queryLength = Int(queryStart[sequence + 1]) - Int(queryStart[sequence])
            let length = Int(seqLens[sequence])
            guard queryLength >= 0 else {
                throw ModelError.invalidBatch("queryStart decreases at sequence \(sequence)")
            }
            guard length >= queryLength, length <= maxBlocksPerSeq * blockSize else {
                throw ModelError.invalidBatch("sequence \(sequence): seqLen \(length) must cover its \(queryLength) new rows and fit \(maxBlocksPerSeq) blocks of \(blockSize)")
            }
            let usedBlocks = (length + blockSize - 1) / blockSize
            for entry in 0..<usedBlocks {
                let block = blockTables[sequence * maxBlocksPerSeq + entry]
                if block < 0 || Int(block) >= numBlocks {
                    throw ModelError.invalidBatch("sequence \(sequence) uses block id \(block), cache has \(numBlocks) blocks")
                }
            }
        }
        for row in logitRows where row < 0 || Int(row) >= rows {
            throw ModelError.invalidBatch("logit row \(row) is not a row of this batch (\(rows) rows)")
        }
    }
}
