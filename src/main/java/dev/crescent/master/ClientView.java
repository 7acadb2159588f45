package dev.crescent.master;

import io.quarkus.runtime.annotations.RegisterForReflection;

import java.util.List;

/** A live client that mounted memory (a worker, or a client contributing memory), as the admin API shows it. */
@RegisterForReflection
public record ClientView(String clientId, long lastHeartbeatMillis, long silentMillis, List<String> segments) {}
