package dev.crescent.meta;

import dev.crescent.meta.embedded.EmbeddedMetadataStore;

import java.time.Duration;
import java.time.InstantSource;

class EmbeddedMetadataStoreTest extends MetadataStoreContract {
    @Override
    MetadataStore newStore() {
        return new EmbeddedMetadataStore(InstantSource.system());
    }

    @Override
    Duration shortLease() {
        return Duration.ofMillis(400);
    }
}
