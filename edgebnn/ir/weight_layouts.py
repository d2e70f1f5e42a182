"""Word layouts of the weights the optimised kernels (runtime_c/ebnn_opt*.c) read: grouped
rows (w1, w1^w2, w1^w3) and transposed blocks (vertical sums over the set input bits).

They are exact rewrites of the packed weights the portable kernels read: the reference and
the IR are unchanged, only the emitted constants and calls differ.
"""
from __future__ import annotations

import numpy as np

MAX_WORDS = 96  # EBNN_OPT_MAX_WORDS in ebnn_opt.h: longer rows use the portable kernels
MIN_WORDS = 9  # shorter rows: the portable kernel is cheaper (the carry-save tail costs ~40 instructions)


def fits(words: int) -> bool:
    return MIN_WORDS <= int(words) and 3 * ((int(words) + 2) // 3) <= MAX_WORDS


def group_rows(rows: np.ndarray) -> np.ndarray:
    """uint32 rows (n, words) -> (n, 3 * groups): w1, w1^w2, w1^w3 per group of 3 words."""
    rows = np.asarray(rows, np.uint32).reshape(len(rows), -1)
    n, words = rows.shape
    groups = (words + 2) // 3
    padded = np.zeros((n, 3 * groups), np.uint32)
    padded[:, :words] = rows
    g = padded.reshape(n, groups, 3)
    out = np.empty_like(g)
    out[..., 0] = g[..., 0]
    out[..., 1] = g[..., 0] ^ g[..., 1]
    out[..., 2] = g[..., 0] ^ g[..., 2]
    return out.reshape(n, -1)


T_MAX_BITS = 1024  # EBNN_OPT_T_MAX_BITS in ebnn_opt.h
T_MIN_K = 128  # shorter rows: the per-block list and conversion overhead dominates
T_DENSE_BITS = 32768  # EBNN_OPT_T_DENSE_BITS: dense rows keep their list in the arena


def fits_t(k: int, words: int) -> bool:
    return T_MIN_K <= int(k) and 32 * int(words) <= T_DENSE_BITS


def t_list_bytes(words: int) -> int:
    """Arena bytes of the transposed dense kernel's list (EBNN_OPT_T_LIST in ebnn_opt.h): the
    fewer of the set and clear bits of the packed row (at most 16 a word), room for two more
    words' entries, padding to chunks of 16; 32-bit entries (loaded four at a time)."""
    return 4 * (16 * int(words) + 80)


def _lane_blocks(bits: np.ndarray) -> np.ndarray:
    """0/1 rows (n, k) -> (ceil(n / 32), k) uint32: word i of block b holds bit i of rows
    32 b .. 32 b + 31 (rows past n are 0)."""
    n, k = bits.shape
    nb = (n + 31) // 32
    padded = np.zeros((nb * 32, k), np.uint64)
    padded[:n] = bits
    words = (padded.reshape(nb, 32, k) << np.arange(32, dtype=np.uint64)[None, :, None]).sum(axis=1)
    return words.astype(np.uint32)


def _bits(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, np.uint32).reshape(len(rows), -1)
    return ((rows[:, :, None] >> np.arange(32, dtype=np.uint32)) & 1).reshape(len(rows), -1).astype(np.uint64)


def transpose_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint32 rows (n, words) -> (blocks of 32 * words + 1 words: word i holds the bits of the
    block's 32 outputs at bit i of the packed row (padding bits are 0), then a 0 word;
    per-output 1-bit counts)."""
    bits = _bits(rows)
    words = _lane_blocks(bits)
    out = np.zeros((len(words), bits.shape[1] + 1), np.uint32)
    out[:, :-1] = words
    return out.reshape(-1), bits.sum(axis=1).astype(np.int32)


CONV_T_RING = 16  # EBNN_OPT_CONV_T_RING in ebnn_opt.h
TW_BIAS = 4096  # EBNN_OPT_TW_BIAS: > 2 T and 4 S + TW_BIAS < 2^16 for windows <= T_MAX_BITS


def pair_counts(tw: np.ndarray) -> np.ndarray:
    """Per-output 1-bit counts -> uint32 words, one per two adjacent outputs: TW_BIAS - 2 T of
    output 2 q (low half) and 2 q + 1 (high half)."""
    v = np.full(2 * ((len(tw) + 1) // 2), TW_BIAS, np.int64)
    v[:len(tw)] -= 2 * np.asarray(tw, np.int64)
    return (v[0::2] | (v[1::2] << 16)).astype(np.uint32)


def conv_t_list(graph, op) -> int:
    """Entries of the list the transposed convolution (ebnn_bconv_t) keeps for a bconv op, 0 when it
    does not take it: binary weights, unit horizontal stride and dilation, a window of at
    most T_MAX_BITS packed bits.  The list holds the window (at most in_c entries per tap) and
    16 entries of padding, plus four columns of spare room, so the live columns move to the front at most every fourth
    column (about every tenth for half-set inputs)."""
    a = op.attrs
    if a.get("format", "bits") != "bits" or "mask" in a:
        return 0
    cin = graph.tensors[op.inputs[0]].channels
    (kh, kw), wc = a["kernel"], (cin + 31) // 32
    if a["stride"][1] != 1 or a["dilation"][1] != 1 or kh * kw * cin < T_MIN_K or kh * kw * 32 * wc > T_MAX_BITS \
            or kw >= CONV_T_RING or kh > 32:
        return 0
    window, column = kh * kw * cin, kh * cin  # a tap lists at most in_c entries (spare bits are 0)
    return window + 16 + 4 * column


def transpose_conv(rows: np.ndarray, kh: int, kw: int, wc: int,
                   paired: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conv rows (n, kh * kw * wc words, taps row-major) -> (blocks of the kw * kh taps
    column-major, each 32 * wc bits then a 0 word, lanes paired (``_pair_lanes``) or in channel
    order; per-output 1-bit counts; per tap (column-major) and output 1-bit counts, uint16)."""
    n = len(rows)
    bits = _bits(rows).reshape(n, kh, kw, 32 * wc).transpose(0, 2, 1, 3)
    per_tap = bits.sum(axis=3).reshape(n, kw * kh)
    cols = np.zeros((n, kw, kh, 32 * wc + 1), np.uint64)
    cols[..., :-1] = bits
    words = _lane_blocks(_pair_lanes(cols.reshape(n, -1)) if paired else cols.reshape(n, -1))
    return words.reshape(-1), per_tap.sum(axis=1).astype(np.int32), per_tap.T.astype(np.uint16).copy()


def _pair_lanes(rows: np.ndarray) -> np.ndarray:
    """Rows reordered so that lane q < 16 of each block of 32 holds output 2 q and lane q + 16
    output 2 q + 1: the vertical sums' 16-bit halves (lanes q, q + 16) are then two adjacent
    outputs, written by one double store."""
    n = len(rows)
    nb = (n + 31) // 32
    padded = np.zeros((nb * 32,) + rows.shape[1:], rows.dtype)
    padded[:n] = rows
    return padded.reshape(nb, 16, 2, -1).transpose(0, 2, 1, 3).reshape(nb * 32, -1)


POOL_PLANES = 12  # EBNN_POOL_PLANES: bit planes of the counts S + f (< 2^12 for windows <= T_MAX_BITS)


def pool_scratch_bytes(graph, op) -> int:
    """Arena bytes of ebnn_bconv_pool_t (0 when the transposed kernels do not apply): the
    POOL_PLANES planes (two blocks' when out_c > 32) and the band's ring
    (EBNN_POOL_SCRATCH_WORDS), then a list of 16-bit entries: the window, 16 of padding and one column of spare room (the live columns move to
    the front about every (spare + column) / column-listed columns: every third for half-set
    inputs)."""
    if conv_t_list(graph, op) == 0:
        return 0
    cin = graph.tensors[op.inputs[0]].channels
    kh, kw = op.attrs["kernel"]
    ring = next(r for r in (2, 4, 8, 16) if r >= kw)  # EBNN_POOL_RING
    planes = POOL_PLANES * (2 if graph.tensors[op.outputs[0]].channels > 32 else 1)  # EBNN_POOL_PLANE_WORDS
    entries = kh * kw * cin + 16 + kh * cin
    return 4 * (planes + 3 * ring) + 4 * ((entries + 1) // 2)


def pool_tables(tw: np.ndarray, ttap: np.ndarray, thr: np.ndarray, neg: np.ndarray, k: int, kh: int,
                configs: list[tuple[int, int]]) -> tuple[np.ndarray, int, np.ndarray]:
    """(f, m, xw) of ebnn_bconv_pool_t from the per-output 1-bit counts tw, the per-tap ones
    ttap (taps column-major, n), the per-channel thresholds ``bit = (d < thr) ^ neg``, the
    fan-in k and the windows' missing taps (ONNX zero padding: per config, the masks of tap
    rows and tap columns outside the image).  d = base + 4 S - 2 T + 2 (ones of the missing
    taps), so with base + k = 4 beta + rho,  d >= thr  <=>  S + f_rho >= m - beta  for
    f_rho = m - ceil((2 T + thr + k - 2 missing - rho) / 4) (m > k / 2: the right side is
    positive, so spare lanes, 0, decide 0): POOL_PLANES bit planes per config,
    block and residue (lane q of a plane word: channel 32 b + q; spare lanes 0)."""
    tw, ttap, thr = (np.asarray(v, np.int64) for v in (tw, ttap, thr))
    taps = np.arange(len(ttap))
    need = []
    for rows, cols in configs:
        gone = ((rows >> (taps % kh)) & 1) | ((cols >> (taps // kh)) & 1)
        g = 2 * tw + thr + k - 2 * ttap[gone.astype(bool)].sum(axis=0)  # >= 0: thr >= -k
        need.append(np.stack([-((rho - g) // 4) for rho in range(4)]))  # ceil((g - rho) / 4)
    need = np.stack(need)  # (configs, 4, n)
    m = int(max(need.max(), k // 2 + 1))  # beta <= k / 2, so m - beta >= 1: spare lanes (0) stay 0
    f = m - need
    assert f.min() >= 0 and f.max() < (1 << POOL_PLANES) and m < (1 << POOL_PLANES)
    n = f.shape[2]
    nb = (n + 31) // 32
    lanes = np.zeros(f.shape[:2] + (nb * 32,), np.int64)
    lanes[..., :n] = f
    bits = (lanes.reshape(f.shape[:2] + (nb, 32, 1)) >> np.arange(POOL_PLANES)) & 1  # (c, 4, nb, 32, planes)
    words = (bits.astype(np.uint64) << np.arange(32, dtype=np.uint64)[:, None]).sum(axis=3)  # (c, 4, nb, planes)
    keep = np.zeros(nb * 32, bool)
    keep[:n] = ~np.asarray(neg, bool)
    xw = np.packbits(keep.reshape(-1, 32), axis=1, bitorder="little").view("<u4").reshape(-1)
    return words.transpose(0, 2, 1, 3).astype(np.uint32).reshape(-1), m, xw.astype(np.uint32)


SHORT_WORDS = 4  # EBNN_OPT_SHORT_WORDS: rows the short dense kernels take


def short_thresholds(rows: np.ndarray, real: np.ndarray, k: int, thr, neg) -> tuple[np.ndarray, np.ndarray]:
    """Rows (n, words) and the threshold ``bit = (d < thr) ^ neg`` on ``d = k - 2 m`` -> (rows,
    bounds c = B << 24 uint32 (n,)) for ebnn_bdense_thr_short: bit = ``m' >= B``, where m' counts the mismatches against the row, whose real bits (the mask
    ``real``) are negated for negative-slope outputs (m' = k - m)."""
    rows = np.asarray(rows, np.uint32).copy()
    n = rows.shape[0]
    thr = np.resize(np.asarray(thr, np.int64), n)
    neg = np.resize(np.asarray(neg, bool), n)
    first = np.clip((k - thr) // 2 + 1, 0, k + 1)  # d < thr  <=>  m >= first
    bound = np.where(neg, np.clip(k - first + 1, 0, k + 1), first)  # neg: m < first <=> m' >= k - first + 1
    rows[neg] ^= np.asarray(real, np.uint32).reshape(1, -1)
    return rows, (bound << 24).astype(np.uint32)


def t_bounds(rows: np.ndarray, real: np.ndarray, k: int, thr, neg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (n, words) and the threshold ``bit = (d < thr) ^ neg`` -> (transposed blocks, their
    one-counts, bounds pq int32 (2 n,)) for ebnn_bdense_bnd_t: negative-slope rows have their
    real bits negated (d -> -d, so bit = d' < 1 - thr) and pq = thr + 2 T - k, then thr - 2 T - k."""
    rows = np.asarray(rows, np.uint32).copy()
    n = rows.shape[0]
    thr = np.resize(np.asarray(thr, np.int64), n)
    neg = np.resize(np.asarray(neg, bool), n)
    rows[neg] ^= np.asarray(real, np.uint32).reshape(1, -1)
    thr = np.where(neg, 1 - thr, thr)
    wt, tw = transpose_rows(rows)
    tw = np.asarray(tw, np.int64)
    pq = np.concatenate([thr + 2 * tw - k, thr - 2 * tw - k])
    return wt, tw, pq.astype(np.int32)
