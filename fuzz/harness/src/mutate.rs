//! A small deterministic mutator for the stable regression run: the
//! classic byte-level mutations of libFuzzer and AFL (bit flips,
//! interesting integers, inserts, deletes, copies, splices, dictionary
//! tokens), driven by a fixed-seed PRNG so that every run executes exactly
//! the same inputs.

/// xorshift64*: tiny, fast, and good enough to pick mutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `name` (FNV-1a), never zero.
    pub fn seeded(name: &str) -> Self {
        let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Rng(h | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Integers that find boundary bugs, as in AFL's `interesting_*`.
const INTERESTING: [u64; 18] = [
    0,
    1,
    2,
    0x10,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x1000,
    0x20_0000,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

/// Applies 1 to 4 random mutations to `data`, keeping it at most `max_len`
/// bytes; `pool` supplies splice partners, `dict` tokens to insert.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, max_len: usize, pool: &[Vec<u8>], dict: &[&[u8]]) {
    for _ in 0..=rng.below(4) {
        mutate_once(rng, data, pool, dict);
    }
    data.truncate(max_len);
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, pool: &[Vec<u8>], dict: &[&[u8]]) {
    let len = data.len();
    match rng.below(12) {
        // Flip a bit.
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        // A random or interesting byte.
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = if rng.chance(2) {
                rng.next_u64() as u8
            } else {
                INTERESTING[rng.below(INTERESTING.len())] as u8
            };
        }
        // An interesting or nudged 2/4/8-byte little-endian integer.
        2 | 3 if len > 0 => {
            let width = [2usize, 4, 8][rng.below(3)].min(len);
            let at = rng.below(len - width + 1);
            let mut cur = [0u8; 8];
            cur[..width].copy_from_slice(&data[at..at + width]);
            let old = u64::from_le_bytes(cur);
            let v = match rng.below(3) {
                0 => INTERESTING[rng.below(INTERESTING.len())],
                1 => old.wrapping_add(rng.below(33) as u64).wrapping_sub(16),
                _ => rng.next_u64(),
            };
            data[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
        }
        // Insert random bytes.
        4 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            data.splice(at..at, bytes);
        }
        // Delete a range.
        5 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(64));
            data.drain(at..at + n);
        }
        // Truncate.
        6 if len > 0 => data.truncate(rng.below(len)),
        // Copy a chunk over another place, or insert a copy of it.
        7 if len > 1 => {
            let from = rng.below(len);
            let n = 1 + rng.below((len - from).min(64));
            let chunk = data[from..from + n].to_vec();
            let to = rng.below(len);
            if rng.chance(2) {
                let end = (to + n).min(len);
                data[to..end].copy_from_slice(&chunk[..end - to]);
            } else {
                data.splice(to..to, chunk);
            }
        }
        // Splice: our head, another input's tail.
        8 if !pool.is_empty() => {
            let other = &pool[rng.below(pool.len())];
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        // A dictionary token, inserted or written over.
        9 | 10 if !dict.is_empty() => {
            let token = dict[rng.below(dict.len())];
            let at = rng.below(len + 1);
            if rng.chance(2) || at + token.len() > len {
                data.splice(at..at, token.iter().copied());
            } else {
                data[at..at + token.len()].copy_from_slice(token);
            }
        }
        // Repeat a byte run (long numbers, long lists).
        _ if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below(32);
            let b = data[i];
            data.splice(i..i, std::iter::repeat_n(b, n));
        }
        _ => data.push(rng.next_u64() as u8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_bounded() {
        let run = || {
            let mut rng = Rng::seeded("t");
            let mut outs = Vec::new();
            let pool = vec![b"pool entry".to_vec()];
            for i in 0..2000 {
                let mut d = format!("seed {i}").into_bytes();
                mutate(&mut rng, &mut d, 40, &pool, &[b"tok"]);
                assert!(d.len() <= 40);
                outs.push(d);
            }
            outs
        };
        assert_eq!(run(), run());
        let mut empty = Vec::new();
        let mut rng = Rng::seeded("e");
        for _ in 0..1000 {
            mutate(&mut rng, &mut empty, 8, &[], &[]);
        }
    }
}
