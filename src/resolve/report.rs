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
        let mut tree = tree.clone();
        self.collapse_silent_gaps(&mut tree);
        DefaultStringReporter::report_with_formatter(&tree, self)
    }

    /// Tells whether "no version of `node` in `range`" carries a reason worth
    /// reading: a missing project, or versions passed over for want of a wheel.
    fn has_reason(&self, node: &Node, range: &VersionRange) -> bool {
        let Some(name) = node.name() else { return true };
        self.not_found.contains_key(name)
            || self
                .skipped
                .get(name)
                .is_some_and(|versions| versions.keys().any(|version| range.contains(version)))
    }

    /// Folds "no version of X outside the ones that exist" facts into the
    /// dependencies they pair with, as pubgrub's `collapse_no_versions` does,
    /// but keeps the facts that explain a rejected or missing package.
    fn collapse_silent_gaps(&self, tree: &mut DerivationTree<Node, VersionRange, String>) {
        let DerivationTree::Derived(derived) = tree else { return };
        let silent = |cause: &DerivationTree<Node, VersionRange, String>| match cause {
            DerivationTree::External(External::NoVersions(node, range)) if !self.has_reason(node, range) => {
                Some((node.clone(), range.clone()))
            }
            _ => None,
        };
        let (gap, mut other) = if let Some(gap) = silent(&derived.cause1) {
            (gap, (*derived.cause2).clone())
        } else if let Some(gap) = silent(&derived.cause2) {
            (gap, (*derived.cause1).clone())
        } else {
            self.collapse_silent_gaps(std::sync::Arc::make_mut(&mut derived.cause1));
            self.collapse_silent_gaps(std::sync::Arc::make_mut(&mut derived.cause2));
            return;
        };
        self.collapse_silent_gaps(&mut other);
        // Only a gap in the parent's versions folds away: "no web other than
        // 1.0, and web 1.0 depends on core" reads as "web depends on core". A
        // gap on the dependency's side is the reason itself, so it stays.
        match other {
            DerivationTree::External(External::FromDependencyOf(parent, parent_range, dependency, dependency_range)) if parent == gap.0 => {
                *tree = DerivationTree::External(External::FromDependencyOf(parent, parent_range.union(&gap.1), dependency, dependency_range));
            }
            DerivationTree::Derived(_) => *tree = other,
            DerivationTree::External(_) => {}
        }
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
        let requested = self.term(node, range);
        if groups.is_empty() {
            return format!("no version of {requested} exists");
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
        format!("no version of {requested} has a usable wheel ({})", described.join("; "))
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
            [(Node::Root, Term::Positive(_)), (node, Term::Positive(range))] => {
                format!("{} cannot be used with the requirements", self.term(node, range))
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
                match parts.as_slice() {
                    [first, second] => format!("{first} and {second} cannot be chosen together"),
                    _ => format!("{} cannot all be chosen together", parts.join(", ")),
                }
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
