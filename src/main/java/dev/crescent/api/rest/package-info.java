/**
 * REST resources, wrapped by {@code RestCalls}, and the one mapping of errors to JSON. Imports {@code api} and below.
 */
package dev.crescent.api.rest;
