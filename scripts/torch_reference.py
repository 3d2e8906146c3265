#!/usr/bin/python3
"""PyTorch reference fixtures for the CLIBD Deno re-implementation.

Run:  PYTHONPATH=/work/pyref /usr/bin/python3 scripts/torch_reference.py
(Debian python3-torch 1.13; /work/pyref only supplies the HF `tokenizers` and `safetensors` wheels.)

Writes
  tests/fixtures/models/  tiny CLIBD model (spec 1.1-1.5) with random weights, its inputs, activations,
                          embeddings, gradients and a 3-step AdamW/OneCycle training reference.
  tests/fixtures/io/      small torch.save files covering dtypes, strided/offset views, wrappers, deflate,
                          and the torch.load view of the real BarcodeBERT prototype checkpoint.

timm / transformers model code could not be installed next to torch 1.13 here, so the towers are written
in plain torch.nn with timm's VisionTransformer and HF's BertModel / BertForMaskedLM module names and math
(pre-norm ViT with fused qkv, CLS token, final LayerNorm; post-LN BERT with the additive finfo.min mask).
Text ids come from the real HF `tokenizers` BertWordPieceTokenizer on the bert-base-uncased vocabulary.
Everything numeric is computed in float64 from float32-representable weights and inputs.
"""
import collections
import json
import math
import os
import sys
import zipfile

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "tests", "fixtures", "models")
IO = os.path.join(ROOT, "tests", "fixtures", "io")
SHARED = "/work/shared/data"

IMAGE = dict(img=32, patch=16, hidden=32, heads=2, layers=2, mlp=64, eps=1e-6, lora_r=4, out=24)
DNA = dict(k=3, max_len=30, tokens=11, vocab=67, hidden=32, heads=2, layers=2, inter=64, max_pos=16,
           type_vocab=2, eps=1e-12, out=24)
TEXT = dict(vocab=30522, tokens=20, hidden=16, heads=2, layers=2, inter=32, max_pos=24, type_vocab=2,
            eps=1e-12, out=24)


# ----------------------------------------------------------------------------------------- towers

