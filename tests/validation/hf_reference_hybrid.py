"""Recurrent (state-space, linear-attention) and multimodal families, rebuilt in PyTorch.

Written for validation from the published architectures, independently of sizeup's tensor
table: each builder mirrors the module tree of the HF transformers class named in its
docstring (module names, nn.Linear / nn.Conv1d / nn.Conv2d shapes, which ones have a bias)
and the defaults of its configuration class for keys a config.json may omit. Parameters are
on the meta device (see hf_reference.py for the conventions). Importing this module registers
the families in hf_reference.BUILDERS.
"""
import math

import torch
import torch.nn as nn

import hf_reference as R
from hf_reference import META, RMSNorm, embedding, layer_norm, linear, node, stack


def param(*shape):
    return nn.Parameter(torch.empty(*shape, device=META))


class DepthwiseConv1d(nn.Module):
    """nn.Conv1d(C, C, kernel_size=K, groups=C, bias=bias): weight {C, 1, K}, bias {C}."""

    def __init__(self, channels, kernel, bias):
        super().__init__()
        self.weight = param(channels, 1, kernel)
        if bias:
            self.bias = param(channels)


class Conv(nn.Module):
    """nn.Conv2d / nn.Conv3d(in, out, kernel=stride=patch): weight {out, in, *kernel}."""

    def __init__(self, c_in, c_out, kernel, bias):
        super().__init__()
        self.weight = param(c_out, c_in, *kernel)
        if bias:
            self.bias = param(c_out)


# ---------------------------------------------------------------------------------------
# Class defaults (transformers 4.4x-4.5x configuration classes), keys that shape the count
# ---------------------------------------------------------------------------------------
DEFAULTS = {
    "mamba": dict(vocab_size=50280, hidden_size=768, state_size=16, num_hidden_layers=32,
                  conv_kernel=4, expand=2, use_bias=False, use_conv_bias=True,
                  time_step_rank="auto", intermediate_size=None, tie_word_embeddings=True),
    "mamba2": dict(num_heads=128, head_dim=64, vocab_size=32768, hidden_size=4096,
                   state_size=128, num_hidden_layers=64, expand=2, conv_kernel=4, n_groups=8,
                   use_bias=False, use_conv_bias=True, tie_word_embeddings=False),
    "jamba": dict(vocab_size=65536, tie_word_embeddings=False, hidden_size=4096,
                  intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                  num_key_value_heads=8, num_experts_per_tok=2, num_experts=16,
                  expert_layer_period=2, expert_layer_offset=1, attn_layer_period=8,
                  attn_layer_offset=4, mamba_d_state=16, mamba_d_conv=4, mamba_expand=2,
                  mamba_dt_rank="auto", mamba_conv_bias=True, mamba_proj_bias=False),
    "granitemoehybrid": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008,
                             num_hidden_layers=32, num_attention_heads=32,
                             num_key_value_heads=None, tie_word_embeddings=False,
                             num_local_experts=8, num_experts_per_tok=2,
                             shared_intermediate_size=1024, attention_bias=False,
                             mamba_n_heads=128, mamba_n_groups=1, mamba_d_state=256,
                             mamba_d_head="auto", mamba_d_conv=4, mamba_expand=2,
                             mamba_conv_bias=True, mamba_proj_bias=False, layer_types=None),
    "nemotron_h": dict(vocab_size=131072, tie_word_embeddings=False, hidden_size=4096,
                       intermediate_size=21504, num_hidden_layers=52,
                       hybrid_override_pattern="M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-",
                       num_attention_heads=32, head_dim=128, num_key_value_heads=8,
                       attention_bias=False, mlp_bias=False, use_bias=False,
                       ssm_state_size=128, mamba_num_heads=128, n_groups=8, mamba_head_dim=64,
                       conv_kernel=4, use_conv_bias=True),
    "qwen3_next": dict(vocab_size=151936, hidden_size=2048, intermediate_size=5632,
                       num_hidden_layers=48, num_attention_heads=16, num_key_value_heads=2,
                       head_dim=256, tie_word_embeddings=False, attention_bias=False,
                       linear_conv_kernel_dim=4, linear_key_head_dim=128,
                       linear_value_head_dim=128, linear_num_key_heads=16,
                       linear_num_value_heads=32, decoder_sparse_step=1,
                       moe_intermediate_size=512, shared_expert_intermediate_size=512,
                       num_experts_per_tok=10, num_experts=512, mlp_only_layers=[],
                       layer_types=None, full_attention_interval=4),
}
DEFAULTS["falcon_mamba"] = dict(DEFAULTS["mamba"])


