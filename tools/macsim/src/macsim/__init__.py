"""macsim: a simulator of the macOS chain of trust (secure tokens, bootstrap token, FileVault).

It is a test tool of the macops.tokens collection and is not part of the collection.
"""

__version__ = "0.1.0"
