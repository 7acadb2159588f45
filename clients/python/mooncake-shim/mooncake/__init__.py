"""Crescent's stand-in for the Mooncake package: ``mooncake.store`` and ``mooncake.engine`` are provided."""
