package dev.crescent.api.access;

import io.quarkus.test.junit.QuarkusTestProfile;

import java.util.Map;

/** Standalone with the whitelist on, a few config rules, and non-default strategies chosen by config. */
public class AccessOnProfile implements QuarkusTestProfile {
    /** The secret masters and workers sign and check transfer tickets with (a contributing client needs it too). */
    static final String TICKET_SECRET = "access-test-ticket-secret";

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.ofEntries(
                Map.entry("crescent.access.enabled", "true"),
                Map.entry("crescent.access.ticket-secret", AccessOnProfile.TICKET_SECRET),
                // These tests are about the rules, over plain connections: names are taken as stated. Certified
                // names (and stated ones ignored) are MutualTlsIT's subject.
                Map.entry("crescent.access.trust-stated-names", "true"),
                Map.entry("crescent.access.rules.ops.nodes", "ops"),
                Map.entry("crescent.access.rules.ops.cidrs", "127.0.0.0/8,::1/128"),
                Map.entry("crescent.access.rules.ops.rights", "admin"),
                Map.entry("crescent.access.rules.public-read.prefixes", "public/"),
                Map.entry("crescent.access.rules.public-read.rights", "read"),
                Map.entry("crescent.access.rules.writer.nodes", "writer"),
                Map.entry("crescent.access.rules.writer.prefixes", "public/,team/"),
                Map.entry("crescent.access.rules.writer.rights", "read,write"),
                Map.entry("crescent.access.rules.worker.cidrs", "127.0.0.0/8,::1/128"),
                Map.entry("crescent.access.rules.worker.rights", "mount"),
                Map.entry("crescent.master.placement.strategy", "local-first"),
                Map.entry("crescent.master.eviction.policy", "fifo"));
    }
}
