//! POSIX shell words: splitting as Python's `shlex.split(s, comments=True)` does
//! ([`split_with_offsets`], [`split`]) and quoting for `/bin/sh` ([`quote`]).

/// Splits a line the way Python's `shlex.split(line, comments=True)` does (POSIX mode).
/// Each token comes with the byte offset where it starts.
pub fn split_with_offsets(line: &str) -> Result<Vec<(usize, String)>, String> {
    #[derive(PartialEq, Clone, Copy)]
    enum State {
        Space,
        Word,
        Single,
        Double,
        Escape(bool), // true: escape inside double quotes
    }
    let mut tokens = Vec::new();
    let mut token = String::new();
    let mut start = 0;
    let mut quoted = false;
    let mut state = State::Space;
    for (i, c) in line.char_indices() {
        match state {
            State::Space | State::Word => {
                if matches!(c, ' ' | '\t' | '\r' | '\n') || c == '#' {
                    if state == State::Word && (!token.is_empty() || quoted) {
                        tokens.push((start, std::mem::take(&mut token)));
                    }
                    quoted = false;
                    state = State::Space;
                    if c == '#' {
                        return Ok(tokens);
                    }
                    continue;
                }
                if state == State::Space {
                    start = i;
                    state = State::Word;
                }
                match c {
                    '\'' => state = State::Single,
                    '"' => state = State::Double,
                    '\\' => state = State::Escape(false),
                    _ => token.push(c),
                }
            }
            State::Single => {
                quoted = true;
                if c == '\'' {
                    state = State::Word
                } else {
                    token.push(c)
                }
            }
            State::Double => {
                quoted = true;
                match c {
                    '"' => state = State::Word,
                    '\\' => state = State::Escape(true),
                    _ => token.push(c),
                }
            }
            State::Escape(in_double) => {
                if in_double && c != '"' && c != '\\' {
                    token.push('\\');
                }
                token.push(c);
                state = if in_double {
                    State::Double
                } else {
                    State::Word
                };
            }
        }
    }
    match state {
        State::Single | State::Double => Err("No closing quotation".into()),
        State::Escape(_) => Err("No escaped character".into()),
        State::Word if !token.is_empty() || quoted => {
            tokens.push((start, token));
            Ok(tokens)
        }
        _ => Ok(tokens),
    }
}

/// Splits a command line into words (quotes removed, `#` starts a comment).
pub fn split(line: &str) -> Result<Vec<String>, String> {
    Ok(split_with_offsets(line)?
        .into_iter()
        .map(|(_, w)| w)
        .collect())
}

/// A random word of `bytes` bytes in hex: safe unquoted in a shell line, for the markers
/// and keys that tell horde's own lines from a command's output.
pub fn nonce(bytes: usize) -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// Quotes a word for `/bin/sh` (single quotes, `'` written as `'\''`); plain words stay as
/// they are.
pub fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        split_with_offsets(s)
            .unwrap()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    #[test]
    fn shlex_like_python() {
        assert_eq!(
            toks("h a=1 b='x y' c=\"q\\\"z\""),
            ["h", "a=1", "b=x y", "c=q\"z"]
        );
        assert_eq!(toks("h a=1 # comment"), ["h", "a=1"]);
        assert_eq!(toks("h a=b#c d=1"), ["h", "a=b"]);
        assert_eq!(toks("h e=''"), ["h", "e="]);
        assert_eq!(toks("h x=\"a\\nb\""), ["h", "x=a\\nb"]);
        assert!(split_with_offsets("h a='x").is_err());
    }

    #[test]
    fn quoting_round_trips() {
        for w in ["plain", "two words", "it's", "", "$HOME", "a\\b"] {
            assert_eq!(split(&quote(w)).unwrap(), vec![w.to_string()]);
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = split(&s);
        }

        #[test]
        fn quote_then_split_is_identity(w in "\\PC{0,20}") {
            proptest::prop_assert_eq!(split(&quote(&w)).unwrap(), vec![w.clone()]);
        }
    }
}