class PatchEmbed(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.proj = nn.Conv2d(3, c["hidden"], c["patch"], c["patch"])

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class LoRAqkv(nn.Module):
    """CLIBD `_LoRA_qkv_timm`: fused qkv plus B(A x) added to the q and v thirds (no scaling)."""

    def __init__(self, dim, r):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.linear_a_q = nn.Linear(dim, r, bias=False)
        self.linear_b_q = nn.Linear(r, dim, bias=False)
        self.linear_a_v = nn.Linear(dim, r, bias=False)
        self.linear_b_v = nn.Linear(r, dim, bias=False)
        self.dim = dim

    def forward(self, x):
        qkv = self.qkv(x)
        dq = self.linear_b_q(self.linear_a_q(x))
        dv = self.linear_b_v(self.linear_a_v(x))
        d = self.dim
        return torch.cat([qkv[..., :d] + dq, qkv[..., d:2 * d], qkv[..., 2 * d:] + dv], dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["heads"]
        self.qkv = LoRAqkv(c["hidden"], c["lora_r"])
        self.proj = nn.Linear(c["hidden"], c["hidden"])

    def forward(self, x):
        b, t, ch = x.shape
        h, d = self.heads, ch // self.heads
        qkv = self.qkv(x).reshape(b, t, 3, h, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1) * d ** -0.5).softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, t, ch))


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Linear(c["hidden"], c["mlp"])
        self.fc2 = nn.Linear(c["mlp"], c["hidden"])

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1 = nn.LayerNorm(c["hidden"], eps=c["eps"])
        self.attn = Attention(c)
        self.norm2 = nn.LayerNorm(c["hidden"], eps=c["eps"])
        self.mlp = Mlp(c)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """timm VisionTransformer (global_pool='token', class token, no fc_norm) with CLIBD's LoRA qkv."""

    def __init__(self, c):
        super().__init__()
        n = (c["img"] // c["patch"]) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c["hidden"]))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, c["hidden"]))
        self.patch_embed = PatchEmbed(c)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c["layers"])])
        self.norm = nn.LayerNorm(c["hidden"], eps=c["eps"])
        self.head = nn.Linear(c["hidden"], c["out"])

    def forward(self, x, acts=None):
        p = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(p.shape[0], -1, -1), p], dim=1) + self.pos_embed
        if acts is not None:
            acts["act.image.patch_embed"] = p
            acts["act.image.tokens_in"] = x
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if acts is not None and i == 0:
                acts["act.image.block0"] = x
        x = self.norm(x)
        if acts is not None:
            acts["act.image.final_hidden"] = x
        return self.head(x[:, 0])


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab"], c["hidden"], padding_idx=0)
        self.position_embeddings = nn.Embedding(c["max_pos"], c["hidden"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab"], c["hidden"])
        self.LayerNorm = nn.LayerNorm(c["hidden"], eps=c["eps"])

    def forward(self, ids, tt):
        pos = torch.arange(ids.shape[1])
        e = self.word_embeddings(ids) + self.token_type_embeddings(tt) + self.position_embeddings(pos)[None]
        return self.LayerNorm(e)


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["heads"]
        self.query = nn.Linear(c["hidden"], c["hidden"])
        self.key = nn.Linear(c["hidden"], c["hidden"])
        self.value = nn.Linear(c["hidden"], c["hidden"])

    def forward(self, x, ext_mask):
        b, t, ch = x.shape
        h, d = self.heads, ch // self.heads

        def split(y):
            return y.view(b, t, h, d).permute(0, 2, 1, 3)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        s = q @ k.transpose(-1, -2) / math.sqrt(d) + ext_mask
        return (s.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(b, t, ch)


class DenseLN(nn.Module):
    """BertSelfOutput / BertOutput: dense, residual, LayerNorm."""

    def __init__(self, cin, cout, eps):
        super().__init__()
        self.dense = nn.Linear(cin, cout)
        self.LayerNorm = nn.LayerNorm(cout, eps=eps)

    def forward(self, x, res):
        return self.LayerNorm(self.dense(x) + res)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = DenseLN(c["hidden"], c["hidden"], c["eps"])

    def forward(self, x, m):
        return self.output(self.self(x, m), x)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden"], c["inter"])

    def forward(self, x):
        return F.gelu(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = DenseLN(c["inter"], c["hidden"], c["eps"])

    def forward(self, x, m):
        a = self.attention(x, m)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c["layers"])])


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden"], c["hidden"])


class BertModel(nn.Module):
    """HF BertModel (the pooler exists but CLIBD never uses it)."""

    def __init__(self, c, pooler=True):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        if pooler:
            self.pooler = BertPooler(c)

    def forward(self, ids, tt=None, mask=None, acts=None, tag=""):
        tt = torch.zeros_like(ids) if tt is None else tt
        mask = torch.ones_like(ids) if mask is None else mask
        x = self.embeddings(ids, tt)
        ext = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        if acts is not None:
            acts[f"act.{tag}.embeddings"] = x
        for i, layer in enumerate(self.encoder.layer):
            x = layer(x, ext)
            if acts is not None and i == 0:
                acts[f"act.{tag}.layer0"] = x
        if acts is not None:
            acts[f"act.{tag}.final_hidden"] = x
        return x


class Transform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden"], c["hidden"])
        self.LayerNorm = nn.LayerNorm(c["hidden"], eps=c["eps"])

    def forward(self, x):
        return self.LayerNorm(F.gelu(self.dense(x)))


class Predictions(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transform = Transform(c)
        self.bias = nn.Parameter(torch.zeros(c["vocab"]))  # kept by CLIBD, unused
        self.decoder = nn.Linear(c["hidden"], c["out"])  # CLIBD's replacement head

    def forward(self, x):
        return self.decoder(self.transform(x))


class OnlyMLMHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.predictions = Predictions(c)


class BertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c, pooler=False)
        self.cls = OnlyMLMHead(c)


class ImageEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.base_image_encoder = VisionTransformer(IMAGE)

    def forward(self, x, acts=None):
        return self.base_image_encoder(x, acts)


class DNAEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.base_dna_encoder = BertForMaskedLM(DNA)

    def forward(self, ids, acts=None):
        h = self.base_dna_encoder.bert(ids, acts=acts, tag="dna")
        logits = self.base_dna_encoder.cls.predictions(h)
        if acts is not None:
            acts["act.dna.logits"] = logits
        return logits.softmax(-1).mean(1)


class LanguageEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.base_language_encoder = BertModel(TEXT)
        self.proj = nn.Linear(TEXT["hidden"], TEXT["out"])

    def forward(self, ids, tt, mask, acts=None):
        h = self.base_language_encoder(ids, tt, mask, acts=acts, tag="text")
        return self.proj(h.mean(1))


class SimpleCLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.image_encoder = ImageEncoder()
        self.dna_encoder = DNAEncoder()
        self.language_encoder = LanguageEncoder()
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))

    def forward(self, images, dna, tids, ttt, tmask, acts=None):
        i = self.image_encoder(images, acts)
        d = self.dna_encoder(dna, acts)
        t = self.language_encoder(tids, ttt, tmask, acts)
        if acts is not None:
            acts["out.image_raw"], acts["out.dna_raw"], acts["out.text_raw"] = i, d, t
        return F.normalize(i, dim=-1), F.normalize(d, dim=-1), F.normalize(t, dim=-1)


