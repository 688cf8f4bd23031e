//! Durations on the command line, the wrk/oha/k3d way: `10s`, `2m`, `90s`,
//! `1m30s`, `1h`, `500ms` (parsed by `humantime`), while a bare number keeps
//! the unit the flag always had: seconds, or milliseconds for
//! `bench --request-timeout`. One clap value parser, [`DurationArg`], serves
//! every such flag and enforces its bounds, so a bad value is a clap usage
//! error (exit code 2) naming the flag, before anything runs.

use std::ffi::OsStr;
use std::time::Duration;

use clap::builder::TypedValueParser;

/// What a bare number (no unit) means for a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bare {
    /// `10` is ten seconds.
    Seconds,
    /// `500` is half a second.
    Millis,
}

/// The value parser of a duration flag: its bare unit, its bounds
/// (inclusive) and whether it takes fractions of a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationArg {
    bare: Bare,
    min: Duration,
    max: Duration,
    sub_second: bool,
}

impl DurationArg {
    /// A flag whose bare numbers are seconds, from `min` to `max` seconds,
    /// in whole seconds (what reports and deadlines of that flag count in).
    pub const fn secs(min: u64, max: u64) -> Self {
        Self {
            bare: Bare::Seconds,
            min: Duration::from_secs(min),
            max: Duration::from_secs(max),
            sub_second: false,
        }
    }

    /// A flag whose bare numbers are milliseconds, from `min` to `max`
    /// milliseconds; any whole number of milliseconds.
    pub const fn millis(min: u64, max: u64) -> Self {
        Self {
            bare: Bare::Millis,
            min: Duration::from_millis(min),
            max: Duration::from_millis(max),
            sub_second: true,
        }
    }

    /// The same flag, also taking fractions of a second (`500ms`, `1.5s`).
    pub const fn sub_second(self) -> Self {
        Self {
            sub_second: true,
            ..self
        }
    }

    /// Parses one value: a bare whole number in the flag's unit, or a
    /// `humantime` duration. The error says what would have been accepted.
    pub fn parse(&self, text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let value = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            let n: u64 = text
                .parse()
                .map_err(|_| format!("{text} is too large; {}", self.expected()))?;
            match self.bare {
                Bare::Seconds => Duration::from_secs(n),
                Bare::Millis => Duration::from_millis(n),
            }
        } else {
            humantime::parse_duration(text)
                .map_err(|e| format!("not a duration ({e}); {}", self.expected()))?
        };
        if value < self.min || value > self.max {
            return Err(format!(
                "{} is out of range; use {} to {}",
                show(value),
                show(self.min),
                show(self.max)
            ));
        }
        let precise = if self.sub_second {
            value.subsec_nanos() % 1_000_000 == 0
        } else {
            value.subsec_nanos() == 0
        };
        if !precise {
            let step = if self.sub_second {
                "milliseconds"
            } else {
                "seconds"
            };
            return Err(format!("{} is not a whole number of {step}", show(value)));
        }
        Ok(value)
    }

    /// What the flag accepts, for error messages.
    fn expected(&self) -> String {
        let example = if self.sub_second {
            "10s, 2m, 1m30s or 500ms"
        } else {
            "10s, 2m, 90s or 1m30s"
        };
        let bare = match self.bare {
            Bare::Seconds => "seconds",
            Bare::Millis => "milliseconds",
        };
        format!("write a duration such as {example}, or a bare number of {bare}")
    }
}

/// A duration the way the flags are written: `90s` as `1m 30s`, `0s`.
pub fn show(d: Duration) -> String {
    if d.is_zero() {
        "0s".to_string()
    } else {
        humantime::format_duration(d).to_string()
    }
}

impl TypedValueParser for DurationArg {
    type Value = Duration;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Duration, clap::Error> {
        // A plain function parser gets clap's own "invalid value 'X' for
        // '--flag <DURATION>': why" error, with the usage and exit code 2.
        let this = *self;
        let parse = move |text: &str| this.parse(text);
        parse.parse_ref(cmd, arg, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECS: DurationArg = DurationArg::secs(1, 3600);

    #[test]
    fn bare_numbers_keep_their_unit() {
        assert_eq!(SECS.parse("10"), Ok(Duration::from_secs(10)));
        assert_eq!(SECS.parse(" 90 "), Ok(Duration::from_secs(90)));
        let ms = DurationArg::millis(1, 60_000);
        assert_eq!(ms.parse("500"), Ok(Duration::from_millis(500)));
        assert_eq!(ms.parse("2s"), Ok(Duration::from_secs(2)));
    }

    #[test]
    fn human_durations_as_wrk_and_oha_write_them() {
        for (text, secs) in [
            ("10s", 10),
            ("2m", 120),
            ("90s", 90),
            ("1m30s", 90),
            ("1m 30s", 90),
            ("1h", 3600),
            ("2min", 120),
            ("3sec", 3),
        ] {
            assert_eq!(SECS.parse(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        let fine = DurationArg::secs(0, 60).sub_second();
        assert_eq!(fine.parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(fine.parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(fine.parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_input_says_what_would_do() {
        for bad in [
            "",
            "abc",
            "10x",
            "-5",
            "1.5",
            "s",
            "10 s s",
            "99999999999999999999999",
        ] {
            let err = SECS.parse(bad).unwrap_err();
            assert!(
                err.contains("1m30s") || err.contains("out of range"),
                "{bad:?}: {err}"
            );
        }
        assert!(SECS.parse("1.5").unwrap_err().contains("1m30s"));
    }

    #[test]
    fn bounds_and_precision_are_enforced() {
        assert!(SECS.parse("0").unwrap_err().contains("use 1s to 1h"));
        assert!(SECS.parse("2h").unwrap_err().contains("out of range"));
        assert_eq!(SECS.parse("1h"), Ok(Duration::from_secs(3600)));
        let whole = SECS.parse("1500ms").unwrap_err();
        assert!(whole.contains("whole number of seconds"), "{whole}");
        let ms = DurationArg::millis(1, 60_000);
        assert!(ms.parse("1500us").unwrap_err().contains("milliseconds"));
        assert!(ms.parse("0").unwrap_err().contains("out of range"));
    }

    #[test]
    fn clap_reports_the_flag_and_the_reason() {
        use clap::{Arg, Command};
        let cmd = Command::new("t").arg(
            Arg::new("duration")
                .long("duration")
                .value_name("DURATION")
                .value_parser(SECS),
        );
        let m = cmd
            .clone()
            .try_get_matches_from(["t", "--duration", "1m30s"])
            .unwrap();
        assert_eq!(
            m.get_one::<Duration>("duration"),
            Some(&Duration::from_secs(90))
        );
        let err = cmd
            .try_get_matches_from(["t", "--duration", "soon"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(
            text.contains("'soon'") && text.contains("--duration"),
            "{text}"
        );
    }

    #[test]
    fn shown_as_written() {
        assert_eq!(show(Duration::from_secs(90)), "1m 30s");
        assert_eq!(show(Duration::ZERO), "0s");
        assert_eq!(show(Duration::from_millis(500)), "500ms");
    }
}
