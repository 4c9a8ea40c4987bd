"""The grammar corrector of examples/gec/ in PyTorch: the same layers under the same names
(so that minigrad's state_dict loads into it), the same teacher-forced copy loss. It exists
to be measured against: benchmarks/models.py times its training step beside minigrad's, and
tests/test_reference_scripts.py checks that the two give the same loss and gradients.

Written for the default model (general attention, copy mechanism, no self-attention, no
character n-grams, edit weight 1).

    python examples/reference/gec_torch.py      # one training step on a made-up batch
"""
import pathlib
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from gec.batches import PAD, UNK, made_up_batch  # noqa: E402


class Attention(nn.Module):
    """'general' scores qᵀ W k, masked softmax over the source, context = Σ weights · keys."""

    def __init__(self, query_size, key_size):
        super().__init__()
        self.project_query = nn.Linear(query_size, key_size, bias=False)

    def forward(self, query, keys, mask):
        scores = self.project_query(query) @ keys.transpose(1, 2)  # (B, 1, S)
        scores = torch.where(mask[:, None, :], scores, torch.tensor(-1e9, dtype=scores.dtype))
        weights = torch.softmax(scores, dim=-1)
        return weights @ keys, weights


class Corrector(nn.Module):
    def __init__(self, vocab_size, embed_size=128, hidden_size=256, dropout=0.2):
        super().__init__()
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.encoder = nn.LSTM(embed_size, hidden_size // 2, batch_first=True, bidirectional=True)
        self.bridge_h = nn.Linear(hidden_size, hidden_size)
        self.bridge_c = nn.Linear(hidden_size, hidden_size)
        self.decoder = nn.LSTMCell(embed_size + hidden_size, hidden_size)
        self.attention = Attention(hidden_size, hidden_size)
        self.combine = nn.Linear(2 * hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, vocab_size)
        self.gate = nn.Linear(2 * hidden_size + embed_size, 1)

    def encode(self, src, src_len):
        packed = nn.utils.rnn.pack_padded_sequence(self.dropout(self.embedding(src)), src_len, batch_first=True,
                                                   enforce_sorted=False)
        states, (h, c) = self.encoder(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=src.shape[1])
        mask = torch.arange(src.shape[1])[None, :] < src_len[:, None]
        h0 = torch.tanh(self.bridge_h(torch.cat([h[0], h[1]], dim=1)))
        c0 = self.bridge_c(torch.cat([c[0], c[1]], dim=1))
        return states, mask, (h0, c0)

    def step(self, e, state, feed, states, mask):
        h, c = self.decoder(torch.cat([e, feed], dim=1), state)
        context, weights = self.attention(h.unsqueeze(1), states, mask)
        context = context.squeeze(1)
        attentional = torch.tanh(self.combine(torch.cat([h, context], dim=1)))
        gate = torch.sigmoid(self.gate(torch.cat([attentional, context, e], dim=1)))
        return weights.squeeze(1), gate, (h, c), attentional


def batch_loss(model, batch):
    """Mean -log P(target word) over the target words, P = g·softmax(scores)[target] +
    (1-g)·Σ attention over the source positions holding the target (examples/gec/model.py)."""
    src, tgt_ext, src_ext = batch["src"], batch["tgt_ext"], batch["src_ext"]
    states, mask, state = model.encode(src, batch["src_len"])
    feed = states.new_zeros((states.shape[0], states.shape[2]))
    decoder_in = batch["decoder_in"]
    all_attentional, all_weights, all_gates = [], [], []
    embedded = model.embedding(decoder_in)  # every step's previous word at once, as ours
    for t in range(decoder_in.shape[1]):
        weights, gate, state, feed = model.step(embedded[:, t], state, feed, states, mask)
        all_attentional.append(feed)
        all_weights.append(weights)
        all_gates.append(gate)
    scores = model.out(model.dropout(torch.stack(all_attentional, 1)))  # every step's at once, as ours
    weights, gates = torch.stack(all_weights, 1), torch.stack(all_gates, 1)
    real = tgt_ext != PAD
    in_vocab = tgt_ext < model.vocab_size
    vocab_ids = torch.where(in_vocab, tgt_ext, torch.full_like(tgt_ext, UNK))
    p_vocab = torch.softmax(scores, dim=2).gather(2, vocab_ids[:, :, None]).squeeze(2)
    matches = (src_ext[:, None, :] == tgt_ext[:, :, None]) & real[:, :, None] & (src_ext[:, None, :] != PAD)
    p_copy = (weights * matches.to(scores.dtype)).sum(dim=2)
    g = gates.squeeze(2)
    p = g * p_vocab * in_vocab.to(scores.dtype) + (1 - g) * p_copy
    nll = -torch.log(p + 1e-9) * real.to(scores.dtype)
    return nll.sum() / max(int(real.sum()), 1)


def to_torch(batch):
    keys = ("src", "src_len", "src_ext", "tgt_ext", "decoder_in")
    return {k: torch.as_tensor(np.asarray(batch[k], dtype=np.int64)) for k in keys}


if __name__ == "__main__":
    batch, vocab = made_up_batch()
    torch.manual_seed(0)
    model = Corrector(len(vocab))
    loss = batch_loss(model, to_torch(batch))
    loss.backward()
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters, loss {loss.item():.4f} "
          f"(a fresh model: about log {len(vocab)} = {np.log(len(vocab)):.2f})")
