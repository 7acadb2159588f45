"""``mooncake.store`` backed by Crescent: see crescent.mooncake for what is supported and how it differs."""
from crescent.mooncake import UNSUPPORTED_METHODS, BufferHandle, MooncakeDistributedStore, ReplicateConfig

__all__ = ["MooncakeDistributedStore", "ReplicateConfig", "BufferHandle", "UNSUPPORTED_METHODS"]
