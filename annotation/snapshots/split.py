"""Deterministic train/test split by prompt, and annotator pseudonyms.

Both hash with sha256 (never Python's ``hash()``, which is salted per process), so a
rebuild on another machine or Python run gives the same answer.
"""

import hashlib
import hmac

SPLITS = ("train", "test")


def split_unit(*, seed: int, prompt_key: str) -> float:
    """A uniform number in [0, 1) fixed by the seed and the prompt's key."""
    digest = hashlib.sha256(f"{seed}\x00{prompt_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(*, seed: int, prompt_key: str, test_fraction: float) -> str:
    """'test' for about `test_fraction` of prompts, 'train' for the rest; all items of a prompt go together."""
    return "test" if split_unit(seed=seed, prompt_key=prompt_key) < test_fraction else "train"


def pseudonym(*, secret: bytes, seed: int, user_id: int) -> str:
    """A stable name for an annotator within snapshots of one seed.

    Keyed (HMAC) rather than a bare hash: user ids are small integers, so a bare
    sha256(seed, id) could be reversed by trying every id.
    """
    mac = hmac.new(secret, f"{seed}:{user_id}".encode(), hashlib.sha256).hexdigest()
    return f"annotator-{mac[:10]}"