def dt_rank(value, d):
    return math.ceil(d / 16) if value == "auto" else value


def lm(backbone_name, embed_name, c, layers, final_norm_name, d):
    """XForCausalLM with backbone.{<embed_name>, layers, <final_norm_name>} and lm_head."""
    embed = embedding(c.vocab_size, d)
    backbone = node(**{embed_name: embed, "layers": layers, final_norm_name: RMSNorm(d)})
    return R.causal_lm(backbone_name, backbone, linear(d, c.vocab_size, False), embed,
                       c.tie_word_embeddings)


# ---------------------------------------------------------------------------------------
# Mixers
# ---------------------------------------------------------------------------------------
def mamba_mixer(d, d_inner, N, K, R_, conv_bias, proj_bias, jamba_norms=False):
    """MambaMixer (JambaMambaMixer adds dt_layernorm {R}, b_layernorm, c_layernorm {N})."""
    m = node(in_proj=linear(d, 2 * d_inner, proj_bias),
             conv1d=DepthwiseConv1d(d_inner, K, conv_bias),
             x_proj=linear(d_inner, R_ + 2 * N, False),
             dt_proj=linear(R_, d_inner, True),
             out_proj=linear(d_inner, d, proj_bias))
    m.A_log = param(d_inner, N)
    m.D = param(d_inner)
    if jamba_norms:
        m.dt_layernorm, m.b_layernorm, m.c_layernorm = RMSNorm(R_), RMSNorm(N), RMSNorm(N)
    return m


def mamba2_mixer(d, d_inner, heads, groups, N, K, conv_bias, proj_bias):
    """Mamba2Mixer: in_proj d -> d_inner + conv_dim + heads, conv over conv_dim =
    d_inner + 2 groups N, dt_bias/A_log/D {heads}, MambaRMSNormGated(d_inner), out_proj."""
    conv_dim = d_inner + 2 * groups * N
    m = node(in_proj=linear(d, d_inner + conv_dim + heads, proj_bias),
             conv1d=DepthwiseConv1d(conv_dim, K, conv_bias),
             norm=RMSNorm(d_inner), out_proj=linear(d_inner, d, proj_bias))
    m.dt_bias, m.A_log, m.D = param(heads), param(heads), param(heads)
    return m


def gated_deltanet(c):
    """Qwen3NextGatedDeltaNet: in_proj_qkvz, in_proj_ba, conv1d (no bias) over q, k, v,
    dt_bias and A_log per value head, RMSNormGated(head_v_dim), out_proj."""
    d = c.hidden_size
    hk, hv = c.linear_num_key_heads, c.linear_num_value_heads
    kd, vd = hk * c.linear_key_head_dim, hv * c.linear_value_head_dim
    m = node(in_proj_qkvz=linear(d, 2 * kd + 2 * vd, False),
             in_proj_ba=linear(d, 2 * hv, False),
             conv1d=DepthwiseConv1d(2 * kd + vd, c.linear_conv_kernel_dim, False),
             norm=RMSNorm(c.linear_value_head_dim), out_proj=linear(vd, d, False))
    m.dt_bias, m.A_log = param(hv), param(hv)
    return m


