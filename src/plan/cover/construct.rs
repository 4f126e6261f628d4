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

/// The finite field GF(q) for a prime power q, as addition and multiplication tables over the
/// element numbers 0..q (element = polynomial over GF(p) with its coefficients as base-p
/// digits; 0 is zero, 1 is one).
pub(crate) struct Field {
    q: usize,
    add: Vec<usize>,
    mul: Vec<usize>,
}

impl Field {
    /// GF(q), or `None` when q is not a prime power (or too large to tabulate).
    pub fn new(q: usize) -> Option<Field> {
        if !(2..=256).contains(&q) {
            return None;
        }
        let p = (2..=q).find(|d| q.is_multiple_of(*d))?;
        let mut m = 0;
        let mut x = q;
        while x.is_multiple_of(p) {
            x /= p;
            m += 1;
        }
        if x != 1 {
            return None;
        }
        let digits = |mut a: usize| -> Vec<usize> {
            (0..m)
                .map(|_| {
                    let d = a % p;
                    a /= p;
                    d
                })
                .collect()
        };
        let number = |d: &[usize]| d.iter().rev().fold(0, |acc, &c| acc * p + c);
        let add_el = |a: usize, b: usize| {
            let (da, db) = (digits(a), digits(b));
            number(
                &da.iter()
                    .zip(&db)
                    .map(|(x, y)| (x + y) % p)
                    .collect::<Vec<_>>(),
            )
        };
        // Multiply by the polynomial x modulo the monic f = x^m + low(x) (low given by digits).
        let times_x = |a: usize, low: &[usize]| {
            let mut d = digits(a);
            let top = d[m - 1];
            d.rotate_right(1);
            d[0] = 0;
            for (c, l) in d.iter_mut().zip(low) {
                *c = (*c + (p - l) * top) % p;
            }
            number(&d)
        };
        // A primitive f: the powers of x run through all q-1 non-zero elements.
        let low = (0..q).map(digits).find(|low| {
            let mut e = 1;
            for i in 1..q {
                e = times_x(e, low);
                if e == 1 {
                    return i == q - 1;
                }
            }
            false
        })?;
        let mut log = vec![0usize; q];
        let mut exp = vec![0usize; q - 1];
        let mut e = 1;
        for (i, slot) in exp.iter_mut().enumerate() {
            *slot = e;
            log[e] = i;
            e = times_x(e, &low);
        }
        let mut add = vec![0; q * q];
        let mut mul = vec![0; q * q];
        for a in 0..q {
            for b in 0..q {
                add[a * q + b] = add_el(a, b);
                mul[a * q + b] = if a == 0 || b == 0 {
                    0
                } else {
                    exp[(log[a] + log[b]) % (q - 1)]
                };
            }
        }
        Some(Field { q, add, mul })
    }

    fn add(&self, a: usize, b: usize) -> usize {
        self.add[a * self.q + b]
    }

    fn mul(&self, a: usize, b: usize) -> usize {
        self.mul[a * self.q + b]
    }
}

/// Orthogonal array OA(q^t; q+1, q, t) from Reed–Solomon codes over GF(q): each row is a
/// polynomial of degree < t, column `j < q` its value at the field element `j` and column `q`
/// its leading coefficient. Any t columns see every t-tuple exactly once (for t <= q). Axes
/// with fewer than q values fold larger symbols onto theirs (`x mod size`), which keeps
/// coverage. Used with the smallest prime power `q >= max(sizes)` with `k <= q + 1`, `t <= q`.
pub(crate) fn orthogonal(sizes: &[usize], t: usize) -> Option<Vec<Vec<u16>>> {
    let k = sizes.len();
    let v = *sizes.iter().max()?;
    let mut q = v.max(2);
    let field = loop {
        if q > 256 {
            return None;
        }
        if let Some(f) = Field::new(q) {
            break f;
        }
        q += 1;
    };
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
                    coef.iter()
                        .rev()
                        .fold(0, |acc, &c| field.add(field.mul(acc, j), c))
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
