"""Crescent's stand-in for the Mooncake package: only ``mooncake.store`` is provided."""
