package dev.crescent.api;

import dev.crescent.master.Master;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

/** Publishes the master's object count and memory figures as gauges ({@code crescent_master_*}). */
@Singleton
public class MasterGauges {

    void register(@Observes StartupEvent event, MeterRegistry registry, Master master) {
        Gauge.builder("crescent.master.objects", master, m -> m.stats().objectCount())
                .description("Complete objects in the index").register(registry);
        Gauge.builder("crescent.master.objects.processing", master, m -> m.stats().processingCount())
                .description("Puts started and not yet ended").register(registry);
        Gauge.builder("crescent.master.segments", master, m -> m.stats().segmentCount())
                .description("Mounted segments").register(registry);
        Gauge.builder("crescent.master.evictions", master, m -> m.stats().evictedObjects())
                .description("Objects evicted since start").register(registry);
        Gauge.builder("crescent.master.capacity", master, m -> m.stats().capacityBytes())
                .baseUnit("bytes").description("Capacity of all mounted segments").register(registry);
        Gauge.builder("crescent.master.used", master, m -> m.stats().usedBytes())
                .baseUnit("bytes").description("Allocated bytes across mounted segments").register(registry);
    }
}
