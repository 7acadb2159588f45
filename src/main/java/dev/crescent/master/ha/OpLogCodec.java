package dev.crescent.master.ha;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import dev.crescent.master.OpLogEntry;

import java.io.IOException;
import java.util.List;

/**
 * The JSON form of op-log entries, for log batches and snapshot chunks alike: a list of entries, each naming its
 * kind in {@code type}. Written for the declared list type, so every entry carries its kind.
 */
final class OpLogCodec {
    private static final TypeReference<List<OpLogEntry>> ENTRIES = new TypeReference<>() {};
    private final ObjectWriter writer;
    private final ObjectReader reader;

    OpLogCodec(ObjectMapper json) {
        this.writer = json.writerFor(ENTRIES);
        this.reader = json.readerFor(ENTRIES);
    }

    byte[] encode(List<OpLogEntry> entries) throws JsonProcessingException {
        return writer.writeValueAsBytes(entries);
    }

    List<OpLogEntry> decode(byte[] bytes) throws IOException {
        return reader.readValue(bytes);
    }
}
