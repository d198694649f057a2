/// Tensor names of the two checkpoint layouts. The Models target keeps its own table internal
/// (TensorNames), so this mirrors it; keep the two in step.
struct CUDATensorNames {
    var embedding: String
    var finalNorm: String
    var lmHead: String
    var ropeFreqs: String?
    var layerPrefix: (Int) -> String
    var parts: [CUDALayerPart: String]

    func layer(_ index: Int, _ part: CUDALayerPart) -> String { layerPrefix(index) + (parts[part] ?? "") }

    static let huggingFace = CUDATensorNames(
        embedding: "model.embed_tokens.weight", finalNorm: "model.norm.weight", lmHead: "lm_head.weight",
        ropeFreqs: nil, layerPrefix: { "model.layers.\($0)." },
        parts: [.attnNorm: "input_layernorm.weight", .q: "self_attn.q_proj.weight", .k: "self_attn.k_proj.weight",
                .v: "self_attn.v_proj.weight", .o: "self_attn.o_proj.weight", .qBias: "self_attn.q_proj.bias",
                .kBias: "self_attn.k_proj.bias", .vBias: "self_attn.v_proj.bias", .oBias: "self_attn.o_proj.bias",
                .qNorm: "self_attn.q_norm.weight", .kNorm: "self_attn.k_norm.weight",
                .ffnNorm: "post_attention_layernorm.weight", .gate: "mlp.gate_proj.weight",
                .up: "mlp.up_proj.weight", .down: "mlp.down_proj.weight"])

    static let gguf = CUDATensorNames(
        embedding: "token_embd.weight", finalNorm: "output_norm.weight", lmHead: "output.weight",
        ropeFreqs: "rope_freqs.weight", layerPrefix: { "blk.\($0)." },
        parts: [.attnNorm: "attn_norm.weight", .q: "attn_q.weight", .k: "attn_k.weight", .v: "attn_v.weight",
                .o: "attn_output.weight", .qBias: "attn_q.bias", .kBias: "attn_k.bias", .vBias: "attn_v.bias",
                .oBias: "attn_output.bias", .qNorm: "attn_q_norm.weight", .kNorm: "attn_k_norm.weight",
                .ffnNorm: "ffn_norm.weight", .gate: "ffn_gate.weight", .up: "ffn_up.weight",
                .down: "ffn_down.weight"])
}

enum CUDALayerPart: CaseIterable {
    case attnNorm, q, k, v, o, qBias, kBias, vBias, oBias, qNorm, kNorm, ffnNorm, gate, up, down
}
