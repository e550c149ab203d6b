//! Typing of plain scalars with PyYAML's YAML 1.1 implicit resolvers, which is what Ansible's
//! loader uses: `yes`/`off` are booleans, `0755` is octal, `1_000` is an integer, `1:30` is
//! sexagesimal, but `y`, `1e3` (no sign in the exponent) and `0o17` stay strings.

use super::node::NodeKind;
use regex::Regex;
use std::sync::LazyLock;

static INT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
    )
    .expect("static regex")
});

static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    )
    .expect("static regex")
});

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:([0-9]{4})-([0-9]{2})-([0-9]{2})|([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)$",
    )
    .expect("static regex")
});

/// A YAML 1.1 timestamp as Ansible shows it: Python's `isoformat()` of the date or datetime
/// PyYAML builds (`2001-12-14`, `2001-12-14T21:59:43.100000-05:00`).
fn timestamp(text: &str) -> Option<String> {
    let m = TIMESTAMP.captures(text)?;
    let num = |i: usize| m.get(i).and_then(|g| g.as_str().parse::<u32>().ok());
    let valid_date = |y: u32, mo: u32, d: u32| {
        let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
        let days = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        y >= 1 && (1..=12).contains(&mo) && d >= 1 && d <= days[(mo - 1) as usize]
    };
    if let (Some(y), Some(mo), Some(d)) = (num(1), num(2), num(3)) {
        return valid_date(y, mo, d).then(|| format!("{y:04}-{mo:02}-{d:02}"));
    }
    let (y, mo, d, h, mi, s) = (num(4)?, num(5)?, num(6)?, num(7)?, num(8)?, num(9)?);
    if !valid_date(y, mo, d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    if let Some(frac) = m.get(10).map(|g| g.as_str()).filter(|f| !f.is_empty()) {
        let micros: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
        if micros != "000000" {
            out.push('.');
            out.push_str(&micros);
        }
    }
    match m.get(11).map(|g| g.as_str()) {
        Some("Z") => out.push_str("+00:00"),
        Some(_) => {
            let sign = m.get(12).map_or("+", |g| g.as_str());
            let (th, tm) = (num(13).unwrap_or(0), num(14).unwrap_or(0));
            let sign = if th == 0 && tm == 0 { "+" } else { sign };
            out.push_str(&format!("{sign}{th:02}:{tm:02}"));
        }
        None => {}
    }
    Some(out)
}

/// Types a plain (unquoted, untagged) scalar.
pub fn plain(text: &str) -> NodeKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return NodeKind::Bool(true);
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return NodeKind::Bool(false);
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if matches!(first, b'-' | b'+' | b'0'..=b'9' | b'.') {
        if FLOAT.is_match(text) {
            if let Some(f) = construct_float(text) {
                return NodeKind::Float(f);
            }
        } else if first != b'.' && INT.is_match(text) {
            if let Some(kind) = construct_int(text) {
                return kind;
            }
        } else if first.is_ascii_digit()
            && let Some(iso) = timestamp(text)
        {
            return NodeKind::Str(iso);
        }
    }
    NodeKind::Str(text.to_string())
}

/// Types a scalar with an explicit core tag (`!!int "12"`); `None` when the text does not fit.
pub fn tagged(suffix: &str, text: &str) -> Option<NodeKind> {
    match suffix {
        "str" => Some(NodeKind::Str(text.to_string())),
        "null" => Some(NodeKind::Null),
        "bool" => match plain(text) {
            k @ NodeKind::Bool(_) => Some(k),
            _ => None,
        },
        "int" => construct_int(text),
        "float" => construct_float(text).map(NodeKind::Float),
        _ => None,
    }
}

fn split_sign(text: &str) -> (i64, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    }
}

fn construct_int(text: &str) -> Option<NodeKind> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let (sign, digits) = split_sign(&cleaned);
    let exact = if digits == "0" {
        Ok(0)
    } else if let Some(bin) = digits.strip_prefix("0b") {
        radix_int(bin, 2)?
    } else if let Some(hex) = digits.strip_prefix("0x") {
        radix_int(hex, 16)?
    } else if digits.starts_with('0') {
        radix_int(digits, 8)?
    } else if digits.contains(':') {
        sexagesimal(digits)?
    } else {
        match digits.parse::<i128>() {
            Ok(v) => Ok(v),
            Err(_) => Err(digits.parse::<f64>().ok()?),
        }
    };
    // Python ints are unbounded; beyond i128 a float is the closest we keep.
    let magnitude = match exact {
        Ok(v) => v,
        Err(f) => return Some(NodeKind::Float(sign as f64 * f)),
    };
    let value = magnitude * sign as i128;
    Some(match i64::try_from(value) {
        Ok(v) => NodeKind::Int(v),
        Err(_) => match u64::try_from(value) {
            Ok(v) => NodeKind::UInt(v),
            Err(_) => NodeKind::Float(value as f64),
        },
    })
}

/// Digits in `radix`: `None` if they are not all digits, `Err` with the nearest float if
/// the value does not fit i128.
fn radix_int(digits: &str, radix: u32) -> Option<Result<i128, f64>> {
    let values: Vec<u32> = digits
        .chars()
        .map(|c| c.to_digit(radix))
        .collect::<Option<_>>()?;
    if values.is_empty() {
        return None;
    }
    Some(place_value(&values, radix))
}

