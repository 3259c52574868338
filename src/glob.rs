//! Glob-style pattern matching for KEYS, SCAN MATCH, HSCAN MATCH, CONFIG GET and COMMAND
//! LIST FILTERBY PATTERN, with the syntax and answers of Redis's `stringmatchlen`: `*`,
//! `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`.
//!
//! Every token but `*` matches exactly one byte, so a failed attempt only ever needs to go
//! back to the most recent star: an earlier star could only give the later one a later
//! start, which the later star already tries on its own. The matcher therefore keeps one
//! backtrack point and runs in O(pattern × string) at worst, with no recursion; a pattern
//! of many stars against a long key answers at once instead of exploring every split
//! (which froze the loop for minutes before).
//!
//! A class is the other place where cost hides: Redis scans a class's body for every byte
//! it is tried against, so a long class against a long key is quadratic there. A `Glob`
//! turns each long class into a 256-bit set once, so KEYS or SCAN with such a pattern
//! costs one lookup per byte tried.

/// Redis gives up on a pattern once its matcher nests this deep (one level per star); we
/// refuse the same patterns so both servers answer alike.
const MAX_STAR_GROUPS: usize = 1000;

/// Classes with a body at least this long are turned into a bit set; shorter ones are
/// quicker to scan than to look up.
const SET_MIN_BODY: usize = 16;

/// A pattern ready to match many strings (KEYS, SCAN). Borrows the pattern; the only
/// allocation is the bit sets of long classes, at most 48 bytes per 17 pattern bytes.
pub struct Glob<'a> {
    pat: &'a [u8],
    nocase: bool,
    /// (position of the `[`, where the next token starts, the bytes the class takes),
    /// by position.
    sets: Vec<(usize, usize, [u64; 4])>,
}

