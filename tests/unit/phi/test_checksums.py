from __future__ import annotations

import pytest
from healthai_server.phi import checksums


@pytest.mark.parametrize("number", ["4111 1111 1111 1111", "4539-1488-0343-6467", "79927398713"])
def test_luhn_accepts_valid_numbers(number: str) -> None:
    assert checksums.luhn_valid(number)


@pytest.mark.parametrize("number", ["4111 1111 1111 1112", "79927398710", "5"])
def test_luhn_rejects_invalid_numbers(number: str) -> None:
    assert not checksums.luhn_valid(number)


def test_npi_check_digit() -> None:
    assert checksums.npi_valid("1234567893")
    assert not checksums.npi_valid("1234567890")


@pytest.mark.parametrize(
    ("ssn", "valid"),
    [
        ("123-45-6789", True),
        ("000-12-3456", False),
        ("666-12-3456", False),
        ("912-34-5678", False),
        ("123-00-4567", False),
        ("123-45-0000", False),
    ],
)
def test_ssn_issuing_rules(ssn: str, valid: bool) -> None:
    assert checksums.ssn_valid(ssn) is valid


def test_dea_check_digit() -> None:
    assert checksums.dea_valid("AB1234563")
    assert not checksums.dea_valid("AB1234564")


def test_vin_check_digit() -> None:
    assert checksums.vin_valid("1M8GDM9AXKP042788")
    assert not checksums.vin_valid("1M8GDM9A1KP042788")
    assert checksums.vin_check_digit("1M8GDM9A0KP042788") == "X"


def test_configured_and_builtin_vin_checks_are_one_rule() -> None:
    from healthai_server.phi import checksums
    from healthai_server.phi.recognizers import patterns
    from healthai_server.phi.registry import VALIDATORS

    assert VALIDATORS["vin"] is checksums.vin_verdict is patterns._vin
    assert checksums.vin_verdict("1M8GDM9AXKP042788") is True  # good check digit: confirmed
    assert checksums.vin_verdict("WVWZZZ1JZXW000001") is None  # no North American check digit: kept
    assert checksums.vin_verdict("IM8GDM9AXKP042788") is False  # I, O, Q never occur in a VIN
