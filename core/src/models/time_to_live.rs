//! A container's default time to live, typed over the `defaultTtl` wire field.

use crate::error::ConfigError;
use crate::models::validate::invalid;

/// How long items of a container live when they do not say so themselves (their own `ttl`).
///
/// On the wire this is the container's `defaultTtl`: absent is [`Off`](Self::Off), `-1` is
/// [`NoDefault`](Self::NoDefault) and a positive number is [`Seconds`](Self::Seconds). The
/// service refuses `0` and values below `-1`, so [`validate`](Self::validate) and the container
/// builder do too. The three states are those of the .NET SDK's
/// `ContainerProperties.DefaultTimeToLive` and the Rust SDK's `TimeToLive` (`Forever`,
/// `NoDefault`, `Seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DefaultTimeToLive {
    /// Time to live is off: items never expire, even with their own `ttl` (no `defaultTtl`).
    /// The default, as for a container created without one.
    #[default]
    Off,
    /// Time to live is on without a default: only items with their own `ttl` expire (`-1`).
    NoDefault,
    /// Items expire this many seconds after their last write unless their own `ttl` says
    /// otherwise. Must be at least 1.
    Seconds(i32),
}

/// What the service accepts for `defaultTtl`.
const EXPECTED: &str =
    "-1 (on, no default) or 1 to 2147483647 seconds; leave it unset to turn time to live off";

impl DefaultTimeToLive {
    /// Reads the wire field `defaultTtl`. `0` and values below `-1` are refused, naming the
    /// field.
    pub fn from_wire(default_ttl: Option<i32>) -> Result<Self, ConfigError> {
        match default_ttl {
            None => Ok(DefaultTimeToLive::Off),
            Some(-1) => Ok(DefaultTimeToLive::NoDefault),
            Some(n) if n > 0 => Ok(DefaultTimeToLive::Seconds(n)),
            Some(n) => Err(invalid("defaultTtl", n.to_string(), EXPECTED)),
        }
    }

    /// The wire field `defaultTtl` (`None` leaves it out). Call [`validate`](Self::validate)
    /// first: `Seconds(0)` would be written as `0`, which the service refuses.
    pub fn to_wire(self) -> Option<i32> {
        match self {
            DefaultTimeToLive::Off => None,
            DefaultTimeToLive::NoDefault => Some(-1),
            DefaultTimeToLive::Seconds(n) => Some(n),
        }
    }

    /// `self` if the service accepts it: `Seconds(n)` needs `n >= 1`.
    pub fn validate(self) -> Result<Self, ConfigError> {
        match self {
            DefaultTimeToLive::Seconds(n) if n < 1 => {
                Err(invalid("defaultTtl", n.to_string(), EXPECTED))
            }
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_wire_field_both_ways() {
        let cases = [
            (None, DefaultTimeToLive::Off),
            (Some(-1), DefaultTimeToLive::NoDefault),
            (Some(1), DefaultTimeToLive::Seconds(1)),
            (Some(86_400), DefaultTimeToLive::Seconds(86_400)),
            (Some(i32::MAX), DefaultTimeToLive::Seconds(i32::MAX)),
        ];
        for (wire, typed) in cases {
            assert_eq!(DefaultTimeToLive::from_wire(wire).unwrap(), typed);
            assert_eq!(typed.to_wire(), wire);
            assert_eq!(typed.validate().unwrap(), typed);
        }
        assert_eq!(DefaultTimeToLive::default(), DefaultTimeToLive::Off);
    }

    #[test]
    fn zero_and_below_minus_one_are_refused_naming_the_field() {
        for bad in [0, -2, i32::MIN] {
            match DefaultTimeToLive::from_wire(Some(bad)) {
                Err(ConfigError::InvalidSetting { name, value, .. }) => {
                    assert_eq!(name, "defaultTtl");
                    assert_eq!(value, bad.to_string());
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        for bad in [0, -1, -5] {
            let err = DefaultTimeToLive::Seconds(bad).validate().unwrap_err();
            assert!(err.to_string().contains("defaultTtl"), "{err}");
            assert!(err.to_string().contains(&bad.to_string()), "{err}");
        }
    }
}
