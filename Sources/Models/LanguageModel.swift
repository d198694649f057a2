// The contract between the engine and any model runtime (CPU today, CUDA later).
// The engine core schedules tokens and owns block ids; the model owns the KV memory and math.

/// One step's work: a flat batch of tokens from many sequences, each sequence contributing a
/// contiguous run of rows (a prefill chunk or a single decode token).
///
/// The engine keeps one instance and refills it every step (`reset()` keeps array capacity), so a
/// warmed-up decode step allocates nothing.
public struct ForwardBatch: Sendable {
    /// Token ids, one per row (T rows).
    public var tokenIds: [Int32] = []
    /// Absolute position of each row inside its sequence.
    public var positions: [Int32] = []
    /// KV slot (block_id * blockSize + offset) each row's key/value is written to.
    public var slotMapping: [Int32] = []
    /// numSeqs + 1 row offsets: sequence s owns rows queryStart[s] ..< queryStart[s+1].
    public var queryStart: [Int32] = [0]
    /// Tokens in the KV cache for each sequence once this step's rows are written.
    public var seqLens: [Int32] = []
    /// numSeqs x maxBlocksPerSeq physical block ids, row-major, padded with 0.
    public var blockTables: [Int32] = []
    public var maxBlocksPerSeq: Int = 0
    /// Rows (indices into tokenIds) whose logits are wanted, in the order the logits come back.
    public var logitRows: [Int32] = []

    public init() {}

    public var numTokens: Int { tokenIds.count }
    public var numSeqs: Int { queryStart.count - 1 }

    public mutating func reset() {
        tokenIds.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        slotMapping.removeAll(keepingCapacity: true)
        queryStart.removeAll(keepingCapacity: true)
        queryStart.append(0)
        seqLens.removeAll(keepingCapacity: true)
        blockTables.removeAll(keepingCapacity: true)
        maxBlocksPerSeq = 0
        logitRows.removeAll(keepingCapacity: true)
    }
}

/// The KV-cache shape of one attention layer. Mixed-attention models (Gemma 2/3 alternate sliding and
/// global layers) give each layer its own.
public struct AttentionLayerSpec: Sendable, Equatable {
    public var numKVHeads: Int
    public var headDim: Int
    /// Tokens a query attends back to; nil for full (global) attention.
    public var slidingWindow: Int?

    public init(numKVHeads: Int, headDim: Int, slidingWindow: Int? = nil) {
        self.numKVHeads = numKVHeads
        self.headDim = headDim
        self.slidingWindow = slidingWindow
    }
}

/// Shape facts the engine needs to size the KV cache and validate requests.
public struct ModelSpec: Sendable, Equatable {
    public var architecture: String
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int
    /// One entry per decoder layer, in order.
    public var layers: [AttentionLayerSpec]
    /// End-of-sequence ids the model's own config names (the engine adds generation_config's).
    public var eosTokenIds: [Int] = []

    public init(architecture: String, vocabSize: Int, maxPositionEmbeddings: Int, layers: [AttentionLayerSpec]) {
        self.architecture = architecture
        self.vocabSize = vocabSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.layers = layers
    }

    /// Every layer alike, with full attention.
    public init(architecture: String, vocabSize: Int, maxPositionEmbeddings: Int,
                numLayers: Int, numKVHeads: Int, headDim: Int) {
        self.init(architecture: architecture, vocabSize: vocabSize, maxPositionEmbeddings: maxPositionEmbeddings,
                  layers: Array(repeating: AttentionLayerSpec(numKVHeads: numKVHeads, headDim: headDim),
                                count: numLayers))
    }

    public var numLayers: Int { layers.count }
    /// K and V elements one token takes across all layers.
    public var kvElementsPerToken: Int { layers.reduce(0) { $0 + 2 * $1.numKVHeads * $1.headDim } }
}

/// A causal LM that runs a `ForwardBatch` against a paged KV cache it owns.
/// Called from one engine thread at a time; implementations need not be reentrant.
public protocol CausalLanguageModel: AnyObject {
    var spec: ModelSpec { get }
    /// Bytes one KV block of `blockSize` tokens takes across all layers (K and V).
    func kvCacheBytesPerBlock(blockSize: Int) -> Int
    /// (Re)allocates the paged KV cache. Block ids handed to `forward` are < numBlocks.
    func allocateKVCache(numBlocks: Int, blockSize: Int) throws
    /// Writes K/V of every row into its slot, then writes logits of `batch.logitRows`
    /// (logitRows.count x vocabSize fp32, row-major) into `logits`.
    func forward(_ batch: ForwardBatch, logits: UnsafeMutableBufferPointer<Float>) throws
}
