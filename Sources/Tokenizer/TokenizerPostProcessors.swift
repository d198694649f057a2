/// Adds special tokens around an encoded sequence (HF `processors`, single-sequence case).
indirect enum PostProcessor {
    /// Items of the `single` template: special token ids, or -1 for the sequence itself.
    case template([[Int]?])
    case wrap(prefix: [Int], suffix: [Int])
    case none
    case sequence([PostProcessor])

    func apply(_ ids: [Int]) -> [Int] {
        switch self {
        case .template(let items):
            var out: [Int] = []
            out.reserveCapacity(ids.count + items.count)
            for item in items {
                if let special = item { out.append(contentsOf: special) } else { out.append(contentsOf: ids) }
            }
            return out
        case let .wrap(prefix, suffix):
            return prefix + ids + suffix
        case .none:
            return ids
        case .sequence(let steps):
            return steps.reduce(ids) { $1.apply($0) }
        }
    }
}