# ---------------------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------------------
def build_mamba(c):
    """MambaForCausalLM / FalconMambaForCausalLM: backbone.{embeddings, layers[i].{norm,
    mixer}, norm_f}, lm_head (tied by default)."""
    d = c.hidden_size
    d_inner = R._or(c.intermediate_size, c.expand * d)
    r = dt_rank(c.time_step_rank, d)

    def layer(_):
        return node(norm=RMSNorm(d), mixer=mamba_mixer(d, d_inner, c.state_size, c.conv_kernel,
                                                       r, c.use_conv_bias, c.use_bias))

    return lm("backbone", "embeddings", c, stack(c.num_hidden_layers, layer), "norm_f", d)


def build_mamba2(c):
    """Mamba2ForCausalLM: backbone.{embeddings, layers[i].{norm, mixer}, norm_f}; the mixer
    width is expand * hidden_size."""
    d = c.hidden_size
    d_inner = int(c.expand * d)

    def layer(_):
        return node(norm=RMSNorm(d), mixer=mamba2_mixer(d, d_inner, c.num_heads, c.n_groups,
                                                        c.state_size, c.conv_kernel,
                                                        c.use_conv_bias, c.use_bias))

    return lm("backbone", "embeddings", c, stack(c.num_hidden_layers, layer), "norm_f", d)


def build_jamba(c):
    """JambaForCausalLM: layer i is attention when i % attn_layer_period ==
    attn_layer_offset (else a Jamba Mamba mixer), MoE when i % expert_layer_period ==
    expert_layer_offset (router {E, d} + E gated experts), else a gated MLP;
    input_layernorm, pre_ff_layernorm; model.final_layernorm."""
    d, H, KV = c.hidden_size, c.num_attention_heads, c.num_key_value_heads
    hd, f, E = d // H, c.intermediate_size, c.num_experts
    d_inner, r = c.mamba_expand * d, dt_rank(c.mamba_dt_rank, d)

    def layer(i):
        if i % c.attn_layer_period == c.attn_layer_offset:
            mixer = dict(self_attn=node(**R.qkvo(d, H, KV, hd, False, False)))
        else:
            mixer = dict(mamba=mamba_mixer(d, d_inner, c.mamba_d_state, c.mamba_d_conv, r,
                                           c.mamba_conv_bias, c.mamba_proj_bias, True))
        if E > 1 and i % c.expert_layer_period == c.expert_layer_offset:
            ff = node(router=linear(d, E, False),
                      experts=R.routed_experts(c, E, d, f, lambda: R.gated_mlp(d, f)))
        else:
            ff = R.gated_mlp(d, f)
        return node(**mixer, feed_forward=ff, input_layernorm=RMSNorm(d),
                    pre_ff_layernorm=RMSNorm(d))

    return lm("model", "embed_tokens", c, stack(c.num_hidden_layers, layer), "final_layernorm",
              d)


class GraniteExperts(nn.Module):
    """GraniteMoeHybridParallelExperts pair: input_linear {E, 2 f, d}, output_linear {E, d, f}."""

    def __init__(self, E, d, f):
        super().__init__()
        self.input_linear = node()
        self.input_linear.weight = param(E, 2 * f, d)
        self.output_linear = node()
        self.output_linear.weight = param(E, d, f)


