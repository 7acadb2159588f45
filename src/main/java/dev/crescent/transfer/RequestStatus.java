package dev.crescent.transfer;

public enum RequestStatus {
    WAITING,
    PENDING,
    COMPLETED,
    FAILED,
    TIMEOUT,
    CANCELED;

    public boolean isFinal() {
        return this != WAITING && this != PENDING;
    }
}
