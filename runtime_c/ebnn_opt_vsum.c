/* Vertical (bit-sliced) sums shared by the transposed kernels (ebnn_opt_dense.c,
 * ebnn_opt_conv.c): the weight words of 32 outputs at each listed input are added
 * lane-wise with Harley-Seal carry-save adders and turned into 32 counts once. */
#include "ebnn_opt.h"

#if EBNN_OPT_ASM
/* The set bits of in[0..words) ^ fm listed a nibble at a time (Thumb-2): the table gives a
 * nibble's bit positions (4 halfwords) and twice their count; two word stores (unaligned, as
 * GCC emits on ARMv7-M) append them plus base + 32 * word, 3 entries past the end at most
 * (the callers keep 16 spare): 8.5 instructions a nibble against 6 a set bit. */
static const uint32_t ebnn_opt_nib_tab[32][4] = { /* low nibbles of bytes, then high ones */
    {0x00000u, 0x00000u, 0u, 0u}, {0x00000u, 0x00000u, 2u, 0u}, {0x00001u, 0x00000u, 2u, 0u}, {0x10000u, 0x00000u, 4u, 0u},
    {0x00002u, 0x00000u, 2u, 0u}, {0x20000u, 0x00000u, 4u, 0u}, {0x20001u, 0x00000u, 4u, 0u}, {0x10000u, 0x00002u, 6u, 0u},
    {0x00003u, 0x00000u, 2u, 0u}, {0x30000u, 0x00000u, 4u, 0u}, {0x30001u, 0x00000u, 4u, 0u}, {0x10000u, 0x00003u, 6u, 0u},
    {0x30002u, 0x00000u, 4u, 0u}, {0x20000u, 0x00003u, 6u, 0u}, {0x20001u, 0x00003u, 6u, 0u}, {0x10000u, 0x30002u, 8u, 0u},
    {0x40004u, 0x40004u, 0u, 0u}, {0x40004u, 0x40004u, 2u, 0u}, {0x40005u, 0x40004u, 2u, 0u}, {0x50004u, 0x40004u, 4u, 0u},
    {0x40006u, 0x40004u, 2u, 0u}, {0x60004u, 0x40004u, 4u, 0u}, {0x60005u, 0x40004u, 4u, 0u}, {0x50004u, 0x40006u, 6u, 0u},
    {0x40007u, 0x40004u, 2u, 0u}, {0x70004u, 0x40004u, 4u, 0u}, {0x70005u, 0x40004u, 4u, 0u}, {0x50004u, 0x40007u, 6u, 0u},
    {0x70006u, 0x40004u, 4u, 0u}, {0x60004u, 0x40007u, 6u, 0u}, {0x60005u, 0x40007u, 6u, 0u}, {0x50004u, 0x70006u, 8u, 0u},
};
#define EBNN_OPT_NIB(K, TAB)                                                                                           \
    "ubfx %[p], %[x], #" #K ", #4\n\t"                                                                                \
    "add %[p], %[" TAB "], %[p], lsl #4\n\t"                                                                           \
    "ldm %[p], {%[a], %[b], %[c]}\n\t"                                                                                \
    "add %[a], %[a], %[bb]\n\tadd %[b], %[b], %[bb]\n\t"                                                                \
    "str %[a], [%[lp]]\n\tstr %[b], [%[lp], #4]\n\t"                                                                    \
    "add %[lp], %[lp], %[c]\n\t"
#define EBNN_OPT_BYTE(K) EBNN_OPT_NIB(K, "tab") EBNN_OPT_NIB(K + 4, "tab4") "add %[bb], %[bb], #0x80008\n\t"
uint16_t *ebnn_opt_list_nib(const uint32_t *in, int32_t words, uint32_t fm, uint32_t base, uint16_t *lp)
{
    register uint32_t a __asm__("r4"), b __asm__("r5"), c __asm__("r6"); /* ascending, for LDM */
    uint32_t x, p, bb = base * 0x10001u; /* base in both halves: one add offsets two entries */
    __asm__("1:\n\t"
            "ldr %[x], [%[in]], #4\n\t"
            "eor %[x], %[x], %[fm]\n\t" EBNN_OPT_BYTE(0) EBNN_OPT_BYTE(8) EBNN_OPT_BYTE(16) EBNN_OPT_BYTE(24)
            "subs %[n], %[n], #1\n\tbne 1b\n\t"
            : [in] "+&r"(in), [n] "+&r"(words), [lp] "+&r"(lp), [bb] "+&r"(bb), [x] "=&r"(x), [p] "=&r"(p), [a] "=&r"(a),
              [b] "=&r"(b), [c] "=&r"(c)
            : [fm] "r"(fm), [tab] "r"(ebnn_opt_nib_tab), [tab4] "r"(ebnn_opt_nib_tab + 16)
            : "cc", "memory");
    return lp;
}
#undef EBNN_OPT_NIB
#undef EBNN_OPT_BYTE

