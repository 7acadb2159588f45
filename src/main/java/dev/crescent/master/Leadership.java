package dev.crescent.master;

/**
 * Whether this master may serve: with several masters only the elected leader does, and the others answer
 * NOT_LEADER. The master asks it before every operation it counts.
 */
public interface Leadership {

    /** A master alone (no election): it always leads. */
    Leadership ALONE = new Leadership() {
        @Override
        public boolean isLeader() {
            return true;
        }

        @Override
        public void requireLeader() {}
    };

    boolean isLeader();

    /** @throws dev.crescent.common.StoreException NOT_LEADER, naming the leader where known, when this one is not */
    void requireLeader();
}
