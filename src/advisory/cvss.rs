//! CVSS v3.0/v3.1 base scores and qualitative ratings, computed from vectors
//! with the formulas of the CVSS v3.1 specification (FIRST), section 7.

use serde::Serialize;

/// The qualitative rating of a base score, in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Rating {
    /// Maps a base score to its rating: 0 none, 0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10 critical.
    pub fn from_score(score: f64) -> Self {
        match score {
            score if score >= 9.0 => Rating::Critical,
            score if score >= 7.0 => Rating::High,
            score if score >= 4.0 => Rating::Medium,
            score if score > 0.0 => Rating::Low,
            _ => Rating::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rating::None => "none",
            Rating::Low => "low",
            Rating::Medium => "medium",
            Rating::High => "high",
            Rating::Critical => "critical",
        }
    }

    /// Parses a rating name, case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Rating::None),
            "low" => Some(Rating::Low),
            "medium" | "moderate" => Some(Rating::Medium),
            "high" => Some(Rating::High),
            "critical" => Some(Rating::Critical),
            _ => None,
        }
    }
}

/// A parsed base score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BaseScore {
    pub score: f64,
    pub rating: Rating,
}

/// Computes the base score of a `CVSS:3.0/…` or `CVSS:3.1/…` vector; `None`
/// when the vector is not a complete, valid v3 base vector.
pub fn base_score(vector: &str) -> Option<BaseScore> {
    let mut parts = vector.trim().split('/');
    if !matches!(parts.next()?, "CVSS:3.0" | "CVSS:3.1") {
        return None;
    }
    let mut metrics = std::collections::HashMap::new();
    for part in parts {
        let (key, value) = part.split_once(':')?;
        // Temporal and environmental metrics may follow; only base metrics count here.
        metrics.insert(key, value);
    }
    let metric = |key: &str| metrics.get(key).copied();

    let scope_changed = match metric("S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let attack_vector: f64 = match metric("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let attack_complexity = match metric("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let privileges_required = match (metric("PR")?, scope_changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let user_interaction = match metric("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let impact_weight = |key: &str| -> Option<f64> {
        match metric(key)? {
            "H" => Some(0.56),
            "L" => Some(0.22),
            "N" => Some(0.0),
            _ => None,
        }
    };
    let (confidentiality, integrity, availability) = (impact_weight("C")?, impact_weight("I")?, impact_weight("A")?);

    let impact_sub_score: f64 = 1.0 - (1.0 - confidentiality) * (1.0 - integrity) * (1.0 - availability);
    let impact: f64 = if scope_changed {
        7.52 * (impact_sub_score - 0.029) - 3.25 * (impact_sub_score - 0.02).powi(15)
    } else {
        6.42 * impact_sub_score
    };
    let exploitability = 8.22 * attack_vector * attack_complexity * privileges_required * user_interaction;
    let score = if impact <= 0.0 {
        0.0
    } else if scope_changed {
        round_up((1.08 * (impact + exploitability)).min(10.0))
    } else {
        round_up((impact + exploitability).min(10.0))
    };
    Some(BaseScore { score, rating: Rating::from_score(score) })
}

/// Rounds up to one decimal as CVSS v3.1 Appendix A defines it, which avoids
/// floating-point artefacts such as 4.000000001 rounding to 4.1.
fn round_up(value: f64) -> f64 {
    let scaled = (value * 100_000.0).round() as i64;
    if scaled % 10_000 == 0 {
        scaled as f64 / 100_000.0
    } else {
        ((scaled / 10_000) + 1) as f64 / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors_score_as_published() {
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, Rating::Critical),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, Rating::Medium),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, Rating::High),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, Rating::High),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1, Rating::Low),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, Rating::Critical),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0, Rating::None),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O", 9.8, Rating::Critical),
        ];
        for (vector, score, rating) in cases {
            let parsed = base_score(vector).unwrap_or_else(|| panic!("{vector} did not parse"));
            assert_eq!(parsed.score, score, "{vector}");
            assert_eq!(parsed.rating, rating, "{vector}");
        }
    }

    #[test]
    fn invalid_vectors_have_no_score() {
        for vector in [
            "",
            "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
            "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        ] {
            assert_eq!(base_score(vector), None, "{vector:?}");
        }
    }

    #[test]
    fn ratings_order_and_parse() {
        assert!(Rating::Critical > Rating::High);
        assert_eq!(Rating::parse("HIGH"), Some(Rating::High));
        assert_eq!(Rating::parse("moderate"), Some(Rating::Medium));
        assert_eq!(Rating::parse("severe"), None);
    }
}
