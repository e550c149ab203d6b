//! Ansible's `random` and `shuffle` filters. With a `seed` they must give what Python's
//! `random.Random(seed)` gives, because playbooks use `59 | random(seed=inventory_hostname)`
//! for stable per-host values: [`PyRandom`] is CPython's Mersenne Twister with its seeding
//! (`str` seeds are extended with their SHA-512) and its `_randbelow` rejection sampling.

use super::filters::{fail, text};
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Error, Value};
use rand::RngExt;
use sha2::Digest;

const N: usize = 624;
const M: usize = 397;

/// CPython's `random.Random` (MT19937), for the methods the filters use.
pub struct PyRandom {
    state: [u32; N],
    index: usize,
}

impl PyRandom {
    /// `random.Random(seed)` for a seed given as the big-endian bytes of a non-negative int.
    fn from_int_bytes(be: &[u8]) -> Self {
        // The key is the int's 32-bit words, least significant first.
        let mut key: Vec<u32> = be
            .rchunks(4)
            .map(|c| c.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32))
            .collect();
        while key.len() > 1 && key.last() == Some(&0) {
            key.pop();
        }
        if key.is_empty() {
            key.push(0);
        }
        let mut r = PyRandom {
            state: [0; N],
            index: N,
        };
        r.init_by_array(&key);
        r
    }

    /// `random.Random(seed)` for a `str` seed (version 2 seeding).
    pub fn from_str_seed(seed: &str) -> Self {
        let mut bytes = seed.as_bytes().to_vec();
        bytes.extend_from_slice(&sha2::Sha512::digest(seed.as_bytes()));
        Self::from_int_bytes(&bytes)
    }

    /// `random.Random(seed)` for an `int` seed (its absolute value is used).
    pub fn from_int_seed(seed: i64) -> Self {
        Self::from_int_bytes(&seed.unsigned_abs().to_be_bytes())
    }

    fn init_genrand(&mut self, s: u32) {
        self.state[0] = s;
        for i in 1..N {
            let prev = self.state[i - 1];
            self.state[i] = 1812433253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19650218);
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = self.state[i - 1];
            self.state[i] = (self.state[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1664525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.state[i - 1];
            self.state[i] = (self.state[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1566083941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
        }
        self.state[0] = 0x8000_0000;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % N] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.state[k] = self.state[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `k <= 64`: words are filled least significant first.
    fn getrandbits(&mut self, k: u32) -> u64 {
        if k <= 32 {
            return (self.next_u32() >> (32 - k)) as u64;
        }
        let low = self.next_u32() as u64;
        let high = (self.next_u32() >> (64 - k)) as u64;
        (high << 32) | low
    }

    /// `_randbelow(n)`: a uniform value in `0..n` by rejection sampling.
    pub fn randbelow(&mut self, n: u64) -> u64 {
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `shuffle(x)`: Fisher-Yates from the end.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.randbelow(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// The generator for a filter's `seed`: none (system randomness) or Python's seeded one.
fn seeded(seed: Option<Value>) -> Result<Option<PyRandom>, Error> {
    Ok(match seed {
        None => None,
        Some(s) if s.is_none() || s.is_undefined() => None,
        Some(s) => match s.kind() {
            ValueKind::Number if s.is_integer() => s.as_i64().map(PyRandom::from_int_seed),
            ValueKind::Bool => Some(PyRandom::from_int_seed(s.is_true() as i64)),
            ValueKind::String => Some(PyRandom::from_str_seed(&text(&s))),
            _ => return Err(fail(format!("random: unsupported seed {s}"))),
        },
    })
}

fn below(rng: &mut Option<PyRandom>, n: u64) -> u64 {
    match rng {
        Some(r) => r.randbelow(n),
        None => rand::rng().random_range(0..n),
    }
}

/// Python's `randrange(start, end, step)` for a non-zero step. Python's ints do not
/// overflow: the arithmetic is in i128, where neither the width of two i64s nor their
/// quotient by the step can, and the value drawn lies in the range.
fn randrange(rng: &mut Option<PyRandom>, start: i64, end: i64, step: i64) -> Result<i64, Error> {
    let (s, e, st) = (i128::from(start), i128::from(end), i128::from(step));
    let width = e - s;
    let n = if st > 0 {
        floor_div(width + st - 1, st)
    } else {
        floor_div(width + st + 1, st)
    };
    let Some(n) = u64::try_from(n).ok().filter(|&n| n > 0) else {
        return Err(fail(format!(
            "random: empty range for randrange({start}, {end}, {step})"
        )));
    };
    i64::try_from(s + st * i128::from(below(rng, n))).map_err(|_| {
        fail(format!(
            "random: randrange({start}, {end}, {step}) is out of range"
        ))
    })
}

/// Python's `//`: the quotient rounded towards negative infinity.
fn floor_div(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b != 0 && (a < 0) != (b < 0) {
        q - 1
    } else {
        q
    }
}

/// `random(end, start=0, step=1, seed=None)`: a number of `range(start, end, step)`, or an
/// item of a list.
pub fn random(
    v: Value,
    start: Option<i64>,
    step: Option<i64>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let start = match start {
        Some(s) => Some(s),
        None => kwargs.get::<Option<i64>>("start")?,
    };
    let step = match step {
        Some(s) => Some(s),
        None => kwargs.get::<Option<i64>>("step")?,
    };
    let mut rng = seeded(kwargs.get::<Option<Value>>("seed")?)?;
    kwargs.assert_all_used()?;
    if v.is_undefined() {
        return Err(Error::from(minijinja::ErrorKind::UndefinedError));
    }
    if let Some(end) = v.as_i64().filter(|_| v.is_integer()) {
        let start = start.filter(|&s| s != 0).unwrap_or(0);
        let step = step.filter(|&s| s != 0).unwrap_or(1);
        return randrange(&mut rng, start, end, step).map(Value::from);
    }
    if start.is_some_and(|s| s != 0) || step.is_some_and(|s| s != 0) {
        return Err(fail("start and step can only be used with integer values"));
    }
    let list: Vec<Value> = v.try_iter()?.collect();
    if list.is_empty() {
        return Err(fail("random: cannot choose from an empty sequence"));
    }
    let i = below(&mut rng, list.len() as u64) as usize;
    Ok(list[i].clone())
}

/// `shuffle(seed=None)`: the items in a random order (stable for a given seed).
pub fn shuffle(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let rng = seeded(kwargs.get::<Option<Value>>("seed")?)?;
    kwargs.assert_all_used()?;
    let mut list: Vec<Value> = v.try_iter()?.collect();
    match rng {
        Some(mut r) => r.shuffle(&mut list),
        None => {
            let mut sys = rand::rng();
            for i in (1..list.len()).rev() {
                list.swap(i, sys.random_range(0..=i));
            }
        }
    }
    Ok(Value::from(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from Python 3.11: `random.Random(seed)`.
    #[test]
    fn matches_cpython() {
        let mut r = PyRandom::from_int_seed(42);
        // random.Random(42).getrandbits(32)
        assert_eq!(r.getrandbits(32), 2746317213);
        let mut r = PyRandom::from_str_seed("host001");
        // random.Random('host001').randrange(0, 59, 1)
        assert_eq!(r.randbelow(59), 52);
        let mut r = PyRandom::from_str_seed("host001");
        let mut l: Vec<u32> = (1..=9).collect();
        r.shuffle(&mut l);
        assert_eq!(l, [6, 2, 8, 7, 3, 4, 9, 1, 5]);
        // random.Random(7).randrange(0, 1000000000000, 1): 40 random bits.
        assert_eq!(
            PyRandom::from_int_seed(7).randbelow(1_000_000_000_000),
            434439589175
        );
        // random.Random(-7).randrange(10, 100, 7)
        assert_eq!(10 + 7 * PyRandom::from_int_seed(-7).randbelow(13), 45);
    }

    /// Values from Python 3.11 `random.Random(seed).randrange(start, end, step)`: the
    /// whole i64 range, whose width overflowed i64, and negative steps, where `//` rounds
    /// down.
    #[test]
    fn randrange_matches_cpython_at_the_edges() {
        let rr = |seed, start, end, step| {
            randrange(&mut Some(PyRandom::from_int_seed(seed)), start, end, step)
        };
        assert_eq!(
            rr(1, -i64::MAX, i64::MAX, 1).ok(),
            Some(1276586094810739190)
        );
        assert_eq!(
            rr(1, i64::MIN, i64::MAX, 2).ok(),
            Some(-6895141169042458744)
        );
        assert_eq!(
            rr(3, i64::MAX, i64::MIN, -3).ok(),
            Some(-7175070778902298616)
        );
        let steps: Vec<_> = (0..8).map(|s| rr(s, 10, 0, -4).unwrap()).collect();
        assert_eq!(steps, [6, 10, 10, 10, 10, 2, 2, 6]);
        let err = rr(1, 5, 5, 1).unwrap_err().to_string();
        assert!(err.contains("empty range for randrange(5, 5, 1)"), "{err}");
    }
}
