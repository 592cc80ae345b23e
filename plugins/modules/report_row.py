#!/usr/bin/python
# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: report_row
short_description: Write one Mac's row of the fleet report to its own file, atomically
version_added: 0.1.0
description:
  - Writes O(row) (a document of P(macops.tokens.fleet_row#filter)) as JSON to O(path), through a temporary file in
    the same directory renamed into place, so that the file is whole or absent, even when the run is stopped or
    several jobs write rows side by side. Creates the directory when needed.
  - Its action plugin does the writing in the controller's own process (no module is started), which is what the
    C(macops.tokens.audit) role uses, once per Mac, with C(delegate_to) localhost. Used on another host, the module
    writes there.
  - The file is output, not managed state; the task never reports a change, and writes in check mode too.
author:
  - macops.tokens maintainers (@macops)
options:
  path:
    description: The file to write (absolute).
    type: path
    required: true
  row:
    description: The row document.
    type: dict
    required: true
  mode:
    description: The file's permissions.
    type: str
    default: "0640"
attributes:
  action:
    description: >-
      Indicates this has a corresponding action plugin so some parts of the options can be executed on the
      controller.
    support: full
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The row is written in check mode too (it is what a check run reports); nothing on a Mac changes.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
seealso:
  - module: macops.tokens.chain_of_trust_info
"""

EXAMPLES = r"""
- name: Write this Mac's row on the controller
  macops.tokens.report_row:
    path: "/srv/macops/report/rows/{{ inventory_hostname }}.json"
    row: "{{ entry | macops.tokens.fleet_row(inventory_hostname, run_id, now(utc=true).isoformat()) }}"
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: The file written.
  returned: success
  type: str
  sample: /srv/macops/report/rows/mac-01.json
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule


def write_row(path, row, mode="0640"):
    """Write ``row`` as JSON to ``path`` through a temporary file renamed into place (whole or absent)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, 0o750, exist_ok=True)  # several slices may create it at once
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(row, stream, indent=2, sort_keys=True)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, int(str(mode), 8))
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True),
                                              row=dict(type="dict", required=True),
                                              mode=dict(type="str", default="0640")),
                           supports_check_mode=True)
    try:
        path = write_row(module.params["path"], module.params["row"], module.params["mode"])
    except (OSError, IOError, ValueError, TypeError) as exc:
        module.fail_json(msg="could not write the report row %s: %s" % (module.params["path"], exc))
    module.exit_json(changed=False, path=path)


if __name__ == "__main__":
    main()
