// The schema is header-only (named constants); this unit keeps the target's source list stable.
