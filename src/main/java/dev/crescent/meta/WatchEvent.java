package dev.crescent.meta;

/** A change under a watched prefix; for DELETE the value is empty. */
public record WatchEvent(Type type, KeyValue entry) {
    public enum Type {
        PUT,
        DELETE
    }
}
