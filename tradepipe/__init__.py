"""The ``tradepipe`` command: one entry point for what users do with the project.

Each subcommand is a module in ``tradepipe/commands/`` with a ``register(subparsers)`` function; it
parses its arguments and calls into the library (devkit, bench, services), never holding logic of its own.
"""
