"""Restates the connector calls of vllm/v1/worker/kv_connector_model_runner_mixin.py (vLLM main, autumn 2026): what
a worker does with its connector around one forward pass."""


def execute_with_connector(connector, scheduler_output, kv_caches, finished_req_ids=frozenset()):
    connector.bind_connector_metadata(scheduler_output.kv_connector_metadata)
    connector.start_load_kv(forward_context=None)
    for name, layer in kv_caches.items():  # the attention layers, in model order
        connector.wait_for_layer_load(name)
        connector.save_kv_layer(name, layer, None)
    connector.wait_for_save()
    finished = connector.get_finished(set(finished_req_ids))
    errors = connector.get_block_ids_with_load_errors()
    connector.clear_connector_metadata()
    return finished, errors
