/* Listing the set bits of packed inputs for the transposed kernels (ebnn_opt_dense.c,
 * ebnn_opt_conv.c, ebnn_opt_conv_pool.c): the indices their vertical sums add the weight
 * words of (ebnn_opt_vsum.c). */
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
    const uint32_t *stop = list + 16 * words + 13; /* EBNN_OPT_T_LIST - 67 */
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
