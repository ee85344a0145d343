//! Durations, periods and memory sizes in HOCON notation (Lightbend's unit rules).

use crate::value::parse_java_double;

/// Lightbend `unicodeTrim`: trims its whitespace set.
pub(crate) fn unicode_trim(s: &str) -> &str {
    s.trim_matches(crate::lexer::is_whitespace)
}

fn get_units(s: &str) -> &str {
    let mut idx = s.len();
    for (i, c) in s.char_indices().rev() {
        if !c.is_alphabetic() {
            break;
        }
        idx = i;
    }
    &s[idx..]
}

/// A calendar period (Java `Period`): years, months, days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Period {
    /// Years.
    pub years: i32,
    /// Months.
    pub months: i32,
    /// Days (weeks are stored as 7 days each).
    pub days: i32,
}

/// Parse a duration string into nanoseconds; `Err` carries the BadValue detail.
pub(crate) fn parse_duration_nanos(input: &str) -> Result<i64, String> {
    let s = unicode_trim(input);
    let original_unit = get_units(s);
    let number = unicode_trim(&s[..s.len() - original_unit.len()]);
    if number.is_empty() {
        return Err(format!("No number in duration value '{}'", input));
    }
    let mut unit = original_unit.to_string();
    if unit.chars().count() > 2 && !unit.ends_with('s') {
        unit.push('s');
    }
    let nanos_per: i64 = match unit.as_str() {
        "" | "ms" | "millis" | "milliseconds" => 1_000_000,
        "us" | "micros" | "microseconds" => 1_000,
        "ns" | "nanos" | "nanoseconds" => 1,
        "d" | "days" => 86_400_000_000_000,
        "h" | "hours" => 3_600_000_000_000,
        "s" | "seconds" => 1_000_000_000,
        "m" | "minutes" => 60_000_000_000,
        _ => {
            return Err(format!(
                "Could not parse time unit '{}' (try ns, us, ms, s, m, h, d)",
                original_unit
            ))
        }
    };
    let bad = || format!("Could not parse duration number '{}'", number);
    if is_java_integer_text(number) {
        let n: i64 = java_parse_long(number).ok_or_else(bad)?;
        Ok(n.saturating_mul(nanos_per))
    } else {
        let d = parse_java_double(number).ok_or_else(bad)?;
        Ok((d * nanos_per as f64) as i64)
    }
}

fn is_java_integer_text(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s);
    !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit())
}

/// Java `Long.parseLong`.
pub(crate) fn java_parse_long(s: &str) -> Option<i64> {
    if !is_java_integer_text(s) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// Parse a period string.
pub(crate) fn parse_period(input: &str) -> Result<Period, String> {
    let s = unicode_trim(input);
    let original_unit = get_units(s);
    let number = unicode_trim(&s[..s.len() - original_unit.len()]);
    if number.is_empty() {
        return Err(format!("No number in period value '{}'", input));
    }
    let mut unit = original_unit.to_string();
    if unit.chars().count() > 2 && !unit.ends_with('s') {
        unit.push('s');
    }
    let kind = match unit.as_str() {
        "" | "d" | "days" => 'd',
        "w" | "weeks" => 'w',
        "m" | "mo" | "months" => 'm',
        "y" | "years" => 'y',
        _ => {
            return Err(format!(
                "Could not parse time unit '{}' (try d, w, mo, y)",
                original_unit
            ))
        }
    };
    let n: i32 = crate::value::parse_java_int(number)
        .ok_or_else(|| format!("Could not parse duration number '{}'", number))?;
    Ok(match kind {
        'd' => Period {
            days: n,
            ..Default::default()
        },
        'w' => Period {
            days: n
                .checked_mul(7)
                .ok_or_else(|| format!("Could not parse duration number '{}'", number))?,
            ..Default::default()
        },
        'm' => Period {
            months: n,
            ..Default::default()
        },
        _ => Period {
            years: n,
            ..Default::default()
        },
    })
}

fn memory_unit(unit: &str) -> Option<(u32, u32)> {
    // (base, power)
    const PREFIXES: [(&str, u32, u32); 17] = [
        ("kilo", 1000, 1),
        ("mega", 1000, 2),
        ("giga", 1000, 3),
        ("tera", 1000, 4),
        ("peta", 1000, 5),
        ("exa", 1000, 6),
        ("zetta", 1000, 7),
        ("yotta", 1000, 8),
        ("kibi", 1024, 1),
        ("mebi", 1024, 2),
        ("gibi", 1024, 3),
        ("tebi", 1024, 4),
        ("pebi", 1024, 5),
        ("exbi", 1024, 6),
        ("zebi", 1024, 7),
        ("yobi", 1024, 8),
        ("", 1024, 0),
    ];
    if matches!(unit, "" | "b" | "B" | "byte" | "bytes") {
        return Some((1024, 0));
    }
    for (prefix, base, power) in PREFIXES {
        if prefix.is_empty() {
            continue;
        }
        if unit == format!("{}byte", prefix) || unit == format!("{}bytes", prefix) {
            return Some((base, power));
        }
        let first = &prefix[..1];
        let upper = first.to_uppercase();
        if base == 1024 {
            if unit == first
                || unit == upper
                || unit == format!("{}i", upper)
                || unit == format!("{}iB", upper)
            {
                return Some((base, power));
            }
        } else if (power == 1 && unit == format!("{}B", first))
            || (power != 1 && unit == format!("{}B", upper))
        {
            return Some((base, power));
        }
    }
    None
}

/// Arbitrary-size non-negative decimal integer result of a size parse, with sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BigBytes {
    pub negative: bool,
    /// Decimal digits, most significant first, no leading zeros ("0" for zero).
    pub digits: String,
}

