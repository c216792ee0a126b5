//! PEP 508 requirement parsing for skills, and PEP 503 name normalisation.
//!
//! Skills may name packages and version ranges only: URL, path, VCS and option
//! lines would let a skill choose where code comes from, so they are rejected
//! before anything else looks at them.

use std::fmt;
use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{MarkerTree, VersionOrUrl};

use crate::error::{Error, Result};

/// Normalises a distribution name as PEP 503 does: lowercase, with every run
/// of `-`, `_` and `.` replaced by one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    push_normalized_name(&mut normalized, name);
    normalized
}

/// Appends the PEP 503 form of `name` to `buffer` (a cache key, say) without
/// allocating a string of its own.
pub fn push_normalized_name(buffer: &mut String, name: &str) {
    let mut in_separator_run = false;
    for character in name.trim().chars() {
        if matches!(character, '-' | '_' | '.') {
            if !in_separator_run {
                buffer.push('-');
            }
            in_separator_run = true;
        } else {
            if character.is_ascii() {
                buffer.push(character.to_ascii_lowercase());
            } else {
                buffer.extend(character.to_lowercase());
            }
            in_separator_run = false;
        }
    }
}

/// One parsed requirement of a skill: a normalised name, extras, a version
/// range and an environment marker.
#[derive(Clone, Debug)]
pub struct Requirement {
    /// PEP 503-normalised distribution name.
    pub name: String,
    /// Requested extras, normalised.
    pub extras: Vec<String>,
    /// Allowed versions; empty means any version.
    pub specifiers: VersionSpecifiers,
    /// Environment marker, evaluated for the target image.
    pub marker: MarkerTree,
    /// The requirement as the caller wrote it, trimmed.
    pub text: String,
}

impl Requirement {
    /// Returns the single version this requirement pins with `==` or `===`, if any.
    pub fn pinned_version(&self) -> Option<Version> {
        let mut specifiers = self.specifiers.iter();
        let only = specifiers.next()?;
        if specifiers.next().is_some() {
            return None;
        }
        let operator = only.operator().to_string();
        if (operator == "==" || operator == "===") && !only.version().to_string().contains('*') {
            Some(only.version().clone())
        } else {
            None
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

/// Parses requirement lines as a skill gives them. Blank lines and `#`
/// comments are skipped; line numbers in errors count from 1 over `lines`.
pub fn parse_requirements<S: AsRef<str>>(lines: &[S]) -> Result<Vec<Requirement>> {
    let mut requirements = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let line_number = index + 1;
        let text = strip_comment(line.as_ref()).trim();
        if text.is_empty() {
            continue;
        }
        requirements.push(parse_requirement_line(text, line_number)?);
    }
    Ok(requirements)
}

/// Parses one requirement; `line_number` is used in the error only.
pub fn parse_requirement_line(text: &str, line_number: usize) -> Result<Requirement> {
    let text = text.trim();
    if let Some(reason) = rejected_form(text) {
        return Err(Error::Requirement {
            line: line_number,
            column: 1,
            input: text.to_string(),
            reason: reason.to_string(),
            hint: "skills may name packages and version ranges only, for example `requests>=2.32,<3`".into(),
        });
    }

    let parsed = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(text).map_err(|error| {
        Error::Requirement {
            line: line_number,
            column: text[..error.start.min(text.len())].chars().count() + 1,
            input: text.to_string(),
            reason: error.message.to_string(),
            hint: "write a PEP 508 requirement such as `numpy>=1.26` or `requests[socks]==2.32.3`".into(),
        }
    })?;

    let specifiers = match parsed.version_or_url {
        None => VersionSpecifiers::empty(),
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => specifiers,
        Some(VersionOrUrl::Url(_)) => {
            return Err(Error::Requirement {
                line: line_number,
                column: text.find('@').map_or(1, |at| text[..at].chars().count() + 1),
                input: text.to_string(),
                reason: "direct URL references are not allowed".into(),
                hint: "name the package and a version range; skillguard fetches it from the configured index".into(),
            })
        }
    };

    Ok(Requirement {
        name: normalize_name(parsed.name.as_ref()),
        extras: parsed.extras.iter().map(|extra| normalize_name(extra.as_ref())).collect(),
        specifiers,
        marker: parsed.marker,
        text: text.to_string(),
    })
}

/// Cuts a trailing ` #` comment, as requirements files allow.
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #") {
        Some(at) => &line[..at],
        None => line,
    }
}

