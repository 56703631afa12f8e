"""Core: settings, database, codes, access policy, audit log, i18n. Imports no business capability."""