/* The same for 32-bit lists (the transposed dense kernel's): a row holds a nibble's bit
 * positions as 4 words and 4 x their count, padded to 8 words; one LDM loads it (the count
 * into the row pointer's own register) and one STM appends the 4 words: 9 instructions a
 * nibble. */
static const uint32_t ebnn_opt_nib32_tab[32][8] = { /* low nibbles of bytes, then high ones */
    {0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u}, {0u, 0u, 0u, 0u, 4u, 0u, 0u, 0u},
    {1u, 0u, 0u, 0u, 4u, 0u, 0u, 0u}, {0u, 1u, 0u, 0u, 8u, 0u, 0u, 0u},
    {2u, 0u, 0u, 0u, 4u, 0u, 0u, 0u}, {0u, 2u, 0u, 0u, 8u, 0u, 0u, 0u},
    {1u, 2u, 0u, 0u, 8u, 0u, 0u, 0u}, {0u, 1u, 2u, 0u, 12u, 0u, 0u, 0u},
    {3u, 0u, 0u, 0u, 4u, 0u, 0u, 0u}, {0u, 3u, 0u, 0u, 8u, 0u, 0u, 0u},
    {1u, 3u, 0u, 0u, 8u, 0u, 0u, 0u}, {0u, 1u, 3u, 0u, 12u, 0u, 0u, 0u},
    {2u, 3u, 0u, 0u, 8u, 0u, 0u, 0u}, {0u, 2u, 3u, 0u, 12u, 0u, 0u, 0u},
    {1u, 2u, 3u, 0u, 12u, 0u, 0u, 0u}, {0u, 1u, 2u, 3u, 16u, 0u, 0u, 0u},
    {0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u}, {4u, 0u, 0u, 0u, 4u, 0u, 0u, 0u},
    {5u, 0u, 0u, 0u, 4u, 0u, 0u, 0u}, {4u, 5u, 0u, 0u, 8u, 0u, 0u, 0u},
    {6u, 0u, 0u, 0u, 4u, 0u, 0u, 0u}, {4u, 6u, 0u, 0u, 8u, 0u, 0u, 0u},
    {5u, 6u, 0u, 0u, 8u, 0u, 0u, 0u}, {4u, 5u, 6u, 0u, 12u, 0u, 0u, 0u},
    {7u, 0u, 0u, 0u, 4u, 0u, 0u, 0u}, {4u, 7u, 0u, 0u, 8u, 0u, 0u, 0u},
    {5u, 7u, 0u, 0u, 8u, 0u, 0u, 0u}, {4u, 5u, 7u, 0u, 12u, 0u, 0u, 0u},
    {6u, 7u, 0u, 0u, 8u, 0u, 0u, 0u}, {4u, 6u, 7u, 0u, 12u, 0u, 0u, 0u},
    {5u, 6u, 7u, 0u, 12u, 0u, 0u, 0u}, {4u, 5u, 6u, 7u, 16u, 0u, 0u, 0u},
};
#define EBNN_OPT_NIB32(K, TAB)                                                                                         \
    "ubfx %[p], %[x], #" #K ", #4\n\t"                                                                                \
    "add %[p], %[" TAB "], %[p], lsl #5\n\t"                                                                           \
    "ldm %[p], {%[a], %[b], %[c], %[d], %[p]}\n\t"                                                                    \
    "add %[a], %[a], %[bb]\n\tadd %[b], %[b], %[bb]\n\tadd %[c], %[c], %[bb]\n\tadd %[d], %[d], %[bb]\n\t"            \
    "stm %[lp], {%[a], %[b], %[c], %[d]}\n\t"                                                                         \
    "add %[lp], %[lp], %[p]\n\t"
