package dev.crescent.config;

/** What one Crescent process runs; chosen at start-up by profile (see application.properties). */
public enum Role {
    /** Master, one worker and the embedded metadata store in one JVM. */
    STANDALONE,
    MASTER,
    WORKER;

    public boolean runsMaster() {
        return this != WORKER;
    }

    public boolean runsWorker() {
        return this != MASTER;
    }
}
