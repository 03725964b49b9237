//! Sorting by an `f64` key with an LSD radix sort, for the large sorts of
//! the 2-D and 3-D sweeps (a comparison sort costs several times more on
//! ten thousand points).

/// An unsigned key whose order is the numeric order of `x` (`-0.0` and
/// `0.0` share a key; NaN-free input assumed).
#[inline]
pub(crate) fn ukey(x: f64) -> u64 {
    let b = (x + 0.0).to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// Below this many items a comparison sort wins.
const RADIX_MIN: usize = 256;

/// Sorts `items` by `key`, stably. Radix sort on 8-bit digits for large
/// inputs, skipping the digits on which every key agrees (the sign and
/// exponent bytes of objective values usually do).
pub(crate) fn sort_by_f64_key<T: Copy>(items: &mut Vec<T>, key: impl Fn(&T) -> f64) {
    if items.len() < RADIX_MIN {
        items.sort_by(|a, b| {
            key(a)
                .partial_cmp(&key(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        return;
    }
    let mut keyed: Vec<(u64, T)> = items.iter().map(|t| (ukey(key(t)), *t)).collect();
    let mut counts = [[0usize; 256]; 8];
    for (k, _) in &keyed {
        for (d, c) in counts.iter_mut().enumerate() {
            c[((k >> (8 * d)) & 0xff) as usize] += 1;
        }
    }
    let n = keyed.len();
    let mut buf: Vec<(u64, T)> = keyed.clone();
    for (d, c) in counts.iter().enumerate() {
        if c.contains(&n) {
            continue; // every key has the same digit here
        }
        let mut offset = [0usize; 256];
        let mut sum = 0;
        for (o, &cnt) in offset.iter_mut().zip(c.iter()) {
            *o = sum;
            sum += cnt;
        }
        for item in &keyed {
            let digit = ((item.0 >> (8 * d)) & 0xff) as usize;
            buf[offset[digit]] = *item;
            offset[digit] += 1;
        }
        std::mem::swap(&mut keyed, &mut buf);
    }
    items.clear();
    items.extend(keyed.into_iter().map(|(_, t)| t));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_like_a_comparison_sort(v in prop::collection::vec(-1e6f64..1e6, 0..1000)) {
            let mut a: Vec<(f64, usize)> = v.iter().copied().zip(0..).collect();
            let mut b = a.clone();
            sort_by_f64_key(&mut a, |p| p.0);
            b.sort_by(|x, y| x.0.partial_cmp(&y.0).expect("no NaN"));
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn key_order_is_numeric() {
        let xs = [
            f64::NEG_INFINITY,
            -2.0,
            -1.0,
            -0.0,
            0.0,
            1e-300,
            1.0,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(ukey(w[0]) <= ukey(w[1]));
        }
        assert_eq!(ukey(-0.0), ukey(0.0));
    }
}