def build_granitemoehybrid(c):
    """GraniteMoeHybridForCausalLM: layer_types picks a Mamba-2 mixer (d_inner =
    mamba_expand * hidden) or attention; block_sparse_moe (router.layer {E, d}, fused
    experts) when num_local_experts > 0; shared_mlp (input_linear {2 fs, d}, output_linear
    {d, fs}) when shared_intermediate_size > 0; input_layernorm, post_attention_layernorm."""
    d, H = c.hidden_size, c.num_attention_heads
    KV = R._or(c.num_key_value_heads, H)
    hd = d // H
    d_inner = int(c.mamba_expand * d)
    heads = c.mamba_n_heads
    types = c.layer_types or ["mamba"] * c.num_hidden_layers
    E, f, fs = c.num_local_experts, c.intermediate_size, c.shared_intermediate_size
    ab = c.attention_bias

    def layer(i):
        if types[i] == "attention":
            mixer = dict(self_attn=node(**R.qkvo(d, H, KV, hd, ab, ab)))
        else:
            mixer = dict(mamba=mamba2_mixer(d, d_inner, heads, c.mamba_n_groups,
                                            c.mamba_d_state, c.mamba_d_conv, c.mamba_conv_bias,
                                            c.mamba_proj_bias))
        parts = dict(input_layernorm=RMSNorm(d), post_attention_layernorm=RMSNorm(d))
        if E > 0:
            parts["block_sparse_moe"] = node(router=node(layer=linear(d, E, False)),
                                             experts=GraniteExperts(E, d, f))
        if fs > 0:
            parts["shared_mlp"] = node(input_linear=linear(d, 2 * fs, False),
                                       output_linear=linear(fs, d, False))
        return node(**mixer, **parts)

    return lm("model", "embed_tokens", c, stack(c.num_hidden_layers, layer), "norm", d)


def build_nemotron_h(c):
    """NemotronHForCausalLM: hybrid_override_pattern gives each block's single mixer: 'M'
    Mamba-2 (d_inner = mamba_num_heads * mamba_head_dim), '*' attention, '-' MLP (up_proj,
    down_proj, ReLU^2); every block has one RMSNorm; backbone.{embeddings, layers, norm_f}."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim
    d_inner = c.mamba_num_heads * c.mamba_head_dim
    pattern = c.hybrid_override_pattern

    def layer(i):
        kind = pattern[i]
        if kind == "M":
            mixer = mamba2_mixer(d, d_inner, c.mamba_num_heads, c.n_groups, c.ssm_state_size,
                                 c.conv_kernel, c.use_conv_bias, c.use_bias)
        elif kind == "*":
            mixer = node(**R.qkvo(d, H, KV, hd, c.attention_bias, c.attention_bias))
        elif kind == "-":
            mixer = node(up_proj=linear(d, c.intermediate_size, c.mlp_bias),
                         down_proj=linear(c.intermediate_size, d, c.mlp_bias))
        else:
            raise ValueError(f"block type {kind!r}")
        return node(norm=RMSNorm(d), mixer=mixer)

    return lm("backbone", "embeddings", c, stack(c.num_hidden_layers, layer), "norm_f", d)


def build_qwen3_next(c):
    """Qwen3NextForCausalLM: layer_types (default: every full_attention_interval-th layer is
    full attention) picks Qwen3NextAttention (q_proj {2 H hd, d}: query and output gate;
    q_norm/k_norm {hd}) or the gated DeltaNet; sparse MoE blocks as Qwen2-MoE (router,
    experts, shared_expert, shared_expert_gate {1, d}); two RMSNorms per layer."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim
    n = c.num_hidden_layers
    types = c.layer_types or ["full_attention" if (i + 1) % c.full_attention_interval == 0
                              else "linear_attention" for i in range(n)]
    E, fe, fs = c.num_experts, c.moe_intermediate_size, c.shared_expert_intermediate_size

    def layer(i):
        if types[i] == "full_attention":
            attn = R.qkvo(d, H, KV, hd, False, False)
            attn["q_proj"] = linear(d, 2 * H * hd, False)
            mixer = dict(self_attn=node(**attn, q_norm=RMSNorm(hd), k_norm=RMSNorm(hd)))
        else:
            mixer = dict(linear_attn=gated_deltanet(c))
        sparse = (i not in c.mlp_only_layers and E > 0 and (i + 1) % c.decoder_sparse_step == 0)
        if sparse:
            mlp = node(gate=linear(d, E, False),
                       experts=R.routed_experts(c, E, d, fe, lambda: R.gated_mlp(d, fe)),
                       shared_expert=R.gated_mlp(d, fs), shared_expert_gate=linear(d, 1, False))
        else:
            mlp = R.gated_mlp(d, c.intermediate_size)
        return node(**mixer, mlp=mlp, input_layernorm=RMSNorm(d),
                    post_attention_layernorm=RMSNorm(d))

    return lm("model", "embed_tokens", c, stack(n, layer), "norm", d)


