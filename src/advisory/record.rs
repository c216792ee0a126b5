//! The parts of an OSV record that skillguard stores and matches.

use serde::Deserialize;

/// One OSV record, reduced to what import and matching need.
#[derive(Debug, Deserialize)]
pub struct OsvRecord {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    pub published: Option<String>,
    pub modified: String,
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub severity: Vec<OsvSeverity>,
    #[serde(default)]
    pub affected: Vec<OsvAffected>,
}

#[derive(Debug, Deserialize)]
pub struct OsvSeverity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Deserialize)]
pub struct OsvAffected {
    pub package: Option<OsvPackage>,
    #[serde(default)]
    pub ranges: Vec<OsvRange>,
    #[serde(default)]
    pub versions: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct OsvPackage {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize, serde::Serialize)]
pub struct OsvRange {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<OsvEvent>,
}

/// One range event; OSV gives exactly one of these keys per event.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
pub struct OsvEvent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl OsvRecord {
    /// Parses a record from YAML or JSON text; `file_name` picks the format.
    pub fn parse(file_name: &str, text: &[u8]) -> Result<Self, String> {
        if file_name.ends_with(".json") {
            serde_json::from_slice(text).map_err(|error| error.to_string())
        } else {
            serde_yaml::from_slice(text).map_err(|error| error.to_string())
        }
    }

    /// Returns the CVSS v3 vector, if the record has one.
    pub fn cvss_v3(&self) -> Option<&str> {
        self.severity
            .iter()
            .find(|severity| severity.kind == "CVSS_V3")
            .map(|severity| severity.score.as_str())
    }
}
