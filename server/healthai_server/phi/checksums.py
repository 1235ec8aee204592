"""Check digits and issuing rules that turn "looks like a number" into "is that kind of number"."""

from __future__ import annotations

from collections.abc import Callable

_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def digits_of(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def luhn_valid(value: str) -> bool:
    """Luhn (mod 10) over the digits of `value`: card, account and NPI numbers."""
    digits = digits_of(value)
    if len(digits) < 2:
        return False
    total = 0
    for index, ch in enumerate(reversed(digits)):
        digit = int(ch)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def npi_valid(value: str) -> bool:
    """A 10-digit NPI is Luhn-valid once prefixed with the card issuer prefix 80840."""
    digits = digits_of(value)
    return len(digits) == 10 and luhn_valid("80840" + digits)


def ssn_valid(value: str) -> bool:
    """SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    digits = digits_of(value)
    if len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9":
        return False
    return group != "00" and serial != "0000"


def dea_valid(value: str) -> bool:
    """DEA registration: two letters, seven digits; (d1+d3+d5) + 2*(d2+d4+d6) ends in d7."""
    text = value.strip().upper()
    if len(text) != 9 or not text[:2].isalpha() or not text[2:].isdigit():
        return False
    d = [int(c) for c in text[2:]]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return check == d[6]


def vin_valid(value: str) -> bool:
    """North American VIN check digit (position 9)."""
    text = value.strip().upper()
    if len(text) != 17 or any(ch not in _VIN_VALUES for ch in text):
        return False
    total = sum(_VIN_VALUES[ch] * weight for ch, weight in zip(text, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    expected = "X" if remainder == 10 else str(remainder)
    return text[8] == expected


def vin_check_digit(text: str) -> str:
    """The check digit a 17-character VIN (position 9 ignored) must carry."""
    total = sum(_VIN_VALUES[ch] * weight for ch, weight in zip(text.upper(), _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


# -- verdicts ---------------------------------------------------------------------------
# A recognizer's validate_result hook: True confirms a candidate (score 1.0), False rejects
# it, None leaves its score. Built-in recognizers and recognizers from configuration use the
# same verdicts, so that one identifier is checked one way wherever it is found.


def has_digit(value: str) -> bool | None:
    return None if any(ch.isdigit() for ch in value) else False


def luhn_verdict(value: str) -> bool | None:
    return luhn_valid(value)


def ssn_verdict(value: str) -> bool | None:
    return None if ssn_valid(value) else False


def npi_verdict(value: str) -> bool | None:
    return npi_valid(value)


def dea_verdict(value: str) -> bool | None:
    return dea_valid(value)


def vin_verdict(value: str) -> bool | None:
    """17 VIN characters with letters and digits; a good North American check digit confirms,
    a bad one leaves the score (VINs made outside North America carry no check digit)."""
    if len(value) != 17 or any(ch not in _VIN_VALUES for ch in value.upper()):
        return False
    if not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
        return False
    return True if vin_valid(value) else None


VERDICTS: dict[str, Callable[[str], bool | None]] = {
    "luhn": luhn_verdict,
    "ssn": ssn_verdict,
    "npi": npi_verdict,
    "dea": dea_verdict,
    "vin": vin_verdict,
    "has_digit": has_digit,
}
