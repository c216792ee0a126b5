use super::*;

fn governance() -> Governance {
    Governance::new(Store::open(Some(":memory:")).unwrap(), None)
}

fn approve(governance: &Governance, requirement: &str, level: &str) {
    governance.approve("python", requirement, level, Some("alice"), None).unwrap();
}

fn rule(governance: &Governance, agent: &str, name: &str, version: &str) -> &'static str {
    governance.check_shared(agent, "python", name, version).unwrap().decision.rule
}

#[test]
fn approval_range_allows_inside_and_denies_outside() {
    let governance = governance();
    governance.set_agent_maturity("agent-7", "supervised", None).unwrap();
    approve(&governance, "numpy>=1.26,<2", "intern");
    assert_eq!(rule(&governance, "agent-7", "NumPy", "1.26.4"), "approved");
    assert_eq!(rule(&governance, "agent-7", "numpy", "2.0.0"), "not_in_registry");
}

#[test]
fn ban_wins_over_approval() {
    let governance = governance();
    governance.set_agent_maturity("agent-7", "autonomous", None).unwrap();
    approve(&governance, "requests", "intern");
    governance.ban("python", "requests<2.32", "CVE-2024-35195", None, None).unwrap();

    let old = governance.check("agent-7", "requests", "2.31.0").unwrap();
    assert_eq!(old.rule, "banned");
    assert!(old.reason.contains("CVE-2024-35195"), "{}", old.reason);
    assert!(governance.check("agent-7", "requests", "2.32.0").unwrap().allowed);
}

#[test]
fn unpinned_needs_full_approval() {
    let governance = governance();
    governance.set_agent_maturity("agent-7", "autonomous", None).unwrap();
    approve(&governance, "numpy>=1.26", "intern");
    assert_eq!(rule(&governance, "agent-7", "numpy", ">=1.26"), "not_in_registry");
    assert_eq!(rule(&governance, "agent-7", "numpy", "==1.26.4"), "approved");
    approve(&governance, "six", "intern");
    assert_eq!(rule(&governance, "agent-7", "six", "latest"), "approved");
    governance.ban("python", "six<1.10", "old", None, None).unwrap();
    assert_eq!(rule(&governance, "agent-7", "six", ""), "banned");
    assert_eq!(rule(&governance, "agent-7", "six", ">=1.10"), "approved");
}

#[test]
fn change_drops_only_its_decisions() {
    let governance = governance();
    governance.set_agent_maturity("a", "supervised", None).unwrap();
    governance.set_agent_maturity("b", "supervised", None).unwrap();
    approve(&governance, "six", "intern");
    approve(&governance, "idna", "intern");
    for agent in ["a", "b"] {
        for name in ["six", "idna"] {
            rule(&governance, agent, name, "1.0");
        }
    }
    assert_eq!(governance.cache_stats().size, 4);

    governance.ban("python", "six", "compromised", None, None).unwrap();
    let stats = governance.cache_stats();
    assert_eq!((stats.size, stats.invalidations), (2, 2));
    assert_eq!(rule(&governance, "a", "Six", "1.0"), "banned");

    governance.set_agent_maturity("b", "paused", None).unwrap();
    assert_eq!(governance.cache_stats().size, 2, "b's idna decision dropped, a's six decision added");
    assert_eq!(rule(&governance, "b", "idna", "1.0"), "agent_inactive");
    assert_eq!(rule(&governance, "a", "idna", "1.0"), "approved");
    assert!(governance.cache_stats().hits >= 1);
}

#[test]
fn other_connection_commit_seen() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("policy.db");
    let path = path.to_str().unwrap();
    let ours = Governance::new(Store::open(Some(path)).unwrap(), None);
    let theirs = Governance::new(Store::open(Some(path)).unwrap(), None);
    ours.set_agent_maturity("a", "supervised", None).unwrap();
    approve(&ours, "six", "intern");
    assert_eq!(rule(&ours, "a", "six", "1.16.0"), "approved");
    assert_eq!(rule(&ours, "a", "six", "1.16.0"), "approved");
    assert_eq!(ours.cache_stats().hits, 1);

    theirs.ban("python", "six", "compromised", None, None).unwrap();
    assert_eq!(rule(&ours, "a", "six", "1.16.0"), "banned");
}

#[test]
fn time_boxed_approval_lapses() {
    let governance = governance();
    governance.set_agent_maturity("a", "supervised", None).unwrap();
    governance.approve("python", "six", "intern", None, Some(&Expiry::In(0.3))).unwrap();
    assert_eq!(rule(&governance, "a", "six", "1.16.0"), "approved");
    std::thread::sleep(Duration::from_millis(400));
    let decision = governance.check("a", "six", "1.16.0").unwrap();
    assert_eq!(decision.rule, "expired", "{}", decision.reason);

    let error = governance.approve("python", "six", "intern", None, Some(&Expiry::At("2001-01-01".into()))).unwrap_err();
    assert!(error.to_string().contains("not in the future"), "{error}");
    let error = governance.approve("python", "six", "intern", None, Some(&Expiry::At("soon".into()))).unwrap_err();
    assert!(error.to_string().contains("\"soon\""), "{error}");
}

#[test]
fn stale_decision_not_cached() {
    let governance = governance();
    governance.set_agent_maturity("a", "supervised", None).unwrap();
    approve(&governance, "six", "intern");
    let Lookup::Miss(epoch) = governance.cached("a", "python", "six", "1.0").unwrap() else {
        panic!("nothing is cached yet");
    };
    governance.ban("python", "six", "compromised", None, None).unwrap();
    let stale = Cached::new(Decision::deny("approved", "computed before the ban".into(), None));
    governance.cache.insert("0\u{1f}a\u{1f}python\u{1f}six\u{1f}1.0", stale, epoch, None);
    assert_eq!(rule(&governance, "a", "six", "1.0"), "banned");
}