# ---------------------------------------------------------------------------------------
# Vision towers and projectors
# ---------------------------------------------------------------------------------------
def vit_layer(D, F, names):
    """A ViT layer with LayerNorms and biased q/k/v/out and fc1/fc2 (SiglipEncoderLayer,
    CLIPEncoderLayer, Llama4VisionEncoderLayer); names = (norm1, norm2, out_proj)."""
    n1, n2, out = names
    attn = dict(q_proj=linear(D, D, True), k_proj=linear(D, D, True), v_proj=linear(D, D, True))
    attn[out] = linear(D, D, True)
    return node(**{n1: layer_norm(D), n2: layer_norm(D), "self_attn": node(**attn),
                   "mlp": node(fc1=linear(D, F, True), fc2=linear(F, D, True))})


def siglip_tower(v):
    """SiglipVisionModel (vision_use_head False): embeddings.{patch_embedding Conv2d with
    bias, position_embedding {(S/p)^2, D}}, encoder.layers, post_layernorm."""
    D, F, p, g = v["hidden_size"], v["intermediate_size"], v["patch_size"], \
        v["image_size"] // v["patch_size"]
    emb = node(patch_embedding=Conv(v.get("num_channels", 3), D, (p, p), True),
               position_embedding=embedding(g * g, D))
    layers = stack(v["num_hidden_layers"],
                   lambda _: vit_layer(D, F, ("layer_norm1", "layer_norm2", "out_proj")))
    return node(vision_model=node(embeddings=emb, encoder=node(layers=layers),
                                  post_layernorm=layer_norm(D)))


def clip_tower(v):
    """CLIPVisionModel: embeddings.{class_embedding {D}, patch_embedding Conv2d without bias,
    position_embedding {(S/p)^2 + 1, D}}, pre_layrnorm, encoder.layers, post_layernorm."""
    D, F, p = v["hidden_size"], v["intermediate_size"], v["patch_size"]
    g = v["image_size"] // p
    emb = node(patch_embedding=Conv(v.get("num_channels", 3), D, (p, p), False),
               position_embedding=embedding(g * g + 1, D))
    emb.class_embedding = param(D)
    layers = stack(v["num_hidden_layers"],
                   lambda _: vit_layer(D, F, ("layer_norm1", "layer_norm2", "out_proj")))
    return node(vision_model=node(embeddings=emb, pre_layrnorm=layer_norm(D),
                                  encoder=node(layers=layers), post_layernorm=layer_norm(D)))


def pixtral_tower(v):
    """PixtralVisionModel: patch_conv (no bias), ln_pre RMSNorm, transformer.layers[i].{
    attention_norm, attention.{q,k,v,o}_proj (no bias), ffn_norm, feed_forward gated}."""
    D, F, p = v["hidden_size"], v["intermediate_size"], v["patch_size"]

    def layer(_):
        return node(attention_norm=RMSNorm(D), ffn_norm=RMSNorm(D),
                    attention=node(q_proj=linear(D, D, False), k_proj=linear(D, D, False),
                                   v_proj=linear(D, D, False), o_proj=linear(D, D, False)),
                    feed_forward=R.gated_mlp(D, F))

    return node(patch_conv=Conv(v.get("num_channels", 3), D, (p, p), False), ln_pre=RMSNorm(D),
                transformer=node(layers=stack(v["num_hidden_layers"], layer)))


