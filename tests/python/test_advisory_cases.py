"""Known advisory-matching cases from the PyPA advisory snapshot of 2024-10-10.

Each row is (query name, version, advisory id, expected affected). The expected
values follow the OSV schema, not the current behaviour of the product. A version
is affected when it equals (by PEP 440) an entry of the record's `versions` list
or lies in an ECOSYSTEM range. The range events are sorted by PEP 440 version:
`introduced` is inclusive, `fixed` is exclusive and `last_affected` is inclusive.
GIT ranges never match, and withdrawn records never match. Names compare after
PEP 503 normalisation.

Every expectation was computed with `packaging.version.Version` against the
record's YAML and then written here as a literal.
"""

import pytest

import skillguard

CASES = [
    # Multi-interval range whose events are stored out of order
    # (3.9.0, 3.19.1, 0, 3.8.1, 3.20.0, 3.23.1), so matching must sort them first.
    ("oslo-middleware", "3.8.0", "PYSEC-2018-104", True),
    ("oslo-middleware", "3.8.1", "PYSEC-2018-104", False),
    ("oslo-middleware", "3.8.5", "PYSEC-2018-104", False),
    ("oslo-middleware", "3.9.0", "PYSEC-2018-104", True),
    ("oslo-middleware", "3.19.0", "PYSEC-2018-104", True),
    ("oslo-middleware", "3.19.1", "PYSEC-2018-104", False),
    ("oslo-middleware", "3.20.0", "PYSEC-2018-104", True),
    ("oslo-middleware", "3.23.1", "PYSEC-2018-104", False),
    # Fifteen intervals, one of them [2018.3.0rc1, 2019.2.0rc1), so the gaps
    # between intervals and the pre-release bounds are both exercised.
    ("salt", "2015.8.10", "PYSEC-2021-57", False),
    ("salt", "2015.8.11rc1", "PYSEC-2021-57", False),
    ("salt", "2015.8.11", "PYSEC-2021-57", True),
    ("salt", "2016.11.6", "PYSEC-2021-57", False),
    ("salt", "2018.3.0b1", "PYSEC-2021-57", False),
    ("salt", "2018.3.0rc1", "PYSEC-2021-57", True),
    ("salt", "2018.3.0", "PYSEC-2021-57", True),
    ("salt", "2019.2.0rc1", "PYSEC-2021-57", False),
    ("salt", "2019.2.0rc2", "PYSEC-2021-57", False),
    ("salt", "2019.2.0", "PYSEC-2021-57", True),
    ("salt", "3002.4", "PYSEC-2021-57", True),
    ("salt", "3002.5", "PYSEC-2021-57", False),
    ("salt", "3003", "PYSEC-2021-57", False),
    # Interval [1.10a0, 1.10rc1) with pre-release bounds at both ends. The record
    # does not list 1.10a0, so only the range makes it affected. Both dev releases
    # sort before 1.10a0 and so fall outside the interval.
    ("Django", "1.8.14", "PYSEC-2016-2", False),
    ("Django", "1.9.7", "PYSEC-2016-2", True),
    ("Django", "1.9.8", "PYSEC-2016-2", False),
    ("Django", "1.10.dev1", "PYSEC-2016-2", False),
    ("Django", "1.10a0.dev1", "PYSEC-2016-2", False),
    ("Django", "1.10a0", "PYSEC-2016-2", True),
    ("Django", "1.10b1", "PYSEC-2016-2", True),
    ("Django", "1.10rc1", "PYSEC-2016-2", False),
    ("Django", "1.10", "PYSEC-2016-2", False),
    # Two or three ECOSYSTEM intervals beside a GIT range whose events are
    # introduced "0" and fixed <commit>. Matching must ignore the GIT range, because
    # reading its "0" as a version bound would mark every version affected.
    ("django", "3.1.14", "PYSEC-2022-304", False),
    ("django", "4.0", "PYSEC-2022-304", True),
    ("DJANGO", "4.1.1", "PYSEC-2022-304", True),
    ("DJANGO", "4.1.2", "PYSEC-2022-304", False),
    ("Werkzeug", "2.3.7", "PYSEC-2023-221", True),
    ("Werkzeug", "2.3.8", "PYSEC-2023-221", False),
    ("Werkzeug", "3.0.0rc1", "PYSEC-2023-221", False),
    ("Werkzeug", "3.0.0", "PYSEC-2023-221", True),
    ("Werkzeug", "3.0.1rc1", "PYSEC-2023-221", True),
    ("Werkzeug", "3.0.1", "PYSEC-2023-221", False),
    ("zope", "4.6.2", "PYSEC-2021-368", True),
    ("zope", "4.6.3", "PYSEC-2021-368", False),
    ("Zope", "4.9", "PYSEC-2021-368", False),
    ("Zope", "5.0", "PYSEC-2021-368", True),
    # Pre-release bounds: fixed 5.2b1 (so 5.2a1 is affected), fixed 1.0.0a12,
    # and introduced 1.1.0b1 (so 1.1.0a1 is not affected).
    ("PyYAML", "5.1rc1", "PYSEC-2020-176", False),
    ("PyYAML", "5.1", "PYSEC-2020-176", True),
    ("PyYAML", "5.2a1", "PYSEC-2020-176", True),
    ("PyYAML", "5.2b1", "PYSEC-2020-176", False),
    ("PyYAML", "5.2", "PYSEC-2020-176", False),
    ("invenio_previewer", "1.0.0a11", "PYSEC-2019-26", True),
    ("invenio_previewer", "1.0.0a12", "PYSEC-2019-26", False),
    ("Invenio.Previewer", "1.0.0", "PYSEC-2019-26", False),
    ("borgbackup", "1.1.0a1", "PYSEC-2018-105", False),
    ("borgbackup", "1.1.0b1", "PYSEC-2018-105", True),
    ("borgbackup", "1.1.3", "PYSEC-2018-105", False),
    # Post-release bounds: fixed 1.5.0.post0, fixed 1.6.5.post1, and introduced
    # "0.1.2-1", which is the PEP 440 alternate spelling of 0.1.2.post1.
    ("label-studio", "1.5.0rc0", "PYSEC-2022-300", True),
    ("label-studio", "1.5.0", "PYSEC-2022-300", True),
    ("Label_Studio", "1.5.0", "PYSEC-2022-300", True),
    ("label-studio", "1.5.0.post0", "PYSEC-2022-300", False),
    ("label-studio", "1.5.0.post1", "PYSEC-2022-300", False),
    ("beaker", "1.6.5", "PYSEC-2012-1", True),
    ("beaker", "1.6.5.post0", "PYSEC-2012-1", True),
    ("beaker", "1.6.5.post1", "PYSEC-2012-1", False),
    ("beaker", "1.6.5-1", "PYSEC-2012-1", False),
    ("Beaker", "1.6.6", "PYSEC-2012-1", False),
    ("ctx", "0.1.1", "PYSEC-2022-199", False),
    ("ctx", "0.1.2", "PYSEC-2022-199", False),
    ("ctx", "0.1.2.post1", "PYSEC-2022-199", True),
    ("ctx", "0.2.6", "PYSEC-2022-199", True),
    # last_affected 1.11.0 is the only such event in the snapshot. The bound is
    # inclusive, so a post-release or dev release after it is not affected.
    ("py", "0.8.0a2", "PYSEC-2022-42969", True),
    ("py", "1.11.0rc1", "PYSEC-2022-42969", True),
    ("py", "1.11.0", "PYSEC-2022-42969", True),
    ("py", "1.11.0.post1", "PYSEC-2022-42969", False),
    ("py", "1.11.1.dev0", "PYSEC-2022-42969", False),
    ("py", "1.12.0", "PYSEC-2022-42969", False),
    # Open-ended ranges with no closing event: introduced "0" and introduced
    # 0.1.2.post1 both cover every later version, including a later epoch.
    ("apache-skywalking", "0.1.0", "PYSEC-2020-342", True),
    ("Apache_SkyWalking", "0.0.1", "PYSEC-2020-342", True),
    ("apache-skywalking", "1000.0", "PYSEC-2020-342", True),
    ("apache-skywalking", "1!0.1", "PYSEC-2020-342", True),
    ("ctx", "99.0", "PYSEC-2022-199", True),
    # The one record with a versions list and no range, which lists only "0.5".
    # 0.5.0 equals 0.5 under PEP 440.
    ("gratient", "0.5", "PYSEC-2024-1", True),
    ("gratient", "0.5.0", "PYSEC-2024-1", True),
    ("gratient", "0.4", "PYSEC-2024-1", False),
    ("gratient", "0.5rc1", "PYSEC-2024-1", False),
    ("gratient", "0.5.post1", "PYSEC-2024-1", False),
    ("gratient", "0.6", "PYSEC-2024-1", False),
    # Versions that the `versions` list marks affected although the range alone
    # does not: Django pre-releases before introduced 3.2, gevent versions at and
    # after fixed 23.9.0, and wagtail 2.11.6, where an overlapping interval closes
    # at fixed 2.11.6. Versions in neither the list nor the range stay unaffected.
    ("django", "3.2a1", "PYSEC-2023-61", True),
    ("django", "3.2rc1", "PYSEC-2023-61", True),
    ("django", "3.2.dev1", "PYSEC-2023-61", False),
    ("django", "4.1.9", "PYSEC-2023-61", False),
    ("gevent", "23.9.0", "PYSEC-2023-177", True),
    ("gevent", "23.9.0.post1", "PYSEC-2023-177", True),
    ("gevent", "23.9.1", "PYSEC-2023-177", False),
    ("wagtail", "2.11.5", "PYSEC-2021-114", True),
    ("wagtail", "2.11.6", "PYSEC-2021-114", True),
    ("wagtail", "2.11.7", "PYSEC-2021-114", False),
    ("wagtail", "2.12.3", "PYSEC-2021-114", True),
    ("wagtail", "2.12.4", "PYSEC-2021-114", False),
    # Withdrawn records never match, even for versions that their range and
    # versions list both cover.
    ("redis", "4.6.0", "PYSEC-2023-73", False),
    ("selenium", "4.11.2", "PYSEC-2023-101", False),
    ("aiohttp", "3.9.3", "PYSEC-2022-43059", False),
    ("Flask_Caching", "2.0.2", "PYSEC-2021-13", False),
    ("arrayfire", "3.5.20170817", "PYSEC-2019-144", False),
    ("ansible", "2.9.0", "PYSEC-2020-221", False),
    # PEP 503 names: the record names "jw.util", so every spelling that
    # normalises to "jw-util" matches. "jwutil" and "py-yaml" are different
    # projects and must not match.
    ("jw.util", "2.2", "PYSEC-2020-341", True),
    ("JW_Util", "2.2", "PYSEC-2020-341", True),
    ("jw-util", "2.0a0", "PYSEC-2020-341", True),
    ("Jw-_.Util", "2.2", "PYSEC-2020-341", True),
    ("jw.util", "2.3", "PYSEC-2020-341", False),
    ("jwutil", "2.2", "PYSEC-2020-341", False),
    ("py-yaml", "5.1", "PYSEC-2020-176", False),
    # Local versions, dev releases and epochs against fixed 2.20.0.
    # 2.20.0+local sorts after 2.20.0, and epoch 1 sorts after every epoch-0 bound.
    ("requests", "2.19.1+ubuntu1", "PYSEC-2018-28", True),
    ("requests", "2.20.0.dev1", "PYSEC-2018-28", True),
    ("requests", "2.20.0rc1", "PYSEC-2018-28", True),
    ("requests", "2.20.0", "PYSEC-2018-28", False),
    ("requests", "2.20.0+local", "PYSEC-2018-28", False),
    ("requests", "0!2.19.1", "PYSEC-2018-28", True),
    ("requests", "1!2.19.1", "PYSEC-2018-28", False),
    # Query versions in PEP 440 alternate spellings, which must compare as
    # their normal forms: 1.10c1 is 1.10rc1, 5.2-alpha.1 is 5.2a1, v2.19.1 is
    # 2.19.1, 5.2B1 is 5.2b1, 1.11.0-post1 is 1.11.0.post1 and 2.20.0.RC1 is 2.20.0rc1.
    ("Django", "1.10c1", "PYSEC-2016-2", False),
    ("PyYAML", "5.2-alpha.1", "PYSEC-2020-176", True),
    ("PyYAML", "5.2B1", "PYSEC-2020-176", False),
    ("requests", "v2.19.1", "PYSEC-2018-28", True),
    ("requests", "2.20.0.RC1", "PYSEC-2018-28", True),
    ("py", "1.11.0-post1", "PYSEC-2022-42969", False),
]


def case_id(case: tuple[str, str, str, bool]) -> str:
    """Builds a pytest id such as `PYSEC-2018-28 requests==2.20.0 unaffected`."""
    name, version, advisory_id, affected = case
    expectation = "affected" if affected else "unaffected"
    return f"{advisory_id} {name}=={version} {expectation}"


@pytest.fixture(scope="module")
def scanner(imported_db):
    return skillguard.DependencyScanner(imported_db)


@pytest.mark.parametrize(("name", "version", "advisory_id", "affected"), CASES, ids=[case_id(case) for case in CASES])
def test_known_case(scanner, name, version, advisory_id, affected):
    found = scanner.advisories_for(name, version)
    ids = [vulnerability.id for vulnerability in found]

    expectation = "affected" if affected else "not affected"
    assert (advisory_id in ids) is affected, f"{name} {version} should be {expectation} by {advisory_id}; matched {ids}"
