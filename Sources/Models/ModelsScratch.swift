/// Activation buffers for one forward step, sized for the largest batch seen and reused, so a
/// warmed-up decode step allocates nothing.
final class ForwardScratch {
    private(set) var capacityTokens = 0
    private var storage: UnsafeMutablePointer<Float>?
    private let widths: Widths

    struct Widths {
        var hidden: Int, qDim: Int, kvDim: Int, intermediate: Int
    }

    /// Row-major [tokens][width] views into `storage`.
    private(set) var residual = UnsafeMutablePointer<Float>(bitPattern: 16)!
    private(set) var normed = UnsafeMutablePointer<Float>(bitPattern: 16)!
    private(set) var q = UnsafeMutablePointer<Float>(bitPattern: 16)!
    private(set) var k = UnsafeMutablePointer<Float>(bitPattern: 16)!
    private(set) var v = UnsafeMutablePointer<Float>(bitPattern: 16)!
    private(set) var attention = UnsafeMutablePointer<Float>(bitPattern: 16)!
    private(set) var projected = UnsafeMutablePointer<Float>(bitPattern: 16)!
    private(set) var gate = UnsafeMutablePointer<Float>(bitPattern: 16)!
    private(set) var up = UnsafeMutablePointer<Float>(bitPattern: 16)!

    init(hidden: Int, qDim: Int, kvDim: Int, intermediate: Int) {
        widths = Widths(hidden: hidden, qDim: qDim, kvDim: kvDim, intermediate: intermediate)
    }

    deinit { storage?.deallocate() }

    /// Makes room for `tokens` rows; grows geometrically so steady traffic stops reallocating.
    func reserve(tokens: Int) {
        guard tokens > capacityTokens else { return }
        let capacity = max(tokens, capacityTokens * 2, 16)
        let w = widths
        let perToken = 3 * w.hidden + 2 * w.qDim + 2 * w.kvDim + 2 * w.intermediate
        storage?.deallocate()
        let base = UnsafeMutablePointer<Float>.allocate(capacity: perToken * capacity)
        base.initialize(repeating: 0, count: perToken * capacity)
        storage = base
        var offset = 0
        func carve(_ width: Int) -> UnsafeMutablePointer<Float> {
            defer { offset += width * capacity }
            return base + offset
        }
        residual = carve(w.hidden)
        normed = carve(w.hidden)
        projected = carve(w.hidden)
        q = carve(w.qDim)
        attention = carve(w.qDim)
        k = carve(w.kvDim)
        v = carve(w.kvDim)
        gate = carve(w.intermediate)
        up = carve(w.intermediate)
        capacityTokens = capacity
    }
}
