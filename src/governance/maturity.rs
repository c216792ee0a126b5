//! Agent maturity levels and the states that are not levels.

/// Maturity levels from least to most trusted. An agent the store does not
/// know is a student, and students may use no third-party package.
pub const MATURITY_ORDER: [&str; 4] = ["student", "intern", "supervised", "autonomous"];

/// Agent states that deny every package whatever the agent's level was.
pub const INACTIVE_STATES: [&str; 4] = ["paused", "stopped", "deprecated", "deleted"];

/// Returns the rank of a maturity level in [`MATURITY_ORDER`], compared case-insensitively.
pub fn rank(level: &str) -> Option<usize> {
    let level = level.trim();
    MATURITY_ORDER.iter().position(|known| known.eq_ignore_ascii_case(level))
}

/// Returns the canonical lowercase level, or an error message naming the valid ones.
pub fn canonical_level(level: &str) -> Result<&'static str, String> {
    rank(level).map(|index| MATURITY_ORDER[index]).ok_or_else(|| {
        format!(
            "invalid maturity level {level:?}: expected one of {}",
            MATURITY_ORDER.join(", ")
        )
    })
}

/// Returns the canonical state for `set_agent_maturity`: a level or an inactive state.
pub fn canonical_state(state: &str) -> Result<&'static str, String> {
    if let Ok(level) = canonical_level(state) {
        return Ok(level);
    }
    let trimmed = state.trim();
    INACTIVE_STATES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(trimmed))
        .copied()
        .ok_or_else(|| {
            format!(
                "invalid agent state {state:?}: expected a maturity level ({}) or one of {}",
                MATURITY_ORDER.join(", "),
                INACTIVE_STATES.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_compare_case_insensitively() {
        assert_eq!(rank("Supervised"), Some(2));
        assert!(rank("intern") < rank("AUTONOMOUS"));
        assert_eq!(rank("paused"), None);
    }

    #[test]
    fn states_accept_levels_and_inactive_states() {
        assert_eq!(canonical_state("Paused"), Ok("paused"));
        assert_eq!(canonical_state("INTERN"), Ok("intern"));
        assert!(canonical_state("superuser").unwrap_err().contains("student, intern"));
    }
}
