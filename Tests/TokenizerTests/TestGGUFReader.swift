import Foundation
@testable import Tokenizer

/// Test-only GGUF metadata reader: just enough to pull `tokenizer.ggml.*` out of vocab-only files.
enum TestGGUFReader {
    enum Value {
        case int(Int64), float(Double), bool(Bool), string(String), array([Value])
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static func metadata(path: String) throws -> [String: Value] {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "cannot read \(path)") }
        let bytes = [UInt8](data)
        var offset = 0
        func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard offset + count <= bytes.count else { throw Failure(description: "\(path): truncated at \(offset)") }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }
        func unsigned(_ count: Int) throws -> UInt64 {
            var value: UInt64 = 0
            for (index, byte) in try take(count).enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
            return value
        }
        func string() throws -> String { String(decoding: try take(Int(try unsigned(8))), as: UTF8.self) }
        func value(ofType type: UInt32) throws -> Value {
            switch type {
            case 0: return .int(Int64(Int8(truncatingIfNeeded: try unsigned(1))))
            case 1: return .int(Int64(try unsigned(1)))
            case 2: return .int(Int64(Int16(truncatingIfNeeded: try unsigned(2))))
            case 3: return .int(Int64(try unsigned(2)))
            case 4: return .int(Int64(Int32(truncatingIfNeeded: try unsigned(4))))
            case 5: return .int(Int64(try unsigned(4)))
            case 6: return .float(Double(Float(bitPattern: UInt32(try unsigned(4)))))
            case 7: return .bool(try unsigned(1) != 0)
            case 8: return .string(try string())
            case 9:
                let elementType = UInt32(try unsigned(4))
                let count = Int(try unsigned(8))
                var items: [Value] = []
                items.reserveCapacity(count)
                for _ in 0..<count { items.append(try value(ofType: elementType)) }
                return .array(items)
            case 10: return .int(Int64(bitPattern: try unsigned(8)))
            case 11: return .int(Int64(bitPattern: try unsigned(8)))
            case 12: return .float(Double(bitPattern: try unsigned(8)))
            default: throw Failure(description: "\(path): unknown GGUF value type \(type)")
            }
        }
        guard try unsigned(4) == 0x4655_4747 else { throw Failure(description: "\(path): not a GGUF file") }
        _ = try unsigned(4)  // version
        _ = try unsigned(8)  // tensor count
        let keyCount = Int(try unsigned(8))
        var result: [String: Value] = [:]
        for _ in 0..<keyCount {
            let key = try string()
            result[key] = try value(ofType: UInt32(try unsigned(4)))
        }
        return result
    }

    static func tokenizerData(path: String) throws -> GGUFTokenizerData {
        let meta = try metadata(path: path)
        func string(_ key: String) -> String? { if case .string(let s)? = meta[key] { return s }; return nil }
        func int(_ key: String) -> Int? { if case .int(let v)? = meta[key] { return Int(v) }; return nil }
        func bool(_ key: String) -> Bool? { if case .bool(let v)? = meta[key] { return v }; return nil }
        func array(_ key: String) -> [Value]? { if case .array(let v)? = meta[key] { return v }; return nil }
        guard let model = string("tokenizer.ggml.model"), let tokens = array("tokenizer.ggml.tokens") else {
            throw Failure(description: "\(path): no tokenizer.ggml.model/tokens")
        }
        var data = GGUFTokenizerData(model: model, tokens: tokens.map { if case .string(let s) = $0 { return s }; return "" })
        data.pre = string("tokenizer.ggml.pre")
        data.scores = array("tokenizer.ggml.scores")?.map { if case .float(let f) = $0 { return Float(f) }; return 0 }
        data.tokenTypes = array("tokenizer.ggml.token_type")?.map { if case .int(let v) = $0 { return Int32(v) }; return 1 }
        data.merges = array("tokenizer.ggml.merges")?.map { if case .string(let s) = $0 { return s }; return "" }
        data.bosTokenId = int("tokenizer.ggml.bos_token_id")
        data.eosTokenId = int("tokenizer.ggml.eos_token_id")
        data.unknownTokenId = int("tokenizer.ggml.unknown_token_id")
        data.paddingTokenId = int("tokenizer.ggml.padding_token_id")
        data.addBosToken = bool("tokenizer.ggml.add_bos_token")
        data.addEosToken = bool("tokenizer.ggml.add_eos_token")
        data.addSpacePrefix = bool("tokenizer.ggml.add_space_prefix")
        data.chatTemplate = string("tokenizer.chat_template")
        return data
    }
}
