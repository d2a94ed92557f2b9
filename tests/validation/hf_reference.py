"""Module structure of the HF transformers models in sizeup's catalog, rebuilt in PyTorch.

Written for validation, independently of sizeup's tensor table: each family below mirrors
the module tree of the HF transformers class named in its docstring (module names, which
nn.Linear has a bias, LayerNorm vs RMSNorm, tied heads) and the defaults of its HF
configuration class for keys a published config.json may omit. Only parameter shapes
matter here, so there are no forward passes. Every module is constructed with
device='meta' (torch 1.13 has no torch.device context manager), so DeepSeek-V3 (671B) and
Llama-3.1-405B build without allocating memory.

Conventions followed (as in HF transformers):
- Buffers (rotary inv_freq, causal masks, DeepSeek-V3's e_score_correction_bias, Gemma3's
  embed_scale) are not parameters and are not created.
- A tied output head is the same Parameter object as the input embedding, so
  count_parameters() counts it once, like PreTrainedModel.num_parameters().
- Routed experts are one nn.Module per expert (as in HF's ModuleList implementations),
  except in the largest MoE models (DeepSeek-V3, Qwen3-30B-A3B), which use the stacked
  {E, out, in} parameters of recent HF releases (same count; see StackedExperts).

Usage: build_model(config_dict) -> nn.Module; count_parameters(module) -> int.
"""
import torch
import torch.nn as nn

META = "meta"


# ---------------------------------------------------------------------------------------
# Config access with per-class defaults
# ---------------------------------------------------------------------------------------
class Config:
    """A config.json dict seen through the defaults of one HF configuration class.

    get(key) returns the JSON value if present (even null, as HF keeps None), else the
    class default. Keys the class resolves from None (e.g. num_key_value_heads) are
    resolved by the family builder, as HF's modules or config __init__ do."""

    def __init__(self, raw, defaults):
        self.raw, self.defaults = raw, defaults

    def get(self, key):
        if key in self.raw:
            return self.raw[key]
        if key in self.defaults:
            return self.defaults[key]
        raise KeyError(f"{key} not in config and no default for this family")

    def __getattr__(self, key):
        if key in ("raw", "defaults"):
            raise AttributeError(key)
        return self.get(key)


def _or(value, fallback):
    return fallback if value is None else value


