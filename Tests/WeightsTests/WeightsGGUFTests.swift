import Foundation
import XCTest
@testable import Weights

final class WeightsGGUFTests: XCTestCase {
    /// One Q8_0 block: fp16 scale then 32 signed bytes.
    private func q8Block(scale: Float, quants: [Int8]) -> [UInt8] {
        var writer = ByteWriter()
        writer.int(halfBits(scale))
        for q in quants { writer.int(q) }
        return writer.bytes
    }

    private func writeGGUF(_ builder: GGUFBuilder) throws -> String {
        let url = try makeTemporaryDirectory(self).appendingPathComponent("model.gguf")
        try writeFile(builder.build(), to: url)
        return url.path
    }

    func testMetadataOfEveryTypeAndNestedArrays() throws {
        var b = GGUFBuilder()
        b.add("general.architecture", string: "llama")
        b.add("u8", type: .uint8) { $0.int(UInt8(200)) }
        b.add("i8", type: .int8) { $0.int(Int8(-5)) }
        b.add("u16", type: .uint16) { $0.int(UInt16(60000)) }
        b.add("i16", type: .int16) { $0.int(Int16(-300)) }
        b.add("llama.context_length", uint32: 8192)
        b.add("i32", type: .int32) { $0.int(Int32(-70000)) }
        b.add("u64", type: .uint64) { $0.int(UInt64.max) }
        b.add("i64", type: .int64) { $0.int(Int64(-1) << 40) }
        b.add("f32", type: .float32) { $0.float(1e-5) }
        b.add("f64", type: .float64) { $0.int((0.125 as Double).bitPattern) }
        b.add("yes", type: .bool) { $0.int(UInt8(1)) }
        b.add("tokens", type: .array) { w in
            w.int(GGUFTypeId.string.rawValue); w.int(UInt64(3))
            for token in ["<s>", "héllo", ""] { GGUFBuilder.string(token, into: &w) }
        }
        b.add("scores", type: .array) { w in
            w.int(GGUFTypeId.float32.rawValue); w.int(UInt64(2)); w.float(-1.5); w.float(2)
        }
        b.add("types", type: .array) { w in
            w.int(GGUFTypeId.int32.rawValue); w.int(UInt64(2)); w.int(Int32(1)); w.int(Int32(3))
        }
        b.add("nested", type: .array) { w in
            w.int(GGUFTypeId.array.rawValue); w.int(UInt64(2))
            w.int(GGUFTypeId.uint8.rawValue); w.int(UInt64(2)); w.int(UInt8(1)); w.int(UInt8(2))
            w.int(GGUFTypeId.string.rawValue); w.int(UInt64(1)); GGUFBuilder.string("x", into: &w)
        }
        let file = try GGUFFile(path: try writeGGUF(b))

        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, 32)
        XCTAssertTrue(file.tensorNames.isEmpty)
        XCTAssertEqual(file.metadataKeys.first, "general.architecture")
        XCTAssertEqual(file.metadata.count, 16)
        let m = file.metadata
        XCTAssertEqual(m["general.architecture"]?.string, "llama")
        XCTAssertEqual(m["u8"]?.int, 200)
        XCTAssertEqual(m["i8"]?.int, -5)
        XCTAssertEqual(m["u16"]?.int, 60000)
        XCTAssertEqual(m["i16"]?.int, -300)
        XCTAssertEqual(m["llama.context_length"]?.int, 8192)
        XCTAssertEqual(m["i32"]?.int, -70000)
        XCTAssertEqual(m["u64"], .uint64(UInt64.max))
        XCTAssertNil(m["u64"]?.int, "u64 beyond Int.max must not wrap")
        XCTAssertEqual(m["i64"]?.int, -(1 << 40))
        XCTAssertEqual(m["f32"]?.double ?? 0, 1e-5, accuracy: 1e-12)
        XCTAssertEqual(m["f64"]?.double, 0.125)
        XCTAssertEqual(m["llama.context_length"]?.double, 8192)
        XCTAssertEqual(m["yes"]?.bool, true)
        XCTAssertNil(m["yes"]?.int)
        XCTAssertEqual(m["tokens"]?.strings, ["<s>", "héllo", ""])
        XCTAssertNil(m["tokens"]?.floats)
        XCTAssertEqual(m["scores"]?.floats, [-1.5, 2])
        XCTAssertEqual(m["types"]?.ints, [1, 3])
        XCTAssertEqual(m["nested"]?.array?.count, 2)
        XCTAssertEqual(m["nested"]?.array?[0].ints, [1, 2])
        XCTAssertEqual(m["nested"]?.array?[1].strings, ["x"])
        XCTAssertNil(m["nested"]?.strings)
    }

    func testTensorsOfEverySupportedTypeWithPyTorchShapes() throws {
        var b = GGUFBuilder()
        b.add("general.architecture", string: "llama")
        // F32 matrix: ne = [3, 2] means 2 rows of 3 -> PyTorch shape [2, 3].
        b.addTensor("f32", ne: [3, 2], ggmlType: 0, payload: floatBytes([1, 2, 3, 4, 5, 6]))
        var halfs = ByteWriter()
        for value: Float in [0.5, -1] { halfs.int(halfBits(value)) }
        b.addTensor("f16", ne: [2], ggmlType: 1, payload: halfs.bytes)
        var bf = ByteWriter()
        bf.int(UInt16((3 as Float).bitPattern >> 16))
        b.addTensor("bf16", ne: [1], ggmlType: 30, payload: bf.bytes)
        // Q8_0: 2 rows of 64 values = 2 x 2 blocks of 34 bytes.
        var q8: [UInt8] = []
        for block in 0..<4 { q8 += q8Block(scale: 0.5, quants: (0..<32).map { Int8($0 - 16 + block) }) }
        b.addTensor("q8", ne: [64, 2], ggmlType: 8, payload: q8)
        // Q4_0: 1 row of 32 = one 18-byte block; Q4_1: 3 rows of 32 = three 20-byte blocks.
        var q40 = ByteWriter()
        q40.int(halfBits(2)); q40.raw((0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 })
        b.addTensor("q4_0", ne: [32, 1], ggmlType: 2, payload: q40.bytes)
        var q41 = ByteWriter()
        for row in 0..<3 { q41.int(halfBits(1)); q41.int(halfBits(Float(row))); q41.raw([UInt8](repeating: 0x21, count: 16)) }
        b.addTensor("q4_1", ne: [32, 3], ggmlType: 3, payload: q41.bytes)
        // 3-D tensor: ne [2, 3, 4] -> shape [4, 3, 2].
        b.addTensor("cube", ne: [2, 3, 4], ggmlType: 0, payload: floatBytes((0..<24).map(Float.init)))
        b.addTensor("scalar", ne: [], ggmlType: 0, payload: floatBytes([42]))
        let file = try GGUFFile(path: try writeGGUF(b))

        XCTAssertEqual(file.tensorNames, ["f32", "f16", "bf16", "q8", "q4_0", "q4_1", "cube", "scalar"])
        let scalar = try file.tensor("scalar")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.elementCount, 1)
        XCTAssertEqual(scalar.bytes.loadUnaligned(as: Float.self), 42)
        XCTAssertEqual(file.dataOffset % 32, 0)
        let f32 = try file.tensor("f32")
        XCTAssertEqual(f32.shape, [2, 3])
        XCTAssertEqual(f32.dtype, .f32)
        XCTAssertEqual(f32.bytes.loadUnaligned(fromByteOffset: 4 * 5, as: Float.self), 6)
        XCTAssertEqual(f32.rowBytes, 12)
        XCTAssertEqual(halfValue(try file.tensor("f16").bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self)), -1)
        let bf16 = try file.tensor("bf16")
        XCTAssertEqual(bf16.dtype, .bf16)
        XCTAssertEqual(Float(bitPattern: UInt32(bf16.bytes.loadUnaligned(as: UInt16.self)) << 16), 3)

        let q8Tensor = try file.tensor("q8")
        XCTAssertEqual(q8Tensor.dtype, .q8_0)
        XCTAssertEqual(q8Tensor.shape, [2, 64])
        XCTAssertEqual(q8Tensor.elementCount, 128)
        XCTAssertEqual(q8Tensor.byteCount, 4 * 34)
        XCTAssertEqual(q8Tensor.rowBytes, 68)
        XCTAssertEqual(Array(q8Tensor.bytes), q8, "quantized bytes are handed over untouched")
        // Dequantize one value by hand: block 3, quant 31 -> (31 - 16 + 3) * 0.5.
        let block3 = 3 * 34
        let scale = halfValue(q8Tensor.bytes.loadUnaligned(fromByteOffset: block3, as: UInt16.self))
        let quant = Int8(bitPattern: q8Tensor.bytes[block3 + 2 + 31])
        XCTAssertEqual(Float(quant) * scale, 9)

        let q40Tensor = try file.tensor("q4_0")
        XCTAssertEqual(q40Tensor.dtype, .q4_0)
        XCTAssertEqual(q40Tensor.shape, [1, 32])
        XCTAssertEqual(Array(q40Tensor.bytes), q40.bytes)
        let q41Tensor = try file.tensor("q4_1")
        XCTAssertEqual(q41Tensor.dtype, .q4_1)
        XCTAssertEqual(q41Tensor.shape, [3, 32])
        XCTAssertEqual(q41Tensor.byteCount, 60)
        XCTAssertEqual(halfValue(q41Tensor.bytes.loadUnaligned(fromByteOffset: 2 * 20 + 2, as: UInt16.self)), 2, "row 2 min")

        let cube = try file.tensor("cube")
        XCTAssertEqual(cube.shape, [4, 3, 2])
        XCTAssertEqual(cube.bytes.loadUnaligned(fromByteOffset: 4 * 23, as: Float.self), 23)
    }

    func testVersion2AndCustomAlignment() throws {
        var b = GGUFBuilder()
        b.version = 2
        b.alignment = 64
        b.add("general.alignment", uint32: 64)
        b.addTensor("a", ne: [1], ggmlType: 0, payload: floatBytes([7]))
        b.addTensor("b", ne: [2], ggmlType: 0, payload: floatBytes([8, 9]))
        let file = try GGUFFile(path: try writeGGUF(b))
        XCTAssertEqual(file.version, 2)
        XCTAssertEqual(file.alignment, 64)
        XCTAssertEqual(file.dataOffset % 64, 0)
        XCTAssertEqual(try file.tensor("b").bytes.loadUnaligned(fromByteOffset: 4, as: Float.self), 9)
        XCTAssertEqual(Int(bitPattern: try file.tensor("b").data) % 64, 0, "mapping is page aligned, so data is too")
    }

    func testUnsupportedTensorTypeFailsOnlyWhenRequested() throws {
        var b = GGUFBuilder()
        b.addTensor("k_quant", ne: [256], ggmlType: 12, payload: [UInt8](repeating: 0, count: 144))
        b.addTensor("ok", ne: [1], ggmlType: 0, payload: floatBytes([1]))
        let path = try writeGGUF(b)
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.ggmlTypeId(of: "k_quant"), 12)
        XCTAssertEqual(try file.tensor("ok").bytes.loadUnaligned(as: Float.self), 1)
        assertWeightsError(.unsupportedDType, containing: ["'k_quant'", "Q4_K", "12", path]) { try file.tensor("k_quant") }
    }
}
