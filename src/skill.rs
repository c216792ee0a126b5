//! A skill directory: `SKILL.md` with YAML front matter listing `packages:`
//! and the code in its first ```python block.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// A skill as read from its directory.
#[derive(Clone, Debug)]
pub struct Skill {
    pub name: String,
    pub packages: Vec<String>,
    /// The agent the skill runs as, if the front matter names one.
    pub agent: Option<String>,
    /// Inputs for a run from the command line, if the front matter gives them.
    pub inputs: serde_json::Value,
    pub code: String,
}

#[derive(Deserialize)]
struct FrontMatter {
    name: Option<String>,
    #[serde(default)]
    packages: Vec<String>,
    agent: Option<String>,
    inputs: Option<serde_yaml::Value>,
}

/// Reads `DIR/SKILL.md`.
pub fn load(directory: &Path) -> Result<Skill> {
    let path = directory.join("SKILL.md");
    let text = std::fs::read_to_string(&path).map_err(|error| Error::io("failed to read", &path, error))?;
    parse(&text, &path.display().to_string(), directory)
}

fn parse(text: &str, origin: &str, directory: &Path) -> Result<Skill> {
    let invalid = |reason: String| Error::Skill(format!("invalid skill file {origin}: {reason}"));
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or_else(|| invalid("it must start with YAML front matter between two `---` lines".into()))?;
    let end = rest
        .find("\n---")
        .ok_or_else(|| invalid("the front matter has no closing `---` line".into()))?;
    let front: FrontMatter =
        serde_yaml::from_str(&rest[..end]).map_err(|error| invalid(format!("invalid front matter: {error}")))?;
    let body = &rest[end + 4..];

    let code = first_python_block(body).ok_or_else(|| invalid("no ```python code block".into()))?;
    let inputs = match front.inputs {
        None => serde_json::json!({}),
        Some(value) => serde_json::to_value(value).map_err(|error| invalid(format!("invalid inputs: {error}")))?,
    };
    if !inputs.is_object() {
        return Err(invalid("`inputs` must be a mapping".into()));
    }
    let name = front.name.unwrap_or_else(|| {
        directory
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "skill".into())
    });
    Ok(Skill {
        name,
        packages: front.packages,
        agent: front.agent,
        inputs,
        code,
    })
}

fn first_python_block(body: &str) -> Option<String> {
    let mut lines = body.lines();
    while let Some(line) = lines.next() {
        let fence = line.trim_start();
        if fence.starts_with("```python") || fence.starts_with("```py") && fence.trim_end() == "```py" {
            let mut code = String::new();
            for line in lines.by_ref() {
                if line.trim_start().starts_with("```") {
                    return Some(code);
                }
                code.push_str(line);
                code.push('\n');
            }
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_front_matter_and_first_block() {
        let text = "---\nname: demo\nagent: bot\npackages:\n  - six==1.16.0\ninputs:\n  x: 2\n---\n# Demo\n\n```text\nnot code\n```\n\n```python\nimport six\nresult = inputs['x']\n```\n\n```python\nsecond = 1\n```\n";
        let skill = parse(text, "SKILL.md", Path::new("demo")).unwrap();
        assert_eq!(skill.name, "demo");
        assert_eq!(skill.agent.as_deref(), Some("bot"));
        assert_eq!(skill.packages, vec!["six==1.16.0"]);
        assert_eq!(skill.inputs["x"], 2);
        assert_eq!(skill.code, "import six\nresult = inputs['x']\n");
    }

    #[test]
    fn missing_parts_are_named() {
        let error = parse("# no front matter", "a/SKILL.md", Path::new("a")).unwrap_err().to_string();
        assert!(error.contains("a/SKILL.md"), "{error}");
        assert!(error.contains("front matter"), "{error}");
        let error = parse("---\npackages: []\n---\nno code", "b/SKILL.md", Path::new("b")).unwrap_err().to_string();
        assert!(error.contains("no ```python code block"), "{error}");
    }
}
