import pytest

import skillguard


@pytest.mark.parametrize(
    ("lines", "line_number", "fragment"),
    [
        (["requests >= = 2"], 1, "requests >= = 2"),
        (["numpy", "pandas[", "six"], 2, "pandas["),
        (["ok==1.0", "", "bad name with spaces"], 3, "bad name with spaces"),
        (["numpy ; python_version >>> '3'"], 1, "python_version"),
    ],
)
def test_malformed_line_names_line(lines, line_number, fragment):
    with pytest.raises(skillguard.RequirementError) as raised:
        skillguard.parse_requirements(lines)
    message = str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert f"line {line_number}" in message
    assert fragment in message


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl", "URLs"),
        ("git+https://example.invalid/repo.git#egg=pkg", "URLs"),
        ("--index-url https://example.invalid/simple", "options"),
        ("-e .", "options"),
        ("-r requirements.txt", "options"),
        ("./vendor/pkg", "local paths"),
        ("/opt/wheels/pkg-1.0-py3-none-any.whl", "local paths"),
        ("pkg-1.0.tar.gz", "archive files"),
    ],
)
def test_url_path_and_option_lines_rejected(line, reason):
    with pytest.raises(skillguard.RequirementError) as raised:
        skillguard.parse_requirements([line])
    assert reason in str(raised.value)
    assert line in str(raised.value)


def test_valid_lines_are_normalised():
    names = skillguard.parse_requirements(["Requests[socks]>=2.32", "# comment", "", "Python_Dateutil==2.9.0"])
    assert names == ["requests", "python-dateutil"]