def clip_loss(feats, logit_scale):
    """CLIBD loss (spec 3): mean over the directed CE terms of every ordered modality pair."""
    s = logit_scale.exp()
    labels = torch.arange(feats[0].shape[0])
    terms = []
    for a in range(len(feats)):
        for b in range(len(feats)):
            if a != b:
                x, y = F.normalize(feats[a], dim=1), F.normalize(feats[b], dim=1)
                terms.append(F.cross_entropy(s * x @ y.T, labels))
    return torch.stack(terms).mean()


def randomise(model, gen):
    """Deterministic random weights, all nonzero (LoRA A and B too; BERT row 0 too)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            is_norm = name.endswith("LayerNorm.weight") or name.split(".")[-2].startswith("norm")
            if is_norm and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias") or name in ("image_encoder.base_image_encoder.cls_token",):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p.shape[-1] if p.dim() >= 2 else p.numel()
                if "patch_embed" in name:
                    fan_in = p[0].numel()
                scale = 1.0 / math.sqrt(fan_in) if "embeddings" not in name and "pos_embed" not in name else 0.5
                p.copy_(scale * torch.randn(p.shape, generator=gen))


# ----------------------------------------------------------------------------------------- inputs

def kmer_ids(seq, k, max_len):
    """CLIBD DNA tokens (spec 1.3): pad with N / truncate, non-overlapping k-mers, specials first, prepend 0."""
    seq = seq[:max_len].ljust(max_len, "N")
    alphabet = "ACGT"
    vocab = {}
    for i in range(4 ** k):
        s = "".join(alphabet[(i // 4 ** (k - 1 - j)) % 4] for j in range(k))
        vocab[s] = 3 + i
    return [0] + [vocab.get(seq[i:i + k], 2) for i in range(0, max_len, k)]


def load_records(indices):
    rows = []
    with open(os.path.join(SHARED, "dna", "barcodebert_unseen_2023-07.tsv")) as f:
        header = f.readline().rstrip("\n").split("\t")
        for i, line in enumerate(f):
            if i in indices:
                rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    return rows


def tokenize_text(strings):
    from tokenizers import BertWordPieceTokenizer
    tok = BertWordPieceTokenizer(os.path.join(SHARED, "vocab", "bert-base-uncased-vocab.txt"), lowercase=True)
    tok.enable_truncation(max_length=TEXT["tokens"])
    tok.enable_padding(length=TEXT["tokens"])
    enc = tok.encode_batch(strings)
    return ([e.ids for e in enc], [e.type_ids for e in enc], [e.attention_mask for e in enc],
            [e.tokens for e in enc])


# ----------------------------------------------------------------------------------------- saving

def save_st(path, tensors, metadata=None):
    from safetensors.torch import save_file
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, path, metadata=metadata)


NATIVE_PREFIX = {
    "timm_vit": "image_encoder.base_image_encoder.",
    "hf_bert_dna": "dna_encoder.base_dna_encoder.",
    "hf_bert_text": "language_encoder.base_language_encoder.",
}


def native_dicts(sd):
    out = {}
    for kind, prefix in NATIVE_PREFIX.items():
        d = collections.OrderedDict()
        for k, v in sd.items():
            if not k.startswith(prefix):
                continue
            n = k[len(prefix):]
            if kind == "timm_vit":
                if ".linear_a_" in n or ".linear_b_" in n:
                    continue  # LoRA is CLIBD's, not timm's
                n = n.replace("attn.qkv.qkv.", "attn.qkv.")
            d[n] = v
        out[kind] = d
    return out


def build_models():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    model = SimpleCLIP()
    randomise(model, gen)
    # make every weight exactly float32-representable, then compute in float64
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.float())
    sd32 = collections.OrderedDict((k, v.detach().float().clone()) for k, v in model.state_dict().items())
    model = model.double()

    recs = load_records({0, 54})
    dna_ids = torch.tensor([kmer_ids(r["nucleotides"], DNA["k"], DNA["max_len"]) for r in recs])
    texts = [" ".join([r["order_name"], r["family_name"], r["genus_name"], r["species_name"]]) for r in recs]
    ids, tts, masks, toks = tokenize_text(texts)
    t_ids, t_tt, t_mask = torch.tensor(ids), torch.tensor(tts), torch.tensor(masks)
    images = torch.rand(2, 3, IMAGE["img"], IMAGE["img"], generator=gen).float().double()

    # forward with activations
    acts = {}
    images_req = images.clone().requires_grad_(True)
    img, dna, txt = model(images_req, dna_ids, t_ids, t_tt, t_mask, acts)
    gw = {m: torch.randn(2, IMAGE["out"], generator=gen).float().double() for m in ("image", "dna", "text")}
    g_obj = (img * gw["image"]).sum() + (dna * gw["dna"]).sum() + (txt * gw["text"]).sum()
    model.zero_grad(set_to_none=True)
    g_obj.backward()
    grad_names = [
        "image_encoder.base_image_encoder.cls_token",
        "image_encoder.base_image_encoder.pos_embed",
        "image_encoder.base_image_encoder.patch_embed.proj.weight",
        "image_encoder.base_image_encoder.blocks.0.attn.qkv.qkv.weight",
        "image_encoder.base_image_encoder.blocks.0.attn.qkv.qkv.bias",
        "image_encoder.base_image_encoder.blocks.0.attn.qkv.linear_a_q.weight",
        "image_encoder.base_image_encoder.blocks.0.attn.qkv.linear_b_v.weight",
        "image_encoder.base_image_encoder.blocks.1.mlp.fc1.weight",
        "image_encoder.base_image_encoder.norm.weight",
        "image_encoder.base_image_encoder.head.weight",
        "dna_encoder.base_dna_encoder.bert.embeddings.word_embeddings.weight",
        "dna_encoder.base_dna_encoder.bert.embeddings.position_embeddings.weight",
        "dna_encoder.base_dna_encoder.bert.encoder.layer.0.attention.self.query.weight",
        "dna_encoder.base_dna_encoder.bert.encoder.layer.1.output.LayerNorm.weight",
        "dna_encoder.base_dna_encoder.cls.predictions.transform.dense.weight",
        "dna_encoder.base_dna_encoder.cls.predictions.decoder.weight",
        "language_encoder.base_language_encoder.embeddings.token_type_embeddings.weight",
        "language_encoder.base_language_encoder.embeddings.position_embeddings.weight",
        "language_encoder.base_language_encoder.encoder.layer.0.attention.self.value.weight",
        "language_encoder.base_language_encoder.encoder.layer.1.intermediate.dense.weight",
        "language_encoder.proj.weight",
    ]
    params = dict(model.named_parameters())
    ref = {
        "input.images": images.float(),
        "input.dna_ids": dna_ids,
        "input.text_input_ids": t_ids,
        "input.text_token_type_ids": t_tt,
        "input.text_attention_mask": t_mask,
        "out.image": img, "out.dna": dna, "out.text": txt,
        "gradw.image": gw["image"], "gradw.dna": gw["dna"], "gradw.text": gw["text"],
        "grad.objective": g_obj.detach().reshape(1),
        "grad.input.images": images_req.grad,
    }
    ref.update(acts)
    for n in grad_names:
        ref["grad." + n] = params[n].grad
    # text word-embedding gradient: only the rows the batch uses are nonzero; store those rows
    used = sorted(set(t_ids.flatten().tolist()))
    wg = params["language_encoder.base_language_encoder.embeddings.word_embeddings.weight"].grad
    ref["gradrows.language_encoder.base_language_encoder.embeddings.word_embeddings.weight.ids"] = \
        torch.tensor(used)
    ref["gradrows.language_encoder.base_language_encoder.embeddings.word_embeddings.weight.values"] = wg[used]
    ref = {k: (v.detach().double() if v.is_floating_point() and not k.startswith("input.") else v.detach())
           for k, v in ref.items()}

    # training reference: 3 steps AdamW + OneCycleLR on the fixed batch
    tmodel = SimpleCLIP().double()
    tmodel.load_state_dict({k: v.double() for k, v in sd32.items()})
    opt = torch.optim.AdamW(tmodel.parameters(), lr=1e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=3, cycle_momentum=False)
    losses, lrs = [], []
    for _ in range(3):
        opt.zero_grad(set_to_none=True)
        feats = tmodel(images, dna_ids, t_ids, t_tt, t_mask)
        loss = clip_loss(list(feats), tmodel.logit_scale)
        loss.backward()
        lrs.append(opt.param_groups[0]["lr"])
        losses.append(loss.item())
        opt.step()
        sched.step()
    train = {"train.loss": torch.tensor(losses, dtype=torch.float64),
             "train.lr": torch.tensor(lrs, dtype=torch.float64)}
    wname = "language_encoder.base_language_encoder.embeddings.word_embeddings.weight"
    rows = sorted(set(used) | {1, 500, TEXT["vocab"] - 1})
    for k, v in tmodel.state_dict().items():
        if k == wname:
            train[f"finalrows.{k}.ids"] = torch.tensor(rows)
            train[f"finalrows.{k}.values"] = v[rows].clone()
        else:
            train["final." + k] = v.clone()
    # initial-batch loss of the untrained model, for a quick forward check
    with torch.no_grad():
        train["train.loss0_forward"] = clip_loss([img, dna, txt], model.logit_scale).reshape(1)

    meta = {
        "image": IMAGE, "dna": DNA, "text": TEXT,
        "texts": texts, "text_tokens": toks,
        "dna_sequences_30nt": [r["nucleotides"][:30] for r in recs],
        "processids": [r["processid"] for r in recs],
        "torch": torch.__version__,
    }
    return sd32, ref, train, meta


# ----------------------------------------------------------------------------------------- io fixtures

class BertConfig:
    """Stand-in pickled under the transformers class path, to exercise the inert-config allowlist."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


