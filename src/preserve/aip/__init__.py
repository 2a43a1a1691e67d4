"""What an AIP *is*: the BagIt bag's files, their names and layout in a store.

Ingest writes AIPs with this package; storage, audit, access and trust read them with it.
It is neutral: nothing here imports a domain package, so every layer above may use it.
"""
