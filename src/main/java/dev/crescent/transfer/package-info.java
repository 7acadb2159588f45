/**
 * The transfer engine: registered memory, transfer requests and batches, the {@link dev.crescent.transfer.Transport}
 * SPI, segment descriptors and transfer tickets. Transports live one level down and import this package; this
 * package imports none of them, and nothing of Crescent but {@code common}.
 */
package dev.crescent.transfer;