#define EBNN_OPT_BYTE32(K) EBNN_OPT_NIB32(K, "tab") EBNN_OPT_NIB32(K + 4, "tab4") "add %[bb], %[bb], #8\n\t"
uint32_t *ebnn_opt_list_nib32(const uint32_t *in, int32_t words, uint32_t fm, uint32_t base, uint32_t *lp,
                              const uint32_t *stop)
{
    register uint32_t a __asm__("r2"), b __asm__("r3"), c __asm__("r4"), d __asm__("r5"), p __asm__("r6");
    uint32_t x, bb = base; /* ascending registers for LDM / STM, the row pointer last */
#define EBNN_OPT_WORD32                                                                                                \
    "ldr %[x], [%[in]], #4\n\t"                                                                                       \
    "eor %[x], %[x], %[fm]\n\t" EBNN_OPT_BYTE32(0) EBNN_OPT_BYTE32(8) EBNN_OPT_BYTE32(16) EBNN_OPT_BYTE32(24)
    __asm__("tst %[n], #1\n\t" /* two words a step; an odd count enters at the second */
            "itt ne\n\t"
            "addne %[n], %[n], #1\n\t"
            "bne 4f\n\t"
            "1:\n\t"
            "cmp %[lp], %[stop]\n\t" /* no room for two words' 64 entries and 3 past them */
            "bhi 2f\n\t" EBNN_OPT_WORD32 "4:\n\t" EBNN_OPT_WORD32
            "subs %[n], %[n], #2\n\tbne 1b\n\t"
            "b 3f\n\t"
            "2:\n\tmovs %[lp], #0\n\t"
            "3:\n\t"
            : [in] "+&r"(in), [n] "+&r"(words), [lp] "+&r"(lp), [bb] "+&r"(bb), [x] "=&r"(x), [p] "=&r"(p), [a] "=&r"(a),
              [b] "=&r"(b), [c] "=&r"(c), [d] "=&r"(d)
            : [fm] "r"(fm), [tab] "r"(ebnn_opt_nib32_tab), [tab4] "r"(ebnn_opt_nib32_tab + 16), [stop] "r"(stop)
            : "cc", "memory");
#undef EBNN_OPT_WORD32
    return lp;
}
#undef EBNN_OPT_NIB32
#undef EBNN_OPT_BYTE32

#endif

/* Lists the set bits of in ^ fm (fm 0 or ~0) from lp; returns the end, or null when the list
 * would pass stop + 67 (ebnn_opt_list_nib32's room).  dense: by nibbles (Thumb-2). */
static uint32_t *ebnn_opt_list_pass(const uint32_t *in, int32_t words, uint32_t fm, uint32_t *lp, const uint32_t *stop,
                                    int32_t dense)
{
    int32_t i;
#if EBNN_OPT_ASM
    if (dense) {
        return ebnn_opt_list_nib32(in, words, fm, 0u, lp, stop);
    }
#else
    (void)dense;
#endif
    for (i = 0; i < words && lp <= stop; i++) {
        lp = ebnn_opt_list_word32(in[i] ^ fm, (uint32_t)(32 * i), lp);
    }
    return i == words ? lp : (uint32_t *)0;
}

int32_t ebnn_opt_list(const uint32_t *in, int32_t words, uint32_t *list, int32_t *a1, int32_t *flip)
{
    /* Which bits to list (the fewer: at most 16 a word) only sets the cost, so every fourth
     * word of a long row is counted.  The list holds EBNN_OPT_T_LIST entries: when the guess
     * runs past them, the other bits are listed instead (then at most 16 a word less 13); the
     * listed count gives the exact number of set bits. */
    const int32_t step = words >= 8 ? 4 : 1, sampled = (words + step - 1) / step;
    const uint32_t *stop = list + 16 * words + 13; /* EBNN_OPT_T_LIST - 67: room for two words */
    int32_t i, n, dense, ones = 0;
    uint32_t *end;
    for (i = 0; i < words; i += step) {
        ones += ebnn_opt_popcount(in[i]);
    }
    *flip = 2 * ones > 32 * sampled;
    ones = ones * step; /* about the set bits of the whole row */
    /* about 80 instructions a word by nibbles, 14 plus 6 a listed bit one by one */
    dense = 6 * (*flip ? 32 * words - ones : ones) > 66 * words;
    end = ebnn_opt_list_pass(in, words, *flip ? ~0u : 0u, list, stop, dense);
    if (!end) {
        *flip = !*flip;
        end = ebnn_opt_list_pass(in, words, *flip ? ~0u : 0u, list, stop, dense);
    }
    n = (int32_t)(end - list);
    /* flipped, the padding bits are listed too: their weight words are 0 */
    *a1 = *flip ? 32 * words - n : n;
    while (n & 15) {
        list[n++] = (uint32_t)(32 * words); /* the block's 0 word */
    }
    return n;
}

