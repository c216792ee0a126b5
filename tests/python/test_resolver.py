"""Resolution against package indexes the suite serves itself on 127.0.0.1."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Callable, Dict, List

import pytest

import skillguard
from local_index import IndexServer, LocalIndex, write_wheel


@pytest.fixture()
def make_index():
    """Creates local indexes, each served on its own port, and stops them all afterwards."""
    servers: List[IndexServer] = []

    def create(**options: object) -> LocalIndex:
        index = LocalIndex(**options)  # type: ignore[arg-type]
        servers.append(IndexServer(index))
        return index

    yield create
    for server in servers:
        server.close()


@pytest.fixture()
def index(make_index) -> LocalIndex:
    return make_index()


@pytest.fixture()
def scanner_for(tmp_path: Path) -> Callable[..., skillguard.DependencyScanner]:
    """Builds scanners whose sources are only the ones a test names, so pip
    variables of the environment cannot change the results."""

    def create(primary: LocalIndex, **options: object) -> skillguard.DependencyScanner:
        options.setdefault("extra_index_urls", [])
        options.setdefault("find_links", [])
        options.setdefault("cache_dir", str(tmp_path / "cache"))
        return skillguard.DependencyScanner(":memory:", index_url=primary.url, **options)  # type: ignore[arg-type]

    return create


def versions(lock: skillguard.Lock) -> Dict[str, str]:
    return {package.name: package.version for package in lock.packages}


def test_diamond_dependency_meets_both_bounds(index, scanner_for):
    index.add_wheel("app", "1.0", requires_dist=["left", "right"])
    index.add_wheel("left", "1.0", requires_dist=["base>=1.2"])
    index.add_wheel("right", "1.0", requires_dist=["base<2"])
    for version in ["1.0", "1.2", "1.5", "2.0"]:
        index.add_wheel("base", version)

    lock = scanner_for(index).resolve(["app"])

    assert versions(lock) == {"app": "1.0", "left": "1.0", "right": "1.0", "base": "1.5"}
    base = next(package for package in lock.packages if package.name == "base")
    assert base.required_by == ["left==1.0", "right==1.0"]
    assert base.requirements == ["left==1.0: base>=1.2", "right==1.0: base<2"]


def test_conflict_is_solved_by_backtracking(index, scanner_for):
    # The newest "first" needs shared 2, which "second" rejects, so only
    # going back to first 1.0 gives a solution.
    index.add_wheel("first", "2.0", requires_dist=["shared==2.0"])
    index.add_wheel("first", "1.0", requires_dist=["shared==1.0"])
    index.add_wheel("second", "1.0", requires_dist=["shared<2"])
    index.add_wheel("shared", "1.0")
    index.add_wheel("shared", "2.0")

    lock = scanner_for(index).resolve(["first", "second"])

    assert versions(lock) == {"first": "1.0", "second": "1.0", "shared": "1.0"}


def test_deep_backtracking_reaches_the_oldest_version(index, scanner_for):
    for number in range(1, 41):
        index.add_wheel("plugin", f"{number}.0", requires_dist=[f"host=={number}.0"], metadata_file=number % 2 == 0)
        index.add_wheel("host", f"{number}.0")
    index.add_wheel("app", "1.0", requires_dist=["host<2"])

    lock = scanner_for(index).resolve(["plugin", "app"])

    assert versions(lock) == {"plugin": "1.0", "host": "1.0", "app": "1.0"}


def test_unsatisfiable_set_explains_the_chain(index, scanner_for):
    index.add_wheel("web", "1.0", requires_dist=["core>=2"])
    index.add_wheel("cli", "1.0", requires_dist=["core<2"])
    index.add_wheel("core", "1.0")
    index.add_wheel("core", "2.0")

    with pytest.raises(skillguard.ResolutionError) as raised:
        scanner_for(index).resolve(["web", "cli"])

    assert str(raised.value) == (
        "no set of wheels satisfies the requirements for CPython 3.11.2 on manylinux_2_36 x86_64:\n"
        "Because web depends on core >=2 and cli ==1.0 depends on core <2, cli ==1.0 and web cannot be chosen together.\n"
        "And because the requirements ask for cli and the requirements ask for web, "
        "the requirements cannot all be satisfied.\n"
        "hint: change or remove one of the requirements named above so that their versions overlap"
    )


def test_missing_dependency_version_is_named(index, scanner_for):
    index.add_wheel("app", "1.0", requires_dist=["plugin[extra]==2.0"])
    index.add_wheel("plugin", "2.0", provides_extra=["extra"], requires_dist=['engine>=3; extra == "extra"'])
    index.add_wheel("engine", "1.0")

    with pytest.raises(skillguard.ResolutionError) as raised:
        scanner_for(index).resolve(["app"])

    assert str(raised.value).splitlines()[1:3] == [
        "Because no version of engine >=3 exists and plugin[extra] ==2.0 depends on engine >=3, plugin[extra] ==2.0 cannot be used.",
        "And because app ==1.0 depends on plugin[extra] ==2.0 and the requirements ask for app, the requirements cannot all be satisfied.",
    ]


def test_markers_are_evaluated_for_the_target(index, scanner_for):
    index.add_wheel(
        "tool",
        "1.0",
        requires_dist=[
            'backport; python_version < "3.11"',
            'modern; python_version >= "3.11"',
            'armonly; platform_machine == "aarch64"',
            'winonly; sys_platform == "win32"',
        ],
    )
    for name in ["backport", "modern", "armonly", "winonly"]:
        index.add_wheel(name, "1.0")
    scanner = scanner_for(index)
    # The host's own interpreter must not decide: take a target on the other side of 3.11.
    host_is_new = sys.version_info >= (3, 11)
    target = "3.10.12" if host_is_new else "3.12.1"

    lock = scanner.resolve(["tool"], python_version=target)

    expected = "backport" if host_is_new else "modern"
    assert set(versions(lock)) == {"tool", expected}
    assert lock.target["python_full_version"] == target


def test_extras_add_their_dependencies(index, scanner_for):
    index.add_wheel(
        "client",
        "1.0",
        provides_extra=["socks", "fast_json"],
        requires_dist=["transport", 'pysocks>=1.5; extra == "socks"', 'orjson; extra == "fast-json"'],
    )
    for name in ["transport", "pysocks", "orjson"]:
        index.add_wheel(name, "1.5")
    scanner = scanner_for(index)

    plain = scanner.resolve(["client"])
    with_socks = scanner.resolve(["client[socks]"])
    with_both = scanner.resolve(["client[socks,Fast_JSON]"])

    assert set(versions(plain)) == {"client", "transport"}
    assert set(versions(with_socks)) == {"client", "transport", "pysocks"}
    assert set(versions(with_both)) == {"client", "transport", "pysocks", "orjson"}


def test_yanked_release_needs_an_exact_pin(index, scanner_for):
    index.add_wheel("lib", "1.0")
    index.add_wheel("lib", "1.1", yanked="broken metadata")
    scanner = scanner_for(index)

    assert versions(scanner.resolve(["lib"])) == {"lib": "1.0"}
    assert versions(scanner.resolve(["lib==1.1"])) == {"lib": "1.1"}
    with pytest.raises(skillguard.ResolutionError) as raised:
        scanner.resolve(["lib>=1.1"])
    assert "lib >=1.1 has a usable wheel (yanked: 1.1)" in str(raised.value)


def test_prereleases_only_when_requested(index, scanner_for):
    index.add_wheel("lib", "1.0")
    index.add_wheel("lib", "2.0b1")
    scanner = scanner_for(index)

    assert versions(scanner.resolve(["lib"])) == {"lib": "1.0"}
    assert versions(scanner.resolve(["lib>=2.0b1"])) == {"lib": "2.0b1"}
    assert versions(scanner.resolve(["lib==2.0b1"])) == {"lib": "2.0b1"}
    assert versions(scanner.resolve(["lib"], prereleases=True)) == {"lib": "2.0b1"}


def test_requires_python_of_the_target_decides(index, scanner_for):
    index.add_wheel("lib", "1.0", requires_python=">=3.8")
    index.add_wheel("lib", "2.0", requires_python=">=3.12")
    scanner = scanner_for(index)

    assert versions(scanner.resolve(["lib"], python_version="3.11.2")) == {"lib": "1.0"}
    assert versions(scanner.resolve(["lib"], python_version="3.12.1")) == {"lib": "2.0"}
    with pytest.raises(skillguard.ResolutionError) as raised:
        scanner.resolve(["lib>=2"], python_version="3.11.2")
    assert "requires Python >=3.12: 2.0" in str(raised.value)


def test_sdist_only_package_is_rejected_naming_versions(index, scanner_for):
    index.add_sdist("srconly", "1.0")
    index.add_sdist("srconly", "0.9")

    with pytest.raises(skillguard.ResolutionError) as raised:
        scanner_for(index).resolve(["srconly"])

    message = str(raised.value)
    assert "no version of srconly has a usable wheel (source distribution only: 1.0, 0.9)" in message
    assert "never builds source distributions on the host" in message


def test_wheel_for_another_platform_is_rejected(index, scanner_for):
    index.add_wheel("native", "1.0", tag="cp311-cp311-macosx_11_0_arm64")

    with pytest.raises(skillguard.ResolutionError) as raised:
        scanner_for(index).resolve(["native"])

    assert "native has a usable wheel (no wheel for CPython 3.11.2 on manylinux_2_36 x86_64: 1.0)" in str(raised.value)


def test_download_with_hash_mismatch_is_rejected(index, scanner_for, tmp_path):
    index.add_wheel("lib", "1.0", listed_sha256="0" * 64)
    scanner = scanner_for(index)
    lock = scanner.resolve(["lib"])
    assert lock.packages[0].sha256 == "0" * 64

    with pytest.raises(skillguard.PackageIndexError) as raised:
        scanner.download(lock, cache_dir=str(tmp_path / "downloads"))

    message = str(raised.value)
    assert "hash mismatch for lib-1.0-py3-none-any.whl" in message
    assert "0" * 64 in message
    assert list((tmp_path / "downloads").rglob("*.whl")) == []


def test_metadata_from_wheel_with_hash_mismatch_is_rejected(index, scanner_for):
    # Without a PEP 658 metadata file the wheel itself is read, and checked first.
    index.add_wheel("lib", "1.0", metadata_file=False, listed_sha256="1" * 64)

    with pytest.raises(skillguard.PackageIndexError) as raised:
        scanner_for(index).resolve(["lib"])

    assert "hash mismatch for lib-1.0-py3-none-any.whl" in str(raised.value)


def test_download_verifies_and_reports_progress(index, scanner_for, tmp_path):
    entry = index.add_wheel("lib", "1.0", requires_dist=["dep"])
    index.add_wheel("dep", "2.0", metadata_file=False)
    scanner = scanner_for(index)
    lock = scanner.resolve(["lib"])
    calls = []

    paths = scanner.download(lock, cache_dir=str(tmp_path / "c"), progress=lambda *call: calls.append(call))

    assert sorted(call[:2] for call in calls) == [(1, 2), (2, 2)]
    assert {call[2] for call in calls} == {"lib-1.0-py3-none-any.whl", "dep-2.0-py3-none-any.whl"}
    lib_path = Path(paths[[package.name for package in lock.packages].index("lib")])
    assert lib_path.parent.name == entry.sha256
    assert hashlib.sha256(lib_path.read_bytes()).hexdigest() == entry.sha256


def test_metadata_is_read_from_wheel_tail_with_ranges(make_index, scanner_for):
    index = make_index(ranges=True)
    large = index.add_wheel("large", "1.0", requires_dist=["dep"], metadata_file=False, padding=400_000)
    index.add_wheel("dep", "1.0", metadata_file=False)

    lock = scanner_for(index).resolve(["large"])

    assert versions(lock) == {"large": "1.0", "dep": "1.0"}
    assert 0 < index.bytes_served[large.filename] < len(large.data) // 4


def test_second_index_cannot_shadow_the_first(make_index, scanner_for):
    private = make_index()
    public = make_index()
    private.add_wheel("internal-tool", "1.0", requires_dist=["helper"])
    public.add_wheel("internal-tool", "99.0")
    public.add_wheel("helper", "3.0")

    lock = scanner_for(private, extra_index_urls=[public.url]).resolve(["internal-tool"])

    assert versions(lock) == {"internal-tool": "1.0", "helper": "3.0"}
    assert not any("internal-tool" in path for path in public.requests)
    tool = next(package for package in lock.packages if package.name == "internal-tool")
    assert tool.url.startswith(private.url.replace("/simple/", "/files/"))


def test_private_index_credentials_stay_out_of_the_lock(make_index, tmp_path):
    index = make_index(credentials=("reader", "s3cret-token"), ranges=True)
    index.add_wheel("private-lib", "1.0", requires_dist=["dep"])
    index.add_wheel("dep", "1.0", metadata_file=False)
    authenticated = index.url.replace("http://", "http://reader:s3cret-token@")
    scanner = skillguard.DependencyScanner(
        ":memory:", index_url=authenticated, extra_index_urls=[], find_links=[], cache_dir=str(tmp_path / "cache")
    )

    lock = scanner.resolve(["private-lib"])
    paths = scanner.download(lock, cache_dir=str(tmp_path / "downloads"))

    assert versions(lock) == {"private-lib": "1.0", "dep": "1.0"}
    for text in [lock.to_json(), lock.to_pylock_toml(), repr(lock)]:
        assert "s3cret-token" not in text
    assert len(paths) == 2
    with pytest.raises(skillguard.ResolutionError) as raised:
        scanner.resolve(["missing"])
    assert "s3cret-token" not in str(raised.value)
    assert "reader:***@" in str(raised.value)


def test_html_index_resolves_like_json(make_index, scanner_for):
    index = make_index(html_only=True)
    index.add_wheel("lib", "1.0", requires_dist=["dep>=1"])
    index.add_wheel("lib", "1.1", yanked=True)
    index.add_wheel("lib", "2.0", requires_python=">=3.12")
    index.add_wheel("dep", "1.4", metadata_file=False)

    lock = scanner_for(index).resolve(["lib"])

    assert versions(lock) == {"lib": "1.0", "dep": "1.4"}
    assert any(path.endswith(".metadata") for path in index.requests)


def test_find_links_directory_supplies_wheels(index, scanner_for, tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "localonly", "0.3", requires_dist=["dep"])
    index.add_wheel("dep", "1.0")

    lock = scanner_for(index, find_links=[str(wheels)]).resolve(["localonly"])

    assert versions(lock) == {"localonly": "0.3", "dep": "1.0"}
    local = next(package for package in lock.packages if package.name == "localonly")
    assert local.url.startswith("file://")


def test_missing_find_links_directory_is_rejected(index, tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(skillguard.InvalidArgumentError) as raised:
        skillguard.DependencyScanner(":memory:", index_url=index.url, find_links=[str(missing)])
    assert str(missing) in str(raised.value)


def test_offline_resolves_from_cache_alone(make_index, scanner_for):
    index = make_index()
    index.add_wheel("lib", "1.0", requires_dist=["dep"])
    index.add_wheel("dep", "1.0", metadata_file=False)
    online = scanner_for(index).resolve(["lib"])
    served = len(index.requests)

    offline = scanner_for(index, offline=True).resolve(["lib"])

    assert offline.digest == online.digest
    assert len(index.requests) == served
    with pytest.raises(skillguard.PackageIndexError) as raised:
        scanner_for(index, offline=True).resolve(["other"])
    assert str(raised.value).startswith(f"offline mode: the project page of other from {index.url}other/ is not in the cache")


def test_offline_lists_every_missing_entry(index, scanner_for, tmp_path):
    for name in ["first", "second", "third"]:
        index.add_wheel(name, "1.0")

    with pytest.raises(skillguard.PackageIndexError) as raised:
        scanner_for(index, offline=True).resolve(["first", "second", "third"])

    assert str(raised.value) == (
        f"offline mode: the cache {tmp_path / 'cache' / 'http'} lacks 3 entries this resolution needs:\n"
        "  the project page of first\n"
        "  the project page of second\n"
        "  the project page of third\n"
        "hint: resolve once online with the same cache_dir, or turn offline mode off"
    )
    assert index.requests == []


def test_fresh_cache_entries_skip_the_network(make_index, scanner_for):
    index = make_index(cache_control="max-age=600")
    index.add_wheel("lib", "1.0")
    scanner = scanner_for(index)
    scanner.resolve(["lib"])
    served = len(index.requests)

    scanner.resolve(["lib"])

    assert len(index.requests) == served


def test_stale_cache_entries_are_revalidated(make_index, scanner_for):
    index = make_index(etag=True)
    index.add_wheel("lib", "1.0")
    scanner = scanner_for(index)
    scanner.resolve(["lib"])

    lock = scanner.resolve(["lib"])

    assert index.not_modified == 1
    assert versions(lock) == {"lib": "1.0"}


def test_cooldown_ignores_recent_uploads(index, scanner_for):
    index.add_wheel("lib", "1.0", uploaded_days_ago=30)
    index.add_wheel("lib", "1.1", uploaded_days_ago=1)
    scanner = scanner_for(index)

    assert versions(scanner.resolve(["lib"])) == {"lib": "1.1"}
    assert versions(scanner.resolve(["lib"], cooldown_days=7)) == {"lib": "1.0"}
    with pytest.raises(skillguard.InvalidArgumentError):
        scanner.resolve(["lib"], cooldown_days=-1)
    with pytest.raises(skillguard.InvalidArgumentError):
        scanner.resolve(["lib"], cooldown_days=float("nan"))
    with pytest.raises(skillguard.ResolutionError) as raised:
        scanner.resolve(["lib"], cooldown_days=1e300)
    assert "uploaded within the cool-down period: 1.1, 1.0" in str(raised.value)


def test_unknown_package_names_the_index(index, scanner_for):
    with pytest.raises(skillguard.ResolutionError) as raised:
        scanner_for(index).resolve(["no-such-package"])

    message = str(raised.value)
    assert f"no-such-package was not found on the index {index.url}" in message
    assert "hint: check the spelling of the package names and the index URL" in message


def certificate_authority(directory: Path) -> tuple[Path, Path, Path]:
    """Writes a CA certificate and a server certificate for 127.0.0.1 it signed,
    with the openssl command; returns the CA, the server chain and its key."""

    def openssl(*arguments: str) -> None:
        subprocess.run(["openssl", *arguments], check=True, capture_output=True, cwd=directory)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=skillguard test CA",
            "-keyout", "ca-key.pem", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server-key.pem",
            "-out", "server.csr")
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-days", "1", "-extfile", "server.ext", "-out", "server.pem")
    return directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"


def test_https_index_is_trusted_through_ssl_cert_file(tmp_path, scanner_for, monkeypatch):
    authority, certificate, key = certificate_authority(tmp_path)
    index = LocalIndex()
    server = IndexServer(index, tls=(certificate, key))
    try:
        index.add_wheel("lib", "1.0")
        with pytest.raises(skillguard.PackageIndexError) as raised:
            scanner_for(index).resolve(["lib"])
        assert "hint: check the network, PIP_INDEX_URL and SSL_CERT_FILE" in str(raised.value)

        monkeypatch.setenv("SSL_CERT_FILE", str(authority))
        lock = scanner_for(index).resolve(["lib"])

        assert versions(lock) == {"lib": "1.0"}
    finally:
        server.close()


def test_lock_exports_pylock_toml(index, scanner_for):
    entry = index.add_wheel("lib", "1.0")
    lock = scanner_for(index).resolve(["lib"])

    document = tomllib.loads(lock.to_pylock_toml())

    assert document["lock-version"] == "1.0"
    assert document["created-by"] == "skillguard"
    [package] = document["packages"]
    assert package["name"] == "lib"
    assert package["version"] == "1.0"
    [wheel] = package["wheels"]
    assert wheel["name"] == "lib-1.0-py3-none-any.whl"
    assert wheel["hashes"] == {"sha256": entry.sha256}
    assert wheel["size"] == len(entry.data)


def test_lock_command_writes_each_format(index, tmp_path, capsys):
    from skillguard.cli import main

    entry = index.add_wheel("lib", "1.0")
    common = ["lock", "lib", "--index-url", index.url, "--cache-dir", str(tmp_path / "cache"), "--find-links", str(tmp_path)]

    assert main([*common, "--format", "requirements"]) == 0
    assert capsys.readouterr().out == f"lib==1.0 --hash=sha256:{entry.sha256}\n"
    assert main([*common, "--format", "pylock", "--output", str(tmp_path / "pylock.toml")]) == 0
    assert tomllib.loads((tmp_path / "pylock.toml").read_text())["packages"][0]["name"] == "lib"
    assert main(["lock", "missing-lib", "--index-url", index.url, "--offline", "--cache-dir", str(tmp_path / "empty")]) == 2
    assert "offline mode: the project page of missing-lib" in capsys.readouterr().err


def test_contradicting_requirements_are_named(index, scanner_for):
    index.add_wheel("lib", "1.0")

    with pytest.raises(skillguard.ResolutionError) as raised:
        scanner_for(index).resolve(["lib<2", "lib>2"])

    assert str(raised.value) == "the requirements lib<2 and lib>2 allow no version of lib together; keep one range for lib"
