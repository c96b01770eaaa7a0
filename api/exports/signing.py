"""Signed, expiring download URLs for export files.

The signature is an HMAC-SHA256 over the export id, the expiry and the key id. Old keys listed in
settings still verify, so the secret key can rotate without breaking URLs already handed out.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from urllib.parse import urlencode


class SignatureCheck(Enum):
    VALID = "valid"
    INVALID = "invalid"
    EXPIRED = "expired"


def key_id(key: str) -> str:
    """Name a key without revealing it: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def _signature(key: str, export_id: int, expires: int, kid: str) -> str:
    message = f"export:{export_id}:{expires}:{kid}".encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass(frozen=True, slots=True)
class UrlSigner:
    current_key: str
    old_keys: tuple[str, ...] = ()
    ttl: timedelta = timedelta(minutes=15)

    def sign(self, export_id: int, *, now: datetime | None = None) -> str:
        """Return the path and query of a download URL for an export, valid for `ttl`."""
        expires = int(((now or datetime.now(UTC)) + self.ttl).timestamp())
        kid = key_id(self.current_key)
        query = urlencode(
            {
                "expires": expires,
                "kid": kid,
                "signature": _signature(self.current_key, export_id, expires, kid),
            }
        )
        return f"/exports/{export_id}/download?{query}"

    def check(
        self,
        export_id: int,
        expires: str,
        kid: str,
        signature: str,
        *,
        now: datetime | None = None,
    ) -> SignatureCheck:
        keys = {key_id(key): key for key in (self.current_key, *self.old_keys)}
        key = keys.get(kid)
        # isdigit() alone accepts digits such as "²" that int() rejects; ten digits reach 2286.
        if key is None or not (expires.isascii() and expires.isdigit()) or len(expires) > 10:
            return SignatureCheck.INVALID
        expected = _signature(key, export_id, int(expires), kid)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return SignatureCheck.INVALID
        if int(expires) <= (now or datetime.now(UTC)).timestamp():
            return SignatureCheck.EXPIRED
        return SignatureCheck.VALID