#define EBNN_CSA(h, l, a, b, c)                                                                                        \
    do {                                                                                                               \
        const uint32_t a_ = (a), b_ = (b), c_ = (c), u_ = a_ ^ b_;                                                     \
        h = (a_ & b_) | (u_ & c_);                                                                                     \
        l = u_ ^ c_;                                                                                                   \
    } while (0)

/* Harley-Seal over 8 words LOAD(o..o + 7) into the planes ones..fours; e gets the eights. */
#define EBNN_HS8(LOAD, o, e)                                                                                           \
    do {                                                                                                               \
        EBNN_CSA(twosA, ones, ones, LOAD(o), LOAD((o) + 1));                                                           \
        EBNN_CSA(twosB, ones, ones, LOAD((o) + 2), LOAD((o) + 3));                                                     \
        EBNN_CSA(foursA, twos, twos, twosA, twosB);                                                                    \
        EBNN_CSA(twosA, ones, ones, LOAD((o) + 4), LOAD((o) + 5));                                                     \
        EBNN_CSA(twosB, ones, ones, LOAD((o) + 6), LOAD((o) + 7));                                                     \
        EBNN_CSA(foursB, twos, twos, twosA, twosB);                                                                    \
        EBNN_CSA(e, fours, fours, foursA, foursB);                                                                     \
    } while (0)

/* Harley-Seal over 16 words LOAD(0..15) into the planes ones..eights; c gets the 16s. */
#define EBNN_HS16(LOAD, c)                                                                                             \
    do {                                                                                                               \
        uint32_t twosA, twosB, foursA, foursB, eightsA, eightsB;                                                       \
        EBNN_HS8(LOAD, 0, eightsA);                                                                                    \
        EBNN_HS8(LOAD, 8, eightsB);                                                                                    \
        EBNN_CSA(c, eights, eights, eightsA, eightsB);                                                                 \
    } while (0)

/* Adds the 16 words x to planes p[0..3] (weights 1..8 relative); returns the carry (16s). */
static uint32_t ebnn_opt_hs_words(const uint32_t *x, uint32_t *p)
{
    uint32_t ones = p[0], twos = p[1], fours = p[2], eights = p[3], c;
#define EBNN_LOAD_X(i) x[i]
    EBNN_HS16(EBNN_LOAD_X, c);
#undef EBNN_LOAD_X
    p[0] = ones;
    p[1] = twos;
    p[2] = fours;
    p[3] = eights;
    return c;
}

/* Bit-sliced counts to 16-bit lanes: planes p[0..7] (weights 1..128) of 32 lanes become
 * s[q] = counts of lanes q (low half) and q + 16 (high half), q < 16, by widening the
 * fields 1 -> 2 -> 4 -> 8 -> 16 bits: each step splits the lanes by one more bit of their
 * index (straight-line, so the fields stay in registers). */
#define EBNN_WIDEN(lo, hi, even, odd, m, k)                                                                            \
    do {                                                                                                               \
        even = ((lo) & (m)) + (((hi) & (m)) << (k));                                                                   \
        odd = (((lo) >> (k)) & (m)) + ((hi) & ~(m));                                                                   \
    } while (0)

