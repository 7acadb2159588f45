/**
 * Object events for cache-aware routers in vLLM's KV-event format: {@code VllmEventCodec} (msgpack) and
 * {@code ZmqEventPublisher} (ZeroMQ PUB and replay sockets). Imports {@code master} and below.
 */
package dev.crescent.api.events;
