// How one sequence's rows enter a ForwardBatch, for the model runner and the draft-model proposer alike.

import Models

extension ForwardBatch {
    /// Appends `count` rows at positions `start...` (token `tokenAt(position)`, KV slot from `blocks`),
    /// then the sequence's query end, length and block-table row: `blocks[0..<tableBlocks]` padded with
    /// the null block to `maxBlocksPerSeq`.
    @inline(__always)
    mutating func appendSequence(from start: Int, count: Int, blocks: [Int], tableBlocks: Int, blockSize: Int,
                                 tokenAt: (Int) -> Int) {
        for position in start..<(start + count) {
            tokenIds.append(Int32(truncatingIfNeeded: tokenAt(position)))
            positions.append(Int32(position))
            slotMapping.append(Int32(blocks[position / blockSize] * blockSize + position % blockSize))
        }
        queryStart.append(Int32(tokenIds.count))
        seqLens.append(Int32(start + count))
        for index in 0..<tableBlocks { blockTables.append(Int32(blocks[index])) }
        for _ in tableBlocks..<maxBlocksPerSeq { blockTables.append(Int32(BlockPool.nullBlockId)) }
    }
}
