# Copyright (c) 2026, macops.tokens contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsers of macOS tool output: text of one tool run in, plain data out.

PRIVATE: this module is internal to macops.tokens and may change without notice.

Pure functions only (no AnsibleModule, no I/O). Each raises ParseError when the
text is not something the tool prints, rather than guessing. They parse by
structure (line shapes, keys), not by one sample's spacing: real Macs print more
variants than any sample shows.
"""

from __future__ import annotations

import plistlib
import re

UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
# The shape of a UUID; published samples redact digits with letters (FB756838-XXXX-...).
UUID_SHAPE = r"[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}"
_NSLOG = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+\[\d+(?::[0-9a-fA-Fx]+)?\] ")


class ParseError(Exception):
    """Text that the named parser does not recognise; the runner adds the command."""

    def __init__(self, parser, text, reason="unrecognised output", command=None):
        self.parser = parser
        self.text = text
        self.reason = reason
        self.command = command
        super(ParseError, self).__init__(self.message())

    def message(self):
        shown = self.text if len(self.text) <= 2000 else self.text[:2000] + "..."
        where = " of %s" % " ".join(self.command) if self.command else ""
        return "%s: %s in the output%s: %r" % (self.parser, self.reason, where, shown)


def strip_nslog(line):
    """Drop the ``YYYY-MM-DD HH:MM:SS.mmm tool[pid:tid]`` prefix that NSLog puts on each line."""
    return _NSLOG.sub("", line, count=1)


def _lines(text):
    return [line.rstrip("\r") for line in text.splitlines()]


# ---- sysadminctl ----------------------------------------------------------------------------
_ST_STATUS = re.compile(r"Secure token is (ENABLED|DISABLED) for user (.*)$")
_ST_ERRORS = (
    (re.compile(r"^Unknown user (.*)$"), "unknown_user"),
    (re.compile(r"errAuthorizationInteractionNotAllowed"), "interaction_not_allowed"),
    (re.compile(r"^Failed to authenticate with SystemAdministration framework"), "framework_auth_failed"),
    (re.compile(r"^Operation is not permitted without secure token unlock"), "no_secure_token_unlock"),
    (re.compile(r"^### Error:-14090\b"), "authentication_failed"),
    (re.compile(r"cannot disable their own SEP credential"), "own_sep_credential"),
)


def parse_secure_token_status(text):
    """``sysadminctl -secureTokenStatus USER`` (stderr): enabled, the name printed, or a recognised error.

    The name printed is the account's full name on current macOS, so callers key on the
    state, not on the name. Error lines before the status line do not hide the status.
    """
    errors = []
    for raw in _lines(text):
        line = strip_nslog(raw).strip()
        if not line:
            continue
        match = _ST_STATUS.search(line)
        if match:
            return {"enabled": match.group(1) == "ENABLED", "name": match.group(2).strip() or None, "error": None}
        for pattern, code in _ST_ERRORS:
            if pattern.search(line):
                errors.append(code)
                break
    if errors:
        return {"enabled": None, "name": None, "error": errors[0]}
    raise ParseError("parse_secure_token_status", text)


def sysadminctl_messages(text):
    """Every line of a sysadminctl run without its NSLog prefix (it prints to stderr and exits 0)."""
    return [strip_nslog(line).strip() for line in _lines(text) if line.strip()]


def sysadminctl_error(text):
    """The recognised error code of a sysadminctl run, or None when no known error line is present."""
    for line in sysadminctl_messages(text):
        for pattern, code in _ST_ERRORS:
            if pattern.search(line):
                return code
    return None


# ---- diskutil apfs listCryptoUsers -------------------------------------------------------------
_CRYPTO_HEADER = re.compile(r"^Cryptographic users?(?: for (\S+))? \((\d+) found\)\s*$")
_CRYPTO_ENTRY = re.compile(r"^\+--\s+(" + UUID_SHAPE + r")\s*$")
_CRYPTO_FIELD = re.compile(r"^[|\s]*([A-Za-z][A-Za-z ]*?):\s*(.*?)\s*$")
_PLIST_TYPES = {
    "LocalOpenDirectory": "Local Open Directory User",
    "PersonalRecovery": "Personal Recovery User",
    "ICloud": "iCloud Recovery User",
    "ICloudRecovery": "iCloud Recovery External Key",
    "MDMBootstrapTokenExternalKey": "MDM Bootstrap Token External Key",
    "DiskUser": "Disk User",
}


def _yes_no(value, parser, text):
    lowered = value.strip().lower()
    if lowered in ("yes", "true", "1"):
        return True
    if lowered in ("no", "false", "0"):
        return False
    raise ParseError(parser, text, "expected Yes or No, got %r" % value)


def parse_crypto_users(text):
    """``diskutil apfs listCryptoUsers /`` as text: one dict per crypto user, in the order printed."""
    name = "parse_crypto_users"
    users = []
    expected = None
    header_seen = False
    for raw in _lines(text):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped == "|":
            continue
        if stripped.startswith("No cryptographic users"):
            return []
        header = _CRYPTO_HEADER.match(stripped)
        if header:
            header_seen = True
            expected = int(header.group(2))
            continue
        entry = _CRYPTO_ENTRY.match(stripped)
        if entry:
            if not header_seen:
                raise ParseError(name, text, "entry before the 'Cryptographic users' header")
            users.append({"uuid": entry.group(1).upper(), "type": None, "volume_owner": None})
            continue
        field = _CRYPTO_FIELD.match(line)
        if field and users:
            key, value = field.group(1).strip().lower(), field.group(2)
            if key == "type":
                users[-1]["type"] = value
            elif key == "volume owner":
                users[-1]["volume_owner"] = _yes_no(value, name, text)
            continue  # other per-user fields are tolerated
        raise ParseError(name, text, "unexpected line %r" % stripped)
    if not header_seen:
        raise ParseError(name, text, "no 'Cryptographic users' header")
    if expected is not None and expected != len(users):
        raise ParseError(name, text, "header says %d found, %d listed" % (expected, len(users)))
    if any(u["type"] is None for u in users):
        raise ParseError(name, text, "a crypto user without a Type line")
    return users


def parse_crypto_users_plist(text):
    """``diskutil apfs listCryptoUsers -plist /``: the same data as parse_crypto_users."""
    name = "parse_crypto_users_plist"
    try:
        doc = plistlib.loads(text.encode("utf-8"))
    except Exception:  # plistlib raises several exception types for bad input
        raise ParseError(name, text, "not a property list")
    if not isinstance(doc, dict) or not isinstance(doc.get("Users"), list):
        raise ParseError(name, text, "no Users array")
    users = []
    for item in doc["Users"]:
        if not isinstance(item, dict) or "APFSCryptoUserUUID" not in item:
            raise ParseError(name, text, "a Users entry without APFSCryptoUserUUID")
        kind = item.get("APFSCryptoUserType")
        owner = item.get("VolumeOwner")
        users.append({"uuid": str(item["APFSCryptoUserUUID"]).upper(), "type": _PLIST_TYPES.get(kind, kind),
                      "volume_owner": owner if isinstance(owner, bool) else None})
    return users


# ---- fdesetup -----------------------------------------------------------------------------------
_FV_PROGRESS = re.compile(r"^(Encryption|Decryption) in progress:"
                          r"\s*(?:[Pp]ercent completed\s*=\s*([0-9.]+)|(Pending))?")
_FV_DEFERRED = re.compile(r"^Deferred enablement appears to be active(?: for user '(.*)')?\.?\s*$")


def parse_fdesetup_status(text):
    """``fdesetup status [-extended]``: on or off, progress, deferral, restart and master keychain."""
    name = "parse_fdesetup_status"
    result = {"enabled": None, "encrypting": False, "decrypting": False, "percent": None, "paused": False,
              "deferred": False, "deferred_user": None, "restart_pending": False, "master_keychain": False}
    recognised = False
    for raw in _lines(text):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("FileVault is On"):
            result["enabled"] = True
            result["restart_pending"] = "restarted" in line or "restart" in line
            recognised = True
        elif line.startswith("FileVault is Off"):
            result["enabled"] = False
            result["restart_pending"] = "restart" in line
            recognised = True
        elif _FV_DEFERRED.match(line):
            result["deferred"] = True  # 13.2.1 prints the sentence without a user when none is designated
            result["deferred_user"] = _FV_DEFERRED.match(line).group(1) or None
            recognised = True
        elif _FV_PROGRESS.match(line):
            match = _FV_PROGRESS.match(line)
            result["encrypting" if match.group(1) == "Encryption" else "decrypting"] = True
            result["paused"] = bool(match.group(3))  # 'Pending': a laptop on battery does not encrypt
            if match.group(2):
                try:
                    result["percent"] = float(match.group(2))
                except ValueError:
                    raise ParseError(name, text, "percent %r is not a number" % match.group(2))
            recognised = True
        elif line.startswith("FileVault master keychain appears to be installed"):
            result["master_keychain"] = True
        # -extended adds lines (volume type, estimates) that do not change the state: tolerated.
    if not recognised:
        raise ParseError(name, text, "no FileVault state line")
    if result["enabled"] is None and (result["encrypting"] or result["decrypting"]):
        result["enabled"] = True
    return result


_FV_LIST = re.compile(r"^([^,]+),\s*(" + UUID_SHAPE + r")\s*$")
# -extended rows: an ESCROW column (often blank), the UUID, the type right-aligned under TYPE, then the user if any.
_FV_LIST_EXT = re.compile(r"^(?:(\S+)\s+)?(" + UUID_SHAPE + r")\s+(.*?)\s*$")
_FV_LIST_TYPES = ("Personal Recovery Record", "Disk Passphrase User", "Bootstrap Token", "Unknown User", "OS User",
                  "Mobile User")


def parse_fdesetup_list(text):
    """``fdesetup list`` (``user,UUID``) and ``fdesetup list -extended`` (a table with a header).

    ``(null)`` entries (the recovery key on 10.13) come back with ``user: None``.
    """
    name = "parse_fdesetup_list"
    entries = []
    extended = False
    for raw in _lines(text):
        line = raw.strip()
        if not line:
            continue
        if not entries and "UUID" in line and "USER" in line.upper() and not re.search(UUID_SHAPE, line):
            extended = True
            continue
        match = _FV_LIST_EXT.match(line) if extended else _FV_LIST.match(line)
        if not match:
            raise ParseError(name, text, "unexpected line %r" % line)
        if extended:
            uuid, rest = match.group(2), match.group(3)
            kind = next((t for t in _FV_LIST_TYPES if rest == t or rest.startswith(t + " ")), None)
            if kind is None:
                kind, user = rest, None  # an unknown type: kept as printed, no user
            else:
                user = rest[len(kind):].strip() or None
            entries.append({"user": user, "uuid": uuid.upper(), "type": kind})
            continue
        else:
            user, uuid, kind = match.group(1).strip(), match.group(2), None
        entries.append({"user": None if user == "(null)" else user, "uuid": uuid.upper(), "type": kind})
    return entries


def parse_fdesetup_bool(text):
    """``true`` or ``false`` as printed by isactive, haspersonalrecoverykey, validaterecovery and friends."""
    values = [line.strip() for line in _lines(text) if line.strip()]
    if values and values[-1] in ("true", "false"):
        return values[-1] == "true"
    raise ParseError("parse_fdesetup_bool", text, "expected true or false")


def parse_fdesetup_key_output(text):
    """The recovery key from ``-outputplist`` output or from a ``key = '...'`` line; None when absent."""
    stripped = text.strip()
    if stripped.startswith("<?xml") or stripped.startswith("<plist"):
        try:
            doc = plistlib.loads(stripped.encode("utf-8"))
        except Exception:
            raise ParseError("parse_fdesetup_key_output", text, "not a property list")
        if not isinstance(doc, dict):
            raise ParseError("parse_fdesetup_key_output", text, "not a dictionary")
        return doc.get("RecoveryKey")
    match = re.search(r"key = '([^']+)'", text)
    return match.group(1) if match else None


def parse_showdeferralinfo(text):
    """``fdesetup showdeferralinfo``: whether a deferral is configured, and for whom."""
    stripped = text.strip()
    if stripped.startswith("Not found"):
        return {"active": False, "users": [], "output_path": None}
    if not (stripped.startswith("{") and stripped.endswith("}")):
        raise ParseError("parse_showdeferralinfo", text, "neither 'Not found.' nor a dictionary")
    defer = re.search(r"\bDefer\s*=\s*(\d+)\s*;", stripped)
    path = re.search(r'\bOutputPath\s*=\s*"?([^";]*)"?\s*;', stripped)
    users_block = re.search(r"\bUsernames\s*=\s*\((.*?)\)\s*;", stripped, re.S)
    users = []
    if users_block:
        users = [u.strip().strip('"') for u in users_block.group(1).split(",") if u.strip()]
    return {"active": bool(defer and defer.group(1) != "0"), "users": users,
            "output_path": path.group(1) if path else None}


# ---- profiles -----------------------------------------------------------------------------------
_BT_LINE = re.compile(r"^(?:profiles:\s*)?Bootstrap Token (?:is )?(supported|escrowed) (?:on|to) server:"
                      r"\s*(YES|NO)\s*$", re.I)
_BT_NOT_ALLOWED = re.compile(r"^(?:profiles:\s*)?Bootstrap Token functionality is not supported on the server\.?$",
                             re.I)


def parse_bootstrap_status(text):
    """``profiles status -type bootstraptoken``: one line when the server lacks support, else two.

    Published wordings differ ('supported on server' / 'is supported on server', 'escrowed to' / 'escrowed on');
    an MDM that has not allowed the bootstrap token for this Mac makes it print one unprefixed sentence instead
    (``allowed`` is then False).
    """
    found = {}
    for raw in _lines(text):
        line = raw.strip()
        if not line:
            continue
        if _BT_NOT_ALLOWED.match(line):
            return {"supported": False, "escrowed": None, "allowed": False}
        match = _BT_LINE.match(line)
        if not match:
            raise ParseError("parse_bootstrap_status", text, "unexpected line %r" % line)
        found[match.group(1).lower()] = match.group(2).upper() == "YES"
    if "supported" not in found:
        raise ParseError("parse_bootstrap_status", text, "no 'supported on server' line")
    # A server without the capability may still print 'escrowed to server: NO'; there is nothing to escrow to.
    escrowed = found.get("escrowed") if found["supported"] else None
    return {"supported": found["supported"], "escrowed": escrowed, "allowed": True}


def parse_enrollment_status(text):
    """``profiles status -type enrollment``: DEP, MDM enrollment, user approval and the server URL."""
    result = {"dep": None, "mdm_enrolled": None, "user_approved": False, "server": None}
    for raw in _lines(text):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ParseError("parse_enrollment_status", text, "unexpected line %r" % line)
        key, value = key.strip().lower(), value.strip()
        if key == "enrolled via dep":
            result["dep"] = value.lower().startswith("yes")
        elif key == "mdm enrollment":
            result["mdm_enrolled"] = value.lower().startswith("yes")
            result["user_approved"] = "user approved" in value.lower()
        elif key == "mdm server":
            result["server"] = value
    if result["dep"] is None or result["mdm_enrolled"] is None:
        raise ParseError("parse_enrollment_status", text, "missing 'Enrolled via DEP' or 'MDM enrollment'")
    return result


def parse_profiles_validate(text):
    """``profiles validate -type bootstraptoken``: True when it says the token validated."""
    return "Bootstrap Token validated." in text


# ---- dscl ----------------------------------------------------------------------------------------
_DSCL_KEY = re.compile(r"^([A-Za-z][\w:.-]*):(?: (.*))?$")


def parse_dscl_read(text):
    """One record of ``dscl . -read``: {attribute: [values]}, one-line and wrapped forms.

    ``Key: v1 v2`` splits on spaces; ``Key:`` followed by lines that start with a space
    (dscl wraps values that contain spaces) gives one value per line. ``No such key``
    lines (stderr, when merged) are skipped.
    """
    record = {}
    current = None
    for raw in _lines(text):
        if not raw.strip():
            continue
        if raw.startswith(" ") and current is not None:
            record[current].append(raw[1:])
            continue
        if raw.startswith("No such key: "):
            current = None
            continue
        match = _DSCL_KEY.match(raw)
        if not match:
            raise ParseError("parse_dscl_read", text, "unexpected line %r" % raw)
        key = match.group(1)
        if key.startswith("dsAttrTypeStandard:"):
            key = key[len("dsAttrTypeStandard:"):]
        values = match.group(2)
        record[key] = values.split(" ") if values else []
        current = key
    return record


def parse_dscl_readall(text):
    """``dscl . -readall /Users [keys]``: a list of records, separated by lines holding ``-``."""
    records, chunk = [], []
    for raw in _lines(text):
        if raw.strip() == "-":
            if chunk:
                records.append(parse_dscl_read("\n".join(chunk)))
            chunk = []
        else:
            chunk.append(raw)
    if any(line.strip() for line in chunk):
        records.append(parse_dscl_read("\n".join(chunk)))
    if not any(r.get("RecordName") for r in records):
        # Every Mac has root, daemon and nobody: an empty or nameless reply is a failed read, never "no users".
        raise ParseError("parse_dscl_readall", text, "no user records (every Mac has root, daemon and nobody)")
    return records


def parse_admin_group(text):
    """``dscl . -read /Groups/admin GroupMembership``: the member names; the admin group always lists root."""
    members = parse_dscl_read(text).get("GroupMembership")
    if not members or "root" not in members:
        # An empty or root-less reply is a failed read: acting on it could take a real administrator out of admin.
        raise ParseError("parse_admin_group", text, "no GroupMembership listing root (the admin group always has root)")
    return members


def parse_dscl_list(text):
    """``dscl . -list /Users [key]``: [(name, value or None)] in the order printed."""
    rows = []
    for raw in _lines(text):
        line = raw.strip()
        if not line:
            continue
        parts = line.split(None, 1)
        rows.append((parts[0], parts[1].strip() if len(parts) > 1 else None))
    return rows


def parse_authentication_authority(values):
    """What an AuthenticationAuthority list says: token tag, disabled tags, mobile or network origin."""
    joined = list(values or [])
    return {
        "secure_token_tag": any(v.strip() == ";SecureToken;" for v in joined),
        "disabled_tags": [v.strip()[len(";DisabledTags;"):] for v in joined if v.strip().startswith(";DisabledTags;")],
        "local_cached_user": any(v.strip().startswith(";LocalCachedUser;") for v in joined),
        "netlogon": any(v.strip().startswith(";NetLogon;") for v in joined),
        "shadow_hash": any(v.strip().startswith(";ShadowHash;") for v in joined),
    }


# ---- membership --------------------------------------------------------------------------------
def parse_dsmemberutil(text):
    """``dsmemberutil checkmembership``: True or False from its two sentences."""
    line = text.strip()
    if line == "user is a member of the group":
        return True
    if line == "user is not a member of the group":
        return False
    raise ParseError("parse_dsmemberutil", text)


def parse_dseditgroup_checkmember(text):
    """``dseditgroup -o checkmember``: ``yes U is a member of G`` or ``no U is NOT a member of G``."""
    line = text.strip()
    if re.match(r"^yes \S+ is a member of \S+$", line):
        return True
    if re.match(r"^no \S+ is NOT a member of \S+$", line):
        return False
    raise ParseError("parse_dseditgroup_checkmember", text)


# ---- platform -----------------------------------------------------------------------------------
def parse_sw_vers(text):
    """``sw_vers``: product name, version, extra (Rapid Security Response) and build."""
    found = {}
    for raw in _lines(text):
        match = re.match(r"^\s*(\w+):\s*(.*?)\s*$", raw)
        if match:
            found[match.group(1)] = match.group(2)
        elif raw.strip():
            raise ParseError("parse_sw_vers", text, "unexpected line %r" % raw)
    version = found.get("ProductVersion")
    if not version or not re.match(r"^\d+(\.\d+){0,2}$", version) or not found.get("BuildVersion"):
        raise ParseError("parse_sw_vers", text, "no ProductVersion or BuildVersion")
    return {"product_name": found.get("ProductName"), "product_version": version,
            "product_version_extra": found.get("ProductVersionExtra") or None,
            "build_version": found["BuildVersion"]}


def parse_home_folders(text):
    """``/bin/ls -1 /Users``: the folder names, without the shared folder and dot entries."""
    names = [line.strip() for line in _lines(text) if line.strip()]
    if not names:
        raise ParseError("parse_home_folders", text, "no entries (every Mac has /Users/Shared)")
    return [n for n in names if not n.startswith(".") and n not in ("Shared", "Guest", "Deleted Users")]


def parse_single_value(text, parser="parse_single_value"):
    """Tools that print one value on one line (``uname -m``, ``sysctl -n KEY``)."""
    lines = [line.strip() for line in _lines(text) if line.strip()]
    if len(lines) != 1:
        raise ParseError(parser, text, "expected exactly one line")
    return lines[0]


def parse_updatepreboot(text):
    """``diskutil apfs updatePreboot /``: True when it reports overall error 0."""
    return bool(re.search(r"overall error=\(ZeroMeansSuccess\)=0\b", text))


def version_tuple(version):
    """'10.15.7' -> (10, 15, 7); missing parts are 0."""
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]]
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


BOOTTIME_RE = re.compile(r"\{\s*sec\s*=\s*(\d+),\s*usec\s*=\s*(\d+)\s*\}")


def parse_boottime(text):
    """``sysctl -n kern.boottime`` (``{ sec = 1700000000, usec = 123456 } Tue Nov 14 22:13:20 2023``, or the same
    after ``kern.boottime: ``): the boot's time as seconds since the epoch, to the microsecond."""
    found = BOOTTIME_RE.search(text or "")
    if not found:
        raise ParseError("parse_boottime", text, "expected '{ sec = N, usec = N }'")
    return int(found.group(1)) + int(found.group(2)) / 1e6
