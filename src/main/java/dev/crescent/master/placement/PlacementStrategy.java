package dev.crescent.master.placement;

import dev.crescent.master.MountedSegment;

import java.util.List;

/** Chooses the order in which segments are tried for an object's replicas. */
public interface PlacementStrategy {

    /**
     * @param mounted the segments mounted now
     * @param size    the object size
     * @return the segments to try, best first; the master takes the first ones that have room, one replica each
     */
    List<MountedSegment> candidates(List<MountedSegment> mounted, long size);
}
