"""statelab's experiments and the engine that runs them in real processes.

Importable without Textual or Rich: `python -m scenarios SCENARIO` runs one
scenario and writes what every process observed as JSON lines.
"""