/* add: s[q] = (s[q] << 8) + the counts (the planes of weight 256 and up went first). */
static inline void ebnn_opt_lanes16(const uint32_t *p, uint32_t *s, int32_t add)
{
    uint32_t a0e, a0o, a1e, a1o, a2e, a2o, a3e, a3o;
    uint32_t b0l, b1l, b2l, b3l, b0h, b1h, b2h, b3h, c0, c4;
    EBNN_WIDEN(p[0], p[1], a0e, a0o, 0x55555555u, 1);
    EBNN_WIDEN(p[2], p[3], a1e, a1o, 0x55555555u, 1);
    EBNN_WIDEN(p[4], p[5], a2e, a2o, 0x55555555u, 1);
    EBNN_WIDEN(p[6], p[7], a3e, a3o, 0x55555555u, 1);
    EBNN_WIDEN(a0e, a1e, b0l, b2l, 0x33333333u, 2); /* lanes = 0, 2 (mod 4), weights 1..8 */
    EBNN_WIDEN(a0o, a1o, b1l, b3l, 0x33333333u, 2);
    EBNN_WIDEN(a2e, a3e, b0h, b2h, 0x33333333u, 2); /* the same lanes, weights 16..128 */
    EBNN_WIDEN(a2o, a3o, b1h, b3h, 0x33333333u, 2);
#define EBNN_BYTES_TO_LANES(bl, bh, r)                                                                                 \
    do {                                                                                                               \
        EBNN_WIDEN(bl, bh, c0, c4, 0x0F0F0F0Fu, 4); /* lanes r and r + 4 (mod 8) */                                   \
        s[r] = (add ? s[r] << 8 : 0u) + (c0 & 0x00FF00FFu);                                                            \
        s[(r) + 8] = (add ? s[(r) + 8] << 8 : 0u) + ((c0 >> 8) & 0x00FF00FFu);                                         \
        s[(r) + 4] = (add ? s[(r) + 4] << 8 : 0u) + (c4 & 0x00FF00FFu);                                                \
        s[(r) + 12] = (add ? s[(r) + 12] << 8 : 0u) + ((c4 >> 8) & 0x00FF00FFu);                                       \
    } while (0)
    EBNN_BYTES_TO_LANES(b0l, b0h, 0);
    EBNN_BYTES_TO_LANES(b1l, b1h, 1);
    EBNN_BYTES_TO_LANES(b2l, b2h, 2);
    EBNN_BYTES_TO_LANES(b3l, b3h, 3);
#undef EBNN_BYTES_TO_LANES
}

/* Level 2: adds the 16s of m level-1 chunks (buf) into the planes p[4..] (a full buffer by
 * Harley-Seal, then its 256s into p[8..]; a short tail one by one); returns the new top (one
 * past the highest plane that may be set). */
static int32_t ebnn_opt_level2(const uint32_t *buf, int32_t m, uint32_t *p, int32_t top)
{
    int32_t i, l;
    if (m == 16) {
        uint32_t c = ebnn_opt_hs_words(buf, p + 4);
        for (l = 8; c && l < 16; l++) {
            const uint32_t t = p[l] & c;
            p[l] ^= c;
            c = t;
        }
        return l > top ? l : top;
    }
    {
        uint32_t p4 = p[4], p5 = p[5], p6 = p[6], p7 = p[7];
        i = 0;
        if (m >= 8) { /* 8 of them by Harley-Seal into p4..p6; the 128s rippled from p7 */
            uint32_t ones = p4, twos = p5, fours = p6, twosA, twosB, foursA, foursB, c, t;
#define EBNN_LOAD_BUF(j) buf[j]
            EBNN_HS8(EBNN_LOAD_BUF, 0, c);
#undef EBNN_LOAD_BUF
            p4 = ones;
            p5 = twos;
            p6 = fours;
            t = p7 & c;
            p7 ^= c;
            for (l = 8; t && l < 16; l++) {
                c = p[l] & t;
                p[l] ^= t;
                t = c;
            }
            top = l > top ? l : top;
            i = 8;
        }
        for (; i < m; i++) { /* a short tail: each 16s word rippled through p4..p7 */
            uint32_t c = buf[i], t;
            t = p4 & c;
            p4 ^= c;
            c = p5 & t;
            p5 ^= t;
            t = p6 & c;
            p6 ^= c;
            c = p7 & t;
            p7 ^= t;
            for (l = 8; c && l < 16; l++) {
                t = p[l] & c;
                p[l] ^= c;
                c = t;
            }
            top = l > top ? l : top;
        }
        p[4] = p4;
        p[5] = p5;
        p[6] = p6;
        p[7] = p7;
    }
    return top;
}

/* The planes p[0..top) as 16-bit lane counts s (see ebnn_opt_lanes16). */
static void ebnn_opt_counts(const uint32_t *p, int32_t top, uint32_t *s)
{
    if (top > 8) { /* counts of 256 and more: the planes above first, at weight 256 (in s: no
                    * second array of lanes on the stack) */
        ebnn_opt_lanes16(p + 8, s, 0);
        ebnn_opt_lanes16(p, s, 1);
    } else {
        ebnn_opt_lanes16(p, s, 0);
    }
}

