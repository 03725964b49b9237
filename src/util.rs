//! Small helpers of the commands' output. (Clocks, worker identities,
//! trial seeds and study summaries are the library's.)

pub use paretosearch::{summarize, Summary};

/// Format a float compactly for tables and log lines.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e6).contains(&a) {
        format!("{x:.4e}")
    } else {
        let s = format!("{x:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmt_num_is_compact() {
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(12.0), "12");
        assert_eq!(fmt_num(1e-5), "1.0000e-5");
    }
}
