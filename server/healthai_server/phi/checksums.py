"""Check digits and issuing rules that turn "looks like a number" into "is that kind of number"."""

from __future__ import annotations

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