def qwen2_5_vl_visual(v):
    """Qwen2_5_VisionTransformerPretrainedModel: patch_embed.proj Conv3d (no bias), blocks[i]
    .{norm1, norm2 RMSNorm, attn.qkv {3D, D} + bias, attn.proj + bias, mlp gated with
    biases}, merger.{ln_q, mlp.0 {D m^2, D m^2}, mlp.2 {out, D m^2}} with biases."""
    D, F, p = v["hidden_size"], v["intermediate_size"], v["patch_size"]
    t, mm = v.get("temporal_patch_size", 2), v.get("spatial_merge_size", 2)
    M = D * mm * mm

    def block(_):
        return node(norm1=RMSNorm(D), norm2=RMSNorm(D),
                    attn=node(qkv=linear(D, 3 * D, True), proj=linear(D, D, True)),
                    mlp=R.gated_mlp(D, F, True))

    merger = node(ln_q=RMSNorm(D),
                  mlp=nn.ModuleList([linear(M, M, True), nn.GELU(),
                                     linear(M, v["out_hidden_size"], True)]))
    return node(patch_embed=node(proj=Conv(v.get("in_chans", 3), D, (t, p, p), False)),
                blocks=stack(v["depth"], block), merger=merger)


def llama4_vision(v):
    """Llama4VisionModel: patch_embedding.linear {D, C p^2} (no bias), class_embedding,
    positional_embedding_vlm {(S/p)^2 + 1, D}, layernorm_pre/post, model.layers (biased ViT
    layers), vision_adapter.mlp.{fc1 {A, F}, fc2 {A, A}} without bias."""
    D, F, p = v["hidden_size"], v["intermediate_size"], v["patch_size"]
    g, A = v["image_size"] // p, v["projector_output_dim"]
    m = node(patch_embedding=node(linear=linear(v.get("num_channels", 3) * p * p, D, False)),
             layernorm_pre=layer_norm(D), layernorm_post=layer_norm(D),
             model=node(layers=stack(v["num_hidden_layers"], lambda _: vit_layer(
                 D, F, ("input_layernorm", "post_attention_layernorm", "o_proj")))),
             vision_adapter=node(mlp=node(fc1=linear(F, v["projector_input_dim"], False),
                                          fc2=linear(A, A, False))))
    m.class_embedding = param(D)
    m.positional_embedding_vlm = param(g * g + 1, D)
    return m


# Vision defaults of the config classes, for keys a published vision_config omits.
SIGLIP_DEFAULTS = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                       num_channels=3, image_size=224, patch_size=16)
CLIP_DEFAULTS = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                     num_channels=3, image_size=224, patch_size=32)
PIXTRAL_DEFAULTS = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                        num_channels=3, image_size=1024, patch_size=16)


def with_defaults(raw, defaults):
    out = dict(defaults)
    out.update(raw or {})
    return out


def build_gemma3(c):
    """Gemma3ForConditionalGeneration: vision_tower (SigLIP), multi_modal_projector.{
    mm_input_projection_weight {D, E}, mm_soft_emb_norm {D}}, language_model."""
    v = with_defaults(c.raw.get("vision_config"), SIGLIP_DEFAULTS)
    text = text_model(c.raw.get("text_config"), "gemma3_text")
    E = text.model.embed_tokens.weight.shape[1]
    proj = node(mm_soft_emb_norm=RMSNorm(v["hidden_size"]))
    proj.mm_input_projection_weight = param(v["hidden_size"], E)
    return node(vision_tower=siglip_tower(v), multi_modal_projector=proj, language_model=text)


def build_llava(c):
    """LlavaForConditionalGeneration: vision_tower (CLIP), multi_modal_projector.{linear_1
    {E, D}, linear_2 {E, E}} with biases (multimodal_projector_bias), language_model."""
    v = with_defaults(c.raw.get("vision_config"), CLIP_DEFAULTS)
    text = text_model(c.raw.get("text_config"), "llama")
    E = text.model.embed_tokens.weight.shape[1]
    b = c.raw.get("multimodal_projector_bias", True)
    proj = node(linear_1=linear(v["hidden_size"], E, b), linear_2=linear(E, E, b))
    return node(vision_tower=clip_tower(v), multi_modal_projector=proj, language_model=text)


