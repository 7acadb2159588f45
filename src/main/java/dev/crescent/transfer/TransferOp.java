package dev.crescent.transfer;

public enum TransferOp {
    /** Remote range -> local buffer. */
    READ,
    /** Local buffer -> remote range. */
    WRITE
}
