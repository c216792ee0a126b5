import pytest

import skillguard


def test_snapshot_import_counts_records(imported_db):
    status = skillguard.DependencyScanner(imported_db).advisory_status()
    assert status["records"] > 2600
    assert status["digest"].startswith("sha256:")
    assert status["age_days"] < 1


def test_reimport_keeps_unchanged_records(database, snapshot):
    report = skillguard.DependencyScanner(database).import_advisories(str(snapshot))
    assert report["inserted"] == 0
    assert report["updated"] == 0
    assert report["unchanged"] == report["files"] - len(report["failed"])


@pytest.mark.parametrize(
    ("package", "version", "expected_id"),
    [
        ("requests", "2.19.1", "PYSEC-2018-28"),
        ("Requests", "2.19.1", "PYSEC-2018-28"),
        ("apache-skywalking", "1.0.1", "PYSEC-2020-342"),
    ],
)
def test_advisories_for_known_versions(database, package, version, expected_id):
    found = skillguard.DependencyScanner(database).advisories_for(package, version)
    assert expected_id in [vulnerability.id for vulnerability in found]


def test_fixed_version_is_not_affected(database):
    found = skillguard.DependencyScanner(database).advisories_for("requests", "2.20.0")
    assert "PYSEC-2018-28" not in [vulnerability.id for vulnerability in found]


def test_scan_without_database_fails_closed(tmp_path):
    scanner = skillguard.DependencyScanner(str(tmp_path / "empty.db"))
    with pytest.raises(skillguard.AdvisoryDatabaseError) as raised:
        scanner.scan(["six"])
    assert "missing" in str(raised.value)
    assert "skillguard advisories import" in str(raised.value)


def test_scan_with_empty_import_fails_closed(tmp_path):
    empty = tmp_path / "osv"
    empty.mkdir()
    scanner = skillguard.DependencyScanner(str(tmp_path / "skillguard.db"))
    scanner.import_advisories(str(empty))
    with pytest.raises(skillguard.AdvisoryDatabaseError) as raised:
        scanner.scan(["six"])
    assert "empty" in str(raised.value)


def test_scan_reports_vulnerable_pin(database):
    report = skillguard.DependencyScanner(database).scan(["requests==2.19.1"])
    assert report.safe is False
    assert "PYSEC-2018-28" in [vulnerability.id for vulnerability in report.vulnerabilities]
    assert report.advisory_db["digest"].startswith("sha256:")


def test_sync_from_missing_source_fails_closed(monkeypatch, tmp_path):
    monkeypatch.setenv("SKILLGUARD_ADVISORY_SOURCE", str(tmp_path / "no-such-export.tar.gz"))
    scanner = skillguard.DependencyScanner(str(tmp_path / "skillguard.db"))
    with pytest.raises(skillguard.AdvisoryDatabaseError) as raised:
        scanner.sync_advisories()
    assert "no-such-export.tar.gz" in str(raised.value)
    assert "SKILLGUARD_ADVISORY_SOURCE" in str(raised.value)
    with pytest.raises(skillguard.AdvisoryDatabaseError):
        scanner.scan(["six"])
