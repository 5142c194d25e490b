"""The project's common library: settings, Redis, the stream bus, the tiered cache, the app factory.

Public entry points are imported from their own modules (``shared.settings``, ``shared.bus``, ...).
"""