# Defaults of the HF configuration classes (transformers 4.4x-4.5x), only for keys that
# change the module structure. PretrainedConfig.tie_word_embeddings defaults to True; the
# classes that override it to False say so.
DEFAULTS = {
    "gpt2": dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                 n_inner=None, tie_word_embeddings=True),
    "gpt_neox": dict(vocab_size=50432, hidden_size=6144, num_hidden_layers=44,
                     num_attention_heads=64, intermediate_size=24576, attention_bias=True,
                     tie_word_embeddings=False),
    "gptj": dict(vocab_size=50400, n_positions=2048, n_embd=4096, n_layer=28, n_head=16,
                 n_inner=None, tie_word_embeddings=False),
    "opt": dict(vocab_size=50272, hidden_size=768, num_hidden_layers=12, ffn_dim=3072,
                max_position_embeddings=2048, do_layer_norm_before=True,
                _remove_final_layer_norm=False, word_embed_proj_dim=None,
                num_attention_heads=12, enable_bias=True, layer_norm_elementwise_affine=True,
                tie_word_embeddings=True),
    "bloom": dict(vocab_size=250880, hidden_size=64, n_layer=2, n_head=8,
                  tie_word_embeddings=True),
    "falcon": dict(vocab_size=65024, hidden_size=4544, num_hidden_layers=32,
                   num_attention_heads=71, num_kv_heads=None, new_decoder_architecture=False,
                   multi_query=True, parallel_attn=True, bias=False, ffn_hidden_size=None,
                   num_ln_in_parallel_attn=None, tie_word_embeddings=True),
    "llama": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None,
                  head_dim=None, attention_bias=False, mlp_bias=False,
                  tie_word_embeddings=False),
    "mistral": dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                    num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                    head_dim=None, tie_word_embeddings=False),
    "mixtral": dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                    num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                    head_dim=None, num_local_experts=8, tie_word_embeddings=False),
    "qwen2": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                  tie_word_embeddings=False),
    "qwen2_moe": dict(vocab_size=151936, hidden_size=2048, intermediate_size=5632,
                      num_hidden_layers=24, num_attention_heads=16, num_key_value_heads=16,
                      decoder_sparse_step=1, moe_intermediate_size=1408,
                      shared_expert_intermediate_size=5632, num_experts=60,
                      mlp_only_layers=None, tie_word_embeddings=False),
    "qwen3": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                  head_dim=128, attention_bias=False, tie_word_embeddings=False),
    "qwen3_moe": dict(vocab_size=151936, hidden_size=2048, intermediate_size=6144,
                      num_hidden_layers=24, num_attention_heads=32, num_key_value_heads=4,
                      head_dim=None, attention_bias=False, decoder_sparse_step=1,
                      moe_intermediate_size=768, num_experts=128, mlp_only_layers=None,
                      tie_word_embeddings=False),
    "gemma": dict(vocab_size=256000, hidden_size=3072, intermediate_size=24576,
                  num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=16,
                  head_dim=256, attention_bias=False, tie_word_embeddings=True),
    "gemma2": dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216,
                   num_hidden_layers=26, num_attention_heads=8, num_key_value_heads=4,
                   head_dim=256, attention_bias=False, tie_word_embeddings=True),
    "gemma3_text": dict(vocab_size=262208, hidden_size=2304, intermediate_size=9216,
                        num_hidden_layers=26, num_attention_heads=8, num_key_value_heads=4,
                        head_dim=256, attention_bias=False, tie_word_embeddings=True),
    "phi": dict(vocab_size=51200, hidden_size=2048, intermediate_size=8192,
                num_hidden_layers=24, num_attention_heads=32, num_key_value_heads=None,
                qk_layernorm=False, tie_word_embeddings=False),
    "phi3": dict(vocab_size=32064, hidden_size=3072, intermediate_size=8192,
                 num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None,
                 tie_word_embeddings=False),
    "deepseek_v2": dict(vocab_size=102400, hidden_size=4096, intermediate_size=11008,
                        moe_intermediate_size=1407, num_hidden_layers=30,
                        num_attention_heads=32, n_shared_experts=None, n_routed_experts=None,
                        first_k_dense_replace=0, moe_layer_freq=1, q_lora_rank=1536,
                        kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64,
                        v_head_dim=128, attention_bias=False, topk_method="greedy",
                        tie_word_embeddings=False),
    "deepseek_v3": dict(vocab_size=129280, hidden_size=7168, intermediate_size=18432,
                        moe_intermediate_size=2048, num_hidden_layers=61,
                        num_attention_heads=128, n_shared_experts=1, n_routed_experts=256,
                        first_k_dense_replace=3, moe_layer_freq=1, q_lora_rank=1536,
                        kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64,
                        v_head_dim=128, attention_bias=False, tie_word_embeddings=False),
    "olmo2": dict(vocab_size=50304, hidden_size=4096, intermediate_size=11008,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None,
                  attention_bias=False, tie_word_embeddings=False),
    "starcoder2": dict(vocab_size=49152, hidden_size=3072, intermediate_size=12288,
                       num_hidden_layers=30, num_attention_heads=24, num_key_value_heads=2,
                       use_bias=True, tie_word_embeddings=True),
    "bert": dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=3072, max_position_embeddings=512,
                 type_vocab_size=2),
    "t5": dict(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6,
               num_decoder_layers=None, num_heads=8, relative_attention_num_buckets=32,
               feed_forward_proj="relu", tie_word_embeddings=True),
    # 2024-2025 text families (transformers 4.45-4.55 classes; InternLM2 and EXAONE 3 from
    # their repositories' remote code).
    "gpt_oss": dict(num_hidden_layers=36, num_local_experts=128, vocab_size=201088,
                    hidden_size=2880, intermediate_size=2880, head_dim=64,
                    num_attention_heads=64, num_key_value_heads=8, tie_word_embeddings=False),
    "llama4_text": dict(vocab_size=202048, hidden_size=5120, intermediate_size=8192,
                        intermediate_size_mlp=16384, num_hidden_layers=48,
                        num_attention_heads=40, num_key_value_heads=8, head_dim=128,
                        num_local_experts=16, moe_layers=None, interleave_moe_layer_step=1,
                        attention_bias=False, tie_word_embeddings=False),
    "glm4_moe": dict(vocab_size=151552, hidden_size=4096, intermediate_size=10944,
                     num_hidden_layers=46, num_attention_heads=96, num_key_value_heads=8,
                     head_dim=128, attention_bias=False, moe_intermediate_size=1408,
                     n_shared_experts=1, n_routed_experts=128, first_k_dense_replace=1,
                     use_qk_norm=False, tie_word_embeddings=False),
    "granite": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008,
                    num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None,
                    head_dim=None, attention_bias=False, mlp_bias=False,
                    tie_word_embeddings=False),
    "smollm3": dict(vocab_size=128256, hidden_size=2048, intermediate_size=11008,
                    num_hidden_layers=36, num_attention_heads=16, num_key_value_heads=4,
                    head_dim=None, attention_bias=False, mlp_bias=False,
                    tie_word_embeddings=True),
    "cohere": dict(vocab_size=256000, hidden_size=8192, intermediate_size=22528,
                   num_hidden_layers=40, num_attention_heads=64, num_key_value_heads=None,
                   attention_bias=False, use_qk_norm=False, tie_word_embeddings=True),
    "cohere2": dict(vocab_size=256000, hidden_size=8192, intermediate_size=22528,
                    num_hidden_layers=40, num_attention_heads=64, num_key_value_heads=None,
                    attention_bias=False, tie_word_embeddings=True),
    "dbrx": dict(d_model=2048, n_heads=16, n_layers=24, vocab_size=32000,
                 attn_config={}, ffn_config={}, tie_word_embeddings=False),
    "olmoe": dict(vocab_size=50304, hidden_size=2048, intermediate_size=2048,
                  num_hidden_layers=16, num_attention_heads=16, num_key_value_heads=None,
                  num_experts=64, attention_bias=False, tie_word_embeddings=False),
    "phimoe": dict(vocab_size=32064, hidden_size=4096, intermediate_size=6400,
                   num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                   num_local_experts=16, attention_bias=False, lm_head_bias=False,
                   tie_word_embeddings=False),
    "internlm2": dict(vocab_size=103168, hidden_size=4096, intermediate_size=11008,
                      num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None,
                      bias=True, tie_word_embeddings=False),
    "exaone": dict(vocab_size=102400, hidden_size=2048, num_layers=32, num_attention_heads=32,
                   num_key_value_heads=None, intermediate_size=None, tie_word_embeddings=True),
}

# Multimodal configs: the language model is built from text_config (model_type defaulting
# as the wrapper class does); towers are not part of this reference yet.
WRAPPERS = {"gemma3": "gemma3_text", "mistral3": "mistral", "llama4": "llama4_text"}


# ---------------------------------------------------------------------------------------
# Leaf modules, all on the meta device
# ---------------------------------------------------------------------------------------
# Initialisation is meaningless on the meta device and costs about 0.4 ms per module, which
# adds up over DeepSeek-V3's 40,000 expert linears: these subclasses skip it. The parameter
# shapes are those nn.Linear / nn.Embedding / nn.LayerNorm create.
class Linear(nn.Linear):
    def reset_parameters(self):
        pass


class Embedding(nn.Embedding):
    def reset_parameters(self):
        pass


class LayerNorm(nn.LayerNorm):
    def reset_parameters(self):
        pass


def linear(n_in, n_out, bias):
    """nn.Linear(in, out): weight {out, in}, bias {out} if bias."""
    return Linear(n_in, n_out, bias=bias, device=META)


def embedding(n, d):
    return Embedding(n, d, device=META)


def layer_norm(d, affine=True):
    """nn.LayerNorm: weight and bias of width d (none if elementwise_affine=False)."""
    return LayerNorm(d, elementwise_affine=affine, device=META)


class RMSNorm(nn.Module):
    """Weight-only norm (LlamaRMSNorm, GemmaRMSNorm's 1+w form, T5LayerNorm): weight {d}."""

    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d, device=META))


class Conv1D(nn.Module):
    """GPT-2's transposed linear (transformers.pytorch_utils.Conv1D(nf, nx)):
    weight {nx, nf}, bias {nf}."""

    def __init__(self, nf, nx):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf, device=META))
        self.bias = nn.Parameter(torch.empty(nf, device=META))


