"""/proc/cpuinfo fields (Linux; paddle-free)."""


def cpuinfo_field(name):
    """The first ``name : value`` of /proc/cpuinfo (e.g. 'vendor_id', 'flags'), or None."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.split(":", 1)[0].strip() == name:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
