"""Entry point run by ``unshare`` inside a simulated Mac's new namespaces."""

import sys

from .fleet import host_init

if __name__ == "__main__":
    host_init(sys.argv[1])
