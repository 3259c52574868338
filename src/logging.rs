//! Logging in Redis's line format, `<pid>:M <dd Mon yyyy hh:mm:ss.mmm> <level> <message>`,
//! where the level is `.` debug, `-` verbose, `*` notice, `#` warning. Ops scripts and test
//! harnesses grep these lines (`Ready to accept connections`), so the shape matters.

use std::io::Write;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Civil date (year, month 1-12, day) from days since 1970-01-01 (Howard Hinnant's method).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats a Unix time in ms as Redis's log timestamp (UTC).
pub fn timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

/// Installs the logger. `logfile` empty means standard output, like Redis.
pub fn init(level: log::LevelFilter, logfile: &str) -> std::io::Result<()> {
    let pid = std::process::id();
    let mut b = env_logger::Builder::new();
    // The logger itself lets everything through; `log::set_max_level` filters, so CONFIG
    // SET loglevel can lower or raise it at run time.
    let _ = level;
    b.filter_level(log::LevelFilter::Trace);
    b.format(move |buf, rec| {
        let ch = match rec.level() {
            log::Level::Error | log::Level::Warn => '#',
            log::Level::Info => '*',
            log::Level::Debug => '-',
            log::Level::Trace => '.',
        };
        writeln!(
            buf,
            "{pid}:M {} {ch} {}",
            timestamp(crate::engine::unix_ms()),
            rec.args()
        )
    });
    if logfile.is_empty() {
        b.target(env_logger::Target::Stdout);
    } else {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)?;
        b.target(env_logger::Target::Pipe(Box::new(f)));
    }
    let _ = b.try_init();
    log::set_max_level(level);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_format() {
        assert_eq!(super::timestamp(0), "01 Jan 1970 00:00:00.000");
        assert_eq!(
            super::timestamp(1_795_598_723_957),
            "25 Nov 2026 09:25:23.957"
        );
    }
}
