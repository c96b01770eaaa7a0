"""Building blocks of the demo and benchmark seed in `api.seed`."""

import random


class SeedError(RuntimeError):
    """The seed cannot run against this database or in this environment."""


def seeded_random(*parts: object) -> random.Random:
    """Return a generator seeded from `parts`, the same on every run and every machine.

    A string seed is hashed with SHA-512, not with Python's randomised str hash.
    """
    # Fake data that has to be reproducible, not a secret, so a non-cryptographic generator.
    return random.Random(":".join(str(part) for part in parts))  # noqa: S311
