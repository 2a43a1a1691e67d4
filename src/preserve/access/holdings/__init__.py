"""Finding what the archive holds: filtered, searched, cursor-paged lists of SIPs and AIPs."""
