"""The advisory database against the real snapshot: counts, consistency,
severity and waivers, and every way a scan must fail closed."""

from __future__ import annotations

import http.server
import re
import sqlite3
import tarfile
import threading

import cvss
import pytest
import yaml
from packaging.version import InvalidVersion, Version

import skillguard


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def snapshot_records(snapshot):
    """Every record of the snapshot, parsed by PyYAML independently of skillguard."""
    records = []
    with tarfile.open(snapshot) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.endswith((".yaml", ".yml", ".json")):
                records.append(yaml.safe_load(archive.extractfile(member)))
    return records


def pypi_packages(record):
    return [entry for entry in record.get("affected", []) if entry.get("package", {}).get("ecosystem") == "PyPI"]


def test_import_counts_every_record_and_package(snapshot, snapshot_records, tmp_path):
    report = skillguard.DependencyScanner(str(tmp_path / "fresh.db")).import_advisories(str(snapshot))
    expected_records = [record for record in snapshot_records if pypi_packages(record)]
    expected_packages = {normalise(entry["package"]["name"]) for record in expected_records for entry in pypi_packages(record)}
    assert report["failed"] == []
    assert report["files"] == len(snapshot_records)
    assert report["inserted"] == len(expected_records)
    assert report["packages"] == len(expected_packages)


def range_contains(events, version):
    """OSV ECOSYSTEM range semantics, written independently of the product."""
    bounds = []
    for event in events:
        (kind, text), = event.items()
        try:
            bounds.append((Version(str(text)), kind))
        except InvalidVersion:
            continue
    bounds.sort(key=lambda bound: bound[0])
    affected = False
    for bound, kind in bounds:
        if kind == "introduced" and bound <= version:
            affected = True
        elif kind in ("fixed", "limit") and bound <= version:
            affected = False
        elif kind == "last_affected" and bound < version:
            affected = False
    return affected


def test_consistency_errors_match_independent_check(imported_db, snapshot_records):
    expected = set()
    for record in snapshot_records:
        if record.get("withdrawn"):
            continue
        for entry in pypi_packages(record):
            ranges = [item for item in entry.get("ranges", []) if item["type"] == "ECOSYSTEM"]
            if not ranges or not entry.get("versions"):
                continue
            for text in entry["versions"]:
                try:
                    version = Version(str(text))
                except InvalidVersion:
                    continue
                if not any(range_contains(item["events"], version) for item in ranges):
                    expected.add((record["id"], normalise(entry["package"]["name"]), str(version)))
    found = skillguard.DependencyScanner(imported_db).advisory_data_errors()
    assert {(error["advisory_id"], error["package"], error["version"]) for error in found} == expected
    assert len(found) == len(expected)


def test_cvss_scores_match_reference_library(snapshot_records):
    vectors = {
        severity["score"]
        for record in snapshot_records
        for severity in record.get("severity", [])
        if severity["type"] == "CVSS_V3"
    }
    assert len(vectors) > 50
    for vector in sorted(vectors):
        reference = cvss.CVSS3(vector)
        score, rating = skillguard.cvss_base_score(vector)
        assert score == float(reference.base_score), vector
        assert rating == reference.severities()[0].lower(), vector


def test_records_without_cvss_have_no_severity(database):
    [first, second] = skillguard.DependencyScanner(database).advisories_for("requests", "2.19.1")
    for vulnerability in (first, second):
        assert vulnerability.severity is None
        assert vulnerability.cvss_score is None
        assert vulnerability.cvss_vector is None


def test_scan_of_stale_database_fails_closed(database):
    connection = sqlite3.connect(database)
    connection.execute("UPDATE advisory_imports SET imported_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-8 days')")
    connection.commit()
    connection.close()
    scanner = skillguard.DependencyScanner(database)
    with pytest.raises(skillguard.AdvisoryDatabaseError) as raised:
        scanner.scan(["six"])
    assert "stale" in str(raised.value)
    assert "skillguard advisories" in str(raised.value)
    assert skillguard.DependencyScanner(database, max_advisory_age_days=30).scan(["six==1.16.0"]).safe is True


def test_scan_of_corrupt_database_raises(tmp_path):
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a SQLite database" * 100)
    with pytest.raises(skillguard.SkillguardError):
        skillguard.DependencyScanner(str(path)).scan(["six"])