/// `1:30:00`, base 60 (YAML 1.1): as [`radix_int`].
fn sexagesimal(text: &str) -> Option<Result<i128, f64>> {
    let parts: Vec<&str> = text.split(':').collect();
    if !parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let exact = parts.iter().try_fold(0i128, |acc, p| {
        acc.checked_mul(60)?.checked_add(p.parse::<i128>().ok()?)
    });
    Some(exact.ok_or_else(|| {
        parts
            .iter()
            .fold(0.0, |acc, p| acc * 60.0 + p.parse::<f64>().unwrap_or(0.0))
    }))
}

/// The number with these digits in base `radix`, or the nearest float past i128.
fn place_value(digits: &[u32], radix: u32) -> Result<i128, f64> {
    digits
        .iter()
        .try_fold(0i128, |acc, &d| {
            acc.checked_mul(i128::from(radix))?
                .checked_add(i128::from(d))
        })
        .ok_or_else(|| {
            digits
                .iter()
                .fold(0.0, |acc, &d| acc * f64::from(radix) + f64::from(d))
        })
}

fn construct_float(text: &str) -> Option<f64> {
    let cleaned: String = text
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_lowercase();
    let (sign, body) = split_sign(&cleaned);
    let sign = sign as f64;
    if body == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if body == ".nan" {
        return Some(f64::NAN);
    }
    if body.contains(':') {
        let mut value = 0.0;
        for part in body.split(':') {
            value = value * 60.0 + part.parse::<f64>().ok()?;
        }
        return Some(sign * value);
    }
    body.parse::<f64>().ok().map(|f| sign * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_yaml_1_1() {
        assert_eq!(plain("yes"), NodeKind::Bool(true));
        assert_eq!(plain("OFF"), NodeKind::Bool(false));
        assert_eq!(plain("y"), NodeKind::Str("y".into()));
        assert_eq!(plain("yEs"), NodeKind::Str("yEs".into()));
    }

    #[test]
    fn numbers_follow_pyyaml() {
        assert_eq!(plain("0755"), NodeKind::Int(493));
        assert_eq!(plain("0x1f"), NodeKind::Int(31));
        assert_eq!(plain("1_000"), NodeKind::Int(1000));
        assert_eq!(plain("-12"), NodeKind::Int(-12));
        assert_eq!(plain("1:30"), NodeKind::Int(90));
        assert_eq!(plain("0b101"), NodeKind::Int(5));
        assert_eq!(plain("1.5"), NodeKind::Float(1.5));
        assert_eq!(plain("1.5e+3"), NodeKind::Float(1500.0));
        assert_eq!(plain("1e3"), NodeKind::Str("1e3".into()));
        assert_eq!(plain("1.5e3"), NodeKind::Str("1.5e3".into()));
        assert_eq!(plain("0o17"), NodeKind::Str("0o17".into()));
        assert_eq!(plain("089"), NodeKind::Str("089".into()));
        assert_eq!(plain(".5"), NodeKind::Float(0.5));
        assert_eq!(plain("1."), NodeKind::Float(1.0));
        assert_eq!(plain("-.inf"), NodeKind::Float(f64::NEG_INFINITY));
        assert_eq!(plain("1.2.3"), NodeKind::Str("1.2.3".into()));
    }

    /// PyYAML reads these as Python ints of any size; beyond i128 horde keeps the nearest
    /// float, as it does for long decimal integers.
    #[test]
    fn integers_beyond_i128_become_floats() {
        // Digit by digit, the float may be a few ulps from the nearest one.
        let near = |text: &str, want: f64| match plain(text) {
            NodeKind::Float(f) => assert!((f - want).abs() <= want.abs() * 1e-15, "{text}: {f}"),
            other => panic!("{text}: {other:?}"),
        };
        let sexa = format!("1{}", ":0".repeat(22));
        near(&sexa, 60f64.powi(22));
        near(&format!("-{sexa}"), -(60f64.powi(22)));
        near(&format!("{}:30", "9".repeat(40)), 6e41);
        near(&format!("0x{}", "f".repeat(40)), 16f64.powi(40));
        near(&format!("0b1{}", "0".repeat(130)), 2f64.powi(130));
        near(&format!("01{}", "0".repeat(50)), 8f64.powi(50));
        near(&"9".repeat(50), 1e50);
        assert_eq!(plain("190:20:30"), NodeKind::Int(685230));
        assert_eq!(plain("-1:30"), NodeKind::Int(-90));
        assert_eq!(tagged("int", "1:x"), None);
    }

    #[test]
    fn timestamps_print_as_isoformat() {
        let s = |t: &str| match plain(t) {
            NodeKind::Str(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(s("2001-12-14"), "2001-12-14");
        assert_eq!(
            s("2001-12-14t21:59:43.10-05:00"),
            "2001-12-14T21:59:43.100000-05:00"
        );
        assert_eq!(s("2001-12-14 21:59:43.10"), "2001-12-14T21:59:43.100000");
        assert_eq!(s("2002-12-14T21:59:43Z"), "2002-12-14T21:59:43+00:00");
        assert_eq!(s("2001-2-3"), "2001-2-3");
    }

    #[test]
    fn nulls() {
        assert_eq!(plain("~"), NodeKind::Null);
        assert_eq!(plain(""), NodeKind::Null);
        assert_eq!(plain("nulL"), NodeKind::Str("nulL".into()));
    }
}