def node(**children):
    """A plain nn.Module holding the named children (to mirror HF's module paths)."""
    m = nn.Module()
    for name, child in children.items():
        if child is not None:
            setattr(m, name, child)
    return m


def stack(n, make):
    return nn.ModuleList(make(i) for i in range(n))


class StackedExperts(nn.Module):
    """E gated expert MLPs as one pair of stacked parameters, the fused layout of recent HF
    releases: gate_up_proj {E, 2 f, d} and down_proj {E, d, f}. Same count as E modules
    with gate/up {f, d} and down {d, f}; used for the largest MoE models, where building
    tens of thousands of meta nn.Linear modules would take most of a minute."""

    def __init__(self, n_experts, d, f):
        super().__init__()
        self.gate_up_proj = nn.Parameter(torch.empty(n_experts, 2 * f, d, device=META))
        self.down_proj = nn.Parameter(torch.empty(n_experts, d, f, device=META))


# Routed experts are built one module per expert unless layers x experts exceeds this.
STACK_EXPERTS_ABOVE = 4096


def routed_experts(c, n_experts, d, f, one_expert):
    """ModuleList of n_experts one_expert() modules, or StackedExperts (see above)."""
    stacked = c.stacked_experts
    if stacked is None:
        stacked = c.num_hidden_layers * n_experts > STACK_EXPERTS_ABOVE
    if stacked:
        return StackedExperts(n_experts, d, f)
    return stack(n_experts, lambda _: one_expert())


def tie(head, embed):
    head.weight = embed.weight


def causal_lm(backbone_name, backbone, lm_head, embed, tied):
    """XForCausalLM: backbone under `backbone_name`, lm_head, optionally tied."""
    if tied:
        tie(lm_head, embed)
    return node(**{backbone_name: backbone, "lm_head": lm_head})


# ---------------------------------------------------------------------------------------
# GPT-style families
# ---------------------------------------------------------------------------------------
def build_gpt2(c):
    """GPT2LMHeadModel: transformer.{wte, wpe, h[i].{ln_1, attn.{c_attn, c_proj}, ln_2,
    mlp.{c_fc, c_proj}}, ln_f}, lm_head (no bias, tied by default)."""
    d = c.n_embd
    inner = _or(c.n_inner, 4 * d)

    def block(_):
        return node(ln_1=layer_norm(d), attn=node(c_attn=Conv1D(3 * d, d), c_proj=Conv1D(d, d)),
                    ln_2=layer_norm(d), mlp=node(c_fc=Conv1D(inner, d), c_proj=Conv1D(d, inner)))

    wte = embedding(c.vocab_size, d)
    tr = node(wte=wte, wpe=embedding(c.n_positions, d), h=stack(c.n_layer, block),
              ln_f=layer_norm(d))
    return causal_lm("transformer", tr, linear(d, c.vocab_size, False), wte,
                     c.tie_word_embeddings)


def build_gpt_neox(c):
    """GPTNeoXForCausalLM: gpt_neox.{embed_in, layers[i].{input_layernorm,
    post_attention_layernorm, attention.{query_key_value, dense}, mlp.{dense_h_to_4h,
    dense_4h_to_h}}, final_layer_norm}, embed_out (no bias)."""
    d, f, ab = c.hidden_size, c.intermediate_size, c.attention_bias

    def layer(_):
        return node(input_layernorm=layer_norm(d), post_attention_layernorm=layer_norm(d),
                    attention=node(query_key_value=linear(d, 3 * d, ab), dense=linear(d, d, ab)),
                    mlp=node(dense_h_to_4h=linear(d, f, True), dense_4h_to_h=linear(f, d, True)))

    embed_in = embedding(c.vocab_size, d)
    model = node(gpt_neox=node(embed_in=embed_in, layers=stack(c.num_hidden_layers, layer),
                               final_layer_norm=layer_norm(d)),
                 embed_out=linear(d, c.vocab_size, False))
    if c.tie_word_embeddings:
        tie(model.embed_out, embed_in)
    return model


def build_gptj(c):
    """GPTJForCausalLM: transformer.{wte, h[i].{ln_1, attn.{k,v,q,out_proj (no bias)},
    mlp.{fc_in, fc_out}}, ln_f}, lm_head with bias."""
    d = c.n_embd
    inner = _or(c.n_inner, 4 * d)

    def block(_):
        attn = node(k_proj=linear(d, d, False), v_proj=linear(d, d, False),
                    q_proj=linear(d, d, False), out_proj=linear(d, d, False))
        return node(ln_1=layer_norm(d), attn=attn,
                    mlp=node(fc_in=linear(d, inner, True), fc_out=linear(inner, d, True)))

    wte = embedding(c.vocab_size, d)
    tr = node(wte=wte, h=stack(c.n_layer, block), ln_f=layer_norm(d))
    return causal_lm("transformer", tr, linear(d, c.vocab_size, True), wte,
                     c.tie_word_embeddings)


def build_opt(c):
    """OPTForCausalLM: model.decoder.{embed_tokens {V, word_embed_proj_dim},
    embed_positions {max_positions + 2, d} (OPTLearnedPositionalEmbedding offset 2),
    project_out/project_in (no bias, only if word_embed_proj_dim != d), final_layer_norm
    (only if do_layer_norm_before and not _remove_final_layer_norm), layers[i].{self_attn.
    {k,v,q,out_proj}, self_attn_layer_norm, fc1, fc2, final_layer_norm}}, lm_head
    {V, word_embed_proj_dim} tied."""
    d, f, b = c.hidden_size, c.ffn_dim, c.enable_bias
    p = _or(c.word_embed_proj_dim, d)
    affine = c.layer_norm_elementwise_affine

    def layer(_):
        attn = node(k_proj=linear(d, d, b), v_proj=linear(d, d, b), q_proj=linear(d, d, b),
                    out_proj=linear(d, d, b))
        return node(self_attn=attn, self_attn_layer_norm=layer_norm(d, affine),
                    fc1=linear(d, f, b), fc2=linear(f, d, b),
                    final_layer_norm=layer_norm(d, affine))

    embed = embedding(c.vocab_size, p)
    final = c.do_layer_norm_before and not c._remove_final_layer_norm
    dec = node(embed_tokens=embed, embed_positions=embedding(c.max_position_embeddings + 2, d),
               project_out=linear(d, p, False) if p != d else None,
               project_in=linear(p, d, False) if p != d else None,
               final_layer_norm=layer_norm(d, affine) if final else None,
               layers=stack(c.num_hidden_layers, layer))
    return causal_lm("model", node(decoder=dec), linear(p, c.vocab_size, False), embed,
                     c.tie_word_embeddings)


