//! The multi-lane SHA-256d kernels on the x86 SHA extensions (SHA-NI): the header's second
//! and third compressions for `N` nonces per call (the miner builds N = 1, 2, 4 and 8).
//!
//! `sha256rnds2` takes several cycles to give its result but the CPU can start one every
//! cycle, so hashing one nonce at a time leaves the unit idle most of the time (a
//! dependency chain of 64 of them per nonce). Here the lanes are independent nonces that
//! go through the rounds side by side: every instruction of one lane is followed by the same
//! instruction of the others, and the CPU overlaps them.
//!
//! This is the crate's only module with `unsafe`, and it needs it once: calling a function
//! compiled for CPU features the baseline target does not promise. [`ShaNi::new`] checks
//! them at run time and is the only way to get the value the calls hang off.
#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_blend_epi16, _mm_extract_epi32, _mm_set_epi32,
    _mm_setzero_si128, _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32,
    _mm_shuffle_epi32,
};

// Which lane count pays depends on the core: where `sha256rnds2`'s latency is about four
// times its issue interval (AMD Zen) four lanes nearly triple one lane's rate; where the
// unit is throughput-bound at about 1.3 × one chain (Intel's server cores here) two lanes
// are all that pays and more only spill the 16 XMM registers the legacy encoding of the SHA
// instructions can name. The miner measures them at start-up (`search::best_kernel`)
// rather than guessing from the CPU's name.

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// A header prepared for the SHA-NI kernel: its midstate and the big-endian words of its
/// bytes 64..76 (end of the merkle root, time, bits). Only [`ShaNi::new`] makes one, after
/// checking that the CPU has the instructions.
#[derive(Debug, Clone, Copy)]
pub struct ShaNi<const N: usize> {
    midstate: [u32; 8],
    tail: [u32; 3],
}

impl<const N: usize> ShaNi<N> {
    /// The kernel for a header with this SHA-256 `midstate` (state words after its first 64
    /// bytes) and `tail` (header bytes 64..76), or `None` on a CPU without SHA-NI.
    pub fn new(midstate: [u32; 8], tail: [u32; 3]) -> Option<ShaNi<N>> {
        if std::is_x86_feature_detected!("sha")
            && std::is_x86_feature_detected!("sse2")
            && std::is_x86_feature_detected!("ssse3")
            && std::is_x86_feature_detected!("sse4.1")
        {
            Some(ShaNi { midstate, tail })
        } else {
            None
        }
    }

    /// SHA-256d of the header with the nonces `first`, `first + 1`, … (wrapping), one per
    /// lane, as the eight big-endian state words of each final digest.
    #[inline]
    pub fn hash_lanes(&self, first: u32) -> [[u32; 8]; N] {
        // SAFETY: `hash_lanes_sha` only needs the CPU features named in its
        // `target_feature` attribute, and `self` exists only if `new` detected all of them
        // on this CPU. The function touches no memory but its arguments and locals.
        unsafe { hash_lanes_sha(&self.midstate, &self.tail, first) }
    }

    /// The last state word (H7) of the SHA-256d of the header with the nonces `first`,
    /// `first + 1`, … (wrapping), one per lane: the most significant 32 bits of the hash
    /// read as a number, byte-swapped. Cheaper than [`ShaNi::hash_lanes`].
    #[inline]
    pub fn top_words(&self, first: u32) -> [u32; N] {
        // SAFETY: as in `hash_lanes`: `new` detected every feature `top_words_sha` is
        // compiled for, and it touches nothing but its arguments and locals.
        unsafe { top_words_sha(&self.midstate, &self.tail, first) }
    }
}

/// A state in the layout `sha256rnds2` works on: words A, B, E, F in one register and
/// C, D, G, H in the other (highest lane first).
#[derive(Clone, Copy)]
struct State {
    abef: __m128i,
    cdgh: __m128i,
}

#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
#[inline]
fn words4(w0: u32, w1: u32, w2: u32, w3: u32) -> __m128i {
    _mm_set_epi32(w3 as i32, w2 as i32, w1 as i32, w0 as i32)
}

#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
#[inline]
fn state_of(h: &[u32; 8]) -> State {
    State {
        abef: _mm_set_epi32(h[0] as i32, h[1] as i32, h[4] as i32, h[5] as i32),
        cdgh: _mm_set_epi32(h[2] as i32, h[3] as i32, h[6] as i32, h[7] as i32),
    }
}

