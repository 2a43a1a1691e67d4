"""Job handlers and periodic work, one module per domain package.

These are edges, like the API's routers and the CLI's commands: each takes the
:class:`~preserve.runtime.Runtime`, unpacks what the domain service needs, and owns the unit
of work. Long I/O that must not hold a transaction (copying, auditing, repairing) runs
between the transactions that plan it and record its result.
"""