/* Vertical sums of w[list[i]] (n a multiple of 16) as 16-bit lanes: s[q] holds the sums of
 * bits q (low half) and q + 16 (high half).  Level 1 (registers): Harley-Seal per 16 listed
 * words; its 16s are buffered and summed by level 2.  GCC's pre-allocation scheduling hoists
 * the 16 loads and spills the planes on Cortex-M (13 registers): without it level 1 runs
 * spill-free.  Defined on 32-bit lists in the arena (the transposed dense and conv kernels),
 * with a level-1 CHUNK in Thumb-2 (entries four at a time by LDM) or in C. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__arm__)
#define EBNN_OPT_NO_SCHED __attribute__((optimize("no-schedule-insns")))
#else
#define EBNN_OPT_NO_SCHED
#endif
#define EBNN_OPT_VSUM(NAME, T, CHUNK)                                                                                  \
    EBNN_OPT_NO_SCHED void NAME(const T *list, int32_t n, const uint32_t *w, uint32_t *s)                              \
    {                                                                                                                  \
        uint32_t ones = 0u, twos = 0u, fours = 0u, eights = 0u;                                                        \
        uint32_t p[16], buf[16];                                                                                       \
        int32_t top = 8, chunks = n >> 4;                                                                              \
        p[4] = p[5] = p[6] = p[7] = p[8] = p[9] = p[10] = p[11] = 0u; /* not a loop: GCC made it a memset call */ \
        p[12] = p[13] = p[14] = p[15] = 0u;                                                                            \
        while (chunks > 0) {                                                                                           \
            const int32_t m = chunks < 16 ? chunks : 16;                                                               \
            int32_t i;                                                                                                 \
            chunks -= m;                                                                                               \
            for (i = 0; i < m; i++) {                                                                                  \
                CHUNK(buf[i]);                                                                                         \
            }                                                                                                          \
            top = ebnn_opt_level2(buf, m, p, top);                                                                     \
        }                                                                                                              \
        p[0] = ones;                                                                                                   \
        p[1] = twos;                                                                                                   \
        p[2] = fours;                                                                                                  \
        p[3] = eights;                                                                                                 \
        ebnn_opt_counts(p, top, s);                                                                                    \
    }
/* The same sums left bit-sliced: p[0..11] (the caller's, weights 1..2^11) start from init
 * (12 planes) and end with the listed words added (the counts stay below 2^12, so no carry
 * reaches a 13th plane); no lanes are formed.
 * n need not be a multiple of 16: the last n % 16 words are added one by one (cheaper than a
 * padded chunk for a few). */
typedef struct {
    uint32_t v[8];
} ebnn_opt_planes8; /* copied as one (LDM / STM) */
#define EBNN_OPT_VSUM_PLANES(NAME, T, CHUNK)                                                                           \
    EBNN_OPT_NO_SCHED void NAME(const T *list, int32_t n, const uint32_t *w, const uint32_t *init, uint32_t *p)       \
    {                                                                                                                  \
        uint32_t ones = init[0], twos = init[1], fours = init[2], eights = init[3];                                    \
        uint32_t buf[16];                                                                                              \
        int32_t chunks = n >> 4;                                                                                       \
        *(ebnn_opt_planes8 *)(void *)(p + 4) = *(const ebnn_opt_planes8 *)(const void *)(init + 4);                    \
        while (chunks > 0) {                                                                                           \
            const int32_t m = chunks < 16 ? chunks : 16;                                                               \
            int32_t i;                                                                                                 \
            chunks -= m;                                                                                               \
            for (i = 0; i < m; i++) {                                                                                  \
                CHUNK(buf[i]);                                                                                         \
            }                                                                                                          \
            (void)ebnn_opt_level2(buf, m, p, 16);                                                                      \
        }                                                                                                              \
        for (chunks = n & 15; chunks > 0; chunks--) {                                                                  \
            uint32_t x = w[*list++], t;                                                                                \
            int32_t l;                                                                                                 \
            t = ones & x;                                                                                              \
            ones ^= x;                                                                                                 \
            x = twos & t;                                                                                              \
            twos ^= t;                                                                                                 \
            t = fours & x;                                                                                             \
            fours ^= x;                                                                                                \
            x = eights & t;                                                                                            \
            eights ^= t;                                                                                               \
            for (l = 4; x && l < 16; l++) {                                                                            \
                t = p[l] & x;                                                                                          \
                p[l] ^= x;                                                                                             \
                x = t;                                                                                                 \
            }                                                                                                          \
        }                                                                                                              \
        p[0] = ones;                                                                                                   \
        p[1] = twos;                                                                                                   \
        p[2] = fours;                                                                                                  \
        p[3] = eights;                                                                                                 \
    }