/// 64 rounds of SHA-256 on every lane, added to the lanes' starting states. `msg[l]` holds
/// lane `l`'s 16 message words, four per register, lowest word in the lowest lane.
///
/// Without `FULL` the last two rounds and the addition are left out: the state's F word
/// then already holds what the last two rounds would shift into H (see `top_words_sha`).
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
#[inline]
fn compress<const FULL: bool, const N: usize>(state: &mut [State; N], msg: [[__m128i; 4]; N]) {
    let start = *state;
    let mut x = msg;
    for i in 0..16 {
        let k = words4(K[4 * i], K[4 * i + 1], K[4 * i + 2], K[4 * i + 3]);
        for l in 0..N {
            if i >= 4 {
                // W[t] for the next four rounds from W[t-16..t]: msg1 adds σ0(W[t-15]),
                // the alignr term is W[t-7], msg2 adds σ1(W[t-2]).
                let x = &mut x[l];
                let t = _mm_sha256msg1_epu32(x[i % 4], x[(i + 1) % 4]);
                let t = _mm_add_epi32(t, _mm_alignr_epi8::<4>(x[(i + 3) % 4], x[(i + 2) % 4]));
                x[i % 4] = _mm_sha256msg2_epu32(t, x[(i + 3) % 4]);
            }
        }
        // Two rounds on every lane, then the next two: each `sha256rnds2` is followed by
        // the other lanes' before the one that waits for its result.
        let wk: [__m128i; N] = std::array::from_fn(|l| _mm_add_epi32(x[l][i % 4], k));
        for l in 0..N {
            state[l].cdgh = _mm_sha256rnds2_epu32(state[l].cdgh, state[l].abef, wk[l]);
        }
        if !FULL && i == 15 {
            return;
        }
        for l in 0..N {
            let hi = _mm_shuffle_epi32::<0x0E>(wk[l]);
            state[l].abef = _mm_sha256rnds2_epu32(state[l].abef, state[l].cdgh, hi);
        }
    }
    for l in 0..N {
        state[l].abef = _mm_add_epi32(state[l].abef, start[l].abef);
        state[l].cdgh = _mm_add_epi32(state[l].cdgh, start[l].cdgh);
    }
}

/// The state as two message registers: words 0..4 and 4..8, lowest word in the lowest lane.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
#[inline]
fn digest_words(s: State) -> (__m128i, __m128i) {
    let feba = _mm_shuffle_epi32::<0x1B>(s.abef);
    let dchg = _mm_shuffle_epi32::<0xB1>(s.cdgh);
    (
        _mm_blend_epi16::<0xF0>(feba, dchg),
        _mm_alignr_epi8::<8>(dchg, feba),
    )
}

/// The message of the third compression for each lane: the first digest, padded.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
#[inline]
fn first_digests<const N: usize>(
    midstate: &[u32; 8],
    tail: &[u32; 3],
    first: u32,
) -> [[__m128i; 4]; N] {
    // Second compression: the header's last 16 bytes, then the padding of an 80-byte
    // message (0x80, zeros, the length in bits). The nonce is a little-endian field read
    // as a big-endian word.
    let mut state = [state_of(midstate); N];
    let pad = words4(0x8000_0000, 0, 0, 0);
    let zero = _mm_setzero_si128();
    let msg = std::array::from_fn(|l| {
        let nonce = first.wrapping_add(l as u32).swap_bytes();
        [
            words4(tail[0], tail[1], tail[2], nonce),
            pad,
            zero,
            words4(0, 0, 0, 80 * 8),
        ]
    });
    compress::<true, N>(&mut state, msg);
    // The 32-byte first digest, padded, is the message of the third.
    std::array::from_fn(|l| {
        let (lo, hi) = digest_words(state[l]);
        [lo, hi, pad, words4(0, 0, 0, 32 * 8)]
    })
}

#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn hash_lanes_sha<const N: usize>(
    midstate: &[u32; 8],
    tail: &[u32; 3],
    first: u32,
) -> [[u32; 8]; N] {
    let msg = first_digests(midstate, tail, first);
    let mut state = [state_of(&IV); N];
    compress::<true, N>(&mut state, msg);
    std::array::from_fn(|l| {
        let (lo, hi) = digest_words(state[l]);
        [
            _mm_extract_epi32::<0>(lo) as u32,
            _mm_extract_epi32::<1>(lo) as u32,
            _mm_extract_epi32::<2>(lo) as u32,
            _mm_extract_epi32::<3>(lo) as u32,
            _mm_extract_epi32::<0>(hi) as u32,
            _mm_extract_epi32::<1>(hi) as u32,
            _mm_extract_epi32::<2>(hi) as u32,
            _mm_extract_epi32::<3>(hi) as u32,
        ]
    })
}

/// The last word (H7) of each lane's final digest, all a nonce search needs to rule a
/// nonce out: 62 rounds of the third compression shift F into H over the last two, so
/// those two and the other words' additions are skipped.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn top_words_sha<const N: usize>(midstate: &[u32; 8], tail: &[u32; 3], first: u32) -> [u32; N] {
    let msg = first_digests(midstate, tail, first);
    let mut state = [state_of(&IV); N];
    compress::<false, N>(&mut state, msg);
    // Stopped half-way through the last group, the A, B, E, F words sit in the `cdgh`
    // register (the roles swap with every `sha256rnds2`); F is its lowest lane.
    std::array::from_fn(|l| (_mm_extract_epi32::<0>(state[l].cdgh) as u32).wrapping_add(IV[7]))
}