class FailingIndex(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.end_headers()

    def log_message(self, *arguments):
        pass


def test_scan_with_failing_index_raises(database):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FailingIndex)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scanner = skillguard.DependencyScanner(database, index_url=f"http://127.0.0.1:{server.server_port}/simple/")
        with pytest.raises(skillguard.PackageIndexError) as raised:
            scanner.scan(["six"])
        assert "503" in str(raised.value)
    finally:
        server.shutdown()
        server.server_close()


def test_scan_with_conflict_is_unsafe(database):
    report = skillguard.DependencyScanner(database).scan(["requests==2.19.1", "urllib3>=2"])
    assert report.safe is False
    assert report.lock is None
    [conflict] = report.conflicts
    assert "urllib3" in conflict


def test_scan_with_failing_maturity_resolver_raises(database):
    def resolver(agent_id):
        raise RuntimeError("agents table unreachable")

    governance = skillguard.PackageGovernance(database, maturity_resolver=resolver)
    scanner = skillguard.DependencyScanner(database, governance=governance)
    with pytest.raises(skillguard.SkillguardError) as raised:
        scanner.scan(["six==1.16.0"], agent_id="agent-7")
    assert "agents table unreachable" in str(raised.value)


def test_severity_threshold_decides_which_vulnerabilities_deny(database):
    scanner = skillguard.DependencyScanner(database, deny_severity="critical", deny_unknown_severity=False)
    report = scanner.scan(["requests==2.19.1"])
    assert report.vulnerabilities
    for vulnerability in report.vulnerabilities:
        assert vulnerability.denies == (vulnerability.severity == "critical"), vulnerability.id
    assert report.safe == (not any(vulnerability.denies for vulnerability in report.vulnerabilities))
    assert "PYSEC-2018-28" in [vulnerability.id for vulnerability in report.vulnerabilities if not vulnerability.denies]

    strict = skillguard.DependencyScanner(database, deny_severity="critical").scan(["requests==2.19.1"])
    assert strict.safe is False


def test_invalid_severity_threshold_raises():
    with pytest.raises(ValueError, match="deny_severity"):
        skillguard.DependencyScanner(":memory:", deny_severity="severe")


def test_waiver_moves_vulnerability_and_is_audited(database):
    scanner = skillguard.DependencyScanner(database)
    scanner.waive("PYSEC-2018-28", reason="credentials never cross hosts here", waived_by="alice")
    scanner.waive("PYSEC-2023-74", reason="expired waiver", expires_at="2001-01-01")
    report = scanner.scan(["requests==2.19.1"])
    assert [vulnerability.id for vulnerability in report.waived] == ["PYSEC-2018-28"]
    assert "PYSEC-2023-74" in [vulnerability.id for vulnerability in report.vulnerabilities]
    assert report.safe is False

    actions = [entry["action"] for entry in skillguard.PackageGovernance(database).audit_log()]
    assert actions.count("advisory_waived") == 2
    assert scanner.remove_waiver("PYSEC-2018-28", removed_by="alice") is True
    assert scanner.remove_waiver("PYSEC-2018-28") is False


def test_malicious_advisory_cannot_be_waived(database):
    with pytest.raises(ValueError, match="cannot be waived"):
        skillguard.DependencyScanner(database).waive("MAL-2024-1", reason="false positive")


def test_import_from_url_reports_progress(snapshot, tmp_path):
    payload = snapshot.read_bytes()

    class SnapshotServer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SnapshotServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    progress = []
    try:
        scanner = skillguard.DependencyScanner(str(tmp_path / "url.db"))
        report = scanner.import_advisories(
            f"http://127.0.0.1:{server.server_port}/advisories.tar.gz",
            progress=lambda received, total: progress.append((received, total)),
        )
    finally:
        server.shutdown()
        server.server_close()
    assert report["inserted"] > 2600
    assert progress[-1] == (len(payload), len(payload))
    assert all(total == len(payload) for _, total in progress)


def test_failed_import_changes_nothing(database, tmp_path):
    before = skillguard.DependencyScanner(database).advisory_status()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(b"\x1f\x8b" + b"\x00" * 100)
    with pytest.raises(skillguard.AdvisoryDatabaseError):
        skillguard.DependencyScanner(database).import_advisories(str(truncated))
    after = skillguard.DependencyScanner(database).advisory_status()
    for key in ("records", "digest", "last_import", "source"):
        assert after[key] == before[key], key
