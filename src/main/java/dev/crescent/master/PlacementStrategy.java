package dev.crescent.master;

import java.util.List;

/**
 * Chooses the order in which segments are tried for an object's replicas. Implementations are CDI beans; the
 * master uses the one named by {@code crescent.master.placement.strategy}.
 */
public interface PlacementStrategy {

    /** Config name. */
    String name();

    /**
     * @param mounted  the segments mounted now
     * @param size     the object size
     * @param clientId the client that puts the object
     * @return the segments to try, best first; the master takes the first ones that have room, one replica each
     */
    List<MountedSegment> candidates(List<MountedSegment> mounted, long size, String clientId);
}
