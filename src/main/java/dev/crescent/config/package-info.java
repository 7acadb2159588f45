/**
 * The configuration mapping ({@code crescent.*}) and the role a process runs. Only maps configuration: it imports
 * nothing of Crescent but {@code common}, and only {@code boot} and the {@code api} adapters read it; everything
 * below receives settings records built from it.
 */
package dev.crescent.config;
