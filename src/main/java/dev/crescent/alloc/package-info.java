/**
 * The O(1) offset allocator a master keeps per mounted segment. Imports only {@code common}.
 */
package dev.crescent.alloc;
