"""Identifiers for the synthetic set: NHS numbers in the 999 test range and
UPNs, each with a valid check digit or letter."""

LA_CODE = "831"
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def nhs_check(body9):
    """Check digit for 9 digits, or None when the body cannot be used (10)."""
    total = 0
    w = 10
    for ch in body9:
        total += (ord(ch) - 48) * w
        w -= 1
    c = 11 - total % 11
    if c == 11:
        return 0
    if c == 10:
        return None
    return c


def upn_check(body12):
    """The check letter of a UPN whose other 12 characters are body12."""
    total = 0
    for pos, ch in enumerate(body12, start=2):
        v = ord(ch) - 48 if ch.isdigit() else UPN_LETTERS.index(ch)
        total += v * pos
    return UPN_LETTERS[total % 23]


def selftest():
    """Known-good NHS numbers and UPNs, so that a broken check fails loudly."""
    assert nhs_check("943476591") == 9
    assert upn_check("801200005001") == "B"
    assert upn_check("207000016049") == "P"


class NhsAllocator:
    """Unique NHS numbers 999xxxxxxC: walks the 10^6 bodies in an affine
    permuted order and skips those whose check digit would be 10."""

    def __init__(self, rng):
        while True:
            a = rng.randrange(100001, 999999)
            if a % 2 and a % 5:
                break
        self.a, self.b, self.i = a, rng.randrange(1000000), 0

    def next(self):
        while self.i < 1000000:
            body = "999%06d" % ((self.a * self.i + self.b) % 1000000)
            self.i += 1
            c = nhs_check(body)
            if c is not None:
                return body + str(c)
        return None  # range exhausted (over ~1.07M children): leave absent
