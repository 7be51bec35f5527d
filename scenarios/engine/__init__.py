"""The machinery beneath the experiments: it runs a scenario in real processes and reports.

Standard library only, and it imports no experiment, no Textual, no Rich and no
`tui`, so any CPython 3.11+ can run it. An experiment imports `scenarios.engine.api`
and nothing else of it.
"""
