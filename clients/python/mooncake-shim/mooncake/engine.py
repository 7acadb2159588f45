"""``mooncake.engine`` backed by Crescent: see crescent.mooncake_engine for what is supported and how it differs."""
from crescent.mooncake_engine import TransferEngine, TransferNotify, TransferOpcode

__all__ = ["TransferEngine", "TransferOpcode", "TransferNotify"]