def build_bloom(c):
    """BloomForCausalLM: transformer.{word_embeddings, word_embeddings_layernorm,
    h[i].{input_layernorm, self_attention.{query_key_value, dense}, post_attention_layernorm,
    mlp.{dense_h_to_4h, dense_4h_to_h}}, ln_f}, lm_head tied. All linears have bias."""
    d = c.hidden_size

    def block(_):
        return node(input_layernorm=layer_norm(d),
                    self_attention=node(query_key_value=linear(d, 3 * d, True),
                                        dense=linear(d, d, True)),
                    post_attention_layernorm=layer_norm(d),
                    mlp=node(dense_h_to_4h=linear(d, 4 * d, True),
                             dense_4h_to_h=linear(4 * d, d, True)))

    wte = embedding(c.vocab_size, d)
    tr = node(word_embeddings=wte, word_embeddings_layernorm=layer_norm(d),
              h=stack(c.n_layer, block), ln_f=layer_norm(d))
    return causal_lm("transformer", tr, linear(d, c.vocab_size, False), wte,
                     c.tie_word_embeddings)


def build_falcon(c):
    """FalconForCausalLM: transformer.{word_embeddings, h[i], ln_f}, lm_head tied.
    FalconAttention.query_key_value width: new_decoder_architecture (H + 2 KV) hd,
    multi_query d + 2 hd, else 3d. Norms: new architecture with num_ln_in_parallel_attn 2 ->
    ln_attn + ln_mlp; else input_layernorm (+ post_attention_layernorm if not parallel)."""
    d, H = c.hidden_size, c.num_attention_heads
    hd = d // H
    kv = _or(c.num_kv_heads, H)
    b = c.bias
    f = _or(c.ffn_hidden_size, 4 * d)
    if c.new_decoder_architecture:
        qkv = (H + 2 * kv) * hd
    elif c.multi_query:
        qkv = d + 2 * hd
    else:
        qkv = 3 * d
    n_ln = c.num_ln_in_parallel_attn
    if n_ln is None and c.new_decoder_architecture:
        n_ln = 2

    def block(_):
        m = node(self_attention=node(query_key_value=linear(d, qkv, b), dense=linear(d, d, b)),
                 mlp=node(dense_h_to_4h=linear(d, f, b), dense_4h_to_h=linear(f, d, b)))
        if not c.parallel_attn:
            m.input_layernorm, m.post_attention_layernorm = layer_norm(d), layer_norm(d)
        elif n_ln == 2:
            m.ln_attn, m.ln_mlp = layer_norm(d), layer_norm(d)
        else:
            m.input_layernorm = layer_norm(d)
        return m

    wte = embedding(c.vocab_size, d)
    tr = node(word_embeddings=wte, h=stack(c.num_hidden_layers, block), ln_f=layer_norm(d))
    return causal_lm("transformer", tr, linear(d, c.vocab_size, False), wte,
                     c.tie_word_embeddings)


