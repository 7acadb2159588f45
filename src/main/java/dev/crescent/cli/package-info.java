/**
 * The operator CLI ({@code bin/crescent}), on the Java client. Nothing imports it.
 */
package dev.crescent.cli;
