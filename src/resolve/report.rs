//! Explains a failed resolution as the chain of requirements that conflict.

use std::collections::{BTreeMap, HashMap};

use pep508_rs::pep440_rs::Version;
use pubgrub::{DefaultStringReporter, Derived, DerivationTree, External, Map, ReportFormatter, Reporter, Term};

use super::provider::Node;
use super::ranges::{describe, VersionRange};

/// How many passed-over versions a message lists per package.
const SHOWN_VERSIONS: usize = 6;

/// Formats pubgrub's derivation tree in plain sentences.
pub struct Explainer<'a> {
    pub skipped: &'a HashMap<String, BTreeMap<Version, String>>,
    pub not_found: &'a HashMap<String, String>,
}

impl Explainer<'_> {
    /// Returns the explanation, one sentence per line.
    pub fn explain(&self, tree: &DerivationTree<Node, VersionRange, String>) -> String {
        DefaultStringReporter::report_with_formatter(tree, self)
    }

    fn term(&self, node: &Node, range: &VersionRange) -> String {
        match node {
            Node::Root => node.to_string(),
            _ if *range == VersionRange::full() => node.to_string(),
            _ => format!("{node} {}", describe(range)),
        }
    }

    fn no_versions(&self, node: &Node, range: &VersionRange) -> String {
        let name = node.name().unwrap_or_default();
        if let Some(index) = self.not_found.get(name) {
            return format!("{name} was not found on the index {index}");
        }
        // Versions passed over inside the range, newest first, grouped by reason.
        let mut groups: Vec<(&str, Vec<&Version>)> = Vec::new();
        if let Some(versions) = self.skipped.get(name) {
            for (version, reason) in versions.iter().rev().filter(|(version, _)| range.contains(version)) {
                match groups.iter_mut().find(|(known, _)| *known == reason.as_str()) {
                    Some((_, listed)) => listed.push(version),
                    None => groups.push((reason.as_str(), vec![version])),
                }
            }
        }
        let wanted = self.term(node, range);
        if groups.is_empty() {
            return format!("no version of {wanted} exists");
        }
        let described: Vec<String> = groups
            .iter()
            .map(|(reason, versions)| {
                let mut listed = versions.iter().take(SHOWN_VERSIONS).map(ToString::to_string).collect::<Vec<_>>().join(", ");
                if versions.len() > SHOWN_VERSIONS {
                    listed.push_str(&format!(" and {} more", versions.len() - SHOWN_VERSIONS));
                }
                format!("{reason}: {listed}")
            })
            .collect();
        format!("no version of {wanted} has a usable wheel ({})", described.join("; "))
    }
}

impl ReportFormatter<Node, VersionRange, String> for Explainer<'_> {
    type Output = String;

    fn format_external(&self, external: &External<Node, VersionRange, String>) -> String {
        match external {
            External::NotRoot(node, _) => format!("{node} are what is being resolved"),
            External::NoVersions(node, range) => self.no_versions(node, range),
            External::Custom(node, range, reason) => format!("{} cannot be used because {reason}", self.term(node, range)),
            External::FromDependencyOf(Node::Root, _, dependency, range) => {
                format!("the requirements ask for {}", self.term(dependency, range))
            }
            External::FromDependencyOf(Node::Extra(name, extra), version, Node::Package(base), _) if name == base => {
                format!("{name}[{extra}] {} is an extra of {name} at the same version", describe(version))
            }
            External::FromDependencyOf(node, version, dependency, range) => {
                format!("{} depends on {}", self.term(node, version), self.term(dependency, range))
            }
        }
    }

    fn format_terms(&self, terms: &Map<Node, Term<VersionRange>>) -> String {
        let mut listed: Vec<(&Node, &Term<VersionRange>)> = terms.iter().collect();
        listed.sort_by(|left, right| left.0.cmp(right.0));
        match listed.as_slice() {
            [] => "no set of versions satisfies the requirements".into(),
            [(Node::Root, Term::Positive(_))] => "the requirements cannot all be satisfied".into(),
            [(node, Term::Positive(range))] => format!("{} cannot be used", self.term(node, range)),
            [(node, Term::Negative(range))] => format!("{} is required", self.term(node, range)),
            [(Node::Root, Term::Positive(_)), (dependency, Term::Negative(range))] => {
                format!("the requirements need {}", self.term(dependency, range))
            }
            [(node, Term::Positive(version)), (dependency, Term::Negative(range))]
            | [(dependency, Term::Negative(range)), (node, Term::Positive(version))] => {
                format!("{} needs {}", self.term(node, version), self.term(dependency, range))
            }
            many => {
                let parts: Vec<String> = many
                    .iter()
                    .map(|(node, term)| match term {
                        Term::Positive(range) => self.term(node, range),
                        Term::Negative(range) => format!("{node} outside {}", describe(range)),
                    })
                    .collect();
                format!("{} cannot all be chosen together", parts.join(", "))
            }
        }
    }

    fn explain_both_external(
        &self,
        first: &External<Node, VersionRange, String>,
        second: &External<Node, VersionRange, String>,
        conclusion: &Map<Node, Term<VersionRange>>,
    ) -> String {
        format!(
            "Because {} and {}, {}.",
            self.format_external(first),
            self.format_external(second),
            self.format_terms(conclusion)
        )
    }

    fn explain_both_ref(
        &self,
        first_id: usize,
        first: &Derived<Node, VersionRange, String>,
        second_id: usize,
        second: &Derived<Node, VersionRange, String>,
        conclusion: &Map<Node, Term<VersionRange>>,
    ) -> String {
        format!(
            "Because {} ({first_id}) and {} ({second_id}), {}.",
            self.format_terms(&first.terms),
            self.format_terms(&second.terms),
            self.format_terms(conclusion)
        )
    }

    fn explain_ref_and_external(
        &self,
        id: usize,
        derived: &Derived<Node, VersionRange, String>,
        external: &External<Node, VersionRange, String>,
        conclusion: &Map<Node, Term<VersionRange>>,
    ) -> String {
        format!(
            "Because {} ({id}) and {}, {}.",
            self.format_terms(&derived.terms),
            self.format_external(external),
            self.format_terms(conclusion)
        )
    }

    fn and_explain_external(&self, external: &External<Node, VersionRange, String>, conclusion: &Map<Node, Term<VersionRange>>) -> String {
        format!("And because {}, {}.", self.format_external(external), self.format_terms(conclusion))
    }

    fn and_explain_ref(&self, id: usize, derived: &Derived<Node, VersionRange, String>, conclusion: &Map<Node, Term<VersionRange>>) -> String {
        format!(
            "And because {} ({id}), {}.",
            self.format_terms(&derived.terms),
            self.format_terms(conclusion)
        )
    }

    fn and_explain_prior_and_external(
        &self,
        prior: &External<Node, VersionRange, String>,
        external: &External<Node, VersionRange, String>,
        conclusion: &Map<Node, Term<VersionRange>>,
    ) -> String {
        format!(
            "And because {} and {}, {}.",
            self.format_external(prior),
            self.format_external(external),
            self.format_terms(conclusion)
        )
    }
}
