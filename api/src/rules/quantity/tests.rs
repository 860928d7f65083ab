use proptest::prelude::*;

use super::*;

const INVALID: &str = "must be a quantity such as \"10Gi\", \"500m\" or \"1.5\": a number with an optional suffix (Ki, Mi, Gi, Ti, Pi, Ei, m, k, M, G, T, P, E)";

#[test]
fn accepts_the_kubernetes_grammar() {
    let cases: &[(&str, f64)] = &[
        ("0", 0.0),
        ("1", 1.0),
        ("1.5", 1.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("+2", 2.0),
        ("-2", -2.0),
        ("10Gi", 10.0 * 1024.0 * 1024.0 * 1024.0),
        ("1Ki", 1024.0),
        ("1Ei", 1024f64.powi(6)),
        ("500m", 0.5),
        ("100n", 1e-7),
        ("3u", 3e-6),
        ("1k", 1e3),
        ("2M", 2e6),
        ("1.5G", 1.5e9),
        ("1T", 1e12),
        ("1P", 1e15),
        ("1E", 1e18),
        ("1e3", 1e3),
        ("1E3", 1e3),
        ("1e+3", 1e3),
        ("25e-1", 2.5),
        ("007", 7.0),
    ];
    for (input, value) in cases {
        let quantity = Quantity::parse(input);
        let approx = quantity.as_ref().map(Quantity::as_f64).unwrap_or(f64::NAN);
        assert!(
            (approx - value).abs() <= value.abs() * 1e-12,
            "{input:?}: {quantity:?}"
        );
        assert_eq!(quantity.map(|q| q.to_string()).as_deref(), Ok(*input));
    }
}

#[test]
fn refuses_everything_else() {
    for input in [
        "",
        "-",
        "+",
        ".",
        "Gi",
        "1.1.1",
        "1 Gi",
        " 1",
        "1 ",
        "1gi",
        "1KI",
        "1K",
        "1kb",
        "1Mb",
        "1i",
        "1e",
        "1e+",
        "1e1.5",
        "1ee3",
        "--1",
        "1-",
        "1,5",
        "0x10",
        "abc",
        "1e99999999999999999999",
        "1.5Gi ",
    ] {
        let message = Quantity::parse(input).err().map(|e| e.to_string());
        assert_eq!(message.as_deref(), Some(INVALID), "{input:?}");
    }
}

#[test]
fn tells_sign_and_zero() {
    let cases = [
        ("0", false, true),
        ("0Gi", false, true),
        ("-0.0", false, true),
        ("-1m", true, false),
        ("+1", false, false),
        ("-.5", true, false),
    ];
    for (input, negative, zero) in cases {
        let quantity = Quantity::parse(input).map(|q| (q.is_negative(), q.is_zero()));
        assert_eq!(quantity, Ok((negative, zero)), "{input:?}");
    }
}

proptest! {
    #[test]
    fn never_panics(input in any::<String>()) {
        if let Ok(quantity) = Quantity::parse(&input) {
            let _ = quantity.as_f64();
        }
    }

    #[test]
    fn never_panics_on_quantity_like_text(input in "[-+]?[0-9]{0,3}[.]?[0-9]{0,3}[eEiKMGTPnumk+-]{0,3}[0-9]{0,3}") {
        if let Ok(quantity) = Quantity::parse(&input) {
            let _ = quantity.as_f64();
        }
    }
}
