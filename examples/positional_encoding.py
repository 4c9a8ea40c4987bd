"""Midterm problem set 3: sinusoidal positional encoding, shown numerically.

p_t (d dimensions, d even): p_t[2k] = sin(w_k t), p_t[2k+1] = cos(w_k t), w_k = 1/10000^(2k/d).

1. p_t · p_τ = Σ_k [sin(w_k t) sin(w_k τ) + cos(w_k t) cos(w_k τ)] = Σ_k cos(w_k (t - τ)):
   it depends on the offset t - τ only, not on where in the sequence the pair sits.
2. p_{t+k} = R(k) p_t for a fixed block-diagonal rotation R(k) (angle w_j k in block j), the
   same for every t: a shift in position is a linear map, which attention can learn.
3. With y_t = x_t + p_t, the attention score splits in four:
       y_t · y_τ = x_t · x_τ + x_t · p_τ + p_t · x_τ + p_t · p_τ
   content-content, two content-position cross terms, and a position-position term that
   falls (oscillating) as |t - τ| grows: nearby tokens get a bonus.

    python examples/positional_encoding.py --out runs/positional_encoding
"""
import argparse
import pathlib

import numpy as np


def positional_encoding(length, d):
    """(length, d) matrix whose row t is p_t."""
    if d % 2:
        raise ValueError(f"positional_encoding: d must be even, got {d}")
    w = 1.0 / 10000 ** (np.arange(0, d, 2) / d)
    angles = np.arange(length)[:, None] * w[None, :]
    pe = np.empty((length, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angles), np.cos(angles)
    return pe


def frequencies(d):
    return 1.0 / 10000 ** (np.arange(0, d, 2) / d)


def dot_by_offset(offset, d):
    """Σ_k cos(w_k · offset): the closed form of p_t · p_{t+offset}."""
    return np.cos(frequencies(d) * offset).sum()


def rotation(k, d):
    """R(k) with p_{t+k} = R(k) p_t: block j rotates (sin, cos) of frequency w_j by angle w_j k."""
    r = np.zeros((d, d))
    for j, w in enumerate(frequencies(d)):
        c, s = np.cos(w * k), np.sin(w * k)
        # sin(w(t+k)) = sin(wt)cos(wk) + cos(wt)sin(wk);  cos(w(t+k)) = cos(wt)cos(wk) - sin(wt)sin(wk)
        r[2 * j:2 * j + 2, 2 * j:2 * j + 2] = [[c, s], [-s, c]]
    return r


def score_terms(x, pe):
    """The four (length, length) terms of Y Yᵀ for Y = X + P."""
    return {"x·x": x @ x.T, "x·p": x @ pe.T, "p·x": pe @ x.T, "p·p": pe @ pe.T}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/positional_encoding")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pe = positional_encoding(args.length, args.d)
    gram = pe @ pe.T

    offsets = np.subtract.outer(np.arange(args.length), np.arange(args.length))
    closed = np.vectorize(lambda o: dot_by_offset(o, args.d))(offsets)
    print(f"1. max |p_t·p_τ - Σ_k cos(w_k(t-τ))| = {np.abs(gram - closed).max():.2e}")
    spread = max(np.ptp(np.diagonal(gram, k)) for k in range(-args.length + 1, args.length))
    print(f"   largest spread of p_t·p_τ along any diagonal t - τ = const: {spread:.2e} (depends on t - τ only)")

    worst = max(np.abs(pe[k:] - pe[:-k] @ rotation(k, args.d).T).max() for k in (1, 5, 17))
    print(f"2. max |p_(t+k) - R(k) p_t| over t and k in (1, 5, 17): {worst:.2e}; "
          f"R(k) orthogonal: {np.allclose(rotation(5, args.d) @ rotation(5, args.d).T, np.eye(args.d))}")

    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.length, args.d)) * np.sqrt(0.5)  # ‖x_t‖² ≈ d/2 = ‖p_t‖²
    terms = score_terms(x, pe)
    y = x + pe
    print(f"3. max |y_t·y_τ - (x·x + x·p + p·x + p·p)| = {np.abs(y @ y.T - sum(terms.values())).max():.2e}")
    distances = np.arange(0, args.length)
    mean_by_distance = {name: [np.mean(np.abs(np.diagonal(term, k)) if name != "p·p" else np.diagonal(term, k))
                               for k in distances] for name, term in terms.items()}
    shown = [k for k in (0, 1, 10, 50) if k < args.length]
    print(f"   mean score term by distance |t-τ| = {', '.join(map(str, shown))}:")
    for name, values in mean_by_distance.items():
        label = "p·p" if name == "p·p" else f"|{name}|"
        print(f"   {label:6s} " + "  ".join(f"{values[k]:7.2f}" for k in shown))
    print("   p·p starts at d/2 and falls as tokens move apart, so position adds a bonus to nearby pairs;")
    print("   the content terms (apart from x_t·x_t itself) do not depend on distance.")

    _figures(out, gram, distances, mean_by_distance, args.d)
    print(f"\nfigures in {out}/")


def _figures(out, gram, distances, mean_by_distance, d):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    image = ax.imshow(gram, cmap="RdBu_r")
    ax.set(xlabel="τ", ylabel="t", title=f"p_t · p_τ (d = {d}): constant along diagonals")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(out / "pe_dot_heatmap.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, values in mean_by_distance.items():
        ax.plot(distances, values, label=name if name == "p·p" else f"mean |{name}|")
    ax.set(xlabel="distance |t - τ|", ylabel="score term", title="Attention score y_t·y_τ split into its four terms")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "score_terms_vs_distance.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