impl BigBytes {
    pub(crate) fn from_i64(v: i64) -> BigBytes {
        BigBytes {
            negative: v < 0,
            digits: v.unsigned_abs().to_string(),
        }
    }
    pub(crate) fn to_i64(&self) -> Option<i64> {
        let m: i128 = self.digits.parse::<i128>().ok()?;
        let v = if self.negative { -m } else { m };
        i64::try_from(v).ok()
    }
    pub(crate) fn is_negative(&self) -> bool {
        self.negative && self.digits != "0"
    }
    pub(crate) fn to_string_signed(&self) -> String {
        if self.is_negative() {
            format!("-{}", self.digits)
        } else {
            self.digits.clone()
        }
    }
}

fn mul_small(digits: &mut Vec<u8>, m: u32) {
    // digits little-endian base 10
    let mut carry: u64 = 0;
    for d in digits.iter_mut() {
        let v = *d as u64 * m as u64 + carry;
        *d = (v % 10) as u8;
        carry = v / 10;
    }
    while carry > 0 {
        digits.push((carry % 10) as u8);
        carry /= 10;
    }
}

/// Parse a Java `BigDecimal` literal into (negative, digits little-endian, scale).
fn parse_big_decimal(s: &str) -> Option<(bool, Vec<u8>, i64)> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let exp: i64 = match exp {
        Some(e) => {
            let ed = e.strip_prefix(['+', '-']).unwrap_or(e);
            if ed.is_empty() || !ed.bytes().all(|c| c.is_ascii_digit()) || ed.len() > 9 {
                return None;
            }
            e.parse().ok()?
        }
        None => 0,
    };
    let (ip, fp) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    if ip.is_empty() && fp.is_empty() {
        return None;
    }
    if !ip.bytes().all(|c| c.is_ascii_digit()) || !fp.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let all: Vec<u8> = ip
        .bytes()
        .chain(fp.bytes())
        .rev()
        .map(|c| c - b'0')
        .collect();
    Some((neg, all, fp.len() as i64 - exp))
}

/// Parse a size string into bytes (arbitrary precision).
pub(crate) fn parse_bytes(input: &str) -> Result<BigBytes, String> {
    let s = unicode_trim(input);
    let unit = get_units(s);
    let number = unicode_trim(&s[..s.len() - unit.len()]);
    if number.is_empty() {
        return Err(format!("No number in size-in-bytes value '{}'", input));
    }
    let (base, power) = memory_unit(unit).ok_or_else(|| {
        format!(
            "Could not parse size-in-bytes unit '{}' (try k, K, kB, KiB, kilobytes, kibibytes)",
            unit
        )
    })?;
    let bad = || format!("Could not parse size-in-bytes number '{}'", number);
    let (neg, mut digits, scale) = parse_big_decimal(number).ok_or_else(bad)?;
    if scale < -100_000 {
        return Err(bad());
    }
    for _ in 0..power {
        mul_small(&mut digits, base);
    }
    // apply scale: positive scale drops digits (truncation toward zero), negative appends zeros
    if scale > 0 {
        let sc = scale as usize;
        if sc >= digits.len() {
            digits = vec![0];
        } else {
            digits.drain(..sc);
        }
    } else if scale < 0 {
        let mut z = vec![0u8; (-scale) as usize];
        z.extend(digits);
        digits = z;
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        digits.push(0);
    }
    let s: String = digits.iter().rev().map(|d| (b'0' + d) as char).collect();
    let negative = neg && s != "0";
    Ok(BigBytes {
        negative,
        digits: s,
    })
}