impl<'a> Glob<'a> {
    /// Prepares `pat`. `nocase` folds ASCII case (CONFIG GET matches that way).
    pub fn new(pat: &'a [u8], nocase: bool) -> Glob<'a> {
        let mut sets = Vec::new();
        let mut pi = 0;
        while pi < pat.len() {
            pi = match pat[pi] {
                b'[' => {
                    let (next, bits) = class_set(pat, pi + 1, nocase);
                    if next - pi > SET_MIN_BODY {
                        sets.push((pi, next, bits));
                    }
                    next
                }
                b'\\' if pi + 1 < pat.len() => pi + 2,
                _ => pi + 1,
            };
        }
        Glob { pat, nocase, sets }
    }

    /// True if `s` matches. Like Redis, the empty string matches only the empty pattern
    /// (a lone `*` does not match it; KEYS and SCAN treat `*` as "everything" first).
    pub fn matches(&self, s: &[u8]) -> bool {
        let pat = self.pat;
        let (mut pi, mut si) = (0, 0);
        // Where to resume after a mismatch: the pattern just after the last star, and the
        // string position that star's match currently ends at.
        let mut resume: Option<(usize, usize)> = None;
        let mut groups = 0;
        while si < s.len() {
            if pi < pat.len() && pat[pi] == b'*' {
                while pi < pat.len() && pat[pi] == b'*' {
                    pi += 1;
                }
                if pi == pat.len() {
                    return true;
                }
                groups += 1;
                if groups > MAX_STAR_GROUPS {
                    return false;
                }
                resume = Some((pi, si));
                continue;
            }
            if pi < pat.len()
                && let Some(next) = self.token(pi, s[si])
            {
                pi = next;
                si += 1;
                continue;
            }
            // Mismatch, or the pattern ended before the string: let the last star take
            // one more byte.
            let Some((star_pi, star_si)) = resume else {
                return false;
            };
            pi = star_pi;
            si = star_si + 1;
            resume = Some((star_pi, si));
        }
        if si == 0 {
            return pat.is_empty();
        }
        // The string is used up: trailing stars match nothing.
        while pi < pat.len() && pat[pi] == b'*' {
            pi += 1;
        }
        pi == pat.len()
    }

    fn token(&self, pi: usize, c: u8) -> Option<usize> {
        if self.pat[pi] == b'['
            && let Ok(i) = self.sets.binary_search_by_key(&pi, |s| s.0)
        {
            let (_, next, bits) = &self.sets[i];
            return (bits[(c >> 6) as usize] >> (c & 63) & 1 == 1).then_some(*next);
        }
        token(self.pat, pi, c, self.nocase)
    }
}

/// True if `s` matches `pat`, for a single string. See `Glob::matches`.
pub fn glob_match(pat: &[u8], s: &[u8], nocase: bool) -> bool {
    Glob::new(pat, nocase).matches(s)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Matches the one-byte token at `pat[pi]` (not a star) against `c`. Returns where the
/// next token starts, or None if `c` does not match.
fn token(pat: &[u8], mut pi: usize, c: u8, nocase: bool) -> Option<usize> {
    match pat[pi] {
        b'?' => Some(pi + 1),
        b'[' => class(pat, pi + 1, c, nocase),
        b'\\' if pi + 1 < pat.len() => eq(pat[pi + 1], c, nocase).then_some(pi + 2),
        p => {
            pi += 1;
            eq(p, c, nocase).then_some(pi)
        }
    }
}

/// One element of a class body.
enum Elem {
    /// `\x`: `x`, compared exactly even without case.
    Escaped(u8),
    /// `a-z`, ends put in order.
    Range(u8, u8),
    Byte(u8),
}

/// Walks a class whose body starts at `pat[pi]` (just after `[`), with Redis's rules: a
/// leading `^` negates, a class left open runs to the end of the pattern, `\x` is `x`,
/// and `a-z` is a range whose ends may come in either order. Returns whether the class
/// is negated and where the next token starts.
fn walk_class(pat: &[u8], mut pi: usize, mut each: impl FnMut(Elem)) -> (bool, usize) {
    let negate = pat.get(pi) == Some(&b'^');
    if negate {
        pi += 1;
    }
    while let Some(&b) = pat.get(pi) {
        if b == b'\\' && pi + 1 < pat.len() {
            pi += 1;
            each(Elem::Escaped(pat[pi]));
        } else if b == b']' {
            pi += 1;
            break;
        } else if pi + 2 < pat.len() && pat[pi + 1] == b'-' {
            let (lo, hi) = (b, pat[pi + 2]);
            each(Elem::Range(lo.min(hi), lo.max(hi)));
            pi += 2;
        } else {
            each(Elem::Byte(b));
        }
        pi += 1;
    }
    (negate, pi)
}

/// Matches the class whose body starts at `pat[pi]` against `c` by scanning it. Returns
/// where the next token starts, or None if `c` does not match.
fn class(pat: &[u8], pi: usize, c: u8, nocase: bool) -> Option<usize> {
    let mut hit = false;
    let (negate, next) = walk_class(pat, pi, |e| {
        hit |= match e {
            Elem::Escaped(x) => x == c,
            Elem::Range(lo, hi) if nocase => (lo.to_ascii_lowercase()..=hi.to_ascii_lowercase())
                .contains(&c.to_ascii_lowercase()),
            Elem::Range(lo, hi) => (lo..=hi).contains(&c),
            Elem::Byte(x) => eq(x, c, nocase),
        }
    });
    (hit != negate).then_some(next)
}

/// The bytes the class whose body starts at `pat[pi]` accepts, as a bit set, in one pass
/// over the body. Returns where the next token starts, and the set.
fn class_set(pat: &[u8], pi: usize, nocase: bool) -> (usize, [u64; 4]) {
    let mut bits = [0u64; 4];
    let mut add = |lo: u8, hi: u8| {
        for c in lo..=hi {
            bits[(c >> 6) as usize] |= 1 << (c & 63);
        }
    };
    let (negate, next) = walk_class(pat, pi, |e| match e {
        Elem::Escaped(x) => add(x, x),
        Elem::Range(lo, hi) if nocase => {
            // `class` compares the lowercased byte against the lowercased ends.
            let (lo, hi) = (lo.to_ascii_lowercase(), hi.to_ascii_lowercase());
            if lo <= hi {
                add_lowered(&mut add, lo, hi);
            }
        }
        Elem::Range(lo, hi) => add(lo, hi),
        Elem::Byte(x) if nocase => {
            add(x.to_ascii_lowercase(), x.to_ascii_lowercase());
            add(x.to_ascii_uppercase(), x.to_ascii_uppercase());
        }
        Elem::Byte(x) => add(x, x),
    });
    if negate {
        for w in &mut bits {
            *w = !*w;
        }
    }
    (next, bits)
}

/// Adds every byte whose ASCII lowercase lies in `lo..=hi`: the range itself without
/// the capitals, plus the capitals of the lowercase letters in it.
fn add_lowered(add: &mut impl FnMut(u8, u8), lo: u8, hi: u8) {
    for c in lo..=hi {
        if !c.is_ascii_uppercase() {
            add(c, c);
        }
        if c.is_ascii_lowercase() {
            add(c.to_ascii_uppercase(), c.to_ascii_uppercase());
        }
    }
}

/// Redis's matcher, restated as plain recursion (exponential, for small inputs only):
/// the reference the linear matcher is checked against, by the unit tests below and by
/// the glob fuzz target (`src/fuzz.rs`). It shares the byte-level tokens with `Glob`, so
/// what it checks is the star and backtracking logic, and, through long classes, the bit
/// sets against scanning.
pub(crate) fn reference(p: &[u8], s: &[u8], nocase: bool, depth: usize) -> bool {
    if depth > MAX_STAR_GROUPS {
        return false;
    }
    let (mut p, mut s) = (p, s);
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                return (0..s.len()).any(|i| reference(&p[1..], &s[i..], nocase, depth + 1));
            }
            b'[' => match class(p, 1, s[0], nocase) {
                Some(next) => {
                    p = &p[next - 1..];
                    s = &s[1..];
                }
                None => return false,
            },
            _ => match token(p, 0, s[0], nocase) {
                Some(next) => {
                    p = &p[next - 1..];
                    s = &s[1..];
                }
                None => return false,
            },
        }
        p = &p[1..];
        if s.is_empty() {
            while !p.is_empty() && p[0] == b'*' {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::{glob_match, reference};

    #[test]
    fn patterns() {
        let m = |p: &str, s: &str| glob_match(p.as_bytes(), s.as_bytes(), false);
        assert!(m("*", "anything"));
        assert!(!m("*", ""));
        assert!(m("", ""));
        assert!(m("user:*", "user:1"));
        assert!(!m("user:*", "users"));
        assert!(m("h?llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("abc", "ab"));
        assert!(m("a*", "a"));
        assert!(m("ab\\", "ab\\"));
        // An open class runs to the end of the pattern.
        assert!(m("a[bc", "ab"));
        assert!(!m("a[bc", "abc"));
        assert!(m("a[^", "ax"));
        assert!(m("[\\]]", "]"));
        assert!(m("[a-]", "]"));
        assert!(glob_match(b"MAX*", b"maxmemory", true));
        assert!(glob_match(b"[A-C]x", b"bX", true));
    }

    #[test]
    fn pathological_patterns_answer_at_once() {
        let key = vec![b'a'; 100_000];
        let mut pat = b"a*".repeat(500);
        pat.push(b'b');
        let start = std::time::Instant::now();
        assert!(!glob_match(&pat, &key, false));
        assert!(!glob_match(
            b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
            &key[..40],
            false
        ));
        let mut many = b"*".to_vec();
        many.extend(b"a*".repeat(MAX_GROUPS_TEST));
        assert!(!glob_match(&many, &key, false));
        assert!(start.elapsed().as_secs() < 5);
    }

    const MAX_GROUPS_TEST: usize = super::MAX_STAR_GROUPS + 5;

    /// A class's bit set accepts exactly the bytes its scan accepts, for random classes
    /// made of the characters that mean something inside one.
    #[test]
    fn class_sets_agree_with_scanning() {
        let mut x: u64 = 0x5eed;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let alphabet = b"aAzZ09-^]\\[_`{\x7f\xff";
        for _ in 0..20_000 {
            let len = rnd(12) as usize;
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[rnd(alphabet.len() as u64) as usize])
                .collect();
            let mut pat = b"[".to_vec();
            pat.extend(&body);
            for nocase in [false, true] {
                let (next, bits) = super::class_set(&pat, 1, nocase);
                for c in 0..=255u8 {
                    let scanned = super::class(&pat, 1, c, nocase);
                    let set = bits[(c >> 6) as usize] >> (c & 63) & 1 == 1;
                    assert_eq!(
                        scanned.is_some(),
                        set,
                        "{:?} {c} {nocase}",
                        String::from_utf8_lossy(&pat)
                    );
                    if let Some(n) = scanned {
                        assert_eq!(n, next);
                    }
                }
            }
        }
    }

    #[test]
    fn long_classes_against_long_strings() {
        let key = vec![b'a'; 200_000];
        let pat = [b"*[".as_slice(), &b"xyzxyz-w".repeat(2000), b"]*b"].concat();
        let start = std::time::Instant::now();
        assert!(!glob_match(&pat, &key, false));
        let pat = [
            b"*[".as_slice(),
            &b"xyzxyz-w".repeat(2000),
            b"a]".as_slice(),
        ]
        .concat();
        assert!(glob_match(&pat, &key, false));
        assert!(start.elapsed().as_secs() < 5);
    }

    #[test]
    fn star_groups_limited_like_redis() {
        let s = vec![b'a'; 2000];
        let mut ok = b"a*".repeat(super::MAX_STAR_GROUPS);
        ok.push(b'a');
        assert!(glob_match(&ok, &s, false));
        let mut over = b"a*".repeat(super::MAX_STAR_GROUPS + 1);
        over.push(b'a');
        assert!(!glob_match(&over, &s, false));
        // A trailing star does not count: Redis answers it before nesting.
        let trailing = b"a*".repeat(super::MAX_STAR_GROUPS + 1);
        assert!(glob_match(&trailing, &s, false));
    }

    /// Every pattern of up to 5 tokens from a small alphabet against every string of up to
    /// 5 bytes: the linear matcher and the reference agree.
    #[test]
    fn agrees_with_reference() {
        let toks: &[&[u8]] = &[
            b"*", b"?", b"a", b"b", b"[ab]", b"[^a]", b"[a-b]", b"\\*", b"\\", b"[", b"[b-a", b"]",
            b"A",
        ];
        let alphabet = b"ab*A]";
        let mut strings: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=4 {
            let mut next = Vec::new();
            for s in strings.iter().filter(|s| s.len() == len - 1) {
                for &c in alphabet {
                    let mut t = s.clone();
                    t.push(c);
                    next.push(t);
                }
            }
            strings.extend(next);
        }
        let mut pats: Vec<Vec<u8>> = vec![Vec::new()];
        let mut frontier = pats.clone();
        for _ in 0..4 {
            let mut next = Vec::new();
            for p in &frontier {
                for t in toks {
                    let mut q = p.clone();
                    q.extend_from_slice(t);
                    next.push(q);
                }
            }
            pats.extend(next.iter().cloned());
            frontier = next;
        }
        for p in &pats {
            for s in &strings {
                for nocase in [false, true] {
                    assert_eq!(
                        glob_match(p, s, nocase),
                        reference(p, s, nocase, 0),
                        "pattern {:?} string {:?} nocase {nocase}",
                        String::from_utf8_lossy(p),
                        String::from_utf8_lossy(s),
                    );
                }
            }
        }
    }
}
