//! Kubernetes resource quantities such as `10Gi`, `500m` or `1.5`, for capacities and the
//! sidecar's CPU and memory.

use std::fmt;

/// A quantity that does not follow the Kubernetes grammar. The `Display` is the rule text of
/// a validation message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text is not `<signed number><suffix>`.
    #[error(
        "must be a quantity such as \"10Gi\", \"500m\" or \"1.5\": a number with an optional suffix (Ki, Mi, Gi, Ti, Pi, Ei, m, k, M, G, T, P, E)"
    )]
    Invalid,
}

/// What follows the number of a quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Suffix {
    /// A power of 1024: `Ki` is 1, `Mi` 2, up to `Ei` 6.
    Binary(i32),
    /// A power of ten from an SI prefix (`n` -9 to `E` 18, none 0) or an `e`/`E` exponent.
    Decimal(i32),
}

/// A Kubernetes resource quantity, parsed from `<signed number><suffix>` exactly as the
/// apiserver's `resource.ParseQuantity` and the CRD schema pattern accept it.
///
/// The `Display` gives back the text as written; [`Quantity::as_f64`] gives an approximate
/// value for comparisons such as "at least 1Gi".
#[derive(Clone, Debug, PartialEq)]
pub struct Quantity {
    text: String,
    negative: bool,
    /// The digits before the decimal point.
    whole: String,
    /// The digits after the decimal point.
    fraction: String,
    suffix: Suffix,
}

impl Quantity {
    /// Parses a quantity: an optional `+` or `-`, a number (`1`, `1.5`, `.5` or `5.`) and a
    /// suffix: binary (`Ki` `Mi` `Gi` `Ti` `Pi` `Ei`), decimal SI (`n` `u` `m` `k` `M` `G`
    /// `T` `P` `E` or none) or a decimal exponent (`e` or `E` and a signed integer).
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        let (negative, rest) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (whole, rest) = split_digits(rest);
        let (fraction, rest) = match rest.strip_prefix('.') {
            Some(after_point) => split_digits(after_point),
            None => ("", rest),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(QuantityError::Invalid);
        }
        Ok(Quantity {
            text: s.to_owned(),
            negative,
            whole: whole.to_owned(),
            fraction: fraction.to_owned(),
            suffix: parse_suffix(rest).ok_or(QuantityError::Invalid)?,
        })
    }

    /// Whether the quantity is below zero (`-0` is not).
    pub fn is_negative(&self) -> bool {
        self.negative && !self.is_zero()
    }

    /// Whether the quantity is zero, whatever its suffix (`0Gi`, `-0.0`).
    pub fn is_zero(&self) -> bool {
        self.whole
            .bytes()
            .chain(self.fraction.bytes())
            .all(|b| b == b'0')
    }

    /// The value in base units (bytes, cores), approximately: good for comparisons, not for
    /// arithmetic that must be exact. Huge exponents give infinity.
    pub fn as_f64(&self) -> f64 {
        let number = format!(
            "{}.{}",
            digits_or_zero(&self.whole),
            digits_or_zero(&self.fraction)
        );
        let magnitude = number.parse::<f64>().unwrap_or(f64::NAN);
        let scale = match self.suffix {
            Suffix::Binary(power) => 1024f64.powi(power),
            Suffix::Decimal(power) => 10f64.powi(power),
        };
        let value = magnitude * scale;
        if self.negative { -value } else { value }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Splits `s` after its leading ASCII digits.
fn split_digits(s: &str) -> (&str, &str) {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

/// `digits`, or `0` when there are none, so `.5` and `5.` read as numbers.
fn digits_or_zero(digits: &str) -> &str {
    if digits.is_empty() { "0" } else { digits }
}

/// Parses what follows the number.
fn parse_suffix(s: &str) -> Option<Suffix> {
    let suffix = match s {
        "Ki" => Suffix::Binary(1),
        "Mi" => Suffix::Binary(2),
        "Gi" => Suffix::Binary(3),
        "Ti" => Suffix::Binary(4),
        "Pi" => Suffix::Binary(5),
        "Ei" => Suffix::Binary(6),
        "n" => Suffix::Decimal(-9),
        "u" => Suffix::Decimal(-6),
        "m" => Suffix::Decimal(-3),
        "" => Suffix::Decimal(0),
        "k" => Suffix::Decimal(3),
        "M" => Suffix::Decimal(6),
        "G" => Suffix::Decimal(9),
        "T" => Suffix::Decimal(12),
        "P" => Suffix::Decimal(15),
        "E" => Suffix::Decimal(18),
        _ => {
            let exponent = s.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // The apiserver reads the exponent as a 64-bit integer and refuses larger ones.
            let exponent = exponent.parse::<i64>().ok()?;
            let clamped = exponent.clamp(i64::from(i32::MIN), i64::from(i32::MAX));
            Suffix::Decimal(i32::try_from(clamped).ok()?)
        }
    };
    Some(suffix)
}

#[cfg(test)]
mod tests;
