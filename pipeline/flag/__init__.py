"""Flag: the signed rules, the calendar, flags, the MASH list and school notices."""
