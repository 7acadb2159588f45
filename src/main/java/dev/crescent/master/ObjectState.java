package dev.crescent.master;

public enum ObjectState {
    /** PutStart reserved ranges; bytes are being written; not readable. */
    PROCESSING,
    /** PutEnd made it readable. */
    COMPLETE
}