/* A chunk in C: the next 16 entries of the list into the planes, the 16s into x. */
#define EBNN_LOAD_W(i) w[list[i]]
#define EBNN_CHUNK_C(x)                                                                                                \
    do {                                                                                                               \
        EBNN_HS16(EBNN_LOAD_W, x);                                                                                     \
        list += 16;                                                                                                    \
    } while (0)
#if defined(__GNUC__) && defined(__thumb2__)
/* Thumb-2 chunk of a 16-bit list (the pooled conv's, half the bytes of 32-bit entries): two
 * LDRH and two weight loads per pair of entries and the 75 logic instructions of its 15
 * carry-save adders.  CSA(h, acc, c): acc + h + c -> acc (weight 1) and h (weight 2), u a
 * temporary. */
#define EBNN_ASM_CSA(h, acc, c)                                                                                        \
    "eor %[u], %[" acc "], %[" h "]\n\t"                                                                             \
    "and %[" h "], %[" acc "], %[" h "]\n\t"                                                                         \
    "eor %[" acc "], %[u], %[" c "]\n\t"                                                                             \
    "and %[u], %[u], %[" c "]\n\t"                                                                                   \
    "orr %[" h "], %[" h "], %[u]\n\t"
#define EBNN_ASM_PAIR(h)                                                                                               \
    "ldrh %[" h "], [%[lp]], #2\n\t"                                                                                  \
    "ldrh %[y], [%[lp]], #2\n\t"                                                                                      \
    "ldr %[" h "], [%[w], %[" h "], lsl #2]\n\t"                                                                     \
    "ldr %[y], [%[w], %[y], lsl #2]\n\t"
#define EBNN_CHUNK_ASM(x)                                                                                              \
    do {                                                                                                               \
        uint32_t a, b, c, d, y, u;                                                                                     \
        __asm__(EBNN_ASM_PAIR("a") EBNN_ASM_CSA("a", "ones", "y") /* a: twos A */                                      \
                EBNN_ASM_PAIR("b") EBNN_ASM_CSA("b", "ones", "y")   /* b: twos B */                                    \
                EBNN_ASM_CSA("a", "twos", "b")                      /* a: fours A */                                   \
                EBNN_ASM_PAIR("b") EBNN_ASM_CSA("b", "ones", "y")                                                      \
                EBNN_ASM_PAIR("c") EBNN_ASM_CSA("c", "ones", "y")                                                      \
                EBNN_ASM_CSA("b", "twos", "c")                      /* b: fours B */                                   \
                EBNN_ASM_CSA("a", "fours", "b")                     /* a: eights A */                                  \
                EBNN_ASM_PAIR("b") EBNN_ASM_CSA("b", "ones", "y")                                                      \
                EBNN_ASM_PAIR("c") EBNN_ASM_CSA("c", "ones", "y")                                                      \
                EBNN_ASM_CSA("b", "twos", "c")                      /* b: fours A */                                   \
                EBNN_ASM_PAIR("c") EBNN_ASM_CSA("c", "ones", "y")                                                      \
                EBNN_ASM_PAIR("d") EBNN_ASM_CSA("d", "ones", "y")                                                      \
                EBNN_ASM_CSA("c", "twos", "d")                      /* c: fours B */                                   \
                EBNN_ASM_CSA("b", "fours", "c")                     /* b: eights B */                                  \
                EBNN_ASM_CSA("a", "eights", "b")                    /* a: the 16s */                                   \
                : [lp] "+r"(list), [ones] "+r"(ones), [twos] "+r"(twos), [fours] "+r"(fours),                          \
                  [eights] "+r"(eights), [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c), [d] "=&r"(d), [y] "=&r"(y),         \
                  [u] "=&r"(u)                                                                                         \
                : [w] "r"(w)                                                                                           \
                : "memory");                                                                                           \
        x = a;                                                                                                         \
    } while (0)
