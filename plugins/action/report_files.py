# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for macops.tokens.report_files: write report files on the controller, in-process, each one atomically
(a temporary file beside it, flushed to disk, renamed into place), in one task for any number of files."""

from __future__ import annotations

import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase


def _mode(value, name):
    try:
        mode = int(str(value), 8)
    except (TypeError, ValueError):
        raise ValueError("%s must be an octal mode such as '0640'; got %r" % (name, value))
    if not 0 <= mode <= 0o777:
        raise ValueError("%s must be between 0000 and 0777; got %r" % (name, value))
    return mode


def write_atomically(path, data, mode):
    """``data`` (bytes) at ``path`` with ``mode``: a reader sees the old file or the new one, never half of one."""
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = self._task.args
        unknown = sorted(set(args) - {"dir", "files", "mode", "dir_mode"})
        if unknown:
            return dict(result, failed=True, msg="unknown option(s) %s; report_files takes dir, files, mode and "
                                                 "dir_mode" % ", ".join(unknown))
        directory = to_text(args.get("dir") or "")
        files = args.get("files")
        if not directory:
            return dict(result, failed=True, msg="dir is required: the controller directory the files go to")
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            return dict(result, failed=True, msg="files must be a list of {name, content} mappings; got %s"
                        % type(files).__name__)
        try:
            mode = _mode(args.get("mode", "0640"), "mode")
            dir_mode = _mode(args.get("dir_mode", "0750"), "dir_mode")
        except ValueError as exc:
            return dict(result, failed=True, msg=str(exc))
        names = []
        for entry in files:
            name = to_text(entry.get("name") or "")
            if not name or "/" in name or name in (".", "..") or name.startswith("."):
                return dict(result, failed=True, msg="each file needs a plain file name (no '/', not starting with "
                                                     "'.'); got %r. Nothing was written" % name)
            if "content" not in entry:
                return dict(result, failed=True, msg="file %s has no content. Nothing was written" % name)
            names.append(name)
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            return dict(result, failed=True, msg="file names given twice: %s. Nothing was written" % ", ".join(twice))
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=dir_mode)
                os.chmod(directory, dir_mode)  # makedirs' mode is filtered by the umask
            written = []
            for entry, name in zip(files, names):
                path = os.path.join(directory, name)
                write_atomically(path, to_bytes(entry["content"], errors="surrogate_or_strict"), mode)
                written.append(path)
        except OSError as exc:
            return dict(result, failed=True, msg="could not write the report files in %s: %s" % (directory, exc))
        # Output, not managed state: writing a report is never a change to the fleet.
        return dict(result, changed=False, written=written, dir=directory)