#[test]
fn check_many_matches_single_checks() {
    let governance = governance();
    governance.set_agent_maturity("a", "supervised", None).unwrap();
    approve(&governance, "six", "intern");
    approve(&governance, "pandas", "autonomous");
    governance.ban("python", "idna<3.7", "CVE-2024-3651", None, None).unwrap();
    let set = [("six", "1.16.0"), ("pandas", "2.2.2"), ("idna", "3.6"), ("leftpad", "1.0"), ("Six", "1.16.0")];
    let together: Vec<&str> = governance.check_many("a", "python", &set).unwrap().iter().map(|cached| cached.decision.rule).collect();
    governance.clear_cache();
    let alone: Vec<&str> = set.iter().map(|(name, version)| rule(&governance, "a", name, version)).collect();
    assert_eq!(together, alone);
    assert_eq!(together, ["approved", "maturity_too_low", "banned", "not_in_registry", "approved"]);
}

#[test]
fn request_keeps_record_revoke_removes() {
    let governance = governance();
    governance.set_agent_maturity("agent-3", "intern", None).unwrap();
    governance.request_approval("python", "attrs", Some("agent-3"), Some("parsing")).unwrap();
    assert_eq!(rule(&governance, "agent-3", "attrs", "23.1.0"), "pending");
    approve(&governance, "idna", "intern");
    let record = governance.request_approval("python", "idna", Some("agent-3"), None).unwrap();
    assert_eq!(record.status, STATUS_ACTIVE);

    governance.revoke("python", "idna", Some("bob"), Some("unused")).unwrap();
    assert_eq!(rule(&governance, "agent-3", "idna", "3.7"), "not_in_registry");
    let error = governance.revoke("python", "idna", None, None).unwrap_err();
    assert!(error.to_string().contains("no python policy record"), "{error}");
    let actions: Vec<String> = governance.history("python", "IDNA").unwrap().into_iter().map(|entry| entry.action).collect();
    assert_eq!(actions, ["package_approved", "package_revoked"]);
}

#[test]
fn untrusted_denies_until_approved() {
    let governance = governance();
    governance.set_agent_maturity("a", "autonomous", None).unwrap();
    governance.mark_untrusted("python", "leftpad", Some("typosquat suspect"), None).unwrap();
    let decision = governance.check("a", "leftpad", "1.0").unwrap();
    assert_eq!(decision.rule, "untrusted");
    assert!(decision.reason.contains("typosquat suspect"), "{}", decision.reason);
    approve(&governance, "leftpad", "intern");
    assert_eq!(rule(&governance, "a", "leftpad", "1.0"), "approved");
}

#[test]
fn export_then_import_restores_the_policy() {
    let source = governance();
    source.set_agent_maturity("a", "supervised", None).unwrap();
    approve(&source, "numpy>=1.26,<2", "intern");
    source.ban("python", "requests<2.32", "CVE-2024-35195", Some("bob"), None).unwrap();
    source.request_approval("python", "attrs", Some("a"), Some("parsing")).unwrap();
    source.mark_untrusted("npm", "@evil/pkg", None, None).unwrap();
    for format in [policy_file::Format::Toml, policy_file::Format::Json] {
        let text = policy_file::export(&source, format).unwrap();
        let target = governance();
        let summary = policy_file::import(&target, &text, format, "export", "ci", true).unwrap();
        assert_eq!((summary.agents, summary.approvals, summary.bans, summary.pending, summary.untrusted), (1, 1, 1, 1, 1));
        assert_eq!(policy_file::export(&target, format).unwrap(), text);
    }
}

#[test]
fn import_with_bad_entry_writes_nothing() {
    let governance = governance();
    approve(&governance, "six", "intern");
    let text = "[[approve]]\nrequirement = \"idna\"\nmin_maturity = \"intern\"\n\n[[ban]]\nrequirement = \"six\"\nreason = \"\"\n";
    let error = policy_file::import(&governance, text, policy_file::Format::Toml, "p.toml", "ci", true).unwrap_err();
    assert!(error.to_string().contains("p.toml"), "{error}");
    assert!(error.to_string().contains("needs a reason"), "{error}");
    let names: Vec<String> = governance.list(&ListFilter::default()).unwrap().into_iter().map(|record| record.name).collect();
    assert_eq!(names, ["six"]);
}

#[test]
fn invalid_inputs_name_the_value() {
    let governance = governance();
    let error = governance.approve("python", "six", "wizard", None, None).unwrap_err();
    assert!(error.to_string().contains("\"wizard\""), "{error}");
    let error = governance.check("a", "six", "not a version").unwrap_err();
    assert!(error.to_string().contains("\"not a version\""), "{error}");
    let error = governance.ban("python", "six", "  ", None, None).unwrap_err();
    assert!(error.to_string().contains("needs a reason"), "{error}");
    let error = governance.check("a", "six;rm", "1.0").unwrap_err();
    assert!(error.to_string().contains("\"six;rm\""), "{error}");
}

#[test]
fn check_many_rejects_bad_names_and_versions() {
    let governance = governance();
    let error = governance.check_many("a", "python", &[("six\u{1f}x", "1.0")]).unwrap_err();
    assert!(error.to_string().contains("invalid python package name"), "{error}");
    let error = governance.check_many("a", "python", &[("six", "1.0\u{1f}x")]).unwrap_err();
    assert!(error.to_string().contains("invalid version"), "{error}");
    let error = governance.check_many("a", "python", &[("six", "one")]).unwrap_err();
    assert!(error.to_string().contains("\"one\""), "{error}");
}
