"""Stellar assets: ``native`` (XLM) or a credit asset ``CODE:ISSUER``.

Accepted wherever the package takes an asset: an :class:`Asset`, a ``stellar_sdk.Asset`` (or any
object with ``code`` and ``issuer`` attributes), or a string ``"native"``, ``"XLM"``,
``"CODE:ISSUER"``. Issuers are validated as StrKey account ids (version byte and CRC16 checksum),
so a typo in an issuer fails here instead of silently subscribing to an empty market.

>>> Asset.parse("XLM")
Asset('native')
>>> Asset.parse("USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN").code
'USDC'
"""

from __future__ import annotations

import base64
from typing import Any, Dict

from .errors import AssetError

__all__ = ["Asset", "strkey_account_valid"]

_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_ACCOUNT_VERSION = 6 << 3  # 'G' ed25519 public key (stellar/go strkey.VersionByteAccountID)


def _crc16_xmodem(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _exact_str(s: str) -> str:
    """A str subclass as the str it holds (none of its methods runs; str.__str__ copies it)."""
    return s if type(s) is str else str.__str__(s)


def strkey_account_valid(s: str) -> bool:
    """True if ``s`` is a valid ``G...`` account StrKey (56 chars, version byte, checksum)."""
    if not isinstance(s, str):
        return False
    s = _exact_str(s)
    if len(s) != 56 or not s.isascii() or not s.startswith("G"):
        return False
    try:
        raw = base64.b32decode(s)
    except ValueError:
        return False
    if len(raw) != 35 or raw[0] != _ACCOUNT_VERSION:
        return False
    payload, checksum = raw[:-2], raw[-2:]
    return _crc16_xmodem(payload) == int.from_bytes(checksum, "little")


class Asset:
    """An immutable, hashable Stellar asset.

    ``Asset()`` or ``Asset("native")`` is XLM; ``Asset(code, issuer)`` a credit asset
    (``credit_alphanum4`` for 1-4 characters, ``credit_alphanum12`` for 5-12).
    """

    __slots__ = ("code", "issuer", "_hash")

    code: str
    issuer: str | None

    def __init__(self, code: str = "native", issuer: str | None = None) -> None:
        # Strings are kept as exact strs: a subclass's len, __iter__ or encode never decides
        # what is stored (the compiled core copies code and issuer into fixed-size C fields).
        if isinstance(code, str):
            code = _exact_str(code)
        if issuer is None:
            if code not in ("native", "XLM"):
                raise AssetError(f"credit asset {code!r} needs an issuer")
            code = "native"
        else:
            if not isinstance(code, str) or not (1 <= len(code) <= 12) or not set(code) <= _CODE_CHARS:
                raise AssetError(f"asset code must be 1-12 characters [A-Za-z0-9], got {code!r}")
            if not strkey_account_valid(issuer):
                raise AssetError(f"asset issuer is not a valid account id (G... StrKey): {issuer!r}")
            issuer = _exact_str(issuer)
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "issuer", issuer)
        object.__setattr__(self, "_hash", hash((code, issuer)))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Asset is immutable")

    @classmethod
    def native(cls) -> "Asset":
        return _NATIVE

    @classmethod
    def parse(cls, obj: Any) -> "Asset":
        """Convert a string, an Asset or a stellar_sdk.Asset into an Asset (AssetError if invalid)."""
        if isinstance(obj, Asset):
            if not obj._intact():
                raise AssetError(f"corrupted Asset object: {obj.code!r}:{obj.issuer!r}")
            return obj
        if isinstance(obj, str):
            s = _exact_str(obj).strip()
            if s in ("native", "XLM", "xlm"):
                return _NATIVE
            code, sep, issuer = s.partition(":")
            if not sep:
                raise AssetError(f"asset must be 'native', 'XLM' or 'CODE:ISSUER', got {obj!r}")
            return cls(code, issuer)
        code = getattr(obj, "code", None)
        if code is not None and hasattr(obj, "issuer"):  # stellar_sdk.Asset and look-alikes
            issuer = getattr(obj, "issuer")
            if issuer is None:
                if code != "XLM" and code != "native":
                    raise AssetError(f"credit asset {code!r} needs an issuer")
                return _NATIVE
            return cls(code, issuer)
        raise AssetError(f"cannot make an asset from {type(obj).__name__}: {obj!r}")

    def _intact(self) -> bool:
        """Cheap re-check of an Asset handed in (its fields can be forced with object.__setattr__)."""
        code, issuer = self.code, self.issuer
        if issuer is None:
            return code == "native" and type(code) is str
        return (type(code) is str and type(issuer) is str and 1 <= len(code) <= 12 and len(issuer) == 56
                and code.isascii() and issuer.isascii())

    @property
    def is_native(self) -> bool:
        return self.issuer is None

    @property
    def asset_type(self) -> str:
        """Horizon's asset_type: native, credit_alphanum4 or credit_alphanum12."""
        if self.issuer is None:
            return "native"
        return "credit_alphanum4" if len(self.code) <= 4 else "credit_alphanum12"

    def horizon_params(self, prefix: str) -> Dict[str, str]:
        """Query parameters Horizon takes for this asset, e.g. prefix ``"selling"``."""
        params = {f"{prefix}_asset_type": self.asset_type}
        if self.issuer is not None:
            params[f"{prefix}_asset_code"] = self.code
            params[f"{prefix}_asset_issuer"] = self.issuer
        return params

    def to_horizon_json(self) -> Dict[str, str]:
        """The object Horizon puts under ``base``/``counter`` in an /order_book body."""
        if self.issuer is None:
            return {"asset_type": "native"}
        return {"asset_type": self.asset_type, "asset_code": self.code, "asset_issuer": self.issuer}

    @classmethod
    def from_horizon_json(cls, obj: Dict[str, Any], prefix: str = "") -> "Asset":
        """Inverse of :meth:`to_horizon_json` (``prefix`` for flat trade fields like ``base_``)."""
        try:
            kind = obj[f"{prefix}asset_type"]
        except (KeyError, TypeError):
            raise AssetError(f"missing {prefix}asset_type") from None
        if kind == "native":
            if f"{prefix}asset_code" in obj or f"{prefix}asset_issuer" in obj:
                raise AssetError("native asset must not carry a code or issuer")
            return _NATIVE
        if kind not in ("credit_alphanum4", "credit_alphanum12"):
            raise AssetError(f"unknown asset_type {kind!r}")
        code, issuer = obj.get(f"{prefix}asset_code"), obj.get(f"{prefix}asset_issuer")
        if not isinstance(code, str) or not isinstance(issuer, str):
            raise AssetError("credit asset needs string asset_code and asset_issuer")
        asset = cls(code, issuer)
        if asset.asset_type != kind:
            raise AssetError(f"asset code {code!r} does not fit {kind}")
        return asset

    def to_sdk(self) -> Any:
        """The equivalent ``stellar_sdk.Asset`` (needs the ``sdk`` extra); the inverse of
        :meth:`from_sdk`."""
        from stellar_sdk import Asset as SdkAsset

        return SdkAsset.native() if self.issuer is None else SdkAsset(self.code, self.issuer)

    @classmethod
    def from_sdk(cls, asset: Any) -> "Asset":
        """The Asset equal to a ``stellar_sdk.Asset`` (its native asset is ``Asset('native')``);
        the inverse of :meth:`to_sdk`.

        Only a real ``stellar_sdk.Asset`` (or subclass) is taken: anything else, a credit asset
        whose code or issuer is not a str, or one this package would refuse (bad issuer
        checksum, code of 13+ characters) raises :class:`~stellar_ob.errors.AssetError`. Each
        attribute is read once; a ``str`` subclass is read as the str it holds. O(1).

        >>> from stellar_sdk import Asset as SdkAsset
        >>> Asset.from_sdk(SdkAsset("USDC", "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"))
        Asset('USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN')
        >>> Asset.from_sdk(SdkAsset.native())
        Asset('native')
        """
        import sys

        sdk = sys.modules.get("stellar_sdk")  # not imported yet: nothing can be one of its assets
        sdk_asset = getattr(sdk, "Asset", None) if sdk is not None else None
        if not isinstance(sdk_asset, type) or not isinstance(asset, sdk_asset):
            raise AssetError(f"expected a stellar_sdk.Asset, got {type(asset).__name__}")
        try:
            code, issuer = asset.code, asset.issuer
        except AttributeError:
            raise AssetError(f"not a complete stellar_sdk.Asset: {type(asset).__name__}") from None
        if not isinstance(code, str) or not (issuer is None or isinstance(issuer, str)):
            raise AssetError(f"stellar_sdk.Asset code and issuer must be str, got "
                             f"{type(code).__name__} and {type(issuer).__name__}")
        code = _exact_str(code)
        if issuer is None:
            if code != "XLM":  # stellar_sdk spells native "XLM" and nothing else
                raise AssetError(f"credit asset {code!r} needs an issuer")
            return _NATIVE
        return cls(code, _exact_str(issuer))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Asset):
            return self.code == other.code and self.issuer == other.issuer
        return NotImplemented

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return "native" if self.issuer is None else f"{self.code}:{self.issuer}"

    def __repr__(self) -> str:
        return f"Asset({str(self)!r})"

    def __reduce__(self):
        return (Asset, (self.code, self.issuer) if self.issuer else ("native",))


_NATIVE = object.__new__(Asset)
object.__setattr__(_NATIVE, "code", "native")
object.__setattr__(_NATIVE, "issuer", None)
object.__setattr__(_NATIVE, "_hash", hash(("native", None)))
