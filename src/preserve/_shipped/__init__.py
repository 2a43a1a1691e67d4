"""Files that ship inside the package: the Alembic migrations and the default storage profiles.

In the repository they stay at the top level (``migrations/``, ``storage_profiles/``) and are
linked here; a wheel carries the files themselves, so an installed ``preserve`` runs from any
directory.
"""
