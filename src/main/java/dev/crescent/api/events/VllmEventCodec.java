package dev.crescent.api.events;

import dev.crescent.master.ObjectEvent;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Object events as vLLM's {@code KVEventBatch} in msgpack, the form its KV-event subscribers decode (vLLM
 * {@code vllm/distributed/kv_events.py} at commit 0181ea31: msgspec structs encoded as maps, events tagged by a
 * {@code type} field holding the class name, fields with defaults left out when unset).
 *
 * <p>A Crescent object is one block: its key's UTF-8 bytes are the block hash (vLLM's {@code ExternalBlockHash} is
 * bytes or int). A stored object is a {@code BlockStored} with no parent, no token ids and block size 0 (Crescent
 * does not know them); a removed or evicted one a {@code BlockRemoved}.
 */
public final class VllmEventCodec {
    private final String medium;
    private final int dataParallelRank;

    /** @param medium what events name as the blocks' medium */
    public VllmEventCodec(String medium, int dataParallelRank) {
        this.medium = medium;
        this.dataParallelRank = dataParallelRank;
    }

    /** One {@code KVEventBatch} of {@code events}, stamped {@code ts} (seconds since the epoch). */
    public byte[] encode(double ts, List<ObjectEvent> events) {
        try (MessageBufferPacker packer = MessagePack.newDefaultBufferPacker()) {
            packer.packMapHeader(3);
            packer.packString("ts").packDouble(ts);
            packer.packString("events").packArrayHeader(events.size());
            for (ObjectEvent event : events) {
                if (event.kind() == ObjectEvent.Kind.STORED) {
                    packStored(packer, event);
                } else {
                    packRemoved(packer, event);
                }
            }
            packer.packString("data_parallel_rank").packInt(dataParallelRank);
            return packer.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("msgpack into memory failed", e);
        }
    }

    private void packStored(MessageBufferPacker packer, ObjectEvent event) throws IOException {
        packer.packMapHeader(8);
        packer.packString("type").packString("BlockStored");
        packHashes(packer, event);
        packer.packString("parent_block_hash").packNil();
        packer.packString("token_ids").packArrayHeader(0);
        packer.packString("block_size").packInt(0);
        packer.packString("lora_id").packNil();
        packer.packString("medium").packString(medium);
        packer.packString("lora_name").packNil();
    }

    private void packRemoved(MessageBufferPacker packer, ObjectEvent event) throws IOException {
        packer.packMapHeader(3);
        packer.packString("type").packString("BlockRemoved");
        packHashes(packer, event);
        packer.packString("medium").packString(medium);
    }

    private static void packHashes(MessageBufferPacker packer, ObjectEvent event) throws IOException {
        byte[] hash = event.key().getBytes(StandardCharsets.UTF_8);
        packer.packString("block_hashes").packArrayHeader(1);
        packer.packBinaryHeader(hash.length).writePayload(hash);
    }
}