BertConfig.__module__ = "transformers.models.bert.configuration_bert"


def register_fake_transformers():
    """Lets pickle find BertConfig under its transformers path without importing transformers."""
    import types
    parts = BertConfig.__module__.split(".")
    for i in range(1, len(parts) + 1):
        sys.modules[".".join(parts[:i])] = types.ModuleType(".".join(parts[:i]))
    sys.modules[BertConfig.__module__].BertConfig = BertConfig


def io_fixtures():
    os.makedirs(IO, exist_ok=True)
    gen = torch.Generator().manual_seed(7)
    base = torch.randn(6, 5, generator=gen)
    d = collections.OrderedDict()
    d["f32"] = torch.randn(3, 4, generator=gen)
    d["f16"] = torch.randn(2, 3, generator=gen).half()
    d["bf16"] = torch.randn(2, 3, generator=gen).bfloat16()
    d["f64"] = torch.randn(4, generator=gen).double()
    d["i64"] = torch.tensor([[0, -5, 2 ** 40], [7, 2 ** 31 - 1, -2 ** 31]], dtype=torch.int64)
    d["i32"] = torch.tensor([1, -2, 3], dtype=torch.int32)
    d["u8"] = torch.tensor([0, 255, 7], dtype=torch.uint8)
    d["bool"] = torch.tensor([True, False, True])
    d["scalar"] = torch.tensor(3.5)
    d["base"] = base
    d["transposed"] = base.t()  # strided view, shares storage with base
    d["offset_rows"] = base[2:5]  # storage offset 10
    d["strided_cols"] = base[1:, ::2]  # offset 5, strides (5, 2)
    d["param"] = nn.Parameter(torch.randn(2, 2, generator=gen))
    d["empty"] = torch.zeros(0, 3)
    torch.save(d, os.path.join(IO, "dtypes.pth"))
    expected = {}
    for k, v in d.items():
        t = v.detach()
        if t.dtype in (torch.float16, torch.bfloat16):
            vals = t.float().flatten().tolist()
        elif t.dtype == torch.int64:
            vals = [str(x) for x in t.flatten().tolist()]
        elif t.dtype == torch.bool:
            vals = [int(x) for x in t.flatten().tolist()]
        else:
            vals = t.double().flatten().tolist()
        expected[k] = {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "values": vals}
    with open(os.path.join(IO, "dtypes.json"), "w") as f:
        json.dump(expected, f, indent=1)
    # same archive re-zipped with deflate and an archive prefix other than the file stem
    with zipfile.ZipFile(os.path.join(IO, "dtypes.pth")) as src, \
            zipfile.ZipFile(os.path.join(IO, "dtypes_deflate.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo("renamed_prefix/" + info.filename.split("/", 1)[1], date_time=(1980, 1, 1, 0, 0, 0))
            dst.writestr(zi, src.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)

    # wrapped checkpoint: {"model": module.-prefixed HF-style keys, "bert_config": object, "epoch": ...}
    inner = collections.OrderedDict()
    inner["module.bert.embeddings.word_embeddings.weight"] = torch.randn(5, 4, generator=gen)
    inner["module.bert.embeddings.position_ids"] = torch.arange(6).unsqueeze(0)
    inner["module.classifier.weight"] = torch.randn(2, 4, generator=gen)
    inner._metadata = collections.OrderedDict([("", {"version": 1})])
    register_fake_transformers()
    wrapped = {"model": inner, "bert_config": BertConfig(vocab_size=5, hidden_size=4, num_hidden_layers=1),
               "epoch": 3, "lr": 1e-4, "name": "tiny", "flag": True, "none": None, "pair": (1, 2),
               "list": [1, 2.5], "big": 2 ** 70}
    torch.save(wrapped, os.path.join(IO, "wrapped.pth"))

    # what torch.load sees in the real BarcodeBERT prototype checkpoint
    real = torch.load(os.path.join(SHARED, "weights", "barcodebert_proto_model_0.pth"), map_location="cpu")
    info = {"count": len(real), "keys": list(real.keys()), "tensors": {}}
    for k, v in real.items():
        fl = v.detach().double().flatten()
        info["tensors"][k] = {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""),
                              "first": fl[:5].tolist(), "sum": fl.sum().item(),
                              "abs_sum": fl.abs().sum().item()}
    info["tied"] = [["decoder.weight", "embedding.tok_embed.weight",
                     real["decoder.weight"].storage().data_ptr() ==
                     real["embedding.tok_embed.weight"].storage().data_ptr()]]
    with open(os.path.join(IO, "barcodebert_proto_reference.json"), "w") as f:
        json.dump(info, f, indent=1)


def main():
    os.makedirs(MODELS, exist_ok=True)
    sd32, ref, train, meta = build_models()
    meta_json = json.dumps(meta)
    save_st(os.path.join(MODELS, "clibd_tiny.safetensors"), sd32, {"config": meta_json})
    bundle = {"model": sd32}
    bundle.update(native_dicts(sd32))  # shares storages with "model": stored once
    torch.save(bundle, os.path.join(MODELS, "clibd_tiny.pth"))
    save_st(os.path.join(MODELS, "reference.safetensors"), ref, {"config": meta_json})
    save_st(os.path.join(MODELS, "train_reference.safetensors"), train, {"config": meta_json})
    io_fixtures()
    for d in (MODELS, IO):
        for f in sorted(os.listdir(d)):
            print(f"{os.path.getsize(os.path.join(d, f)):>9}  {os.path.join(d, f)}")


if __name__ == "__main__":
    sys.exit(main())
