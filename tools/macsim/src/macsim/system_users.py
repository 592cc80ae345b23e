"""The built-in accounts every Mac has, with their UIDs and the release that added them.

They matter to the simulation because real Macs list them: ``dscl . -list /Users UniqueID`` pads its value
column to the longest record name present (``_reportmemoryexception`` from 10.15 gives the usual 25 columns,
evidence dscl-list-uniqueid-nixbld-width25-nix11075), and ``-readall`` prints every one of them. None holds a
secure token. UIDs as seen in the evidence corpus (dscl-list-uniqueid-width31-nix5928 and others); the first
release of the newer ones is approximate.
"""

from __future__ import annotations

# (name, uid, real name, first macOS release)
SYSTEM_USERS: list[tuple[str, int, str, tuple]] = [
    ("root", 0, "System Administrator", (10, 13)), ("daemon", 1, "System Services", (10, 13)),
    ("nobody", -2, "Unprivileged User", (10, 13)), ("_uucp", 4, "Unix to Unix Copy Protocol", (10, 13)),
    ("_taskgated", 13, "Task Gate Daemon", (10, 13)), ("_networkd", 24, "Network Services", (10, 13)),
    ("_installassistant", 25, "Install Assistant", (10, 13)), ("_lp", 26, "Printing Services", (10, 13)),
    ("_postfix", 27, "Postfix Mail Server", (10, 13)), ("_scsd", 31, "Service Configuration Service", (10, 13)),
    ("_ces", 32, "Certificate Enrollment Service", (10, 13)), ("_appstore", 33, "Mac App Store Service", (10, 13)),
    ("_mcxalr", 54, "MCX AppLaunch", (10, 13)), ("_appleevents", 55, "AppleEvents Daemon", (10, 13)),
    ("_geod", 56, "Geo Services Daemon", (10, 13)), ("_devdocs", 59, "Developer Documentation", (10, 13)),
    ("_sandbox", 60, "Seatbelt", (10, 13)), ("_mdnsresponder", 65, "mDNSResponder", (10, 13)),
    ("_ard", 67, "Apple Remote Desktop", (10, 13)), ("_www", 70, "World Wide Web Server", (10, 13)),
    ("_eppc", 71, "Apple Events User", (10, 13)), ("_cvs", 72, "CVS Server", (10, 13)),
    ("_svn", 73, "SVN Server", (10, 13)), ("_mysql", 74, "MySQL Server", (10, 13)),
    ("_sshd", 75, "sshd Privilege separation", (10, 13)), ("_qtss", 76, "QuickTime Streaming Server", (10, 13)),
    ("_cyrus", 77, "Cyrus Administrator", (10, 13)), ("_mailman", 78, "Mailman List Server", (10, 13)),
    ("_appserver", 79, "Application Server", (10, 13)), ("_clamav", 82, "ClamAV Daemon", (10, 13)),
    ("_amavisd", 83, "AMaViS Daemon", (10, 13)), ("_jabber", 84, "Jabber XMPP Server", (10, 13)),
    ("_appowner", 87, "Application Owner", (10, 13)), ("_windowserver", 88, "WindowServer", (10, 13)),
    ("_spotlight", 89, "Spotlight", (10, 13)), ("_tokend", 91, "Token Daemon", (10, 13)),
    ("_securityagent", 92, "SecurityAgent", (10, 13)), ("_calendar", 93, "Calendar", (10, 13)),
    ("_teamsserver", 94, "TeamsServer", (10, 13)), ("_update_sharing", 95, "Update Sharing", (10, 13)),
    ("_installer", 96, "Installer", (10, 13)), ("_atsserver", 97, "ATS Server", (10, 13)),
    ("_ftp", 98, "FTP Daemon", (10, 13)), ("_unknown", 99, "Unknown User", (10, 13)),
    ("_softwareupdate", 200, "Software Update Service", (10, 13)), ("Guest", 201, "Guest User", (10, 13)),
    ("_coreaudiod", 202, "Core Audio Daemon", (10, 13)), ("_screensaver", 203, "Screensaver", (10, 13)),
    ("_locationd", 205, "Location Daemon", (10, 13)), ("_trustevaluationagent", 208, "Trust Evaluation Agent",
                                                       (10, 13)),
    ("_timezone", 210, "AutoTimeZoneDaemon", (10, 13)), ("_lda", 211, "Local Delivery Agent", (10, 13)),
    ("_cvmsroot", 212, "CVMS Root", (10, 13)), ("_usbmuxd", 213, "iPhone OS Device Helper", (10, 13)),
    ("_dovecot", 214, "Dovecot Administrator", (10, 13)), ("_dpaudio", 215, "DP Audio", (10, 13)),
    ("_postgres", 216, "PostgreSQL Server", (10, 13)), ("_krbtgt", 217, "Kerberos Ticket Granting Ticket",
                                                        (10, 13)),
    ("_kadmin_admin", 218, "Kerberos Admin Service", (10, 13)), ("_kadmin_changepw", 219,
                                                                 "Kerberos Change Password Service", (10, 13)),
    ("_devicemgr", 220, "Device Management Server", (10, 13)), ("_webauthserver", 221, "Web Auth Server",
                                                                (10, 13)),
    ("_netbios", 222, "NetBIOS", (10, 13)), ("_warmd", 224, "Warm Daemon", (10, 13)),
    ("_dovenull", 227, "Dovecot Authentication", (10, 13)), ("_netstatistics", 228, "Network Statistics Daemon",
                                                             (10, 13)),
    ("_avbdeviced", 229, "Ethernet AVB Device Daemon", (10, 13)), ("_krb_krbtgt", 230, "Open Directory Kerberos "
                                                                   "Ticket Granting Ticket", (10, 13)),
    ("_krb_kadmin", 231, "Open Directory Kerberos Admin Service", (10, 13)),
    ("_krb_changepw", 232, "Open Directory Kerberos Change Password Service", (10, 13)),
    ("_krb_kerberos", 233, "Open Directory Kerberos", (10, 13)), ("_krb_anonymous", 234,
                                                                  "Open Directory Kerberos Anonymous", (10, 13)),
    ("_assetcache", 235, "Asset Cache Service", (10, 13)), ("_coremediaiod", 236, "Core Media IO Daemon", (10, 13)),
    ("_launchservicesd", 239, "_launchservicesd", (10, 13)), ("_iconservices", 240, "IconServices", (10, 13)),
    ("_distnote", 241, "DistNote", (10, 13)), ("_nsurlsessiond", 242, "NSURLSession Daemon", (10, 13)),
    ("_displaypolicyd", 244, "Display Policy Daemon", (10, 13)), ("_astris", 245, "Astris Services", (10, 13)),
    ("_krbfast", 246, "Kerberos FAST Account", (10, 13)), ("_gamecontrollerd", 247, "Game Controller Daemon",
                                                           (10, 13)),
    ("_mbsetupuser", 248, "Setup User", (10, 13)), ("_ondemand", 249, "On Demand Resource Daemon", (10, 13)),
    ("_xserverdocs", 251, "macOS Server Documents Service", (10, 13)), ("_wwwproxy", 252, "WWW Proxy", (10, 13)),
    ("_mobileasset", 253, "MobileAsset User", (10, 13)), ("_findmydevice", 254, "Find My Device Daemon", (10, 13)),
    ("_datadetectors", 257, "DataDetectors", (10, 13)), ("_captiveagent", 258, "captiveagent", (10, 13)),
    ("_ctkd", 259, "ctkd Account", (10, 13)), ("_applepay", 260, "applepay Account", (10, 13)),
    ("_hidd", 261, "HID Service User", (10, 13)), ("_cmiodalassistants", 262, "CoreMedia IO Assistants User",
                                                   (10, 13)),
    ("_analyticsd", 263, "Analytics Daemon", (10, 13)), ("_fpsd", 265, "FPS Daemon", (10, 13)),
    ("_timed", 266, "Time Sync Daemon", (10, 13)), ("_nearbyd", 268, "Proximity and Ranging Daemon", (10, 15)),
    ("_reportmemoryexception", 269, "ReportMemoryException", (10, 15)), ("_driverkit", 270, "DriverKit", (10, 15)),
    ("_diskimagesiod", 271, "DiskImages IO Daemon", (10, 15)), ("_logd", 272, "Log Daemon", (10, 15)),
    ("_appinstalld", 273, "App Install Daemon", (10, 15)), ("_installcoordinationd", 274,
                                                           "Install Coordination Daemon", (10, 15)),
    ("_demod", 275, "Demo Daemon", (10, 15)), ("_rmd", 277, "Remote Management Daemon", (11,)),
    ("_accessoryupdater", 278, "Accessory Update Daemon", (11,)), ("_knowledgegraphd", 279,
                                                                    "Knowledge Graph Daemon", (11,)),
    ("_coreml", 280, "CoreML Services", (11,)), ("_sntpd", 281, "SNTP Server Daemon", (11,)),
    ("_trustd", 282, "trustd", (11,)), ("_mmaintenanced", 283, "mmaintenanced", (11,)),
    ("_darwindaemon", 284, "Darwin Daemon", (11,)), ("_notification_proxy", 285, "Notification Proxy", (11,)),
    ("_avphidbridge", 288, "Apple Virtual Platform HID Bridge", (12,)), ("_biome", 289, "Biome", (12,)),
    ("_backgroundassets", 291, "Background Assets Service", (13,)), ("_mobilegestalthelper", 293,
                                                                     "MobileGestalt Helper", (13,)),
    ("_audiomxd", 294, "Audio MX Daemon", (14,)), ("_terminusd", 295, "Terminus Daemon", (14,)),
    ("_neuralengine", 296, "Apple Neural Engine", (14,)), ("_eligibilityd", 297, "OS Eligibility Daemon", (14,)),
    ("_systemstatusd", 298, "System Status Daemon", (15,)), ("_aonsensed", 300, "Always On Sense Daemon", (15,)),
    ("_modelmanagerd", 301, "Model Manager", (15,)),
    ("_oahd", 441, "OAH Daemon", (11,)),
]


def for_version(parts: tuple, apple_silicon: bool) -> list[tuple[str, int, str]]:
    """The built-in accounts of a release (``_oahd``, Rosetta's account, only on Apple silicon)."""
    out = []
    for name, uid, real, since in SYSTEM_USERS:
        if tuple(parts) < since:
            continue
        if name == "_oahd" and not apple_silicon:
            continue
        out.append((name, uid, real))
    return out


def system_guid(uid: int) -> str:
    """Built-in accounts' GeneratedUIDs end in their UID in hex (FFFFEEEE-DDDD-CCCC-BBBB-AAAA000000C9 is 201)."""
    return f"FFFFEEEE-DDDD-CCCC-BBBB-AAAA{uid & 0xFFFFFFFF:08X}"
