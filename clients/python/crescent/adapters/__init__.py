"""Adapters that plug Crescent into inference engines; each is a module the engine loads by configuration:

- ``crescent.adapters.vllm``: a vLLM V1 KV connector (``CrescentConnectorV1``), store mode keyed by block hash;
- ``crescent.adapters.lmcache``: an LMCache remote backend (``CrescentConnector``, URL scheme ``crescent://``);
- ``crescent.adapters.sglang``: an SGLang HiCache storage backend (``CrescentHiCacheStorage``).

None of them imports its engine at module load unless the engine is installed, so each can be tested alone.
"""
