"""`Token.is_unresolved` without a kernel round trip where the answer is certain.

Rules check hundreds of attribute values per synth and most are plain strings. cdktf encodes a string
token as `${TfToken[...]}` (cdktf lib/tokens/private/encoding.js, BEGIN_STRING_TOKEN_MARKER) and tests a
string only for that marker, so a string without it is never unresolved; anything else goes to cdktf.
"""

from __future__ import annotations

from typing import Any

from cdktf import Token

STRING_TOKEN_MARKER = "${TfToken["


def is_unresolved(value: Any) -> bool:
    """Whether `value` is (or contains) a token, i.e. is known only at apply time.

    The answer of cdktf's Token.is_unresolved."""
    if isinstance(value, str) and STRING_TOKEN_MARKER not in value:
        return False
    return Token.is_unresolved(value)
