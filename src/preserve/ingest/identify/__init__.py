"""Format identification: Siegfried and fido in process, our container matcher and OFD rule.

Modules: :mod:`.model` (what an identification says), :mod:`.siegfried_engine`,
:mod:`.fido_engine` (fido over PRONOM v116 with :mod:`.containers`, our DROID container
matcher), :mod:`.ofd` (our local rule) and :mod:`.identifier` (which engines run, how their
answers combine, one identifier per process).
"""