# ---------------------------------------------------------------------------------------
# Llama-style families: model.{embed_tokens, layers, norm} + lm_head
# ---------------------------------------------------------------------------------------
def head_dim(c, key="head_dim"):
    hd = c.raw.get(key, c.defaults.get(key))
    return _or(hd, c.hidden_size // c.num_attention_heads)


def kv_heads(c):
    return _or(c.get("num_key_value_heads"), c.num_attention_heads)


def qkvo(d, H, KV, hd, q_bias, o_bias):
    """q_proj {H hd, d}, k_proj/v_proj {KV hd, d}, o_proj {d, H hd}."""
    return dict(q_proj=linear(d, H * hd, q_bias), k_proj=linear(d, KV * hd, q_bias),
                v_proj=linear(d, KV * hd, q_bias), o_proj=linear(H * hd, d, o_bias))


def gated_mlp(d, f, bias=False):
    """LlamaMLP-style: gate_proj, up_proj {f, d}; down_proj {d, f}."""
    return node(gate_proj=linear(d, f, bias), up_proj=linear(d, f, bias),
                down_proj=linear(f, d, bias))


def decoder_lm(c, layer, final_norm=None):
    """XForCausalLM over model.{embed_tokens, layers, norm}; lm_head has no bias."""
    d = c.hidden_size
    embed = embedding(c.vocab_size, d)
    model = node(embed_tokens=embed, layers=stack(c.num_hidden_layers, layer),
                 norm=final_norm if final_norm is not None else RMSNorm(d))
    return causal_lm("model", model, linear(d, c.vocab_size, False), embed,
                     c.tie_word_embeddings)


def build_llama(c):
    """LlamaForCausalLM (also the shape of MistralForCausalLM, which has no bias flags)."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c)
    ab = c.raw.get("attention_bias", False)
    mb = c.raw.get("mlp_bias", False)

    def layer(_):
        return node(self_attn=node(**qkvo(d, H, KV, hd, ab, ab)),
                    mlp=gated_mlp(d, c.intermediate_size, mb),
                    input_layernorm=RMSNorm(d), post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def build_mixtral(c):
    """MixtralForCausalLM: layers[i].block_sparse_moe.{gate {E, d}, experts[e].{w1, w3 {f, d},
    w2 {d, f}}}, all without bias."""
    d, H, KV, hd, f = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c), \
        c.intermediate_size
    E = c.num_local_experts

    def expert():
        return node(w1=linear(d, f, False), w2=linear(f, d, False), w3=linear(d, f, False))

    def layer(_):
        return node(self_attn=node(**qkvo(d, H, KV, hd, False, False)),
                    block_sparse_moe=node(gate=linear(d, E, False),
                                              experts=routed_experts(c, E, d, f, expert)),
                    input_layernorm=RMSNorm(d), post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def build_qwen2(c):
    """Qwen2ForCausalLM: Qwen2Attention has bias on q, k, v and none on o_proj."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c)

    def layer(_):
        return node(self_attn=node(**qkvo(d, H, KV, hd, True, False)),
                    mlp=gated_mlp(d, c.intermediate_size),
                    input_layernorm=RMSNorm(d), post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def qwen_is_sparse(c, i):
    """Qwen2Moe/Qwen3Moe decoder layer: sparse unless listed in mlp_only_layers, when
    num_experts > 0 and (i + 1) % decoder_sparse_step == 0."""
    dense = _or(c.mlp_only_layers, [])
    return i not in dense and c.num_experts > 0 and (i + 1) % c.decoder_sparse_step == 0


def build_qwen2_moe(c):
    """Qwen2MoeForCausalLM: sparse layers hold mlp.{gate {E, d}, experts[e] (MLP of
    moe_intermediate_size), shared_expert (MLP of shared_expert_intermediate_size),
    shared_expert_gate {1, d}}; dense layers an MLP of intermediate_size."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c)
    E, fe = c.num_experts, c.moe_intermediate_size

    def layer(i):
        if qwen_is_sparse(c, i):
            mlp = node(gate=linear(d, E, False),
                       experts=routed_experts(c, E, d, fe, lambda: gated_mlp(d, fe)),
                       shared_expert=gated_mlp(d, c.shared_expert_intermediate_size),
                       shared_expert_gate=linear(d, 1, False))
        else:
            mlp = gated_mlp(d, c.intermediate_size)
        return node(self_attn=node(**qkvo(d, H, KV, hd, True, False)), mlp=mlp,
                    input_layernorm=RMSNorm(d), post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def qwen3_attention(c):
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c)
    ab = c.attention_bias
    return node(**qkvo(d, H, KV, hd, ab, ab), q_norm=RMSNorm(hd), k_norm=RMSNorm(hd))


def build_qwen3(c):
    """Qwen3ForCausalLM: Llama layout plus per-head q_norm and k_norm {head_dim}."""
    d = c.hidden_size

    def layer(_):
        return node(self_attn=qwen3_attention(c), mlp=gated_mlp(d, c.intermediate_size),
                    input_layernorm=RMSNorm(d), post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def build_qwen3_moe(c):
    """Qwen3MoeForCausalLM: sparse layers hold mlp.{gate {E, d}, experts[e]}; no shared
    expert."""
    d, E, fe = c.hidden_size, c.num_experts, c.moe_intermediate_size

    def layer(i):
        if qwen_is_sparse(c, i):
            mlp = node(gate=linear(d, E, False),
                       experts=routed_experts(c, E, d, fe, lambda: gated_mlp(d, fe)))
        else:
            mlp = gated_mlp(d, c.intermediate_size)
        return node(self_attn=qwen3_attention(c), mlp=mlp,
                    input_layernorm=RMSNorm(d), post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def build_gemma(c, version=1):
    """GemmaForCausalLM (v1: 2 norms per layer); Gemma2ForCausalLM (v2: adds
    pre_feedforward_layernorm and post_feedforward_layernorm); Gemma3ForCausalLM (v3: also
    q_norm and k_norm {head_dim}). Head tied by default in all three."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, kv_heads(c), c.head_dim
    ab = c.attention_bias

    def layer(_):
        attn = node(**qkvo(d, H, KV, hd, ab, ab))
        if version == 3:
            attn.q_norm, attn.k_norm = RMSNorm(hd), RMSNorm(hd)
        m = node(self_attn=attn, mlp=gated_mlp(d, c.intermediate_size),
                 input_layernorm=RMSNorm(d), post_attention_layernorm=RMSNorm(d))
        if version >= 2:
            m.pre_feedforward_layernorm, m.post_feedforward_layernorm = RMSNorm(d), RMSNorm(d)
        return m

    return decoder_lm(c, layer)


def build_phi(c):
    """PhiForCausalLM: model.{embed_tokens, layers[i].{self_attn.{q,k,v_proj, dense} (bias),
    mlp.{fc1, fc2} (bias), input_layernorm (one LayerNorm, parallel block)},
    final_layernorm}, lm_head with bias."""
    d, H, KV, hd, f = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c), \
        c.intermediate_size

    def layer(_):
        attn = node(q_proj=linear(d, H * hd, True), k_proj=linear(d, KV * hd, True),
                    v_proj=linear(d, KV * hd, True), dense=linear(H * hd, d, True))
        if c.qk_layernorm:
            attn.q_layernorm, attn.k_layernorm = layer_norm(hd), layer_norm(hd)
        return node(self_attn=attn, mlp=node(fc1=linear(d, f, True), fc2=linear(f, d, True)),
                    input_layernorm=layer_norm(d))

    embed = embedding(c.vocab_size, d)
    model = node(embed_tokens=embed, layers=stack(c.num_hidden_layers, layer),
                 final_layernorm=layer_norm(d))
    return causal_lm("model", model, linear(d, c.vocab_size, True), embed,
                     c.tie_word_embeddings)


def build_phi3(c):
    """Phi3ForCausalLM: self_attn.{o_proj {d, H hd}, qkv_proj {(H + 2 KV) hd, d}} and
    mlp.{gate_up_proj {2 f, d}, down_proj {d, f}}, none with bias."""
    d, H, KV, hd, f = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c), \
        c.intermediate_size

    def layer(_):
        return node(self_attn=node(o_proj=linear(H * hd, d, False),
                                   qkv_proj=linear(d, (H + 2 * KV) * hd, False)),
                    mlp=node(gate_up_proj=linear(d, 2 * f, False), down_proj=linear(f, d, False)),
                    input_layernorm=RMSNorm(d), post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


class MoEGate(nn.Module):
    """DeepSeek router: weight {E, d} as an nn.Parameter. HF's native DeepseekV3TopkRouter
    keeps e_score_correction_bias as a buffer, so it is not created here."""

    def __init__(self, n_experts, d):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_experts, d, device=META))


