//! Algebraic constructions for unconstrained problems. Each returns rows of a covering array
//! of the asked strength, or `None` when it does not apply; the caller verifies and compares
//! them against the search.

/// Strength 1: `max(sizes)` rows, row `i` holding `i mod size` on each axis. Optimal.
pub(crate) fn strength_one(sizes: &[usize]) -> Vec<Vec<u16>> {
    let n = sizes.iter().copied().max().unwrap_or(0);
    (0..n)
        .map(|i| sizes.iter().map(|&s| (i % s) as u16).collect())
        .collect()
}

fn binom(n: usize, r: usize) -> u128 {
    if r > n {
        return 0;
    }
    let mut acc: u128 = 1;
    for i in 0..r {
        acc = acc * (n - i) as u128 / (i + 1) as u128;
    }
    acc
}

/// Binary strength 2 (Kleitman–Spencer, Katona): a CA(N; 2, k, 2) exists iff
/// `k <= C(N-1, ceil(N/2))`. Column `j` is the `j`-th N-bit vector whose first bit is 0 and
/// which has exactly `ceil(N/2)` ones among the other N-1 bits: row 0 covers (0,0); two
/// distinct vectors of equal weight each have a one the other lacks, covering (0,1) and (1,0);
/// and two sets of `ceil(N/2)` out of N-1 bits must meet, covering (1,1). Optimal.
pub(crate) fn binary_pairs(k: usize) -> Option<Vec<Vec<u16>>> {
    if k == 0 {
        return None;
    }
    let mut n = 2;
    while binom(n - 1, n.div_ceil(2)) < k as u128 {
        n += 1;
    }
    if k == 1 {
        n = 2;
    }
    let w = n.div_ceil(2);
    let mut rows = vec![vec![0u16; k]; n];
    if k == 1 {
        rows[1][0] = 1;
        return Some(rows);
    }
    // Enumerate w-subsets of {1..n-1} in lexicographic order.
    let mut idx: Vec<usize> = (1..=w).collect();
    #[allow(clippy::needless_range_loop)] // `col` indexes the inner rows, not `rows`
    for col in 0..k {
        for &r in &idx {
            rows[r][col] = 1;
        }
        // Next subset.
        let mut p = w;
        while p > 0 {
            p -= 1;
            if idx[p] < n - 1 - (w - 1 - p) {
                idx[p] += 1;
                for q in p + 1..w {
                    idx[q] = idx[q - 1] + 1;
                }
                break;
            }
        }
    }
    Some(rows)
}

fn is_prime(q: usize) -> bool {
    q >= 2
        && (2..q)
            .take_while(|d| d * d <= q)
            .all(|d| !q.is_multiple_of(d))
}

/// Orthogonal array OA(q^t; q+1, q, t) from Reed–Solomon codes over the prime field GF(q):
/// each row is a polynomial of degree < t, column `j < q` its value at `j` and column `q` its
/// leading coefficient. Any t columns see every t-tuple exactly once (for t <= q). Axes with
/// fewer than q values fold larger symbols onto theirs (`x mod size`), which keeps coverage.
/// Used with the smallest prime `q >= max(sizes)` with `k <= q + 1` and `t <= q`.
pub(crate) fn orthogonal(sizes: &[usize], t: usize) -> Option<Vec<Vec<u16>>> {
    let k = sizes.len();
    let v = *sizes.iter().max()?;
    let mut q = v.max(2);
    while !is_prime(q) {
        q += 1;
    }
    if k > q + 1 || t > q || t == 0 {
        return None;
    }
    let n = q.checked_pow(t as u32)?;
    if n > 100_000 {
        return None;
    }
    let mut rows = Vec::with_capacity(n);
    let mut coef = vec![0usize; t];
    for r in 0..n {
        let mut x = r;
        for c in coef.iter_mut() {
            *c = x % q;
            x /= q;
        }
        let row: Vec<u16> = (0..k)
            .map(|j| {
                let sym = if j < q {
                    // Horner from the leading coefficient.
                    coef.iter().rev().fold(0, |acc, &c| (acc * j + c) % q)
                } else {
                    coef[t - 1]
                };
                (sym % sizes[j]) as u16
            })
            .collect();
        rows.push(row);
    }
    Some(rows)
}