/// Names why a line is an option, a path or a URL rather than a requirement.
fn rejected_form(text: &str) -> Option<&'static str> {
    if text.starts_with('-') {
        return Some("pip options (such as -e, -r, --index-url) are not allowed in skill requirements");
    }
    if text.starts_with('.') || text.starts_with('/') || text.starts_with('~') || text.starts_with('\\') {
        return Some("local paths are not allowed in skill requirements");
    }
    let lowered = text.to_ascii_lowercase();
    if lowered.contains("://") || lowered.starts_with("git+") || lowered.contains("@ git+") {
        return Some("URLs and VCS references are not allowed in skill requirements");
    }
    let first_word = lowered.split([' ', ';', '[', '<', '>', '=', '!', '~', '@']).next().unwrap_or("");
    if first_word.ends_with(".whl") || first_word.ends_with(".tar.gz") || first_word.ends_with(".zip") || first_word.contains('/') {
        return Some("archive files and local paths are not allowed in skill requirements");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_name_folds_case_and_separators() {
        assert_eq!(normalize_name("Python_Dateutil"), "python-dateutil");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("a-_.b"), "a-b");
        assert_eq!(normalize_name("NumPy"), "numpy");
    }

    #[test]
    fn parse_keeps_extras_specifiers_and_markers() {
        let parsed = parse_requirements(&["Requests[SOCKS] >=2.31, <3 ; python_version >= '3.8'"]).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].name, "requests");
        assert_eq!(parsed[0].extras, vec!["socks".to_string()]);
        assert!(parsed[0].specifiers.contains(&Version::from_str("2.32.3").unwrap()));
        assert!(!parsed[0].specifiers.contains(&Version::from_str("3.0").unwrap()));
        assert!(!parsed[0].marker.is_true());
    }

    #[test]
    fn parse_skips_blank_lines_and_comments() {
        let parsed = parse_requirements(&["", "# pinned for the demo", "six==1.16.0  # trailing"]).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].pinned_version().unwrap().to_string(), "1.16.0");
    }

    #[test]
    fn malformed_line_names_line_and_column() {
        let error = parse_requirements(&["numpy", "requests >= = 2"]).unwrap_err();
        let Error::Requirement { line, column, input, .. } = &error else {
            panic!("unexpected error {error:?}");
        };
        assert_eq!(*line, 2);
        assert!(*column > 1, "column {column}");
        assert_eq!(input, "requests >= = 2");
        assert!(error.to_string().starts_with("invalid requirement on line 2"), "{error}");
    }

    #[test]
    fn urls_paths_and_options_are_rejected() {
        let cases = [
            ("pkg @ https://example.invalid/pkg-1.0.whl", "URLs"),
            ("pkg @ file:///tmp/pkg", "URLs"),
            ("git+https://example.invalid/repo.git", "URLs"),
            ("-e .", "options"),
            ("--index-url https://example.invalid/simple", "options"),
            ("-r other.txt", "options"),
            ("./local/package", "local paths"),
            ("/abs/path/pkg-1.0.tar.gz", "local paths"),
            ("pkg-1.0-py3-none-any.whl", "archive files"),
        ];
        for (line, expected) in cases {
            let error = parse_requirements(&[line]).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(expected), "{line}: {message}");
            assert!(message.contains(line), "{line}: {message}");
        }
    }
}
