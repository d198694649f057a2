import Weights
import XCTest
@testable import CUDABackend

/// Host-side conversion of stored weights to the bf16 rows uploaded to the GPU.
final class CUDABackendTestsWeightConversion: XCTestCase {
    func convert(_ bytes: [UInt8], dtype: WeightDType, shape: [Int], rows: Range<Int>) -> [UInt16] {
        let columns = shape[1]
        var output = [UInt16](repeating: 0xFFFF, count: rows.count * columns)
        var scratch = [Float](repeating: 0, count: columns)
        bytes.withUnsafeBytes { raw in
            let tensor = WeightTensor(name: "w", dtype: dtype, shape: shape, data: raw.baseAddress!, byteCount: raw.count)
            scratch.withUnsafeMutableBufferPointer { floats in
                output.withUnsafeMutableBufferPointer { out in
                    CUDAWeightUploader.convertRowsToBF16(tensor, columns: columns, rows: rows,
                                                         scratch: floats.baseAddress!, into: out.baseAddress!)
                }
            }
        }
        return output
    }

    func testF32RowsSelectedAndRounded() {
        let values: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 1 + 1.0 / 256, -0.5, 1e-3, 65504]
        let bytes = values.withUnsafeBytes { Array($0) }
        let converted = convert(bytes, dtype: .f32, shape: [3, 4], rows: 1..<3)
        XCTAssertEqual(converted, values[4...].map(BFloat16.fromFloat))
        XCTAssertEqual(BFloat16.toFloat(converted[4]), 1)  // tie rounds to even
    }

    func testQ8_0BlockDequantized() {
        // One Q8_0 block: fp16 scale 0.5 (0x3800, little endian) then 32 int8 quants -16...15.
        var bytes: [UInt8] = [0x00, 0x38]
        bytes += (-16..<16).map { UInt8(bitPattern: Int8($0)) }
        let converted = convert(bytes, dtype: .q8_0, shape: [1, 32], rows: 0..<1)
        XCTAssertEqual(converted.map(BFloat16.toFloat), (-16..<16).map { Float($0) * 0.5 })
    }
}