def build_mistral3(c):
    """Mistral3ForConditionalGeneration: vision_tower (Pixtral), multi_modal_projector.{
    norm {D}, patch_merger.merging_layer {D, D m^2}, linear_1 {E, D}, linear_2 {E, E}}
    (biases only with multimodal_projector_bias), language_model."""
    v = with_defaults(c.raw.get("vision_config"), PIXTRAL_DEFAULTS)
    text = text_model(c.raw.get("text_config"), "mistral")
    E, D = text.model.embed_tokens.weight.shape[1], v["hidden_size"]
    mm = c.raw.get("spatial_merge_size", 2)
    b = c.raw.get("multimodal_projector_bias", False)
    proj = node(norm=RMSNorm(D), patch_merger=node(merging_layer=linear(D * mm * mm, D, False)),
                linear_1=linear(D, E, b), linear_2=linear(E, E, b))
    return node(vision_tower=pixtral_tower(v), multi_modal_projector=proj, language_model=text)


def build_qwen2_5_vl(c):
    """Qwen2_5_VLForConditionalGeneration: visual (vision transformer with its merger) and
    the Qwen2 language model (text keys at the top level, or in text_config)."""
    v = c.raw["vision_config"]
    text_cfg = c.raw.get("text_config") or {k: x for k, x in c.raw.items()
                                            if k not in ("vision_config", "model_type")}
    text = text_model(text_cfg, "qwen2")
    return node(visual=qwen2_5_vl_visual(v), model=text)


def build_llama4_mm(c):
    """Llama4ForConditionalGeneration: vision_model, multi_modal_projector.linear_1 {E, A}
    (no bias), language_model."""
    v = c.raw["vision_config"]
    text = text_model(c.raw.get("text_config"), "llama4_text")
    E = text.model.embed_tokens.weight.shape[1]
    return node(vision_model=llama4_vision(v),
                multi_modal_projector=node(linear_1=linear(v["vision_output_dim"], E, False)),
                language_model=text)


BUILDERS = {
    "mamba": build_mamba, "falcon_mamba": build_mamba, "mamba2": build_mamba2,
    "jamba": build_jamba, "granitemoehybrid": build_granitemoehybrid,
    "nemotron_h": build_nemotron_h, "qwen3_next": build_qwen3_next,
}
# Multimodal wrappers are built whole (towers included); hf_reference.WRAPPERS keeps naming
# their language model's family.
MULTIMODAL = {
    "gemma3": build_gemma3, "llava": build_llava, "mistral3": build_mistral3,
    "qwen2_5_vl": build_qwen2_5_vl, "llama4": build_llama4_mm,
}
R.BUILDERS.update(BUILDERS)
R.DEFAULTS.update(DEFAULTS)
R.WRAPPERS.setdefault("llava", "llama")
R.WRAPPERS.setdefault("qwen2_5_vl", "qwen2")
_build_text_or_family = R.build_model


def build_model(config, stacked_experts=None):
    """hf_reference.build_model, with multimodal wrappers built with their towers."""
    family = config["model_type"]
    if family in MULTIMODAL:
        c = R.Config(config, {})
        c.stacked_experts = stacked_experts
        return MULTIMODAL[family](c)
    return _build_text_or_family(config, stacked_experts)


def text_model(text_config, default_type):
    t = dict(text_config or {})
    family = t.get("model_type", default_type)
    return _build_text_or_family({**t, "model_type": family})


R.build_model = build_model


def tower_parameters(model):
    """(vision tower, projector) parameter counts of a multimodal reference model."""
    def count(mod):
        return R.count_parameters(mod) if mod is not None else 0
    tower = getattr(model, "vision_tower", None) or getattr(model, "vision_model", None)
    proj = getattr(model, "multi_modal_projector", None)
    if hasattr(model, "visual"):
        return count(model.visual) - count(model.visual.merger), count(model.visual.merger)
    if hasattr(model, "vision_model"):
        adapter = model.vision_model.vision_adapter
        return count(tower) - count(adapter), count(proj) + count(adapter)
    return count(tower), count(proj)
