//! VRT amounts as users type and read them: `1.5` is 1.5 VRT (12 decimals).

use std::{fmt, str::FromStr};

use verity_runtime::{currency::UNIT, Balance};

/// Decimals of the VRT token.
const DECIMALS: usize = 12;

/// An amount of VRT, held in the chain's smallest unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(pub Balance);

/// Parses a non-negative decimal number with at most `decimals` decimals into
/// an integer scaled by 10^`decimals` (`parse_decimal("1.5", 2) == Ok(150)`).
pub fn parse_decimal(s: &str, decimals: usize) -> Result<u128, String> {
	let bad = || format!("{s:?} is not a non-negative decimal number (e.g. 10 or 0.25)");
	let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
	if whole.is_empty() && frac.is_empty()
		|| !whole.bytes().all(|b| b.is_ascii_digit())
		|| !frac.bytes().all(|b| b.is_ascii_digit())
	{
		return Err(bad());
	}
	if frac.len() > decimals {
		return Err(format!("{s:?} has more than {decimals} decimals"));
	}
	let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
	let frac: u128 =
		if decimals == 0 { 0 } else { format!("{frac:0<decimals$}").parse().map_err(|_| bad())? };
	whole
		.checked_mul(10u128.pow(decimals as u32))
		.and_then(|w| w.checked_add(frac))
		.ok_or_else(|| format!("{s:?} is too large"))
}

impl FromStr for Amount {
	type Err = String;

	fn from_str(s: &str) -> Result<Self, String> {
		parse_decimal(s, DECIMALS).map(Amount)
	}
}

impl fmt::Display for Amount {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		let (whole, frac) = (self.0 / UNIT, self.0 % UNIT);
		if frac == 0 {
			write!(f, "{whole} VRT")
		} else {
			let frac = format!("{frac:0>DECIMALS$}");
			write!(f, "{whole}.{} VRT", frac.trim_end_matches('0'))
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn amounts_parse_and_print() {
		assert_eq!("10".parse::<Amount>(), Ok(Amount(10 * UNIT)));
		assert_eq!("0.25".parse::<Amount>(), Ok(Amount(UNIT / 4)));
		assert_eq!(".5".parse::<Amount>(), Ok(Amount(UNIT / 2)));
		assert_eq!("0.000000000001".parse::<Amount>(), Ok(Amount(1)));
		assert!("0.0000000000001".parse::<Amount>().unwrap_err().contains("decimals"));
		assert!("1e3".parse::<Amount>().is_err());
		assert!("-1".parse::<Amount>().is_err());
		assert!("".parse::<Amount>().is_err());
		assert!("999999999999999999999999999999".parse::<Amount>().unwrap_err().contains("large"));
		assert_eq!(Amount(1_022 * UNIT / 1000).to_string(), "1.022 VRT");
		assert_eq!(Amount(5 * UNIT).to_string(), "5 VRT");
	}
}
