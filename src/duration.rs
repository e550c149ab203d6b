//! Seconds from user input (flags, playbook keys, inventory variables, template results)
//! as a [`Duration`], refused with a message rather than a panic when negative, not a
//! number, infinite or longer than [`MAX`].

use std::time::Duration;

/// The longest wait horde accepts: 100 years. Anything longer is a mistake, and a deadline
/// this far from now still fits an `Instant` (`Instant + d` panics on overflow).
pub const MAX: Duration = Duration::from_secs(100 * 365 * 86400);

/// `secs` seconds, or why not: "`1e20` is not a number of seconds from 0 to 3153600000
/// (100 years)". Callers put the flag, key or variable before it.
pub fn from_secs(secs: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| *d <= MAX)
        .ok_or_else(|| {
            format!(
                "{} is not a number of seconds from 0 to {} (100 years)",
                number_text(secs),
                MAX.as_secs()
            )
        })
}

/// A number as a person would write it: `1e20` rather than twenty-one digits.
fn number_text(x: f64) -> String {
    if x.is_finite() && x.abs() >= 1e15 {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_in_range_convert_and_the_others_say_why() {
        assert_eq!(from_secs(0.0), Ok(Duration::ZERO));
        assert_eq!(from_secs(1.5), Ok(Duration::from_millis(1500)));
        assert_eq!(from_secs(MAX.as_secs_f64()), Ok(MAX));
        let err = |s: f64| from_secs(s).unwrap_err();
        assert_eq!(
            err(1e20),
            "1e20 is not a number of seconds from 0 to 3153600000 (100 years)"
        );
        assert!(err(-1.0).starts_with("-1 is not"), "{}", err(-1.0));
        assert!(err(f64::INFINITY).starts_with("inf is not"));
        assert!(err(f64::NAN).starts_with("NaN is not"));
        assert!(err(MAX.as_secs_f64() + 1.0).starts_with("3153600001 is not"));
    }
}
