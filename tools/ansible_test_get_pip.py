"""Offline stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test runs ``python get_pip_<version>.py [pip options] pip==X ...`` inside a fresh
virtual environment. The real script comes from a host this project cannot reach; this
one installs pip with ``ensurepip`` and then lets that pip install what was asked for,
from the registries the machine's pip configuration names.
"""

import os
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main() -> int:
    env = dict(os.environ)
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], env=env)
    # ensurepip points PIP_CONFIG_FILE at /dev/null; drop it so the machine's pip settings apply again.
    env.pop("PIP_CONFIG_FILE", None)
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    return subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env)


if __name__ == "__main__":
    sys.exit(main())
