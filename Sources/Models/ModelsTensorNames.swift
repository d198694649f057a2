/// Where each weight lives in a given file layout (HF safetensors names vs GGUF names).
struct TensorNames: Sendable {
    var embedding: String
    var finalNorm: String
    var lmHead: String
    /// GGUF's llama3 rope scaling, as per-frequency divisors.
    var ropeFreqs: String?
    var layer: @Sendable (_ index: Int, _ part: LayerPart) -> String

    enum LayerPart: CaseIterable {
        case attnNorm, q, k, v, o, qBias, kBias, vBias, oBias, qNorm, kNorm, ffnNorm, gate, up, down
    }

    static let huggingFace = TensorNames(
        embedding: "model.embed_tokens.weight", finalNorm: "model.norm.weight", lmHead: "lm_head.weight",
        ropeFreqs: nil,
        layer: { index, part in
            let prefix = "model.layers.\(index)."
            switch part {
            case .attnNorm: return prefix + "input_layernorm.weight"
            case .q: return prefix + "self_attn.q_proj.weight"
            case .k: return prefix + "self_attn.k_proj.weight"
            case .v: return prefix + "self_attn.v_proj.weight"
            case .o: return prefix + "self_attn.o_proj.weight"
            case .qBias: return prefix + "self_attn.q_proj.bias"
            case .kBias: return prefix + "self_attn.k_proj.bias"
            case .vBias: return prefix + "self_attn.v_proj.bias"
            case .oBias: return prefix + "self_attn.o_proj.bias"
            case .qNorm: return prefix + "self_attn.q_norm.weight"
            case .kNorm: return prefix + "self_attn.k_norm.weight"
            case .ffnNorm: return prefix + "post_attention_layernorm.weight"
            case .gate: return prefix + "mlp.gate_proj.weight"
            case .up: return prefix + "mlp.up_proj.weight"
            case .down: return prefix + "mlp.down_proj.weight"
            }
        })

    static let gguf = TensorNames(
        embedding: "token_embd.weight", finalNorm: "output_norm.weight", lmHead: "output.weight",
        ropeFreqs: "rope_freqs.weight",
        layer: { index, part in
            let prefix = "blk.\(index)."
            switch part {
            case .attnNorm: return prefix + "attn_norm.weight"
            case .q: return prefix + "attn_q.weight"
            case .k: return prefix + "attn_k.weight"
            case .v: return prefix + "attn_v.weight"
            case .o: return prefix + "attn_output.weight"
            case .qBias: return prefix + "attn_q.bias"
            case .kBias: return prefix + "attn_k.bias"
            case .vBias: return prefix + "attn_v.bias"
            case .oBias: return prefix + "attn_output.bias"
            case .qNorm: return prefix + "attn_q_norm.weight"
            case .kNorm: return prefix + "attn_k_norm.weight"
            case .ffnNorm: return prefix + "ffn_norm.weight"
            case .gate: return prefix + "ffn_gate.weight"
            case .up: return prefix + "ffn_up.weight"
            case .down: return prefix + "ffn_down.weight"
            }
        })
}