def build_deepseek(c):
    """DeepseekV2ForCausalLM / DeepseekV3ForCausalLM: multi-head latent attention
    (q_proj, or q_a_proj + q_a_layernorm + q_b_proj when q_lora_rank is set;
    kv_a_proj_with_mqa {r_kv + r_rope, d}, kv_a_layernorm {r_kv}, kv_b_proj
    {H (nope + v), r_kv}, o_proj {d, H v}). Layer i is MoE when n_routed_experts is set,
    i >= first_k_dense_replace and i % moe_layer_freq == 0 (as in DeepSeek's
    modeling_deepseek.py; HF's native port tests only first_k_dense_replace, identical for
    moe_layer_freq 1): mlp.{experts[e] (MLP of moe_intermediate_size), gate.weight {E, d},
    shared_experts (one MLP of n_shared_experts * moe_intermediate_size)}."""
    d, H = c.hidden_size, c.num_attention_heads
    nope, rope, v, r_kv = c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim, c.kv_lora_rank
    r_q, ab = c.q_lora_rank, c.attention_bias
    E, fe = c.n_routed_experts, c.moe_intermediate_size
    shared = c.n_shared_experts

    def attention():
        a = node(kv_a_proj_with_mqa=linear(d, r_kv + rope, ab), kv_a_layernorm=RMSNorm(r_kv),
                 kv_b_proj=linear(r_kv, H * (nope + v), False), o_proj=linear(H * v, d, ab))
        if r_q is None:
            a.q_proj = linear(d, H * (nope + rope), False)
        else:
            a.q_a_proj, a.q_a_layernorm = linear(d, r_q, ab), RMSNorm(r_q)
            a.q_b_proj = linear(r_q, H * (nope + rope), False)
        return a

    def layer(i):
        if E is not None and i >= c.first_k_dense_replace and i % c.moe_layer_freq == 0:
            mlp = node(experts=routed_experts(c, E, d, fe, lambda: gated_mlp(d, fe)),
                       gate=MoEGate(E, d),
                       shared_experts=gated_mlp(d, fe * shared) if shared else None)
        else:
            mlp = gated_mlp(d, c.intermediate_size)
        return node(self_attn=attention(), mlp=mlp, input_layernorm=RMSNorm(d),
                    post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def build_olmo2(c):
    """Olmo2ForCausalLM: q_norm {H hd} and k_norm {KV hd} over all heads; norms after the
    sublayers (post_attention_layernorm, post_feedforward_layernorm), no input norm."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c)
    ab = c.attention_bias

    def layer(_):
        return node(self_attn=node(**qkvo(d, H, KV, hd, ab, ab), q_norm=RMSNorm(H * hd),
                                   k_norm=RMSNorm(KV * hd)),
                    mlp=gated_mlp(d, c.intermediate_size),
                    post_attention_layernorm=RMSNorm(d), post_feedforward_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def build_starcoder2(c):
    """Starcoder2ForCausalLM: q,k,v,o_proj and mlp.{c_fc, c_proj} with bias=use_bias,
    LayerNorms (with bias) before attention, before the MLP and at the end."""
    d, H, KV, hd, f = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c), \
        c.intermediate_size
    b = c.use_bias

    def layer(_):
        return node(self_attn=node(**qkvo(d, H, KV, hd, b, b)),
                    mlp=node(c_fc=linear(d, f, b), c_proj=linear(f, d, b)),
                    input_layernorm=layer_norm(d), post_attention_layernorm=layer_norm(d))

    return decoder_lm(c, layer, final_norm=layer_norm(d))


# ---------------------------------------------------------------------------------------
# Encoders and encoder-decoders
# ---------------------------------------------------------------------------------------
def build_bert(c):
    """BertModel (with pooler): embeddings.{word_, position_, token_type_embeddings,
    LayerNorm}, encoder.layer[i].{attention.{self.{query,key,value}, output.{dense,
    LayerNorm}}, intermediate.dense, output.{dense, LayerNorm}}, pooler.dense."""
    d, f = c.hidden_size, c.intermediate_size

    def layer(_):
        att = node(self=node(query=linear(d, d, True), key=linear(d, d, True),
                             value=linear(d, d, True)),
                   output=node(dense=linear(d, d, True), LayerNorm=layer_norm(d)))
        return node(attention=att, intermediate=node(dense=linear(d, f, True)),
                    output=node(dense=linear(f, d, True), LayerNorm=layer_norm(d)))

    emb = node(word_embeddings=embedding(c.vocab_size, d),
               position_embeddings=embedding(c.max_position_embeddings, d),
               token_type_embeddings=embedding(c.type_vocab_size, d), LayerNorm=layer_norm(d))
    return node(embeddings=emb, encoder=node(layer=stack(c.num_hidden_layers, layer)),
                pooler=node(dense=linear(d, d, True)))


def build_t5(c):
    """T5ForConditionalGeneration: shared {V, d} used by both stacks; each block holds
    T5LayerSelfAttention (q,k,v,o without bias; relative_attention_bias {buckets, H} only in
    block 0), in the decoder T5LayerCrossAttention (no relative bias), then T5LayerFF
    (wi/wo, or wi_0/wi_1/wo when gated); one T5LayerNorm per sub-layer and a
    final_layer_norm per stack; lm_head tied by default."""
    d, H, dkv, f = c.d_model, c.num_heads, c.d_kv, c.d_ff
    inner = H * dkv
    gated = c.feed_forward_proj.startswith("gated-")

    def attention(relative):
        return node(q=linear(d, inner, False), k=linear(d, inner, False),
                    v=linear(d, inner, False), o=linear(inner, d, False),
                    relative_attention_bias=embedding(c.relative_attention_num_buckets, H)
                    if relative else None)

    def ff():
        if gated:
            dense = node(wi_0=linear(d, f, False), wi_1=linear(d, f, False),
                         wo=linear(f, d, False))
        else:
            dense = node(wi=linear(d, f, False), wo=linear(f, d, False))
        return node(DenseReluDense=dense, layer_norm=RMSNorm(d))

    def t5_stack(n, decoder, shared):
        def block(i):
            layers = [node(SelfAttention=attention(i == 0), layer_norm=RMSNorm(d))]
            if decoder:
                layers.append(node(EncDecAttention=attention(False), layer_norm=RMSNorm(d)))
            layers.append(ff())
            return node(layer=nn.ModuleList(layers))

        s = node(block=stack(n, block), final_layer_norm=RMSNorm(d))
        s.embed_tokens = shared  # the same module: counted once
        return s

    shared = embedding(c.vocab_size, d)
    n_dec = _or(c.num_decoder_layers, c.num_layers)
    model = node(shared=shared, encoder=t5_stack(c.num_layers, False, shared),
                 decoder=t5_stack(n_dec, True, shared), lm_head=linear(d, c.vocab_size, False))
    if c.tie_word_embeddings:
        tie(model.lm_head, shared)
    return model


# ---------------------------------------------------------------------------------------
# 2024-2025 text families
# ---------------------------------------------------------------------------------------
class Params(nn.Module):
    """Named raw parameters (HF's stacked expert tensors, attention sinks, ...)."""

    def __init__(self, **shapes):
        super().__init__()
        for name, shape in shapes.items():
            setattr(self, name, nn.Parameter(torch.empty(*shape, device=META)))


def build_gpt_oss(c):
    """GptOssForCausalLM: self_attn.{q,k,v,o_proj (bias), sinks {H}}, mlp.{router.{weight
    {E, d}, bias {E}}, experts.{gate_up_proj {E, d, 2f}, gate_up_proj_bias {E, 2f},
    down_proj {E, f, d}, down_proj_bias {E, d}}}, two RMSNorms per layer."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c)
    E, f = c.num_local_experts, c.intermediate_size

    def layer(_):
        attn = node(**qkvo(d, H, KV, hd, True, True), sinks=Params(w=(H,)))
        mlp = node(router=Params(weight=(E, d), bias=(E,)),
                   experts=Params(gate_up_proj=(E, d, 2 * f), gate_up_proj_bias=(E, 2 * f),
                                  down_proj=(E, f, d), down_proj_bias=(E, d)))
        return node(self_attn=attn, mlp=mlp, input_layernorm=RMSNorm(d),
                    post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def build_llama4_text(c):
    """Llama4ForCausalLM: feed_forward of MoE layers (moe_layers, else every
    interleave_moe_layer_step-th) = router {E, d} + experts.{gate_up_proj {E, d, 2f},
    down_proj {E, f, d}} + shared_expert (MLP of intermediate_size); other layers an MLP of
    intermediate_size_mlp. The q/k L2 norm has no weight."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c)
    E, f = c.num_local_experts, c.intermediate_size
    step = c.interleave_moe_layer_step
    moe = c.moe_layers
    if moe is None:
        moe = list(range(step - 1, c.num_hidden_layers, step))

    def layer(i):
        if i in moe:
            ff = node(router=linear(d, E, False),
                      experts=Params(gate_up_proj=(E, d, 2 * f), down_proj=(E, f, d)),
                      shared_expert=gated_mlp(d, f))
        else:
            ff = gated_mlp(d, c.intermediate_size_mlp)
        ab = c.attention_bias
        return node(self_attn=node(**qkvo(d, H, KV, hd, ab, ab)), feed_forward=ff,
                    input_layernorm=RMSNorm(d), post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def build_glm4_moe(c):
    """Glm4MoeForCausalLM: q/k/v with attention_bias, o_proj without; q_norm/k_norm
    {head_dim} if use_qk_norm; dense MLP before first_k_dense_replace, then mlp.{gate.weight
    {E, d} (e_score_correction_bias is a buffer), experts[e] (MLP of
    moe_intermediate_size), shared_experts (MLP of n_shared_experts * that)}. The
    multi-token-prediction layer of the checkpoint is not built by HF."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c)
    E, fe, shared = c.n_routed_experts, c.moe_intermediate_size, c.n_shared_experts

    def layer(i):
        attn = node(**qkvo(d, H, KV, hd, c.attention_bias, False))
        if c.use_qk_norm:
            attn.q_norm, attn.k_norm = RMSNorm(hd), RMSNorm(hd)
        if i >= c.first_k_dense_replace:
            mlp = node(gate=MoEGate(E, d),
                       experts=routed_experts(c, E, d, fe, lambda: gated_mlp(d, fe)),
                       shared_experts=gated_mlp(d, fe * shared))
        else:
            mlp = gated_mlp(d, c.intermediate_size)
        return node(self_attn=attn, mlp=mlp, input_layernorm=RMSNorm(d),
                    post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def build_cohere(c, version=1):
    """CohereForCausalLM / Cohere2ForCausalLM: one weight-only CohereLayerNorm per layer
    (input_layernorm) feeding attention and MLP in parallel; Cohere v1 adds q_norm
    {H, hd} and k_norm {KV, hd} when use_qk_norm; final norm weight-only; tied head."""
    d, H, KV = c.hidden_size, c.num_attention_heads, kv_heads(c)
    hd = d // H if version == 2 else head_dim(c)
    ab = c.attention_bias

    def layer(_):
        attn = node(**qkvo(d, H, KV, hd, ab, ab))
        if version == 1 and c.use_qk_norm:
            attn.q_norm, attn.k_norm = Params(weight=(H, hd)), Params(weight=(KV, hd))
        return node(self_attn=attn, mlp=gated_mlp(d, c.intermediate_size),
                    input_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def build_dbrx(c):
    """DbrxForCausalLM: transformer.{wte, blocks[i].{norm_attn_norm.{norm_1, attn.{Wqkv
    {d + 2 KV hd, d}, out_proj {d, d}}, norm_2}, ffn.{router.layer {E, d}, experts.mlp.{w1,
    v1, w2 {E f, d}}}}, norm_f}, lm_head: no biases; LayerNorms without bias."""
    d, H = c.d_model, c.n_heads
    attn_cfg, ffn_cfg = c.attn_config, c.ffn_config
    KV = attn_cfg.get("kv_n_heads", 1)
    E, f = ffn_cfg.get("moe_num_experts", 4), ffn_cfg.get("ffn_hidden_size", 3584)
    hd = d // H

    def block(_):
        return node(norm_attn_norm=node(norm_1=RMSNorm(d), norm_2=RMSNorm(d),
                                        attn=node(Wqkv=linear(d, d + 2 * KV * hd, False),
                                                  out_proj=linear(d, d, False))),
                    ffn=node(router=node(layer=linear(d, E, False)),
                             experts=node(mlp=Params(w1=(E * f, d), v1=(E * f, d),
                                                     w2=(E * f, d)))))

    wte = embedding(c.vocab_size, d)
    tr = node(wte=wte, blocks=stack(c.n_layers, block), norm_f=RMSNorm(d))
    return causal_lm("transformer", tr, linear(d, c.vocab_size, False), wte,
                     c.tie_word_embeddings)


def build_olmoe(c):
    """OlmoeForCausalLM: q_norm {H hd}, k_norm {KV hd}; mlp.{gate {E, d}, experts[e]}."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c)
    E, f, ab = c.num_experts, c.intermediate_size, c.attention_bias

    def layer(_):
        attn = node(**qkvo(d, H, KV, hd, ab, ab), q_norm=RMSNorm(H * hd),
                    k_norm=RMSNorm(KV * hd))
        mlp = node(gate=linear(d, E, False),
                   experts=routed_experts(c, E, d, f, lambda: gated_mlp(d, f)))
        return node(self_attn=attn, mlp=mlp, input_layernorm=RMSNorm(d),
                    post_attention_layernorm=RMSNorm(d))

    return decoder_lm(c, layer)


def build_phimoe(c):
    """PhimoeForCausalLM: LayerNorms with bias, q/k/v/o with attention_bias,
    block_sparse_moe.{gate {E, d}, experts[e].{w1, w3 {f, d}, w2 {d, f}}}, lm_head with
    lm_head_bias."""
    d, H, KV, hd = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c)
    E, f, ab = c.num_local_experts, c.intermediate_size, c.attention_bias

    def expert():
        return node(w1=linear(d, f, False), w2=linear(f, d, False), w3=linear(d, f, False))

    def layer(_):
        return node(self_attn=node(**qkvo(d, H, KV, hd, ab, ab)),
                    block_sparse_moe=node(gate=linear(d, E, False),
                                          experts=routed_experts(c, E, d, f, expert)),
                    input_layernorm=layer_norm(d), post_attention_layernorm=layer_norm(d))

    embed = embedding(c.vocab_size, d)
    model = node(embed_tokens=embed, layers=stack(c.num_hidden_layers, layer),
                 norm=layer_norm(d))
    return causal_lm("model", model, linear(d, c.vocab_size, c.lm_head_bias), embed,
                     c.tie_word_embeddings)


def build_internlm2(c):
    """InternLM2ForCausalLM (remote code): model.{tok_embeddings, layers[i].{attention.{wqkv
    {(H + 2 KV) hd, d}, wo {d, H hd}} (bias=config.bias), feed_forward.{w1, w3 {f, d}, w2
    {d, f}} (no bias), attention_norm, ffn_norm}, norm}, output (no bias)."""
    d, H, KV, hd, f = c.hidden_size, c.num_attention_heads, kv_heads(c), head_dim(c), \
        c.intermediate_size

    def layer(_):
        return node(attention=node(wqkv=linear(d, (H + 2 * KV) * hd, c.bias),
                                   wo=linear(H * hd, d, c.bias)),
                    feed_forward=node(w1=linear(d, f, False), w3=linear(d, f, False),
                                      w2=linear(f, d, False)),
                    attention_norm=RMSNorm(d), ffn_norm=RMSNorm(d))

    embed = embedding(c.vocab_size, d)
    model = node(tok_embeddings=embed, layers=stack(c.num_hidden_layers, layer), norm=RMSNorm(d))
    return causal_lm("model", model, linear(d, c.vocab_size, False), embed,
                     c.tie_word_embeddings)


def build_exaone(c):
    """ExaoneForCausalLM (remote code): transformer.{wte, h[i].{ln_1, attn.attention.{q_proj,
    k_proj, v_proj, out_proj}, ln_2, mlp.{c_fc_0, c_fc_1 {f, d}, c_proj {d, f}}}, ln_f},
    lm_head; no biases, RMSNorms; f defaults to 4 d."""
    d, H, KV = c.hidden_size, c.num_attention_heads, kv_heads(c)
    hd = head_dim(c)
    f = _or(c.intermediate_size, 4 * d)

    def block(_):
        return node(ln_1=RMSNorm(d), attn=node(attention=node(
            q_proj=linear(d, H * hd, False), k_proj=linear(d, KV * hd, False),
            v_proj=linear(d, KV * hd, False), out_proj=linear(H * hd, d, False))),
            ln_2=RMSNorm(d), mlp=node(c_fc_0=linear(d, f, False), c_fc_1=linear(d, f, False),
                                      c_proj=linear(f, d, False)))

    wte = embedding(c.vocab_size, d)
    tr = node(wte=wte, h=stack(c.num_layers, block), ln_f=RMSNorm(d))
    return causal_lm("transformer", tr, linear(d, c.vocab_size, False), wte,
                     c.tie_word_embeddings)


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------
BUILDERS = {
    "gpt2": build_gpt2,
    "gpt_neox": build_gpt_neox,
    "gptj": build_gptj,
    "opt": build_opt,
    "bloom": build_bloom,
    "falcon": build_falcon,
    "llama": build_llama,
    "mistral": build_llama,
    "mixtral": build_mixtral,
    "qwen2": build_qwen2,
    "qwen2_moe": build_qwen2_moe,
    "qwen3": build_qwen3,
    "qwen3_moe": build_qwen3_moe,
    "gemma": lambda c: build_gemma(c, 1),
    "gemma2": lambda c: build_gemma(c, 2),
    "gemma3_text": lambda c: build_gemma(c, 3),
    "phi": build_phi,
    "phi3": build_phi3,
    "deepseek_v2": build_deepseek,
    "deepseek_v3": build_deepseek,
    "olmo2": build_olmo2,
    "starcoder2": build_starcoder2,
    "bert": build_bert,
    "t5": build_t5,
    "gpt_oss": build_gpt_oss,
    "llama4_text": build_llama4_text,
    "glm4_moe": build_glm4_moe,
    "granite": build_llama,
    "smollm3": build_llama,
    "cohere": lambda c: build_cohere(c, 1),
    "cohere2": lambda c: build_cohere(c, 2),
    "dbrx": build_dbrx,
    "olmoe": build_olmoe,
    "phimoe": build_phimoe,
    "internlm2": build_internlm2,
    "exaone": build_exaone,
}


def language_model_type(config):
    """model_type of the language model: text_config's for a multimodal wrapper."""
    family = config["model_type"]
    if family in WRAPPERS:
        return (config.get("text_config") or {}).get("model_type", WRAPPERS[family])
    return family


def build_model(config, stacked_experts=None):
    """The module tree (parameters on the meta device) of an HF config.json dict.
    stacked_experts: True/False forces the routed-expert layout; None picks StackedExperts
    only when layers x experts > STACK_EXPERTS_ABOVE."""
    family = config["model_type"]
    if family in WRAPPERS:  # the language model of a multimodal config
        config = config.get("text_config") or {}
        family = config.get("model_type", WRAPPERS[family])
    if family not in BUILDERS:
        raise ValueError(f"no reference structure for model_type {family!r}")
    c = Config(config, DEFAULTS[family])
    c.stacked_experts = stacked_experts
    return BUILDERS[family](c)


def uses_stacked_experts(module):
    return any(isinstance(m, StackedExperts) for m in module.modules())


def count_parameters(module):
    """PreTrainedModel.num_parameters(): numel over unique Parameter objects."""
    seen, total = set(), 0
    for p in module.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


# Recurrent and multimodal families register themselves (hf_reference_hybrid.py).
import hf_reference_hybrid  # noqa: E402,F401