/* 32-bit lists: the entries four at a time by LDM (ascending registers r0..r4), the last four
 * by two LDRD: 16 loads of weights, 5 of entries and 75 logic instructions a chunk.  A
 * carry-save adder without a temporary: acc ^= h; h &= ~acc (h & acc before); acc ^= c;
 * c &= ~acc (c & (acc ^ h)); h |= c. */
#define EBNN_ASM_CSA0(h, acc, c)                                                                                       \
    "eor %[" acc "], %[" acc "], %[" h "]\n\t"                                                                        \
    "bic %[" h "], %[" h "], %[" acc "]\n\t"                                                                          \
    "eor %[" acc "], %[" acc "], %[" c "]\n\t"                                                                        \
    "bic %[" c "], %[" c "], %[" acc "]\n\t"                                                                          \
    "orr %[" h "], %[" h "], %[" c "]\n\t"
#define EBNN_ASM_W(r) "ldr %[" r "], [%[w], %[" r "], lsl #2]\n\t"
/* Four listed words into r1..r4 -> fours carry in r1 (r2..r4 free). */
#define EBNN_ASM_QUAD(f, a, b, c)                                                                                      \
    EBNN_ASM_W(f) EBNN_ASM_W(a) EBNN_ASM_W(b) EBNN_ASM_W(c) EBNN_ASM_CSA0(f, "ones", a) EBNN_ASM_CSA0(b, "ones", c)        \
        EBNN_ASM_CSA0(f, "twos", b)
#define EBNN_CHUNK_LDM(x)                                                                                              \
    do {                                                                                                               \
        register uint32_t r0 __asm__("r0"), r1 __asm__("r1"), r2 __asm__("r2"), r3 __asm__("r3"), r4 __asm__("r4");    \
        __asm__("ldm %[lp]!, {%[r0], %[r1], %[r2], %[r3]}\n\t" EBNN_ASM_QUAD("r0", "r1", "r2", "r3")                   \
                "ldm %[lp]!, {%[r1], %[r2], %[r3], %[r4]}\n\t" EBNN_ASM_QUAD("r1", "r2", "r3", "r4")                   \
                EBNN_ASM_CSA0("r0", "fours", "r1") /* r0: eights A */                                                  \
                "ldm %[lp]!, {%[r1], %[r2], %[r3], %[r4]}\n\t" EBNN_ASM_QUAD("r1", "r2", "r3", "r4")                   \
                "ldrd %[r2], %[r3], [%[lp]], #8\n\t" EBNN_ASM_W("r2") EBNN_ASM_W("r3")                                 \
                EBNN_ASM_CSA0("r2", "ones", "r3")                                                                     \
                "ldrd %[r3], %[r4], [%[lp]], #8\n\t" EBNN_ASM_W("r3") EBNN_ASM_W("r4")                                 \
                EBNN_ASM_CSA0("r3", "ones", "r4") EBNN_ASM_CSA0("r2", "twos", "r3") /* r2: fours B */                  \
                EBNN_ASM_CSA0("r1", "fours", "r2") /* r1: eights B */                                                  \
                EBNN_ASM_CSA0("r0", "eights", "r1") /* r0: the 16s */                                                  \
                : [lp] "+r"(list), [ones] "+r"(ones), [twos] "+r"(twos), [fours] "+r"(fours),                          \
                  [eights] "+r"(eights), [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3),                \
                  [r4] "=&r"(r4)                                                                                       \
                : [w] "r"(w)                                                                                           \
                : "memory");                                                                                           \
        x = r0;                                                                                                        \
    } while (0)
EBNN_OPT_VSUM(ebnn_opt_vsum32, uint32_t, EBNN_CHUNK_LDM)
EBNN_OPT_VSUM_PLANES(ebnn_opt_vsum16_planes, uint16_t, EBNN_CHUNK_ASM)
#else
EBNN_OPT_VSUM(ebnn_opt_vsum32, uint32_t, EBNN_CHUNK_C)
EBNN_OPT_VSUM_PLANES(ebnn_opt_vsum16_planes, uint16_t, EBNN_CHUNK_C)
#endif
